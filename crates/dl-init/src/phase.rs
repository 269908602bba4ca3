//! The **phase** of a random network (ordered, chaotic, critical), the **critical line**
//! sigma_w2(sigma_b2) on which chi_1 = 1, and phase diagrams (Poole et al. 2016, Fig. 2;
//! Schoenholz et al. 2017, Fig. 1).
//!
//! ```
//! use dl_init::{Activation, phase::critical_sigma_w2};
//! // He initialisation is the critical point of ReLU without bias.
//! assert!((critical_sigma_w2(&Activation::Relu, 0.0)? - 2.0).abs() < 1e-8);
//! // tanh without bias is critical at sigma_w2 = 1 (q* = 0, chi_1 = sigma_w2 tanh'(0)^2).
//! assert!((critical_sigma_w2(&Activation::Tanh, 0.0)? - 1.0).abs() < 1e-8);
//! # Ok::<(), dl_init::InitError>(())
//! ```

use crate::activation::Activation;
use crate::error::{InitError, Result, non_negative};
use crate::mean_field::MeanField;

/// |chi_1 - 1| at or below this is classified as critical. At chi_1 = 1 - 1e-6 the
/// correlation depth scale xi_c = -1 / log(chi_1) is 1e6 layers, deeper than any network.
pub const PHASE_TOLERANCE: f64 = 1e-6;

/// The phase of a random deep network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// chi_1 < 1: correlations go to 1, gradients vanish exponentially with depth.
    Ordered,
    /// chi_1 = 1 (within [`PHASE_TOLERANCE`]): signals and gradients propagate through
    /// depths far beyond xi_q and xi_c.
    Critical,
    /// chi_1 > 1: nearby inputs decorrelate, gradients explode exponentially with depth.
    Chaotic,
}

impl Phase {
    /// Classifies by chi_1 with [`PHASE_TOLERANCE`].
    pub fn from_chi_1(chi_1: f64) -> Phase {
        if (chi_1 - 1.0).abs() <= PHASE_TOLERANCE {
            Phase::Critical
        } else if chi_1 < 1.0 {
            Phase::Ordered
        } else {
            Phase::Chaotic
        }
    }
}

/// Every mean-field quantity at one (activation, sigma_w2, sigma_b2).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SignalPropagation {
    pub q_star: f64,
    /// sigma_w2 E[phi'(sqrt(q*) z)^2].
    pub chi_1: f64,
    /// L'(q*), the slope of the length map at its fixed point.
    pub length_map_slope: f64,
    /// The stable correlation fixed point (1 unless chaotic).
    pub c_star: f64,
    /// The slope of the correlation map at c*.
    pub chi_c: f64,
    /// -1 / log L'(q*).
    pub xi_q: f64,
    /// -1 / log chi_c.
    pub xi_c: f64,
    pub phase: Phase,
}

impl MeanField {
    /// q*, chi_1, c*, chi_c, both depth scales and the phase.
    pub fn analyze(&self) -> Result<SignalPropagation> {
        let fp = self.c_star()?;
        let length_map_slope = self.length_map_slope(fp.q_star)?;
        Ok(SignalPropagation {
            q_star: fp.q_star,
            chi_1: fp.chi_1,
            length_map_slope,
            c_star: fp.c_star,
            chi_c: fp.chi_c,
            xi_q: crate::mean_field::depth_scale(length_map_slope),
            xi_c: fp.xi_c(),
            phase: Phase::from_chi_1(fp.chi_1),
        })
    }

    /// The phase from chi_1 at q* (cheaper than [`Self::analyze`]: no correlation map).
    pub fn phase(&self) -> Result<Phase> {
        Ok(Phase::from_chi_1(self.chi_1()?))
    }
}

/// chi_1 - 1 at sigma_w2, or None where the length map diverges (treated as "above").
fn excess(act: &Activation, sigma_w2: f64, sigma_b2: f64) -> Result<Option<(f64, f64)>> {
    let mf = MeanField::new(act.clone(), sigma_w2, sigma_b2)?;
    match mf.q_star() {
        Ok(q) => Ok(Some((mf.chi_1_at(q)? - 1.0, q))),
        Err(InitError::LengthMapDiverges { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// In the bisection, chi_1 - 1 must be below -1e-13 to count as "below the line". Where the
/// line meets q* = 0 (sigma_b2 = 0 and phi(0) = 0: tanh, erf) chi_1 - 1 is linear in
/// sigma_w2 on the ordered side but only quadratic on the chaotic side (to first order
/// q* and chi_1 compensate), so there rounding of order 1e-15 could otherwise move the root
/// by sqrt(1e-15) ~ 3e-8.
const BELOW_TOLERANCE: f64 = 1e-13;

/// The sigma_w2 on the critical line at bias variance `sigma_b2`: chi_1(sigma_w2) = 1 with
/// q* recomputed at every sigma_w2.
///
/// The root is bracketed between sigma_w2 = 1e-3 (where chi_1 is small) and doublings of
/// sigma_w2 = 1 until chi_1 > 1 or the length map diverges (up to 1e4), then bisected to a
/// relative width of 1e-14 (about 47 steps; bisection because the divergent side has no
/// value to interpolate). Errors, with the values, when chi_1 stays below 1, or when chi_1
/// reaches 1 only where q* diverges (ReLU with sigma_b2 > 0: q* = sigma_b2 / (1 - sigma_w2 / 2)).
pub fn critical_sigma_w2(act: &Activation, sigma_b2: f64) -> Result<f64> {
    non_negative("sigma_b2", sigma_b2)?;
    let no_point = |detail: String| InitError::NoCriticalPoint { activation: act.name(), sigma_b2, detail };
    let mut lo = 1e-3;
    match excess(act, lo, sigma_b2)? {
        Some((e, _)) if e < 0.0 => {}
        Some((e, _)) => return Err(no_point(format!("chi_1 = {} >= 1 already at sigma_w2 = {lo}", e + 1.0))),
        None => return Err(no_point(format!("the length map diverges already at sigma_w2 = {lo}"))),
    }
    let mut hi = 1.0;
    loop {
        match excess(act, hi, sigma_b2)? {
            Some((e, _)) if e < 0.0 => {
                lo = hi;
                hi *= 2.0;
                if hi > 1e4 {
                    return Err(no_point(format!("chi_1 = {} < 1 still at sigma_w2 = {lo}", e + 1.0)));
                }
            }
            _ => break,
        }
    }
    let mut lo_state = excess(act, lo, sigma_b2)?;
    let mut hi_state = excess(act, hi, sigma_b2)?;
    for _ in 0..200 {
        if hi - lo <= 1e-14 * hi {
            break;
        }
        let mid = 0.5 * (lo + hi);
        match excess(act, mid, sigma_b2)? {
            Some((e, q)) if e < -BELOW_TOLERANCE => (lo, lo_state) = (mid, Some((e, q))),
            state => (hi, hi_state) = (mid, state),
        }
    }
    // Prefer an end with a finite q* and the smaller |chi_1 - 1|.
    let candidates = [(lo, lo_state), (hi, hi_state)];
    let best = candidates
        .iter()
        .filter_map(|&(w, s)| s.map(|(e, q)| (w, e, q)))
        .min_by(|a, b| a.1.abs().total_cmp(&b.1.abs()));
    match best {
        Some((w, e, q)) if e.abs() <= PHASE_TOLERANCE && q <= 1e6 * sigma_b2.max(1.0) => Ok(w),
        Some((w, e, q)) => Err(no_point(format!(
            "chi_1 approaches 1 only where q* diverges: at sigma_w2 = {w}, chi_1 = {} and q* = {q:e}",
            e + 1.0
        ))),
        None => Err(no_point(format!("the length map diverges on both sides of sigma_w2 = {lo}"))),
    }
}

/// The critical line: (sigma_b2, critical sigma_w2) for each bias variance, each point
/// with its own result.
pub fn critical_line(act: &Activation, sigma_b2s: &[f64]) -> Vec<(f64, Result<f64>)> {
    sigma_b2s.iter().map(|&b| (b, critical_sigma_w2(act, b))).collect()
}

/// One point of a phase diagram.
#[derive(Clone, Debug, PartialEq)]
pub struct PhasePoint {
    pub sigma_w2: f64,
    pub sigma_b2: f64,
    /// (q*, chi_1, phase), or why they do not exist (for example a divergent length map).
    pub outcome: Result<(f64, f64, Phase)>,
}

/// The phase at every (sigma_w2, sigma_b2) of a grid, row by row in sigma_b2.
pub fn phase_diagram(act: &Activation, sigma_w2s: &[f64], sigma_b2s: &[f64]) -> Vec<PhasePoint> {
    let mut out = Vec::with_capacity(sigma_w2s.len() * sigma_b2s.len());
    for &sigma_b2 in sigma_b2s {
        for &sigma_w2 in sigma_w2s {
            let outcome = MeanField::new(act.clone(), sigma_w2, sigma_b2).and_then(|mf| {
                let q = mf.q_star()?;
                let chi_1 = mf.chi_1_at(q)?;
                Ok((q, chi_1, Phase::from_chi_1(chi_1)))
            });
            out.push(PhasePoint { sigma_w2, sigma_b2, outcome });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gauss_hermite::gauss_hermite;

    /// He initialisation: ReLU without bias is critical at sigma_w2 = 2 exactly.
    #[test]
    fn relu_critical_point_is_he() {
        let w = critical_sigma_w2(&Activation::Relu, 0.0).unwrap();
        assert!((w - 2.0).abs() < 1e-12, "{w}");
        let err = critical_sigma_w2(&Activation::Relu, 0.1).unwrap_err();
        assert!(matches!(err, InitError::NoCriticalPoint { .. }), "{err}");
        assert!(err.to_string().contains("q*"), "{err}");
    }

    /// tanh's critical line against an independent brute-force computation: q* by plain
    /// iteration of the length map with a fixed order-512 Gauss–Hermite rule (converged to
    /// ~1e-15 for q* < 1.5), chi_1 with the same rule, and an independent bisection on
    /// sigma_w2. Agreement to 1e-9 (the required accuracy is 1e-8).
    #[test]
    fn tanh_critical_line_against_brute_force() {
        let rule = gauss_hermite(512).unwrap();
        let chi_1_brute = |w: f64, b: f64| {
            let mut q = 1.0f64;
            for _ in 0..100_000 {
                let next = w * rule.expect(|z| (q.sqrt() * z).tanh().powi(2)) + b;
                let done = (next - q).abs() <= 1e-15 * q.max(1e-300);
                q = next;
                if done {
                    break;
                }
            }
            w * rule.expect(|z| (1.0 - (q.sqrt() * z).tanh().powi(2)).powi(2))
        };
        assert!((critical_sigma_w2(&Activation::Tanh, 0.0).unwrap() - 1.0).abs() < 1e-12);
        for b in [0.01, 0.05, 0.1, 0.2] {
            let w = critical_sigma_w2(&Activation::Tanh, b).unwrap();
            let (mut lo, mut hi) = (1.0, 4.0);
            while hi - lo > 1e-12 {
                let mid = 0.5 * (lo + hi);
                if chi_1_brute(mid, b) < 1.0 { lo = mid } else { hi = mid }
            }
            assert!((w - lo).abs() < 1e-9, "sigma_b2 {b}: {w} vs brute force {lo}");
            println!("tanh critical sigma_w2({b}) = {w:.12} (brute force {lo:.12})");
        }
    }

    #[test]
    fn phases_and_diagram() {
        let ordered = MeanField::new(Activation::Tanh, 1.2, 0.3).unwrap().analyze().unwrap();
        assert_eq!((ordered.phase, ordered.c_star), (Phase::Ordered, 1.0));
        assert!(ordered.xi_c.is_finite() && ordered.xi_c > 0.0 && ordered.xi_q > 0.0);
        let chaotic = MeanField::new(Activation::Tanh, 3.0, 0.05).unwrap().analyze().unwrap();
        assert_eq!(chaotic.phase, Phase::Chaotic);
        assert!(chaotic.c_star < 1.0 && chaotic.chi_1 > 1.0);
        let w = critical_sigma_w2(&Activation::Tanh, 0.05).unwrap();
        let critical = MeanField::new(Activation::Tanh, w, 0.05).unwrap().analyze().unwrap();
        assert_eq!(critical.phase, Phase::Critical);
        assert!(critical.xi_c > 1e6, "{critical:?}");
        let diagram = phase_diagram(&Activation::Relu, &[1.0, 2.0, 3.0], &[0.0, 0.1]);
        assert_eq!(diagram.len(), 6);
        assert_eq!(diagram[0].outcome.as_ref().unwrap().2, Phase::Ordered);
        assert_eq!(diagram[1].outcome.as_ref().unwrap().2, Phase::Critical);
        assert!(matches!(diagram[2].outcome, Err(InitError::LengthMapDiverges { .. })));
        assert!(matches!(diagram[4].outcome, Err(InitError::LengthMapDiverges { .. })));
        // erf without bias: q* = 0 and chi_1 = sigma_w2 erf'(0)^2 = 4 sigma_w2 / pi.
        let line = critical_line(&Activation::Erf, &[0.0, 0.1]);
        // SELU without bias: the same argument with the one-sided slopes lambda and
        // lambda alpha averaged: chi_1 = sigma_w2 lambda^2 (1 + alpha^2) / 2 at q* = 0.
        use crate::activation::{SELU_ALPHA, SELU_LAMBDA};
        let w = critical_sigma_w2(&Activation::Selu, 0.0).unwrap();
        let expected = 2.0 / (SELU_LAMBDA * SELU_LAMBDA * (1.0 + SELU_ALPHA * SELU_ALPHA));
        assert!((w - expected).abs() < 1e-10, "selu {w} vs {expected}");
        let w = *line[0].1.as_ref().unwrap();
        assert!((w - std::f64::consts::FRAC_PI_4).abs() < 1e-12, "{w}");
        assert!(line.iter().all(|(_, r)| r.is_ok()));
    }
}
