//! The analytic kernels of convolutional networks with global average pooling: against
//! the fully connected kernels (1 x 1 filters, a closed-form identity), against Monte Carlo
//! over random finite CNNs, and their errors.

use dl_autodiff::Var;
use dl_init::Activation;
use dl_layers::Module;
use dl_ntk::{Architecture, KernelLayer, OutputKernel, Parameterisation, empirical_ntk};
use dl_tensor::compare::{Tolerance, assert_close_slices};
use dl_tensor::{Tensor, seeded_rng};

/// With 1 x 1 filters every pixel goes through the same fully connected network, so the
/// pixel-pair kernels are the MLP kernels of the pixels' channel vectors; the pooling and
/// the readout are affine in (K, Theta), so the CNN kernel is the mean over pixel pairs of
/// the MLP kernel of `[Dense(C) - phi] x depth - Dense(1)`.
#[test]
fn one_by_one_filters_give_the_pixel_averaged_mlp_kernel() {
    let mut rng = seeded_rng(10);
    let (n, c0, h, w) = (3, 2, 3, 2);
    let p = h * w;
    let x = Tensor::<f64>::randn(&[n, c0, h, w], &mut rng);
    // the pixels as rows (n p, c0)
    let xv = x.to_vec();
    let mut pixels = vec![0.0; n * p * c0];
    for e in 0..n {
        for c in 0..c0 {
            for i in 0..p {
                pixels[(e * p + i) * c0 + c] = xv[(e * c0 + c) * p + i];
            }
        }
    }
    let pixels = Tensor::from_vec(pixels, &[n * p, c0]).unwrap();
    // tanh takes dl-init's adaptive quadrature (milliseconds per entry): one layer suffices
    for (act, depth, param) in [
        (Activation::Relu, 2, Parameterisation::Ntk),
        (Activation::Tanh, 1, Parameterisation::Standard),
        (Activation::Erf, 2, Parameterisation::Ntk),
    ] {
        let cnn = Architecture::cnn(depth, 16, &[1, 1], act.clone(), 1.7, 0.2, 1, param).unwrap();
        let mlp = Architecture::mlp(depth, 16, act.clone(), 1.7, 0.2, 1, param).unwrap();
        let got = cnn.kernels(&x, None).unwrap();
        let pix = mlp.kernels(&pixels, None).unwrap();
        let (pk, pt) = (pix.nngp.to_vec(), pix.ntk.to_vec());
        let mut want_k = vec![0.0; n * n];
        let mut want_t = vec![0.0; n * n];
        for a in 0..n {
            for b in 0..n {
                for i in 0..p {
                    for j in 0..p {
                        let idx = (a * p + i) * n * p + b * p + j;
                        want_k[a * n + b] += pk[idx] / (p * p) as f64;
                        want_t[a * n + b] += pt[idx] / (p * p) as f64;
                    }
                }
            }
        }
        // The same closed forms (or quadrature) entry by entry, summed in another order, but
        // the two recursions get a unit's variance along different paths (the MLP from
        // E[phi(u)^2], the CNN from the diagonal of E[phi(u) phi(v)]): they differ by ulps,
        // and at correlation 1 the arc-cosine angle theta = atan2(sqrt(q1 q2 - q12^2), q12)
        // turns an ulp (1e-16) into sqrt(1e-16) = 1e-8, so E[phi' phi'] = (pi - theta) / 2pi
        // moves by ~1e-9 relative; tanh's quadrature is converged to ~1e-10 relative.
        let tol = Tolerance::new(1e-8, 1e-10);
        assert_close_slices(&got.nngp.to_vec(), &want_k, tol);
        assert_close_slices(&got.ntk.to_vec(), &want_t, tol);
    }
}

/// Each entry's Monte Carlo mean over `networks` random CNNs must lie within 4.5 standard
/// errors of the analytic value (plus `bias_allowance` relative, for finite-channel bias).
/// With one hidden convolution the pre-activations are exactly Gaussian and the readout
/// weights independent of them, so `E[f f'] = K` and `E[Theta_emp] = Theta` at any channel
/// count: no allowance.
fn check(arch: &Architecture, x: &Tensor<f64>, networks: usize, bias_allowance: f64, seed: u64) {
    let mut rng = seeded_rng(seed);
    let n = x.shape()[0];
    let exact = arch.kernels(x, None).unwrap();
    let (k, t) = (exact.nngp.to_vec(), exact.ntk.to_vec());
    let (mut sk, mut sk2, mut st, mut st2) = (vec![0.0; n * n], vec![0.0; n * n], vec![0.0; n * n], vec![0.0; n * n]);
    for _ in 0..networks {
        let net = arch.sample(x.shape()[1], &mut rng).unwrap();
        let f = net.forward(&Var::constant(x.clone())).unwrap().value().to_vec();
        let theta = empirical_ntk(&net, x, None, OutputKernel::Trace, 1 << 24).unwrap().kernel.to_vec();
        for e in 0..n * n {
            let c = f[e / n] * f[e % n];
            sk[e] += c;
            sk2[e] += c * c;
            st[e] += theta[e];
            st2[e] += theta[e] * theta[e];
        }
    }
    let m = networks as f64;
    for e in 0..n * n {
        for (name, s, s2, exact) in [("NNGP", sk[e], sk2[e], k[e]), ("NTK", st[e], st2[e], t[e])] {
            let mean = s / m;
            let se = ((s2 / m - mean * mean).max(0.0) / m).sqrt();
            let allowed = 4.5 * se + bias_allowance * exact.abs() + 1e-12;
            assert!(
                (mean - exact).abs() <= allowed,
                "{name} entry {e}: Monte Carlo {mean} +- {se} (M = {networks}) vs analytic {exact}"
            );
        }
    }
}

#[test]
fn one_hidden_1d_convolution_relu_ntk_parameterisation() {
    let arch = Architecture::cnn(1, 8, &[3], Activation::Relu, 2.0, 0.1, 1, Parameterisation::Ntk).unwrap();
    let x = Tensor::<f64>::randn(&[3, 2, 5], &mut seeded_rng(11));
    check(&arch, &x, 1500, 0.0, 12);
}

#[test]
fn one_hidden_2d_convolution_erf_standard_parameterisation() {
    let arch = Architecture::cnn(1, 8, &[3, 3], Activation::Erf, 1.5, 0.2, 1, Parameterisation::Standard).unwrap();
    let x = Tensor::<f64>::randn(&[3, 1, 4, 4], &mut seeded_rng(13));
    check(&arch, &x, 1500, 0.0, 14);
}

#[test]
fn two_hidden_2d_convolutions_with_a_5x3_filter_at_64_channels() {
    // the finite-channel correction to E[Theta] and E[f f'] is O(depth / channels): allow 2 / 64
    let arch = Architecture::cnn(2, 64, &[5, 3], Activation::Relu, 2.0, 0.05, 1, Parameterisation::Ntk).unwrap();
    let x = Tensor::<f64>::randn(&[3, 2, 5, 4], &mut seeded_rng(15));
    check(&arch, &x, 120, 2.0 / 64.0, 16);
}

#[test]
fn cross_kernels_agree_with_the_joint_kernel() {
    // K(x1, x2) is the off-diagonal block of K([x1; x2]): the pair recursion does not
    // depend on which batch a pair comes from (bit-for-bit the same arithmetic)
    let mut rng = seeded_rng(17);
    let arch = Architecture::cnn(2, 4, &[3], Activation::Erf, 1.8, 0.1, 2, Parameterisation::Ntk).unwrap();
    let x = Tensor::<f64>::randn(&[5, 2, 6], &mut rng);
    let (x1, x2) = (x.narrow(0, 0, 2).unwrap(), x.narrow(0, 2, 3).unwrap());
    let joint = arch.kernels(&x, None).unwrap().ntk.to_vec();
    let cross = arch.kernels(&x1, Some(&x2)).unwrap().ntk.to_vec();
    let block: Vec<f64> = (0..2).flat_map(|i| (2..5).map(move |j| (i, j))).map(|(i, j)| joint[i * 5 + j]).collect();
    assert_close_slices(&cross, &block, Tolerance::new(0.0, 0.0));
}

#[test]
fn bad_architectures_and_inputs_say_which() {
    let conv = KernelLayer::conv2d(4, (3, 3), 2.0, 0.1);
    let relu = KernelLayer::Activation(Activation::Relu);
    let e = Architecture::new(vec![conv.clone(), relu.clone(), KernelLayer::dense(1, 1.0, 0.0)], Parameterisation::Ntk)
        .unwrap_err()
        .to_string();
    assert!(e.contains("layer 0") && e.contains("Conv2d") && e.contains("GlobalAvgPool"), "{e}");
    let e = Architecture::new(
        vec![conv.clone(), KernelLayer::dense(3, 1.0, 0.0), KernelLayer::GlobalAvgPool],
        Parameterisation::Ntk,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("layer 1") && e.contains("dense layer over a spatial"), "{e}");
    let e = Architecture::new(
        vec![KernelLayer::conv2d(4, (2, 3), 1.0, 0.0), KernelLayer::GlobalAvgPool],
        Parameterisation::Ntk,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("layer 0") && e.contains("odd"), "{e}");
    let e = Architecture::new(
        vec![KernelLayer::conv1d(4, 3, 1.0, 0.0), conv.clone(), KernelLayer::GlobalAvgPool],
        Parameterisation::Ntk,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("layer 1") && e.contains("same spatial rank"), "{e}");
    let arch = Architecture::new(
        vec![conv, relu, KernelLayer::GlobalAvgPool, KernelLayer::dense(1, 1.0, 0.0)],
        Parameterisation::Ntk,
    )
    .unwrap();
    let mut rng = seeded_rng(18);
    let e = arch.kernels(&Tensor::<f64>::randn(&[2, 1, 5], &mut rng), None).unwrap_err().to_string();
    assert!(e.contains("(N, C, H, W) for 2-D") && e.contains("[2, 1, 5]"), "{e}");
    let (a, b) = (Tensor::<f64>::randn(&[2, 1, 4, 4], &mut rng), Tensor::<f64>::randn(&[2, 1, 4, 5], &mut rng));
    let e = arch.kernels(&a, Some(&b)).unwrap_err().to_string();
    assert!(
        e.contains("same channels and spatial shape") && e.contains("[2, 1, 4, 4]") && e.contains("[2, 1, 4, 5]"),
        "{e}"
    );
    // the structured empirical path names the convolution it cannot take
    let net = arch.sample(1, &mut rng).unwrap();
    let e = dl_ntk::empirical_ntk_structured(&net, &a, None, OutputKernel::Trace).unwrap_err().to_string();
    assert!(
        e.contains("layer 0") && e.contains("Conv2d(1 -> 4, kernel 3x3)") && e.contains("empirical_ntk_batched"),
        "{e}"
    );
}

#[test]
fn a_dl_layers_network_gives_its_architecture_or_names_the_layer_without_a_kernel() {
    use dl_layers::{
        Act, Conv2d, ConvOptions, Dropout, GlobalAvgPool, Linear, MaxPool2d, PoolOptions, Recurrent, Sequential,
    };
    let mut rng = seeded_rng(19);
    let conv = |opts: ConvOptions, rng: &mut dl_tensor::TensorRng| Conv2d::<f64>::new(2, 6, (3, 3), opts, rng).unwrap();
    let net = Sequential::<f64>::new()
        .with(conv(ConvOptions::default().same(), &mut rng))
        .with(Act::relu())
        .with(GlobalAvgPool::new())
        .with(Linear::new(6, 1, true, &mut rng));
    let arch = Architecture::from_sequential(&net, 2.0, 0.1, Parameterisation::Ntk).unwrap();
    let direct = Architecture::cnn(1, 6, &[3, 3], Activation::Relu, 2.0, 0.1, 1, Parameterisation::Ntk).unwrap();
    let x = Tensor::<f64>::randn(&[2, 2, 4, 4], &mut rng);
    // the same layers: the same arithmetic, bit for bit
    assert_close_slices(
        &arch.kernels(&x, None).unwrap().ntk.to_vec(),
        &direct.kernels(&x, None).unwrap().ntk.to_vec(),
        Tolerance::new(0.0, 0.0),
    );

    let expect = |net: Sequential<f64>, index: usize, layer: &str, why: &str| {
        let e = Architecture::from_sequential(&net, 2.0, 0.1, Parameterisation::Ntk).unwrap_err().to_string();
        assert!(e.contains(&format!("layer {index}")) && e.contains(layer) && e.contains(why), "{e}");
    };
    let head = |rng: &mut dl_tensor::TensorRng| {
        Sequential::<f64>::new().with(conv(ConvOptions::default().same(), rng)).with(Act::relu())
    };
    expect(head(&mut rng).with(MaxPool2d::new(PoolOptions::new(2))), 2, "MaxPool2d", "max pooling");
    expect(head(&mut rng).with(Dropout::new(0.5, 1).unwrap()), 2, "Dropout", "train time");
    expect(head(&mut rng).with(dl_norm::BatchNorm2d::new(6).unwrap()), 2, "BatchNorm2d(6)", "normalisation");
    expect(
        Sequential::<f64>::new().with(Linear::new(3, 4, true, &mut rng)).with(dl_norm::LayerNorm::new(&[4]).unwrap()),
        1,
        "LayerNorm",
        "normalisation",
    );
    expect(Sequential::<f64>::new().with(Recurrent::<f64>::lstm(3, 4, &mut rng)), 0, "LSTM(3 -> 4)", "recurrent");
    expect(
        Sequential::<f64>::new().with(conv(ConvOptions::default().padding(0), &mut rng)),
        0,
        "Conv2d(2 -> 6, kernel 3x3)",
        "'same' padding",
    );
    // the typed kind shows what a probe could not: dilation and groups
    expect(
        Sequential::<f64>::new().with(conv(ConvOptions::default().same().dilation(2), &mut rng)),
        0,
        "Conv2d(2 -> 6, kernel 3x3)",
        "dilation 2",
    );
    expect(
        Sequential::<f64>::new().with(conv(ConvOptions::default().same().groups(2), &mut rng)),
        0,
        "Conv2d(2 -> 6, kernel 3x3)",
        "groups = 2",
    );
    // explicit padding 1 on a 3x3 kernel is 'same'
    let padded = Sequential::<f64>::new()
        .with(conv(ConvOptions::default().padding(1), &mut rng))
        .with(Act::relu())
        .with(GlobalAvgPool::new())
        .with(Linear::new(6, 1, true, &mut rng));
    if let Err(e) = Architecture::from_sequential(&padded, 2.0, 0.1, Parameterisation::Ntk) {
        panic!("{e}");
    }
    // dropout in evaluation mode is the identity
    let mut with_dropout = head(&mut rng)
        .with(Dropout::new(0.5, 1).unwrap())
        .with(GlobalAvgPool::new())
        .with(Linear::new(6, 1, true, &mut rng));
    with_dropout.eval();
    assert!(Architecture::from_sequential(&with_dropout, 2.0, 0.1, Parameterisation::Ntk).is_ok());
}
