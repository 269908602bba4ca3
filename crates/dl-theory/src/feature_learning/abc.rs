//! abc-parameterisations (Yang & Hu 2021, "Tensor Programs IV: Feature Learning in
//! Infinite-Width Neural Networks", Definition 3.1 and Section 3; Yang et al. 2022,
//! "Tensor Programs V", Table 3, for Adam).
//!
//! A network of width `n` is written with, per weight `W^l`,
//!
//! ```text
//! W^l = n^(-a_l) w^l,    w^l_ab ~ N(0, sigma^2 n^(-2 b_l)),    learning rate eta n^(-c_l)
//! ```
//!
//! (TP4 has one `c` for SGD; a per-layer `c_l` is what Adam needs, TP5). The input layer
//! maps the fixed input dimension to `n`, hidden layers `n` to `n`, the output layer `n` to
//! the fixed number of outputs; biases are weights with fan-in 1. The tables:
//!
//! | scheme | layer | a | b | c (SGD) | c (Adam) |
//! | --- | --- | --- | --- | --- | --- |
//! | standard (SP) | input / hidden / output | 0 | 0 / 1/2 / 1/2 | 0 | 0 |
//! | NTK (NTP) | input / hidden / output | 0 / 1/2 / 1/2 | 0 | 0 | 0 |
//! | muP | input / hidden / output | -1/2 / 0 / 1/2 | 1/2 | 0 | 1/2 / 1 / 1/2 |
//! | muP | biases of input and hidden layers | -1/2 | 1/2 | 0 | 1/2 |
//! | all | output bias, biases of SP and NTP | 0 | 0 | 0 | 0 |
//!
//! What the dynamics see are the effective quantities of `W^l`: its initial variance
//! `n^(-2(a+b))`, its SGD learning rate `n^(-(2a+c))` (the gradient of `w` carries one
//! `n^(-a)`, the map to `W` another), and its Adam learning rate `n^(-(a+c))` (Adam's step
//! does not scale with the gradient). For muP these are TP5's Table 3: initial variance
//! `1/fan_in` (input, hidden) and `1/fan_in^2` (output); SGD learning rate `fan_out`
//! (input weights, biases), `1` (hidden), `1/fan_in` (output); Adam learning rate `1`
//! (input weights, biases), `1/fan_in` (hidden, output). The NTK parameterisation is the
//! standard one with the SGD learning rate of hidden and output layers divided by `n`.
//!
//! **Anchoring at a base width.** A concrete network fixes the constants by a base width
//! `n_0` (the "base shapes" of TP5): with `r = n / n_0`,
//!
//! ```text
//! multiplier = r^(-a),   init std = sigma / sqrt(fan_in) * r^(b_SP - b),   learning rate = eta r^(-c)
//! ```
//!
//! where `sigma / sqrt(fan_in)` (the actual fan-in) is the standard parameterisation's std
//! and `b_SP` its exponent. At `r = 1` every scheme is exactly the standard
//! parameterisation with `W ~ N(0, sigma_w^2 / fan_in)`, `b ~ N(0, sigma_b^2)` and
//! learning rate `eta`; away from it each follows its own exponents.
//! [`DenseScaling::ntk`] is the other common form of the NTK parameterisation (Jacot et
//! al. 2018): multiplier `sigma_w / sqrt(fan_in)` and standard-normal weights at every width.

use super::FeatureLearningError;

/// A parameterisation in the abc family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AbcScheme {
    /// The standard parameterisation (SP).
    Standard,
    /// The NTK parameterisation (NTP).
    Ntk,
    /// The maximal-update parameterisation (muP).
    Mup,
}

/// Where a dense layer sits in a network whose hidden widths grow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerRole {
    /// Fixed input dimension to width `n`.
    Input,
    /// Width `n` to width `n`.
    Hidden,
    /// Width `n` to the fixed number of outputs.
    Output,
    /// Fixed input to fixed output (a network without hidden layers): every scheme is SP.
    InputOutput,
}

impl LayerRole {
    /// The role of dense layer `index` of `count` (the first maps the input, the last
    /// gives the output).
    pub fn of(index: usize, count: usize) -> Self {
        match (index == 0, index + 1 == count) {
            (true, true) => LayerRole::InputOutput,
            (true, false) => LayerRole::Input,
            (false, true) => LayerRole::Output,
            (false, false) => LayerRole::Hidden,
        }
    }
}

/// The exponents of one parameter: `W = n^(-a) w`, `w ~ N(0, n^(-2b))`, learning rate
/// `n^(-c)` under SGD (`c_sgd`) or Adam (`c_adam`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AbcExponents {
    /// Multiplier exponent.
    pub a: f64,
    /// Initialisation exponent.
    pub b: f64,
    /// Learning-rate exponent under SGD.
    pub c_sgd: f64,
    /// Learning-rate exponent under Adam.
    pub c_adam: f64,
}

impl AbcExponents {
    const ZERO: AbcExponents = AbcExponents { a: 0.0, b: 0.0, c_sgd: 0.0, c_adam: 0.0 };

    /// The exponent of the effective weight's initial standard deviation, `a + b`.
    pub fn effective_init(&self) -> f64 {
        self.a + self.b
    }

    /// The exponent of the effective SGD learning rate, `2a + c`.
    pub fn effective_sgd_lr(&self) -> f64 {
        2.0 * self.a + self.c_sgd
    }

    /// The exponent of the effective Adam learning rate, `a + c`.
    pub fn effective_adam_lr(&self) -> f64 {
        self.a + self.c_adam
    }
}

impl AbcScheme {
    /// The exponents of the weight (`bias = false`) or bias of a layer in `role` (the
    /// table of the module documentation).
    pub fn exponents(self, role: LayerRole, bias: bool) -> AbcExponents {
        use LayerRole::*;
        let e = |a: f64, b: f64, c_sgd: f64, c_adam: f64| AbcExponents { a, b, c_sgd, c_adam };
        match (self, role, bias) {
            (_, InputOutput, _) => AbcExponents::ZERO,
            (AbcScheme::Standard | AbcScheme::Ntk, _, true) => AbcExponents::ZERO,
            (AbcScheme::Standard, Input, false) => AbcExponents::ZERO,
            (AbcScheme::Standard, Hidden | Output, false) => e(0.0, 0.5, 0.0, 0.0),
            (AbcScheme::Ntk, Input, false) => AbcExponents::ZERO,
            (AbcScheme::Ntk, Hidden | Output, false) => e(0.5, 0.0, 0.0, 0.0),
            (AbcScheme::Mup, Output, true) => AbcExponents::ZERO,
            (AbcScheme::Mup, Input | Hidden, true) => e(-0.5, 0.5, 0.0, 0.5),
            (AbcScheme::Mup, Input, false) => e(-0.5, 0.5, 0.0, 0.5),
            (AbcScheme::Mup, Hidden, false) => e(0.0, 0.5, 0.0, 1.0),
            (AbcScheme::Mup, Output, false) => e(0.5, 0.5, 0.0, 0.5),
        }
    }
}

/// How one parameter is scaled in a concrete network: the forward pass uses
/// `multiplier * w`, `w` is drawn from `N(0, init_std^2)`, and its learning rate is the
/// optimiser's times `sgd_lr` (SGD) or `adam_lr` (Adam and RMSprop).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ParamScaling {
    /// The constant the parameter is multiplied by in the forward pass.
    pub multiplier: f64,
    /// The standard deviation of its initial draw.
    pub init_std: f64,
    /// The factor on the learning rate under SGD.
    pub sgd_lr: f64,
    /// The factor on the learning rate under Adam.
    pub adam_lr: f64,
}

impl ParamScaling {
    /// The standard deviation of the effective parameter at initialisation, `|multiplier| init_std`.
    pub fn effective_init_std(&self) -> f64 {
        self.multiplier.abs() * self.init_std
    }

    /// The effective SGD learning rate factor, `multiplier^2 sgd_lr`: an SGD step moves the
    /// effective parameter by `eta multiplier^2 sgd_lr dL/d(effective)`.
    pub fn effective_sgd_lr(&self) -> f64 {
        self.multiplier * self.multiplier * self.sgd_lr
    }

    /// The effective Adam learning rate factor, `|multiplier| adam_lr`.
    pub fn effective_adam_lr(&self) -> f64 {
        self.multiplier.abs() * self.adam_lr
    }
}

/// The scaling of a dense layer's weight and bias.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DenseScaling {
    /// The weight `(out, in)`.
    pub weight: ParamScaling,
    /// The bias `(out)`.
    pub bias: ParamScaling,
}

/// The factor `r^(b_SP - b)` on the standard parameterisation's initial standard deviation
/// of the weight (`bias = false`) or bias of a layer of `scheme` in `role` at width ratio
/// `r` (exactly 1 at `r = 1`).
pub fn init_factor(scheme: AbcScheme, role: LayerRole, bias: bool, r: f64) -> f64 {
    r.powf(AbcScheme::Standard.exponents(role, bias).b - scheme.exponents(role, bias).b)
}

fn check_variance(op: &'static str, name: &str, v: f64) -> Result<(), FeatureLearningError> {
    if !(v.is_finite() && v >= 0.0) {
        return Err(FeatureLearningError::Invalid {
            op,
            detail: format!("{name} must be a finite variance >= 0, got {v}"),
        });
    }
    Ok(())
}

impl DenseScaling {
    /// The standard parameterisation: `W ~ N(0, sigma_w2 / fan_in)`, `b ~ N(0, sigma_b2)`,
    /// multipliers and learning-rate factors 1.
    pub fn standard(sigma_w2: f64, sigma_b2: f64, fan_in: usize) -> Result<Self, FeatureLearningError> {
        Self::anchored(AbcScheme::Standard, LayerRole::InputOutput, 1.0, sigma_w2, sigma_b2, fan_in)
    }

    /// The NTK parameterisation as Jacot et al. (2018) write it: multiplier
    /// `sigma_w / sqrt(fan_in)` on a standard-normal weight, `sigma_b` on a standard-normal
    /// bias, learning-rate factors 1.
    pub fn ntk(sigma_w: f64, sigma_b: f64, fan_in: usize) -> Result<Self, FeatureLearningError> {
        let op = "DenseScaling::ntk";
        check_variance(op, "sigma_w^2", sigma_w * sigma_w)?;
        check_variance(op, "sigma_b^2", sigma_b * sigma_b)?;
        if fan_in == 0 {
            return Err(FeatureLearningError::Invalid { op, detail: "fan_in must be at least 1".into() });
        }
        let p = |multiplier: f64| ParamScaling { multiplier, init_std: 1.0, sgd_lr: 1.0, adam_lr: 1.0 };
        Ok(DenseScaling { weight: p(sigma_w / (fan_in as f64).sqrt()), bias: p(sigma_b) })
    }

    /// The layer of `scheme` in `role` at width ratio `r = n / n_0`, anchored at the
    /// standard parameterisation `W ~ N(0, sigma_w2 / fan_in)`, `b ~ N(0, sigma_b2)` (see
    /// the module documentation); `fan_in` is the layer's actual fan-in.
    ///
    /// ```
    /// use dl_theory::feature_learning::{AbcScheme, DenseScaling, LayerRole};
    /// // muP's readout at 4x the base width: multiplier 1/2, effective SGD rate 1/4
    /// let s = DenseScaling::anchored(AbcScheme::Mup, LayerRole::Output, 4.0, 2.0, 0.0, 256)?;
    /// assert_eq!(s.weight.multiplier, 0.5);
    /// assert!((s.weight.effective_sgd_lr() - 0.25).abs() < 1e-15);
    /// // at the base width every scheme is SP
    /// let base = DenseScaling::anchored(AbcScheme::Mup, LayerRole::Input, 1.0, 2.0, 0.1, 40)?;
    /// assert_eq!(base, DenseScaling::standard(2.0, 0.1, 40)?);
    /// # Ok::<(), dl_theory::feature_learning::FeatureLearningError>(())
    /// ```
    pub fn anchored(
        scheme: AbcScheme,
        role: LayerRole,
        r: f64,
        sigma_w2: f64,
        sigma_b2: f64,
        fan_in: usize,
    ) -> Result<Self, FeatureLearningError> {
        let op = "DenseScaling::anchored";
        check_variance(op, "sigma_w2", sigma_w2)?;
        check_variance(op, "sigma_b2", sigma_b2)?;
        if !(r.is_finite() && r > 0.0) {
            return Err(FeatureLearningError::Invalid {
                op,
                detail: format!("the width ratio n / n_0 must be finite and > 0, got {r}"),
            });
        }
        if fan_in == 0 {
            return Err(FeatureLearningError::Invalid { op, detail: "fan_in must be at least 1".into() });
        }
        let one = |bias: bool, sp_std: f64| {
            let e = scheme.exponents(role, bias);
            ParamScaling {
                multiplier: r.powf(-e.a),
                init_std: sp_std * init_factor(scheme, role, bias, r),
                sgd_lr: r.powf(-e.c_sgd),
                adam_lr: r.powf(-e.c_adam),
            }
        };
        Ok(DenseScaling { weight: one(false, (sigma_w2 / fan_in as f64).sqrt()), bias: one(true, sigma_b2.sqrt()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// TP5 Table 3 (muP), written out independently as the exponent of n in each
    /// effective quantity: (init variance, SGD rate, Adam rate) for input weights and
    /// biases, hidden weights, output weights.
    const MUP_TABLE3: [(LayerRole, bool, f64, f64, f64); 4] = [
        (LayerRole::Input, false, 0.0, 1.0, 0.0),
        (LayerRole::Hidden, true, 0.0, 1.0, 0.0),
        (LayerRole::Hidden, false, -1.0, 0.0, -1.0),
        (LayerRole::Output, false, -2.0, -1.0, -1.0),
    ];

    #[test]
    fn mup_follows_table_3_of_tensor_programs_v_across_widths() {
        for (role, bias, var_exp, sgd_exp, adam_exp) in MUP_TABLE3 {
            for r in [2.0, 8.0, 32.0] {
                let base_fan_in = if role == LayerRole::Input { 40 } else { 64 };
                let fan_in = if role == LayerRole::Input || bias { base_fan_in } else { (64.0 * r) as usize };
                let at = DenseScaling::anchored(AbcScheme::Mup, role, r, 2.0, 0.5, fan_in).unwrap();
                let base = DenseScaling::anchored(AbcScheme::Mup, role, 1.0, 2.0, 0.5, base_fan_in).unwrap();
                let (p, p0) = if bias { (at.bias, base.bias) } else { (at.weight, base.weight) };
                let close = |got: f64, want: f64| (got - want).abs() <= 1e-12 * want.abs();
                assert!(
                    close(p.effective_init_std().powi(2), p0.effective_init_std().powi(2) * r.powf(var_exp)),
                    "{role:?} variance at r = {r}"
                );
                assert!(
                    close(p.effective_sgd_lr(), p0.effective_sgd_lr() * r.powf(sgd_exp)),
                    "{role:?} SGD at r = {r}"
                );
                assert!(
                    close(p.effective_adam_lr(), p0.effective_adam_lr() * r.powf(adam_exp)),
                    "{role:?} Adam at r = {r}"
                );
            }
        }
    }

    #[test]
    fn every_scheme_is_sp_at_the_base_width_and_sp_stays_sp() {
        for scheme in [AbcScheme::Standard, AbcScheme::Ntk, AbcScheme::Mup] {
            for (role, fan_in) in
                [(LayerRole::Input, 40), (LayerRole::Hidden, 64), (LayerRole::Output, 64), (LayerRole::InputOutput, 40)]
            {
                assert_eq!(
                    DenseScaling::anchored(scheme, role, 1.0, 2.0, 0.1, fan_in).unwrap(),
                    DenseScaling::standard(2.0, 0.1, fan_in).unwrap()
                );
            }
        }
        let sp = DenseScaling::anchored(AbcScheme::Standard, LayerRole::Hidden, 16.0, 2.0, 0.0, 1024).unwrap();
        assert_eq!(sp, DenseScaling::standard(2.0, 0.0, 1024).unwrap());
        assert_eq!(sp.weight.init_std, (2.0f64 / 1024.0).sqrt());
    }

    #[test]
    fn ntk_anchored_is_sp_with_the_hidden_sgd_rate_over_n() {
        let r = 8.0;
        let ntk = DenseScaling::anchored(AbcScheme::Ntk, LayerRole::Hidden, r, 2.0, 0.0, 512).unwrap();
        let sp = DenseScaling::standard(2.0, 0.0, 512).unwrap();
        assert!((ntk.weight.effective_init_std() - sp.weight.effective_init_std()).abs() < 1e-15);
        assert!((ntk.weight.effective_sgd_lr() - 1.0 / r).abs() < 1e-15);
        // Jacot's form: the same effective init, multiplier sigma_w / sqrt(fan_in)
        let j = DenseScaling::ntk(2f64.sqrt(), 0.0, 512).unwrap();
        assert!((j.weight.effective_init_std() - sp.weight.effective_init_std()).abs() < 1e-15);
        assert_eq!(j.weight.init_std, 1.0);
    }

    #[test]
    fn exponents_give_the_effective_table() {
        let e = AbcScheme::Mup.exponents(LayerRole::Output, false);
        assert_eq!((e.effective_init(), e.effective_sgd_lr(), e.effective_adam_lr()), (1.0, 1.0, 1.0));
        let e = AbcScheme::Ntk.exponents(LayerRole::Hidden, false);
        assert_eq!((e.effective_init(), e.effective_sgd_lr()), (0.5, 1.0));
        assert_eq!(LayerRole::of(0, 3), LayerRole::Input);
        assert_eq!(LayerRole::of(1, 3), LayerRole::Hidden);
        assert_eq!(LayerRole::of(2, 3), LayerRole::Output);
        assert_eq!(LayerRole::of(0, 1), LayerRole::InputOutput);
    }

    #[test]
    fn bad_arguments_are_named() {
        let e = DenseScaling::anchored(AbcScheme::Mup, LayerRole::Hidden, 0.0, 2.0, 0.0, 4).unwrap_err().to_string();
        assert!(e.contains("width ratio") && e.contains("got 0"), "{e}");
        let e = DenseScaling::anchored(AbcScheme::Mup, LayerRole::Hidden, 1.0, -2.0, 0.0, 4).unwrap_err().to_string();
        assert!(e.contains("sigma_w2") && e.contains("-2"), "{e}");
        assert!(DenseScaling::anchored(AbcScheme::Mup, LayerRole::Hidden, 1.0, 2.0, 0.0, 0).is_err());
        assert!(DenseScaling::ntk(f64::NAN, 0.0, 3).is_err());
    }
}
