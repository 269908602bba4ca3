//! Property tests of the research modules against conditions that do not involve the SVD
//! or the fit itself: optimality conditions, invariances and closed forms.

use dl_tensor::{Tensor, seeded_rng};
use dl_theory::double_descent::RandomFeaturesProblem;
use dl_theory::least_squares::min_norm_solution;
use dl_theory::scaling_laws::{PowerLawFitOptions, fit_power_law};
use proptest::prelude::*;

/// `Aᵀ (A x − b)` and the residual of `x` against the row space of `A` (the distance of `x`
/// to its projection `Aᵀ (A Aᵀ)⁻¹ A x`, computed by Gram–Schmidt on the rows of `A`), both
/// by direct loops.
fn optimality(a: &[f64], b: &[f64], x: &[f64], n: usize, p: usize) -> (f64, f64) {
    let ax: Vec<f64> = (0..n).map(|i| (0..p).map(|j| a[i * p + j] * x[j]).sum()).collect();
    let grad = (0..p).map(|j| (0..n).map(|i| a[i * p + j] * (ax[i] - b[i])).sum::<f64>().abs()).fold(0.0, f64::max);
    // orthonormal basis of the row space
    let mut basis: Vec<Vec<f64>> = Vec::new();
    for i in 0..n {
        let mut v: Vec<f64> = a[i * p..(i + 1) * p].to_vec();
        for q in &basis {
            let d: f64 = v.iter().zip(q).map(|(x, y)| x * y).sum();
            v.iter_mut().zip(q).for_each(|(x, y)| *x -= d * y);
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 1e-9 {
            basis.push(v.into_iter().map(|x| x / norm).collect());
        }
    }
    let mut r = x.to_vec();
    for q in &basis {
        let d: f64 = r.iter().zip(q).map(|(x, y)| x * y).sum();
        r.iter_mut().zip(q).for_each(|(x, y)| *x -= d * y);
    }
    (grad, r.iter().map(|x| x * x).sum::<f64>().sqrt())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The minimum-norm solution is a least-squares solution (zero gradient of the normal
    /// equations) lying in the row space of A: the two conditions that define A⁺b.
    #[test]
    fn min_norm_satisfies_its_defining_conditions(n in 1usize..12, p in 1usize..12, seed in 0u64..1000) {
        let mut rng = seeded_rng(seed);
        let a = Tensor::<f64>::randn(&[n, p], &mut rng);
        let b = Tensor::<f64>::randn(&[n], &mut rng);
        let x = min_norm_solution(&a, &b, None).unwrap().coefficients.to_vec();
        let (grad, off_row_space) = optimality(&a.to_vec(), &b.to_vec(), &x, n, p);
        let scale = 1.0 + x.iter().map(|v| v.abs()).fold(0.0, f64::max);
        // Gaussian matrices this small have condition numbers below ~1e4 with overwhelming
        // probability: rounding errors stay below 1e-8 relative
        prop_assert!(grad <= 1e-8 * scale * (n * p) as f64, "gradient {grad}");
        prop_assert!(off_row_space <= 1e-8 * scale, "component outside the row space {off_row_space}");
    }

    /// Exact power laws over two or more decades are recovered by the fit.
    #[test]
    fn power_laws_are_recovered(a in 0.1f64..10.0, alpha in 0.05f64..2.0, c in 0.0f64..2.0, start in 0.0f64..3.0) {
        let n: Vec<f64> = (0..7).map(|k| 10f64.powf(start + 0.5 * k as f64)).collect();
        let l: Vec<f64> = n.iter().map(|x| a * x.powf(-alpha) + c).collect();
        let fit = fit_power_law(&n, &l, &PowerLawFitOptions::default()).unwrap();
        // the log residuals of the fit are at round-off: every point is reproduced
        for (x, y) in n.iter().zip(&l) {
            prop_assert!((fit.predict(*x) / y - 1.0).abs() < 1e-6, "{fit:?} at N = {x}");
        }
    }
}

/// The smallest singular value of the random-features matrix collapses at p = n: it is
/// smaller there than at p = n/2 and at p = 2n (the cause of the double-descent peak).
#[test]
fn the_smallest_singular_value_dips_at_the_interpolation_threshold() {
    let (n, d) = (60, 10);
    let mut rng = seeded_rng(42);
    let x = Tensor::<f64>::randn(&[n, d], &mut rng);
    let y = Tensor::<f64>::randn(&[n], &mut rng);
    let w = Tensor::<f64>::randn(&[2 * n, d], &mut rng);
    let problem = RandomFeaturesProblem::new(&x, &y, &x, &y, &w).unwrap();
    let sigma = |p: usize| problem.min_norm(p, None).unwrap().smallest_singular_value.unwrap();
    let at_n = sigma(n);
    assert!(at_n < sigma(n / 2) / 5.0 && at_n < sigma(2 * n) / 5.0, "{} {} {}", sigma(n / 2), at_n, sigma(2 * n));
    // and the test error on the training inputs themselves is zero from p = n on
    assert!(problem.min_norm(n, None).unwrap().test_mse < 1e-18);
}
