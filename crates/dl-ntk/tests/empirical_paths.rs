//! The three empirical-NTK paths agree with each other and with closed forms.

use dl_init::Activation;
use dl_layers::{Act, Linear, Module, Sequential};
use dl_ntk::{
    Architecture, OutputKernel, Parameterisation, empirical_ntk_batched, empirical_ntk_naive, empirical_ntk_structured,
};
use dl_tensor::compare::{Tolerance, assert_close_slices};
use dl_tensor::{Tensor, seeded_rng};

/// Sums of a few hundred products reordered between GEMM paths: ~1e-13 relative.
const AGREE: Tolerance = Tolerance::new(1e-11, 1e-12);

#[test]
fn a_linear_model_has_the_closed_form_kernel() {
    // f(x) = W x + b, K outputs: Theta_{kk'}(x, x') = delta_{kk'} (x . x' + 1)
    let mut rng = seeded_rng(0);
    let (d, k) = (3, 2);
    let lin =
        Linear::<f64>::from_tensors(Tensor::randn(&[k, d], &mut rng), Some(Tensor::randn(&[k], &mut rng))).unwrap();
    let x1 = Tensor::<f64>::randn(&[4, d], &mut rng);
    let x2 = Tensor::<f64>::randn(&[5, d], &mut rng);
    let got = empirical_ntk_naive(&lin, &x1, Some(&x2), OutputKernel::Full).unwrap();
    assert_eq!(got.kernel.shape(), &[8, 10]);
    let (a, b) = (x1.to_vec(), x2.to_vec());
    let mut expected = vec![0.0; 80];
    for n in 0..4 {
        for m in 0..5 {
            let dot: f64 = (0..d).map(|i| a[n * d + i] * b[m * d + i]).sum();
            for kk in 0..k {
                expected[(n * k + kk) * 10 + m * k + kk] = dot + 1.0;
            }
        }
    }
    assert_close_slices(&got.kernel.to_vec(), &expected, AGREE);
    assert_eq!(got.parameters, k * d + k);
}

fn mlp(param: Parameterisation, outputs: usize, seed: u64) -> dl_ntk::FiniteNetwork {
    let arch = Architecture::mlp(2, 7, Activation::Tanh, 1.7, 0.1, outputs, param).unwrap();
    arch.sample(5, &mut seeded_rng(seed)).unwrap()
}

#[test]
fn naive_batched_and_structured_agree_for_every_output_layout() {
    let mut rng = seeded_rng(1);
    let x1 = Tensor::<f64>::randn(&[6, 5], &mut rng);
    let x2 = Tensor::<f64>::randn(&[4, 5], &mut rng);
    for param in [Parameterisation::Ntk, Parameterisation::Standard] {
        let net = mlp(param, 3, 2);
        for output in [OutputKernel::Full, OutputKernel::Trace, OutputKernel::DiagonalBlocks] {
            for x2 in [None, Some(&x2)] {
                let naive = empirical_ntk_naive(&net, &x1, x2, output).unwrap();
                let p = naive.parameters;
                // room for two examples' Jacobians per block: forces 3 blocks of set 1
                let budget = 2 * 2 * 3 * p * 8;
                let batched = empirical_ntk_batched(&net, &x1, x2, output, budget).unwrap();
                let structured = empirical_ntk_structured(&net, &x1, x2, output).unwrap();
                assert_eq!(naive.kernel.shape(), batched.kernel.shape());
                assert_eq!(naive.kernel.shape(), structured.kernel.shape());
                assert_close_slices(&batched.kernel.to_vec(), &naive.kernel.to_vec(), AGREE);
                assert_close_slices(&structured.kernel.to_vec(), &naive.kernel.to_vec(), AGREE);
                assert!(batched.peak_bytes <= budget, "{} > {budget}", batched.peak_bytes);
                assert!(batched.peak_bytes < naive.peak_bytes);
                assert!(structured.peak_bytes < naive.peak_bytes);
            }
        }
    }
}

#[test]
fn jacobian_rows_match_central_differences() {
    // Theta(x, x) = ||df/dtheta||^2 for a scalar output; check against finite differences
    let net = mlp(Parameterisation::Ntk, 1, 3);
    let x = Tensor::<f64>::randn(&[1, 5], &mut seeded_rng(4));
    let f =
        |net: &dl_ntk::FiniteNetwork| net.forward(&dl_autodiff::Var::constant(x.clone())).unwrap().value().to_vec()[0];
    let h = 1e-5;
    let mut sum = 0.0;
    for p in net.parameters() {
        let n = p.param.shape().iter().product::<usize>();
        for i in 0..n {
            let bump = |delta: f64| p.param.update(|v| v.array_mut().as_slice_mut().unwrap()[i] += delta);
            bump(h);
            let up = f(&net);
            bump(-2.0 * h);
            let down = f(&net);
            bump(h);
            let g = (up - down) / (2.0 * h);
            sum += g * g;
        }
    }
    let got = empirical_ntk_naive(&net, &x, None, OutputKernel::Full).unwrap().kernel.to_vec()[0];
    // central differences with h = 1e-5: O(h^2) = 1e-10 truncation, ~1e-11 rounding per entry
    assert_close_slices(&[got], &[sum], Tolerance::new(1e-7, 1e-9));
}

#[test]
fn any_module_works_and_bad_inputs_say_what_is_wrong() {
    let mut rng = seeded_rng(5);
    let net = Sequential::<f64>::new()
        .with(Linear::new(3, 4, true, &mut rng))
        .with(Act::relu())
        .with(Linear::new(4, 1, true, &mut rng));
    let x = Tensor::<f64>::randn(&[3, 3], &mut rng);
    let k = empirical_ntk_batched(&net, &x, None, OutputKernel::Trace, 1 << 20).unwrap();
    assert_eq!(k.kernel.shape(), &[3, 3]);
    let bad = Tensor::<f64>::randn(&[2, 4], &mut rng);
    let e = empirical_ntk_naive(&net, &x, Some(&bad), OutputKernel::Trace).unwrap_err().to_string();
    assert!(e.contains("same feature shape") && e.contains("[3, 3]") && e.contains("[2, 4]"), "{e}");
    let e = empirical_ntk_naive(&net, &bad, None, OutputKernel::Trace).unwrap_err().to_string();
    assert!(e.contains("Linear(3 -> 4)"), "{e}");
    let e = empirical_ntk_batched(&net, &x, None, OutputKernel::Trace, 100).unwrap_err().to_string();
    assert!(e.contains("budget of 100 bytes"), "{e}");
}
