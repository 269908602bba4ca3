use dl_layers::Activation;
use dl_theory::approximation::*;
use std::time::Instant;

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let targets: Vec<(&str, Target, f64)> = vec![
        (
            "smooth",
            Target::new_1d(|x: f64| (3.0 * x).sin() + 0.5 * x * x, 0.0, 1.0, Modulus::lipschitz(4.0)?)?
                .with_second_derivative_bound(10.0)?,
            0.0,
        ),
        ("kink", Target::new_1d(|x: f64| (x - 0.3).abs(), 0.0, 1.0, Modulus::lipschitz(1.0)?)?, 0.0),
        ("sqrt", Target::new_1d(f64::sqrt, 0.0, 1.0, Modulus::holder(1.0, 0.5)?)?, 0.0),
        (
            "osc",
            Target::new_1d(|x: f64| (40.0 * x).sin(), 0.0, 1.0, Modulus::lipschitz(40.0)?)?
                .with_second_derivative_bound(1600.0)?,
            0.0,
        ),
    ];
    let acts = [
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Erf,
        Activation::Relu,
        Activation::Softplus,
        Activation::Elu(1.0),
        Activation::Sin,
    ];
    for act in acts {
        for (name, t, _) in &targets {
            for eps in [0.1, 0.01, 0.001] {
                let ua = UniversalApproximator::new(act)?;
                let t0 = Instant::now();
                match ua.approximate(t, eps) {
                    Ok(a) => {
                        let tb = t0.elapsed().as_secs_f64();
                        let t1 = Instant::now();
                        let (g, r) = if a.width() > 100_000 { (201, 100) } else { (2001, 1000) };
                        let rep = verify_approximation_error(a.network(), t, g, r, 1)?;
                        println!(
                            "{act:?} {name} eps {eps}: width {} cert {:.3e} measured {:.3e} ratio {:.3} build {:.2}s verify {:.2}s {:?}",
                            a.width(),
                            a.certified_error(),
                            rep.sup(),
                            rep.sup() / a.certified_error(),
                            tb,
                            t1.elapsed().as_secs_f64(),
                            a.construction()
                        );
                    }
                    Err(e) => println!("{act:?} {name} eps {eps}: ERROR {e}"),
                }
            }
        }
    }
    Ok(())
}
