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
use crate::length_fixed_point::LengthFixedPoint;
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
    /// q* = 0, the degenerate fixed point ([`LengthFixedPoint::Zero`]): L(0) = 0 and every
    /// input's pre-activations shrink to zero (tanh and erf without bias for sigma_w2 up to
    /// and including the critical 1 and pi / 4). The correlation between inputs, c*, chi_c
    /// and xi_c are undefined; chi_1 = sigma_w2 E[phi'(0)^2] still says whether gradients
    /// vanish (chi_1 < 1) or are kept (chi_1 = 1, where q^l decays only like 1 / l).
    Degenerate,
}

impl Phase {
    /// Classifies by chi_1 with [`PHASE_TOLERANCE`] (never [`Phase::Degenerate`]: that needs q*,
    /// see [`Phase::classify`]).
    pub fn from_chi_1(chi_1: f64) -> Phase {
        if (chi_1 - 1.0).abs() <= PHASE_TOLERANCE {
            Phase::Critical
        } else if chi_1 < 1.0 {
            Phase::Ordered
        } else {
            Phase::Chaotic
        }
    }

    /// [`Phase::Degenerate`] at q* = 0, otherwise by chi_1 ([`Phase::from_chi_1`]).
    pub fn classify(fixed_point: &LengthFixedPoint, chi_1: f64) -> Phase {
        if fixed_point.is_zero() { Phase::Degenerate } else { Phase::from_chi_1(chi_1) }
    }

    /// The phase's name in lower case ("ordered", "critical", "chaotic", "degenerate").
    pub fn name(&self) -> &'static str {
        match self {
            Phase::Ordered => "ordered",
            Phase::Critical => "critical",
            Phase::Chaotic => "chaotic",
            Phase::Degenerate => "degenerate",
        }
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Every mean-field quantity at one (activation, sigma_w2, sigma_b2).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SignalPropagation {
    /// The fixed point of the length map (0 in the degenerate phase).
    pub q_star: f64,
    /// sigma_w2 E[phi'(sqrt(q*) z)^2] (at q* = 0 its limit sigma_w2 E[phi'(0)^2]).
    pub chi_1: f64,
    /// L'(q*), the slope of the length map at its fixed point.
    pub length_map_slope: f64,
    /// The stable correlation fixed point (1 unless chaotic); `None` in the degenerate phase.
    pub c_star: Option<f64>,
    /// The slope of the correlation map at c*; `None` in the degenerate phase.
    pub chi_c: Option<f64>,
    /// -1 / log L'(q*) (infinite where L'(q*) = 1).
    pub xi_q: f64,
    /// -1 / log chi_c (infinite at criticality); `None` in the degenerate phase.
    pub xi_c: Option<f64>,
    /// Ordered, critical, chaotic or degenerate.
    pub phase: Phase,
}

impl MeanField {
    /// q*, chi_1, c*, chi_c, both depth scales and the phase, at the q* reached from q0 = 1.
    /// Errors where q* is not unique ([`InitError::FixedPointNotUnique`]: use
    /// [`Self::analyze_from`] with the input's variance) or does not exist.
    pub fn analyze(&self) -> Result<SignalPropagation> {
        if let LengthFixedPoint::EveryQ { q0 } = self.length_fixed_point()? {
            return Err(self.not_unique(q0));
        }
        self.analyze_from(1.0)
    }

    /// [`Self::analyze`] at the fixed point reached from the input variance `q0` (q0 itself
    /// where every q is a fixed point).
    pub fn analyze_from(&self, q0: f64) -> Result<SignalPropagation> {
        let fp = self.length_fixed_point_from(q0)?;
        let q_star = fp.reached();
        let chi_1 = self.chi_1_at(q_star)?;
        let length_map_slope = self.length_map_slope(q_star)?;
        let (c_star, chi_c, xi_c) = if fp.is_zero() {
            (None, None, None)
        } else {
            let c = self.c_star_at(q_star)?;
            (Some(c.c_star), Some(c.chi_c), Some(c.xi_c()))
        };
        Ok(SignalPropagation {
            q_star,
            chi_1,
            length_map_slope,
            c_star,
            chi_c,
            xi_q: crate::mean_field::depth_scale(length_map_slope),
            xi_c,
            phase: Phase::classify(&fp, chi_1),
        })
    }

    /// The phase at the fixed point reached from q0 = 1 (cheaper than [`Self::analyze`]: no
    /// correlation map). Where every q is a fixed point the phase is that of chi_1, which
    /// must then be the same at all of them (see [`Self::chi_1_at_fixed_point`]): He's
    /// sigma_w2 = 2 is critical for ReLU.
    pub fn phase(&self) -> Result<Phase> {
        let (fp, chi_1) = self.chi_1_at_fixed_point()?;
        Ok(Phase::classify(&fp, chi_1))
    }
}

/// chi_1 - 1 at one sigma_w2, with the length map's outcome there.
#[derive(Clone, Copy, Debug)]
enum Excess {
    /// q* exists (or every q is a fixed point with one chi_1): chi_1 - 1 there.
    Finite(f64),
    /// The length map diverges: chi_1 - 1 at the last variance of the search (~[`Q_MAX`](crate::length_fixed_point::Q_MAX)),
    /// the limit the network approaches with depth.
    Diverges(f64),
}

impl Excess {
    fn value(&self) -> f64 {
        match *self {
            Excess::Finite(e) | Excess::Diverges(e) => e,
        }
    }
}

fn excess(act: &Activation, sigma_w2: f64, sigma_b2: f64) -> Result<Excess> {
    let mf = MeanField::new(act.clone(), sigma_w2, sigma_b2)?;
    match mf.chi_1_at_fixed_point() {
        Ok((_, chi_1)) => Ok(Excess::Finite(chi_1 - 1.0)),
        Err(InitError::LengthMapDiverges { q_last, .. }) => Ok(Excess::Diverges(mf.chi_1_at(q_last)? - 1.0)),
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
/// sigma_w2 = 1 until chi_1 > 1 (up to 1e4), then bisected to a relative width of 1e-14
/// (about 47 steps). Where the length map diverges, chi_1 is taken at the variance where
/// the search for q* stopped (~[`Q_MAX`](crate::length_fixed_point::Q_MAX)): the value the network approaches with depth.
///
/// The line may end where q* diverges: for ReLU with sigma_b2 > 0, chi_1 = sigma_w2 / 2 at
/// every q and q* = sigma_b2 / (1 - sigma_w2 / 2), so the critical sigma_w2 is 2 with q*
/// divergent there (q^l = q^0 + l sigma_b2 grows linearly with depth, the slowest possible
/// divergence). Errors, with the values, when chi_1 stays below 1 or is above 1 already at
/// sigma_w2 = 1e-3, or when chi_1 jumps over 1 (|chi_1 - 1| > [`PHASE_TOLERANCE`] on both
/// sides of the bisected point).
pub fn critical_sigma_w2(act: &Activation, sigma_b2: f64) -> Result<f64> {
    non_negative("sigma_b2", sigma_b2)?;
    let no_point = |detail: String| InitError::NoCriticalPoint { activation: act.name(), sigma_b2, detail };
    let mut lo = 1e-3;
    match excess(act, lo, sigma_b2)? {
        Excess::Finite(e) if e < 0.0 => {}
        Excess::Finite(e) => {
            return Err(no_point(format!("chi_1 = {} >= 1 already at sigma_w2 = {lo}", e + 1.0)));
        }
        Excess::Diverges(_) => return Err(no_point(format!("the length map diverges already at sigma_w2 = {lo}"))),
    }
    let mut hi = 1.0;
    loop {
        let e = excess(act, hi, sigma_b2)?.value();
        if e >= 0.0 {
            break;
        }
        lo = hi;
        hi *= 2.0;
        if hi > 1e4 {
            return Err(no_point(format!("chi_1 = {} < 1 still at sigma_w2 = {lo}", e + 1.0)));
        }
    }
    let mut lo_state = excess(act, lo, sigma_b2)?;
    let mut hi_state = excess(act, hi, sigma_b2)?;
    for _ in 0..200 {
        if hi - lo <= 1e-14 * hi {
            break;
        }
        let mid = 0.5 * (lo + hi);
        let state = excess(act, mid, sigma_b2)?;
        if state.value() < -BELOW_TOLERANCE {
            (lo, lo_state) = (mid, state);
        } else {
            (hi, hi_state) = (mid, state);
        }
    }
    // The end with the smaller |chi_1 - 1|.
    let (w, state) = if lo_state.value().abs() <= hi_state.value().abs() { (lo, lo_state) } else { (hi, hi_state) };
    if state.value().abs() <= PHASE_TOLERANCE {
        return Ok(w);
    }
    Err(no_point(format!(
        "chi_1 jumps over 1 at sigma_w2 = {w}: chi_1 = {} ({lo_state:?}) just below and {} ({hi_state:?}) just above",
        lo_state.value() + 1.0,
        hi_state.value() + 1.0
    )))
}

/// The critical line: (sigma_b2, critical sigma_w2) for each bias variance, each point
/// with its own result.
pub fn critical_line(act: &Activation, sigma_b2s: &[f64]) -> Vec<(f64, Result<f64>)> {
    sigma_b2s.iter().map(|&b| (b, critical_sigma_w2(act, b))).collect()
}

/// The mean-field state at one point of a phase diagram.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PhaseOutcome {
    /// Where the length map's iterates from q0 = 1 end (q* = [`LengthFixedPoint::reached`]).
    pub fixed_point: LengthFixedPoint,
    /// chi_1 at that fixed point (where every q is one, the common value).
    pub chi_1: f64,
    /// The phase ([`Phase::classify`]).
    pub phase: Phase,
}

/// One point of a phase diagram.
#[derive(Clone, Debug, PartialEq)]
pub struct PhasePoint {
    /// The weight variance.
    pub sigma_w2: f64,
    /// The bias variance.
    pub sigma_b2: f64,
    /// The fixed point, chi_1 and phase, or why they do not exist (for example a divergent
    /// length map, [`InitError::LengthMapDiverges`]).
    pub outcome: Result<PhaseOutcome>,
}

/// The phase at every (sigma_w2, sigma_b2) of a grid, row by row in sigma_b2.
pub fn phase_diagram(act: &Activation, sigma_w2s: &[f64], sigma_b2s: &[f64]) -> Vec<PhasePoint> {
    let mut out = Vec::with_capacity(sigma_w2s.len() * sigma_b2s.len());
    for &sigma_b2 in sigma_b2s {
        for &sigma_w2 in sigma_w2s {
            let outcome = MeanField::new(act.clone(), sigma_w2, sigma_b2).and_then(|mf| {
                let (fixed_point, chi_1) = mf.chi_1_at_fixed_point()?;
                Ok(PhaseOutcome { fixed_point, chi_1, phase: Phase::classify(&fixed_point, chi_1) })
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

    /// He initialisation: ReLU without bias is critical at sigma_w2 = 2 exactly. With a
    /// bias chi_1 = sigma_w2 / 2 still, and the critical point is still 2, where q* diverges.
    #[test]
    fn relu_critical_point_is_he() {
        let w = critical_sigma_w2(&Activation::Relu, 0.0).unwrap();
        assert!((w - 2.0).abs() < 1e-12, "{w}");
        for b in [1e-6, 0.1, 10.0] {
            let w = critical_sigma_w2(&Activation::Relu, b).unwrap();
            assert!((w - 2.0).abs() < 1e-12, "sigma_b2 {b}: {w}");
            let err = MeanField::new(Activation::Relu, 2.0, b).unwrap().q_star().unwrap_err();
            assert!(matches!(err, InitError::LengthMapDiverges { .. }), "{err}");
        }
        // Leaky ReLU: chi_1 = sigma_w2 (1 + a^2) / 2 at every q.
        let w = critical_sigma_w2(&Activation::LeakyRelu(0.1), 0.2).unwrap();
        assert!((w - 2.0 / 1.01).abs() < 1e-12, "{w}");
        // He init is critical, its phase is known although q* is not unique.
        assert_eq!(MeanField::new(Activation::Relu, 2.0, 0.0).unwrap().phase().unwrap(), Phase::Critical);
        let err = MeanField::new(Activation::Relu, 2.0, 0.0).unwrap().analyze().unwrap_err();
        assert!(matches!(err, InitError::FixedPointNotUnique { .. }), "{err}");
        let he = MeanField::new(Activation::Relu, 2.0, 0.0).unwrap().analyze_from(0.7).unwrap();
        assert_eq!((he.q_star, he.chi_1, he.c_star, he.phase), (0.7, 1.0, Some(1.0), Phase::Critical));
        assert_eq!(he.xi_c, Some(f64::INFINITY));
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
        assert_eq!((ordered.phase, ordered.c_star), (Phase::Ordered, Some(1.0)));
        assert!(ordered.xi_c.unwrap().is_finite() && ordered.xi_c.unwrap() > 0.0 && ordered.xi_q > 0.0);
        let chaotic = MeanField::new(Activation::Tanh, 3.0, 0.05).unwrap().analyze().unwrap();
        assert_eq!(chaotic.phase, Phase::Chaotic);
        assert!(chaotic.c_star.unwrap() < 1.0 && chaotic.chi_1 > 1.0);
        let w = critical_sigma_w2(&Activation::Tanh, 0.05).unwrap();
        let critical = MeanField::new(Activation::Tanh, w, 0.05).unwrap().analyze().unwrap();
        assert_eq!(critical.phase, Phase::Critical);
        assert!(critical.xi_c.unwrap() > 1e6, "{critical:?}");
        let diagram = phase_diagram(&Activation::Relu, &[1.0, 2.0, 3.0], &[0.0, 0.1]);
        assert_eq!(diagram.len(), 6);
        let phase = |i: usize| diagram[i].outcome.as_ref().unwrap().phase;
        // ReLU without bias: q* = 0 below 2 (degenerate), every q at 2 (critical).
        assert_eq!(phase(0), Phase::Degenerate);
        assert_eq!(phase(1), Phase::Critical);
        assert!(matches!(diagram[1].outcome.as_ref().unwrap().fixed_point, LengthFixedPoint::EveryQ { .. }));
        assert!(matches!(diagram[2].outcome, Err(InitError::LengthMapDiverges { .. })));
        assert_eq!(phase(3), Phase::Ordered);
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

    /// The degenerate fixed point q* = 0 (tanh at sigma_w2 <= 1, erf at <= pi/4, no bias):
    /// its own phase, with the correlation quantities undefined, and chi_1 its closed form
    /// sigma_w2 phi'(0)^2.
    #[test]
    fn degenerate_phase_at_and_below_criticality() {
        let erf_slope2 = 4.0 / std::f64::consts::PI;
        for (act, w, chi_1) in [
            (Activation::Tanh, 1.0, 1.0),
            (Activation::Tanh, 0.5, 0.5),
            (Activation::Erf, std::f64::consts::FRAC_PI_4, 1.0),
            (Activation::Erf, 0.5, 0.5 * erf_slope2),
        ] {
            let mf = MeanField::new(act.clone(), w, 0.0).unwrap();
            let sp = mf.analyze().unwrap();
            assert_eq!(sp.phase, Phase::Degenerate, "{act} at {w}");
            assert_eq!(mf.phase().unwrap(), Phase::Degenerate);
            assert_eq!(sp.q_star, 0.0);
            assert_eq!((sp.c_star, sp.chi_c, sp.xi_c), (None, None, None));
            assert!((sp.chi_1 - chi_1).abs() < 1e-15, "{act} at {w}: chi_1 {} vs {chi_1}", sp.chi_1);
            // L'(0) = chi_1 (L(q) = sigma_w2 phi'(0)^2 q + O(q^2)).
            assert!((sp.length_map_slope - chi_1).abs() < 1e-15);
            assert!(matches!(mf.c_star(), Err(InitError::Undefined(_))));
        }
        let diagram = phase_diagram(&Activation::Tanh, &[0.5, 1.0, 1.5], &[0.0]);
        let phases: Vec<Phase> = diagram.iter().map(|p| p.outcome.as_ref().unwrap().phase).collect();
        assert_eq!(phases, vec![Phase::Degenerate, Phase::Degenerate, Phase::Chaotic]);
    }

    /// tanh and erf without bias on the chaotic side: c* = 0 exactly. The activation is odd,
    /// so C(0) = sigma_w2 E[phi(u)]^2 / q* = 0, and C is convex on [0, 1] with C(1) = 1, so
    /// C(c) < c in between: 0 is the stable fixed point, with slope chi_c = C'(0) =
    /// sigma_w2 E[phi'(u)]^2. Checked against: C(c) < c on a grid and chi_c from an
    /// independent 1-D Gauss–Hermite rule; and brute force, iterating the correlation
    /// map from c = 0.9 (|c^l| falls like chi_c^l).
    #[test]
    fn chaotic_odd_activations_without_bias_decorrelate_completely() {
        let rule = gauss_hermite(256).unwrap();
        for (act, w) in [(Activation::Tanh, 2.0), (Activation::Tanh, 4.0), (Activation::Erf, 2.0)] {
            let mf = MeanField::new(act.clone(), w, 0.0).unwrap();
            let sp = mf.analyze().unwrap();
            assert_eq!(sp.phase, Phase::Chaotic, "{act} at {w}");
            assert_eq!(sp.c_star, Some(0.0), "{act} at {w}");
            let q = sp.q_star;
            let mean_dphi = rule.expect(|z| act.dphi(q.sqrt() * z));
            let chi_c = w * mean_dphi * mean_dphi;
            assert!((sp.chi_c.unwrap() - chi_c).abs() < 1e-12, "{act} at {w}: {:?} vs {chi_c}", sp.chi_c);
            assert!((sp.xi_c.unwrap() + 1.0 / chi_c.ln()).abs() < 1e-9);
            for c in [0.1, 0.3, 0.5, 0.7, 0.9, 0.99] {
                assert!(mf.correlation_map(q, c).unwrap() < c, "{act} at {w}: C({c}) >= {c}");
            }
            // C(c) = chi_c c + O(c^3) (C is odd): the ratio of successive iterates tends to
            // chi_c, with an error of order c^2 (< 1e-8 once c < 1e-4; the map's quadrature
            // error, ~1e-13 absolute, is 1e-9 of c there).
            let it = mf.correlation_map_iterates(0.9, 400).unwrap();
            let l = it.iter().position(|&c| c < 1e-4).expect("c^l falls below 1e-4 within 400 layers");
            assert!(it[..=l].windows(2).all(|p| p[1] < p[0] && p[1] > 0.0), "{act} at {w}");
            let ratio = it[l] / it[l - 1];
            assert!((ratio - chi_c).abs() < 1e-7, "{act} at {w}: c^{l} = {}, ratio {ratio} vs {chi_c}", it[l]);
        }
        // With a bias C(0) > 0 and c* > 0: the endpoint rule does not swallow it.
        let sp = MeanField::new(Activation::Tanh, 4.0, 1e-6).unwrap().analyze().unwrap();
        assert!(sp.c_star.unwrap() > 1e-8, "{sp:?}");
    }
}
