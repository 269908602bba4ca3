//! Property tests: certificates are never violated for random Lipschitz and Hölder targets,
//! random boxes, random eps and every activation; ReLU interpolation is exact where it
//! claims to be (the target's values at the knots, linear in between, up to the f64
//! evaluation bound).

use dl_layers::Activation;
use dl_theory::approximation::{Modulus, Target, UniversalApproximator, error_on_points, verify_approximation_error};
use proptest::prelude::*;

const ACTIVATIONS: [Activation; 7] = [
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Erf,
    Activation::Relu,
    Activation::Softplus,
    Activation::Elu(1.0),
    Activation::Sin,
];

/// `f(x) = sum_j c_j sin(w_j x + p_j) + a |x - x0|` with Lipschitz bound `sum |c_j w_j| + |a|`.
#[derive(Clone, Debug)]
struct Random1d {
    c: [f64; 3],
    w: [f64; 3],
    p: [f64; 3],
    a: f64,
    x0: f64,
}

impl Random1d {
    fn eval(&self, x: f64) -> f64 {
        (0..3).map(|j| self.c[j] * (self.w[j] * x + self.p[j]).sin()).sum::<f64>() + self.a * (x - self.x0).abs()
    }
    fn lipschitz(&self) -> f64 {
        (0..3).map(|j| (self.c[j] * self.w[j]).abs()).sum::<f64>() + self.a.abs()
    }
}

fn random_target() -> impl Strategy<Value = (Random1d, f64, f64)> {
    (
        prop::array::uniform3(-1.0..1.0f64),
        prop::array::uniform3(0.0..10.0f64),
        prop::array::uniform3(0.0..6.3f64),
        -1.0..1.0f64,
        0.0..1.0f64,
        -5.0..5.0f64,
        0.1..5.0f64,
    )
        .prop_map(|(c, w, p, a, s, lo, len)| (Random1d { c, w, p, a, x0: lo + s * len }, lo, lo + len))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 28, ..ProptestConfig::default() })]

    #[test]
    fn certificates_hold_for_random_lipschitz_targets(
        (f, lo, hi) in random_target(),
        log_eps in -3.0..-0.5f64,
        which in 0..ACTIVATIONS.len(),
    ) {
        let act = ACTIVATIONS[which];
        let l = f.lipschitz();
        // keep the width below ~2e4 units: eps >= L (b - a) / 2e4
        let eps = 10f64.powf(log_eps).max(l * (hi - lo) / 2e4).max(1e-12);
        let g = f.clone();
        let target = Target::new_1d(move |x| g.eval(x), lo, hi, Modulus::lipschitz(l).unwrap()).unwrap();
        let a = UniversalApproximator::new(act).unwrap().approximate(&target, eps).unwrap();
        prop_assert!(a.certified_error() <= eps);
        let report = verify_approximation_error(a.network(), &target, 1501, 300, 5).unwrap();
        let kink: Vec<Vec<f64>> = (0..41).map(|k| vec![(f.x0 + (k as f64 - 20.0) * 1e-4 * (hi - lo)).clamp(lo, hi)]).collect();
        let extra = error_on_points(a.network(), &target, &kink).unwrap();
        let sup = report.sup().max(extra.sup);
        prop_assert!(sup <= a.certified_error(), "{act:?}: measured {sup} > certificate {}\n{}", a.certified_error(), a.certificate());
    }

    #[test]
    fn certificates_hold_for_holder_targets(
        c in 0.1..2.0f64,
        alpha in 0.2..1.0f64,
        x0 in 0.0..1.0f64,
        log_eps in -2.0..-0.5f64,
        which in 0..3usize,
    ) {
        // c |x - x0|^alpha has modulus c delta^alpha (alpha <= 1)
        let act = [Activation::Sigmoid, Activation::Relu, Activation::Tanh][which];
        let eps = 10f64.powf(log_eps);
        let target = Target::new_1d(move |x: f64| c * (x - x0).abs().powf(alpha), 0.0, 1.0, Modulus::holder(c, alpha).unwrap()).unwrap();
        let ua = UniversalApproximator::new(act).unwrap();
        prop_assume!(ua.required_width(&target, eps).unwrap().unwrap() <= 200_000);
        let a = ua.approximate(&target, eps).unwrap();
        let near: Vec<Vec<f64>> = (0..100).map(|k| vec![(x0 + (k as f64 - 50.0) * 1e-3 / a.width() as f64).clamp(0.0, 1.0)]).collect();
        let report = verify_approximation_error(a.network(), &target, 2001, 200, 1).unwrap();
        let sup = report.sup().max(error_on_points(a.network(), &target, &near).unwrap().sup);
        prop_assert!(sup <= a.certified_error(), "{act:?}: {sup} > {}", a.certified_error());
    }

    #[test]
    fn relu_interpolation_is_exact_at_the_knots_and_linear_between(
        (f, lo, hi) in random_target(),
        log_eps in -3.0..-1.0f64,
    ) {
        let l = f.lipschitz();
        let eps = 10f64.powf(log_eps).max(l * (hi - lo) / 2e4);
        let g = f.clone();
        let target = Target::new_1d(move |x| g.eval(x), lo, hi, Modulus::lipschitz(l).unwrap()).unwrap();
        let a = UniversalApproximator::new(Activation::Relu).unwrap().approximate(&target, eps).unwrap();
        let p = a.parameters();
        // the knots are the units' kinks t_i = -b_i / w_i (w_i = 1), and the right end
        prop_assert!(p.weights.iter().all(|&w| w == 1.0));
        let mut knots: Vec<f64> = p.biases.iter().map(|b| -b).collect();
        knots.push(hi);
        prop_assert_eq!(knots[0], lo);
        // f64 evaluation plus the stored-parameter term bound every deviation from exactness
        let tol = a.certificate().term("f64 evaluation").unwrap() + a.certificate().term("stored parameters").unwrap();
        let at_knots: Vec<Vec<f64>> = knots.iter().map(|&t| vec![t]).collect();
        let errs = error_on_points(a.network(), &target, &at_knots).unwrap();
        prop_assert!(errs.sup <= tol, "knot error {} > {tol}", errs.sup);
        // linear between knots: the value at 1/3 of a cell is the interpolation of its ends
        let mut pts = Vec::new();
        for i in 0..knots.len() - 1 {
            pts.push(knots[i]);
            pts.push(knots[i] + (knots[i + 1] - knots[i]) / 3.0);
        }
        pts.push(hi);
        let y = dl_theory::approximation::evaluate_network(a.network(), &pts, 1).unwrap();
        for i in 0..knots.len() - 1 {
            let (y0, y13, y1) = (y[2 * i], y[2 * i + 1], y[2 * i + 2]);
            let x13 = pts[2 * i + 1];
            let lin = y0 + (y1 - y0) * (x13 - knots[i]) / (knots[i + 1] - knots[i]);
            // three evaluations, each within the rounding bound of the exact (linear) network,
            // and the 1/3 point itself rounded
            let slope = (y1 - y0).abs() / (knots[i + 1] - knots[i]);
            prop_assert!((y13 - lin).abs() <= 3.0 * tol + 4.0 * f64::EPSILON * (slope * x13.abs() + y13.abs()), "cell {i}: {y13} vs {lin}");
        }
    }
}
