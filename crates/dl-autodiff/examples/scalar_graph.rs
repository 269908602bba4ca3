//! The teaching view: a computational graph of scalars, differentiated by the same engine
//! that differentiates tensors (a scalar is a 0-d tensor).
//!
//! f(x, y) = x·y + sin(x)
//!
//! Forward, node by node:       v1 = x·y,  v2 = sin x,  f = v1 + v2
//! Reverse (adjoints, v̄ = ∂f/∂v), from the output back:
//!     f̄ = 1;  v̄1 = f̄ · 1;  v̄2 = f̄ · 1
//!     x̄ = v̄1 · y + v̄2 · cos x      (x fans out to two nodes: the adjoints add)
//!     ȳ = v̄1 · x
//! Forward mode (tangents ẋ, ẏ carried along): ḟ = (ẋ y + x ẏ) + cos(x) ẋ.
//!
//! Run with `cargo run -p dl-autodiff --example scalar_graph`.

use dl_autodiff::{Result, Var, forward::jvp};
use dl_tensor::Tensor;

fn f(x: &Var<f64>, y: &Var<f64>) -> Result<Var<f64>> {
    let v1 = x.mul(y)?;
    let v2 = x.sin()?;
    v1.add(&v2)
}

/// Prints the graph under `v`, one node per line, inputs indented.
fn print_graph(v: &Var<f64>, depth: usize) {
    let label = v.op_name().unwrap_or(if v.requires_grad() { "leaf" } else { "constant" });
    println!("{}{} = {:.6}", "  ".repeat(depth), label, v.value().item().unwrap());
    for input in v.recorded_inputs().unwrap_or_default() {
        print_graph(&input, depth + 1);
    }
}

fn main() -> Result<()> {
    let (x0, y0) = (0.5f64, 2.0f64);
    let x = Var::leaf(Tensor::scalar(x0), true);
    let y = Var::leaf(Tensor::scalar(y0), true);
    let out = f(&x, &y)?;
    println!("the recorded graph of f(x, y) = x*y + sin(x):");
    print_graph(&out, 1);

    let grads = out.backward()?;
    let (gx, gy) = (grads.get(&x).unwrap().item()?, grads.get(&y).unwrap().item()?);
    println!("reverse mode: df/dx = {gx:.12}  (by hand: y + cos x = {:.12})", y0 + x0.cos());
    println!("              df/dy = {gy:.12}  (by hand: x = {x0:.12})");
    assert!((gx - (y0 + x0.cos())).abs() < 1e-15 && gy == x0);

    // forward mode: the directional derivative along (1, 0) is df/dx again
    let (value, tangent) = jvp(
        |v: &[Var<f64>]| f(&v[0], &v[1]),
        &[Tensor::scalar(x0), Tensor::scalar(y0)],
        &[Tensor::scalar(1.0), Tensor::scalar(0.0)],
    )?;
    println!("forward mode: f = {:.12}, df/dx = {:.12}", value.item()?, tangent.item()?);
    assert!((tangent.item()? - gx).abs() < 1e-15);
    Ok(())
}
