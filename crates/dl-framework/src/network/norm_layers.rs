//! Normalisation layers from configuration: each `*_norm` entry checked with its field path
//! and built as the dl-norm layer that reduces the right axes of the per-example shape.
//!
//! | entry | per-example shape | layer |
//! | --- | --- | --- |
//! | `batch_norm` | `(F,)` or `(C, L)` / `(C, H, W)` | [`BatchNorm1d`]`(F or C)` / [`BatchNorm2d`]`(C)` |
//! | `layer_norm` | `s` | [`LayerNorm`]`(s)` |
//! | `group_norm` | `(C, ...)` | [`GroupNorm`]`(groups, C)` |
//! | `instance_norm` | `(C, H, W)` | [`InstanceNorm2d`]`(C)` |
//! | `rms_norm` | `s` | [`RmsNorm`]`(s)` |
//!
//! None of them changes the shape, and none has initial values to draw: the scale starts
//! at 1 and the shift at 0 whatever the initialisation scheme.

use dl_layers::Module;
use dl_norm::{BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm2d, InstanceNormOptions, LayerNorm, RmsNorm};
use dl_tensor::Element;

use crate::config::{LayerConfig, check_positive};
use crate::error::{FrameworkError, Result};

/// `Ok` if `eps` is absent or a finite number `>= 0`.
fn check_eps(path: &str, eps: Option<f64>) -> Result<()> {
    match eps {
        Some(e) if !(e.is_finite() && e >= 0.0) => {
            Err(FrameworkError::config(format!("{path}.eps"), format!("must be a finite number >= 0, got {e}")))
        }
        _ => Ok(()),
    }
}

/// A dl-norm construction error (none is expected once the fields are checked) under `path`.
fn at(path: &str) -> impl Fn(dl_layers::LayerError) -> FrameworkError + '_ {
    move |e| FrameworkError::config(path, e.to_string())
}

/// The normalisation layer configured by `layer` at `path` for inputs of per-example
/// `shape`, or `None` when `layer` is not a normalisation entry.
pub(super) fn build<T: Element>(
    layer: &LayerConfig,
    path: &str,
    shape: &[usize],
) -> Result<Option<Box<dyn Module<T>>>> {
    let module: Box<dyn Module<T>> = match layer {
        LayerConfig::BatchNorm { momentum, eps, affine } => {
            check_eps(path, *eps)?;
            if let Some(f) = momentum
                && !(0.0..=1.0).contains(f)
            {
                return Err(FrameworkError::config(
                    format!("{path}.momentum"),
                    format!("must lie in [0, 1] (or be null for a cumulative average), got {f}"),
                ));
            }
            match shape.len() {
                1 | 2 => {
                    let mut bn =
                        BatchNorm1d::<T>::new(shape[0]).and_then(|bn| bn.with_momentum(*momentum)).map_err(at(path))?;
                    if let Some(e) = eps {
                        bn = bn.with_eps(*e);
                    }
                    Box::new(if *affine { bn } else { bn.without_affine() })
                }
                3 => {
                    let mut bn =
                        BatchNorm2d::<T>::new(shape[0]).and_then(|bn| bn.with_momentum(*momentum)).map_err(at(path))?;
                    if let Some(e) = eps {
                        bn = bn.with_eps(*e);
                    }
                    Box::new(if *affine { bn } else { bn.without_affine() })
                }
                _ => {
                    return Err(FrameworkError::config(
                        path,
                        format!(
                            "batch_norm needs inputs (features,), (channels, length) or (channels, height, width), got per-example shape {shape:?}"
                        ),
                    ));
                }
            }
        }
        LayerConfig::LayerNorm { eps, affine } => {
            check_eps(path, *eps)?;
            let mut ln = LayerNorm::<T>::new(shape).map_err(at(path))?;
            if let Some(e) = eps {
                ln = ln.with_eps(*e);
            }
            Box::new(if *affine { ln } else { ln.without_affine() })
        }
        LayerConfig::GroupNorm { groups, eps, affine } => {
            check_positive(&format!("{path}.groups"), *groups)?;
            check_eps(path, *eps)?;
            let channels = shape[0];
            if !channels.is_multiple_of(*groups) {
                return Err(FrameworkError::config(
                    format!("{path}.groups"),
                    format!(
                        "must divide the number of channels: {groups} groups do not divide {channels} channels (per-example shape {shape:?})"
                    ),
                ));
            }
            let mut gn = GroupNorm::<T>::new(*groups, channels).map_err(at(path))?;
            if let Some(e) = eps {
                gn = gn.with_eps(*e);
            }
            Box::new(if *affine { gn } else { gn.without_affine() })
        }
        LayerConfig::InstanceNorm { eps, affine, track_running_stats } => {
            check_eps(path, *eps)?;
            if shape.len() != 3 {
                return Err(FrameworkError::config(
                    path,
                    format!("instance_norm needs inputs (channels, height, width), got per-example shape {shape:?}"),
                ));
            }
            let mut options = InstanceNormOptions::default().affine(*affine).track_running_stats(*track_running_stats);
            if let Some(e) = eps {
                options = options.eps(*e);
            }
            Box::new(InstanceNorm2d::<T>::new(shape[0], options).map_err(at(path))?)
        }
        LayerConfig::RmsNorm { eps, affine } => {
            check_eps(path, *eps)?;
            let mut rms = RmsNorm::<T>::new(shape).map_err(at(path))?;
            if let Some(e) = eps {
                rms = rms.with_eps(*e);
            }
            Box::new(if *affine { rms } else { rms.without_affine() })
        }
        _ => return Ok(None),
    };
    Ok(Some(module))
}
