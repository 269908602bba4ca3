//! **Fans** of a weight tensor: how many inputs feed each output (fan_in) and how many
//! outputs each input feeds (fan_out). Variance-preserving schemes divide by them.
//!
//! For a weight of shape `(out, in_per_group, k1, k2, ...)` — a dense `(out, in)` matrix or
//! a convolution kernel `(out, in / groups, kh, kw)` — with receptive field
//! `r = k1 k2 ...` (1 for a dense layer):
//!
//! ```text
//! fan_in  = in_per_group * r          (every output sums this many products)
//! fan_out = out * r / groups          (every input reaches this many products)
//! ```
//!
//! **PyTorch's convention.** `torch.nn.init._calculate_fan_in_and_fan_out` reads the
//! weight's shape only: `fan_in = shape[1] * r`, `fan_out = shape[0] * r`. Its fan_in is the
//! one above; its fan_out ignores groups, so for a grouped or depthwise convolution it is
//! `groups` times the number of products each input actually reaches. [`Fans::of_weight`]
//! takes `groups` and gives the true count; `groups = 1` (every dense layer and every
//! ordinary convolution) gives PyTorch's numbers exactly, and [`Fans::pytorch`] gives
//! PyTorch's numbers for any shape.
//!
//! ```
//! use dl_init::fans::{Fans, FanMode};
//! let dense = Fans::of_weight(&[256, 784], 1)?;
//! assert_eq!((dense.fan_in, dense.fan_out), (784, 256));
//! let conv = Fans::of_weight(&[64, 32, 3, 3], 1)?;              // Conv2d(32 -> 64, 3x3)
//! assert_eq!((conv.fan_in, conv.fan_out), (32 * 9, 64 * 9));
//! let depthwise = Fans::of_weight(&[32, 1, 3, 3], 32)?;         // groups = channels = 32
//! assert_eq!((depthwise.fan_in, depthwise.fan_out), (9, 9));
//! assert_eq!(Fans::pytorch(&[32, 1, 3, 3])?.fan_out, 32 * 9);   // PyTorch ignores groups
//! assert_eq!(conv.select(FanMode::FanOut), 576);
//! # Ok::<(), dl_init::InitError>(())
//! ```

use crate::error::{InitError, Result};

/// Which fan a scheme divides by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanMode {
    /// Preserve the variance of the forward signal (PyTorch's default for Kaiming).
    FanIn,
    /// Preserve the variance of the backward gradients.
    FanOut,
}

/// The fans of one weight tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fans {
    /// Inputs feeding one output unit: `(in / groups) * prod(kernel)` for a weight `(out, in / groups, k...)`.
    pub fan_in: usize,
    /// Outputs fed by one input unit: `(out / groups) * prod(kernel)` ([`Fans::pytorch`] ignores groups).
    pub fan_out: usize,
}

fn check_shape(shape: &[usize]) -> Result<()> {
    if shape.len() < 2 {
        return Err(InitError::scheme(
            "fans",
            format!("a weight of shape {shape:?}"),
            "need at least 2 dimensions (out, in, kernel...)",
        ));
    }
    if shape.contains(&0) {
        return Err(InitError::scheme(
            "fans",
            format!("a weight of shape {shape:?}"),
            "every dimension must be positive",
        ));
    }
    Ok(())
}

impl Fans {
    /// The fans of a weight `(out, in / groups, k...)` in a layer with `groups` groups.
    /// Errors: fewer than two dimensions, a zero dimension, `groups` zero or not dividing `out`.
    pub fn of_weight(shape: &[usize], groups: usize) -> Result<Fans> {
        check_shape(shape)?;
        if groups == 0 || !shape[0].is_multiple_of(groups) {
            return Err(InitError::scheme(
                "fans",
                format!("a weight of shape {shape:?}"),
                format!("groups = {groups} must be positive and divide out = {}", shape[0]),
            ));
        }
        let receptive: usize = shape[2..].iter().product();
        Ok(Fans { fan_in: shape[1] * receptive, fan_out: shape[0] * receptive / groups })
    }

    /// PyTorch's fans, from the shape alone: `fan_in = shape[1] r`, `fan_out = shape[0] r`.
    pub fn pytorch(shape: &[usize]) -> Result<Fans> {
        check_shape(shape)?;
        let receptive: usize = shape[2..].iter().product();
        Ok(Fans { fan_in: shape[1] * receptive, fan_out: shape[0] * receptive })
    }

    /// The fan chosen by `mode`.
    pub fn select(&self, mode: FanMode) -> usize {
        match mode {
            FanMode::FanIn => self.fan_in,
            FanMode::FanOut => self.fan_out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against direct counting: build the connectivity of a tiny grouped 1-D convolution
    /// (every output position sees the same kernel taps) and count, for one output, how many
    /// (input channel, tap) pairs feed it, and for one input channel, how many (output
    /// channel, tap) pairs it feeds.
    #[test]
    fn fans_count_the_connections_of_a_grouped_convolution() {
        let (out, inp, groups, k) = (6, 4, 2, 3);
        let (out_g, in_g) = (out / groups, inp / groups);
        // output channel o in group o / out_g reads input channels [g in_g, (g+1) in_g)
        let feeds = |o: usize, c: usize| o / out_g == c / in_g;
        let fan_in = (0..inp).filter(|&c| feeds(0, c)).count() * k;
        let fan_out = (0..out).filter(|&o| feeds(o, 0)).count() * k;
        let fans = Fans::of_weight(&[out, in_g, k], groups).unwrap();
        assert_eq!((fans.fan_in, fans.fan_out), (fan_in, fan_out));
        assert_eq!(Fans::pytorch(&[out, in_g, k]).unwrap(), Fans { fan_in, fan_out: out * k });
    }

    #[test]
    fn bad_shapes_name_the_shape() {
        let e = Fans::of_weight(&[5], 1).unwrap_err().to_string();
        assert!(e.contains("[5]") && e.contains("2 dimensions"), "{e}");
        let e = Fans::of_weight(&[6, 2, 3], 4).unwrap_err().to_string();
        assert!(e.contains("groups = 4") && e.contains("out = 6"), "{e}");
        assert!(Fans::pytorch(&[3, 0]).is_err());
    }
}
