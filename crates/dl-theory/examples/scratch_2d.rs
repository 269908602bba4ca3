use dl_layers::Activation;
use dl_theory::approximation::*;
use std::time::Instant;

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let targets: Vec<(&str, Target)> = vec![
        (
            "smooth",
            Target::new(
                |x: &[f64]| (2.0 * x[0]).sin() * (1.5 * x[1]).cos(),
                &[0.0, 0.0],
                &[1.0, 1.0],
                vec![Modulus::lipschitz(2.0)?, Modulus::lipschitz(1.5)?],
            )?,
        ),
        (
            "bump",
            Target::new(
                |x: &[f64]| (-((x[0] - 0.5).powi(2) + (x[1] - 0.4).powi(2)) / 0.1).exp(),
                &[0.0, 0.0],
                &[1.0, 1.0],
                vec![Modulus::lipschitz(1.92)?],
            )?,
        ),
        (
            "kink",
            Target::new(
                |x: &[f64]| (x[0] - x[1]).abs() * 0.5 + 0.2 * x[0],
                &[0.0, 0.0],
                &[1.0, 1.0],
                vec![Modulus::lipschitz(0.7)?, Modulus::lipschitz(0.5)?],
            )?,
        ),
    ];
    for act in [Activation::Sigmoid, Activation::Relu, Activation::Sin, Activation::Softplus] {
        for (name, t) in &targets {
            for eps in [0.1, 0.05, 0.02] {
                let t0 = Instant::now();
                match UniversalApproximator::new(act)?.approximate(t, eps) {
                    Ok(a) => {
                        let tb = t0.elapsed().as_secs_f64();
                        let rep = verify_approximation_error(a.network(), t, 41, 300, 1)?;
                        println!(
                            "{act:?} {name} eps {eps}: width {} cert {:.3e} measured {:.3e} build {:.2}s {:?}\n   {}",
                            a.width(),
                            a.certified_error(),
                            rep.sup(),
                            tb,
                            a.construction(),
                            a.certificate()
                        );
                    }
                    Err(e) => println!("{act:?} {name} eps {eps}: ERROR {e}"),
                }
            }
        }
    }
    Ok(())
}
