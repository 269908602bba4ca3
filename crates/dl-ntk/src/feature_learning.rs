//! Lazy training against feature learning: how far the empirical NTK moves during
//! training, and whether it moves towards the task.
//!
//! - Kernel distance (Fort et al. 2020): `d(K0, K1) = 1 - <K0, K1>_F / (||K0||_F ||K1||_F)`,
//!   0 when the kernel only rescales.
//! - Kernel–target alignment (Cristianini et al. 2002):
//!   `A(K, Y) = <K, Y Y^T>_F / (||K||_F ||Y Y^T||_F)`.
//! - Relative kernel change `||K_t - K_0||_F / ||K_0||_F`, and relative weight change
//!   `||theta_t - theta_0|| / ||theta_0||`.
//!
//! In the NTK parameterisation these are `O(1/sqrt(width))` (the lazy regime); in the
//! mean-field parameterisation, or with a small output scale, they are `O(1)`.

use dl_tensor::Tensor;
use ndarray::ArrayView2;

use crate::empirical::{OutputKernel, empirical_ntk_structured};
use crate::error::{NtkError, Result};
use crate::finite::FiniteNetwork;
use crate::matrix::{a_bt, square, view2};
use crate::train::{parameter_vector, train_full_batch_gd};

fn frobenius_dot(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> f64 {
    a.iter().zip(b.iter()).map(|(x, y)| x * y).sum()
}

fn same_shape(op: &'static str, a: &Tensor<f64>, b: &Tensor<f64>) -> Result<()> {
    if a.shape() != b.shape() {
        return Err(NtkError::Shape {
            op,
            what: "the two kernels must have the same shape".into(),
            left: a.shape().to_vec(),
            right: b.shape().to_vec(),
        });
    }
    Ok(())
}

/// `1 - <K0, K1>_F / (||K0||_F ||K1||_F)`.
pub fn kernel_distance(k0: &Tensor<f64>, k1: &Tensor<f64>) -> Result<f64> {
    let op = "kernel_distance";
    same_shape(op, k0, k1)?;
    let (a, b) = (view2(op, "k0", k0)?, view2(op, "k1", k1)?);
    let denom = (frobenius_dot(a, a) * frobenius_dot(b, b)).sqrt();
    if denom <= 0.0 {
        return Err(NtkError::InvalidArgument {
            op,
            name: "||K0|| ||K1||",
            value: denom,
            requirement: "both kernels must be non-zero",
        });
    }
    Ok(1.0 - frobenius_dot(a, b) / denom)
}

/// `||K1 - K0||_F / ||K0||_F`.
pub fn relative_kernel_change(k0: &Tensor<f64>, k1: &Tensor<f64>) -> Result<f64> {
    let op = "relative_kernel_change";
    same_shape(op, k0, k1)?;
    let (a, b) = (view2(op, "k0", k0)?, view2(op, "k1", k1)?);
    let diff: f64 = a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum();
    Ok(diff.sqrt() / frobenius_dot(a, a).sqrt())
}

/// `<K, Y Y^T>_F / (||K||_F ||Y Y^T||_F)` for `K` `(n, n)` and targets `Y` `(n, c)`.
pub fn kernel_target_alignment(k: &Tensor<f64>, y: &Tensor<f64>) -> Result<f64> {
    let op = "kernel_target_alignment";
    let kv = square(op, "k", k)?;
    let yv = view2(op, "y", y)?;
    if yv.nrows() != kv.nrows() {
        return Err(NtkError::Shape {
            op,
            what: "y must have one row per kernel row".into(),
            left: k.shape().to_vec(),
            right: y.shape().to_vec(),
        });
    }
    let yy = a_bt(yv, yv);
    let denom = (frobenius_dot(kv, kv) * frobenius_dot(yy.view(), yy.view())).sqrt();
    if denom <= 0.0 {
        return Err(NtkError::InvalidArgument {
            op,
            name: "||K|| ||Y Y^T||",
            value: denom,
            requirement: "the kernel and the targets must be non-zero",
        });
    }
    Ok(frobenius_dot(kv, yy.view()) / denom)
}

/// One checkpoint of [`analyze_feature_learning`].
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureLearningPoint {
    /// Gradient steps taken.
    pub step: usize,
    /// The training loss `1/(2n) ||f - y||^2` at this step.
    pub loss: f64,
    /// `d(K_0, K_t)`.
    pub kernel_distance: f64,
    /// `A(K_t, Y)`.
    pub kernel_target_alignment: f64,
    /// `||K_t - K_0|| / ||K_0||`.
    pub relative_kernel_change: f64,
    /// `||theta_t - theta_0|| / ||theta_0||`.
    pub relative_weight_change: f64,
}

/// Trains `net` on `(x, y)` by full-batch gradient descent for `steps` steps and, at step 0
/// and every `every` steps (and the last), records the empirical NTK's (trace over
/// outputs) distance from its initial value, its alignment with `y y^T`, and the relative
/// weight change.
pub fn analyze_feature_learning(
    net: &FiniteNetwork,
    x: &Tensor<f64>,
    y: &Tensor<f64>,
    learning_rate: f64,
    steps: usize,
    every: usize,
) -> Result<Vec<FeatureLearningPoint>> {
    if every == 0 {
        return Err(NtkError::InvalidArgument {
            op: "analyze_feature_learning",
            name: "every",
            value: 0.0,
            requirement: "must be at least 1",
        });
    }
    let k0 = empirical_ntk_structured(net, x, None, OutputKernel::Trace)?.kernel;
    let theta0 = parameter_vector(net);
    let norm0 = theta0.iter().map(|v| v * v).sum::<f64>().sqrt();
    let record = |step: usize, loss: f64| -> Result<FeatureLearningPoint> {
        let k = empirical_ntk_structured(net, x, None, OutputKernel::Trace)?.kernel;
        let theta = parameter_vector(net);
        let dw = theta.iter().zip(&theta0).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt();
        Ok(FeatureLearningPoint {
            step,
            loss,
            kernel_distance: kernel_distance(&k0, &k)?,
            kernel_target_alignment: kernel_target_alignment(&k, y)?,
            relative_kernel_change: relative_kernel_change(&k0, &k)?,
            relative_weight_change: dw / norm0,
        })
    };
    let mut points = vec![record(0, crate::train::mse_loss(net, x, y)?)?];
    let losses = train_full_batch_gd(net, x, y, learning_rate, steps, |step, _| {
        let done = step + 1;
        if done % every == 0 && done != steps {
            let loss = crate::train::mse_loss(net, x, y)?;
            points.push(record(done, loss)?);
        }
        Ok(())
    })?;
    points.push(record(steps, *losses.last().expect("steps + 1 losses"))?);
    Ok(points)
}
