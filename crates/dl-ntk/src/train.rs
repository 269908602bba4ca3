//! Full-batch gradient descent on the mean squared error, the training whose
//! infinite-width limit [`crate::predict::GradientFlow`] describes:
//! `theta <- theta - eta grad L`, `L = 1/(2n) sum_i ||f(x_i) - y_i||^2`.
//!
//! (dl-framework has the general training loop; this small one keeps dl-ntk below it in
//! the layering and matches the NTK convention exactly.)

use dl_autodiff::{Var, no_grad};
use dl_layers::Module;
use dl_tensor::Tensor;

use crate::error::{NtkError, Result, positive};

/// `L = 1/(2n) ||f(X) - Y||^2` as a differentiable scalar.
fn half_mse(net: &dyn Module<f64>, x: &Tensor<f64>, y: &Tensor<f64>) -> Result<Var<f64>> {
    let f = net.forward(&Var::constant(x.clone()))?;
    if f.shape() != y.shape() {
        return Err(NtkError::Shape {
            op: "train_full_batch_gd",
            what: "the network output and the targets must have the same shape".into(),
            left: f.shape().to_vec(),
            right: y.shape().to_vec(),
        });
    }
    let n = y.shape().first().copied().unwrap_or(1).max(1) as f64;
    Ok(f.sub(&Var::constant(y.clone()))?.square()?.sum_all()?.mul_scalar(1.0 / (2.0 * n))?)
}

/// The loss `1/(2n) ||f(X) - Y||^2` without recording a graph.
pub fn mse_loss(net: &dyn Module<f64>, x: &Tensor<f64>, y: &Tensor<f64>) -> Result<f64> {
    Ok(no_grad(|| half_mse(net, x, y))?.value().item()?)
}

/// Runs `steps` steps of full-batch gradient descent with learning rate `eta`, calling
/// `after_step(step, loss_before_the_step)` after each. Returns the loss before every step
/// and, last, the final loss (`steps + 1` values). A non-finite loss stops with an error
/// naming the step.
pub fn train_full_batch_gd(
    net: &dyn Module<f64>,
    x: &Tensor<f64>,
    y: &Tensor<f64>,
    learning_rate: f64,
    steps: usize,
    mut after_step: impl FnMut(usize, f64) -> Result<()>,
) -> Result<Vec<f64>> {
    let op = "train_full_batch_gd";
    positive(op, "learning_rate", learning_rate)?;
    let params: Vec<_> = net.parameters().into_iter().map(|p| p.param).filter(|p| p.requires_grad()).collect();
    let mut losses = Vec::with_capacity(steps + 1);
    for step in 0..steps {
        let loss = half_mse(net, x, y)?;
        let value = loss.value().item()?;
        if !value.is_finite() {
            return Err(NtkError::NonFinite {
                op,
                detail: format!("the loss is {value} at step {step} (learning rate {learning_rate} too large?)"),
            });
        }
        losses.push(value);
        let grads = loss.backward()?;
        let updates: Vec<Option<Tensor<f64>>> = params.iter().map(|p| p.grad(&grads).cloned()).collect();
        drop(grads);
        drop(loss);
        for (p, g) in params.iter().zip(updates) {
            if let Some(g) = g {
                p.update(|v| v.array_mut().zip_mut_with(g.array(), |w, d| *w -= learning_rate * d));
            }
        }
        after_step(step, value)?;
    }
    losses.push(mse_loss(net, x, y)?);
    Ok(losses)
}

/// All trainable parameters, flattened in visiting order.
pub fn parameter_vector(net: &dyn Module<f64>) -> Vec<f64> {
    net.parameters().into_iter().flat_map(|p| p.param.value().to_vec()).collect()
}
