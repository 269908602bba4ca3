//! [`TeacherNetwork`]: a random MLP teacher for student–teacher regression and classification.

use dl_tensor::random::standard_normal_f64;
use dl_tensor::{Element, Tensor};
use rand::Rng;

use super::super::dataset::Dataset;
use super::super::error::{DataError, Result};
use super::{non_negative, to_tensor};

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
            let wv = standard_normal_f64(fan_in * fan_out, rng).into_iter().map(|z| std * z).collect();
            weights.push(to_tensor(wv, &[fan_in, fan_out])?);
            let bv = standard_normal_f64(fan_out, rng).into_iter().map(|z| sigma_b2.sqrt() * z).collect();
            biases.push(to_tensor(bv, &[fan_out])?);
        }
        Ok(TeacherNetwork { widths: widths.to_vec(), activation, weights, biases })
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
                format!("inputs must have shape (N, {}), got {:?}", self.widths[0], x.shape()),
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
    pub fn regression_data<R: Rng + ?Sized>(&self, n: usize, noise_std: f64, rng: &mut R) -> Result<Dataset<T>> {
        let op = "TeacherNetwork::regression_data";
        non_negative(op, "noise_std", noise_std)?;
        let (input, out) = self.io_widths(op)?;
        let x = to_tensor(standard_normal_f64(n * input, rng), &[n, input])?;
        let y = self.forward(&x)?;
        let noise = standard_normal_f64(n * out, rng);
        let y: Vec<f64> = y.to_vec().iter().zip(noise).map(|(v, z)| v.to_f64_exact() + noise_std * z).collect();
        Dataset::regression(x, to_tensor(y, &[n, out])?)
    }

    /// `n` inputs `x ~ N(0, I)` labelled by the argmax of the teacher's outputs (the first
    /// maximum on ties); `num_classes` is the output width, which must be at least 2.
    pub fn classification_data<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Result<Dataset<T>> {
        let op = "TeacherNetwork::classification_data";
        let (input, k) = self.io_widths(op)?;
        if k < 2 {
            return Err(DataError::invalid(op, "needs an output width of at least 2 classes"));
        }
        let x = to_tensor(standard_normal_f64(n * input, rng), &[n, input])?;
        let y = self.forward(&x)?.to_vec();
        let labels = y
            .chunks_exact(k)
            .map(|row| row.iter().enumerate().fold(0, |best, (j, v)| if *v > row[best] { j } else { best }))
            .collect();
        Dataset::classification(x, labels, k)
    }
}

// ---- sparse parity ------------------------------------------------------------------
