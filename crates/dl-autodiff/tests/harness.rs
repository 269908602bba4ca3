//! The generic harness: every primitive, on random shapes (including broadcast pairs), is
//! checked by `gradcheck` — its VJP against central finite differences, its JVP against
//! finite differences, and the dot-product identity ⟨u, J v⟩ = ⟨Jᵀ u, v⟩ — and by
//! `gradgradcheck` (the same checks on the recorded backward pass, i.e. second order).
//!
//! Tolerances are `GradcheckOptions::default()`, justified in `dl_autodiff::gradcheck`:
//! step 1e-6 in f64 gives an expected finite-difference error near 1e-10 for inputs of
//! order 1, and the check allows 1e-6 + 1e-5 |numeric|.

mod common;

use std::collections::BTreeSet;

use common::{all_cases, covered_names, draws};
use dl_autodiff::gradcheck::{GradcheckOptions, gradcheck, gradgradcheck};
use dl_autodiff::ops::ALL_PRIMITIVES;
use dl_autodiff::{Var, no_grad};
use proptest::prelude::*;

#[test]
fn the_harness_covers_every_primitive() {
    let all: BTreeSet<&str> = ALL_PRIMITIVES.iter().copied().collect();
    assert_eq!(covered_names(), all);
}

#[test]
fn each_case_ends_with_the_primitive_it_names() {
    let d = common::Draw { shape: vec![3, 2, 2], ones: vec![false, true, false], drop: 1, seed: 11 };
    for c in all_cases(&d) {
        let xs: Vec<Var<f64>> = c.inputs.iter().map(|x| Var::leaf(x.clone(), true)).collect();
        let y = (c.f)(&xs).unwrap();
        assert_eq!(y.op_name(), Some(c.name), "case {}", c.name);
        // and recording nothing under no_grad
        let z = no_grad(|| (c.f)(&xs)).unwrap();
        assert!(!z.requires_grad(), "{}", c.name);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_primitive_passes_gradcheck(d in draws(4, 4)) {
        for c in all_cases(&d) {
            let report = gradcheck(&c.f, &c.inputs, &GradcheckOptions::default()).unwrap();
            prop_assert!(report.passed(), "{} on {:?}: {}", c.name, d, report);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_primitive_passes_gradgradcheck(d in draws(3, 3)) {
        for c in all_cases(&d) {
            let report = gradgradcheck(&c.f, &c.inputs, &GradcheckOptions::default()).unwrap();
            prop_assert!(report.passed(), "{} on {:?}: {}", c.name, d, report);
        }
    }
}
