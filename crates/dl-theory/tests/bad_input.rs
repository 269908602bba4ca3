//! Bad input gets a clear error naming the argument and the value, never a panic.

use dl_layers::Activation;
use dl_theory::approximation::{
    ApproximationError, Modulus, Target, UniversalApproximator, verify_approximation_error,
};

fn lipschitz() -> Modulus {
    Modulus::lipschitz(1.0).unwrap()
}

#[test]
fn a_target_that_returns_nan_is_named_with_its_point() {
    let t = Target::new_1d(|x: f64| if x > 0.5 { f64::NAN } else { x }, 0.0, 1.0, lipschitz()).unwrap();
    for act in [Activation::Sigmoid, Activation::Relu, Activation::Sin] {
        let err = UniversalApproximator::new(act).unwrap().approximate(&t, 0.1).unwrap_err();
        assert!(matches!(err, ApproximationError::NonFiniteTarget { .. }), "{act:?}: {err}");
        let msg = err.to_string();
        assert!(msg.contains("NaN") && msg.contains("x = ["), "{msg}");
    }
    let t2 =
        Target::new(|x: &[f64]| if x[1] > 0.9 { f64::INFINITY } else { 0.0 }, &[0.0; 2], &[1.0; 2], vec![lipschitz()])
            .unwrap();
    let err = UniversalApproximator::sigmoid().approximate(&t2, 0.1).unwrap_err().to_string();
    assert!(err.contains("inf"), "{err}");
}

#[test]
fn empty_inverted_or_non_finite_domains_are_refused() {
    for (lo, hi) in [(0.0, 0.0), (1.0, 0.0), (f64::NEG_INFINITY, 0.0), (0.0, f64::NAN)] {
        let err = Target::new_1d(|x: f64| x, lo, hi, lipschitz()).unwrap_err();
        assert!(matches!(err, ApproximationError::InvalidDomain { axis: 0, .. }), "{err}");
        assert!(err.to_string().contains("domain"), "{err}");
    }
    let err = Target::new(|x: &[f64]| x[0], &[], &[], vec![lipschitz()]).unwrap_err();
    assert!(err.to_string().contains("dimension"), "{err}");
    let err = Target::new(|x: &[f64]| x[0], &[0.0, 2.0], &[1.0, 1.0], vec![lipschitz()]).unwrap_err();
    assert!(err.to_string().contains("axis 1"), "{err}");
}

#[test]
fn eps_must_be_positive_and_finite() {
    let t = Target::new_1d(|x: f64| x, 0.0, 1.0, lipschitz()).unwrap();
    for eps in [0.0, -1e-3, f64::NAN, f64::INFINITY] {
        let err = UniversalApproximator::sigmoid().approximate(&t, eps).unwrap_err().to_string();
        assert!(err.contains("eps = ") && err.contains("positive"), "{err}");
    }
}

#[test]
fn moduli_must_be_finite_and_concave() {
    for l in [f64::NAN, f64::INFINITY, -2.0] {
        let err = Modulus::lipschitz(l).unwrap_err().to_string();
        assert!(err.contains("lipschitz constant"), "{err}");
    }
    let err = Modulus::concave(|d: f64| d.powf(1.5)).unwrap_err().to_string();
    assert!(err.contains("not concave"), "{err}");
    // a zero Lipschitz constant is a constant target: width 1, exact up to rounding
    let t = Target::new_1d(|_| 2.5, 0.0, 1.0, Modulus::lipschitz(0.0).unwrap()).unwrap();
    let a = UniversalApproximator::sigmoid().approximate(&t, 1e-6).unwrap();
    assert_eq!(a.width(), 1);
    let r = verify_approximation_error(a.network(), &t, 11, 10, 0).unwrap();
    assert!(r.sup() <= a.certified_error());
}

#[test]
fn a_width_beyond_the_limit_is_refused_before_allocation_with_its_size() {
    // sqrt at eps = 1e-6: N = 1 / (2 e^2) ~ 6.5e11 units, about 15 TB
    let t = Target::new_1d(f64::sqrt, 0.0, 1.0, Modulus::holder(1.0, 0.5).unwrap()).unwrap();
    let err = UniversalApproximator::sigmoid().approximate(&t, 1e-6).unwrap_err();
    match &err {
        ApproximationError::TooLarge { argument, width, bytes, limit, .. } => {
            assert_eq!(*argument, "eps");
            assert!(*width > 600_000_000_000 && *bytes > 10_000_000_000_000, "{err}");
            assert_eq!(*limit, 1 << 22);
        }
        other => panic!("expected TooLarge, got {other}"),
    }
    let msg = err.to_string();
    assert!(msg.contains("eps = 0.000001") && msg.contains("max_width") && msg.contains("bytes"), "{msg}");
    // a user limit
    let lip = Target::new_1d(|x: f64| x, 0.0, 1.0, lipschitz()).unwrap();
    let err = UniversalApproximator::sigmoid().with_max_width(100).approximate(&lip, 1e-3).unwrap_err().to_string();
    assert!(err.contains("width of 572") && err.contains("max_width = 100"), "{err}");
    // the cosine transform's work is bounded too
    let err = UniversalApproximator::new(Activation::Sin).unwrap().approximate(&t, 1e-3).unwrap_err().to_string();
    assert!(err.contains("multiply-adds") && err.contains("work_limit"), "{err}");
}

#[test]
fn eps_below_double_precision_is_refused_not_silently_violated() {
    // f = 1e12 + x at eps = 1e-4: the output sum carries rounding of order N u 1e12 ~ 0.6,
    // far above the eps / 1024 reserved for it
    let t = Target::new_1d(|x: f64| 1e12 + x, 0.0, 1.0, lipschitz()).unwrap();
    for act in [Activation::Sigmoid, Activation::Relu] {
        let err = UniversalApproximator::new(act).unwrap().approximate(&t, 1e-4).unwrap_err();
        assert!(matches!(err, ApproximationError::Precision { .. }), "{act:?}: {err}");
        assert!(err.to_string().contains("too small for f64"), "{err}");
    }
}

#[test]
fn unsupported_activations_and_parameters_are_named() {
    let err = UniversalApproximator::new(Activation::Gelu).unwrap_err().to_string();
    assert!(err.contains("Gelu") && err.contains("supported"), "{err}");
    let err = UniversalApproximator::new(Activation::Identity).unwrap_err().to_string();
    assert!(err.contains("Identity"), "{err}");
    let err = UniversalApproximator::sigmoid().with_tail_fraction(1.0).unwrap_err().to_string();
    assert!(err.contains("tail_fraction = 1"), "{err}");
    let t = Target::new_1d(|x: f64| x, 0.0, 1.0, lipschitz()).unwrap();
    let a = UniversalApproximator::sigmoid().approximate(&t, 0.1).unwrap();
    let err = verify_approximation_error(a.network(), &t, 1, 10, 0).unwrap_err().to_string();
    assert!(err.contains("grid_per_axis = 1"), "{err}");
    let err = verify_approximation_error(a.network(), &t, 10, 0, 0).unwrap_err().to_string();
    assert!(err.contains("random_points = 0"), "{err}");
}
