//! Synthetic datasets, each drawn from an explicit seeded generator:
//!
//! - [`TeacherNetwork`]: a random MLP teacher whose outputs are regression targets, or
//!   whose argmax is a class label (student–teacher setups).
//! - [`SparseParity`]: n-bit inputs in {-1, +1}, the label is the parity of k hidden
//!   relevant bits (Barak et al. 2022, "Hidden progress in deep learning").
//! - [`ModularArithmetic`]: `a op b mod p` for all pairs, inputs one-hot `[e_a, e_b]`
//!   (Power et al. 2022, "Grokking").
//! - [`TwoSpirals`]: two interleaved Archimedean spirals (Lang and Witbrock 1988).
//! - [`Sinusoid`]: `y = A sin(omega x + phi) + noise` (Finn et al. 2017's regression task).
//!
//! Normal draws use `dl_tensor::random::standard_normal_f64` (Box–Muller), so the same
//! seed gives the same dataset on every machine.

use dl_tensor::random::standard_normal_f64;
use dl_tensor::{Element, Tensor};
use rand::{Rng, RngExt};

use super::dataset::{Dataset, Split, check_fraction, permutation};
use super::error::{DataError, Result};

fn finite(op: &'static str, name: &str, v: f64) -> Result<()> {
    if !v.is_finite() {
        return Err(DataError::invalid(
            op,
            format!("{name} must be finite, got {v}"),
        ));
    }
    Ok(())
}

fn non_negative(op: &'static str, name: &str, v: f64) -> Result<()> {
    if v.is_nan() || v < 0.0 || !v.is_finite() {
        return Err(DataError::invalid(
            op,
            format!("{name} must be finite and >= 0, got {v}"),
        ));
    }
    Ok(())
}

fn to_tensor<T: Element>(v: Vec<f64>, shape: &[usize]) -> Result<Tensor<T>> {
    Ok(Tensor::from_vec(
        v.into_iter().map(T::from_f64_lossy).collect(),
        shape,
    )?)
}

// ---- teacher network ----------------------------------------------------------------

/// The nonlinearity of a teacher network's hidden layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// The identity (a deep linear teacher).
    Linear,
    /// `max(0, x)`.
    Relu,
    /// `tanh(x)`.
    Tanh,
    /// The error function `erf(x)` (its NNGP kernel has a closed form).
    Erf,
}

impl Activation {
    /// Applies the activation to one value.
    pub fn apply<T: Element>(self, x: T) -> T {
        match self {
            Activation::Linear => x,
            Activation::Relu => x.max(T::zero()),
            Activation::Tanh => x.tanh(),
            Activation::Erf => x.erf(),
        }
    }
}

/// A random fully connected teacher: `h_0 = x`, `h_l = phi(h_{l-1} W_l + b_l)` for the
/// hidden layers, and a linear output layer. Standard parameterisation:
/// `W_l ~ N(0, sigma_w2 / fan_in)`, `b_l ~ N(0, sigma_b2)` (variances).
#[derive(Clone, Debug, PartialEq)]
pub struct TeacherNetwork<T: Element> {
    /// Layer widths `[input, hidden..., output]`.
    pub widths: Vec<usize>,
    /// The hidden-layer nonlinearity.
    pub activation: Activation,
    /// Weight matrices, layer `l` of shape `(widths[l], widths[l + 1])`.
    pub weights: Vec<Tensor<T>>,
    /// Bias vectors, layer `l` of shape `(widths[l + 1],)`.
    pub biases: Vec<Tensor<T>>,
}

impl<T: Element> TeacherNetwork<T> {
    /// Draws a teacher with layer widths `[input, hidden..., output]`.
    ///
    /// Errors: fewer than two widths, a zero width, a negative or non-finite variance.
    pub fn random<R: Rng + ?Sized>(
        widths: &[usize],
        activation: Activation,
        sigma_w2: f64,
        sigma_b2: f64,
        rng: &mut R,
    ) -> Result<Self> {
        let op = "TeacherNetwork::random";
        if widths.len() < 2 || widths.contains(&0) {
            return Err(DataError::invalid(
                op,
                format!("widths must be [input, hidden..., output], all >= 1, got {widths:?}"),
            ));
        }
        non_negative(op, "sigma_w2", sigma_w2)?;
        non_negative(op, "sigma_b2", sigma_b2)?;
        let (mut weights, mut biases) = (Vec::new(), Vec::new());
        for w in widths.windows(2) {
            let (fan_in, fan_out) = (w[0], w[1]);
            let std = (sigma_w2 / fan_in as f64).sqrt();
            let wv = standard_normal_f64(fan_in * fan_out, rng)
                .into_iter()
                .map(|z| std * z)
                .collect();
            weights.push(to_tensor(wv, &[fan_in, fan_out])?);
            let bv = standard_normal_f64(fan_out, rng)
                .into_iter()
                .map(|z| sigma_b2.sqrt() * z)
                .collect();
            biases.push(to_tensor(bv, &[fan_out])?);
        }
        Ok(TeacherNetwork {
            widths: widths.to_vec(),
            activation,
            weights,
            biases,
        })
    }

    /// The input and output widths, after checking that the (public) fields agree:
    /// at least two widths and one weight matrix and bias per layer.
    fn io_widths(&self, op: &'static str) -> Result<(usize, usize)> {
        let layers = self.widths.len().saturating_sub(1);
        if layers == 0 || self.weights.len() != layers || self.biases.len() != layers {
            return Err(DataError::invalid(
                op,
                format!(
                    "inconsistent teacher: widths {:?} need {layers} layers, found {} weights and {} biases",
                    self.widths,
                    self.weights.len(),
                    self.biases.len()
                ),
            ));
        }
        Ok((self.widths[0], self.widths[layers]))
    }

    /// The teacher's outputs for inputs `x` of shape (N, input), shape (N, output).
    ///
    /// Errors: `x` of the wrong shape, or fields edited into an inconsistent state.
    pub fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        self.io_widths("TeacherNetwork::forward")?;
        if x.ndim() != 2 || x.shape()[1] != self.widths[0] {
            return Err(DataError::shape(
                "TeacherNetwork::forward",
                format!(
                    "inputs must have shape (N, {}), got {:?}",
                    self.widths[0],
                    x.shape()
                ),
            ));
        }
        let mut h = x.clone();
        let last = self.weights.len() - 1;
        for (l, (w, b)) in self.weights.iter().zip(&self.biases).enumerate() {
            h = h.matmul(w)?.add(b)?;
            if l < last {
                let act = self.activation;
                h = h.map(move |v| act.apply(v));
            }
        }
        Ok(h)
    }

    /// `n` inputs `x ~ N(0, I)` with regression targets `teacher(x) + noise`, the noise
    /// i.i.d. `N(0, noise_std^2)`. Features (n, input), targets (n, output).
    pub fn regression_data<R: Rng + ?Sized>(
        &self,
        n: usize,
        noise_std: f64,
        rng: &mut R,
    ) -> Result<Dataset<T>> {
        let op = "TeacherNetwork::regression_data";
        non_negative(op, "noise_std", noise_std)?;
        let (input, out) = self.io_widths(op)?;
        let x = to_tensor(standard_normal_f64(n * input, rng), &[n, input])?;
        let y = self.forward(&x)?;
        let noise = standard_normal_f64(n * out, rng);
        let y: Vec<f64> = y
            .to_vec()
            .iter()
            .zip(noise)
            .map(|(v, z)| v.to_f64_exact() + noise_std * z)
            .collect();
        Dataset::regression(x, to_tensor(y, &[n, out])?)
    }

    /// `n` inputs `x ~ N(0, I)` labelled by the argmax of the teacher's outputs (the first
    /// maximum on ties); `num_classes` is the output width, which must be at least 2.
    pub fn classification_data<R: Rng + ?Sized>(
        &self,
        n: usize,
        rng: &mut R,
    ) -> Result<Dataset<T>> {
        let op = "TeacherNetwork::classification_data";
        let (input, k) = self.io_widths(op)?;
        if k < 2 {
            return Err(DataError::invalid(
                op,
                "needs an output width of at least 2 classes",
            ));
        }
        let x = to_tensor(standard_normal_f64(n * input, rng), &[n, input])?;
        let y = self.forward(&x)?.to_vec();
        let labels = y
            .chunks_exact(k)
            .map(|row| {
                row.iter()
                    .enumerate()
                    .fold(0, |best, (j, v)| if *v > row[best] { j } else { best })
            })
            .collect();
        Dataset::classification(x, labels, k)
    }
}

// ---- sparse parity ------------------------------------------------------------------

/// The (n, k) sparse parity problem: inputs are `n_bits` uniform bits written as
/// `x_i = 1 - 2 b_i` in {-1, +1}; the label is the parity (XOR) of the bits at the `k`
/// relevant positions, so label 1 exactly when the product of the relevant `x_i` is -1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SparseParity {
    /// Input length n.
    pub n_bits: usize,
    /// The relevant positions (distinct, sorted, each `< n_bits`).
    pub relevant: Vec<usize>,
}

impl SparseParity {
    /// A parity on the given relevant positions.
    ///
    /// Errors: no relevant positions, a position `>= n_bits`, or a repeated one.
    pub fn new(n_bits: usize, mut relevant: Vec<usize>) -> Result<Self> {
        let op = "SparseParity::new";
        relevant.sort_unstable();
        if relevant.is_empty()
            || relevant.last().is_some_and(|&m| m >= n_bits)
            || relevant.windows(2).any(|w| w[0] == w[1])
        {
            return Err(DataError::invalid(
                op,
                format!(
                    "relevant bits must be distinct, non-empty and < {n_bits}, got {relevant:?}"
                ),
            ));
        }
        Ok(SparseParity { n_bits, relevant })
    }

    /// A parity on `k` relevant positions drawn uniformly without replacement.
    ///
    /// Errors: `k == 0` or `k > n_bits`.
    pub fn random<R: Rng + ?Sized>(n_bits: usize, k: usize, rng: &mut R) -> Result<Self> {
        if k == 0 || k > n_bits {
            return Err(DataError::invalid(
                "SparseParity::random",
                format!("need 1 <= k <= n_bits, got k = {k}, n_bits = {n_bits}"),
            ));
        }
        Self::new(n_bits, permutation(n_bits, rng)[..k].to_vec())
    }

    /// The label of one bit string: the XOR of its relevant bits.
    ///
    /// Errors: `bits.len() != n_bits`.
    pub fn label(&self, bits: &[bool]) -> Result<usize> {
        if bits.len() != self.n_bits {
            return Err(DataError::shape(
                "SparseParity::label",
                format!("expected {} bits, got {}", self.n_bits, bits.len()),
            ));
        }
        Ok(self
            .relevant
            .iter()
            .filter(|&&i| bits.get(i).copied().unwrap_or(false))
            .count()
            % 2)
    }

    /// `n` examples: features (n, n_bits) in {-1, +1}, labels 0/1 (2 classes).
    pub fn generate<T: Element, R: Rng + ?Sized>(
        &self,
        n: usize,
        rng: &mut R,
    ) -> Result<Dataset<T>> {
        let mut x = Vec::with_capacity(n * self.n_bits);
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            let bits: Vec<bool> = (0..self.n_bits).map(|_| rng.random::<bool>()).collect();
            x.extend(bits.iter().map(|&b| if b { -T::one() } else { T::one() }));
            labels.push(self.label(&bits)?);
        }
        Dataset::classification(Tensor::from_vec(x, &[n, self.n_bits])?, labels, 2)
    }
}

// ---- modular arithmetic -------------------------------------------------------------

/// A binary operation modulo p.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModOp {
    /// `a + b mod p`.
    Add,
    /// `a - b mod p`.
    Sub,
    /// `a * b mod p`.
    Mul,
    /// `a * b^(-1) mod p` for `b != 0` (p must be prime); pairs with `b = 0` are left out.
    Div,
}

impl ModOp {
    /// `a op b mod p`, or `None` for division by 0 (`a, b < p`).
    pub fn apply(self, a: usize, b: usize, p: usize) -> Option<usize> {
        let (a, b, p) = (a as u128, b as u128, p as u128);
        let r = match self {
            ModOp::Add => (a + b) % p,
            ModOp::Sub => (a + p - b) % p,
            ModOp::Mul => (a * b) % p,
            ModOp::Div => {
                if b == 0 {
                    return None;
                }
                (a * pow_mod(b, p - 2, p)) % p
            }
        };
        Some(r as usize)
    }
}

fn pow_mod(mut base: u128, mut exp: u128, p: u128) -> u128 {
    let mut acc = 1 % p;
    base %= p;
    while exp > 0 {
        if exp & 1 == 1 {
            acc = acc * base % p;
        }
        base = base * base % p;
        exp >>= 1;
    }
    acc
}

fn is_prime(p: usize) -> bool {
    p >= 2
        && (2..)
            .take_while(|d| d * d <= p)
            .all(|d| !p.is_multiple_of(d))
}

/// The algorithmic dataset of Power et al. (2022): every pair `(a, b)` in `0..p` (with
/// `b != 0` for division), input the concatenated one-hot vectors `[e_a, e_b]` of length
/// `2p`, label `a op b mod p` (p classes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModularArithmetic {
    /// The modulus.
    pub p: usize,
    /// The operation.
    pub op: ModOp,
}

impl ModularArithmetic {
    /// Largest modulus accepted (the full table then has p^2 rows of 2p features).
    pub const MAX_P: usize = 1000;

    /// Checks the modulus: `2 <= p <= MAX_P`, and p prime for division.
    pub fn new(p: usize, op: ModOp) -> Result<Self> {
        let name = "ModularArithmetic::new";
        if !(2..=Self::MAX_P).contains(&p) {
            return Err(DataError::invalid(
                name,
                format!("p must be in 2..={}, got {p}", Self::MAX_P),
            ));
        }
        if op == ModOp::Div && !is_prime(p) {
            return Err(DataError::invalid(
                name,
                format!("division mod {p} needs a prime p"),
            ));
        }
        Ok(ModularArithmetic { p, op })
    }

    /// Every `(a, b, a op b mod p)`, ordered by a then b.
    pub fn table(&self) -> Vec<(usize, usize, usize)> {
        let p = self.p;
        (0..p)
            .flat_map(|a| (0..p).filter_map(move |b| self.op.apply(a, b, p).map(|c| (a, b, c))))
            .collect()
    }

    /// The whole table as a dataset: features (rows, 2p), labels in `0..p`.
    pub fn dataset<T: Element>(&self) -> Result<Dataset<T>> {
        let p = self.p;
        let table = self.table();
        let mut x = vec![T::zero(); table.len() * 2 * p];
        for (i, &(a, b, _)) in table.iter().enumerate() {
            x[i * 2 * p + a] = T::one();
            x[i * 2 * p + p + b] = T::one();
        }
        let labels = table.iter().map(|&(_, _, c)| c).collect();
        Dataset::classification(Tensor::from_vec(x, &[table.len(), 2 * p])?, labels, p)
    }

    /// The table split at random: a permutation drawn from `rng`, its first
    /// `round(rows * train_fraction)` pairs are the training set, the rest the test set
    /// (each side in table order).
    pub fn split<T: Element, R: Rng + ?Sized>(
        &self,
        train_fraction: f64,
        rng: &mut R,
    ) -> Result<Split<T>> {
        check_fraction("ModularArithmetic::split", "train_fraction", train_fraction)?;
        let all = self.dataset::<T>()?;
        let perm = permutation(all.len(), rng);
        let n_train = (all.len() as f64 * train_fraction).round() as usize;
        let (mut train, mut test) = (perm[..n_train].to_vec(), perm[n_train..].to_vec());
        train.sort_unstable();
        test.sort_unstable();
        Ok(Split {
            train: all.subset(&train)?,
            test: all.subset(&test)?,
        })
    }
}

// ---- two spirals --------------------------------------------------------------------

/// Two interleaved spirals in the plane (the benchmark of Lang and Witbrock 1988), as
/// Archimedean spirals: point `i` of `n` has `t = i / (n - 1)`, angle
/// `theta = 2 pi turns t` and radius `r = 0.1 + 0.9 t`; class 0 is
/// `(r cos theta, r sin theta)` and class 1 the same point rotated by pi. Each coordinate
/// gets i.i.d. `N(0, noise_std^2)` noise. Rows alternate class 0, class 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TwoSpirals {
    /// Points on each spiral.
    pub points_per_class: usize,
    /// Number of turns of each spiral.
    pub turns: f64,
    /// Standard deviation of the coordinate noise.
    pub noise_std: f64,
}

impl Default for TwoSpirals {
    /// 97 points per class and about 3 turns, as Lang and Witbrock's original; no noise.
    fn default() -> Self {
        TwoSpirals {
            points_per_class: 97,
            turns: 3.0,
            noise_std: 0.0,
        }
    }
}

impl TwoSpirals {
    /// The noiseless radius and angle of point `i`.
    pub fn polar(&self, i: usize) -> (f64, f64) {
        let t = if self.points_per_class > 1 {
            i as f64 / (self.points_per_class - 1) as f64
        } else {
            0.0
        };
        (0.1 + 0.9 * t, 2.0 * std::f64::consts::PI * self.turns * t)
    }

    /// Features (2 points_per_class, 2), labels 0/1.
    ///
    /// Errors: `turns` not finite and positive, `noise_std` negative or not finite.
    pub fn generate<T: Element, R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Dataset<T>> {
        let op = "TwoSpirals::generate";
        if self.turns.is_nan() || self.turns <= 0.0 || !self.turns.is_finite() {
            return Err(DataError::invalid(
                op,
                format!("turns must be finite and > 0, got {}", self.turns),
            ));
        }
        non_negative(op, "noise_std", self.noise_std)?;
        let n = self.points_per_class;
        let noise = standard_normal_f64(4 * n, rng);
        let mut x = Vec::with_capacity(4 * n);
        let mut labels = Vec::with_capacity(2 * n);
        for i in 0..n {
            let (r, th) = self.polar(i);
            for (class, sign) in [(0, 1.0), (1, -1.0)] {
                let k = 4 * i + 2 * class;
                x.push(sign * r * th.cos() + self.noise_std * noise[k]);
                x.push(sign * r * th.sin() + self.noise_std * noise[k + 1]);
                labels.push(class);
            }
        }
        Dataset::classification(to_tensor(x, &[2 * n, 2])?, labels, 2)
    }
}

// ---- sinusoid regression ------------------------------------------------------------

/// Sinusoid regression `y = amplitude sin(omega x + phase) + noise`, `x` uniform on
/// `[x_min, x_max)`, noise i.i.d. `N(0, noise_std^2)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sinusoid {
    /// A.
    pub amplitude: f64,
    /// The angular frequency omega.
    pub omega: f64,
    /// The phase phi.
    pub phase: f64,
    /// Lower end of the input interval.
    pub x_min: f64,
    /// Upper end of the input interval (excluded).
    pub x_max: f64,
    /// Standard deviation of the target noise.
    pub noise_std: f64,
}

impl Default for Sinusoid {
    /// `sin(x)` on [-5, 5) without noise.
    fn default() -> Self {
        Sinusoid {
            amplitude: 1.0,
            omega: 1.0,
            phase: 0.0,
            x_min: -5.0,
            x_max: 5.0,
            noise_std: 0.0,
        }
    }
}

impl Sinusoid {
    /// A task of Finn et al. (2017)'s sinusoid meta-learning benchmark: amplitude uniform
    /// on [0.1, 5), phase uniform on [0, pi), omega 1, x on [-5, 5), no noise.
    pub fn random_task<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let amplitude = 0.1 + 4.9 * rng.random::<f64>();
        let phase = std::f64::consts::PI * rng.random::<f64>();
        Sinusoid {
            amplitude,
            phase,
            ..Self::default()
        }
    }

    /// The noiseless target at `x`.
    pub fn eval(&self, x: f64) -> f64 {
        self.amplitude * (self.omega * x + self.phase).sin()
    }

    /// `n` examples: features (n, 1), targets (n, 1).
    ///
    /// Errors: a non-finite parameter, `x_min >= x_max`, a negative `noise_std`.
    pub fn generate<T: Element, R: Rng + ?Sized>(
        &self,
        n: usize,
        rng: &mut R,
    ) -> Result<Dataset<T>> {
        let op = "Sinusoid::generate";
        for (name, v) in [
            ("amplitude", self.amplitude),
            ("omega", self.omega),
            ("phase", self.phase),
            ("x_min", self.x_min),
            ("x_max", self.x_max),
        ] {
            finite(op, name, v)?;
        }
        if self.x_min >= self.x_max {
            return Err(DataError::invalid(
                op,
                format!("need x_min < x_max, got [{}, {})", self.x_min, self.x_max),
            ));
        }
        non_negative(op, "noise_std", self.noise_std)?;
        let xs: Vec<f64> = (0..n)
            .map(|_| self.x_min + (self.x_max - self.x_min) * rng.random::<f64>())
            .collect();
        let noise = standard_normal_f64(n, rng);
        let ys = xs
            .iter()
            .zip(noise)
            .map(|(&x, z)| self.eval(x) + self.noise_std * z)
            .collect();
        Dataset::regression(to_tensor(xs, &[n, 1])?, to_tensor(ys, &[n, 1])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::seeded_rng;

    /// The teacher's forward pass with explicit loops in f64, from its stored weights.
    fn loop_forward(t: &TeacherNetwork<f64>, x: &[f64]) -> Vec<f64> {
        let mut h = x.to_vec();
        for (l, (w, b)) in t.weights.iter().zip(&t.biases).enumerate() {
            let (fan_in, fan_out) = (t.widths[l], t.widths[l + 1]);
            let (w, b) = (w.to_vec(), b.to_vec());
            let mut next = vec![0.0; fan_out];
            for j in 0..fan_out {
                let mut s = b[j];
                for i in 0..fan_in {
                    s += h[i] * w[i * fan_out + j];
                }
                next[j] = if l + 1 < t.weights.len() {
                    match t.activation {
                        Activation::Linear => s,
                        Activation::Relu => s.max(0.0),
                        Activation::Tanh => s.tanh(),
                        Activation::Erf => simpson_erf(s),
                    }
                } else {
                    s
                };
            }
            h = next;
        }
        h
    }

    /// erf by composite Simpson quadrature of 2/sqrt(pi) exp(-t^2) on [0, x], step at most
    /// 2.5e-4: the error bound (|x| / 180) h^4 max|f| (max|f| = 24/sqrt(pi) < 13.6)
    /// is below 2e-15 for |x| <= 6, and rounding over at most 24000 terms adds ~1e-14
    /// (random-walk estimate); beyond 6, erf is +-1 to double precision.
    fn simpson_erf(x: f64) -> f64 {
        if x.abs() > 6.0 {
            return x.signum();
        }
        let n = 2 * ((x.abs() / 5e-4).ceil() as usize).max(1);
        let h = x / n as f64;
        let f = |t: f64| (-t * t).exp();
        let mut s = f(0.0) + f(x);
        for i in 1..n {
            s += if i % 2 == 1 { 4.0 } else { 2.0 } * f(i as f64 * h);
        }
        s * h / 3.0 * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn teacher_matches_a_direct_loop_forward_pass() {
        for act in [
            Activation::Linear,
            Activation::Relu,
            Activation::Tanh,
            Activation::Erf,
        ] {
            let mut rng = seeded_rng(5);
            let t = TeacherNetwork::<f64>::random(&[5, 16, 8, 3], act, 2.0, 0.1, &mut rng).unwrap();
            let d = t.regression_data(20, 0.0, &mut rng).unwrap();
            let x = d.features().to_vec();
            let y = d.regression_targets().unwrap().to_vec();
            for n in 0..20 {
                let want = loop_forward(&t, &x[n * 5..(n + 1) * 5]);
                for j in 0..3 {
                    // Summation order differs from the GEMM kernel: allow a few ulps of
                    // the magnitudes involved (sums of 16 terms of order 1).
                    assert!(
                        (y[n * 3 + j] - want[j]).abs() < 1e-12,
                        "{act:?} {n} {j}: {} vs {}",
                        y[n * 3 + j],
                        want[j]
                    );
                }
            }
            let c = t.classification_data(30, &mut rng).unwrap();
            let out = t.forward(c.features()).unwrap().to_vec();
            for (n, &l) in c.labels().unwrap().iter().enumerate() {
                assert!(out[n * 3..n * 3 + 3].iter().all(|&v| v <= out[n * 3 + l]));
            }
        }
        let mut rng = seeded_rng(0);
        assert!(TeacherNetwork::<f32>::random(&[3], Activation::Relu, 1.0, 0.0, &mut rng).is_err());
        assert!(
            TeacherNetwork::<f32>::random(&[3, 0, 1], Activation::Relu, 1.0, 0.0, &mut rng)
                .is_err()
        );
        assert!(
            TeacherNetwork::<f32>::random(&[3, 1], Activation::Relu, -1.0, 0.0, &mut rng).is_err()
        );
        let t =
            TeacherNetwork::<f32>::random(&[3, 1], Activation::Relu, 1.0, 0.0, &mut rng).unwrap();
        assert!(t.classification_data(4, &mut rng).is_err());
        assert!(
            t.forward(&Tensor::zeros(&[2, 4]))
                .unwrap_err()
                .to_string()
                .contains("(N, 3)")
        );
        let mut broken = t.clone();
        broken.weights.clear();
        assert!(
            broken
                .forward(&Tensor::zeros(&[2, 3]))
                .unwrap_err()
                .to_string()
                .contains("inconsistent")
        );
        broken.widths.clear();
        assert!(broken.regression_data(2, 0.0, &mut rng).is_err());
    }

    #[test]
    fn teacher_weight_variance_is_sigma_w2_over_fan_in() {
        // 400 x 400 weights: the sample variance has relative standard error
        // sqrt(2 / 160000) ~ 0.35%; allow 5 standard errors.
        let t = TeacherNetwork::<f64>::random(
            &[400, 400, 1],
            Activation::Tanh,
            2.0,
            0.0,
            &mut seeded_rng(9),
        )
        .unwrap();
        let w = t.weights[0].to_vec();
        let var = w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64;
        assert!((var / (2.0 / 400.0) - 1.0).abs() < 5.0 * 0.0036, "{var}");
        assert!(t.biases[0].to_vec().iter().all(|&b| b == 0.0));
    }

    #[test]
    fn parity_labels_are_xor_of_relevant_bits() {
        let mut rng = seeded_rng(1);
        let p = SparseParity::random(20, 3, &mut rng).unwrap();
        assert_eq!(p.relevant.len(), 3);
        let d = p.generate::<f32, _>(500, &mut rng).unwrap();
        let x = d.features().to_vec();
        let labels = d.labels().unwrap();
        assert!(x.iter().all(|&v| v == 1.0 || v == -1.0));
        for n in 0..500 {
            let mut xor = 0u8;
            for &i in &p.relevant {
                xor ^= (x[n * 20 + i] < 0.0) as u8;
            }
            assert_eq!(labels[n], xor as usize);
        }
        // Balanced classes: 500 fair labels, standard deviation ~11; allow 5 of them.
        let ones = labels.iter().sum::<usize>() as i64;
        assert!((ones - 250).abs() < 56, "{ones}");
        assert_eq!(p.label(&[false; 20]).unwrap(), 0);
        assert!(p.label(&[true; 3]).is_err());
        assert!(SparseParity::new(4, vec![1, 1]).is_err());
        assert!(SparseParity::new(4, vec![4]).is_err());
        assert!(SparseParity::random(4, 5, &mut rng).is_err());
        assert_eq!(p, SparseParity::random(20, 3, &mut seeded_rng(1)).unwrap());
    }

    #[test]
    fn modular_table_is_complete_and_correct() {
        for (op, f) in [
            (ModOp::Add, (|a: i64, b: i64| a + b) as fn(i64, i64) -> i64),
            (ModOp::Sub, |a, b| a - b),
            (ModOp::Mul, |a, b| a * b),
        ] {
            let m = ModularArithmetic::new(7, op).unwrap();
            let d = m.dataset::<f64>().unwrap();
            assert_eq!(d.features().shape(), &[49, 14]);
            let x = d.features().to_vec();
            for (row, &c) in d.labels().unwrap().iter().enumerate() {
                let oh = &x[row * 14..(row + 1) * 14];
                assert_eq!(oh.iter().sum::<f64>(), 2.0);
                let a = oh[..7].iter().position(|&v| v == 1.0).unwrap() as i64;
                let b = oh[7..].iter().position(|&v| v == 1.0).unwrap() as i64;
                assert_eq!(row as i64, a * 7 + b, "every pair once, in order");
                assert_eq!(c as i64, f(a, b).rem_euclid(7));
            }
        }
        let m = ModularArithmetic::new(11, ModOp::Div).unwrap();
        let t = m.table();
        assert_eq!(t.len(), 11 * 10);
        assert!(
            t.iter().all(|&(a, b, c)| (c * b) % 11 == a),
            "c = a / b means c b = a"
        );
        assert!(ModularArithmetic::new(12, ModOp::Div).is_err());
        assert!(ModularArithmetic::new(1, ModOp::Add).is_err());

        let m = ModularArithmetic::new(13, ModOp::Add).unwrap();
        let s = m.split::<f32, _>(0.3, &mut seeded_rng(2)).unwrap();
        assert_eq!(s.train.len(), (169.0f64 * 0.3).round() as usize);
        assert_eq!(s.train.len() + s.test.len(), 169);
        let mut rows: Vec<Vec<u8>> = s
            .train
            .features()
            .to_vec()
            .chunks(26)
            .chain(s.test.features().to_vec().chunks(26))
            .map(|r| r.iter().map(|&v| v as u8).collect())
            .collect();
        rows.sort();
        rows.dedup();
        assert_eq!(
            rows.len(),
            169,
            "train and test are disjoint and cover the table"
        );
        assert_eq!(s, m.split::<f32, _>(0.3, &mut seeded_rng(2)).unwrap());
        assert!(m.split::<f32, _>(1.2, &mut seeded_rng(2)).is_err());
    }

    #[test]
    fn spirals_radius_grows_with_angle() {
        let s = TwoSpirals {
            points_per_class: 50,
            turns: 2.0,
            noise_std: 0.0,
        };
        let d = s.generate::<f64, _>(&mut seeded_rng(0)).unwrap();
        assert_eq!(d.features().shape(), &[100, 2]);
        let x = d.features().to_vec();
        for class in 0..2 {
            let pts: Vec<(f64, f64)> = (0..50)
                .map(|i| (x[(2 * i + class) * 2], x[(2 * i + class) * 2 + 1]))
                .collect();
            // Unwrap the angle along the spiral and check r = 0.1 + 0.9 theta / (2 pi turns).
            let mut theta = pts[0].1.atan2(pts[0].0);
            let offset = theta;
            let mut prev_r = 0.0;
            for (i, &(px, py)) in pts.iter().enumerate() {
                let r = px.hypot(py);
                if i > 0 {
                    let mut d = py.atan2(px) - (theta % (2.0 * std::f64::consts::PI));
                    d = (d + std::f64::consts::PI).rem_euclid(2.0 * std::f64::consts::PI)
                        - std::f64::consts::PI;
                    assert!(d > 0.0, "angle increases");
                    theta += d;
                    assert!(r > prev_r, "radius increases with angle");
                }
                let expect = 0.1 + 0.9 * (theta - offset) / (4.0 * std::f64::consts::PI);
                assert!(
                    (r - expect).abs() < 1e-12,
                    "class {class} point {i}: r {r} vs {expect}"
                );
                prev_r = r;
            }
            assert_eq!(d.labels().unwrap()[class], class);
        }
        // Class 1 is class 0 rotated by pi.
        assert!((x[0] + x[2]).abs() < 1e-15 && (x[1] + x[3]).abs() < 1e-15);
        let noisy = TwoSpirals {
            noise_std: 0.1,
            ..s
        }
        .generate::<f32, _>(&mut seeded_rng(0))
        .unwrap();
        assert_ne!(
            noisy.features().to_vec(),
            d.cast::<f32>().features().to_vec()
        );
        assert!(
            TwoSpirals { turns: 0.0, ..s }
                .generate::<f64, _>(&mut seeded_rng(0))
                .is_err()
        );
    }

    #[test]
    fn sinusoid_targets_follow_the_formula() {
        let s = Sinusoid {
            amplitude: 2.0,
            omega: 3.0,
            phase: 0.5,
            x_min: -1.0,
            x_max: 2.0,
            noise_std: 0.0,
        };
        let d = s.generate::<f64, _>(200, &mut seeded_rng(4)).unwrap();
        let x = d.features().to_vec();
        let y = d.regression_targets().unwrap().to_vec();
        for (xi, yi) in x.iter().zip(&y) {
            assert!((-1.0..2.0).contains(xi));
            assert_eq!(*yi, 2.0 * (3.0 * xi + 0.5).sin());
        }
        // Noise: residuals have standard deviation noise_std. 20000 draws: the sample
        // standard deviation has relative standard error 1/sqrt(2n) = 0.5%; allow 5 of them.
        let noisy = Sinusoid {
            noise_std: 0.3,
            ..s
        }
        .generate::<f64, _>(20_000, &mut seeded_rng(4))
        .unwrap();
        let xs = noisy.features().to_vec();
        let ys = noisy.regression_targets().unwrap().to_vec();
        let var = xs
            .iter()
            .zip(&ys)
            .map(|(x, y)| (y - s.eval(*x)).powi(2))
            .sum::<f64>()
            / 20_000.0;
        assert!((var.sqrt() / 0.3 - 1.0).abs() < 0.025, "{}", var.sqrt());
        assert!(
            Sinusoid {
                x_min: 1.0,
                x_max: 1.0,
                ..s
            }
            .generate::<f64, _>(3, &mut seeded_rng(0))
            .is_err()
        );
        assert!(
            Sinusoid {
                noise_std: -1.0,
                ..s
            }
            .generate::<f64, _>(3, &mut seeded_rng(0))
            .is_err()
        );
        let task = Sinusoid::random_task(&mut seeded_rng(3));
        assert!(
            (0.1..5.0).contains(&task.amplitude)
                && (0.0..std::f64::consts::PI).contains(&task.phase)
        );
    }
}
