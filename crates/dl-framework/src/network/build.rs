//! Building a [`Network`] from a [`NetworkConfig`]: every value is checked with the field
//! path in the error, and the per-example shape is carried from layer to layer (each
//! layer's output shape is found by running it once on a single zero example, so the
//! shape rules live in the layers and nowhere else). Normalisation entries are built in
//! `network/norm_layers.rs`, and each configured layer in `network/build/layer.rs`.

use std::cell::RefCell;
use std::rc::Rc;

use dl_autodiff::{Var, no_grad};
use dl_init::CriticalInit;
use dl_layers::{
    Act, AvgPool1d, AvgPool2d, Conv1d, Conv2d, ConvOptions, Flatten, GlobalAvgPool, Linear, MaxPool1d, MaxPool2d,
    Module, PoolOptions, Recurrent, Residual, Sequential,
};
use dl_tensor::{Element, MemoryLimit, Tensor, TensorRng, seeded_rng};

use crate::config::{LayerFootprint, check_positive, layer_footprint};
use std::collections::BTreeMap;

use dl_layers::Embedding;
use dl_theory::feature_learning::{AbcScheme, DenseScaling, LayerRole, init_factor};

use super::{BatchFirstRecurrent, CheckpointedDropout, LrFactors, Network, NetworkLayer};
use crate::config::{InitConfig, LayerConfig, NetworkConfig, Parameterisation};
use crate::error::{FrameworkError, Result};

mod layer;

/// What the builder carries from layer to layer.
struct Builder<'c> {
    cfg: &'c NetworkConfig,
    /// The variances of the critical or gaussian scheme.
    critical: Option<CriticalInit>,
    /// A named weight scheme (Xavier, Kaiming, LeCun, orthogonal), biases zero.
    scheme: Option<dl_init::Scheme>,
    rng: TensorRng,
    dropout_rngs: Vec<Rc<RefCell<TensorRng>>>,
    /// An anchored abc parameterisation (`mup`, `abc`), checked against the layers.
    abc: Option<AbcPlan>,
    /// Dense layers built so far (their index among the network's dense layers).
    dense_index: usize,
    /// The multipliers and learning-rate factors of the last dense layer built.
    last_dense: Option<DenseRecord>,
}

/// An anchored abc parameterisation, resolved against the configuration.
#[derive(Clone, Copy)]
struct AbcPlan {
    scheme: AbcScheme,
    /// `n / n_0`, common to every hidden layer.
    ratio: f64,
    /// How many dense layers the network has.
    dense_count: usize,
    sigma_w2: f64,
    sigma_b2: f64,
}

/// What the builder records of a dense layer for [`Network`].
#[derive(Clone, Copy)]
struct DenseRecord {
    multipliers: (f64, f64),
    weight_lr: LrFactors,
    bias_lr: LrFactors,
}

/// The per-example output shape of `module` on inputs of per-example shape `shape`.
fn output_shape<T: Element>(module: &mut dyn Module<T>, shape: &[usize], path: &str) -> Result<Vec<usize>> {
    let mut batch = vec![1];
    batch.extend_from_slice(shape);
    module.set_training(false);
    let out = no_grad(|| module.forward(&Var::constant(Tensor::zeros(&batch))));
    module.set_training(true);
    let out = out.map_err(|e| {
        FrameworkError::config(path, format!("does not fit its input of per-example shape {shape:?}: {e}"))
    })?;
    Ok(out.shape()[1..].to_vec())
}

impl NetworkConfig {
    /// Validates the configuration and builds the network, drawing the initial parameters
    /// from a ChaCha8 generator seeded with `seed`.
    ///
    /// ```
    /// use dl_framework::config::NetworkConfig;
    /// use dl_layers::Module;
    /// let cfg = NetworkConfig::from_json(r#"{"input_shape": [64], "layers": [
    ///     {"type": "dense", "units": 32, "activation": "relu"}, {"type": "dense", "units": 10}]}"#)?;
    /// let net = cfg.build::<f32>()?;
    /// assert_eq!(net.num_parameters(), 64 * 32 + 32 + 32 * 10 + 10);
    /// assert_eq!(net.output_shape(), &[10]);
    /// let bad = NetworkConfig::from_json(r#"{"input_shape": [64], "layers": [{"type": "dense", "units": 0}]}"#)?;
    /// let err = bad.build::<f32>().err().map(|e| e.to_string());
    /// assert_eq!(err.as_deref(), Some("invalid configuration: layers[0].units: must be positive"));
    /// # Ok::<(), dl_framework::FrameworkError>(())
    /// ```
    ///
    /// A layer whose parameters and activations would not fit in memory is refused before
    /// it is allocated (limit: `memory_limit_bytes`, else the machine's available memory):
    ///
    /// ```
    /// use dl_framework::config::NetworkConfig;
    /// let huge = NetworkConfig::from_json(r#"{"input_shape": [1000], "layers": [
    ///     {"type": "dense", "units": 1000000000000}]}"#)?;
    /// let err = huge.build::<f32>().err().map(|e| e.to_string()).unwrap_or_default();
    /// assert!(err.starts_with("invalid configuration: layers[0]: dense layer"), "{err}");
    /// // 1000·10¹² weights + 10¹² biases + 10¹² outputs + 1000 inputs, 4 bytes each
    /// assert!(err.contains("needs 4008000000004000 bytes (3.6 PiB)"), "{err}");
    /// # Ok::<(), dl_framework::FrameworkError>(())
    /// ```
    pub fn build<T: Element>(&self) -> Result<Network<T>> {
        self.build_within(MemoryLimit::from_option(self.memory_limit_bytes))
    }

    /// [`NetworkConfig::build`] under an explicit memory limit (the configuration's
    /// `memory_limit_bytes` is not read).
    pub fn build_within<T: Element>(&self, limit: MemoryLimit) -> Result<Network<T>> {
        if self.input_shape.is_empty() {
            return Err(FrameworkError::config("input_shape", "must name at least one dimension"));
        }
        for (i, &d) in self.input_shape.iter().enumerate() {
            check_positive(&format!("input_shape[{i}]"), d)?;
        }
        limit
            .check_tensor::<T>(format!("one example of shape {:?}", self.input_shape), &self.input_shape)
            .map_err(|e| FrameworkError::config("input_shape", e.to_string()))?;
        if self.layers.is_empty() {
            return Err(FrameworkError::config("layers", "must hold at least one layer"));
        }
        // Every scheme but PyTorch's draws the weights with their scale, which the ntk
        // parameterisation keeps outside them.
        let standard_parameterisation_only = || match self.parameterisation {
            Parameterisation::Ntk { .. } => Err(FrameworkError::config(
                "init",
                "the ntk parameterisation draws W and b standard normal; give its scales as parameterisation.sigma_w and sigma_b",
            )),
            // mup and abc scale these draws themselves (and need a Gaussian scheme: `abc_plan`)
            Parameterisation::Standard | Parameterisation::Mup { .. } | Parameterisation::Abc { .. } => Ok(()),
        };
        let critical = match &self.init {
            InitConfig::Pytorch => None,
            InitConfig::Critical { activation, sigma_b2 } => {
                if !(sigma_b2.is_finite() && *sigma_b2 >= 0.0) {
                    return Err(FrameworkError::config(
                        "init.sigma_b2",
                        format!("must be a finite variance >= 0, got {sigma_b2}"),
                    ));
                }
                standard_parameterisation_only()?;
                let c = CriticalInit::new(&activation.to_mean_field(), *sigma_b2)
                    .map_err(|e| FrameworkError::config("init.activation", format!("no critical point: {e}")))?;
                Some(c)
            }
            InitConfig::Gaussian { sigma_w2, sigma_b2 } => {
                if !(sigma_w2.is_finite() && *sigma_w2 > 0.0) {
                    return Err(FrameworkError::config(
                        "init.sigma_w2",
                        format!("must be a finite variance > 0, got {sigma_w2}"),
                    ));
                }
                if !(sigma_b2.is_finite() && *sigma_b2 >= 0.0) {
                    return Err(FrameworkError::config(
                        "init.sigma_b2",
                        format!("must be a finite variance >= 0, got {sigma_b2}"),
                    ));
                }
                standard_parameterisation_only()?;
                // the same Gaussian draws as the critical scheme, at the given variances
                Some(CriticalInit { sigma_w2: *sigma_w2, sigma_b2: *sigma_b2 })
            }
            InitConfig::Xavier { gain, .. } | InitConfig::Kaiming { gain, .. } | InitConfig::Orthogonal { gain } => {
                if !(gain.is_finite() && *gain > 0.0) {
                    return Err(FrameworkError::config("init.gain", format!("must be a finite gain > 0, got {gain}")));
                }
                None
            }
            InitConfig::Lecun { .. } => None,
        };
        let scheme = self.init.weight_scheme();
        if scheme.is_some() {
            standard_parameterisation_only()?;
        }
        if let Parameterisation::Ntk { sigma_w, sigma_b } = self.parameterisation {
            if !(sigma_w.is_finite() && sigma_w > 0.0) {
                return Err(FrameworkError::config(
                    "parameterisation.sigma_w",
                    format!("must be a finite standard deviation > 0, got {sigma_w}"),
                ));
            }
            if !(sigma_b.is_finite() && sigma_b >= 0.0) {
                return Err(FrameworkError::config(
                    "parameterisation.sigma_b",
                    format!("must be a finite standard deviation >= 0, got {sigma_b}"),
                ));
            }
        }
        let abc = self.abc_plan(critical)?;
        let built = self.build_layers::<T>(critical, scheme, abc, limit)?;
        let mut net = Network::new(built.layers, self.input_shape.clone(), built.output_shape, built.dropout_rngs)
            .with_lr_factors(built.lr_factors);
        net.set_origin(self.clone(), built.footprints);
        if let Some(alpha) = self.lazy_scale {
            if !(alpha.is_finite() && alpha > 0.0) {
                return Err(FrameworkError::config("lazy_scale", format!("must be a finite alpha > 0, got {alpha}")));
            }
            if !net.rng_states().is_empty() || !net.buffers().is_empty() {
                return Err(FrameworkError::config(
                    "lazy_scale",
                    "the reference f(x; w_0) must be a fixed function: dropout and running statistics are not supported",
                ));
            }
            // the same configuration and seed draw the same initial parameters
            let reference = self.build_layers::<T>(critical, scheme, abc, limit)?.layers;
            net = net.with_lazy_reference(alpha, reference.into_iter().map(|l| l.module).collect());
        }
        Ok(net)
    }

    /// The layers, drawn from a fresh generator seeded with `seed`, each configured layer
    /// refused before allocation if it would exceed `limit`.
    fn build_layers<T: Element>(
        &self,
        critical: Option<CriticalInit>,
        scheme: Option<dl_init::Scheme>,
        abc: Option<AbcPlan>,
        limit: MemoryLimit,
    ) -> Result<BuiltLayers<T>> {
        let mut b = Builder {
            cfg: self,
            critical,
            scheme,
            rng: seeded_rng(self.seed),
            dropout_rngs: Vec::new(),
            abc,
            dense_index: 0,
            last_dense: None,
        };
        let mut shape = self.input_shape.clone();
        let mut layers = Vec::new();
        let mut lr_factors = BTreeMap::new();
        let mut footprints = Vec::new();
        let mut state_total = 0u64;
        for (i, layer) in self.layers.iter().enumerate() {
            let path = format!("layers[{i}]");
            let f = check_footprint::<T>(layer, &path, &shape, &mut state_total, limit)?;
            b.last_dense = None;
            for (j, module) in b.layer::<T>(layer, &path, &mut shape)?.into_iter().enumerate() {
                // a dense entry builds the linear layer first, then its activation
                let dense = if j == 0 && matches!(layer, LayerConfig::Dense { .. }) { b.last_dense } else { None };
                if let Some(d) = dense {
                    let index = layers.len();
                    for (name, f) in [("weight", d.weight_lr), ("bias", d.bias_lr)] {
                        if f != LrFactors::ONE {
                            lr_factors.insert(format!("{index}.{name}"), f);
                        }
                    }
                }
                layers.push(NetworkLayer {
                    module,
                    config_path: path.clone(),
                    dense_multipliers: dense.map(|d| d.multipliers),
                });
            }
            footprints.push((path, f));
        }
        Ok(BuiltLayers { layers, output_shape: shape, dropout_rngs: b.dropout_rngs, lr_factors, footprints })
    }

    /// Resolves `mup` / `abc` against the layers: only dense and parameter-free layers, a
    /// base width per dense layer, one width ratio for every hidden layer, the outputs at
    /// their base, and a Gaussian initialisation to anchor at.
    fn abc_plan(&self, critical: Option<CriticalInit>) -> Result<Option<AbcPlan>> {
        let Some((scheme, base_units)) = self.parameterisation.anchored() else { return Ok(None) };
        let field = "parameterisation.base_units";
        let Some(init) = critical else {
            return Err(FrameworkError::config(
                "init",
                "the mup and abc parameterisations scale the draws W ~ N(0, sigma_w2 / fan_in), b ~ N(0, sigma_b2): use the gaussian or critical scheme",
            ));
        };
        let mut units = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            match layer {
                LayerConfig::Dense { units: u, .. } => units.push((i, *u)),
                LayerConfig::Activation { .. } | LayerConfig::Flatten | LayerConfig::Dropout { .. } => {}
                _ => {
                    return Err(FrameworkError::config(
                        format!("layers[{i}]"),
                        "the mup and abc parameterisations are implemented for dense layers (with activations, flatten and dropout between them)",
                    ));
                }
            }
        }
        if base_units.len() != units.len() {
            return Err(FrameworkError::config(
                field,
                format!("{} entries for {} dense layers", base_units.len(), units.len()),
            ));
        }
        if let Some(k) = base_units.iter().position(|&u| u == 0) {
            return Err(FrameworkError::config(format!("{field}[{k}]"), "must be positive"));
        }
        let last = units.len() - 1;
        if units[last].1 != base_units[last] {
            return Err(FrameworkError::config(
                format!("{field}[{last}]"),
                format!(
                    "the output layer's units are fixed: the network has {} outputs, the base {}",
                    units[last].1, base_units[last]
                ),
            ));
        }
        let mut ratio = 1.0;
        for (k, &(i, u)) in units[..last].iter().enumerate() {
            let r = u as f64 / base_units[k] as f64;
            if k > 0 && r != ratio {
                return Err(FrameworkError::config(
                    format!("layers[{i}].units"),
                    format!(
                        "every hidden layer must be the same multiple of its base width: {u} / {} = {r}, but the first is {ratio}",
                        base_units[k]
                    ),
                ));
            }
            ratio = r;
        }
        Ok(Some(AbcPlan { scheme, ratio, dense_count: units.len(), sigma_w2: init.sigma_w2, sigma_b2: init.sigma_b2 }))
    }
}

/// What [`NetworkConfig::build_layers`] draws: the layers, the per-example output shape,
/// the dropout generators, the learning-rate factors by parameter name and each
/// configured layer's footprint by configuration path.
struct BuiltLayers<T: Element> {
    layers: Vec<NetworkLayer<T>>,
    output_shape: Vec<usize>,
    dropout_rngs: Vec<Rc<RefCell<TensorRng>>>,
    lr_factors: BTreeMap<String, LrFactors>,
    footprints: Vec<(String, LayerFootprint)>,
}

/// The name of a layer entry's type, as written in JSON (`dense`, `conv2d`, ...).
pub(crate) fn layer_kind(layer: &LayerConfig) -> &'static str {
    match layer {
        LayerConfig::Dense { .. } => "dense",
        LayerConfig::Conv1d { .. } => "conv1d",
        LayerConfig::Conv2d { .. } => "conv2d",
        LayerConfig::MaxPool1d { .. } => "max_pool1d",
        LayerConfig::AvgPool1d { .. } => "avg_pool1d",
        LayerConfig::MaxPool2d { .. } => "max_pool2d",
        LayerConfig::AvgPool2d { .. } => "avg_pool2d",
        LayerConfig::GlobalAvgPool => "global_avg_pool",
        LayerConfig::Flatten => "flatten",
        LayerConfig::Embedding { .. } => "embedding",
        LayerConfig::Dropout { .. } => "dropout",
        LayerConfig::Activation { .. } => "activation",
        LayerConfig::Recurrent { .. } => "recurrent",
        LayerConfig::BatchNorm { .. } => "batch_norm",
        LayerConfig::LayerNorm { .. } => "layer_norm",
        LayerConfig::GroupNorm { .. } => "group_norm",
        LayerConfig::InstanceNorm { .. } => "instance_norm",
        LayerConfig::RmsNorm { .. } => "rms_norm",
        LayerConfig::Residual { .. } => "residual",
    }
}

/// The footprint of the top-level `layer` at `path`, refused (before anything is
/// allocated) if its parameters, one example's input, activations and working memory, or
/// the parameters of every layer so far, exceed `limit`.
fn check_footprint<T: Element>(
    layer: &LayerConfig,
    path: &str,
    input: &[usize],
    state_total: &mut u64,
    limit: MemoryLimit,
) -> Result<LayerFootprint> {
    let size = std::mem::size_of::<T>() as u64;
    let kind = layer_kind(layer);
    let refuse = |e: dl_tensor::TensorError| FrameworkError::config(path, e.to_string());
    let f = layer_footprint(layer, input);
    let input_elems = dl_tensor::shape::checked_numel(input).and_then(|n| u64::try_from(n).ok());
    let bytes = f
        .as_ref()
        .and_then(|f| f.one_example())
        .zip(input_elems)
        .and_then(|(a, b)| a.checked_add(b))
        .and_then(|e| e.checked_mul(size));
    limit
        .check(
            format!("{kind} layer (its parameters, one example's input and activations, and its working memory)"),
            bytes,
        )
        .map_err(refuse)?;
    let f = f.expect("checked above: an overflowing footprint is refused");
    *state_total = state_total.checked_add(f.state).unwrap_or(u64::MAX);
    limit
        .check(format!("{kind} layer and the ones before it (their parameters)"), state_total.checked_mul(size))
        .map_err(refuse)?;
    Ok(f)
}

/// A boxed module as a module (for [`Residual::with_projection`], which takes `impl Module`).
struct BoxedModule<T: Element>(Box<dyn Module<T>>);

impl<T: Element> Module<T> for BoxedModule<T> {
    fn describe(&self) -> String {
        self.0.describe()
    }
    fn kind(&self) -> dl_layers::LayerKind {
        self.0.kind()
    }
    fn forward(&self, x: &Var<T>) -> dl_layers::Result<Var<T>> {
        self.0.forward(x)
    }
    fn visit_parameters(&self, prefix: &str, f: &mut dyn FnMut(&str, &dl_layers::Param<T>)) {
        self.0.visit_parameters(prefix, f)
    }
    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(&str, &dl_layers::Param<T>)) {
        self.0.visit_buffers(prefix, f)
    }
    fn set_training(&mut self, training: bool) {
        self.0.set_training(training)
    }
    fn is_training(&self) -> bool {
        self.0.is_training()
    }
}
