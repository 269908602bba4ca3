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
//! dl-layers' [`Module`] exposes no type information, so layers are recognised by their
//! [`Module::describe`] names and parameter shapes. The initialisation variances are not
//! stored in a module, so they are arguments. A convolution's stride and padding are
//! checked by a probe forward pass (its output must keep the input's size); its dilation
//! cannot be observed this way and is taken to be 1.

use dl_autodiff::Var;
use dl_init::Activation;
use dl_layers::{Module, Sequential};
use dl_tensor::Tensor;

use crate::analytic::Architecture;
use crate::error::{NtkError, Result};
use crate::layer::{KernelLayer, Parameterisation};

/// The elementwise activation a dl-layers `Act` describes (its `Debug` name).
fn activation(name: &str) -> Option<Activation> {
    let arg =
        |prefix: &str| name.strip_prefix(prefix).and_then(|r| r.strip_suffix(')')).and_then(|v| v.parse::<f64>().ok());
    Some(match name {
        "Relu" => Activation::Relu,
        "Tanh" => Activation::Tanh,
        "Erf" => Activation::Erf,
        "Sigmoid" => Activation::Sigmoid,
        "Softplus" => Activation::Softplus,
        "Gelu" => Activation::Gelu,
        "Sin" => Activation::Sin,
        "Identity" => Activation::Linear,
        _ => {
            if let Some(a) = arg("LeakyRelu(") {
                Activation::LeakyRelu(a)
            } else if let Some(a) = arg("Elu(") {
                Activation::Elu(a)
            } else {
                return None;
            }
        }
    })
}

/// Why a recognised layer has no analytic kernel, if it has none.
fn unsupported_reason(name: &str, training: bool) -> Option<&'static str> {
    let starts = |p: &[&str]| p.iter().any(|p| name.starts_with(p));
    if starts(&["MaxPool"]) {
        Some(
            "max pooling has no closed-form infinite-width kernel (the max of correlated Gaussians); use global average pooling",
        )
    } else if starts(&["AvgPool"]) {
        Some("local (strided) average pooling is not supported; only global average pooling is")
    } else if starts(&["Dropout"]) && training {
        Some("dropout at train time makes the network random; call eval() (dropout is then the identity)")
    } else if starts(&["BatchNorm", "LayerNorm", "GroupNorm", "InstanceNorm", "RmsNorm"]) {
        Some(
            "normalisation divides by statistics of the batch or of the layer, which the infinite-width recursion does not cover",
        )
    } else if starts(&["RNN", "LSTM", "GRU"]) {
        Some("recurrent layers share weights across time steps; their kernel recursion is not implemented")
    } else if starts(&["Flatten"]) {
        Some("flattening a spatial representation is not supported; use global average pooling")
    } else {
        None
    }
}

/// The kernel layer of one dl-layers module (`None`: the identity, dropout in eval mode).
fn kernel_layer(index: usize, m: &dyn Module<f64>, sigma_w2: f64, sigma_b2: f64) -> Result<Option<KernelLayer>> {
    let name = m.describe();
    let fail = |reason: String| NtkError::UnsupportedLayer {
        op: "Architecture::from_sequential",
        index,
        layer: name.clone(),
        reason,
    };
    if let Some(reason) = unsupported_reason(&name, m.is_training()) {
        return Err(fail(reason.into()));
    }
    if name.starts_with("Dropout") {
        return Ok(None);
    }
    if name == "GlobalAvgPool" {
        return Ok(Some(KernelLayer::GlobalAvgPool));
    }
    if let Some(act) = activation(&name) {
        return Ok(Some(KernelLayer::Activation(act)));
    }
    let params = m.parameters();
    let weight = params.iter().find(|p| p.name == "weight").map(|p| p.param.shape());
    let has_bias = params.iter().any(|p| p.name == "bias");
    let need_bias = |layer: KernelLayer| {
        if has_bias || sigma_b2 == 0.0 {
            Ok(Some(layer))
        } else {
            Err(fail(format!("it has no bias, but sigma_b2 = {sigma_b2}")))
        }
    };
    match (name.split('(').next(), weight.as_deref()) {
        (Some("Linear"), Some(&[out, _])) => need_bias(KernelLayer::dense(out, sigma_w2, sigma_b2)),
        (Some(kind @ ("Conv1d" | "Conv2d")), Some(w)) => {
            let (out, cin, filter) = (w[0], w[1], w[2..].to_vec());
            // probe: a 'same' stride-1 convolution keeps the spatial size
            let spatial: Vec<usize> = filter.iter().map(|k| 2 * k + 1).collect();
            let mut shape = vec![1, cin];
            shape.extend(&spatial);
            let y = m.forward(&Var::constant(Tensor::<f64>::zeros(&shape)))?;
            if y.shape()[2..] != spatial[..] {
                return Err(fail(format!("only stride 1 with 'same' padding is supported: a {spatial:?} input gave {:?}", &y.shape()[2..])));
            }
            let layer = KernelLayer::Conv { channels: out, filter, sigma_w2, sigma_b2 };
            layer.validate(index).map_err(|_| fail(format!("{kind} needs odd filter sizes")))?;
            need_bias(layer)
        }
        _ => Err(fail("not a layer the analytic kernel knows (Linear, Conv1d, Conv2d, an activation, GlobalAvgPool, Dropout in eval mode)".into())),
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
