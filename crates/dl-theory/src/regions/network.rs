//! [`PiecewiseLinearNetwork`]: a feed-forward network read as the region counter needs it —
//! a sequence of affine maps and elementwise piecewise-linear activations — built from
//! dl-layers modules by their typed [`LayerKind`], or refused with the index and kind of
//! the first layer that is not piecewise linear.
//!
//! Affine layers are applied through their own `forward` (so a convolution, a batch norm in
//! evaluation mode or an NTK-parameterised dense layer needs no special case); activations
//! are applied here, in f64, from their slopes: `phi(z) = z` for `z > 0` and `a z` for
//! `z <= 0` (`a = 0` for ReLU, the slope for a leaky ReLU). A unit's *activation bit* is
//! `z > 0`; a point's *activation pattern* is the bits of every unit of every activation
//! layer, in order, packed into `u64` words.

use dl_autodiff::{Var, no_grad};
use dl_layers::{LayerKind, Module, NormKind, PoolKind, Sequential};
use dl_tensor::{Element, Tensor, cst};

use super::{RegionError, Result};

/// One step of a [`PiecewiseLinearNetwork`].
pub(crate) enum Step<'a, T: Element> {
    /// An affine layer, applied by its forward pass.
    Affine(&'a dyn Module<T>),
    /// An elementwise activation with a kink at 0: slope 1 above, `slope_below` below.
    Kink {
        /// The slope for `z <= 0`.
        slope_below: f64,
    },
}

/// A network of affine layers and piecewise-linear activations (see the module docs).
///
/// ```
/// use dl_layers::{Act, Linear, Sequential};
/// use dl_tensor::seeded_rng;
/// use dl_theory::regions::PiecewiseLinearNetwork;
///
/// let mut rng = seeded_rng(0);
/// let net = Sequential::<f64>::new()
///     .with(Linear::new(2, 8, true, &mut rng))
///     .with(Act::relu())
///     .with(Linear::new(8, 1, true, &mut rng));
/// let pl = PiecewiseLinearNetwork::from_sequential(&net, &[2])?;
/// assert_eq!(pl.neurons()?, 8);
/// let tanh = Sequential::<f64>::new().with(Linear::new(2, 8, true, &mut rng)).with(Act::tanh());
/// let err = PiecewiseLinearNetwork::from_sequential(&tanh, &[2]).unwrap_err();
/// assert!(err.to_string().contains("layer 1 (Tanh)"), "{err}");
/// # Ok::<(), dl_theory::regions::RegionError>(())
/// ```
pub struct PiecewiseLinearNetwork<'a, T: Element> {
    input_shape: Vec<usize>,
    pub(crate) steps: Vec<Step<'a, T>>,
}

impl<T: Element> std::fmt::Debug for PiecewiseLinearNetwork<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let steps: Vec<String> = self
            .steps
            .iter()
            .map(|s| match s {
                Step::Affine(m) => m.describe(),
                Step::Kink { slope_below } => format!("kink(slope below {slope_below})"),
            })
            .collect();
        write!(f, "PiecewiseLinearNetwork(input {:?}: {})", self.input_shape, steps.join(", "))
    }
}

/// What a layer of this kind is for the counter: an affine step, a kink, or why neither.
fn classify<'a, T: Element>(module: &'a dyn Module<T>) -> std::result::Result<Option<Step<'a, T>>, String> {
    let training = module.is_training();
    match module.kind() {
        LayerKind::Linear { .. }
        | LayerKind::Conv { .. }
        | LayerKind::Flatten
        | LayerKind::Pool(PoolKind::Avg { .. } | PoolKind::GlobalAvg { .. }) => Ok(Some(Step::Affine(module))),
        LayerKind::Dropout { .. } | LayerKind::Norm(NormKind::Batch) if training => {
            Err("it is in training mode; call eval() so that it is a fixed affine map".into())
        }
        LayerKind::Dropout { .. } => Ok(None),
        LayerKind::Norm(NormKind::Batch) => Ok(Some(Step::Affine(module))),
        LayerKind::Norm(_) => Err("it divides by statistics of its own input".into()),
        LayerKind::Activation(a) => match a {
            dl_layers::Activation::Relu => Ok(Some(Step::Kink { slope_below: 0.0 })),
            dl_layers::Activation::LeakyRelu(1.0) => Ok(None),
            dl_layers::Activation::LeakyRelu(s) if s.is_finite() => Ok(Some(Step::Kink { slope_below: s })),
            dl_layers::Activation::LeakyRelu(s) => Err(format!("its slope {s} is not finite")),
            dl_layers::Activation::Identity => Ok(None),
            smooth => Err(format!("{} is smooth", smooth.name())),
        },
        LayerKind::Pool(PoolKind::Max { .. }) => {
            Err("max pooling is piecewise linear but not elementwise; the counter takes elementwise activations".into())
        }
        other => Err(format!("a {} layer is not an affine layer or an elementwise activation", other.name())),
    }
}

impl<'a, T: Element> PiecewiseLinearNetwork<'a, T> {
    /// The network applying `layers` in order to inputs of per-example shape
    /// `input_shape`. Errors name the first layer (its index in `layers` and its
    /// description) that is neither affine nor an elementwise piecewise-linear activation:
    /// a smooth activation, max pooling, a normalisation by the input's own statistics, a
    /// recurrent layer, dropout or batch norm in training mode, or a module of kind
    /// [`LayerKind::Other`].
    pub fn new(input_shape: &[usize], layers: impl IntoIterator<Item = &'a dyn Module<T>>) -> Result<Self> {
        if input_shape.is_empty() || input_shape.contains(&0) {
            return Err(RegionError::invalid(
                "PiecewiseLinearNetwork::new",
                format!("input_shape must be non-empty with positive sizes, got {input_shape:?}"),
            ));
        }
        let mut steps = Vec::new();
        for (index, module) in layers.into_iter().enumerate() {
            match classify(module) {
                Ok(Some(step)) => steps.push(step),
                Ok(None) => {}
                Err(reason) => {
                    return Err(RegionError::NotPiecewiseLinear { index, layer: module.describe(), reason });
                }
            }
        }
        Ok(PiecewiseLinearNetwork { input_shape: input_shape.to_vec(), steps })
    }

    /// The layers of a dl-layers [`Sequential`] on inputs of per-example shape `input_shape`.
    pub fn from_sequential(net: &'a Sequential<T>, input_shape: &[usize]) -> Result<Self> {
        Self::new(input_shape, net.layers().iter().map(|m| m.as_ref()))
    }

    /// The per-example input shape.
    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    /// The number of scalars in one input.
    pub fn input_dim(&self) -> usize {
        self.input_shape.iter().product()
    }

    /// The number of activation layers (kinks), the depth `L` of the bounds.
    pub fn activation_layers(&self) -> usize {
        self.steps.iter().filter(|s| matches!(s, Step::Kink { .. })).count()
    }

    /// The width of each activation layer (units feeding it), found by one forward pass of
    /// a zero input: the `n_1, ..., n_L` of the region bounds.
    pub fn hidden_widths(&self) -> Result<Vec<usize>> {
        let mut widths = Vec::new();
        let mut points = Points::new(vec![0.0; self.input_dim()], 1, self.input_shape.clone());
        for step in &self.steps {
            match step {
                Step::Affine(m) => points = points.affine(*m)?,
                Step::Kink { slope_below } => {
                    widths.push(points.width());
                    points.activate(*slope_below);
                }
            }
        }
        Ok(widths)
    }

    /// The number of units feeding piecewise-linear activations (the `#neurons` of Hanin
    /// and Rolnick 2019).
    pub fn neurons(&self) -> Result<usize> {
        Ok(self.hidden_widths()?.iter().sum())
    }

    /// Checks that a point given as a flat slice has the input's size.
    pub(crate) fn check_point(&self, op: &'static str, name: &str, x: &[f64]) -> Result<()> {
        let d = self.input_dim();
        if x.len() != d {
            return Err(RegionError::invalid(
                op,
                format!(
                    "{name} has {} entries; the network takes inputs of {d} (shape {:?})",
                    x.len(),
                    self.input_shape
                ),
            ));
        }
        if let Some(bad) = x.iter().find(|v| !v.is_finite()) {
            return Err(RegionError::invalid(op, format!("{name} has a non-finite entry {bad}")));
        }
        Ok(())
    }

    /// The activation pattern of every point in `points` (flat, `n` inputs one after the
    /// other).
    pub(crate) fn patterns_of(&self, points: Vec<f64>, n: usize) -> Result<Vec<Vec<u64>>> {
        let mut patterns = vec![Vec::new(); n];
        let mut offset = 0;
        let mut p = Points::new(points, n, self.input_shape.clone());
        for step in &self.steps {
            match step {
                Step::Affine(m) => p = p.affine(*m)?,
                Step::Kink { slope_below } => {
                    let w = p.width();
                    for (k, pattern) in patterns.iter_mut().enumerate() {
                        for (j, &z) in p.values[k * w..(k + 1) * w].iter().enumerate() {
                            if z > 0.0 {
                                set_bit(pattern, offset + j);
                            }
                        }
                    }
                    offset += w;
                    p.activate(*slope_below);
                }
            }
        }
        let words = offset.div_ceil(64);
        for pattern in &mut patterns {
            pattern.resize(words, 0);
        }
        Ok(patterns)
    }

    /// The network's output at every point (flat, `n` inputs), in f64.
    pub fn outputs(&self, points: &[f64], n: usize) -> Result<Vec<f64>> {
        if n == 0 || points.len() != n * self.input_dim() {
            return Err(RegionError::invalid(
                "PiecewiseLinearNetwork::outputs",
                format!("{} values are not {n} inputs of {} entries", points.len(), self.input_dim()),
            ));
        }
        let mut p = Points::new(points.to_vec(), n, self.input_shape.clone());
        for step in &self.steps {
            match step {
                Step::Affine(m) => p = p.affine(*m)?,
                Step::Kink { slope_below } => p.activate(*slope_below),
            }
        }
        Ok(p.values)
    }
}

/// Sets bit `i` of a packed pattern, growing it as needed.
pub(crate) fn set_bit(pattern: &mut Vec<u64>, i: usize) {
    let word = i / 64;
    if pattern.len() <= word {
        pattern.resize(word + 1, 0);
    }
    pattern[word] |= 1u64 << (i % 64);
}

/// A batch of points carried through the network: `n` rows of a layer's values (flat, in
/// f64), with the per-example shape of the layer.
pub(crate) struct Points {
    /// `n * width` values, row after row.
    pub values: Vec<f64>,
    /// The number of points.
    pub n: usize,
    /// The per-example shape.
    pub shape: Vec<usize>,
}

/// Points per forward call: bounds the memory of a batched forward pass.
const CHUNK: usize = 8192;

impl Points {
    pub fn new(values: Vec<f64>, n: usize, shape: Vec<usize>) -> Self {
        Points { values, n, shape }
    }

    /// Values per point.
    pub fn width(&self) -> usize {
        self.shape.iter().product()
    }

    /// Applies an affine module to every point (in `T`, in chunks of [`CHUNK`] points).
    pub fn affine<T: Element>(self, module: &dyn Module<T>) -> Result<Points> {
        let w = self.width();
        let mut out = Vec::new();
        let mut shape = self.shape.clone();
        for start in (0..self.n).step_by(CHUNK) {
            let rows = CHUNK.min(self.n - start);
            let mut s = vec![rows];
            s.extend_from_slice(&self.shape);
            let x = Tensor::from_vec(
                self.values[start * w..(start + rows) * w].iter().map(|&v| cst::<T>(v)).collect(),
                &s,
            )?;
            let y = no_grad(|| module.forward(&Var::constant(x)))?;
            shape = y.shape()[1..].to_vec();
            out.extend(y.value().contiguous().to_vec().iter().map(|v| v.to_f64_exact()));
        }
        if self.n == 0 {
            // a zero-row forward would be an error in some layers; the shape is not needed
            return Ok(Points::new(Vec::new(), 0, shape));
        }
        Ok(Points::new(out, self.n, shape))
    }

    /// Applies `z -> z` (z > 0), `slope_below z` (z <= 0) to every value.
    pub fn activate(&mut self, slope_below: f64) {
        for z in &mut self.values {
            if *z <= 0.0 {
                *z *= slope_below;
            }
        }
    }
}
