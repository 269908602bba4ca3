//! Sigmoidal activations used as smooth steps.
//!
//! A bounded activation with limits `lo` at `-inf` and `hi` at `+inf` becomes a unit step
//!
//! ```text
//! u(z) = (act(z) - lo) / (hi - lo),      u(0) = 1/2,   u(-z) = 1 - u(z),
//! ```
//!
//! for the logistic sigmoid (`lo = 0, hi = 1`, `u = sigma`), `tanh` (`lo = -1, hi = 1`,
//! `u(z) = sigma(2z)`) and `erf` (`lo = -1, hi = 1`, `u(z) = (1 + erf z) / 2`). What the
//! staircase certificate needs from a unit is its **tail** `T(z) = 1 - u(z)` for `z >= 0`
//! (by symmetry also `u(-z)`) and the tail's integral, in closed form:
//!
//! | unit | `T(z)` | `int_a^inf T(z) dz` |
//! | --- | --- | --- |
//! | logistic | `sigma(-z) = 1 / (1 + e^z)` | `log(1 + e^-a)` |
//! | tanh | `sigma(-2z)` | `log(1 + e^(-2a)) / 2` |
//! | erf | `erfc(z) / 2` | `(e^(-a^2) / sqrt(pi) - a erfc(a)) / 2` |
//!
//! Because `T` decreases, a sum over thresholds at distances `a, a + g, a + 2g, ...` is
//! bounded by its first term plus the integral (the integral test):
//!
//! ```text
//! sum_{m >= 0} T(a + m g) <= T(a) + (1/g) int_a^inf T(z) dz.
//! ```

use dl_layers::Activation;

/// A bounded, monotone activation symmetric about its midpoint at `z = 0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sigmoidal {
    /// `sigma(z) = 1 / (1 + e^-z)` (Cybenko 1989).
    Logistic,
    /// `tanh z = 2 sigma(2z) - 1`.
    Tanh,
    /// `erf z`.
    Erf,
}

impl Sigmoidal {
    /// The sigmoidal unit of an activation, if it is one.
    pub fn of(act: Activation) -> Option<Self> {
        match act {
            Activation::Sigmoid => Some(Sigmoidal::Logistic),
            Activation::Tanh => Some(Sigmoidal::Tanh),
            Activation::Erf => Some(Sigmoidal::Erf),
            _ => None,
        }
    }

    /// The activation itself.
    pub fn activation(self) -> Activation {
        match self {
            Sigmoidal::Logistic => Activation::Sigmoid,
            Sigmoidal::Tanh => Activation::Tanh,
            Sigmoidal::Erf => Activation::Erf,
        }
    }

    /// `(lo, hi)`: the limits at `-inf` and `+inf`.
    pub fn limits(self) -> (f64, f64) {
        match self {
            Sigmoidal::Logistic => (0.0, 1.0),
            Sigmoidal::Tanh | Sigmoidal::Erf => (-1.0, 1.0),
        }
    }

    /// The normalised step `u(z)`.
    pub fn step(self, z: f64) -> f64 {
        match self {
            Sigmoidal::Logistic => logistic(z),
            Sigmoidal::Tanh => logistic(2.0 * z),
            Sigmoidal::Erf => 0.5 * libm::erfc(-z),
        }
    }

    /// `T(z) = 1 - u(z)` for `z >= 0`, inflated by `1e-9` relative so that the rounding of
    /// its own evaluation cannot make it an underestimate.
    pub fn tail(self, z: f64) -> f64 {
        let t = match self {
            Sigmoidal::Logistic => logistic(-z),
            Sigmoidal::Tanh => logistic(-2.0 * z),
            Sigmoidal::Erf => 0.5 * libm::erfc(z),
        };
        t * (1.0 + 1e-9)
    }

    /// `int_a^inf T(z) dz` for `a >= 0` (inflated by `1e-6` relative: the erf form cancels
    /// about `1 / (2 a^2)` of its leading digits).
    pub fn tail_integral(self, a: f64) -> f64 {
        let v = match self {
            Sigmoidal::Logistic => (-a).exp().ln_1p(),
            Sigmoidal::Tanh => 0.5 * (-2.0 * a).exp().ln_1p(),
            Sigmoidal::Erf => {
                let exact = 0.5 * ((-a * a).exp() / std::f64::consts::PI.sqrt() - a * libm::erfc(a));
                // erfc(z) <= e^{-z^2} / (z sqrt(pi)) gives int_a^inf <= erfc(a) / (4 a) ... use the
                // larger of the exact form and zero (the cancellation cannot make it negative
                // by more than its rounding)
                exact.max(0.0)
            }
        };
        v * (1.0 + 1e-6) + f64::MIN_POSITIVE
    }

    /// `sum_{m >= 0} T(a + m g)` bounded by the integral test, for `a, g > 0`.
    pub fn tail_sum(self, a: f64, g: f64) -> f64 {
        self.tail(a) + self.tail_integral(a) / g
    }
}

/// The logistic function without overflow.
pub(crate) fn logistic(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Composite Simpson on [a, a + 60] (the tails are below 1e-26 beyond): step 1e-3 gives
    /// an error below 1e-12 for these smooth integrands.
    fn simpson(f: impl Fn(f64) -> f64, a: f64) -> f64 {
        let n = 60_000;
        let h = 60.0 / n as f64;
        let mut s = f(a) + f(a + 60.0);
        for i in 1..n {
            s += f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
        }
        s * h / 3.0
    }

    #[test]
    fn steps_are_symmetric_sigmoids_of_the_activation() {
        for unit in [Sigmoidal::Logistic, Sigmoidal::Tanh, Sigmoidal::Erf] {
            let (lo, hi) = unit.limits();
            for z in [-3.0, -0.5, 0.0, 0.7, 4.0] {
                let act = crate::approximation::network::activation_value(unit.activation(), z);
                assert!((unit.step(z) - (act - lo) / (hi - lo)).abs() < 1e-15, "{unit:?} at {z}");
                assert!((unit.step(-z) - (1.0 - unit.step(z))).abs() < 1e-15);
            }
            assert_eq!(unit.step(0.0), 0.5);
        }
    }

    #[test]
    fn tail_integrals_match_quadrature() {
        for unit in [Sigmoidal::Logistic, Sigmoidal::Tanh, Sigmoidal::Erf] {
            for a in [0.0, 0.5, 2.0, 5.0] {
                let quad = simpson(|z| 1.0 - unit.step(z), a);
                let closed = unit.tail_integral(a);
                assert!(closed >= quad * (1.0 - 1e-9), "{unit:?} a = {a}: {closed} < {quad}");
                assert!((closed - quad).abs() <= 1e-5 * quad + 1e-13, "{unit:?} a = {a}: {closed} vs {quad}");
            }
        }
    }

    #[test]
    fn tail_sum_bounds_the_series() {
        for unit in [Sigmoidal::Logistic, Sigmoidal::Tanh, Sigmoidal::Erf] {
            for (a, g) in [(0.3, 0.6), (2.0, 4.0), (1.0, 0.1)] {
                let series: f64 = (0..100_000).map(|m| 1.0 - unit.step(a + m as f64 * g)).sum();
                assert!(unit.tail_sum(a, g) >= series, "{unit:?} ({a}, {g})");
                assert!(unit.tail_sum(a, g) <= series + unit.tail(a) + 1e-12, "{unit:?} ({a}, {g}) too loose");
            }
        }
    }
}
