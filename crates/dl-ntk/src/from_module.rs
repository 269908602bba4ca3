//! [`Architecture::from_sequential`]: the architecture of a dl-layers [`Sequential`]
//! network, for its analytic kernel — or an error naming the first layer that has none.
//!
//! The infinite-width recursions exist for dense layers, convolutions (stride 1, 'same'
//! padding), elementwise activations, global average pooling and (in evaluation mode)
//! dropout, which is then the identity. They do not exist here for
//!
//! - **max pooling**: the max of correlated Gaussians has no closed-form covariance map
//!   (Novak et al. 2019 use average pooling for this reason);
//! - **dropout in training mode**: a random mask makes the network itself random; call
//!   `eval()` first;
//! - **normalisation** (batch, layer, group, instance, RMS): batch statistics couple the
//!   examples, and the others divide by a random norm;
//! - **recurrent layers**: weight sharing across time needs its own recursion (not built);
//! - anything else this module does not recognise.
//!
//! Layers are recognised by their typed [`Module::kind`] ([`LayerKind`]): a dense layer's
//! width and bias, a convolution's kernel, stride, padding, dilation and groups, an
//! activation with its parameters. The initialisation variances are not stored in a
//! module, so they are arguments. A convolution must be stride 1, dilation 1, one group,
//! with 'same' padding (explicit padding `p` counts when every kernel size is `2 p + 1`).

use dl_init::Activation;
use dl_layers::{LayerKind, Module, NormKind, Padding, PoolKind, Sequential};

use crate::analytic::Architecture;
use crate::error::{NtkError, Result};
use crate::layer::{KernelLayer, Parameterisation};

/// dl-init's form of a dl-layers activation (the kernel maps are written over dl-init's).
fn activation(a: dl_layers::Activation) -> Activation {
    use dl_layers::Activation as L;
    match a {
        L::Relu => Activation::Relu,
        L::LeakyRelu(s) => Activation::LeakyRelu(s),
        L::Elu(alpha) => Activation::Elu(alpha),
        L::Gelu => Activation::Gelu,
        L::Sigmoid => Activation::Sigmoid,
        L::Tanh => Activation::Tanh,
        L::Softplus => Activation::Softplus,
        L::Erf => Activation::Erf,
        L::Sin => Activation::Sin,
        L::Identity => Activation::Linear,
    }
}

/// Why a layer has no analytic kernel, if it has none.
fn unsupported_reason(kind: &LayerKind, training: bool) -> Option<String> {
    Some(match kind {
        LayerKind::Pool(PoolKind::Max { .. }) => {
            "max pooling has no closed-form infinite-width kernel (the max of correlated Gaussians); use global average pooling".into()
        }
        LayerKind::Pool(PoolKind::Avg { .. }) => {
            "local (strided) average pooling is not supported; only global average pooling is".into()
        }
        LayerKind::Dropout { .. } if training => {
            "dropout at train time makes the network random; call eval() (dropout is then the identity)".into()
        }
        LayerKind::Norm(
            NormKind::Batch | NormKind::Layer | NormKind::Group | NormKind::Instance | NormKind::Rms,
        ) => "normalisation divides by statistics of the batch or of the layer, which the infinite-width recursion does not cover".into(),
        LayerKind::Recurrent { .. } => {
            "recurrent layers share weights across time steps; their kernel recursion is not implemented".into()
        }
        LayerKind::Flatten => "flattening a spatial representation is not supported; use global average pooling".into(),
        LayerKind::Conv { options, kernel, .. } => {
            let same = match options.padding {
                Padding::Same => true,
                Padding::Explicit(p) => kernel.iter().all(|&k| k == 2 * p + 1),
            };
            if options.stride != 1 || options.dilation != 1 || !same {
                format!(
                    "only stride 1, dilation 1 with 'same' padding is supported, got stride {}, dilation {}, padding {:?} for kernel {kernel:?}",
                    options.stride, options.dilation, options.padding
                )
            } else if options.groups != 1 {
                format!("grouped convolutions (groups = {}) are not supported", options.groups)
            } else {
                return None;
            }
        }
        _ => return None,
    })
}

/// The kernel layer of one dl-layers module (`None`: dropout in eval mode).
fn kernel_layer(index: usize, m: &dyn Module<f64>, sigma_w2: f64, sigma_b2: f64) -> Result<Option<KernelLayer>> {
    let kind = m.kind();
    let fail = |reason: String| NtkError::UnsupportedLayer {
        op: "Architecture::from_sequential",
        index,
        layer: m.describe(),
        reason,
    };
    if let Some(reason) = unsupported_reason(&kind, m.is_training()) {
        return Err(fail(reason));
    }
    let need_bias = |has_bias: bool, layer: KernelLayer| {
        if has_bias || sigma_b2 == 0.0 {
            Ok(Some(layer))
        } else {
            Err(fail(format!("it has no bias, but sigma_b2 = {sigma_b2}")))
        }
    };
    match kind {
        LayerKind::Dropout { .. } => Ok(None),
        LayerKind::Pool(PoolKind::GlobalAvg { .. }) => Ok(Some(KernelLayer::GlobalAvgPool)),
        LayerKind::Activation(a) => Ok(Some(KernelLayer::Activation(activation(a)))),
        LayerKind::Linear { out_features, bias, .. } => {
            need_bias(bias, KernelLayer::dense(out_features, sigma_w2, sigma_b2))
        }
        LayerKind::Conv { out_channels, kernel, options, spatial_dims, .. } => {
            let layer = KernelLayer::Conv { channels: out_channels, filter: kernel, sigma_w2, sigma_b2 };
            layer.validate(index).map_err(|_| fail(format!("Conv{spatial_dims}d needs odd filter sizes")))?;
            need_bias(options.bias, layer)
        }
        other => Err(fail(format!(
            "{} is not a layer the analytic kernel knows (Linear, Conv1d, Conv2d, an activation, GlobalAvgPool, Dropout in eval mode)",
            other.name()
        ))),
    }
}

impl Architecture {
    /// The architecture of `net`, with every dense and convolutional layer initialised with
    /// the variances `sigma_w2`, `sigma_b2` (see the module documentation), or an error
    /// naming the first layer without an analytic kernel (its position in `net`; a
    /// structural error from [`Architecture::new`] counts the kept layers, without the
    /// evaluation-mode dropouts).
    pub fn from_sequential(
        net: &Sequential<f64>,
        sigma_w2: f64,
        sigma_b2: f64,
        parameterisation: Parameterisation,
    ) -> Result<Self> {
        let mut layers = Vec::new();
        for (i, m) in net.layers().iter().enumerate() {
            if let Some(l) = kernel_layer(i, m.as_ref(), sigma_w2, sigma_b2)? {
                layers.push(l);
            }
        }
        Architecture::new(layers, parameterisation)
    }
}
