//! The `gaussian` initialisation scheme: `W ~ N(0, sigma_w2 / fan_in)`, `b ~ N(0, sigma_b2)`
//! at any point of the phase diagram, checked by Monte Carlo, and its rejected values.

use dl_framework::config::NetworkConfig;
use dl_layers::Module;

/// The sample variance (about the known mean 0) of `v`.
fn second_moment(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64
}

#[test]
fn gaussian_scheme_draws_the_stated_variances() {
    let cfg = r#"{"input_shape": [64], "seed": 9, "init": {"scheme": "gaussian", "sigma_w2": 1.5, "sigma_b2": 0.3},
        "layers": [{"type": "dense", "units": 2000, "activation": "tanh"}]}"#;
    let net = NetworkConfig::from_json(cfg).unwrap().build::<f64>().unwrap();
    let s = net.state_dict();
    let w = s["0.weight"].to_vec();
    let b = s["0.bias"].to_vec();
    // The mean of x^2 over n draws of N(0, v) has standard error v sqrt(2 / n):
    // weights: n = 128000, v = 1.5 / 64 -> SE 0.4% of v; biases: n = 2000, v = 0.3 -> SE 3.2%.
    // Four standard errors each.
    let (vw, vb) = (1.5 / 64.0, 0.3);
    let mw = second_moment(&w);
    assert!((mw - vw).abs() <= 4.0 * vw * (2.0 / w.len() as f64).sqrt(), "weight variance {mw} vs {vw}");
    let mb = second_moment(&b);
    assert!((mb - vb).abs() <= 4.0 * vb * (2.0 / b.len() as f64).sqrt(), "bias variance {mb} vs {vb}");
}

#[test]
fn gaussian_scheme_rejects_bad_variances() {
    let build = |init: &str| {
        let cfg = format!(r#"{{"input_shape": [4], "init": {init}, "layers": [{{"type": "dense", "units": 2}}]}}"#);
        NetworkConfig::from_json(&cfg).and_then(|c| c.build::<f32>()).err().map(|e| e.to_string()).unwrap_or_default()
    };
    let e = build(r#"{"scheme": "gaussian", "sigma_w2": 0.0}"#);
    assert!(e.contains("init.sigma_w2: must be a finite variance > 0, got 0"), "{e}");
    let e = build(r#"{"scheme": "gaussian", "sigma_w2": 1.0, "sigma_b2": -0.1}"#);
    assert!(e.contains("init.sigma_b2") && e.contains("-0.1"), "{e}");
    let e = build(r#"{"scheme": "gaussian"}"#);
    assert!(e.contains("init") && e.contains("missing field `sigma_w2`"), "{e}");
}
