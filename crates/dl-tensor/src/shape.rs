//! Shape arithmetic: NumPy broadcasting and axis normalisation.
//!
//! Broadcasting (NumPy's rule): align the two shapes at their trailing dimensions; each pair
//! of sizes must be equal or one of them 1; the result takes the larger size, and a missing
//! leading dimension counts as 1.

use crate::error::{Result, TensorError};

/// The broadcast shape of `lhs` and `rhs`, or an error naming `op` and both shapes.
pub fn broadcast_shapes(op: &'static str, lhs: &[usize], rhs: &[usize]) -> Result<Vec<usize>> {
    let ndim = lhs.len().max(rhs.len());
    let mut out = vec![0; ndim];
    for i in 0..ndim {
        let l = if i + lhs.len() >= ndim { lhs[i + lhs.len() - ndim] } else { 1 };
        let r = if i + rhs.len() >= ndim { rhs[i + rhs.len() - ndim] } else { 1 };
        out[i] = if l == r || r == 1 {
            l
        } else if l == 1 {
            r
        } else {
            let dim = (i + lhs.len()).saturating_sub(ndim);
            return Err(TensorError::ShapeMismatch {
                op,
                lhs: lhs.to_vec(),
                rhs: rhs.to_vec(),
                dim,
                detail: format!("sizes {l} and {r} cannot be broadcast (one must be 1 or both equal)"),
            });
        };
    }
    Ok(out)
}

/// Maps a possibly negative axis (`-1` is the last) into `0..ndim`.
pub fn normalize_axis(op: &'static str, axis: isize, shape: &[usize]) -> Result<usize> {
    let ndim = shape.len() as isize;
    let a = if axis < 0 { axis + ndim } else { axis };
    if a < 0 || a >= ndim {
        return Err(TensorError::InvalidAxis {
            op,
            axis,
            shape: shape.to_vec(),
            detail: format!("expected an axis in {}..{}", -ndim, ndim),
        });
    }
    Ok(a as usize)
}

/// Normalises a set of axes, sorted ascending; rejects duplicates. An empty slice means
/// "all axes".
pub fn normalize_axes(op: &'static str, axes: &[isize], shape: &[usize]) -> Result<Vec<usize>> {
    if axes.is_empty() {
        return Ok((0..shape.len()).collect());
    }
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let n = normalize_axis(op, a, shape)?;
        if out.contains(&n) {
            return Err(TensorError::InvalidAxis {
                op,
                axis: a,
                shape: shape.to_vec(),
                detail: "axis given more than once".into(),
            });
        }
        out.push(n);
    }
    out.sort_unstable();
    Ok(out)
}

/// Number of elements of a shape; `usize::MAX` when the product overflows (no such
/// tensor can exist, so a comparison with a real length fails as it should). Use
/// [`checked_numel`] where the overflow must be told apart.
pub fn numel(shape: &[usize]) -> usize {
    checked_numel(shape).unwrap_or(usize::MAX)
}

/// Number of elements of a shape, or `None` if the product overflows `usize` (a shape with
/// a zero dimension has 0 elements, whatever the others).
pub fn checked_numel(shape: &[usize]) -> Option<usize> {
    if shape.contains(&0) {
        return Some(0);
    }
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// The shape after reducing `axes` (sorted, normalised), keeping them as size 1 or not.
pub fn reduced_shape(shape: &[usize], axes: &[usize], keepdim: bool) -> Vec<usize> {
    let mut out = Vec::with_capacity(shape.len());
    for (i, &s) in shape.iter().enumerate() {
        if axes.contains(&i) {
            if keepdim {
                out.push(1);
            }
        } else {
            out.push(s);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_follows_numpy() {
        assert_eq!(broadcast_shapes("t", &[3, 1, 5], &[4, 1]).unwrap(), vec![3, 4, 5]);
        assert_eq!(broadcast_shapes("t", &[], &[2, 2]).unwrap(), vec![2, 2]);
        assert_eq!(broadcast_shapes("t", &[0, 1], &[1, 7]).unwrap(), vec![0, 7]);
    }

    #[test]
    fn broadcast_error_names_op_dim_and_shapes() {
        let e = broadcast_shapes("add", &[2, 3], &[4, 3]).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("add") && msg.contains("[2, 3]") && msg.contains("[4, 3]"), "{msg}");
        assert!(matches!(e, TensorError::ShapeMismatch { dim: 0, .. }));
    }

    #[test]
    fn element_counts_never_overflow() {
        assert_eq!(numel(&[2, 3, 4]), 24);
        assert_eq!(numel(&[]), 1);
        assert_eq!(checked_numel(&[1 << 32, 1 << 32]), None);
        assert_eq!(numel(&[1 << 32, 1 << 32]), usize::MAX);
        assert_eq!(checked_numel(&[1 << 32, 1 << 32, 0]), Some(0));
    }

    #[test]
    fn axes_normalise_and_reject_duplicates() {
        assert_eq!(normalize_axes("t", &[-1, 0], &[2, 3, 4]).unwrap(), vec![0, 2]);
        assert!(normalize_axes("t", &[1, -2], &[2, 3, 4]).is_err());
        assert!(normalize_axis("t", 3, &[2, 3, 4]).is_err());
        assert!(normalize_axis("t", -4, &[2, 3, 4]).is_err());
    }
}
