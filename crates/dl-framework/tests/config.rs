//! Networks from configuration: what builds, what is rejected and with which field path.

use dl_autodiff::Var;
use dl_framework::config::NetworkConfig;
use dl_framework::{FrameworkError, Network};
use dl_layers::Module;
use dl_tensor::Tensor;

fn build(json: &str) -> Result<Network<f64>, FrameworkError> {
    NetworkConfig::from_json(json)?.build::<f64>()
}

fn err(json: &str) -> String {
    match build(json) {
        Ok(_) => panic!("{json} should be rejected"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn every_layer_type_builds_and_runs() {
    let net = build(
        r#"{"input_shape": [2, 8, 8], "seed": 3, "layers": [
            {"type": "conv2d", "channels": 4, "kernel_size": 3, "padding": 1, "activation": "relu"},
            {"type": "residual", "body": [{"type": "conv2d", "channels": 4, "kernel_size": 3, "padding": 1, "activation": "tanh"}]},
            {"type": "residual", "projection": true, "body": [{"type": "conv2d", "channels": 6, "kernel_size": 3, "stride": 2, "padding": 1}]},
            {"type": "max_pool2d", "kernel_size": 2},
            {"type": "avg_pool2d", "kernel_size": 2, "stride": 1},
            {"type": "flatten"},
            {"type": "dropout", "p": 0.25},
            {"type": "dense", "units": 16, "activation": {"leaky_relu": 0.1}},
            {"type": "activation", "function": "gelu"},
            {"type": "dense", "units": 3}
        ]}"#,
    )
    .unwrap();
    // 8x8 -> conv(same) 8x8 -> residual 8x8 -> strided residual 4x4 (6 ch) -> pool 2x2 -> avgpool(2, stride 1) 1x1
    assert_eq!(net.output_shape(), &[3]);
    let y = net.forward(&Var::constant(Tensor::ones(&[5, 2, 8, 8]))).unwrap();
    assert_eq!(y.shape(), &[5, 3]);
    let names: Vec<String> = net.parameters().into_iter().map(|p| p.name).collect();
    assert!(names.contains(&"2.body.0.weight".to_string()));
    assert!(names.contains(&"3.proj.weight".to_string()), "{names:?}");

    let net1d = build(
        r#"{"input_shape": [1, 40], "layers": [
            {"type": "conv1d", "channels": 5, "kernel_size": 5, "stride": 2, "padding": 1, "activation": "relu"},
            {"type": "global_avg_pool"}, {"type": "dense", "units": 10}]}"#,
    )
    .unwrap();
    // (40 + 2 - 5) / 2 + 1 = 19 positions, averaged away
    assert_eq!(net1d.forward(&Var::constant(Tensor::ones(&[2, 1, 40]))).unwrap().shape(), &[2, 10]);

    // 1-D pooling: each pooled output equals dl-layers' pooling module applied to the
    // output of the layer before it
    let pooled = build(
        r#"{"input_shape": [2, 12], "seed": 1, "layers": [
            {"type": "conv1d", "channels": 4, "kernel_size": 3, "padding": 1, "activation": "relu"},
            {"type": "max_pool1d", "kernel_size": 2},
            {"type": "avg_pool1d", "kernel_size": 3, "stride": 1, "padding": 1},
            {"type": "flatten"}, {"type": "dense", "units": 3}]}"#,
    )
    .unwrap();
    assert_eq!(pooled.output_shape(), &[3]);
    let mut rng = dl_tensor::seeded_rng(2);
    let outs = pooled.forward_traced(&Var::constant(Tensor::randn(&[2, 2, 12], &mut rng))).unwrap();
    let (max, avg) = (
        dl_layers::MaxPool1d::new(dl_layers::PoolOptions::new(2)),
        dl_layers::AvgPool1d::new(dl_layers::PoolOptions::new(3).stride(1).padding(1)),
    );
    let expect_max = Module::<f64>::forward(&max, &outs[1]).unwrap();
    assert_eq!(outs[2].value(), expect_max.value());
    assert_eq!(outs[2].shape(), &[2, 4, 6]);
    assert_eq!(outs[3].value(), Module::<f64>::forward(&avg, &outs[2]).unwrap().value());
    let e = err(r#"{"input_shape": [1, 8, 8], "layers": [{"type": "max_pool1d", "kernel_size": 2}]}"#);
    assert!(e.contains("layers[0]: 1-D pooling needs inputs (channels, length)") && e.contains("[1, 8, 8]"), "{e}");
    let e = err(r#"{"input_shape": [1, 8], "layers": [{"type": "avg_pool1d", "kernel_size": 2, "padding": 2}]}"#);
    assert!(e.contains("layers[0].padding"), "{e}");
}

#[test]
fn errors_name_the_field_path() {
    let e =
        err(r#"{"input_shape": [64], "layers": [{"type": "dense", "units": 8}, {"type": "dense", "units": "ten"}]}"#);
    assert!(e.contains("layers[1]") && e.contains("ten"), "{e}");
    let e = err(r#"{"input_shape": [64], "layers": [{"type": "dense", "units": 8, "activaton": "relu"}]}"#);
    assert!(e.contains("layers[0]") && e.contains("unknown field `activaton`"), "{e}");
    let e = err(
        r#"{"input_shape": [1, 8, 8], "layers": [{"type": "flatten"}, {"type": "flatten"}, {"type": "conv2d", "channels": 4, "kernel_size": 0}]}"#,
    );
    assert_eq!(e, "invalid configuration: layers[2].kernel_size: must be positive");
    let e = err(
        r#"{"input_shape": [1, 8, 8], "layers": [{"type": "conv2d", "channels": 4, "kernel_size": 3}, {"type": "dense", "units": 10}]}"#,
    );
    assert!(
        e.contains("layers[1]: dense needs a flat input") && e.contains("[4, 6, 6]") && e.contains("flatten"),
        "{e}"
    );
    let e = err(r#"{"input_shape": [1, 4, 4], "layers": [{"type": "conv2d", "channels": 2, "kernel_size": 9}]}"#);
    assert!(e.starts_with("invalid configuration: layers[0]: does not fit"), "{e}");
    let e = err(r#"{"input_shape": [8], "layers": [{"type": "residual", "body": [{"type": "dense", "units": 4}]}]}"#);
    assert!(e.contains("layers[0].projection") && e.contains("[8]") && e.contains("[4]"), "{e}");
    let e = err(r#"{"input_shape": [8], "layers": [{"type": "dropout", "p": 1.5}]}"#);
    assert!(e.contains("layers[0].p: must lie in [0, 1)"), "{e}");
    let e = err(r#"{"input_shape": [8], "layers": [{"type": "residual", "body": [{"type": "dense", "units": 0}]}]}"#);
    assert_eq!(e, "invalid configuration: layers[0].body[0].units: must be positive");
    let e = err(r#"{"input_shape": [1, 8], "parameterisation": {"kind": "ntk", "sigma_w": 1.0},
        "layers": [{"type": "conv1d", "channels": 2, "kernel_size": 3}]}"#);
    assert!(e.contains("layers[0]: the ntk parameterisation is implemented for dense layers only"), "{e}");
    let e = err(
        r#"{"input_shape": [8], "parameterisation": {"kind": "ntk", "sigma_w": -1.0}, "layers": [{"type": "dense", "units": 2}]}"#,
    );
    assert!(e.contains("parameterisation.sigma_w"), "{e}");
    let e = err(
        r#"{"input_shape": [8], "init": {"scheme": "critical", "activation": "tanh", "sigma_b2": -0.1}, "layers": [{"type": "dense", "units": 2}]}"#,
    );
    assert!(e.contains("init.sigma_b2"), "{e}");
    let e = err(r#"{"input_shape": [8], "layers": [{"type": "lstm", "units": 2}]}"#);
    assert!(e.contains("layers[0]") && e.contains("unknown variant `lstm`"), "{e}");
    assert!(err(r#"{"input_shape": [], "layers": [{"type": "flatten"}]}"#).contains("input_shape"));
    assert!(err(r#"{"input_shape": [3], "layers": []}"#).contains("layers: must hold at least one layer"));
    let e = err(r#"{"input_shape": [3], "layers": [{"type": "flatten"}]"#);
    assert!(e.starts_with("invalid configuration:"), "{e}");
}

#[test]
fn a_configuration_round_trips_through_json() {
    let text = r#"{"input_shape": [4], "layers": [{"type": "dense", "units": 3, "activation": {"elu": 1.0}}],
        "init": {"scheme": "critical", "activation": "relu"}, "seed": 9}"#;
    let cfg = NetworkConfig::from_json(text).unwrap();
    assert_eq!(NetworkConfig::from_json(&cfg.to_json()).unwrap(), cfg);
    let path = std::env::temp_dir().join(format!("dlfw-config-{}.json", std::process::id()));
    std::fs::write(&path, r#"{"input_shape": [4], "layers": [{"type": "dense"}]}"#).unwrap();
    let e = NetworkConfig::from_file(&path).unwrap_err().to_string();
    assert!(e.contains(&path.display().to_string()) && e.contains("missing field `units`"), "{e}");
    std::fs::remove_file(&path).unwrap();
    let e = NetworkConfig::from_file("/nonexistent/net.json").unwrap_err().to_string();
    assert!(e.contains("/nonexistent/net.json"), "{e}");
}

#[test]
fn critical_initialisation_draws_the_critical_variances() {
    // tanh at sigma_b2 = 0.04: sigma_w2 on the critical line (about 1.7, Poole et al. 2016, Fig. 2).
    let net = build(
        r#"{"input_shape": [400], "init": {"scheme": "critical", "activation": "tanh", "sigma_b2": 0.04},
            "layers": [{"type": "dense", "units": 500, "activation": "tanh"}]}"#,
    )
    .unwrap();
    let sigma_w2 = dl_init::critical_sigma_w2(&dl_init::Activation::Tanh, 0.04).unwrap();
    assert!((1.6..1.8).contains(&sigma_w2), "{sigma_w2}");
    // ReLU with a bias: chi_1 = sigma_w2 / 2 at every q, so the critical sigma_w2 is He's 2
    // (where q* diverges, growing by sigma_b2 per layer).
    let relu = build(
        r#"{"input_shape": [400], "init": {"scheme": "critical", "activation": "relu", "sigma_b2": 0.04},
            "layers": [{"type": "dense", "units": 500, "activation": "relu"}]}"#,
    )
    .unwrap();
    let w = relu.parameters()[0].param.value().to_vec();
    let var = w.iter().map(|x| x * x).sum::<f64>() / w.len() as f64;
    assert!((var / (2.0 / 400.0) - 1.0).abs() < 5.0 * (2.0 / w.len() as f64).sqrt(), "{var}");
    let p = net.parameters();
    let w = p[0].param.value().to_vec();
    let var = w.iter().map(|x| x * x).sum::<f64>() / w.len() as f64;
    // n = 200000 draws of N(0, sigma_w2/400): the sample second moment has relative standard
    // error sqrt(2/n) = 3.2e-3; allow 5 of them.
    let expect = sigma_w2 / 400.0;
    assert!((var / expect - 1.0).abs() < 5.0 * (2.0 / w.len() as f64).sqrt(), "{var} vs {expect}");
    let b = p[1].param.value().to_vec();
    let bvar = b.iter().map(|x| x * x).sum::<f64>() / b.len() as f64;
    // 500 draws: relative standard error sqrt(2/500) = 0.063; allow 5.
    assert!((bvar / 0.04 - 1.0).abs() < 5.0 * (2.0f64 / 500.0).sqrt(), "{bvar}");
}

#[test]
fn ntk_parameterisation_scales_the_standard_normal_weights() {
    let net = build(
        r#"{"input_shape": [3], "parameterisation": {"kind": "ntk", "sigma_w": 2.0, "sigma_b": 0.5},
            "layers": [{"type": "dense", "units": 2}]}"#,
    )
    .unwrap();
    let p = net.parameters();
    let (w, b) = (p[0].param.value().to_vec(), p[1].param.value().to_vec());
    let x = [0.3, -1.0, 2.0];
    let y = net.forward(&Var::constant(Tensor::from_vec(x.to_vec(), &[1, 3]).unwrap())).unwrap().value().to_vec();
    for o in 0..2 {
        let direct = 2.0 / 3f64.sqrt() * (0..3).map(|i| w[o * 3 + i] * x[i]).sum::<f64>() + 0.5 * b[o];
        // three products and a sum in f64: a few ulps
        assert!((y[o] - direct).abs() <= 1e-14 * (1.0 + direct.abs()), "{} vs {direct}", y[o]);
    }
}

#[test]
fn recurrent_layers_run_batch_first() {
    let net = build(
        r#"{"input_shape": [7, 2], "seed": 4, "layers": [
            {"type": "recurrent", "cell": "gru", "hidden_size": 3, "bidirectional": true},
            {"type": "flatten"}, {"type": "dense", "units": 4}]}"#,
    )
    .unwrap();
    assert_eq!(net.output_shape(), &[4]);
    let names: Vec<String> = net.parameters().into_iter().map(|p| p.name).collect();
    assert_eq!(&names[..2], &["0.weight_ih_l0".to_string(), "0.weight_hh_l0".to_string()]);
    // every step's output, batch first: (N, L, 2 H), the same numbers as the time-first layer
    let x = Tensor::<f64>::randn(&[5, 7, 2], &mut dl_tensor::seeded_rng(0));
    let outs = net.forward_traced(&Var::constant(x.clone())).unwrap();
    assert_eq!(outs[0].shape(), &[5, 7, 6]);
    let layer = &net.layers()[0].module;
    assert!(layer.describe().starts_with("GRU(2 -> 3, bidirectional)"), "{}", layer.describe());
    let e = err(r#"{"input_shape": [7], "layers": [{"type": "recurrent", "cell": "lstm", "hidden_size": 3}]}"#);
    assert!(e.contains("layers[0]: a recurrent layer needs sequences (length, features)"), "{e}");
    assert!(
        err(r#"{"input_shape": [7, 1], "layers": [{"type": "recurrent", "cell": "gru", "hidden_size": 0}]}"#)
            .contains("layers[0].hidden_size: must be positive")
    );
    let last = build(r#"{"input_shape": [7, 2], "layers": [{"type": "recurrent", "cell": "lstm", "hidden_size": 3, "output": "last"}]}"#).unwrap();
    assert_eq!(last.output_shape(), &[3]);
}

#[test]
fn the_batch_first_wrapper_is_a_permutation_of_the_time_first_layer() {
    use dl_framework::network::{BatchFirstRecurrent, RecurrentOutputKind};
    use dl_layers::{CellKind, Recurrent};
    let mut rng = dl_tensor::seeded_rng(1);
    let inner = Recurrent::<f64>::new(CellKind::Gru, 2, 3, false, &mut rng);
    let x = Tensor::<f64>::randn(&[4, 5, 2], &mut rng); // (N, L, F)
    // the time-first input built element by element
    let xv = x.to_vec();
    let mut tf = vec![0.0; xv.len()];
    for n in 0..4 {
        for t in 0..5 {
            for f in 0..2 {
                tf[(t * 4 + n) * 2 + f] = xv[(n * 5 + t) * 2 + f];
            }
        }
    }
    let direct = inner.forward_sequence(&Var::constant(Tensor::from_vec(tf, &[5, 4, 2]).unwrap()), None, None).unwrap();
    let (dy, dh) = (direct.output.value().to_vec(), direct.h_n.value().to_vec());
    let seq = BatchFirstRecurrent { inner, output: RecurrentOutputKind::Sequence };
    let y = seq.forward(&Var::constant(x.clone())).unwrap().value().to_vec();
    for n in 0..4 {
        for t in 0..5 {
            for h in 0..3 {
                assert_eq!(y[(n * 5 + t) * 3 + h], dy[(t * 4 + n) * 3 + h]);
            }
        }
    }
    let last = BatchFirstRecurrent { inner: seq.inner, output: RecurrentOutputKind::Last };
    assert_eq!(last.forward(&Var::constant(x)).unwrap().value().to_vec(), dh, "h_n (1, N, H) is (N, H)");
}

#[test]
fn named_schemes_draw_their_variances_and_zero_biases() {
    // A dense 400 -> 300 layer: 120000 weights, so the sample variance has a relative
    // standard error of sqrt(2 / 120000) = 0.4% (Gaussian) or less (uniform: kurtosis 1.8).
    // The bound below is 5 of those standard errors.
    let (fan_in, fan_out) = (400.0f64, 300.0f64);
    let cases = [
        (r#"{"scheme": "xavier"}"#, 2.0 / (fan_in + fan_out)),
        (r#"{"scheme": "xavier", "distribution": "uniform", "gain": 2.0}"#, 4.0 * 2.0 / (fan_in + fan_out)),
        (r#"{"scheme": "kaiming"}"#, 2.0 / fan_in),
        (r#"{"scheme": "kaiming", "distribution": "uniform", "mode": "fan_out", "gain": 1.0}"#, 1.0 / fan_out),
        (r#"{"scheme": "lecun", "distribution": "uniform"}"#, 1.0 / fan_in),
        (r#"{"scheme": "orthogonal", "gain": 1.0}"#, 1.0 / fan_in), // rows orthonormal: each entry has variance 1/400
    ];
    for (init, variance) in cases {
        let net = build(&format!(
            r#"{{"input_shape": [400], "init": {init}, "layers": [{{"type": "dense", "units": 300}}]}}"#
        ))
        .unwrap();
        let params = net.parameters();
        let w = params[0].param.value().to_vec();
        let var = w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64;
        assert!((var / variance - 1.0).abs() < 5.0 * (2.0f64 / w.len() as f64).sqrt(), "{init}: {var} vs {variance}");
        assert!(params[1].param.value().to_vec().iter().all(|&b| b == 0.0), "{init}: biases zero");
    }
    // orthogonal: W W^T = I (300 orthonormal rows of length 400), to rounding
    let net = build(
        r#"{"input_shape": [400], "init": {"scheme": "orthogonal"}, "layers": [{"type": "dense", "units": 300}]}"#,
    )
    .unwrap();
    let w = net.parameters()[0].param.value().clone();
    let gram = w.matmul(&w.t().unwrap()).unwrap();
    dl_tensor::assert_close(&gram, &Tensor::eye(300), dl_tensor::Tolerance::new(1e-12, 1e-12));
    let e = err(
        r#"{"input_shape": [4], "init": {"scheme": "kaiming", "gain": -1.0}, "layers": [{"type": "dense", "units": 2}]}"#,
    );
    assert!(e.contains("init.gain"), "{e}");
    let e = err(
        r#"{"input_shape": [4], "init": {"scheme": "xavier", "distribution": "cauchy"}, "layers": [{"type": "dense", "units": 2}]}"#,
    );
    assert!(e.contains("init.distribution: unknown variant `cauchy`"), "{e}");
}
