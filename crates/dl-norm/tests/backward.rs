//! The closed-form derivatives of every normalisation against two independent oracles:
//! reverse-mode autodiff of the forward pass composed from `mean`, `sub`, `powf`, ... (no
//! closed form involved), and central finite differences (`gradcheck`, which also checks
//! the JVP and the dot-product identity); second derivatives with `gradgradcheck`.

use dl_autodiff::gradcheck::{GradcheckOptions, check_primitive, gradcheck, gradgradcheck};
use dl_autodiff::{Var, no_grad};
use dl_layers::Module;
use dl_norm::{
    BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm2d, InstanceNormOptions, LayerNorm, Normalize, Normalizer, Reduce,
    RmsNorm, Statistics,
};
use dl_tensor::{Tensor, Tolerance, assert_close, seeded_rng};

const EPS: f64 = 1e-5;

/// `(x - mean) / sqrt(var + eps)` over `axes`, from differentiable elementary ops.
fn composed(x: &Var<f64>, axes: &[isize], centred: bool) -> Var<f64> {
    let dev = if centred { x.sub(&x.mean_axes(axes, true).unwrap()).unwrap() } else { x.clone() };
    let var = dev.square().unwrap().mean_axes(axes, true).unwrap();
    dev.div(&var.add_scalar(EPS).unwrap().sqrt().unwrap()).unwrap()
}

/// Output and gradients (x first, then the module's parameters in order) of `sum(c ⊙ f(x))`.
fn value_and_grads(
    f: &dyn Fn(&Var<f64>) -> Var<f64>,
    x: &Tensor<f64>,
    params: &[Var<f64>],
    c: &Tensor<f64>,
) -> (Tensor<f64>, Vec<Tensor<f64>>) {
    let xv = Var::leaf(x.clone(), true);
    let y = f(&xv);
    let out = y.value().clone();
    let g = y.mul(&Var::constant(c.clone())).unwrap().sum_all().unwrap().backward().unwrap();
    let mut grads = vec![g.get(&xv).unwrap().clone()];
    grads.extend(params.iter().map(|p| g.get(p).unwrap().clone()));
    (out, grads)
}

/// A module's output and gradients against the composed reference built from `reference`,
/// which receives x and the module's parameters as leaves.
/// A composed reference: the input and the module's parameters as leaves, to the output.
type Reference<'a> = &'a dyn Fn(&Var<f64>, &[Var<f64>]) -> Var<f64>;

fn check_module(module: &dyn Module<f64>, shape: &[usize], reference: Reference<'_>, seed: u64) {
    let mut rng = seeded_rng(seed);
    let x = Tensor::<f64>::randn(shape, &mut rng).mul_scalar(3.0).add_scalar(1.5);
    let c = Tensor::<f64>::randn(shape, &mut rng);
    // non-trivial affine parameters
    for p in module.parameters() {
        p.param.set(Tensor::randn(&p.param.shape(), &mut rng)).unwrap();
    }
    let (y, gy) = {
        let xv = Var::leaf(x.clone(), true);
        let y = module.forward(&xv).unwrap();
        let out = y.value().clone();
        let g = y.mul(&Var::constant(c.clone())).unwrap().sum_all().unwrap().backward().unwrap();
        let mut grads = vec![g.get(&xv).unwrap().clone()];
        grads.extend(module.parameters().iter().map(|p| p.param.grad(&g).unwrap().clone()));
        (out, grads)
    };
    let leaves: Vec<Var<f64>> = module.parameters().iter().map(|p| Var::leaf(p.param.value(), true)).collect();
    let (r, gr) = value_and_grads(&|xv| reference(xv, &leaves), &x, &leaves, &c);
    // Both are exact formulas evaluated in f64 with different association: values O(1..10)
    // agree to a few hundred ulps; 1e-11 relative / 1e-12 absolute is far below any wrong term.
    let tol = Tolerance::new(1e-11, 1e-12);
    assert_close(&y, &r, tol);
    for (a, b) in gy.iter().zip(&gr) {
        assert_close(a, b, tol);
    }
}

#[test]
fn batch_norm_matches_autodiff_of_the_composed_forward() {
    let bn1 = BatchNorm1d::<f64>::new(5).unwrap();
    check_module(&bn1, &[7, 5], &|x, p| composed(x, &[0], true).mul(&p[0]).unwrap().add(&p[1]).unwrap(), 1);
    let bn1l = BatchNorm1d::<f64>::new(3).unwrap();
    let per_c = |p: &Var<f64>| p.reshape(&[3, 1]).unwrap();
    check_module(
        &bn1l,
        &[4, 3, 6],
        &|x, p| composed(x, &[0, 2], true).mul(&per_c(&p[0])).unwrap().add(&per_c(&p[1])).unwrap(),
        2,
    );
    let bn2 = BatchNorm2d::<f64>::new(3).unwrap();
    let per_c2 = |p: &Var<f64>| p.reshape(&[3, 1, 1]).unwrap();
    check_module(
        &bn2,
        &[4, 3, 5, 2],
        &|x, p| composed(x, &[0, 2, 3], true).mul(&per_c2(&p[0])).unwrap().add(&per_c2(&p[1])).unwrap(),
        3,
    );
}

#[test]
fn layer_group_instance_and_rms_norm_match_autodiff_of_the_composed_forward() {
    let ln = LayerNorm::<f64>::new(&[4, 3]).unwrap();
    check_module(&ln, &[2, 5, 4, 3], &|x, p| composed(x, &[2, 3], true).mul(&p[0]).unwrap().add(&p[1]).unwrap(), 4);
    let gn = GroupNorm::<f64>::new(2, 6).unwrap();
    let gn_ref = |x: &Var<f64>, p: &[Var<f64>]| {
        let xg = x.reshape(&[3, 2, 3, 4, 2]).unwrap();
        let per_c = |v: &Var<f64>| v.reshape(&[6, 1, 1]).unwrap();
        composed(&xg, &[2, 3, 4], true)
            .reshape(&[3, 6, 4, 2])
            .unwrap()
            .mul(&per_c(&p[0]))
            .unwrap()
            .add(&per_c(&p[1]))
            .unwrap()
    };
    check_module(&gn, &[3, 6, 4, 2], &gn_ref, 5);
    let inorm = InstanceNorm2d::<f64>::new(3, InstanceNormOptions::default().affine(true)).unwrap();
    let per_c = |p: &Var<f64>| p.reshape(&[3, 1, 1]).unwrap();
    check_module(
        &inorm,
        &[2, 3, 4, 5],
        &|x, p| composed(x, &[2, 3], true).mul(&per_c(&p[0])).unwrap().add(&per_c(&p[1])).unwrap(),
        6,
    );
    let rms = RmsNorm::<f64>::new(&[8]).unwrap().with_eps(EPS);
    check_module(&rms, &[3, 4, 8], &|x, p| composed(x, &[2], false).mul(&p[0]).unwrap(), 7);
}

#[test]
fn a_reduction_over_non_contiguous_axes_matches_the_composed_forward() {
    // statistics indexed by axes 0 and 2, reduced over axes 1 and 3
    let n = Normalizer { reduce: Reduce::KeepAxes(vec![0, 2]), groups: None, centred: true, eps: EPS };
    let f = |x: &Var<f64>| n.apply("test", x, Statistics::Batch, None).unwrap().output;
    let mut rng = seeded_rng(8);
    let x = Tensor::<f64>::randn(&[3, 4, 2, 5], &mut rng);
    let c = Tensor::<f64>::randn(&[3, 4, 2, 5], &mut rng);
    let (y, g) = value_and_grads(&f, &x, &[], &c);
    let (r, gr) = value_and_grads(&|x| composed(x, &[1, 3], true), &x, &[], &c);
    let tol = Tolerance::new(1e-11, 1e-12);
    assert_close(&y, &r, tol);
    assert_close(&g[0], &gr[0], tol);
}

fn fd_options() -> GradcheckOptions {
    // Normalised outputs are O(1) with O(1/sigma) derivatives; with inputs of spread ~1 the
    // default step 1e-6 and tolerances (rtol 1e-5, atol 1e-6) apply as documented.
    GradcheckOptions::default()
}

#[test]
fn the_primitive_passes_finite_differences_jvp_and_dot_product_checks() {
    let mut rng = seeded_rng(9);
    for (shape, centred) in [([5, 3, 1], true), ([2, 3, 4], true), ([1, 2, 6], false), ([3, 2, 2], false)] {
        let x = Tensor::<f64>::randn(&shape, &mut rng);
        let report =
            check_primitive(Normalize::<f64>::new(centred, EPS, false), std::slice::from_ref(&x), &fd_options())
                .unwrap();
        assert!(report.passed(), "{shape:?} centred {centred}: {report}");
        let gamma = Tensor::<f64>::randn(&[shape[1]], &mut rng);
        let beta = Tensor::<f64>::randn(&[shape[1]], &mut rng);
        let report =
            check_primitive(Normalize::<f64>::new(centred, EPS, true), &[x, gamma, beta], &fd_options()).unwrap();
        assert!(report.passed(), "affine {shape:?} centred {centred}: {report}");
    }
}

#[test]
fn second_derivatives_pass_gradgradcheck() {
    let mut rng = seeded_rng(10);
    let x = Tensor::<f64>::randn(&[4, 2, 3], &mut rng);
    let gamma = Tensor::<f64>::randn(&[2], &mut rng);
    let beta = Tensor::<f64>::randn(&[2], &mut rng);
    for centred in [true, false] {
        let f = |xs: &[Var<f64>]| Var::apply(Normalize::new(centred, EPS, true), &[&xs[0], &xs[1], &xs[2]]);
        // the second-order check differentiates the composed VJP by finite differences:
        // the same step and tolerances as the first-order check
        let report = gradgradcheck(f, &[x.clone(), gamma.clone(), beta.clone()], &fd_options()).unwrap();
        assert!(report.passed(), "centred {centred}: {report}");
    }
}

#[test]
fn module_level_gradcheck_through_reshapes_and_groups() {
    let mut rng = seeded_rng(11);
    let x = Tensor::<f64>::randn(&[2, 4, 3], &mut rng);
    let gn = Normalizer::group_norm(2, EPS);
    let report = gradcheck(
        |xs: &[Var<f64>]| Ok(gn.apply("gn", &xs[0], Statistics::Batch, None).unwrap().output),
        &[x],
        &fd_options(),
    )
    .unwrap();
    assert!(report.passed(), "{report}");
}

#[test]
fn the_composed_vjp_and_the_fused_vjp_agree() {
    // The same closed form two ways: fused loops (plain backward) and Var ops (a recorded
    // backward, as used for second derivatives).
    let mut rng = seeded_rng(12);
    let x = Var::leaf(Tensor::<f64>::randn(&[6, 3, 4], &mut rng), true);
    let g = Var::leaf(Tensor::<f64>::randn(&[3], &mut rng), true);
    let b = Var::leaf(Tensor::<f64>::randn(&[3], &mut rng), true);
    let u = Tensor::<f64>::randn(&[6, 3, 4], &mut rng);
    let y = Var::apply(Normalize::new(true, EPS, true), &[&x, &g, &b]).unwrap();
    let fused =
        dl_autodiff::grad(&y, Some(&Var::constant(u.clone())), &[&x, &g, &b], dl_autodiff::BackwardOptions::retain())
            .unwrap();
    let recorded =
        dl_autodiff::grad(&y, Some(&Var::constant(u)), &[&x, &g, &b], dl_autodiff::BackwardOptions::create_graph())
            .unwrap();
    for (a, r) in fused.iter().zip(&recorded) {
        // a different association of the same sums: a few ulps of O(1) values
        assert_close(a.as_ref().unwrap().value(), r.as_ref().unwrap().value(), Tolerance::new(1e-12, 1e-13));
    }
    // and under no_grad the forward pass needs no tape
    let y2 = no_grad(|| Var::apply(Normalize::new(true, EPS, true), &[&x, &g, &b])).unwrap();
    assert_close(y2.value(), y.value(), Tolerance::default_for::<f64>());
}
