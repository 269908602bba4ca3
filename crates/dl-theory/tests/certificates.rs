//! The certified constructions never exceed their certificate on the points measured: the
//! four targets of the issue (smooth, a kink, sqrt near 0 through its modulus, a rapidly
//! oscillating one) at eps = 0.1, 0.01, 0.001 for Cybenko's sigmoid, every other activation,
//! and the ridge construction in two dimensions.
//!
//! The measured points are a dense uniform grid, uniform random points, and points where the
//! error concentrates (near 0 for sqrt, on the kink, around the first thresholds), so that
//! a certificate that is too small would be caught; each test also checks that the
//! certificate is not vacuous where the modulus is attained (the kink, sqrt near 0).

use dl_layers::Activation;
use dl_theory::approximation::{
    Approximation, Modulus, Target, UniversalApproximator, error_on_points, verify_approximation_error,
};

struct Case {
    name: &'static str,
    target: Target<'static>,
    /// points where the error concentrates
    special: Vec<f64>,
}

fn cases() -> Vec<Case> {
    let near_zero: Vec<f64> = (0..160).map(|k| 10f64.powf(-9.0 + 7.0 * k as f64 / 159.0)).collect();
    vec![
        Case {
            name: "smooth sin(3x) + x^2/2",
            target: Target::new_1d(|x: f64| (3.0 * x).sin() + 0.5 * x * x, 0.0, 1.0, Modulus::lipschitz(4.0).unwrap())
                .unwrap()
                .with_second_derivative_bound(10.0)
                .unwrap(),
            special: vec![],
        },
        Case {
            name: "kink |x - 0.3|",
            target: Target::new_1d(|x: f64| (x - 0.3).abs(), 0.0, 1.0, Modulus::lipschitz(1.0).unwrap()).unwrap(),
            special: (0..200).map(|k| 0.3 + (k as f64 - 100.0) * 1e-5).collect(),
        },
        Case {
            name: "sqrt(x) near 0 (Hölder modulus)",
            target: Target::new_1d(f64::sqrt, 0.0, 1.0, Modulus::holder(1.0, 0.5).unwrap()).unwrap(),
            special: near_zero,
        },
        Case {
            name: "oscillating sin(40x)",
            target: Target::new_1d(|x: f64| (40.0 * x).sin(), 0.0, 1.0, Modulus::lipschitz(40.0).unwrap())
                .unwrap()
                .with_second_derivative_bound(1600.0)
                .unwrap(),
            special: vec![],
        },
    ]
}

/// The largest measured error of `a` against the case's target on the grid, random points,
/// the special points and the points around the first hidden units' thresholds.
fn measured(a: &Approximation, case: &Case, grid: usize, random: usize) -> f64 {
    let report = verify_approximation_error(a.network(), &case.target, grid, random, 17).unwrap();
    let p = a.parameters();
    // around the first 8 thresholds -b/w (where the staircase switches)
    let mut pts: Vec<Vec<f64>> = case.special.iter().map(|&x| vec![x]).collect();
    for i in 0..p.width().min(8) {
        if p.weights[i] != 0.0 {
            let s = -p.biases[i] / p.weights[i];
            for k in -20..=20 {
                let x = s + k as f64 * 0.2 / p.weights[i].abs().max(1.0);
                if (0.0..=1.0).contains(&x) {
                    pts.push(vec![x]);
                }
            }
        }
    }
    let extra = error_on_points(a.network(), &case.target, &pts).unwrap();
    report.sup().max(extra.sup)
}

fn check(act: Activation, epsilons: &[f64], skip: &[(&str, f64)]) {
    for case in cases() {
        for &eps in epsilons {
            if skip.iter().any(|(n, e)| case.name.starts_with(n) && *e == eps) {
                continue;
            }
            let a = UniversalApproximator::new(act)
                .unwrap()
                .approximate(&case.target, eps)
                .unwrap_or_else(|e| panic!("{act:?} {} eps {eps}: {e}", case.name));
            let cert = a.certified_error();
            assert!(cert <= eps, "{act:?} {}: certificate {cert} above eps {eps}", case.name);
            // wide networks are measured on fewer points (the cost is points x width)
            let (grid, random) = if a.width() > 100_000 { (129, 64) } else { (4001, 1000) };
            let sup = measured(&a, &case, grid, random);
            assert!(
                sup <= cert,
                "{act:?} {} eps {eps}: measured {sup} above the certificate {cert}\n{}",
                case.name,
                a.certificate()
            );
            // the bound is attained up to a small factor where the modulus is attained: the
            // staircase's convex-combination bound omega(h/2) is tight on the kink and on sqrt
            // near 0; the interpolation and Jackson bounds are tight on the kink but loose by a
            // known factor on sqrt (interpolation: sqrt(h)/4 against sqrt(h/2), 0.35)
            let staircase = matches!(act, Activation::Sigmoid | Activation::Tanh | Activation::Erf);
            if case.name.starts_with("kink") || (staircase && case.name.starts_with("sqrt")) {
                let factor = if staircase { 0.2 } else { 0.1 };
                assert!(sup >= factor * cert, "{act:?} {} eps {eps}: measured {sup} << certificate {cert}", case.name);
            }
        }
    }
}

#[test]
fn cybenko_sigmoid_is_certified_at_every_eps() {
    check(Activation::Sigmoid, &[0.1, 0.01, 0.001], &[]);
}

#[test]
fn the_cybenko_width_is_the_modulus_formula() {
    // N = ceil((b - a) / (2 delta)) with omega(delta) = (1 - 1/8)(1 - 1/1024) eps
    for eps in [0.1, 0.01, 0.001] {
        let e = 0.875 * eps * (1.0 - 1.0 / 1024.0);
        let lipschitz = Target::new_1d(|x: f64| (40.0 * x).sin(), 0.0, 1.0, Modulus::lipschitz(40.0).unwrap()).unwrap();
        let a = UniversalApproximator::sigmoid().approximate(&lipschitz, eps).unwrap();
        assert_eq!(a.width(), (40.0 / (2.0 * e)).ceil() as usize, "eps {eps}");
        let sqrt = Target::new_1d(f64::sqrt, 0.0, 1.0, Modulus::holder(1.0, 0.5).unwrap()).unwrap();
        let w = UniversalApproximator::sigmoid().required_width(&sqrt, eps).unwrap().unwrap();
        assert_eq!(w, (1.0 / (2.0 * e * e)).ceil() as usize, "eps {eps}");
    }
}

#[test]
fn tanh_and_erf_staircases_are_certified() {
    check(Activation::Tanh, &[0.1, 0.01], &[]);
    check(Activation::Erf, &[0.1, 0.01], &[]);
}

#[test]
fn relu_family_interpolants_are_certified() {
    check(Activation::Relu, &[0.1, 0.01, 0.001], &[("sqrt", 0.001)]);
    check(Activation::Softplus, &[0.1, 0.01], &[]);
    check(Activation::Elu(1.0), &[0.1, 0.01], &[]);
}

#[test]
fn sine_cosine_series_is_certified() {
    // sqrt at 0.01 needs degree ~1e5 (refused by the work limit; see bad_input.rs)
    check(Activation::Sin, &[0.1, 0.01], &[("sqrt", 0.01)]);
}

#[test]
fn relu_needs_far_fewer_units_on_smooth_targets() {
    // O(eps^-1/2) against O(eps^-1): at eps = 1e-3 on sin(3x) + x^2/2 the interpolant uses M2
    let case = &cases()[0];
    let relu = UniversalApproximator::new(Activation::Relu).unwrap().approximate(&case.target, 1e-3).unwrap();
    let sigmoid = UniversalApproximator::sigmoid().approximate(&case.target, 1e-3).unwrap();
    // h = sqrt(8 e / M2) with e = eps (1 - 2^-10): N = ceil(1 / h) = 36; staircase N = 2288
    assert_eq!(relu.width(), 36);
    assert_eq!(sigmoid.width(), 2288);
}

fn check_2d(act: Activation, eps: f64) {
    let targets: Vec<(&str, Target<'static>, Vec<Vec<f64>>)> = vec![
        (
            "Gaussian bump",
            Target::new(
                |x: &[f64]| (-((x[0] - 0.5).powi(2) + (x[1] - 0.4).powi(2)) / 0.1).exp(),
                &[0.0, 0.0],
                &[1.0, 1.0],
                vec![Modulus::lipschitz(1.92).unwrap()],
            )
            .unwrap(),
            vec![vec![0.5, 0.4]],
        ),
        (
            "ridge kink |x - y|/2 + x/5 on [0,1] x [-0.5, 1]",
            Target::new(
                |x: &[f64]| 0.5 * (x[0] - x[1]).abs() + 0.2 * x[0],
                &[0.0, -0.5],
                &[1.0, 1.0],
                vec![Modulus::lipschitz(0.7).unwrap(), Modulus::lipschitz(0.5).unwrap()],
            )
            .unwrap(),
            (0..=100).map(|k| vec![k as f64 / 100.0, k as f64 / 100.0]).collect(),
        ),
    ];
    for (name, target, special) in targets {
        let a = UniversalApproximator::new(act)
            .unwrap()
            .approximate(&target, eps)
            .unwrap_or_else(|e| panic!("{act:?} {name}: {e}"));
        let cert = a.certified_error();
        assert!(cert <= eps);
        let (grid, random) = if a.width() > 20_000 { (33, 200) } else { (81, 1000) };
        let report = verify_approximation_error(a.network(), &target, grid, random, 3).unwrap();
        let extra = error_on_points(a.network(), &target, &special).unwrap();
        let sup = report.sup().max(extra.sup);
        assert!(sup <= cert, "{act:?} {name} eps {eps}: measured {sup} above {cert}\n{}", a.certificate());
        assert!(a.parameters().dim == 2 && a.width() >= 1);
    }
}

#[test]
fn two_dimensional_ridge_constructions_are_certified() {
    check_2d(Activation::Sigmoid, 0.1);
    check_2d(Activation::Sigmoid, 0.05);
    check_2d(Activation::Relu, 0.05);
    check_2d(Activation::Sin, 0.05);
    check_2d(Activation::Tanh, 0.1);
}
