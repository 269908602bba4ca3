//! Measures of a curve's shape: where it peaks, whether it ever rises, and its most
//! prominent bump (a double descent: down, up, down again).

use super::{Result, finite_values, invalid};

/// The index and value of the largest entry (the first one on ties).
///
/// Errors: an empty or non-finite curve.
pub fn argmax(values: &[f64]) -> Result<(usize, f64)> {
    let op = "argmax";
    if values.is_empty() {
        return Err(invalid(op, "values", "[]", "must be non-empty"));
    }
    finite_values(op, "the curve", values)?;
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    Ok((best, values[best]))
}

/// The largest rise of a curve above its running minimum, `max_i v_i / min_{j ≤ i} v_j`:
/// 1 for a non-increasing curve, 2 if it ever doubles after a low point. The curve of an
/// optimally regularised model, which the theory says is monotone, should stay near 1.
///
/// Errors: an empty curve, or a non-positive or non-finite value.
pub fn largest_rise(values: &[f64]) -> Result<f64> {
    let op = "largest_rise";
    positive_curve(op, values, 1)?;
    let mut low = values[0];
    let mut rise: f64 = 1.0;
    for &v in values {
        low = low.min(v);
        rise = rise.max(v / low);
    }
    Ok(rise)
}

fn positive_curve(op: &'static str, values: &[f64], min_len: usize) -> Result<()> {
    if values.len() < min_len {
        return Err(invalid(
            op,
            "values",
            format!("{} points", values.len()),
            format!("needs at least {min_len} points"),
        ));
    }
    finite_values(op, "the curve", values)?;
    if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| **v <= 0.0) {
        return Err(invalid(op, "values", format!("{v} at {i}"), "must be positive"));
    }
    Ok(())
}

/// The most prominent bump of a curve.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DoubleDescentShape {
    /// Index of the bump's top.
    pub peak_index: usize,
    /// Value at the top.
    pub peak_value: f64,
    /// Index of the lowest point before the top (the first descent's bottom).
    pub left_minimum_index: usize,
    /// The lowest value before the top.
    pub left_minimum: f64,
    /// Index of the lowest point after the top (the second descent's bottom).
    pub right_minimum_index: usize,
    /// The lowest value after the top.
    pub right_minimum: f64,
    /// `peak / max(left minimum, right minimum)`: above 1 when the curve has a valley on
    /// each side of the top; at most 1 for a monotone or single-valley curve.
    pub prominence: f64,
}

impl DoubleDescentShape {
    /// `peak / left minimum`: how far the curve rose after its first descent.
    pub fn rise(&self) -> f64 {
        self.peak_value / self.left_minimum
    }

    /// `peak / right minimum`: how far it fell after the top.
    pub fn second_descent(&self) -> f64 {
        self.peak_value / self.right_minimum
    }
}

/// The interior point `j` of the curve that maximises
/// `v_j / max(min_{i<j} v_i, min_{i>j} v_i)`, the height of a bump over the higher of the
/// valleys on its two sides. A double-descent curve has a prominence above 1; a monotone
/// curve, or one with a single valley (classical U shape), at most 1.
///
/// Errors: fewer than 3 points, a non-positive or non-finite value.
pub fn double_descent_shape(values: &[f64]) -> Result<DoubleDescentShape> {
    let op = "double_descent_shape";
    positive_curve(op, values, 3)?;
    let n = values.len();
    // prefix minima (index of the minimum of v[..j]) and suffix minima (of v[j+1..])
    let mut left = vec![0; n];
    for j in 1..n {
        left[j] = if values[j - 1] < values[left[j - 1]] { j - 1 } else { left[j - 1] };
    }
    let mut right = vec![n - 1; n];
    for j in (0..n - 1).rev() {
        right[j] = if j + 1 == n - 1 || values[j + 1] <= values[right[j + 1]] { j + 1 } else { right[j + 1] };
    }
    let mut best: Option<DoubleDescentShape> = None;
    for j in 1..n - 1 {
        let (l, r) = (left[j], right[j]);
        let prominence = values[j] / values[l].max(values[r]);
        if best.is_none_or(|b| prominence > b.prominence) {
            best = Some(DoubleDescentShape {
                peak_index: j,
                peak_value: values[j],
                left_minimum_index: l,
                left_minimum: values[l],
                right_minimum_index: r,
                right_minimum: values[r],
                prominence,
            });
        }
    }
    Ok(best.expect("at least one interior point"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same measure by brute force over every interior point and every pair of points
    /// on its two sides.
    fn brute_prominence(v: &[f64]) -> (usize, f64) {
        let mut best = (0, f64::NEG_INFINITY);
        for j in 1..v.len() - 1 {
            let l = v[..j].iter().cloned().fold(f64::INFINITY, f64::min);
            let r = v[j + 1..].iter().cloned().fold(f64::INFINITY, f64::min);
            let p = v[j] / l.max(r);
            if p > best.1 {
                best = (j, p);
            }
        }
        best
    }

    #[test]
    fn a_double_descent_curve_has_its_bump_found() {
        let v = [5.0, 3.0, 2.0, 2.5, 4.0, 3.0, 1.5, 1.2];
        let s = double_descent_shape(&v).unwrap();
        assert_eq!((s.peak_index, s.left_minimum_index, s.right_minimum_index), (4, 2, 7));
        assert_eq!(s.prominence, 2.0);
        assert_eq!(s.rise(), 2.0);
        assert!((s.second_descent() - 4.0 / 1.2).abs() < 1e-15);
        assert_eq!(argmax(&v).unwrap(), (0, 5.0));
        assert_eq!(largest_rise(&v).unwrap(), 2.0);
    }

    #[test]
    fn monotone_and_u_shaped_curves_have_no_prominent_bump() {
        let down = [4.0, 3.0, 2.0, 1.0];
        assert!(double_descent_shape(&down).unwrap().prominence <= 1.0);
        assert_eq!(largest_rise(&down).unwrap(), 1.0);
        let u = [4.0, 2.0, 1.0, 2.0, 3.0];
        assert!(double_descent_shape(&u).unwrap().prominence <= 1.0);
        assert_eq!(largest_rise(&u).unwrap(), 3.0);
    }

    #[test]
    fn agrees_with_brute_force_on_pseudo_random_curves() {
        let mut state = 12345u64;
        for _ in 0..200 {
            let v: Vec<f64> = (0..9)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    1.0 + (state >> 40) as f64 / (1u64 << 24) as f64
                })
                .collect();
            let s = double_descent_shape(&v).unwrap();
            let (j, p) = brute_prominence(&v);
            assert_eq!(s.prominence, p, "{v:?}");
            assert_eq!(s.peak_value, v[j]);
        }
    }

    #[test]
    fn bad_curves_are_errors() {
        assert!(double_descent_shape(&[1.0, 2.0]).unwrap_err().to_string().contains("at least 3"));
        assert!(double_descent_shape(&[1.0, 0.0, 2.0]).unwrap_err().to_string().contains("positive"));
        assert!(largest_rise(&[1.0, f64::NAN]).unwrap_err().to_string().contains("NaN"));
        assert!(argmax(&[]).is_err());
    }
}
