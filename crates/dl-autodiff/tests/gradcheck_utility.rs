//! The gradient checker itself: it must fail on wrong rules and name the worst element.

use dl_autodiff::gradcheck::{Check, GradcheckOptions, check_primitive, gradcheck, gradgradcheck};
use dl_autodiff::mlp::Mlp;
use dl_autodiff::{JvpContext, Primitive, Result, Var, VjpContext};
use dl_tensor::{Element, Tensor, cst, seeded_rng};

/// y = x², with optionally wrong rules.
#[derive(Clone)]
struct Square {
    vjp_factor: f64,
    jvp_factor: f64,
}

impl<T: Element> Primitive<T> for Square {
    fn name(&self) -> &'static str {
        "test_square"
    }
    fn forward(&self, x: &[&Tensor<T>]) -> Result<Tensor<T>> {
        Ok(x[0].square())
    }
    fn vjp(&self, ctx: &VjpContext<'_, T>, u: &Var<T>) -> Result<Vec<Option<Var<T>>>> {
        Ok(vec![Some(u.mul(&ctx.input(0).mul_scalar(cst(self.vjp_factor))?)?)])
    }
    fn jvp(&self, ctx: &JvpContext<'_, T>, t: &[Option<&Tensor<T>>]) -> Result<Tensor<T>> {
        Ok(t[0]
            .map(|t| t.mul(&ctx.inputs[0].mul_scalar(cst(self.jvp_factor))))
            .transpose()?
            .unwrap_or_else(|| Tensor::zeros(ctx.output.shape())))
    }
}

fn input() -> Vec<Tensor<f64>> {
    vec![Tensor::from_vec(vec![0.5, -1.5, 2.0], &[3]).unwrap()]
}

#[test]
fn correct_rules_pass() {
    let r =
        check_primitive(Square { vjp_factor: 2.0, jvp_factor: 2.0 }, &input(), &GradcheckOptions::default()).unwrap();
    assert!(r.passed(), "{r}");
    // 3x3 reverse + 3x3 forward + 1 dot
    assert_eq!(r.compared, 19);
    assert!(r.worst().unwrap().ratio < 1e-2, "{r}");
}

#[test]
fn a_wrong_vjp_fails_and_the_worst_element_is_reported() {
    let r =
        check_primitive(Square { vjp_factor: 2.01, jvp_factor: 2.0 }, &input(), &GradcheckOptions::default()).unwrap();
    assert!(!r.passed());
    let w = r.worst_vjp.clone().unwrap();
    assert_eq!((w.check, w.input_index, w.output_index), (Check::Vjp, 2, 2)); // largest |x| = 2.0
    assert!((w.analytic - 4.02).abs() < 1e-12 && (w.reference - 4.0).abs() < 1e-6, "{r}");
    assert!(r.worst_jvp.as_ref().unwrap().ratio < 1.0);
    assert!(r.dot.as_ref().unwrap().ratio > 1.0, "the dot-product test ties VJP to JVP");
    assert!(r.to_string().contains("FAILED"));
}

#[test]
fn a_wrong_jvp_fails() {
    let r =
        check_primitive(Square { vjp_factor: 2.0, jvp_factor: 1.99 }, &input(), &GradcheckOptions::default()).unwrap();
    assert!(!r.passed());
    assert!(r.worst_jvp.as_ref().unwrap().ratio > 1.0 && r.worst_vjp.as_ref().unwrap().ratio < 1.0);
}

#[test]
fn gradgradcheck_catches_a_rule_that_is_right_only_to_first_order() {
    // A VJP that uses a constant copy of x gives the right gradient but a zero second
    // derivative: gradgradcheck must see it.
    #[derive(Clone)]
    struct Frozen;
    impl Primitive<f64> for Frozen {
        fn name(&self) -> &'static str {
            "frozen_square"
        }
        fn forward(&self, x: &[&Tensor<f64>]) -> Result<Tensor<f64>> {
            Ok(x[0].square())
        }
        fn vjp(&self, ctx: &VjpContext<'_, f64>, u: &Var<f64>) -> Result<Vec<Option<Var<f64>>>> {
            Ok(vec![Some(u.mul(&Var::constant(ctx.value(0).mul_scalar(2.0)))?)])
        }
        fn jvp(&self, ctx: &JvpContext<'_, f64>, t: &[Option<&Tensor<f64>>]) -> Result<Tensor<f64>> {
            Ok(t[0].unwrap().mul(&ctx.inputs[0].mul_scalar(2.0))?)
        }
    }
    let f = |x: &[Var<f64>]| Var::apply(Frozen, &[&x[0]]);
    assert!(gradcheck(f, &input(), &GradcheckOptions::default()).unwrap().passed());
    assert!(!gradgradcheck(f, &input(), &GradcheckOptions::default()).unwrap().passed());
}

#[test]
fn the_mlp_loss_passes_gradcheck_in_f64() {
    let mut rng = seeded_rng(8);
    let mlp = Mlp::<f64>::new(&[5, 7, 6, 3], &mut rng).unwrap();
    let x = Var::constant(Tensor::<f64>::randn(&[4, 5], &mut rng));
    let labels = [0usize, 2, 1, 2];
    let values: Vec<Tensor<f64>> = mlp.params.iter().map(|p| p.value().clone()).collect();
    let r =
        gradcheck(|ps: &[Var<f64>]| Mlp::loss_with(ps, &x, &labels), &values, &GradcheckOptions::default()).unwrap();
    assert!(r.passed(), "{r}");
}
