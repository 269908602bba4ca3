//! What an experiment reports: named scalars, small tables and the configuration that made
//! them, serialised to `metrics.json`.
//!
//! JSON has no NaN or infinity, and numerical-stability experiments produce both, so every
//! float goes through [`num`]: a finite value stays a JSON number, a non-finite one becomes
//! the string `"NaN"`, `"inf"` or `"-inf"`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::claims::Claim;
use crate::error::ExperimentError;

/// A float as JSON: a number if finite, else `"NaN"`, `"inf"` or `"-inf"`.
pub fn num(x: f64) -> Value {
    if x.is_nan() {
        Value::from("NaN")
    } else if x == f64::INFINITY {
        Value::from("inf")
    } else if x == f64::NEG_INFINITY {
        Value::from("-inf")
    } else {
        Value::from(x)
    }
}

/// A small table: named columns and rows of JSON cells (numbers through [`num`], strings,
/// integers).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Table {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, each with one cell per column.
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(columns: &[&str]) -> Self {
        Table { columns: columns.iter().map(|c| c.to_string()).collect(), rows: Vec::new() }
    }

    /// The cells of column `name`, if the table has it.
    pub fn column(&self, name: &str) -> Option<Vec<&Value>> {
        let i = self.columns.iter().position(|c| c == name)?;
        Some(self.rows.iter().map(|r| &r[i]).collect())
    }
}

/// Everything an experiment reports.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Metrics {
    /// The experiment's parameters (sizes, grids, repetition counts), besides size and seed.
    pub config: BTreeMap<String, Value>,
    /// Named scalar results.
    pub scalars: BTreeMap<String, Value>,
    /// Named tables.
    pub tables: BTreeMap<String, Table>,
    /// The claims the experiment checks, in declaration order (serialised by
    /// [`Claim::to_json`] into `metrics.json`'s `claims`).
    #[serde(skip)]
    pub claims: Vec<Claim>,
}

impl Metrics {
    /// Empty metrics.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a configuration parameter.
    pub fn config(&mut self, name: &str, value: impl Into<Value>) {
        self.config.insert(name.to_string(), value.into());
    }

    /// Records a float scalar (non-finite values as strings, see [`num`]).
    pub fn scalar(&mut self, name: &str, value: f64) {
        self.scalars.insert(name.to_string(), num(value));
    }

    /// Records a scalar of any JSON type (an integer count, a string, `null`).
    pub fn scalar_value(&mut self, name: &str, value: impl Into<Value>) {
        self.scalars.insert(name.to_string(), value.into());
    }

    /// Records a claim with its verdict. The claim must be complete (see
    /// [`Claim::validate`]) and its id unique within the experiment.
    pub fn claim(&mut self, claim: Claim) -> Result<(), ExperimentError> {
        claim.validate()?;
        if self.claims.iter().any(|c| c.id == claim.id) {
            return Err(ExperimentError::Invalid(format!("claim {:?} is declared twice", claim.id)));
        }
        self.claims.push(claim);
        Ok(())
    }

    /// Declares an empty table with these columns, to fill with [`Metrics::push_row`].
    pub fn table(&mut self, name: &str, columns: &[&str]) {
        self.tables.insert(name.to_string(), Table::new(columns));
    }

    /// Appends a row to table `name`; the row must have one cell per column.
    pub fn push_row(&mut self, name: &str, row: Vec<Value>) -> Result<(), ExperimentError> {
        let table = self
            .tables
            .get_mut(name)
            .ok_or_else(|| ExperimentError::Invalid(format!("table {name} was not declared")))?;
        if row.len() != table.columns.len() {
            return Err(ExperimentError::TableRow {
                table: name.to_string(),
                expected: table.columns.len(),
                got: row.len(),
            });
        }
        table.rows.push(row);
        Ok(())
    }
}

/// The number of significant digits that snapshot tests keep (see [`round_significant`]).
///
/// Four digits absorb the last-bit differences that another CPU, another `libm` or a
/// different summation order produces, while still pinning every reported number.
pub const SNAPSHOT_SIGNIFICANT_DIGITS: u32 = 4;

/// Rounds `x` to `digits` significant decimal digits (`digits >= 1`); zero and non-finite
/// values are returned unchanged.
///
/// The rounding goes through the decimal text (`{:.*e}`), so the result is the double
/// nearest to the rounded decimal and prints as that decimal: `round_significant(
/// 0.123456, 4)` is exactly the double that prints `0.1235`. Ties round half to even on
/// the binary value, as Rust's formatter does.
pub fn round_significant(x: f64, digits: u32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let digits = digits.max(1) as usize;
    let text = format!("{:.*e}", digits - 1, x);
    text.parse().unwrap_or(x)
}

/// A copy of `value` with every float rounded by [`round_significant`] to `digits`
/// significant digits. Integers, strings and structure are unchanged.
pub fn round_json(value: &Value, digits: u32) -> Value {
    match value {
        Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            num(round_significant(x, digits))
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| round_json(v, digits)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), round_json(v, digits))).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rounds_to_significant_digits() {
        assert_eq!(round_significant(0.123456, 4), 0.1235);
        assert_eq!(round_significant(123456.0, 4), 123500.0);
        assert_eq!(round_significant(-9.99951, 4), -10.0);
        assert_eq!(round_significant(1.234e-17, 2), 1.2e-17);
        assert_eq!(round_significant(6.02214076e23, 3), 6.02e23);
        assert_eq!(round_significant(0.0, 4), 0.0);
        assert!(round_significant(f64::NAN, 4).is_nan());
        assert_eq!(round_significant(f64::INFINITY, 4), f64::INFINITY);
        // digits = 0 is treated as 1
        assert_eq!(round_significant(0.26, 0), 0.3);
        // the result prints as the rounded decimal, not as a nearby binary expansion
        assert_eq!(round_significant(1.0 / 3.0, 4).to_string(), "0.3333");
        // two CPUs that differ in the last bits agree after rounding
        let a = std::f64::consts::FRAC_1_SQRT_2;
        assert_eq!(round_significant(a, 4), round_significant(a + 4.0 * f64::EPSILON, 4));
    }

    #[test]
    fn rounds_floats_inside_json_only() {
        let v = json!({"n": 128, "x": [0.123456, "inf", 2.5e-9], "name": "f32"});
        assert_eq!(round_json(&v, 2), json!({"n": 128, "x": [0.12, "inf", 2.5e-9], "name": "f32"}));
    }

    #[test]
    fn non_finite_values_become_strings() {
        assert_eq!(num(f64::NAN), json!("NaN"));
        assert_eq!(num(f64::NEG_INFINITY), json!("-inf"));
        assert_eq!(num(1.5), json!(1.5));
    }

    #[test]
    fn rows_must_match_columns() {
        let mut m = Metrics::new();
        m.table("t", &["a", "b"]);
        m.push_row("t", vec![json!(1), json!(2)]).unwrap();
        let err = m.push_row("t", vec![json!(1)]).unwrap_err();
        assert!(err.to_string().contains("table t"), "{err}");
        assert!(m.push_row("missing", vec![]).is_err());
        assert_eq!(m.tables["t"].column("b"), Some(vec![&json!(2)]));
    }
}
