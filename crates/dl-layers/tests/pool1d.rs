//! 1-D pooling of `(N, C, L)`: the forward against direct loops over each window, the
//! backward by gradcheck (central finite differences, the dot-product identity, and for max
//! pooling the JVP), ties and padding by hand, and the bad-input errors.

use dl_autodiff::gradcheck::{GradcheckOptions, check_primitive, gradcheck};
use dl_autodiff::{AutodiffError, Var};
use dl_layers::{AvgPool1d, GlobalAvgPool1d, LayerError, MaxPool1d, MaxPool1dPrimitive, Module, PoolOptions};
use dl_tensor::{Tensor, Tolerance, assert_close, seeded_rng};

/// Max or average (padded zeros counted, divided by k) over every window, by direct loops.
fn pool_loop(x: &Tensor<f64>, k: usize, s: usize, p: usize, max: bool) -> Tensor<f64> {
    let sh = x.shape().to_vec();
    let (nc, l) = (sh[0] * sh[1], sh[2]);
    let lo = (l + 2 * p - k) / s + 1;
    let xv = x.to_vec();
    let mut out = Vec::new();
    for row in 0..nc {
        for o in 0..lo {
            let mut vals = Vec::new();
            for j in 0..k {
                let at = (o * s + j) as isize - p as isize;
                if at >= 0 && at < l as isize {
                    vals.push(xv[row * l + at as usize]);
                } else if !max {
                    vals.push(0.0);
                }
            }
            out.push(if max {
                vals.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
            } else {
                vals.iter().sum::<f64>() / k as f64
            });
        }
    }
    Tensor::from_vec(out, &[sh[0], sh[1], lo]).unwrap()
}

fn autodiff(e: LayerError) -> AutodiffError {
    match e {
        LayerError::Autodiff(a) => a,
        other => AutodiffError::InvalidArgument { op: "test", detail: other.to_string() },
    }
}

#[test]
fn pool1d_matches_direct_loops_and_passes_gradcheck() {
    let mut rng = seeded_rng(7);
    // strides 1, 2, 3; padding 0, 1, 2 (at most k / 2); odd and even lengths
    for &(k, s, p) in &[(2, 2, 0), (3, 2, 1), (3, 1, 1), (2, 1, 1), (4, 3, 2), (1, 1, 0)] {
        for l in [7, 8] {
            let xt = Tensor::<f64>::randn(&[2, 3, l], &mut rng);
            let opts = PoolOptions::new(k).stride(s).padding(p);
            let x = Var::constant(xt.clone());
            let mp = Module::<f64>::forward(&MaxPool1d::new(opts), &x).unwrap();
            // the max selects an input value: exact
            assert_close(mp.value(), &pool_loop(&xt, k, s, p, true), Tolerance::new(0.0, 0.0));
            let ap = Module::<f64>::forward(&AvgPool1d::new(opts), &x).unwrap();
            // a sum of k <= 4 terms in another order: a few ulp
            assert_close(ap.value(), &pool_loop(&xt, k, s, p, false), Tolerance::new(1e-14, 1e-14));
            // random normal inputs have no ties, so max pooling is differentiable there
            let r =
                check_primitive(MaxPool1dPrimitive::new(opts), std::slice::from_ref(&xt), &GradcheckOptions::default())
                    .unwrap();
            assert!(r.passed(), "max pool1d {k} {s} {p} L {l}: {r}");
            let avg = |v: &[Var<f64>]| Module::<f64>::forward(&AvgPool1d::new(opts), &v[0]).map_err(autodiff);
            let r = gradcheck(avg, std::slice::from_ref(&xt), &GradcheckOptions::default()).unwrap();
            assert!(r.passed(), "avg pool1d {k} {s} {p} L {l}: {r}");
        }
        let xt = Tensor::<f64>::randn(&[2, 3, 5], &mut rng);
        let gap = |v: &[Var<f64>]| Module::<f64>::forward(&GlobalAvgPool1d::new(), &v[0]).map_err(autodiff);
        let r = gradcheck(gap, std::slice::from_ref(&xt), &GradcheckOptions::default()).unwrap();
        assert!(r.passed(), "global avg pool1d: {r}");
    }
}

#[test]
fn padding_ties_and_global_average_by_hand() {
    // AvgPool1d(3, stride 1, padding 1) on [3, 6, 9]: the end windows count the padded zero,
    // (0 + 3 + 6) / 3 = 3 and (6 + 9 + 0) / 3 = 5 (PyTorch's count_include_pad = True)
    let x = Var::constant(Tensor::from_vec(vec![3.0, 6.0, 9.0], &[1, 1, 3]).unwrap());
    let y = Module::<f64>::forward(&AvgPool1d::new(PoolOptions::new(3).stride(1).padding(1)), &x).unwrap();
    assert_eq!(y.value().to_vec(), vec![3.0, 6.0, 5.0]);
    // max pooling never picks the padding, even when every real value is negative
    let x = Var::leaf(Tensor::from_vec(vec![-2.0, -1.0, -1.0, -5.0], &[1, 1, 4]).unwrap(), true);
    let y = Module::<f64>::forward(&MaxPool1d::new(PoolOptions::new(2).stride(1).padding(1)), &x).unwrap();
    assert_eq!(y.value().to_vec(), vec![-2.0, -1.0, -1.0, -1.0, -5.0]);
    // ties go to the first maximum (the window [-1, -1] at positions 1, 2 picks 1), and
    // overlapping windows accumulate at a shared argmax (position 1 wins two windows)
    let g = y.sum_all().unwrap().backward().unwrap();
    assert_eq!(g.get(&x).unwrap().to_vec(), vec![1.0, 2.0, 1.0, 1.0]);
    let gap = Module::<f64>::forward(
        &GlobalAvgPool1d::new(),
        &Var::constant(Tensor::from_vec((0..6).map(f64::from).collect(), &[1, 2, 3]).unwrap()),
    )
    .unwrap();
    assert_eq!(gap.value().shape(), &[1, 2]);
    assert_eq!(gap.value().to_vec(), vec![1.0, 4.0]);
}

#[test]
fn bad_inputs_name_the_layer_and_the_shapes() {
    let opts = PoolOptions::new(3).stride(2).padding(1);
    let image = Var::constant(Tensor::<f64>::zeros(&[2, 3, 4, 4]));
    for (layer, msg) in [
        (
            "MaxPool1d(kernel 3, stride 2, padding 1)",
            Module::<f64>::forward(&MaxPool1d::new(opts), &image).unwrap_err().to_string(),
        ),
        (
            "AvgPool1d(kernel 3, stride 2, padding 1)",
            Module::<f64>::forward(&AvgPool1d::new(opts), &image).unwrap_err().to_string(),
        ),
        ("GlobalAvgPool1d", Module::<f64>::forward(&GlobalAvgPool1d::new(), &image).unwrap_err().to_string()),
    ] {
        assert!(msg.contains(layer) && msg.contains("(N, C, L)") && msg.contains("[2, 3, 4, 4]"), "{msg}");
    }
    // too short for the window, and an empty sequence
    let short = Var::constant(Tensor::<f64>::zeros(&[1, 2, 2]));
    let msg = Module::<f64>::forward(&MaxPool1d::new(PoolOptions::new(5)), &short).unwrap_err().to_string();
    assert!(msg.contains("MaxPool1d") && msg.contains("[1, 2, 2]") && msg.contains(">= 5"), "{msg}");
    let empty = Var::constant(Tensor::<f64>::zeros(&[1, 2, 0]));
    let msg = Module::<f64>::forward(&MaxPool1d::new(PoolOptions::new(2).padding(1)), &empty).unwrap_err().to_string();
    assert!(msg.contains("MaxPool1d") && msg.contains("[1, 2, 0]"), "{msg}");
    assert!(Module::<f64>::forward(&GlobalAvgPool1d::new(), &empty).unwrap_err().to_string().contains("[1, 2, 0]"));
    // configurations PyTorch rejects: padding above half the kernel, zero stride
    let x = Var::constant(Tensor::<f64>::zeros(&[1, 2, 8]));
    let msg = Module::<f64>::forward(&AvgPool1d::new(PoolOptions::new(2).padding(2)), &x).unwrap_err().to_string();
    assert!(msg.contains("AvgPool1d") && msg.contains("padding 2 exceeds half the kernel 2"), "{msg}");
    assert!(Module::<f64>::forward(&MaxPool1d::new(PoolOptions::new(2).stride(0)), &x).is_err());
    // the primitive on its own names its op
    let msg = Var::apply(MaxPool1dPrimitive::new(PoolOptions::new(2)), &[&image]).unwrap_err().to_string();
    assert!(msg.contains("max_pool1d") && msg.contains("[2, 3, 4, 4]"), "{msg}");
}
