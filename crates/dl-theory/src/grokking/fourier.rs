//! The Fourier spectrum of an embedding over the residues mod p (Nanda, Chan, Lieberum,
//! Smith & Steinhardt 2023, "Progress measures for grokking via mechanistic
//! interpretability", Section 4 and Figure 3).
//!
//! An embedding table `E` `(p, d)` assigns a vector to each residue `a = 0..p`. Column by
//! column it is a function on `Z_p`, expanded in the real orthonormal Fourier basis
//!
//! ```text
//! b_0(a)  = 1 / sqrt(p)
//! c_k(a)  = sqrt(2/p) cos(2 pi k a / p),  s_k(a) = sqrt(2/p) sin(2 pi k a / p),  1 <= k < p/2
//! b_{p/2}(a) = (-1)^a / sqrt(p)                                            (p even)
//! ```
//!
//! The energy of frequency `k` is `e_k = sum_j (<c_k, E_{:,j}>^2 + <s_k, E_{:,j}>^2)`
//! (`<b_0, .>^2` for `k = 0`). The basis is orthonormal, so `sum_k e_k = |E|_F^2`
//! (Parseval). In terms of the DFT `F_{kj} = sum_a E_{aj} e^{-2 pi i k a / p}`:
//! `e_0 = |F_0|^2 / p`, `e_k = 2 |F_k|^2 / p` for `0 < k < p/2`, `e_{p/2} = |F_{p/2}|^2 / p`.
//!
//! Nanda et al. found that a network that has grokked modular addition embeds the residues
//! through a handful of **key frequencies**: almost all of the embedding's energy sits in
//! a few `k`, while a random embedding spreads it evenly over all `floor(p/2)` frequencies.
//! The sparsity measures here:
//!
//! - [`FourierSpectrum::top_k_fraction`]: the fraction of the non-constant energy
//!   (`k >= 1`) in the `k` largest frequencies (about `k / floor(p/2)` for a random table);
//! - [`FourierSpectrum::effective_frequencies`]: the participation ratio
//!   `(sum e_k)^2 / sum e_k^2` over `k >= 1`, the number of frequencies that carry the
//!   energy (`floor(p/2)` for an even spread, 1 for a single frequency).

use dl_tensor::{Element, Tensor};

use super::GrokkingError;

/// The energy of an embedding per frequency `k = 0..=floor(p/2)`.
#[derive(Clone, Debug, PartialEq)]
pub struct FourierSpectrum {
    p: usize,
    energy: Vec<f64>,
}

/// `cos(2 pi m / p)` and `sin(2 pi m / p)` for `m = 0..p` (indices reduced mod p, so the
/// angles stay in `[0, 2 pi)` and no precision is lost to large arguments).
fn twiddles(p: usize) -> (Vec<f64>, Vec<f64>) {
    (0..p).map(|m| (2.0 * std::f64::consts::PI * m as f64 / p as f64).sin_cos()).map(|(s, c)| (c, s)).unzip()
}

impl FourierSpectrum {
    /// The spectrum of the first `p` rows of `table` `(rows, d)`, `rows >= p` (an
    /// embedding may have extra rows, an `=` token say, which are ignored).
    ///
    /// ```
    /// use dl_tensor::Tensor;
    /// use dl_theory::grokking::FourierSpectrum;
    /// // one embedding column cos(2 pi 3 a / 7): all of its energy at k = 3
    /// let p = 7;
    /// let col: Vec<f64> = (0..p).map(|a| (2.0 * std::f64::consts::PI * 3.0 * a as f64 / p as f64).cos()).collect();
    /// let s = FourierSpectrum::of_embedding(&Tensor::from_vec(col, &[p, 1])?, p)?;
    /// assert_eq!(s.key_frequencies(1), vec![3]);
    /// assert!((s.top_k_fraction(1) - 1.0).abs() < 1e-12);
    /// assert!(FourierSpectrum::of_embedding(&Tensor::<f64>::zeros(&[3, 2]), 5).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn of_embedding<T: Element>(table: &Tensor<T>, p: usize) -> Result<Self, GrokkingError> {
        let op = "FourierSpectrum::of_embedding";
        if p < 2 {
            return Err(GrokkingError::Invalid { op, detail: format!("the modulus p must be at least 2, got {p}") });
        }
        if table.ndim() != 2 || table.shape()[0] < p || table.shape()[1] == 0 {
            return Err(GrokkingError::Invalid {
                op,
                detail: format!("the embedding must be (rows >= p = {p}, d >= 1), got shape {:?}", table.shape()),
            });
        }
        let d = table.shape()[1];
        let e: Vec<f64> = table.contiguous().to_vec()[..p * d].iter().map(|v| v.to_f64_exact()).collect();
        if let Some(i) = e.iter().position(|v| !v.is_finite()) {
            return Err(GrokkingError::Invalid { op, detail: format!("entry ({}, {}) is {}", i / d, i % d, e[i]) });
        }
        let (cos, sin) = twiddles(p);
        let half = p / 2;
        let mut energy = vec![0.0; half + 1];
        let mut re = vec![0.0; d];
        let mut im = vec![0.0; d];
        for (k, slot) in energy.iter_mut().enumerate() {
            re.iter_mut().for_each(|x| *x = 0.0);
            im.iter_mut().for_each(|x| *x = 0.0);
            for a in 0..p {
                let m = (k * a) % p;
                let (c, s) = (cos[m], sin[m]);
                let row = &e[a * d..(a + 1) * d];
                for j in 0..d {
                    re[j] += c * row[j];
                    im[j] += s * row[j];
                }
            }
            let power: f64 = re.iter().zip(&im).map(|(r, i)| r * r + i * i).sum();
            // |F_k|^2 / p, doubled for the pair (k, p - k) unless k = 0 or k = p/2
            let paired = k != 0 && 2 * k != p;
            *slot = power / p as f64 * if paired { 2.0 } else { 1.0 };
        }
        Ok(FourierSpectrum { p, energy })
    }

    /// The modulus.
    pub fn p(&self) -> usize {
        self.p
    }

    /// `e_k` for `k = 0..=floor(p/2)`.
    pub fn energy(&self) -> &[f64] {
        &self.energy
    }

    /// `sum_k e_k = |E|_F^2`.
    pub fn total(&self) -> f64 {
        self.energy.iter().sum()
    }

    /// The `k` frequencies `>= 1` of largest energy, largest first (ties: the lower frequency).
    pub fn key_frequencies(&self, k: usize) -> Vec<usize> {
        let mut idx: Vec<usize> = (1..self.energy.len()).collect();
        idx.sort_by(|&a, &b| self.energy[b].total_cmp(&self.energy[a]).then(a.cmp(&b)));
        idx.truncate(k);
        idx
    }

    /// The fraction of the non-constant energy `sum_{k >= 1} e_k` held by the `k` largest
    /// frequencies (0 when there is no non-constant energy).
    pub fn top_k_fraction(&self, k: usize) -> f64 {
        let rest: f64 = self.energy[1..].iter().sum();
        if rest <= 0.0 {
            return 0.0;
        }
        self.key_frequencies(k).iter().map(|&f| self.energy[f]).sum::<f64>() / rest
    }

    /// The participation ratio `(sum_{k>=1} e_k)^2 / sum_{k>=1} e_k^2`: how many
    /// frequencies carry the non-constant energy (0 when there is none).
    pub fn effective_frequencies(&self) -> f64 {
        let s: f64 = self.energy[1..].iter().sum();
        let s2: f64 = self.energy[1..].iter().map(|e| e * e).sum();
        if s2 <= 0.0 { 0.0 } else { s * s / s2 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_tensor::compare::{Tolerance, assert_close_slices};
    use dl_tensor::seeded_rng;

    /// The DFT by its definition, in complex arithmetic with angles 2 pi k a / p taken as
    /// they come (no reduction mod p): the independent reference.
    fn naive_energy(e: &[f64], p: usize, d: usize) -> Vec<f64> {
        (0..=p / 2)
            .map(|k| {
                let mut total = 0.0;
                for j in 0..d {
                    let (mut re, mut im) = (0.0, 0.0);
                    for a in 0..p {
                        let ang = -2.0 * std::f64::consts::PI * (k * a) as f64 / p as f64;
                        re += e[a * d + j] * ang.cos();
                        im += e[a * d + j] * ang.sin();
                    }
                    // |F_k|^2 + |F_{p-k}|^2 for the pair; F_{p-k} = conj(F_k) for real E
                    let pair = if k == 0 || 2 * k == p { 1.0 } else { 2.0 };
                    total += pair * (re * re + im * im) / p as f64;
                }
                total
            })
            .collect()
    }

    #[test]
    fn matches_the_naive_dft_and_parseval_for_odd_and_even_p() {
        let mut rng = seeded_rng(4);
        for (p, d) in [(7, 3), (12, 5), (97, 4), (2, 1)] {
            let t = Tensor::<f64>::randn(&[p + 1, d], &mut rng); // one extra row, ignored
            let s = FourierSpectrum::of_embedding(&t, p).unwrap();
            let v = t.to_vec();
            // O(p) terms of unit size per coefficient: the error is a few hundred ulp at p = 97
            assert_close_slices(s.energy(), &naive_energy(&v[..p * d], p, d), Tolerance::new(1e-11, 1e-11));
            let frob: f64 = v[..p * d].iter().map(|x| x * x).sum();
            assert!((s.total() - frob).abs() <= 1e-11 * frob, "Parseval at p = {p}");
        }
    }

    #[test]
    fn sparse_inputs_put_their_energy_where_it_belongs() {
        let p = 97;
        let tau = 2.0 * std::f64::consts::PI;
        // columns: cos at k = 14, sin at k = 35 (amplitude 2), cos at k = 41 with a phase, and a constant
        let mut v = vec![0.0; p * 4];
        for a in 0..p {
            let x = a as f64 / p as f64;
            v[a * 4] = (tau * 14.0 * x).cos();
            v[a * 4 + 1] = 2.0 * (tau * 35.0 * x).sin();
            v[a * 4 + 2] = 0.5 * (tau * 41.0 * x + 0.7).cos();
            v[a * 4 + 3] = 3.0;
        }
        let s = FourierSpectrum::of_embedding(&Tensor::from_vec(v, &[p, 4]).unwrap(), p).unwrap();
        // |A cos|^2 over p points = A^2 p / 2
        let expect = |amp: f64| amp * amp * p as f64 / 2.0;
        let tol = 1e-9;
        assert!((s.energy()[14] - expect(1.0)).abs() < tol);
        assert!((s.energy()[35] - expect(2.0)).abs() < tol);
        assert!((s.energy()[41] - expect(0.5)).abs() < tol);
        assert!((s.energy()[0] - 9.0 * p as f64).abs() < tol);
        assert_eq!(s.key_frequencies(3), vec![35, 14, 41]);
        assert!((s.top_k_fraction(3) - 1.0).abs() < 1e-12);
        let (a, b, c) = (expect(1.0), expect(2.0), expect(0.5));
        assert!((s.effective_frequencies() - (a + b + c).powi(2) / (a * a + b * b + c * c)).abs() < 1e-9);
        assert!((s.top_k_fraction(1) - b / (a + b + c)).abs() < 1e-12);
    }

    #[test]
    fn a_random_table_spreads_its_energy() {
        // 48 frequencies, 2 x 256 chi-square degrees of freedom each: top 5 hold about 5/48
        let s = FourierSpectrum::of_embedding(&Tensor::<f64>::randn(&[97, 256], &mut seeded_rng(0)), 97).unwrap();
        assert!(s.top_k_fraction(5) < 0.13, "{}", s.top_k_fraction(5));
        assert!(s.effective_frequencies() > 45.0, "{}", s.effective_frequencies());
    }

    #[test]
    fn bad_input_is_named() {
        let e = FourierSpectrum::of_embedding(&Tensor::<f64>::zeros(&[4, 2]), 1).unwrap_err().to_string();
        assert!(e.contains("at least 2, got 1"), "{e}");
        let e = FourierSpectrum::of_embedding(&Tensor::<f64>::zeros(&[4]), 3).unwrap_err().to_string();
        assert!(e.contains("[4]"), "{e}");
        let mut t = Tensor::<f64>::zeros(&[3, 2]).to_vec();
        t[3] = f64::NAN;
        let e = FourierSpectrum::of_embedding(&Tensor::from_vec(t, &[3, 2]).unwrap(), 3).unwrap_err().to_string();
        assert!(e.contains("(1, 1) is NaN"), "{e}");
    }
}
