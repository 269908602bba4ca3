//! [`UniversalApproximator`]: from a target, its moduli of continuity and `eps` to a
//! one-hidden-layer dl-layers network with a certified sup-norm error `<= eps`.
//!
//! | activation | construction (1-D) | `d > 1` | width for an `L`-Lipschitz target on `[a, b]` |
//! | --- | --- | --- | --- |
//! | sigmoid, tanh, erf | Cybenko's staircase of steep steps ([`crate::approximation::staircase`]) | ridge profiles, each a staircase | `ceil(L (b - a) / (2 (1 - theta) eps))` |
//! | ReLU | piecewise-linear interpolation, exact at the knots ([`crate::approximation::piecewise_linear`]) | ridge profiles, each interpolated | `ceil((b - a) / h)`, `h = max(2 eps' / L, sqrt(8 eps' / M2))` |
//! | softplus, ELU | the same interpolant with `act(k z)/k` for `relu(z)` | as ReLU | as ReLU (`eps' = (1 - theta) eps`) |
//! | sin | the Fejér–Korovkin cosine series ([`crate::approximation::fourier`]) | one unit per ridge cosine | `n ~ pi L (b - a) / (2 eps')` |
//!
//! Every construction comes with its [`Certificate`]: the discretisation or interpolation
//! bound, the smoothing (sigmoid tails, softplus/ELU deviation), the stored parameters, and
//! the f64 evaluation of the network, which gets `eps / 1024` of the budget. All are derived
//! in `docs/approximation.md`. Requests whose width exceeds `max_width` are refused before
//! anything is allocated, with the width and the bytes it would take.

use dl_layers::{Activation, Sequential};

use crate::approximation::certificate::Certificate;
use crate::approximation::construction::{Budget, Construction1d, check_width};
use crate::approximation::error::{ApproximationError, Result, positive};
use crate::approximation::network::ShallowNetwork;
use crate::approximation::piecewise_linear::{RampKind, interpolation_width, ramp_interpolation};
use crate::approximation::ridge::ridge_construction;
use crate::approximation::sigmoidal::Sigmoidal;
use crate::approximation::staircase::{sigmoid_staircase, staircase_width};
use crate::approximation::target::Target;

/// The default largest width: `2^22` hidden units (about 100 MB of f64 parameters in 1-D).
pub const DEFAULT_MAX_WIDTH: usize = 1 << 22;

/// The default share `theta` of `eps` given to smoothing (sigmoid tails, softplus/ELU).
pub const DEFAULT_TAIL_FRACTION: f64 = 0.125;

/// The share of `eps` reserved for the f64 evaluation of the network.
pub const ROUNDING_RESERVE: f64 = 1.0 / 1024.0;

/// The default limit on the multiply-adds of the cosine transform (`d > 1` and `sin`).
pub const DEFAULT_WORK_LIMIT: u128 = 4_000_000_000;

/// Which construction produced an approximation, with its parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum Construction {
    /// Cybenko's sigmoid staircase on `cells` cells of width `spacing`, steepness `steepness`.
    Staircase {
        /// Number of cells (= hidden units).
        cells: usize,
        /// Cell width `h`.
        spacing: f64,
        /// Sigmoid steepness `k`.
        steepness: f64,
    },
    /// Piecewise-linear interpolation (ReLU family) on `cells` cells.
    Interpolation {
        /// Number of cells (= hidden units).
        cells: usize,
        /// Knot spacing `h`.
        spacing: f64,
        /// `k` in `act(k z) / k` (1 for ReLU).
        sharpness: f64,
    },
    /// A certified cosine series of degree `degree` (sin units).
    Cosine {
        /// Degree of the Fejér–Korovkin approximation.
        degree: usize,
    },
    /// Ridge profiles of a cosine approximation (`d > 1`).
    Ridge {
        /// Degree of the cosine approximation per axis.
        fourier_degree: usize,
        /// Ridge profiles built.
        profiles: usize,
        /// Ridge profiles dropped into the certificate.
        dropped: usize,
    },
}

/// A constructed network with its certificate.
pub struct Approximation {
    network: Sequential<f64>,
    parameters: ShallowNetwork,
    certificate: Certificate,
    construction: Construction,
}

impl std::fmt::Debug for Approximation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use dl_layers::Module;
        f.debug_struct("Approximation")
            .field("network", &self.network.describe())
            .field("width", &self.width())
            .field("construction", &self.construction)
            .field("certificate", &self.certificate)
            .finish()
    }
}

impl Approximation {
    /// The network: `Sequential[Linear(d -> width), Act, Linear(width -> 1)]`.
    pub fn network(&self) -> &Sequential<f64> {
        &self.network
    }

    /// The network, by value (to train it further, say).
    pub fn into_network(self) -> Sequential<f64> {
        self.network
    }

    /// Its parameters as plain vectors.
    pub fn parameters(&self) -> &ShallowNetwork {
        &self.parameters
    }

    /// The number of hidden units.
    pub fn width(&self) -> usize {
        self.parameters.width()
    }

    /// The certified sup-norm bound and its terms.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The certified bound, `certificate().total()`.
    pub fn certified_error(&self) -> f64 {
        self.certificate.total()
    }

    /// Which construction, with its parameters.
    pub fn construction(&self) -> &Construction {
        &self.construction
    }
}

/// Builds certified one-hidden-layer approximations (see the module documentation).
///
/// ```
/// use dl_autodiff::{Var, no_grad};
/// use dl_layers::Module;
/// use dl_tensor::Tensor;
/// use dl_theory::approximation::{Modulus, Target, UniversalApproximator};
///
/// // |x - 0.3| on [0, 1] is 1-Lipschitz
/// let target = Target::new_1d(|x: f64| (x - 0.3).abs(), 0.0, 1.0, Modulus::lipschitz(1.0)?)?;
/// let approx = UniversalApproximator::sigmoid().approximate(&target, 0.01)?;
/// // width N = ceil(L (b - a) / (2 (1 - 1/8) eps)) = ceil(1 / 0.0175) = 58
/// assert_eq!(approx.width(), 58);
/// assert!(approx.certified_error() <= 0.01);
/// // the network is a dl-layers Sequential: evaluate it like any other
/// let x = Tensor::from_vec(vec![0.0, 0.3, 0.77, 1.0], &[4, 1])?;
/// let y = no_grad(|| approx.network().forward(&Var::constant(x)))?;
/// for (x, y) in [0.0, 0.3, 0.77, 1.0].iter().zip(y.value().to_vec()) {
///     assert!((y - (x - 0.3f64).abs()).abs() <= approx.certified_error());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct UniversalApproximator {
    activation: Activation,
    tail_fraction: f64,
    max_width: usize,
    work_limit: u128,
}

impl UniversalApproximator {
    /// An approximator for `activation`: sigmoid, tanh, erf, ReLU, softplus, ELU(alpha > 0)
    /// or sin. Other activations are refused with the list of supported ones.
    pub fn new(activation: Activation) -> Result<Self> {
        let supported =
            Sigmoidal::of(activation).is_some() || RampKind::of(activation).is_some() || activation == Activation::Sin;
        if !supported {
            return Err(ApproximationError::Unsupported {
                op: "UniversalApproximator::new",
                detail: format!(
                    "no certified construction for {activation:?}; supported: Sigmoid, Tanh, Erf, Relu, Softplus, Elu(alpha > 0), Sin"
                ),
            });
        }
        Ok(UniversalApproximator {
            activation,
            tail_fraction: DEFAULT_TAIL_FRACTION,
            max_width: DEFAULT_MAX_WIDTH,
            work_limit: DEFAULT_WORK_LIMIT,
        })
    }

    /// Cybenko's sigmoid approximator.
    pub fn sigmoid() -> Self {
        UniversalApproximator {
            activation: Activation::Sigmoid,
            tail_fraction: DEFAULT_TAIL_FRACTION,
            max_width: DEFAULT_MAX_WIDTH,
            work_limit: DEFAULT_WORK_LIMIT,
        }
    }

    /// Sets the share `theta` of `eps` given to smoothing; `0 < theta < 1`.
    pub fn with_tail_fraction(mut self, theta: f64) -> Result<Self> {
        if !(theta > 0.0 && theta < 1.0) {
            return Err(ApproximationError::InvalidArgument {
                op: "UniversalApproximator::with_tail_fraction",
                name: "tail_fraction".into(),
                value: theta,
                requirement: "must lie in (0, 1)",
            });
        }
        self.tail_fraction = theta;
        Ok(self)
    }

    /// Sets the largest width a construction may have.
    pub fn with_max_width(mut self, max_width: usize) -> Self {
        self.max_width = max_width;
        self
    }

    /// Sets the limit on the multiply-adds of the cosine transform (`d > 1` and `sin`).
    pub fn with_work_limit(mut self, work_limit: u128) -> Self {
        self.work_limit = work_limit;
        self
    }

    /// The hidden activation.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The width a 1-D staircase or interpolant needs for `eps`, computed from the modulus
    /// (and `M2`) alone, without evaluating the target. `None` for the cosine-based
    /// constructions (`sin`, `d > 1`), whose width depends on the target's coefficients.
    pub fn required_width(&self, target: &Target<'_>, eps: f64) -> Result<Option<usize>> {
        positive("UniversalApproximator::required_width", "eps", eps)?;
        if target.dim() != 1 {
            return Ok(None);
        }
        let e = eps * (1.0 - ROUNDING_RESERVE);
        let (a, b) = (target.lo()[0], target.hi()[0]);
        let op = "UniversalApproximator::required_width";
        if Sigmoidal::of(self.activation).is_some() {
            return Ok(Some(staircase_width(op, target.modulus(0), a, b, (1.0 - self.tail_fraction) * e)?));
        }
        if let Some(kind) = RampKind::of(self.activation) {
            let share = if kind == RampKind::Relu { 0.0 } else { self.tail_fraction };
            let e_interp = (1.0 - share) * e * (1.0 - crate::approximation::construction::PARAMETER_SHARE);
            return Ok(Some(interpolation_width(target.modulus(0), target.second_derivative_bound(), a, b, e_interp)?));
        }
        Ok(None)
    }

    /// The certified network for `target` within `eps` (see the module documentation).
    pub fn approximate(&self, target: &Target<'_>, eps: f64) -> Result<Approximation> {
        const OP: &str = "UniversalApproximator::approximate";
        positive(OP, "eps", eps)?;
        let reserve = eps * ROUNDING_RESERVE;
        let (lo, hi) = (target.lo(), target.hi());
        if target.dim() > 1 || self.activation == Activation::Sin {
            let (parameters, certificate, report) = ridge_construction(
                OP,
                self.activation,
                target,
                (eps, reserve),
                self.tail_fraction,
                self.max_width,
                self.work_limit,
            )?;
            let construction = if target.dim() == 1 {
                Construction::Cosine { degree: report.fourier_degree }
            } else {
                Construction::Ridge {
                    fourier_degree: report.fourier_degree,
                    profiles: report.profiles,
                    dropped: report.dropped,
                }
            };
            return finish(parameters, certificate, construction);
        }
        let (a, b) = (lo[0], hi[0]);
        let budget =
            Budget { eps: eps - reserve, tail_fraction: self.tail_fraction, max_width: self.max_width, requested: eps };
        let g = |x: f64| target.eval_1d(OP, x);
        let built: Construction1d;
        let construction;
        if let Some(unit) = Sigmoidal::of(self.activation) {
            built = sigmoid_staircase(OP, unit, &g, a, b, target.modulus(0), budget)?;
            construction =
                Construction::Staircase { cells: built.width(), spacing: built.spacing, steepness: built.steepness };
        } else if let Some(kind) = RampKind::of(self.activation) {
            built =
                ramp_interpolation(OP, kind, &g, (a, b), target.modulus(0), target.second_derivative_bound(), budget)?;
            construction = Construction::Interpolation {
                cells: built.width(),
                spacing: built.spacing,
                sharpness: built.steepness,
            };
        } else {
            return Err(ApproximationError::Unsupported {
                op: OP,
                detail: format!("no construction for {:?}", self.activation),
            });
        }
        check_width(OP, eps, built.width(), 1, self.max_width, "raise eps or max_width")?;
        let mut parameters = ShallowNetwork::constant(built.activation, 1, built.output_bias);
        for i in 0..built.width() {
            parameters.push_unit(&[built.weights[i]], built.biases[i], built.outputs[i]);
        }
        let mut certificate = Certificate::new(eps);
        for t in &built.terms {
            certificate.push(t.name, t.value);
        }
        let rounding = parameters.rounding_bound(lo, hi);
        if rounding > reserve {
            return Err(ApproximationError::Precision { op: OP, eps, rounding, reserve });
        }
        certificate.push("f64 evaluation", rounding);
        finish(parameters, certificate, construction)
    }
}

fn finish(
    mut parameters: ShallowNetwork,
    certificate: Certificate,
    construction: Construction,
) -> Result<Approximation> {
    if parameters.width() == 0 {
        // every unit was dropped (a constant target): one unit with zero weights keeps the
        // network's shape `Linear, Act, Linear` and computes the same constant
        let zeros = vec![0.0; parameters.dim];
        parameters.push_unit(&zeros, 0.0, 0.0);
    }
    if !certificate.holds() {
        return Err(ApproximationError::Numerical {
            op: "UniversalApproximator::approximate",
            detail: format!("the assembled certificate exceeds eps (internal budget error): {certificate}"),
        });
    }
    let network = parameters.to_sequential()?;
    Ok(Approximation { network, parameters, certificate, construction })
}
