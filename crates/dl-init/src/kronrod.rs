//! Globally adaptive Gauss–Kronrod quadrature (the 7-point Gauss / 15-point Kronrod pair
//! of QUADPACK's `qk15`, Piessens et al. 1983) on a finite interval with breakpoints.
//!
//! Used by the Gaussian-expectation engine where Gauss–Hermite converges slowly: integrands
//! with kinks (split exactly at the kink, each piece smooth) and smooth integrands with
//! features much narrower than the Gauss–Hermite node spacing (tanh at very large variance).
//! The interval with the largest error estimate |K15 - G7| is bisected until the total
//! error estimate meets the tolerance. |K15 - G7| estimates the error of G7, so it
//! overstates the error of the K15 value that is returned.

/// Kronrod abscissae on [-1, 1] (the non-negative half, largest first); odd positions
/// (1, 3, 5, 7) are also the 7-point Gauss nodes.
#[allow(clippy::excessive_precision)] // the published digits
const XGK: [f64; 8] = [
    0.991_455_371_120_812_639_206_854_697_526_329,
    0.949_107_912_342_758_524_526_189_684_047_851,
    0.864_864_423_359_769_072_789_712_788_640_926,
    0.741_531_185_599_394_439_863_864_773_280_788,
    0.586_087_235_467_691_130_294_144_845_693_013,
    0.405_845_151_377_397_166_906_606_412_076_961,
    0.207_784_955_007_898_467_600_689_403_773_245,
    0.0,
];
/// Kronrod weights matching [`XGK`].
#[allow(clippy::excessive_precision)] // the published digits
const WGK: [f64; 8] = [
    0.022_935_322_010_529_224_963_732_008_058_970,
    0.063_092_092_629_978_553_290_700_663_189_204,
    0.104_790_010_322_250_183_839_876_322_541_518,
    0.140_653_259_715_525_918_745_189_590_510_238,
    0.169_004_726_639_267_902_826_583_426_598_550,
    0.190_350_578_064_785_409_913_256_402_421_014,
    0.204_432_940_075_298_892_414_161_999_234_649,
    0.209_482_141_084_727_828_012_999_174_891_714,
];
/// 7-point Gauss weights for XGK[1], XGK[3], XGK[5], XGK[7].
#[allow(clippy::excessive_precision)] // the published digits
const WG: [f64; 4] = [
    0.129_484_966_168_869_693_270_611_432_679_082,
    0.279_705_391_489_276_667_901_467_771_423_780,
    0.381_830_050_505_118_944_950_369_775_488_975,
    0.417_959_183_673_469_387_755_102_040_816_327,
];

/// The result of an adaptive integration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Integral {
    /// The estimate of the integral.
    pub value: f64,
    /// The estimated absolute error.
    pub error: f64,
    /// The estimate of the integral of |f| (sets the scale of the absolute tolerance).
    pub abs_value: f64,
    /// Function evaluations used.
    pub evaluations: usize,
    /// Whether the tolerance was met.
    pub converged: bool,
}

struct Piece {
    a: f64,
    b: f64,
    value: f64,
    error: f64,
    abs_value: f64,
}

fn kronrod15(f: &mut impl FnMut(f64) -> f64, a: f64, b: f64) -> Piece {
    let c = 0.5 * (a + b);
    let h = 0.5 * (b - a);
    let fc = f(c);
    let mut k = WGK[7] * fc;
    let mut g = WG[3] * fc;
    let mut k_abs = WGK[7] * fc.abs();
    for i in 0..7 {
        let (f1, f2) = (f(c - h * XGK[i]), f(c + h * XGK[i]));
        k += WGK[i] * (f1 + f2);
        k_abs += WGK[i] * (f1.abs() + f2.abs());
        if i % 2 == 1 {
            g += WG[i / 2] * (f1 + f2);
        }
    }
    Piece { a, b, value: k * h, error: ((k - g) * h).abs(), abs_value: k_abs * h.abs() }
}

/// Integrates `f` over `[points[0], points.last()]`, splitting at every interior point,
/// until the error estimate is at most `max(abs_tol, rel_tol * |I|, abs_rel_tol * int |f|)`
/// or `max_pieces` pieces are in use. `points` must be sorted with at least two entries.
pub fn integrate(
    mut f: impl FnMut(f64) -> f64,
    points: &[f64],
    abs_tol: f64,
    rel_tol: f64,
    abs_rel_tol: f64,
    max_pieces: usize,
) -> Integral {
    let mut pieces: Vec<Piece> =
        points.windows(2).filter(|w| w[1] > w[0]).map(|w| kronrod15(&mut f, w[0], w[1])).collect();
    let mut evaluations = 15 * pieces.len();
    loop {
        let value: f64 = pieces.iter().map(|p| p.value).sum();
        let error: f64 = pieces.iter().map(|p| p.error).sum();
        let abs_value: f64 = pieces.iter().map(|p| p.abs_value).sum();
        let tol = abs_tol.max(rel_tol * value.abs()).max(abs_rel_tol * abs_value);
        let done = error <= tol;
        if done || pieces.len() >= max_pieces || !value.is_finite() {
            return Integral { value, error, abs_value, evaluations, converged: done && value.is_finite() };
        }
        let worst = (0..pieces.len()).max_by(|&i, &j| pieces[i].error.total_cmp(&pieces[j].error)).unwrap_or(0);
        let p = pieces.swap_remove(worst);
        let mid = 0.5 * (p.a + p.b);
        if !(mid > p.a && mid < p.b) {
            // The interval cannot be split further in floating point.
            return Integral { value, error, abs_value, evaluations, converged: false };
        }
        pieces.push(kronrod15(&mut f, p.a, mid));
        pieces.push(kronrod15(&mut f, mid, p.b));
        evaluations += 30;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// K15 is exact for polynomials up to degree 22 (3n + 1 with n = 7), G7 up to 13:
    /// a single piece integrates x^22 exactly, so a typo in any constant would show.
    #[test]
    fn single_rule_is_exact_for_degree_22() {
        let mut f = |x: f64| x.powi(22) + x.powi(13);
        let p = kronrod15(&mut f, -1.0, 1.0);
        assert!((p.value - 2.0 / 23.0).abs() < 1e-15, "{}", p.value);
        let mut g = |x: f64| x.powi(12);
        let p = kronrod15(&mut g, 0.0, 1.0);
        assert!((p.value - 1.0 / 13.0).abs() < 1e-16 && p.error < 1e-15, "{} {}", p.value, p.error);
    }

    #[test]
    fn adaptive_handles_kinks_and_peaks() {
        // |x - 0.3| on [-1, 1] with the kink given: exact after one split.
        let r = integrate(|x| (x - 0.3f64).abs(), &[-1.0, 0.3, 1.0], 0.0, 1e-14, 0.0, 100);
        assert!(r.converged && (r.value - (0.65f64 * 1.3 + 0.35 * 0.7)).abs() < 1e-14);
        // A narrow peak: int 1 / (1 + (x / eps)^2) = 2 eps atan(1 / eps).
        let eps = 1e-3;
        let r = integrate(|x| 1.0 / (1.0 + (x / eps) * (x / eps)), &[-1.0, 1.0], 0.0, 1e-13, 0.0, 2000);
        let exact = 2.0 * eps * (1.0 / eps).atan();
        assert!(r.converged && (r.value - exact).abs() < 1e-13 * exact, "{} vs {exact}", r.value);
    }
}
