//! Kernel regression with the infinite-width NTK of an architecture: fit `y = sin(3 x1) +
//! x2 / 2` from 40 noisy-free points on the unit circle's arc and predict 200 others, with
//! the analytic NTK of a 3-hidden-layer ReLU network, against the predictor that always
//! says the training mean.
//!
//! ```text
//! cargo run -p dl-ntk --example kernel_regression
//! ```
//!
//! The prediction is `Theta(X*, X) Theta(X, X)^{-1} Y` (Jacot et al. 2018: what gradient
//! descent on the MSE converges to as the width grows), computed by
//! [`dl_ntk::predict::kernel_regression`] with a tiny relative ridge.

use dl_init::Activation;
use dl_ntk::predict::kernel_regression;
use dl_ntk::{Architecture, Parameterisation, Result};
use dl_tensor::Tensor;

/// What the example measured.
#[derive(Debug)]
pub struct Summary {
    /// Mean squared error of the NTK prediction on the test points.
    pub test_mse: f64,
    /// Mean squared error of predicting the training mean everywhere.
    pub mean_predictor_mse: f64,
    /// The largest deviation of the prediction from the targets on the training points.
    pub train_max_error: f64,
}

/// Points on the arc `(cos t, sin t)`, `t` in `[0, pi]`, and their targets.
fn data(n: usize, offset: f64) -> (Tensor<f64>, Tensor<f64>) {
    let mut x = Vec::with_capacity(2 * n);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let t = std::f64::consts::PI * (i as f64 + offset) / n as f64;
        let (x1, x2) = (t.cos(), t.sin());
        x.extend([x1, x2]);
        y.push((3.0 * x1).sin() + 0.5 * x2);
    }
    (Tensor::from_vec(x, &[n, 2]).expect("2n values"), Tensor::from_vec(y, &[n, 1]).expect("n values"))
}

fn mse(a: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
    let (a, b) = (a.to_vec(), b.to_vec());
    a.iter().zip(&b).map(|(p, q)| (p - q).powi(2)).sum::<f64>() / a.len() as f64
}

/// Fits the 40 training points and predicts the 200 test points.
pub fn run() -> Result<Summary> {
    let (x_train, y_train) = data(40, 0.5);
    let (x_test, y_test) = data(200, 0.25);
    // 3 hidden ReLU layers at the critical point (sigma_w2 = 2), small bias variance;
    // the width does not enter the infinite-width kernel
    let arch = Architecture::mlp(3, 512, Activation::Relu, 2.0, 0.05, 1, Parameterisation::Ntk)?;
    let train = arch.kernels(&x_train, None)?;
    let cross = arch.kernels(&x_test, Some(&x_train))?;
    let (prediction, _) = kernel_regression(&train.ntk, &cross.ntk, &y_train, 1e-10)?;
    let (fit, _) = kernel_regression(&train.ntk, &train.ntk, &y_train, 1e-10)?;
    let mean = y_train.to_vec().iter().sum::<f64>() / 40.0;
    let train_max_error = fit.to_vec().iter().zip(y_train.to_vec()).map(|(p, y)| (p - y).abs()).fold(0.0, f64::max);
    Ok(Summary {
        test_mse: mse(&prediction, &y_test),
        mean_predictor_mse: mse(&Tensor::full(&[200, 1], mean), &y_test),
        train_max_error,
    })
}

fn main() -> Result<()> {
    let s = run()?;
    println!("NTK kernel regression: test MSE {:.3e}", s.test_mse);
    println!("predicting the training mean: test MSE {:.3e}", s.mean_predictor_mse);
    println!("largest error on the training points (interpolation): {:.1e}", s.train_max_error);
    Ok(())
}
