//! Layers, losses, modules and parameter files, each against an independent computation.

use std::collections::BTreeMap;

use dl_autodiff::gradcheck::{GradcheckOptions, check_primitive};
use dl_autodiff::{Var, vjp};
use dl_layers::serialize::{from_safetensors_bytes, to_safetensors_bytes};
use dl_layers::*;
use dl_tensor::{Tensor, Tolerance, assert_close, seeded_rng};

fn t64(v: Vec<f64>, s: &[usize]) -> Tensor<f64> {
    Tensor::from_vec(v, s).unwrap()
}

// ---- Linear -----------------------------------------------------------------------------

#[test]
fn linear_matches_loops_and_its_gradients_match_the_formulas() {
    let mut rng = seeded_rng(1);
    let layer = Linear::<f64>::new(3, 2, true, &mut rng);
    let (w, b) = (layer.weight.value().to_vec(), layer.bias.as_ref().unwrap().value().to_vec());
    let xt = Tensor::<f64>::randn(&[4, 3], &mut rng);
    let x = Var::leaf(xt.clone(), true);
    let y = layer.forward(&x).unwrap();
    let xv = xt.to_vec();
    let mut want = vec![0.0; 8];
    for n in 0..4 {
        for o in 0..2 {
            want[n * 2 + o] = b[o] + (0..3).map(|i| xv[n * 3 + i] * w[o * 3 + i]).sum::<f64>();
        }
    }
    assert_close(y.value(), &t64(want, &[4, 2]), Tolerance::new(1e-14, 1e-14));
    let u = Tensor::<f64>::randn(&[4, 2], &mut rng);
    let g = vjp(&y, &u).unwrap();
    let uv = u.to_vec();
    // dW[o, i] = sum_n u[n, o] x[n, i]; db[o] = sum_n u[n, o]; dx[n, i] = sum_o u[n, o] W[o, i]
    let dw: Vec<f64> = (0..6).map(|k| (0..4).map(|n| uv[n * 2 + k / 3] * xv[n * 3 + k % 3]).sum()).collect();
    let db: Vec<f64> = (0..2).map(|o| (0..4).map(|n| uv[n * 2 + o]).sum()).collect();
    let dx: Vec<f64> = (0..12).map(|k| (0..2).map(|o| uv[(k / 3) * 2 + o] * w[o * 3 + k % 3]).sum()).collect();
    let tol = Tolerance::new(1e-13, 1e-14);
    dl_tensor::compare::assert_close_slices(&layer.weight.grad(&g).unwrap().to_vec(), &dw, tol);
    dl_tensor::compare::assert_close_slices(&layer.bias.as_ref().unwrap().grad(&g).unwrap().to_vec(), &db, tol);
    dl_tensor::compare::assert_close_slices(&g.get(&x).unwrap().to_vec(), &dx, tol);
    // bad input names the layer, the expectation and the shape
    let msg = layer.forward(&Var::constant(Tensor::zeros(&[4, 5]))).unwrap_err().to_string();
    assert!(msg.contains("Linear(3 -> 2)") && msg.contains("(..., 3)") && msg.contains("[4, 5]"), "{msg}");
}

#[test]
fn default_init_has_variance_one_over_three_fan_in() {
    // U(-b, b), b = 1/sqrt(fan_in): variance b^2/3 = 1/(3 fan_in). The sample mean of w^2
    // has relative standard error sqrt(Var(w^2))/(E w^2 sqrt(n)) = sqrt(4/5 - 4/9... ) =
    // sqrt(4/45) * 3 / sqrt(n) ~ 0.894 / sqrt(n); the bound is 5 standard errors.
    let mut rng = seeded_rng(2);
    let lin = Linear::<f64>::new(1000, 400, true, &mut rng);
    let w = lin.weight.value().to_vec();
    let n = w.len() as f64;
    let var = w.iter().map(|v| v * v).sum::<f64>() / n;
    let want = 1.0 / 3000.0;
    assert!(((var - want) / want).abs() < 5.0 * 0.894 / n.sqrt(), "linear weight variance {var} vs {want}");
    let bound = 1.0 / 1000f64.sqrt();
    assert!(w.iter().chain(lin.bias.as_ref().unwrap().value().to_vec().iter()).all(|v| v.abs() <= bound));
    let conv = Conv2d::<f64>::new(64, 32, (3, 3), ConvOptions::default(), &mut rng).unwrap();
    let w = conv.weight.value().to_vec();
    let n = w.len() as f64;
    let var = w.iter().map(|v| v * v).sum::<f64>() / n;
    let want = 1.0 / (3.0 * 576.0);
    assert!(((var - want) / want).abs() < 5.0 * 0.894 / n.sqrt(), "conv weight variance {var} vs {want}");
}

// ---- pooling ----------------------------------------------------------------------------

fn pool_loop(x: &Tensor<f64>, k: usize, s: usize, p: usize, max: bool) -> Tensor<f64> {
    let sh = x.shape().to_vec();
    let (nc, h, w) = (sh[0] * sh[1], sh[2], sh[3]);
    let oh = (h + 2 * p - k) / s + 1;
    let ow = (w + 2 * p - k) / s + 1;
    let xv = x.to_vec();
    let mut out = Vec::new();
    for plane in 0..nc {
        for y in 0..oh {
            for z in 0..ow {
                let mut vals = Vec::new();
                for i in 0..k {
                    for j in 0..k {
                        let (iy, ix) = ((y * s + i) as isize - p as isize, (z * s + j) as isize - p as isize);
                        let inside = iy >= 0 && iy < h as isize && ix >= 0 && ix < w as isize;
                        if inside {
                            vals.push(xv[plane * h * w + iy as usize * w + ix as usize]);
                        } else if !max {
                            vals.push(0.0);
                        }
                    }
                }
                out.push(if max {
                    vals.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
                } else {
                    vals.iter().sum::<f64>() / (k * k) as f64
                });
            }
        }
    }
    t64(out, &[sh[0], sh[1], oh, ow])
}

#[test]
fn pooling_matches_direct_loops_and_passes_gradcheck() {
    let mut rng = seeded_rng(3);
    for &(k, s, p) in &[(2, 2, 0), (3, 2, 1), (3, 1, 1), (2, 1, 1)] {
        for &hw in &[(5, 6), (6, 7)] {
            let xt = Tensor::<f64>::randn(&[2, 3, hw.0, hw.1], &mut rng);
            let opts = PoolOptions::new(k).stride(s).padding(p);
            let x = Var::constant(xt.clone());
            let mp = Module::<f64>::forward(&MaxPool2d::new(opts), &x).unwrap();
            assert_close(mp.value(), &pool_loop(&xt, k, s, p, true), Tolerance::new(0.0, 0.0));
            let ap = Module::<f64>::forward(&AvgPool2d::new(opts), &x).unwrap();
            assert_close(ap.value(), &pool_loop(&xt, k, s, p, false), Tolerance::new(1e-14, 1e-14));
            // random normal inputs have no ties, so max pooling is differentiable there
            let r =
                check_primitive(MaxPool2dPrimitive::new(opts), std::slice::from_ref(&xt), &GradcheckOptions::default())
                    .unwrap();
            assert!(r.passed(), "max pool {k} {s} {p}: {r}");
            let r = dl_autodiff::gradcheck::gradcheck(
                |v: &[Var<f64>]| {
                    Module::<f64>::forward(&AvgPool2d::new(opts), &v[0]).map_err(|e| match e {
                        LayerError::Autodiff(a) => a,
                        other => panic!("{other}"),
                    })
                },
                &[xt],
                &GradcheckOptions::default(),
            )
            .unwrap();
            assert!(r.passed(), "avg pool {k} {s} {p}: {r}");
        }
    }
}

#[test]
fn max_pool_plain_and_recorded_backward_passes_route_the_same_gradient() {
    // The plain pass routes by a direct loop, the recorded one (create_graph) by the
    // differentiable scatter_add: the two must agree exactly, padding and overlaps included.
    let mut rng = seeded_rng(11);
    for &(k, s, p) in &[(2, 2, 0), (3, 2, 1), (3, 1, 1)] {
        let x = Var::leaf(Tensor::<f64>::randn(&[2, 3, 7, 6], &mut rng), true);
        let c = Var::constant(Tensor::<f64>::randn(
            Module::<f64>::forward(&MaxPool2d::new(PoolOptions::new(k).stride(s).padding(p)), &x)
                .unwrap()
                .value()
                .shape(),
            &mut rng,
        ));
        let loss = Module::<f64>::forward(&MaxPool2d::new(PoolOptions::new(k).stride(s).padding(p)), &x)
            .unwrap()
            .mul(&c)
            .unwrap()
            .sum_all()
            .unwrap();
        let recorded = dl_autodiff::backward_with(&loss, None, dl_autodiff::BackwardOptions::create_graph()).unwrap();
        let plain = loss.backward().unwrap();
        assert_close(plain.get(&x).unwrap(), recorded.get(&x).unwrap(), Tolerance::new(0.0, 0.0));
        // the 1-D pooling shares the routing
        let x = Var::leaf(Tensor::<f64>::randn(&[2, 3, 9], &mut rng), true);
        let pool = MaxPool1d::new(PoolOptions::new(k).stride(s).padding(p));
        let y = Module::<f64>::forward(&pool, &x).unwrap();
        let c = Var::constant(Tensor::<f64>::randn(y.value().shape(), &mut rng));
        let loss = y.mul(&c).unwrap().sum_all().unwrap();
        let recorded = dl_autodiff::backward_with(&loss, None, dl_autodiff::BackwardOptions::create_graph()).unwrap();
        let plain = loss.backward().unwrap();
        assert_close(plain.get(&x).unwrap(), recorded.get(&x).unwrap(), Tolerance::new(0.0, 0.0));
    }
}

#[test]
fn max_pool_propagates_the_first_nan_in_both_window_loops() {
    // One 2x2 window [1, NaN; 3, NaN]: the 2x2/stride-2 loop and the general loop (stride 1)
    // both return NaN and route the gradient to the first NaN; so does the 1-D pooling.
    for opts in [PoolOptions::new(2), PoolOptions::new(2).stride(1)] {
        let x = Var::leaf(t64(vec![1.0, f64::NAN, 3.0, f64::NAN], &[1, 1, 2, 2]), true);
        let y = Module::<f64>::forward(&MaxPool2d::new(opts), &x).unwrap();
        assert!(y.value().to_vec()[0].is_nan(), "{opts:?}");
        let g = y.sum_all().unwrap().backward().unwrap();
        assert_eq!(g.get(&x).unwrap().to_vec(), vec![0.0, 1.0, 0.0, 0.0], "{opts:?}");
    }
    let x = Var::leaf(t64(vec![1.0, f64::NAN, 3.0, f64::NAN], &[1, 1, 4]), true);
    let y = Module::<f64>::forward(&MaxPool1d::new(PoolOptions::new(4)), &x).unwrap();
    assert!(y.value().to_vec()[0].is_nan());
    assert_eq!(y.sum_all().unwrap().backward().unwrap().get(&x).unwrap().to_vec(), vec![0.0, 1.0, 0.0, 0.0]);
}

#[test]
fn max_pool_backward_routes_to_the_first_maximum_on_ties() {
    // one 2x2 window of equal values: the whole gradient goes to the first (top-left)
    let x = Var::leaf(t64(vec![1.0, 1.0, 1.0, 1.0], &[1, 1, 2, 2]), true);
    let y = Module::<f64>::forward(&MaxPool2d::new(PoolOptions::new(2)), &x).unwrap();
    let g = y.sum_all().unwrap().backward().unwrap();
    assert_eq!(g.get(&x).unwrap().to_vec(), vec![1.0, 0.0, 0.0, 0.0]);
    // overlapping windows accumulate at a shared argmax
    let x = Var::leaf(t64(vec![0.0, 5.0, 0.0, 0.0, 0.0, 0.0], &[1, 1, 2, 3]), true);
    let y = Module::<f64>::forward(&MaxPool2d::new(PoolOptions::new(2).stride(1)), &x).unwrap();
    assert_eq!(y.value().to_vec(), vec![5.0, 5.0]);
    let g = y.sum_all().unwrap().backward().unwrap();
    assert_eq!(g.get(&x).unwrap().to_vec(), vec![0.0, 2.0, 0.0, 0.0, 0.0, 0.0]);
    let gap = Module::<f64>::forward(
        &GlobalAvgPool::new(),
        &Var::constant(t64((0..8).map(f64::from).collect(), &[1, 2, 2, 2])),
    )
    .unwrap();
    assert_eq!(gap.value().to_vec(), vec![1.5, 5.5]);
    let msg = Module::<f64>::forward(&MaxPool2d::new(PoolOptions::new(2)), &Var::constant(Tensor::zeros(&[3, 4])))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("MaxPool2d") && msg.contains("[3, 4]"), "{msg}");
}

// ---- losses -----------------------------------------------------------------------------

/// -log softmax(row)[label] by loops in f64, shifted by the row max.
fn nll_rows(logits: &[f64], c: usize) -> Vec<Vec<f64>> {
    logits
        .chunks(c)
        .map(|row| {
            let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let lse = m + row.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
            row.iter().map(|v| lse - v).collect()
        })
        .collect()
}

#[test]
fn cross_entropy_is_finite_and_exact_at_extreme_logits_with_and_without_smoothing() {
    let logits = vec![1e4, -1e4, 0.0, -1e4, 1e4, 5.0, 3.0, -2.0, 0.5];
    let labels = [0usize, 2, 1];
    let rows = nll_rows(&logits, 3);
    for &eps in &[0.0, 0.1] {
        // (1 - eps) CE + eps mean_c(-log p_c), averaged over rows
        let want: f64 =
            rows.iter().zip(labels).map(|(r, l)| (1.0 - eps) * r[l] + eps * r.iter().sum::<f64>() / 3.0).sum::<f64>()
                / 3.0;
        let x = Var::leaf(t64(logits.clone(), &[3, 3]), true);
        let loss = cross_entropy(&x, &labels, eps).unwrap();
        let got = loss.value().item().unwrap();
        assert!(got.is_finite() && ((got - want) / want).abs() < 1e-12, "eps {eps}: {got} vs {want}");
        // gradient: (softmax - q) / N with q = (1 - eps) onehot + eps / C
        let g = loss.backward().unwrap().get(&x).unwrap().to_vec();
        for (n, r) in rows.iter().enumerate() {
            for c in 0..3 {
                let p = (-r[c]).exp();
                let q = (1.0 - eps) * f64::from(u8::from(c == labels[n])) + eps / 3.0;
                assert!((g[n * 3 + c] - (p - q) / 3.0).abs() < 1e-12, "eps {eps} grad [{n}, {c}]");
            }
        }
        // f32 is finite too and agrees to f32 precision
        let x32 = Var::constant(t64(logits.clone(), &[3, 3]).cast::<f32>());
        let l32 = cross_entropy(&x32, &labels, eps).unwrap().value().item().unwrap() as f64;
        assert!(l32.is_finite() && ((l32 - want) / want).abs() < 1e-5, "f32 {l32} vs {want}");
    }
    let x = Var::constant(Tensor::<f64>::zeros(&[2, 3]));
    let msg = cross_entropy(&x, &[0, 3], 0.0).unwrap_err().to_string();
    assert!(msg.contains("label 3 at row 1") && msg.contains("3 classes"), "{msg}");
    assert!(cross_entropy(&x, &[0], 0.0).is_err());
    assert!(cross_entropy(&x, &[0, 1], 1.5).is_err());
}

#[test]
fn bce_with_logits_and_mse_match_their_formulas() {
    let xs = vec![-3.0, -0.5, 0.0, 0.7, 2.5, 40.0];
    let ys = vec![0.0, 1.0, 0.3, 1.0, 0.0, 1.0];
    let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
    let want: f64 = xs.iter().zip(&ys).map(|(&x, &y)| -(y * sig(x).ln() + (1.0 - y) * sig(-x).ln())).sum::<f64>() / 6.0;
    let x = Var::leaf(t64(xs.clone(), &[2, 3]), true);
    let y = Var::constant(t64(ys.clone(), &[2, 3]));
    let loss = bce_with_logits(&x, &y).unwrap();
    // direct formula with 1 - sigma(x) written sigma(-x) (else 1 - sigma(40) rounds to 0)
    assert!((loss.value().item().unwrap() - want).abs() < 1e-12);
    let g = loss.backward().unwrap().get(&x).unwrap().to_vec();
    for k in 0..6 {
        assert!((g[k] - (sig(xs[k]) - ys[k]) / 6.0).abs() < 1e-15, "bce grad {k}");
    }
    // stable at +-1e4 where the direct formula overflows
    let big = Var::constant(t64(vec![1e4, -1e4], &[2]));
    let l = bce_with_logits(&big, &Var::constant(t64(vec![0.0, 1.0], &[2]))).unwrap().value().item().unwrap();
    assert_eq!(l, 1e4);
    let p = Var::leaf(t64(vec![1.0, 2.0, 4.0], &[3]), true);
    let m = mse(&p, &Var::constant(t64(vec![0.0, 2.0, 1.0], &[3]))).unwrap();
    assert_eq!(m.value().item().unwrap(), 10.0 / 3.0);
    assert_eq!(m.backward().unwrap().get(&p).unwrap().to_vec(), vec![2.0 / 3.0, 0.0, 2.0]);
    assert!(mse(&p, &Var::constant(Tensor::zeros(&[2]))).is_err());
}

// ---- dropout, embedding -----------------------------------------------------------------

#[test]
fn dropout_preserves_the_mean_is_seeded_and_is_the_identity_in_eval() {
    let n = 200_000;
    let x = Var::leaf(Tensor::<f64>::ones(&[n]), true);
    let mut d = Dropout::new(0.3, 5).unwrap();
    let y = Module::<f64>::forward(&d, &x).unwrap();
    let v = y.value().to_vec();
    // each output is Bernoulli(0.7) / 0.7: mean 1, variance p/(1-p) = 0.4286, so the
    // standard error of the mean is sqrt(0.4286 / n) = 1.46e-3; bound 5 standard errors
    let mean = v.iter().sum::<f64>() / n as f64;
    assert!((mean - 1.0).abs() < 5.0 * 1.46e-3, "mean {mean}");
    assert!(v.iter().all(|&e| e == 0.0 || (e - 1.0 / 0.7).abs() < 1e-15));
    // the gradient is the mask
    let g = y.sum_all().unwrap().backward().unwrap();
    assert_eq!(g.get(&x).unwrap().to_vec(), v);
    // same seed, same masks; the next call draws a new mask
    let d2 = Dropout::new(0.3, 5).unwrap();
    let small = Var::constant(Tensor::<f64>::ones(&[64]));
    let a1 = Module::<f64>::forward(&d2, &small).unwrap().value().to_vec();
    let a2 = Module::<f64>::forward(&d2, &small).unwrap().value().to_vec();
    let d3 = Dropout::new(0.3, 5).unwrap();
    assert_eq!(Module::<f64>::forward(&d3, &small).unwrap().value().to_vec(), a1);
    assert_ne!(a1, a2);
    Module::<f64>::eval(&mut d);
    let e = Module::<f64>::forward(&d, &x).unwrap();
    assert_eq!(e.value().to_vec(), vec![1.0; n]);
    assert!(Dropout::new(1.5, 0).is_err());
}

#[test]
fn embedding_selects_rows_and_scatters_gradients() {
    let mut rng = seeded_rng(6);
    let emb = Embedding::<f64>::new(5, 3, &mut rng);
    let table = emb.weight.value().to_vec();
    let y = emb.lookup(&[4, 1, 4], &[3]).unwrap();
    assert_eq!(y.shape(), &[3, 3]);
    assert_eq!(y.value().to_vec(), [&table[12..15], &table[3..6], &table[12..15]].concat());
    let g = y.sum_all().unwrap().backward().unwrap();
    let gw = emb.weight.grad(&g).unwrap().to_vec();
    assert_eq!(gw, [vec![0.0; 3], vec![1.0; 3], vec![0.0; 6], vec![2.0; 3]].concat());
    let ids = Var::constant(t64(vec![0.0, 2.0, 3.0, 1.0], &[2, 2]));
    assert_eq!(emb.forward(&ids).unwrap().shape(), &[2, 2, 3]);
    let msg = emb.forward(&Var::constant(t64(vec![5.0], &[1]))).unwrap_err().to_string();
    assert!(msg.contains("Embedding(5 x 3)") && msg.contains("0..5"), "{msg}");
    assert!(emb.lookup(&[9], &[1]).is_err());
}

// ---- modules, state dicts, files --------------------------------------------------------

fn mlp(seed: u64) -> Sequential<f64> {
    let mut rng = seeded_rng(seed);
    Sequential::new()
        .with(Linear::new(4, 8, true, &mut rng))
        .with(Act::relu())
        .with(Dropout::new(0.5, seed).unwrap())
        .with(Residual::new(Sequential::new().with(Linear::new(8, 8, true, &mut rng)).with(Act::tanh())))
        .with(Linear::new(8, 3, false, &mut rng))
}

#[test]
fn sequential_names_parameters_propagates_modes_and_steps() {
    let mut net = mlp(1);
    let names: Vec<String> = net.parameters().into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["0.weight", "0.bias", "3.body.0.weight", "3.body.0.bias", "4.weight"]);
    assert_eq!(net.num_parameters(), 4 * 8 + 8 + 64 + 8 + 24);
    net.eval();
    assert!(!net.is_training());
    let x = Var::constant(Tensor::<f64>::randn(&[5, 4], &mut seeded_rng(2)));
    // eval: dropout is off, so two passes agree
    let a = net.forward(&x).unwrap().value().to_vec();
    assert_eq!(net.forward(&x).unwrap().value().to_vec(), a);
    net.train();
    assert_ne!(net.forward(&x).unwrap().value().to_vec(), a);
    net.eval();
    // a plain SGD step through parameters_for_step / commit_step; the next forward uses it
    let loss = cross_entropy(&net.forward(&x).unwrap(), &[0, 1, 2, 0, 1], 0.0).unwrap();
    let l0 = loss.value().item().unwrap();
    let grads = loss.backward().unwrap();
    drop(loss);
    let mut step = parameters_for_step(&net, &grads);
    assert_eq!(step.len(), 5);
    for p in &mut step {
        assert_eq!(p.value.shape(), p.grad.shape(), "{}", p.name);
        let new = p.value.sub(&p.grad.mul_scalar(0.1)).unwrap();
        p.value = new;
    }
    commit_step(step).unwrap();
    let l1 = cross_entropy(&net.forward(&x).unwrap(), &[0, 1, 2, 0, 1], 0.0).unwrap().value().item().unwrap();
    assert!(l1 < l0, "{l1} !< {l0}");
    // a wrong-shaped step is refused
    let grads = cross_entropy(&net.forward(&x).unwrap(), &[0, 1, 2, 0, 1], 0.0).unwrap().backward().unwrap();
    let mut step = parameters_for_step(&net, &grads);
    step[0].value = Tensor::zeros(&[1]);
    assert!(commit_step(step).is_err());
}

#[test]
fn a_tied_parameter_is_one_leaf_and_its_gradient_sums_both_uses() {
    let p = Param::new(t64(vec![2.0], &[1]));
    let y = p.var().mul(&p.var()).unwrap().sum_all().unwrap(); // p^2
    let g = y.backward().unwrap();
    assert_eq!(p.grad(&g).unwrap().to_vec(), vec![4.0]);
    p.set(t64(vec![3.0], &[1])).unwrap();
    assert_eq!(p.var().value().to_vec(), vec![3.0]);
    assert!(p.set(Tensor::zeros(&[2])).is_err());
}

#[test]
fn residual_with_projection_adds_the_projected_shortcut() {
    let mut rng = seeded_rng(4);
    let res = Residual::with_projection(Linear::<f64>::new(3, 5, true, &mut rng), Linear::new(3, 5, false, &mut rng));
    let x = Var::constant(Tensor::randn(&[2, 3], &mut rng));
    let Residual { body, proj, .. } = &res;
    let want = body.forward(&x).unwrap().add(&proj.as_ref().unwrap().forward(&x).unwrap()).unwrap();
    assert_eq!(res.forward(&x).unwrap().value().to_vec(), want.value().to_vec());
    let names: Vec<String> = res.parameters().into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["body.weight", "body.bias", "proj.weight"]);
    let bad = Residual::new(Linear::<f64>::new(3, 5, true, &mut rng));
    assert!(bad.forward(&x).unwrap_err().to_string().contains("projection"));
}

#[test]
fn safetensors_bytes_follow_the_specification() {
    let mut sd = BTreeMap::new();
    sd.insert("b".to_string(), Tensor::<f32>::from_vec(vec![1.5, -2.0], &[2]).unwrap());
    sd.insert("a.w".to_string(), Tensor::<f32>::from_vec(vec![0.25, 3.0, -1.0, 7.0, 0.0, 9.5], &[2, 3]).unwrap());
    let meta = BTreeMap::from([("format".to_string(), "pt".to_string())]);
    let bytes = to_safetensors_bytes(&sd, &meta);
    // read it back by hand: u64 LE header length, JSON, then the buffer
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!((8 + n) % 8, 0);
    let header: serde_json::Value =
        serde_json::from_str(std::str::from_utf8(&bytes[8..8 + n]).unwrap().trim_end()).unwrap();
    assert_eq!(header["__metadata__"]["format"], "pt");
    assert_eq!(header["a.w"]["dtype"], "F32");
    assert_eq!(header["a.w"]["shape"], serde_json::json!([2, 3]));
    assert_eq!(header["a.w"]["data_offsets"], serde_json::json!([0, 24]));
    assert_eq!(header["b"]["data_offsets"], serde_json::json!([24, 32]));
    let buf = &bytes[8 + n..];
    assert_eq!(buf.len(), 32);
    let floats: Vec<f32> = buf.chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!(floats, vec![0.25, 3.0, -1.0, 7.0, 0.0, 9.5, 1.5, -2.0]);

    // a file as another writer might produce it: no padding, tensors not in key order, F64
    let json = r#"{"z":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"y":{"dtype":"F64","shape":[],"data_offsets":[8,16]}}"#;
    let mut other = (json.len() as u64).to_le_bytes().to_vec();
    other.extend_from_slice(json.as_bytes());
    other.extend_from_slice(&4.0f64.to_le_bytes());
    other.extend_from_slice(&(-1.0f64).to_le_bytes());
    let (t, _) = from_safetensors_bytes::<f32>(std::path::Path::new("other"), &other).unwrap();
    assert_eq!(t["z"].to_vec(), vec![4.0f32]);
    assert_eq!(t["y"].shape(), &[] as &[usize]);

    // malformed files are errors that name the file, never panics
    let p = std::path::Path::new("bad.safetensors");
    for (bytes, needle) in [
        (vec![1u8, 2], "shorter"),
        ([100u64.to_le_bytes().to_vec(), b"{}".to_vec()].concat(), "exceeds"),
        ([2u64.to_le_bytes().to_vec(), b"[]".to_vec()].concat(), "not a JSON object"),
        ([other[..8].to_vec(), other[8..8 + json.len()].to_vec(), vec![0; 8]].concat(), "outside"),
        ([other.clone(), vec![0; 8]].concat(), "cover"),
    ] {
        let e = from_safetensors_bytes::<f64>(p, &bytes).unwrap_err().to_string();
        assert!(e.contains("bad.safetensors") && e.contains(needle), "{e}");
    }
}

#[test]
fn state_dict_round_trips_through_a_file_and_bad_dicts_list_every_key() {
    let dir = std::env::temp_dir().join(format!("dl-layers-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mlp.safetensors");
    let a = mlp(1);
    save_module(&a, &path).unwrap();
    let b = mlp(2);
    assert_ne!(a.state_dict()["0.weight"].to_vec(), b.state_dict()["0.weight"].to_vec());
    load_module(&b, &path).unwrap();
    for (k, v) in a.state_dict() {
        assert_eq!(b.state_dict()[&k].to_vec(), v.to_vec(), "{k}");
    }
    // a file with a missing, an extra and a mis-shaped tensor: all three named, nothing loaded
    let mut sd = a.state_dict();
    sd.remove("0.bias");
    sd.insert("extra.weight".into(), Tensor::zeros(&[2]));
    sd.insert("4.weight".into(), Tensor::zeros(&[8, 3]));
    save_safetensors(&path, &sd, &BTreeMap::new()).unwrap();
    let c = mlp(3);
    let before = c.state_dict();
    let err = load_module(&c, &path).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("missing keys [0.bias]"), "{msg}");
    assert!(msg.contains("unexpected keys [extra.weight]"), "{msg}");
    assert!(msg.contains("4.weight: the module has shape [3, 8], the state dict [8, 3]"), "{msg}");
    assert_eq!(c.state_dict()["0.weight"].to_vec(), before["0.weight"].to_vec());
    let missing = load_module(&c, dir.join("nope.safetensors")).unwrap_err().to_string();
    assert!(missing.contains("nope.safetensors"), "{missing}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_small_cnn_trains_end_to_end_and_activations_match_their_functions() {
    let mut rng = seeded_rng(21);
    let net = Sequential::<f64>::new()
        .with(Conv2d::new(1, 4, (3, 3), ConvOptions::default().padding(1), &mut rng).unwrap())
        .with(Act::gelu())
        .with(MaxPool2d::new(PoolOptions::new(2)))
        .with(Conv2d::new(4, 4, (3, 3), ConvOptions::default().same().groups(4), &mut rng).unwrap())
        .with(Flatten::new())
        .with(Linear::new(4 * 3 * 3, 2, true, &mut rng));
    let x = Var::constant(Tensor::randn(&[3, 1, 6, 6], &mut rng));
    let y = net.forward(&x).unwrap();
    assert_eq!(y.shape(), &[3, 2]);
    let grads = cross_entropy(&y, &[0, 1, 1], 0.1).unwrap().backward().unwrap();
    for p in net.parameters() {
        let g = p.param.grad(&grads).unwrap_or_else(|| panic!("no gradient for {}", p.name));
        assert!(g.all_finite() && g.to_vec().iter().any(|v| *v != 0.0), "{}", p.name);
    }
    // activations as modules are the Var functions
    let xt = t64(vec![-2.0, -0.3, 0.0, 0.4, 3.0], &[5]);
    let v = Var::constant(xt.clone());
    let cases: [(Act, Tensor<f64>); 6] = [
        (Act::relu(), xt.relu()),
        (Act::tanh(), xt.tanh()),
        (Act::sigmoid(), xt.sigmoid()),
        (Act::softplus(), xt.softplus()),
        (Act::sin(), xt.sin()),
        (Act::leaky_relu(0.1), xt.map(|e| if e > 0.0 { e } else { 0.1 * e })),
    ];
    for (act, want) in cases {
        assert_close(Module::<f64>::forward(&act, &v).unwrap().value(), &want, Tolerance::new(1e-15, 1e-15));
    }
    let msg = Module::<f64>::forward(&Flatten::new(), &Var::scalar(1.0)).unwrap_err().to_string();
    assert!(msg.contains("Flatten"), "{msg}");
}

#[test]
fn conv_pool_forward_and_backward_give_the_same_bits_on_one_and_two_threads() {
    // Large enough (8x16x32x32 = 2^17 activations) that the pooling planes, the bias add
    // and the bias-gradient rows are split across threads on a two-thread pool.
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut rng = seeded_rng(21);
            let net = Sequential::<f32>::new()
                .with(Conv2d::new(3, 16, (3, 3), ConvOptions::default().padding(1), &mut rng).unwrap())
                .with(Act::relu())
                .with(MaxPool2d::new(PoolOptions::new(2)))
                .with(MaxPool2d::new(PoolOptions::new(3).stride(2).padding(1)));
            let x = Var::leaf(Tensor::<f32>::randn(&[8, 3, 32, 32], &mut rng), true);
            let y = net.forward(&x).unwrap();
            let c = Var::constant(Tensor::<f32>::randn(y.value().shape(), &mut rng));
            let g = y.mul(&c).unwrap().sum_all().unwrap().backward().unwrap();
            let bits = |t: &Tensor<f32>| t.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            let mut all = vec![bits(y.value()), bits(g.get(&x).unwrap())];
            all.extend(net.parameters().iter().map(|p| bits(p.param.grad(&g).unwrap())));
            all
        })
    };
    assert_eq!(run(1), run(2));
}
