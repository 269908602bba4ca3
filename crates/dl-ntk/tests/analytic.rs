//! The analytic kernels: closed forms, bad inputs, lazy training of wide networks.

use dl_init::Activation;
use dl_ntk::feature_learning::{kernel_distance, kernel_target_alignment};
use dl_ntk::{Architecture, KernelLayer, Parameterisation};
use dl_tensor::compare::{Tolerance, assert_close_slices};
use dl_tensor::{Tensor, seeded_rng};

#[test]
fn one_relu_layer_matches_the_arc_cosine_formula_written_out() {
    // x = (1, 0), x' = (cos a, sin a): K0 = x.x'/2, then Dense(2, 0), ReLU, Dense(1, 0)
    let a: f64 = 1.0;
    let x = Tensor::<f64>::from_vec(vec![1.0, 0.0, a.cos(), a.sin()], &[2, 2]).unwrap();
    let arch = Architecture::mlp(1, 8, Activation::Relu, 2.0, 0.0, 1, Parameterisation::Ntk).unwrap();
    let k = arch.kernels(&x, None).unwrap();
    // layer-1 covariance q = 2 * 1/2 = 1 on the diagonal, 2 * cos(a)/2 = cos a off it
    let pi = std::f64::consts::PI;
    let k1 = (a.sin() + (pi - a) * a.cos()) / (2.0 * pi);
    let k0 = (pi - a) / (2.0 * pi);
    let nngp = 2.0 * k1;
    let ntk = nngp + 2.0 * a.cos() * 2.0 * k0 / 2.0 * 1.0; // Theta_1 = K_1 = cos a, times E[phi'phi'], times sigma_w2
    // one atan2 / sin / cos each: a few ulps
    assert_close_slices(&[k.nngp.to_vec()[1], k.ntk.to_vec()[1]], &[nngp, ntk], Tolerance::new(1e-14, 1e-15));
    assert_close_slices(&[k.nngp.to_vec()[0], k.ntk.to_vec()[0]], &[1.0, 2.0], Tolerance::new(1e-14, 1e-15));
}

#[test]
fn bad_inputs_and_unsupported_layers_say_which() {
    let mut rng = seeded_rng(0);
    let arch = Architecture::mlp(1, 8, Activation::Relu, 2.0, 0.0, 1, Parameterisation::Ntk).unwrap();
    let (a, b) = (Tensor::<f64>::randn(&[3, 4], &mut rng), Tensor::<f64>::randn(&[2, 5], &mut rng));
    let e = arch.kernels(&a, Some(&b)).unwrap_err().to_string();
    assert!(e.contains("same input dimension") && e.contains("[3, 4]") && e.contains("[2, 5]"), "{e}");
    let step = Activation::custom("step", |x| if x > 0.0 { 1.0 } else { 0.0 }, |_| 0.0).with_kinks(&[0.0]);
    let e = Architecture::new(vec![KernelLayer::dense(4, 1.0, 0.0), KernelLayer::Activation(step)], Parameterisation::Ntk).unwrap_err().to_string();
    assert!(e.contains("layer 1") && e.contains("step") && e.contains("not differentiable"), "{e}");
    let selu = Architecture::mlp(1, 8, Activation::Selu, 1.0, 0.0, 1, Parameterisation::Ntk).unwrap();
    assert!(selu.kernels(&a, None).is_ok(), "the analytic kernel of SELU comes from quadrature");
    let e = selu.sample(4, &mut rng).err().unwrap().to_string();
    assert!(e.contains("layer 1") && e.contains("selu"), "{e}");
    let e = Architecture::new(vec![KernelLayer::dense(0, 1.0, 0.0)], Parameterisation::Ntk).unwrap_err().to_string();
    assert!(e.contains("layer 0") && e.contains("at least one unit"), "{e}");
}

#[test]
fn kernel_measures_have_their_defining_values() {
    let mut rng = seeded_rng(1);
    let y = Tensor::<f64>::randn(&[4, 1], &mut rng);
    let yy = y.matmul(&y.transpose(0, 1).unwrap()).unwrap();
    assert_close_slices(&[kernel_target_alignment(&yy, &y).unwrap()], &[1.0], Tolerance::default_for::<f64>());
    let k = Tensor::<f64>::randn(&[4, 4], &mut rng);
    let k3 = k.map(|v| 3.0 * v);
    assert_close_slices(&[kernel_distance(&k, &k3).unwrap()], &[0.0], Tolerance::new(0.0, 1e-15));
}
