//! muP and the abc parameterisations in configured networks, the layer-wise (and
//! learning-rate weighted) NTK, the lazy model `alpha (f - f_0)`, and embeddings.

use std::collections::BTreeMap;

use dl_autodiff::Var;
use dl_framework::analysis::{layerwise_ntk, network_ntk};
use dl_framework::data::Dataset;
use dl_framework::{Network, NetworkConfig, TrainConfig, Trainer};
use dl_layers::Module;
use dl_ntk::OutputKernel;
use dl_tensor::compare::{Tolerance, assert_close_slices};
use dl_tensor::{Tensor, seeded_rng};
use dl_theory::feature_learning::{AbcScheme, DenseScaling, LayerRole};

fn mlp(width: usize, parameterisation: &str, extra: &str) -> NetworkConfig {
    NetworkConfig::from_json(&format!(
        r#"{{"input_shape": [6], "seed": 11, "layers": [
            {{"type": "dense", "units": {width}, "activation": "relu"}},
            {{"type": "dense", "units": {width}, "activation": "relu"}},
            {{"type": "dense", "units": 3}}],
          "init": {{"scheme": "gaussian", "sigma_w2": 2.0, "sigma_b2": 0.05}},
          "parameterisation": {parameterisation} {extra}}}"#
    ))
    .unwrap()
}

fn data(n: usize, seed: u64) -> Dataset<f64> {
    let x = Tensor::<f64>::randn(&[n, 6], &mut seeded_rng(seed));
    Dataset::classification(x, (0..n).map(|i| i % 3).collect(), 3).unwrap()
}

fn bits(net: &Network<f64>) -> BTreeMap<String, Vec<u64>> {
    net.state_dict().into_iter().map(|(k, t)| (k, t.to_vec().iter().map(|v| v.to_bits()).collect())).collect()
}

fn sgd(lr: f64) -> TrainConfig {
    TrainConfig::from_json(&format!(r#"{{"epochs": 1, "batch_size": 16, "optimizer": {{"kind": "sgd", "lr": {lr}}}}}"#))
        .unwrap()
}

const MUP_BASE: &str = r#"{"kind": "mup", "base_units": [8, 8, 3]}"#;

#[test]
fn mup_at_the_base_width_is_the_standard_parameterisation_bit_for_bit() {
    let d = data(16, 1);
    for opt in [r#"{"kind": "sgd", "lr": 0.1, "momentum": 0.9}"#, r#"{"kind": "adam", "lr": 0.01}"#] {
        let sp = mlp(8, r#"{"kind": "standard"}"#, "").build::<f64>().unwrap();
        let mup = mlp(8, MUP_BASE, "").build::<f64>().unwrap();
        assert!(bits(&sp) == bits(&mup), "the same draws");
        assert!(mup.lr_factors().is_empty(), "every factor is 1 at the base width");
        let cfg = TrainConfig::from_json(&format!(r#"{{"epochs": 3, "batch_size": 8, "optimizer": {opt}}}"#)).unwrap();
        let (mut a, mut b) = (Trainer::new(sp, cfg.clone()).unwrap(), Trainer::new(mup, cfg).unwrap());
        a.fit(&d, None).unwrap();
        b.fit(&d, None).unwrap();
        assert!(bits(a.network()) == bits(b.network()), "and the same training");
    }
}

#[test]
fn mup_network_follows_the_table_in_its_forward_pass_init_and_learning_rates() {
    let (base, width) = (8, 32);
    let r = (width / base) as f64;
    let net = mlp(width, MUP_BASE, "").build::<f64>().unwrap();
    let roles = [(0, LayerRole::Input, 6), (2, LayerRole::Hidden, width), (4, LayerRole::Output, width)];
    let sd = net.state_dict();
    for &(i, role, fan_in) in &roles {
        let table = DenseScaling::anchored(AbcScheme::Mup, role, r, 2.0, 0.05, fan_in).unwrap();
        assert_eq!(
            net.layers()[i].dense_multipliers,
            Some((table.weight.multiplier, table.bias.multiplier)),
            "layer {i}"
        );
        for (name, p) in [("weight", table.weight), ("bias", table.bias)] {
            let key = format!("{i}.{name}");
            assert_eq!(net.lr_factor(&key, false), p.sgd_lr, "{key} SGD");
            assert_eq!(net.lr_factor(&key, true), p.adam_lr, "{key} Adam");
        }
        // the draws have the table's standard deviation: the sample variance of m entries
        // has relative standard error sqrt(2 / m) (<= 9% here); 4 of them
        let w = sd[&format!("{i}.weight")].to_vec();
        let var = w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64;
        let rel = (var / table.weight.init_std.powi(2) - 1.0).abs();
        assert!(
            rel < 4.0 * (2.0 / w.len() as f64).sqrt(),
            "layer {i}: variance {var} against {}",
            table.weight.init_std.powi(2)
        );
    }
    // the forward pass by direct loops, with the table's multipliers
    let x = Tensor::<f64>::randn(&[5, 6], &mut seeded_rng(2));
    let got = net.forward(&Var::constant(x.clone())).unwrap().value().to_vec();
    let mut h: Vec<Vec<f64>> = x.to_vec().chunks(6).map(<[f64]>::to_vec).collect();
    for (k, &(i, role, fan_in)) in roles.iter().enumerate() {
        let t = DenseScaling::anchored(AbcScheme::Mup, role, r, 2.0, 0.05, fan_in).unwrap();
        let (w, b) = (sd[&format!("{i}.weight")].to_vec(), sd[&format!("{i}.bias")].to_vec());
        let out = b.len();
        h = h
            .iter()
            .map(|row| {
                (0..out)
                    .map(|o| {
                        let z = t.weight.multiplier * (0..fan_in).map(|j| w[o * fan_in + j] * row[j]).sum::<f64>()
                            + t.bias.multiplier * b[o];
                        if k < 2 { z.max(0.0) } else { z }
                    })
                    .collect()
            })
            .collect();
    }
    assert_close_slices(&got, &h.concat(), Tolerance::new(1e-12, 1e-13));
}

#[test]
fn the_trainer_steps_each_parameter_at_its_own_rate() {
    // One full-batch step from the same gradients g_p:
    //   SGD:  theta' = theta - eta lambda_p g_p                        (lambda_p the SGD factor)
    //   Adam: theta' = theta - eta lambda_p g_p / (|g_p| + eps)         (first step; the Adam factor)
    let d = data(16, 3);
    let eta = 0.05;
    for param in [MUP_BASE, r#"{"kind": "abc", "scheme": "ntk", "base_units": [8, 8, 3]}"#] {
        for adam in [false, true] {
            let net = mlp(32, param, "").build::<f64>().unwrap();
            let before = net.state_dict();
            let logits = net.forward(&Var::constant(d.features().clone())).unwrap();
            let grads = dl_layers::cross_entropy(&logits, d.labels().unwrap(), 0.0).unwrap().backward().unwrap();
            let g: BTreeMap<String, Vec<f64>> = net
                .parameters()
                .into_iter()
                .map(|p| (p.name.clone(), p.param.grad(&grads).unwrap().to_vec()))
                .collect();
            drop(logits);
            let factors: BTreeMap<String, f64> = g.keys().map(|k| (k.clone(), net.lr_factor(k, adam))).collect();
            if param == MUP_BASE && adam {
                // muP's effective Adam rates (multiplier times factor, TP5 Table 3) at r = 4:
                // input weights 1, hidden weights 1/r, readout 1/r
                let net_ref = mlp(32, param, "").build::<f64>().unwrap();
                let t_mult = |i: usize| net_ref.layers()[i].dense_multipliers.unwrap().0;
                let effective = |i: usize| factors[&format!("{i}.weight")] * t_mult(i);
                assert_eq!((effective(0), effective(2), effective(4)), (1.0, 0.25, 0.25));
            }
            let opt = if adam {
                format!(r#"{{"kind": "adam", "lr": {eta}, "eps": 1e-8}}"#)
            } else {
                format!(r#"{{"kind": "sgd", "lr": {eta}}}"#)
            };
            let cfg =
                TrainConfig::from_json(&format!(r#"{{"epochs": 1, "batch_size": 16, "optimizer": {opt}}}"#)).unwrap();
            let mut t = Trainer::new(net, cfg).unwrap();
            t.train_step(&d).unwrap();
            let after = t.network().state_dict();
            for (name, gv) in &g {
                let step = |g: f64| if adam { g / (g.abs() + 1e-8) } else { g };
                let expect: Vec<f64> =
                    before[name].to_vec().iter().zip(gv).map(|(p, g)| p - eta * factors[name] * step(*g)).collect();
                assert_close_slices(&after[name].to_vec(), &expect, Tolerance::new(1e-12, 1e-15));
            }
        }
    }
}

#[test]
fn abc_configurations_that_do_not_fit_are_named_errors() {
    let err = |c: NetworkConfig| c.build::<f64>().err().map(|e| e.to_string()).unwrap_or_default();
    let e = err(mlp(16, r#"{"kind": "mup", "base_units": [8, 3]}"#, ""));
    assert!(e.contains("parameterisation.base_units") && e.contains("2 entries for 3 dense layers"), "{e}");
    let e = err(mlp(16, r#"{"kind": "mup", "base_units": [8, 8, 4]}"#, ""));
    assert!(e.contains("base_units[2]") && e.contains("3 outputs"), "{e}");
    let e = err(mlp(16, r#"{"kind": "mup", "base_units": [8, 4, 3]}"#, ""));
    assert!(e.contains("layers[1].units") && e.contains("same multiple"), "{e}");
    let e = err(mlp(16, r#"{"kind": "mup", "base_units": [8, 0, 3]}"#, ""));
    assert!(e.contains("base_units[1]: must be positive"), "{e}");
    let pytorch = NetworkConfig::from_json(r#"{"input_shape": [6], "layers": [{"type": "dense", "units": 3}], "parameterisation": {"kind": "mup", "base_units": [3]}}"#).unwrap();
    assert!(err(pytorch).contains("gaussian or critical"));
    let conv = NetworkConfig::from_json(
        r#"{"input_shape": [1, 8], "layers": [{"type": "conv1d", "channels": 4, "kernel_size": 3}, {"type": "flatten"}, {"type": "dense", "units": 3}],
            "init": {"scheme": "gaussian", "sigma_w2": 2.0}, "parameterisation": {"kind": "mup", "base_units": [3]}}"#,
    )
    .unwrap();
    assert!(err(conv).contains("layers[0]: the mup and abc parameterisations are implemented for dense layers"));
    let e = err(mlp(8, r#"{"kind": "standard"}"#, r#", "lazy_scale": 0.0"#));
    assert!(e.contains("lazy_scale") && e.contains("got 0"), "{e}");
}

#[test]
fn the_layerwise_kernel_is_the_jacobian_kernel() {
    let x = Tensor::<f64>::randn(&[7, 6], &mut seeded_rng(5));
    for param in [r#"{"kind": "standard"}"#, MUP_BASE, r#"{"kind": "abc", "scheme": "ntk", "base_units": [8, 8, 3]}"#] {
        let net = mlp(24, param, "").build::<f64>().unwrap();
        let k = layerwise_ntk(&net, &x).unwrap();
        let j = network_ntk(&net, &x, OutputKernel::Trace, 1 << 24).unwrap();
        // sums of a few hundred products in a different order: round-off only
        assert_close_slices(&k.to_vec(), &j.to_vec(), Tolerance::new(1e-11, 1e-12));
    }
    let ntk = NetworkConfig::from_json(
        r#"{"input_shape": [6], "seed": 2, "layers": [{"type": "dense", "units": 20, "activation": "tanh"}, {"type": "dense", "units": 2}],
            "parameterisation": {"kind": "ntk", "sigma_w": 1.5, "sigma_b": 0.3}}"#,
    )
    .unwrap()
    .build::<f64>()
    .unwrap();
    let k = layerwise_ntk(&ntk, &x).unwrap();
    assert_close_slices(
        &k.to_vec(),
        &network_ntk(&ntk, &x, OutputKernel::Trace, 1 << 24).unwrap().to_vec(),
        Tolerance::new(1e-11, 1e-12),
    );
}

#[test]
fn the_layerwise_kernel_names_a_layer_it_cannot_handle() {
    let x = Tensor::<f64>::randn(&[6, 6], &mut seeded_rng(6));
    let conv = NetworkConfig::from_json(r#"{"input_shape": [1, 6], "layers": [{"type": "conv1d", "channels": 2, "kernel_size": 3}, {"type": "flatten"}, {"type": "dense", "units": 2}]}"#)
        .unwrap()
        .build::<f64>()
        .unwrap();
    let e = layerwise_ntk(&conv, &x.reshape(&[6, 1, 6]).unwrap()).unwrap_err().to_string();
    assert!(e.contains("layer 0 (Conv1d") && e.contains("network_ntk"), "{e}");
}

#[test]
fn the_lazy_model_is_alpha_times_the_centred_network_and_its_steps_scale_like_one_over_alpha() {
    let x = Tensor::<f64>::randn(&[5, 6], &mut seeded_rng(7));
    let plain = mlp(16, r#"{"kind": "standard"}"#, "").build::<f64>().unwrap();
    let f0 = plain.forward(&Var::constant(x.clone())).unwrap().value().to_vec();
    let lazy = mlp(16, r#"{"kind": "standard"}"#, r#", "lazy_scale": 4.0"#).build::<f64>().unwrap();
    assert_eq!(lazy.lazy_scale(), Some(4.0));
    assert_eq!(lazy.num_parameters(), plain.num_parameters(), "the reference is not trainable");
    assert!(
        lazy.forward(&Var::constant(x.clone())).unwrap().value().to_vec().iter().all(|&v| v == 0.0),
        "f = f_0 at initialisation"
    );
    // move the parameters: the output is 4 (f(w) - f_0)
    let moved: BTreeMap<String, Tensor<f64>> =
        lazy.state_dict().into_iter().map(|(k, t)| (k, t.map(|v| v * 1.1 + 0.01))).collect();
    lazy.load_state_dict(&moved).unwrap();
    plain.load_state_dict(&moved).unwrap();
    let f = plain.forward(&Var::constant(x.clone())).unwrap().value().to_vec();
    let expect: Vec<f64> = f.iter().zip(&f0).map(|(a, b)| 4.0 * (a - b)).collect();
    assert_close_slices(
        &lazy.forward(&Var::constant(x.clone())).unwrap().value().to_vec(),
        &expect,
        Tolerance::new(1e-12, 1e-13),
    );
    // first step at initialisation: the logits are 0 whatever alpha, dL/dlogits is the same,
    // and the objective L / alpha^2 of alpha (f - f_0) has gradient (1/alpha) J^T dL/dlogits
    let d = data(16, 8);
    let step = |alpha: f64| {
        let net = mlp(16, r#"{"kind": "standard"}"#, &format!(r#", "lazy_scale": {alpha}"#)).build::<f64>().unwrap();
        let before = net.state_dict();
        let mut t = Trainer::new(net, sgd(0.5)).unwrap();
        let m = t.train_step(&d).unwrap();
        assert!((m.loss - 3f64.ln()).abs() < 1e-12, "the recorded loss is L at zero logits");
        let after = t.network().state_dict();
        before
            .iter()
            .flat_map(|(k, b)| b.to_vec().into_iter().zip(after[k].to_vec()).map(|(x, y)| y - x).collect::<Vec<_>>())
            .collect::<Vec<f64>>()
    };
    let (d1, d8) = (step(1.0), step(8.0));
    let scaled: Vec<f64> = d1.iter().map(|v| v / 8.0).collect();
    assert_close_slices(&d8, &scaled, Tolerance::new(1e-10, 1e-16));
    let dropout = NetworkConfig::from_json(r#"{"input_shape": [6], "lazy_scale": 2.0, "layers": [{"type": "dense", "units": 4}, {"type": "dropout", "p": 0.5}, {"type": "dense", "units": 3}]}"#).unwrap();
    assert!(dropout.build::<f64>().err().unwrap().to_string().contains("fixed function"));
}

#[test]
fn embedding_layers_look_up_token_vectors() {
    let cfg = NetworkConfig::from_json(
        r#"{"input_shape": [2], "seed": 4, "layers": [{"type": "embedding", "num_embeddings": 5, "dim": 3, "std": 0.5}, {"type": "flatten"}, {"type": "dense", "units": 5}]}"#,
    )
    .unwrap();
    let net = cfg.build::<f64>().unwrap();
    assert_eq!(net.output_shape(), &[5]);
    let table = net.state_dict()["0.weight"].to_vec();
    let x = Tensor::from_vec(vec![4.0, 0.0, 2.0, 2.0], &[2, 2]).unwrap();
    let h = net.forward_traced(&Var::constant(x)).unwrap()[1].value().to_vec();
    let expect: Vec<f64> = [4, 0, 2, 2].iter().flat_map(|&t| table[t * 3..t * 3 + 3].to_vec()).collect();
    assert_eq!(h, expect);
    // std 0.5: 15 draws of N(0, 0.25), a loose check that the scale was applied
    let var = table.iter().map(|v| v * v).sum::<f64>() / 15.0;
    assert!(var < 0.75, "{var}");
    let e = net.forward(&Var::constant(Tensor::from_vec(vec![1.5, 0.0], &[1, 2]).unwrap())).unwrap_err().to_string();
    assert!(e.contains("whole-number ids"), "{e}");
    let bad = NetworkConfig::from_json(
        r#"{"input_shape": [2], "layers": [{"type": "embedding", "num_embeddings": 0, "dim": 3}]}"#,
    )
    .unwrap();
    assert!(bad.build::<f64>().err().unwrap().to_string().contains("layers[0].num_embeddings: must be positive"));
}
