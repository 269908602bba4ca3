//! Convolution: the explicit im2col/col2im backward against (a) autodiff through a
//! gather-based convolution built from generic `Var` ops (no im2col, no col2im, no
//! hand-written backward), (b) central finite differences of a direct-loop convolution, and
//! (c) the gradient-check harness (VJP and JVP vs finite differences, dot-product identity),
//! for every combination of stride {1, 2} x padding {0, 1, 2} x dilation {1, 2} x
//! groups {1, C} x odd/even input sizes.

use dl_autodiff::gradcheck::{GradcheckOptions, check_primitive, gradgradcheck};
use dl_autodiff::{Var, vjp};
use dl_layers::conv_primitive::{Conv2dInputGrad, Conv2dPrimitive, Conv2dWeightGrad};
use dl_layers::reference::{conv2d_direct, conv2d_generic};
use dl_layers::{Conv1d, Conv2d, ConvGeometry, ConvOptions, LayerError, Module, conv2d};
use dl_tensor::{Tensor, Tolerance, Window, assert_close, seeded_rng};

/// The direct-loop convolution, `y[n, o, p, q] = sum_{c in group(o), i, j}
/// x[n, c, p s - pad + i d, q s - pad + j d] w[o, c - g Cg, i, j]` (dl_layers::reference).
fn conv_loop(x: &Tensor<f64>, w: &Tensor<f64>, g: &ConvGeometry) -> Tensor<f64> {
    conv2d_direct(x, w, g).unwrap()
}

/// The same convolution from generic differentiable ops (padding by narrow, window taps by
/// index_select, a grouped matmul): its gradient comes from the generic ops' rules, not from
/// im2col/col2im (dl_layers::reference).
fn conv_gather(x: &Var<f64>, w: &Var<f64>, g: &ConvGeometry) -> Var<f64> {
    conv2d_generic(x, w, g).unwrap()
}

fn case_name(s: usize, p: usize, d: usize, groups: usize, hw: (usize, usize)) -> String {
    format!("stride {s} pad {p} dilation {d} groups {groups} input {}x{}", hw.0, hw.1)
}

/// Every combination of the grid, f64, N = 2, C = 2, O = 4, kernel 3x2 (not square,
/// so a transposed index would show), inputs 5x7 (odd) and 6x4 (even).
#[test]
fn conv2d_backward_matches_autodiff_finite_differences_and_gradcheck_on_the_full_grid() {
    let mut rng = seeded_rng(7);
    let (n, c, o, kh, kw) = (2, 2, 4, 3, 2);
    let mut cases = 0;
    for &s in &[1, 2] {
        for &p in &[0, 1, 2] {
            for &d in &[1, 2] {
                for &groups in &[1, c] {
                    for &hw in &[(5, 7), (6, 4)] {
                        let name = case_name(s, p, d, groups, hw);
                        let g = ConvGeometry {
                            h: Window::new(kh).stride(s).padding(p).dilation(d),
                            w: Window::new(kw).stride(s).padding(p).dilation(d),
                            groups,
                        };
                        let xt = Tensor::<f64>::randn(&[n, c, hw.0, hw.1], &mut rng);
                        let wt = Tensor::<f64>::randn(&[o, c / groups, kh, kw], &mut rng);

                        // forward vs the direct loop
                        let x = Var::leaf(xt.clone(), true);
                        let w = Var::leaf(wt.clone(), true);
                        let y = conv2d(&x, &w, None, g).unwrap();
                        let yref = conv_loop(&xt, &wt, &g);
                        assert_close(y.value(), &yref, Tolerance::new(1e-12, 1e-12));

                        // explicit backward of L = <u, y>
                        let u = Tensor::<f64>::randn(y.shape(), &mut rng);
                        let grads = vjp(&y, &u).unwrap();
                        let (dx, dw) = (grads.get(&x).unwrap().clone(), grads.get(&w).unwrap().clone());

                        // (a) autodiff through the gather-based convolution
                        let x2 = Var::leaf(xt.clone(), true);
                        let w2 = Var::leaf(wt.clone(), true);
                        let y2 = conv_gather(&x2, &w2, &g);
                        assert_close(y2.value(), &yref, Tolerance::new(1e-12, 1e-12));
                        let g2 = vjp(&y2, &u).unwrap();
                        // both are sums of the same products in different orders
                        assert_close(&dx, g2.get(&x2).unwrap(), Tolerance::new(1e-12, 1e-12));
                        assert_close(&dw, g2.get(&w2).unwrap(), Tolerance::new(1e-12, 1e-12));

                        // (b) central differences of the direct loop. L is linear in each
                        // entry, so the difference has no truncation error; rounding gives
                        // about eps |L| / h ~ 1e-16 * 10 / 1e-3 = 1e-12: tolerance 1e-8.
                        let loss = |xx: &Tensor<f64>, ww: &Tensor<f64>| -> f64 {
                            conv_loop(xx, ww, &g).to_vec().iter().zip(u.to_vec()).map(|(a, b)| a * b).sum()
                        };
                        let h = 1e-3;
                        let fd = |t: &Tensor<f64>, k: usize, which: u8| -> f64 {
                            let mut plus = t.to_vec();
                            let mut minus = t.to_vec();
                            plus[k] += h;
                            minus[k] -= h;
                            let (pt, mt) = (
                                Tensor::from_vec(plus, t.shape()).unwrap(),
                                Tensor::from_vec(minus, t.shape()).unwrap(),
                            );
                            if which == 0 {
                                (loss(&pt, &wt) - loss(&mt, &wt)) / (2.0 * h)
                            } else {
                                (loss(&xt, &pt) - loss(&xt, &mt)) / (2.0 * h)
                            }
                        };
                        let fdx: Vec<f64> = (0..xt.numel()).map(|k| fd(&xt, k, 0)).collect();
                        let fdw: Vec<f64> = (0..wt.numel()).map(|k| fd(&wt, k, 1)).collect();
                        dl_tensor::compare::assert_close_slices(&dx.to_vec(), &fdx, Tolerance::new(1e-8, 1e-8));
                        dl_tensor::compare::assert_close_slices(&dw.to_vec(), &fdw, Tolerance::new(1e-8, 1e-8));

                        // (c) the harness: VJP and JVP vs finite differences, dot-product test
                        let report = check_primitive(
                            Conv2dPrimitive::new(g),
                            &[xt.clone(), wt.clone()],
                            &GradcheckOptions::default(),
                        )
                        .unwrap();
                        assert!(report.passed(), "{name}: {report}");
                        cases += 1;
                    }
                }
            }
        }
    }
    assert_eq!(cases, 48);
}

/// The two backward primitives are checked on their own (they are what a second
/// derivative differentiates), and a second derivative of the convolution end to end.
#[test]
fn backward_primitives_and_second_derivatives_pass_gradcheck() {
    let mut rng = seeded_rng(8);
    for &(s, p, d, groups) in &[(1, 1, 1, 1), (2, 2, 2, 2), (2, 0, 1, 2), (1, 2, 2, 1)] {
        let g = ConvGeometry {
            h: Window::new(3).stride(s).padding(p).dilation(d),
            w: Window::new(2).stride(s).padding(p).dilation(d),
            groups,
        };
        let xt = Tensor::<f64>::randn(&[2, 2, 5, 6], &mut rng);
        let wt = Tensor::<f64>::randn(&[4, 2 / groups, 3, 2], &mut rng);
        let yshape = conv_loop(&xt, &wt, &g).shape().to_vec();
        let dy = Tensor::<f64>::randn(&yshape, &mut rng);
        let opts = GradcheckOptions::default();
        let r = check_primitive(
            Conv2dInputGrad { geometry: g, x_shape: xt.shape().to_vec() },
            &[dy.clone(), wt.clone()],
            &opts,
        )
        .unwrap();
        assert!(r.passed(), "input grad {s} {p} {d} {groups}: {r}");
        let r = check_primitive(Conv2dWeightGrad::new(g, wt.shape()), &[dy.clone(), xt.clone()], &opts).unwrap();
        assert!(r.passed(), "weight grad {s} {p} {d} {groups}: {r}");
        // with the fused bias (its gradient is the ChannelSum primitive)
        let bt = Tensor::<f64>::randn(&[4], &mut rng);
        let r = check_primitive(Conv2dPrimitive::new(g), &[xt.clone(), wt.clone(), bt.clone()], &opts).unwrap();
        assert!(r.passed(), "conv with bias {s} {p} {d} {groups}: {r}");
        let r = gradgradcheck(
            |v: &[Var<f64>]| conv2d(&v[0], &v[1], Some(&v[2]), g).map(|y| y.square().unwrap()),
            &[xt.clone(), wt.clone(), bt],
            &opts,
        )
        .unwrap();
        assert!(r.passed(), "second derivative with bias {s} {p} {d} {groups}: {r}");
        let r = gradgradcheck(
            |v: &[Var<f64>]| conv2d(&v[0], &v[1], None, g).map(|y| y.square().unwrap()),
            &[xt, wt],
            &opts,
        )
        .unwrap();
        assert!(r.passed(), "second derivative {s} {p} {d} {groups}: {r}");
    }
}

/// The references discriminate: an input gradient computed with a wrong geometry (the
/// same total padding split (0, 2) instead of (1, 1), so every shape still fits) is far from the autodiff reference that the correct
/// one matches to 1e-12.
#[test]
fn a_wrong_backward_geometry_is_detected_by_the_reference() {
    let mut rng = seeded_rng(9);
    let good = ConvGeometry { h: Window::new(2).dilation(2).padding(1), w: Window::new(2).padding(1), groups: 1 };
    let bad =
        ConvGeometry { h: Window::new(2).dilation(2).padding_asym(0, 2), w: Window::new(2).padding(1), groups: 1 };
    let xt = Tensor::<f64>::randn(&[1, 2, 5, 5], &mut rng);
    let wt = Tensor::<f64>::randn(&[3, 2, 2, 2], &mut rng);
    let x = Var::leaf(xt.clone(), true);
    let y = conv_gather(&x, &Var::constant(wt.clone()), &good);
    let u = Tensor::<f64>::randn(y.shape(), &mut rng);
    let reference = vjp(&y, &u).unwrap().get(&x).unwrap().to_vec();
    let right = dl_layers::conv_primitive::conv2d_input_grad_tensor(&u, &wt, xt.shape(), &good).unwrap().to_vec();
    let wrong = dl_layers::conv_primitive::conv2d_input_grad_tensor(&u, &wt, xt.shape(), &bad).unwrap().to_vec();
    let err = |a: &[f64]| a.iter().zip(&reference).map(|(p, q)| (p - q).abs()).fold(0.0, f64::max);
    assert!(err(&right) < 1e-12, "{}", err(&right));
    assert!(err(&wrong) > 1e-2, "{}", err(&wrong));
}

/// y[n, o, t] by loops for Conv1d (bias included).
fn conv1d_loop(
    x: &Tensor<f64>,
    w: &Tensor<f64>,
    b: &Tensor<f64>,
    s: usize,
    p: usize,
    d: usize,
    groups: usize,
) -> Tensor<f64> {
    let x4 = x.reshape(&[x.shape()[0], x.shape()[1], 1, x.shape()[2]]).unwrap();
    let w4 = w.reshape(&[w.shape()[0], w.shape()[1], 1, w.shape()[2]]).unwrap();
    let g = ConvGeometry { h: Window::new(1), w: Window::new(w.shape()[2]).stride(s).padding(p).dilation(d), groups };
    let y = conv_loop(&x4, &w4, &g);
    let ys = y.shape().to_vec();
    y.reshape(&[ys[0], ys[1], ys[3]]).unwrap().add(&b.reshape(&[1, ys[1], 1]).unwrap()).unwrap()
}

#[test]
fn conv1d_forward_and_backward_match_loops_and_finite_differences() {
    let mut rng = seeded_rng(10);
    for &s in &[1, 2] {
        for &p in &[0, 2] {
            for &d in &[1, 2] {
                for &groups in &[1, 3] {
                    for &len in &[7, 8] {
                        let layer = Conv1d::<f64>::new(
                            3,
                            6,
                            3,
                            ConvOptions::default().stride(s).padding(p).dilation(d).groups(groups),
                            &mut rng,
                        )
                        .unwrap();
                        let xt = Tensor::<f64>::randn(&[2, 3, len], &mut rng);
                        let x = Var::leaf(xt.clone(), true);
                        let y = layer.forward(&x).unwrap();
                        let (wt, bt) = (layer.weight.value(), layer.bias.as_ref().unwrap().value());
                        assert_close(
                            y.value(),
                            &conv1d_loop(&xt, &wt, &bt, s, p, d, groups),
                            Tolerance::new(1e-12, 1e-12),
                        );
                        let u = Tensor::<f64>::randn(y.shape(), &mut rng);
                        let grads = vjp(&y, &u).unwrap();
                        let loss = |xx: &Tensor<f64>, ww: &Tensor<f64>, bb: &Tensor<f64>| -> f64 {
                            conv1d_loop(xx, ww, bb, s, p, d, groups)
                                .to_vec()
                                .iter()
                                .zip(u.to_vec())
                                .map(|(a, b)| a * b)
                                .sum()
                        };
                        // affine in each entry: central differences are exact up to rounding
                        let h = 1e-3;
                        let bump = |t: &Tensor<f64>, k: usize, dv: f64| {
                            let mut v = t.to_vec();
                            v[k] += dv;
                            Tensor::from_vec(v, t.shape()).unwrap()
                        };
                        let fdx: Vec<f64> = (0..xt.numel())
                            .map(|k| (loss(&bump(&xt, k, h), &wt, &bt) - loss(&bump(&xt, k, -h), &wt, &bt)) / (2.0 * h))
                            .collect();
                        let fdw: Vec<f64> = (0..wt.numel())
                            .map(|k| (loss(&xt, &bump(&wt, k, h), &bt) - loss(&xt, &bump(&wt, k, -h), &bt)) / (2.0 * h))
                            .collect();
                        let fdb: Vec<f64> = (0..bt.numel())
                            .map(|k| (loss(&xt, &wt, &bump(&bt, k, h)) - loss(&xt, &wt, &bump(&bt, k, -h))) / (2.0 * h))
                            .collect();
                        let tol = Tolerance::new(1e-8, 1e-8);
                        dl_tensor::compare::assert_close_slices(&grads.get(&x).unwrap().to_vec(), &fdx, tol);
                        dl_tensor::compare::assert_close_slices(
                            &layer.weight.grad(&grads).unwrap().to_vec(),
                            &fdw,
                            tol,
                        );
                        dl_tensor::compare::assert_close_slices(
                            &layer.bias.as_ref().unwrap().grad(&grads).unwrap().to_vec(),
                            &fdb,
                            tol,
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn same_padding_keeps_the_size_for_odd_and_even_kernels() {
    let mut rng = seeded_rng(11);
    for &(k, d) in &[(3, 1), (4, 1), (3, 2), (2, 3)] {
        let conv = Conv2d::<f64>::new(2, 3, (k, k), ConvOptions::default().same().dilation(d), &mut rng).unwrap();
        let x = Var::constant(Tensor::randn(&[1, 2, 7, 6], &mut rng));
        assert_eq!(conv.forward(&x).unwrap().shape(), &[1, 3, 7, 6], "k {k} d {d}");
        let c1 = Conv1d::<f64>::new(2, 3, k, ConvOptions::default().same().dilation(d), &mut rng).unwrap();
        let x1 = Var::constant(Tensor::randn(&[1, 2, 9], &mut rng));
        assert_eq!(c1.forward(&x1).unwrap().shape(), &[1, 3, 9]);
    }
    // PyTorch puts the odd padding element after: for k = 4 the output at t reads x[t-1..t+3)
    let mut c = Conv1d::<f64>::new(1, 1, 4, ConvOptions::default().same().bias(false), &mut rng).unwrap();
    c.weight.set(Tensor::from_vec(vec![1.0, 0.0, 0.0, 0.0], &[1, 1, 4]).unwrap()).unwrap();
    let x = Var::constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0], &[1, 1, 5]).unwrap());
    assert_eq!(c.forward(&x).unwrap().value().to_vec(), vec![0.0, 1.0, 2.0, 3.0, 4.0]);
    c.eval();
    assert!(!c.is_training());
    assert!(Conv2d::<f64>::new(2, 3, (3, 3), ConvOptions::default().same().stride(2), &mut rng).is_err());
}

#[test]
fn depthwise_conv2d_module_with_bias_matches_loops() {
    let mut rng = seeded_rng(12);
    let conv =
        Conv2d::<f64>::new(3, 6, (3, 3), ConvOptions::default().groups(3).padding(1).stride(2), &mut rng).unwrap();
    assert_eq!(conv.weight.shape(), vec![6, 1, 3, 3]);
    let xt = Tensor::<f64>::randn(&[2, 3, 7, 8], &mut rng);
    let x = Var::leaf(xt.clone(), true);
    let y = conv.forward(&x).unwrap();
    let want = conv_loop(&xt, &conv.weight.value(), &conv.geometry())
        .add(&conv.bias.as_ref().unwrap().value().reshape(&[1, 6, 1, 1]).unwrap())
        .unwrap();
    assert_close(y.value(), &want, Tolerance::new(1e-12, 1e-12));
    // the bias gradient of sum(y) is the number of output positions per channel
    let grads = y.sum_all().unwrap().backward().unwrap();
    let per_channel = (2 * y.shape()[2] * y.shape()[3]) as f64;
    assert_eq!(conv.bias.as_ref().unwrap().grad(&grads).unwrap().to_vec(), vec![per_channel; 6]);
}

#[test]
fn f32_conv_agrees_with_f64() {
    let mut rng = seeded_rng(13);
    let conv = Conv2d::<f64>::new(3, 8, (3, 3), ConvOptions::default().padding(1), &mut rng).unwrap();
    let xt = Tensor::<f64>::randn(&[4, 3, 9, 9], &mut rng);
    let y64 = conv.forward(&Var::constant(xt.clone())).unwrap();
    let conv32 = Conv2d::<f32>::new(3, 8, (3, 3), ConvOptions::default().padding(1), &mut rng).unwrap();
    conv32.weight.set(conv.weight.value().cast()).unwrap();
    conv32.bias.as_ref().unwrap().set(conv.bias.as_ref().unwrap().value().cast()).unwrap();
    let y32 = conv32.forward(&Var::constant(xt.cast())).unwrap();
    // 27-term dot products of O(1) values in f32: error ~ sqrt(27) * 6e-8 * O(1) << 1e-5
    assert_close(&y32.value().cast::<f64>(), y64.value(), Tolerance::new(1e-5, 1e-5));
}

#[test]
fn wrong_inputs_name_the_layer_expectation_and_shape() {
    let mut rng = seeded_rng(14);
    let conv = Conv2d::<f64>::new(3, 4, (3, 3), ConvOptions::default(), &mut rng).unwrap();
    let err = conv.forward(&Var::constant(Tensor::zeros(&[2, 5, 8, 8]))).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, LayerError::Layer { .. }), "{err:?}");
    assert!(msg.contains("Conv2d(3 -> 4") && msg.contains("C=3") && msg.contains("[2, 5, 8, 8]"), "{msg}");
    let msg = conv.forward(&Var::constant(Tensor::zeros(&[3, 8, 8]))).unwrap_err().to_string();
    assert!(msg.contains("(N, C=3, H, W)") && msg.contains("[3, 8, 8]"), "{msg}");
    let msg = conv.forward(&Var::constant(Tensor::zeros(&[1, 3, 2, 8]))).unwrap_err().to_string();
    assert!(msg.contains("dilated kernel 3") && msg.contains("[1, 3, 2, 8]"), "{msg}");
    let c1 = Conv1d::<f64>::new(2, 4, 3, ConvOptions::default(), &mut rng).unwrap();
    let msg = c1.forward(&Var::constant(Tensor::zeros(&[2, 3, 8]))).unwrap_err().to_string();
    assert!(msg.contains("Conv1d(2 -> 4") && msg.contains("C=2") && msg.contains("[2, 3, 8]"), "{msg}");
    assert!(Conv2d::<f64>::new(3, 4, (3, 3), ConvOptions::default().groups(2), &mut rng).is_err());
}
