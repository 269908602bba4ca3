//! The analytic infinite-width kernels against Monte Carlo over random finite networks.
//!
//! With one hidden layer the expectations are exact at any width: the hidden
//! pre-activations are exactly Gaussian, so E[f(x) f(x')] = K and E[Theta_emp] = Theta.
//! Each entry's Monte Carlo mean over `M` networks must lie within 4.5 standard errors
//! (the sample standard deviation over sqrt(M)) of the analytic value; for deeper networks
//! a finite-width bias of O(1/width) is allowed on top.

use dl_autodiff::Var;
use dl_init::Activation;
use dl_layers::Module;
use dl_ntk::{Architecture, OutputKernel, Parameterisation, empirical_ntk_structured};
use dl_tensor::{Tensor, seeded_rng};

fn check(arch: &Architecture, networks: usize, bias_allowance: f64, seed: u64) {
    let mut rng = seeded_rng(seed);
    let x = Tensor::<f64>::randn(&[3, 4], &mut rng);
    let exact = arch.kernels(&x, None).unwrap();
    let (k, t) = (exact.nngp.to_vec(), exact.ntk.to_vec());
    let (mut sk, mut sk2, mut st, mut st2) = (vec![0.0; 9], vec![0.0; 9], vec![0.0; 9], vec![0.0; 9]);
    for _ in 0..networks {
        let net = arch.sample(4, &mut rng).unwrap();
        let f = net.forward(&Var::constant(x.clone())).unwrap().value().to_vec();
        let theta = empirical_ntk_structured(&net, &x, None, OutputKernel::Trace).unwrap().kernel.to_vec();
        for i in 0..3 {
            for j in 0..3 {
                let c = f[i] * f[j];
                sk[i * 3 + j] += c;
                sk2[i * 3 + j] += c * c;
                st[i * 3 + j] += theta[i * 3 + j];
                st2[i * 3 + j] += theta[i * 3 + j] * theta[i * 3 + j];
            }
        }
    }
    let m = networks as f64;
    for e in 0..9 {
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
fn one_hidden_relu_layer_ntk_parameterisation() {
    let arch = Architecture::mlp(1, 32, Activation::Relu, 2.0, 0.1, 1, Parameterisation::Ntk).unwrap();
    check(&arch, 2000, 0.0, 1);
}

#[test]
fn one_hidden_erf_layer_standard_parameterisation() {
    let arch = Architecture::mlp(1, 32, Activation::Erf, 1.5, 0.2, 1, Parameterisation::Standard).unwrap();
    check(&arch, 2000, 0.0, 2);
}

#[test]
fn one_hidden_tanh_layer_by_quadrature() {
    let arch = Architecture::mlp(1, 32, Activation::Tanh, 1.8, 0.05, 1, Parameterisation::Ntk).unwrap();
    check(&arch, 2000, 0.0, 3);
}

#[test]
fn three_hidden_relu_layers_at_width_256() {
    // the finite-width correction to E[Theta] is O(depth / width): allow 3 / 256
    let arch = Architecture::mlp(3, 256, Activation::Relu, 2.0, 0.05, 1, Parameterisation::Ntk).unwrap();
    check(&arch, 150, 3.0 / 256.0, 4);
}
