//! Closed-form Gaussian expectations E[phi(u) phi(v)] and E[phi'(u) phi'(v)] for a bivariate
//! normal (u, v) with Var u = q1, Var v = q2, Cov(u, v) = q12, where they are known.
//!
//! - ReLU: the arc-cosine kernels of degree 1 and 0 (Cho & Saul 2009). With
//!   cos(theta) = q12 / sqrt(q1 q2):
//!   E[relu(u) relu(v)] = sqrt(q1 q2) / (2 pi) (sin theta + (pi - theta) cos theta),
//!   E[relu'(u) relu'(v)] = (pi - theta) / (2 pi).
//! - Leaky ReLU with slope a: leaky(x) = a x + (1 - a) relu(x), and E[u relu(v)] = q12 / 2
//!   by the symmetry (u, v) -> (-u, -v), so E[leaky leaky] = a q12 + (1 - a)^2 K1 and
//!   E[leaky' leaky'] = a + (1 - a)^2 K0 with K1, K0 the ReLU kernels.
//! - erf (Williams 1997): E[erf(u) erf(v)] = (2/pi) arcsin(2 q12 / sqrt((1 + 2 q1)(1 + 2 q2)));
//!   with erf'(x) = (2/sqrt(pi)) e^{-x^2}, E[erf'(u) erf'(v)] = (4/pi) / sqrt(det(I + 2 Sigma))
//!   = (4/pi) / sqrt((1 + 2 q1)(1 + 2 q2) - 4 q12^2).
//! - sin: E[sin u sin v] = e^{-(q1+q2)/2} sinh(q12), E[cos u cos v] = e^{-(q1+q2)/2} cosh(q12)
//!   (from E[cos(u -+ v)] = e^{-Var(u -+ v)/2}).
//! - linear: q12 and 1.
//! - `scale * inner + shift` when `inner` has a closed form:
//!   a^2 E[f f] + a b (E f(u) + E f(v)) + b^2 and a^2 E[f' f'].
//!
//! Inputs are assumed validated (q1, q2 > 0, q12^2 <= q1 q2); see [`crate::gaussian`].

use std::f64::consts::PI;

use crate::activation::Activation;
use crate::gaussian::PairExpectation;

/// The angle theta in [0, pi] between u and v: cos theta = q12 / sqrt(q1 q2). Computed
/// with `atan2` so that theta near 0 keeps its precision.
fn angle(q1: f64, q2: f64, q12: f64) -> f64 {
    (q1 * q2 - q12 * q12).max(0.0).sqrt().atan2(q12)
}

/// The ReLU pair (arc-cosine kernels of degree 1 and 0; Cho & Saul 2009), written as
/// sqrt(q1 q2) (sin theta / (2 pi) + (1 - theta / pi) cos theta / 2) and (1 - theta / pi) / 2
/// so that at theta = 0 they are exactly q / 2 and 1 / 2: the length map of ReLU at
/// sigma_w2 = 2 is then exactly the identity (its fixed points are every q).
pub fn relu_pair(q1: f64, q2: f64, q12: f64) -> PairExpectation {
    let theta = angle(q1, q2, q12);
    let norm = (q1 * q2).sqrt();
    let open = 1.0 - theta / PI;
    PairExpectation { phi_phi: norm * (theta.sin() / (2.0 * PI) + 0.5 * open * theta.cos()), dphi_dphi: 0.5 * open }
}

/// The erf pair (Williams 1997).
pub fn erf_pair(q1: f64, q2: f64, q12: f64) -> PairExpectation {
    let d1 = 1.0 + 2.0 * q1;
    let d2 = 1.0 + 2.0 * q2;
    let arg = (2.0 * q12 / (d1 * d2).sqrt()).clamp(-1.0, 1.0);
    PairExpectation { phi_phi: 2.0 / PI * arg.asin(), dphi_dphi: 4.0 / PI / (d1 * d2 - 4.0 * q12 * q12).sqrt() }
}

/// The sin pair.
pub fn sin_pair(q1: f64, q2: f64, q12: f64) -> PairExpectation {
    let damp = (-0.5 * (q1 + q2)).exp();
    PairExpectation { phi_phi: damp * q12.sinh(), dphi_dphi: damp * q12.cosh() }
}

/// E[phi(sqrt(q) z)] in closed form, when known.
pub fn closed_form_mean(act: &Activation, q: f64) -> Option<f64> {
    let relu_mean = (q / (2.0 * PI)).sqrt();
    match act {
        Activation::Relu => Some(relu_mean),
        Activation::LeakyRelu(a) => Some((1.0 - a) * relu_mean),
        Activation::Erf | Activation::Sin | Activation::Linear => Some(0.0),
        Activation::Scaled { inner, scale, shift } => closed_form_mean(inner, q).map(|m| scale * m + shift),
        _ => None,
    }
}

/// E[phi(u) phi(v)] and E[phi'(u) phi'(v)] in closed form, when known.
pub fn closed_form_pair(act: &Activation, q1: f64, q2: f64, q12: f64) -> Option<PairExpectation> {
    match act {
        Activation::Relu => Some(relu_pair(q1, q2, q12)),
        Activation::LeakyRelu(a) => {
            let k = relu_pair(q1, q2, q12);
            let b = (1.0 - a) * (1.0 - a);
            Some(PairExpectation { phi_phi: a * q12 + b * k.phi_phi, dphi_dphi: a + b * k.dphi_dphi })
        }
        Activation::Erf => Some(erf_pair(q1, q2, q12)),
        Activation::Sin => Some(sin_pair(q1, q2, q12)),
        Activation::Linear => Some(PairExpectation { phi_phi: q12, dphi_dphi: 1.0 }),
        Activation::Scaled { inner, scale, shift } => {
            let p = closed_form_pair(inner, q1, q2, q12)?;
            let m1 = closed_form_mean(inner, q1)?;
            let m2 = closed_form_mean(inner, q2)?;
            Some(PairExpectation {
                phi_phi: scale * scale * p.phi_phi + scale * shift * (m1 + m2) + shift * shift,
                dphi_dphi: scale * scale * p.dphi_dphi,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known special values: ReLU with u = v gives E[relu^2] = q / 2 and E[relu'^2] = 1/2;
    /// independent units give E[relu]^2 = q / (2 pi) and 1/4.
    #[test]
    fn relu_special_values() {
        let p = relu_pair(3.0, 3.0, 3.0);
        assert!((p.phi_phi - 1.5).abs() < 1e-15 && (p.dphi_dphi - 0.5).abs() < 1e-15);
        let p = relu_pair(2.0, 8.0, 0.0);
        assert!((p.phi_phi - 4.0 / (2.0 * PI)).abs() < 1e-15 && (p.dphi_dphi - 0.25).abs() < 1e-15);
        let p = relu_pair(2.0, 2.0, -2.0);
        assert!(p.phi_phi.abs() < 1e-15 && p.dphi_dphi.abs() < 1e-15);
    }

    /// Leaky ReLU with slope 1 is linear; sin at q12 = q gives E[sin^2] = (1 - e^{-2q}) / 2.
    #[test]
    fn leaky_and_sin_special_values() {
        let p = closed_form_pair(&Activation::LeakyRelu(1.0), 2.0, 3.0, 1.5).unwrap();
        assert!((p.phi_phi - 1.5).abs() < 1e-15 && (p.dphi_dphi - 1.0).abs() < 1e-15);
        let q: f64 = 0.7;
        let p = sin_pair(q, q, q);
        assert!((p.phi_phi - 0.5 * (1.0 - (-2.0 * q).exp())).abs() < 1e-15);
        assert!((p.dphi_dphi - 0.5 * (1.0 + (-2.0 * q).exp())).abs() < 1e-15);
    }
}
