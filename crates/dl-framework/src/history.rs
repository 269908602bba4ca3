//! [`History`]: what the training loop recorded, step by step, exported to JSON and CSV.
//!
//! Each [`Record`] is a step (and its epoch) with named values: `train_loss`,
//! `train_accuracy`, `lr`, `grad_norm` every `log_every` steps; `val_loss`,
//! `val_accuracy`, `epoch_train_loss` at the end of each epoch; and whatever the monitors
//! report (`grad_norm/0.weight`, `activation_std/layer 1`, `sharpness`, ...). Files are
//! written atomically (a temporary file renamed into place), so an interrupted write never
//! leaves a half-written history behind.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{FrameworkError, Result};

/// Values recorded at one step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Optimiser steps taken when the values were recorded.
    pub step: u64,
    /// The epoch (from 0) the step belongs to.
    pub epoch: usize,
    /// Named values (NaN is written as JSON `null` and an empty CSV cell).
    #[serde(with = "nan_as_null")]
    pub values: BTreeMap<String, f64>,
}

/// JSON has no NaN: write it as `null` and read `null` back as NaN (infinities likewise
/// become `null`; a history value is a report, not state that must round-trip bit for bit).
mod nan_as_null {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(values: &BTreeMap<String, f64>, s: S) -> Result<S::Ok, S::Error> {
        let m: BTreeMap<&String, Option<f64>> = values.iter().map(|(k, v)| (k, v.is_finite().then_some(*v))).collect();
        m.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, f64>, D::Error> {
        let m = BTreeMap::<String, Option<f64>>::deserialize(d)?;
        Ok(m.into_iter().map(|(k, v)| (k, v.unwrap_or(f64::NAN))).collect())
    }
}

/// Every record of a run, in order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// The records, in the order they were made.
    pub records: Vec<Record>,
}

impl History {
    /// Adds `values` at `(step, epoch)`, merged into the last record if it is the same step.
    pub fn log(&mut self, step: u64, epoch: usize, values: impl IntoIterator<Item = (String, f64)>) {
        match self.records.last_mut() {
            Some(r) if r.step == step && r.epoch == epoch => r.values.extend(values),
            _ => self.records.push(Record { step, epoch, values: values.into_iter().collect() }),
        }
    }

    /// The `(step, value)` pairs of one named series.
    pub fn series(&self, name: &str) -> Vec<(u64, f64)> {
        self.records.iter().filter_map(|r| r.values.get(name).map(|&v| (r.step, v))).collect()
    }

    /// The last value of a series.
    pub fn last(&self, name: &str) -> Option<f64> {
        self.records.iter().rev().find_map(|r| r.values.get(name).copied())
    }

    /// Every series name, sorted.
    pub fn names(&self) -> Vec<String> {
        let set: BTreeSet<&String> = self.records.iter().flat_map(|r| r.values.keys()).collect();
        set.into_iter().cloned().collect()
    }

    /// The history as JSON: `{"records": [{"step": .., "epoch": .., "values": {..}}, ..]}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a history is plain data")
    }

    /// The history as CSV: a header `step,epoch,<names...>` and one row per record, with
    /// an empty cell where a record lacks a value. Names containing a comma or a quote are
    /// quoted (RFC 4180).
    pub fn to_csv(&self) -> String {
        let names = self.names();
        let quote = |s: &str| {
            if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
        };
        let mut out = String::from("step,epoch");
        for n in &names {
            out.push(',');
            out.push_str(&quote(n));
        }
        out.push('\n');
        for r in &self.records {
            out.push_str(&format!("{},{}", r.step, r.epoch));
            for n in &names {
                out.push(',');
                if let Some(v) = r.values.get(n).filter(|v| !v.is_nan()) {
                    out.push_str(&format!("{v:e}"));
                }
            }
            out.push('\n');
        }
        out
    }

    /// Writes `history.json` and `history.csv` into `dir` (created if absent), atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| FrameworkError::io(dir, e))?;
        for (name, text) in [("history.json", self.to_json()), ("history.csv", self.to_csv())] {
            let path = dir.join(name);
            dl_tensor::npy::write_atomic("History::write", &path, text.as_bytes())
                .map_err(|e| FrameworkError::io(&path, e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_one_column_per_series_and_empty_cells_for_gaps() {
        let mut h = History::default();
        h.log(1, 0, [("train_loss".to_string(), 2.5)]);
        h.log(1, 0, [("lr".to_string(), 0.1)]);
        h.log(2, 0, [("train_loss".to_string(), 1.25), ("val,loss".to_string(), f64::NAN)]);
        assert_eq!(h.records.len(), 2, "same step merges");
        assert_eq!(h.to_csv(), "step,epoch,lr,train_loss,\"val,loss\"\n1,0,1e-1,2.5e0,\n2,0,,1.25e0,\n");
        assert_eq!(h.series("train_loss"), vec![(1, 2.5), (2, 1.25)]);
        assert_eq!(h.last("lr"), Some(0.1));
        let back: History = serde_json::from_str(&h.to_json()).unwrap();
        assert_eq!(back.records.len(), 2);
        assert!(back.records[1].values["val,loss"].is_nan());
        assert_eq!(back.records[1].values["train_loss"], 1.25);
    }
}
