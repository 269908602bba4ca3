//! [`Certificate`]: a proved sup-norm bound, written as the sum of the named terms it is
//! made of (discretisation, smoothing tails, stored parameters, f64 evaluation), each derived
//! in `docs/approximation.md`.

use std::fmt;

/// One term of a certificate.
#[derive(Clone, Debug, PartialEq)]
pub struct CertificateTerm {
    /// What the term bounds (for example `"step discretisation omega(h/2)"`).
    pub name: &'static str,
    /// Its value.
    pub value: f64,
}

/// A certified bound `sup_x |N(x) - f(x)| <= total <= eps` over the target's box, for the
/// network evaluated in f64 as `Linear` + activation + `Linear`.
#[derive(Clone, Debug, PartialEq)]
pub struct Certificate {
    /// The accuracy that was asked for.
    pub eps: f64,
    /// The terms; their sum is [`Certificate::total`].
    pub terms: Vec<CertificateTerm>,
}

impl Certificate {
    /// A certificate for `eps` with no terms yet.
    pub fn new(eps: f64) -> Self {
        Certificate { eps, terms: Vec::new() }
    }

    /// Adds a term.
    pub fn push(&mut self, name: &'static str, value: f64) {
        self.terms.push(CertificateTerm { name, value });
    }

    /// The certified bound: the sum of the terms, rounded upwards (inflated by `1e-12`
    /// relative for the rounding of the sum itself).
    pub fn total(&self) -> f64 {
        self.terms.iter().map(|t| t.value).sum::<f64>() * (1.0 + 1e-12)
    }

    /// The value of the term called `name`, if present.
    pub fn term(&self, name: &str) -> Option<f64> {
        self.terms.iter().find(|t| t.name == name).map(|t| t.value)
    }

    /// Whether the bound is within the requested accuracy.
    pub fn holds(&self) -> bool {
        self.total() <= self.eps
    }
}

impl fmt::Display for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sup error <= {:.4e} (eps {:e}):", self.total(), self.eps)?;
        for t in &self.terms {
            write!(f, " {} {:.3e};", t.name, t.value)?;
        }
        Ok(())
    }
}
