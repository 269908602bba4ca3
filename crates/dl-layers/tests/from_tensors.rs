//! The PyTorch-style layer API: every layer built from given tensors equals the random
//! build with those tensors loaded (same state dict, same output); wrong shapes name the
//! layer, the parameter and both shapes; recurrent layers take sequence lengths; gradients
//! are found by parameter name.

use std::collections::BTreeMap;

use dl_autodiff::Var;
use dl_layers::{
    CellKind, Conv1d, Conv2d, ConvOptions, DirectionTensors, Embedding, LayerError, Linear, Module, NamedGradients,
    Recurrent, Sequential, mask_from_lengths,
};
use dl_tensor::{Tensor, TensorRng, seeded_rng};

/// A copy of `module`'s state dict with every tensor redrawn (the values a user would give).
fn fresh_state(module: &dyn Module<f64>, rng: &mut TensorRng) -> BTreeMap<String, Tensor<f64>> {
    module.state_dict().into_iter().map(|(k, v)| (k, Tensor::randn(v.shape(), rng))).collect()
}

/// `given` (built from tensors) and `random` (built randomly, then loaded with the same
/// tensors) have the same state dict, parameter names and output on `x`.
fn same(given: &dyn Module<f64>, random: &dyn Module<f64>, state: &BTreeMap<String, Tensor<f64>>, x: &Var<f64>) {
    random.load_state_dict(state).unwrap();
    assert_eq!(given.state_dict(), random.state_dict());
    let names = |m: &dyn Module<f64>| m.parameters().into_iter().map(|p| p.name).collect::<Vec<_>>();
    assert_eq!(names(given), names(random));
    assert_eq!(given.describe(), random.describe());
    assert_eq!(given.forward(x).unwrap().value().to_vec(), random.forward(x).unwrap().value().to_vec());
}

#[test]
fn every_layer_built_from_tensors_equals_the_loaded_random_build() {
    let mut rng = seeded_rng(1);
    let linear = Linear::<f64>::new(3, 4, true, &mut rng);
    let s = fresh_state(&linear, &mut rng);
    let given = Linear::from_tensors(s["weight"].clone(), Some(s["bias"].clone())).unwrap();
    same(&given, &linear, &s, &Var::constant(Tensor::randn(&[2, 3], &mut rng)));

    let opts = ConvOptions::default().groups(2).stride(2).padding(1);
    let conv = Conv2d::<f64>::new(4, 6, (3, 2), opts, &mut rng).unwrap();
    let s = fresh_state(&conv, &mut rng);
    let given = Conv2d::from_tensors(s["weight"].clone(), Some(s["bias"].clone()), opts).unwrap();
    assert_eq!((given.in_channels, given.out_channels, given.kernel), (4, 6, (3, 2)));
    same(&given, &conv, &s, &Var::constant(Tensor::randn(&[2, 4, 7, 6], &mut rng)));

    let opts = ConvOptions::default().same().dilation(2).bias(false);
    let conv = Conv1d::<f64>::new(3, 5, 3, opts, &mut rng).unwrap();
    let s = fresh_state(&conv, &mut rng);
    let given = Conv1d::from_tensors(s["weight"].clone(), None, opts).unwrap();
    same(&given, &conv, &s, &Var::constant(Tensor::randn(&[2, 3, 9], &mut rng)));

    let emb = Embedding::<f64>::new(7, 3, &mut rng);
    let s = fresh_state(&emb, &mut rng);
    let given = Embedding::from_tensors(s["weight"].clone()).unwrap();
    same(&given, &emb, &s, &Var::constant(Tensor::from_vec(vec![0.0, 6.0, 2.0, 2.0], &[2, 2]).unwrap()));

    for kind in [CellKind::RnnTanh, CellKind::RnnRelu, CellKind::Lstm, CellKind::Gru] {
        for bidirectional in [false, true] {
            let layer = Recurrent::<f64>::new(kind, 3, 4, bidirectional, &mut rng);
            let s = fresh_state(&layer, &mut rng);
            let dir = |suffix: &str| DirectionTensors {
                weight_ih: s[&format!("weight_ih_l0{suffix}")].clone(),
                weight_hh: s[&format!("weight_hh_l0{suffix}")].clone(),
                bias_ih: s[&format!("bias_ih_l0{suffix}")].clone(),
                bias_hh: s[&format!("bias_hh_l0{suffix}")].clone(),
            };
            let given = Recurrent::from_tensors(kind, dir(""), bidirectional.then(|| dir("_reverse"))).unwrap();
            same(&given, &layer, &s, &Var::constant(Tensor::randn(&[5, 2, 3], &mut rng)));
        }
    }
}

#[test]
fn wrong_shapes_name_the_layer_the_parameter_and_both_shapes() {
    let t = |shape: &[usize]| Tensor::<f64>::zeros(shape);
    let message = |e: LayerError| {
        assert!(matches!(e, LayerError::ParamShape { .. }), "{e}");
        e.to_string()
    };
    let opts = ConvOptions::default();
    let cases = [
        (
            message(Linear::from_tensors(t(&[4, 3, 1]), None).err().unwrap()),
            "Linear: parameter weight must have shape (out_features, in_features): 2 axes, got [4, 3, 1]",
        ),
        (
            message(Conv2d::from_tensors(t(&[6, 2, 3, 3]), Some(t(&[5])), opts).err().unwrap()),
            "Conv2d(2 -> 6, kernel 3x3): parameter bias must have shape [6], got [5]",
        ),
        (
            message(Conv1d::from_tensors(t(&[6, 2, 3, 3]), None, opts).err().unwrap()),
            "Conv1d: parameter weight must have shape (out_channels, in_channels / groups, k): 3 axes, got [6, 2, 3, 3]",
        ),
        (
            message(Embedding::from_tensors(t(&[7])).err().unwrap()),
            "Embedding: parameter weight must have shape (num_embeddings, dim): 2 axes, got [7]",
        ),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
    let dir = |ih: [usize; 2], hh: [usize; 2], b: usize| DirectionTensors {
        weight_ih: t(&ih),
        weight_hh: t(&hh),
        bias_ih: t(&[b]),
        bias_hh: t(&[b]),
    };
    let e = message(Recurrent::from_tensors(CellKind::Lstm, dir([16, 3], [16, 4], 15), None).err().unwrap());
    assert_eq!(e, "LSTM(3 -> 4): parameter bias_ih_l0 must have shape [16], got [15]");
    let e = message(Recurrent::from_tensors(CellKind::Lstm, dir([14, 3], [14, 4], 14), None).err().unwrap());
    assert!(e.starts_with("LSTM: parameter weight_ih_l0 must have shape (4 gates x hidden_size, input_size)"), "{e}");
    let e = message(
        Recurrent::from_tensors(CellKind::RnnTanh, dir([4, 3], [4, 4], 4), Some(dir([4, 2], [4, 4], 4))).err().unwrap(),
    );
    assert_eq!(
        e,
        "RNN(tanh)(3 -> 4, bidirectional): parameter weight_ih_l0_reverse must have shape [4, 3], got [4, 2]"
    );
    // groups that do not divide the channels are a configuration error
    let e = Conv2d::from_tensors(t(&[5, 2, 3, 3]), None, opts.groups(2)).err().unwrap().to_string();
    assert!(e.contains("divisible by groups 2"), "{e}");
}

/// Sequence lengths give the same outputs, states and gradients as the equivalent mask,
/// and each sequence the same final state as running it alone (a direct reference).
#[test]
fn recurrent_layers_take_sequence_lengths() {
    let mut rng = seeded_rng(2);
    let (t, b) = (5, 3);
    let lengths = [5, 2, 4];
    for kind in [CellKind::Lstm, CellKind::Gru] {
        let layer = Recurrent::<f64>::new(kind, 2, 3, true, &mut rng);
        let x = Var::constant(Tensor::<f64>::randn(&[t, b, 2], &mut rng));
        let by_lengths = layer.forward_with_lengths(&x, None, &lengths).unwrap();
        let mask = mask_from_lengths::<f64>(&lengths, t).unwrap();
        let by_mask = layer.forward_sequence(&x, None, Some(&mask)).unwrap();
        assert_eq!(by_lengths.output.value().to_vec(), by_mask.output.value().to_vec());
        assert_eq!(by_lengths.h_n.value().to_vec(), by_mask.h_n.value().to_vec());
        let (g1, g2) = (
            by_lengths.output.sum_all().unwrap().backward().unwrap(),
            by_mask.output.sum_all().unwrap().backward().unwrap(),
        );
        for p in layer.parameters() {
            assert_eq!(p.param.grad(&g1).unwrap().to_vec(), p.param.grad(&g2).unwrap().to_vec(), "{}", p.name);
        }
        for (j, &len) in lengths.iter().enumerate() {
            let alone = x.value().narrow(0, 0, len).unwrap().narrow(1, j, 1).unwrap().contiguous();
            let out = layer.forward_sequence(&Var::constant(alone), None, None).unwrap();
            let got = by_lengths.h_n.value().narrow(1, j, 1).unwrap().contiguous().to_vec();
            let want = out.h_n.value().to_vec();
            assert!(got.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-14), "{kind:?} sequence {j}");
        }
        let e = layer.forward_with_lengths(&x, None, &[5, 2]).err().unwrap().to_string();
        assert!(e.contains("2 sequence lengths for a batch of 3") && e.contains(kind.name()), "{e}");
        let e = layer.forward_with_lengths(&x, None, &[5, 6, 1]).err().unwrap().to_string();
        assert!(e.contains("sequence 1 has length 6") && e.contains("5 steps"), "{e}");
    }
    assert_eq!(mask_from_lengths::<f32>(&[2, 0], 2).unwrap().to_vec(), vec![1.0, 0.0, 1.0, 0.0]);
    assert!(mask_from_lengths::<f32>(&[3], 2).is_err());
}

/// Gradients by name agree with each parameter's own gradient, for a network of a
/// convolution and a linear layer; an unknown name is an error listing the names.
#[test]
fn gradients_by_parameter_name() {
    let mut rng = seeded_rng(3);
    let net = Sequential::<f64>::new()
        .with(Conv1d::new(2, 3, 3, ConvOptions::default().same(), &mut rng).unwrap())
        .with(Linear::new(4, 2, true, &mut rng));
    let x = Var::constant(Tensor::<f64>::randn(&[5, 2, 4], &mut rng));
    let grads = net.forward(&x).unwrap().square().unwrap().sum_all().unwrap().backward().unwrap();
    let named = net.named_gradients(&grads);
    let names: Vec<&str> = named.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["0.weight", "0.bias", "1.weight", "1.bias"]);
    for p in net.parameters() {
        let g = net.gradient(&grads, &p.name).unwrap().unwrap();
        assert_eq!(g.to_vec(), p.param.grad(&grads).unwrap().to_vec());
    }
    let e = net.gradient(&grads, "0.weight_ih_l0").unwrap_err().to_string();
    assert!(e.contains("no parameter named '0.weight_ih_l0'") && e.contains("1.bias"), "{e}");
    // a parameter the loss does not reach has no gradient
    let lstm = Recurrent::<f64>::lstm(2, 3, &mut rng);
    let grads = Var::leaf(Tensor::<f64>::ones(&[1]), true).sum_all().unwrap().backward().unwrap();
    assert!(lstm.gradient(&grads, "weight_hh_l0").unwrap().is_none());
    assert!(lstm.named_gradients(&grads).is_empty());
}
