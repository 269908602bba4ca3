//! Cases for the generic gradient-check harness: every primitive, on shapes drawn by
//! proptest (including broadcast pairs), with inputs inside each op's smooth domain.

#![allow(dead_code, clippy::vec_init_then_push)]

use std::collections::BTreeSet;

use dl_autodiff::ops::unary::{StepScale, Unary};
use dl_autodiff::{Result, Var, checkpoint};
use dl_tensor::{IndexArray, Tensor, TensorRng, seeded_rng};
use ndarray::IxDyn;
use proptest::prelude::*;
use rand::RngExt;

pub type F = Box<dyn Fn(&[Var<f64>]) -> Result<Var<f64>>>;

/// One primitive applied to inputs: `f` must end with that primitive.
pub struct Case {
    pub name: &'static str,
    pub inputs: Vec<Tensor<f64>>,
    pub f: F,
}

/// Random parameters of a round of cases.
#[derive(Clone, Debug)]
pub struct Draw {
    pub shape: Vec<usize>,
    /// Which axes of the broadcast partner are 1, and how many leading axes it drops.
    pub ones: Vec<bool>,
    pub drop: usize,
    pub seed: u64,
}

pub fn draws(max_rank: usize, max_dim: usize) -> impl Strategy<Value = Draw> {
    (1..=max_rank)
        .prop_flat_map(move |rank| {
            (
                proptest::collection::vec(1..=max_dim, rank),
                proptest::collection::vec(any::<bool>(), rank),
                0..=rank,
                any::<u64>(),
            )
        })
        .prop_map(|(shape, ones, drop, seed)| Draw { shape, ones, drop, seed })
}

impl Draw {
    /// A shape that broadcasts against `self.shape`.
    pub fn partner(&self) -> Vec<usize> {
        let s: Vec<usize> = self.shape.iter().zip(&self.ones).map(|(&d, &one)| if one { 1 } else { d }).collect();
        s[self.drop.min(s.len())..].to_vec()
    }
}

fn randn(shape: &[usize], rng: &mut TensorRng) -> Tensor<f64> {
    Tensor::randn(shape, rng)
}

/// Values bounded away from zero: sign(z) (|z| + 0.5).
fn away_from_zero(shape: &[usize], rng: &mut TensorRng) -> Tensor<f64> {
    randn(shape, rng).map(|v| if v >= 0.0 { v + 0.5 } else { v - 0.5 })
}

fn positive(shape: &[usize], rng: &mut TensorRng) -> Tensor<f64> {
    randn(shape, rng).map(|v| v.abs() + 0.5)
}

fn case(name: &'static str, inputs: Vec<Tensor<f64>>, f: impl Fn(&[Var<f64>]) -> Result<Var<f64>> + 'static) -> Case {
    Case { name, inputs, f: Box::new(f) }
}

/// Every primitive, once, on shapes from `d`.
pub fn all_cases(d: &Draw) -> Vec<Case> {
    let mut rng = seeded_rng(d.seed);
    let s = d.shape.clone();
    let p = d.partner();
    let rank = s.len();
    let mut cases = Vec::new();

    // arithmetic, both broadcast directions
    cases.push(case("add", vec![randn(&s, &mut rng), randn(&p, &mut rng)], |x| x[0].add(&x[1])));
    cases.push(case("sub", vec![randn(&p, &mut rng), randn(&s, &mut rng)], |x| x[0].sub(&x[1])));
    cases.push(case("mul", vec![randn(&s, &mut rng), randn(&p, &mut rng)], |x| x[0].mul(&x[1])));
    cases.push(case("div", vec![randn(&p, &mut rng), away_from_zero(&s, &mut rng)], |x| x[0].div(&x[1])));
    cases.push(case("div", vec![randn(&s, &mut rng), away_from_zero(&p, &mut rng)], |x| x[0].div(&x[1])));
    cases.push(case("neg", vec![randn(&s, &mut rng)], |x| x[0].neg()));
    cases.push(case("add_scalar", vec![randn(&s, &mut rng)], |x| x[0].add_scalar(1.5)));
    cases.push(case("mul_scalar", vec![randn(&s, &mut rng)], |x| x[0].mul_scalar(-2.5)));

    // elementwise functions
    let smooth: [(Unary, bool); 15] = [
        (Unary::Exp, false),
        (Unary::Log, true),
        (Unary::Sqrt, true),
        (Unary::PowF(2.5), true),
        (Unary::Sin, false),
        (Unary::Cos, false),
        (Unary::Tanh, false),
        (Unary::Sigmoid, false),
        (Unary::Erf, false),
        (Unary::Softplus, false),
        (Unary::Relu, false),
        (Unary::LeakyRelu(0.1), false),
        (Unary::Elu(1.3), false),
        (Unary::Gelu, false),
        (Unary::Abs, false),
    ];
    for (f, needs_positive) in smooth {
        let x = if needs_positive { positive(&s, &mut rng) } else { randn(&s, &mut rng) };
        cases.push(case(f.name(), vec![x], move |x| x[0].unary(f)));
    }
    let fixed = randn(&s, &mut rng);
    cases.push(case("step_scale", vec![randn(&s, &mut rng)], move |x| {
        Var::apply(StepScale { x: fixed.clone(), slope: 0.2 }, &[&x[0]])
    }));

    // broadcasting and its adjoint
    let target = s.clone();
    cases.push(case("broadcast_to", vec![randn(&p, &mut rng)], move |x| {
        Var::apply(dl_autodiff::ops::broadcast::BroadcastTo { shape: target.clone() }, &[&x[0]])
    }));
    let to = p.clone();
    cases.push(case("sum_to", vec![randn(&s, &mut rng)], move |x| {
        Var::apply(dl_autodiff::ops::broadcast::SumTo { shape: to.clone() }, &[&x[0]])
    }));

    // reductions over a random axis subset
    let axes: Vec<isize> = (0..rank).filter(|&a| d.ones[a] || a == 0).map(|a| a as isize).collect();
    let keep = d.drop.is_multiple_of(2);
    for name in ["sum", "mean", "max", "logsumexp"] {
        let axes = axes.clone();
        cases.push(case(name, vec![randn(&s, &mut rng)], move |x| match name {
            "sum" => x[0].sum_axes(&axes, keep),
            "mean" => x[0].mean_axes(&axes, keep),
            "max" => x[0].max_axes(&axes, keep),
            _ => x[0].logsumexp(&axes, keep),
        }));
    }

    // softmax family along a random axis
    let axis = (d.seed % rank as u64) as isize - rank as isize;
    cases.push(case("softmax", vec![randn(&s, &mut rng)], move |x| x[0].softmax(axis)));
    cases.push(case("log_softmax", vec![randn(&s, &mut rng)], move |x| x[0].log_softmax(axis)));
    let (n, c) = (s[0], *s.last().unwrap() + 1);
    let labels: Vec<usize> = (0..n).map(|_| rng.random_range(0..c)).collect();
    cases.push(case("softmax_cross_entropy", vec![randn(&[n, c], &mut rng)], move |x| {
        x[0].softmax_cross_entropy(&labels)
    }));

    // views and moves
    let total: usize = s.iter().product();
    cases.push(case("reshape", vec![randn(&s, &mut rng)], move |x| x[0].reshape(&[total])));
    let mut perm: Vec<usize> = (0..rank).collect();
    perm.rotate_left(d.drop % rank);
    cases.push(case("permute", vec![randn(&s, &mut rng)], move |x| x[0].permute(&perm)));
    cases.push(case("transpose", vec![randn(&s, &mut rng)], move |x| x[0].transpose(0, -1)));
    let ax = (d.seed / 7 % rank as u64) as usize;
    let len = s[ax];
    let start = if len > 1 { 1 } else { 0 };
    cases.push(case("narrow", vec![randn(&s, &mut rng)], move |x| x[0].narrow(ax as isize, start, len - start)));
    cases.push(case("pad_narrow", vec![randn(&s, &mut rng)], move |x| x[0].pad_narrow(ax as isize, 1, len + 2)));
    let mut s2 = s.clone();
    s2[ax] += 1;
    cases.push(case("concat", vec![randn(&s, &mut rng), randn(&s2, &mut rng)], move |x| {
        Var::concat(&[&x[0], &x[1]], ax as isize)
    }));

    // matmul: (p_batch.., m, k) @ (s_batch.., k, n), batch axes broadcasting
    let (m, k, nn) = (1 + d.seed as usize % 3, 1 + (d.seed / 3) as usize % 3, 1 + (d.seed / 9) as usize % 3);
    let mut sa = p.clone();
    sa.extend([m, k]);
    let mut sb = s.clone();
    sb.extend([k, nn]);
    cases.push(case("matmul", vec![randn(&sa, &mut rng), randn(&sb, &mut rng)], |x| x[0].matmul(&x[1])));
    cases.push(case("matmul", vec![randn(&[m, k], &mut rng), randn(&[k, nn], &mut rng)], |x| x[0].matmul(&x[1])));
    let mut sx = s.clone();
    sx.push(k);
    cases.push(case("linear", vec![randn(&sx, &mut rng), randn(&[k, nn], &mut rng), randn(&[nn], &mut rng)], |x| {
        x[0].linear(&x[1], &x[2])
    }));
    cases.push(case("linear", vec![randn(&sx, &mut rng), randn(&[nn, k], &mut rng), randn(&[nn], &mut rng)], |x| {
        x[0].linear_wt(&x[1], &x[2])
    }));

    // index ops, with repeated indices
    let size = s[ax];
    let idx: Vec<usize> = (0..size + 1).map(|_| rng.random_range(0..size)).collect();
    let idx2 = idx.clone();
    cases.push(case("index_select", vec![randn(&s, &mut rng)], move |x| x[0].index_select(ax as isize, &idx)));
    let mut sel = s.clone();
    sel[ax] = idx2.len();
    cases.push(case("index_add", vec![randn(&sel, &mut rng)], move |x| x[0].index_add(ax as isize, &idx2, size)));
    let gshape: Vec<usize> = s.iter().enumerate().map(|(a, &dd)| if a == ax { dd + 1 } else { dd }).collect();
    let gidx = IndexArray::from_shape_fn(IxDyn(&gshape), |_| rng.random_range(0..size));
    let gidx2 = gidx.clone();
    cases.push(case("gather", vec![randn(&s, &mut rng)], move |x| x[0].gather(ax as isize, &gidx)));
    let out_shape = s.clone();
    cases.push(case("scatter_add", vec![randn(&gshape, &mut rng)], move |x| {
        x[0].scatter_add(ax as isize, &gidx2, &out_shape)
    }));

    // checkpoint: a segment reading an outside variable (its "parameter")
    cases.push(case("checkpoint", vec![randn(&s, &mut rng), randn(&p, &mut rng)], |x| {
        let w = x[1].clone();
        checkpoint(move |h: &Var<f64>| h.mul(&w)?.tanh()?.mul(h), &x[0])
    }));
    cases
}

/// The primitive names that `all_cases` covers.
pub fn covered_names() -> BTreeSet<&'static str> {
    let d = Draw { shape: vec![2, 3], ones: vec![true, false], drop: 0, seed: 1 };
    all_cases(&d).iter().map(|c| c.name).collect()
}
