//! Every dl-layers module reports its typed kind, with the parameters tools need; the
//! trait's defaults serve parameterless, mode-independent layers.

use dl_layers::{
    Act, Activation, AvgPool1d, AvgPool2d, CellKind, Conv1d, Conv2d, ConvOptions, Dropout, Embedding, Flatten,
    GlobalAvgPool, GlobalAvgPool1d, LayerKind, Linear, MaxPool1d, MaxPool2d, Module, PoolKind, PoolOptions, Recurrent,
    Residual, Sequential,
};
use dl_tensor::seeded_rng;

#[test]
fn every_module_reports_its_kind() {
    let mut rng = seeded_rng(0);
    let k = |m: &dyn Module<f64>| m.kind();
    assert_eq!(
        k(&Linear::<f64>::new(3, 4, false, &mut rng)),
        LayerKind::Linear { in_features: 3, out_features: 4, bias: false }
    );
    let opts = ConvOptions::default().stride(2).padding(1).dilation(2);
    let conv2 = Conv2d::<f64>::new(2, 6, (3, 5), opts, &mut rng).unwrap();
    assert_eq!(
        k(&conv2),
        LayerKind::Conv { spatial_dims: 2, in_channels: 2, out_channels: 6, kernel: vec![3, 5], options: opts }
    );
    let conv1 = Conv1d::<f64>::new(4, 4, 3, ConvOptions::default().groups(2), &mut rng).unwrap();
    assert!(
        matches!(k(&conv1), LayerKind::Conv { spatial_dims: 1, ref kernel, options, .. } if kernel == &[3] && options.groups == 2)
    );
    assert_eq!(k(&Act::leaky_relu(0.3)), LayerKind::Activation(Activation::LeakyRelu(0.3)));
    assert_eq!(k(&Act::elu(1.5)), LayerKind::Activation(Activation::Elu(1.5)));
    let p = PoolOptions::new(2).stride(1);
    assert_eq!(k(&MaxPool2d::new(p)), LayerKind::Pool(PoolKind::Max { spatial_dims: 2, options: p }));
    assert_eq!(k(&AvgPool2d::new(p)), LayerKind::Pool(PoolKind::Avg { spatial_dims: 2, options: p }));
    assert_eq!(k(&MaxPool1d::new(p)), LayerKind::Pool(PoolKind::Max { spatial_dims: 1, options: p }));
    assert_eq!(k(&AvgPool1d::new(p)), LayerKind::Pool(PoolKind::Avg { spatial_dims: 1, options: p }));
    assert_eq!(k(&GlobalAvgPool::new()), LayerKind::Pool(PoolKind::GlobalAvg { spatial_dims: None }));
    assert_eq!(k(&GlobalAvgPool1d::new()), LayerKind::Pool(PoolKind::GlobalAvg { spatial_dims: Some(1) }));
    assert_eq!(k(&Flatten::new()), LayerKind::Flatten);
    assert_eq!(k(&Dropout::new(0.25, 0).unwrap()), LayerKind::Dropout { p: 0.25 });
    assert_eq!(k(&Embedding::<f64>::new(10, 3, &mut rng)), LayerKind::Embedding { num_embeddings: 10, dim: 3 });
    let gru = Recurrent::<f64>::gru(3, 4, &mut rng);
    assert_eq!(k(&gru), LayerKind::Recurrent { cell: CellKind::Gru, bidirectional: false });
    assert_eq!(k(&Residual::new(Act::relu())), LayerKind::Residual { projection: false });
    let seq = Sequential::<f64>::new().with(Act::relu()).with(Flatten::new());
    assert_eq!(k(&seq), LayerKind::Sequential { len: 2 });
    assert_eq!(k(&seq).name(), "Sequential");
    assert_eq!(k(&gru).name(), "GRU");
}

#[test]
fn parameterless_layers_use_the_defaults() {
    let mut act = Act::relu();
    Module::<f64>::train(&mut act);
    // nothing in an activation depends on the mode: it reports evaluation mode
    assert!(!Module::<f64>::is_training(&act));
    assert!(Module::<f64>::parameters(&act).is_empty());
    assert!(Module::<f64>::state_dict(&Flatten::new()).is_empty());
    // dropout keeps its own mode
    let mut d = Dropout::new(0.5, 0).unwrap();
    assert!(Module::<f64>::is_training(&d));
    Module::<f64>::eval(&mut d);
    assert!(!Module::<f64>::is_training(&d));
}
