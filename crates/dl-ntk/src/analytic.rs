//! The infinite-width NNGP and NTK of a fully connected network, by the layer recursions
//! of [`crate::layer`] (Neal 1996; Lee et al. 2018; Jacot et al. 2018; Arora et al. 2019).
//!
//! For inputs `x, x'` in `R^d` the recursion starts from the input covariance
//! `K_0(x, x') = x . x' / d` and `Theta_0 = 0`, and each [`KernelLayer`] maps
//! `(K, Theta)` to the kernels of its output. After the last (dense) layer, `K` is the
//! covariance of each output unit over random initialisations (the NNGP) and `Theta` the
//! neural tangent kernel; distinct output units are independent, so the kernel of a
//! `k`-output network is `K ⊗ I_k`. An output multiplier `alpha` (see
//! [`Architecture::with_output_scale`]) scales both by `alpha^2`.
//!
//! A convolutional architecture, `[Conv - phi] x L - GlobalAvgPool - Dense`, takes images
//! `(N, C, L)` or `(N, C, H, W)`: the layers before the pooling run on pixel-pair matrices
//! ([`crate::conv_kernel`]) and the pooled kernels continue through the dense layers.

use dl_tensor::{Tensor, TensorRng};
use ndarray::{Array2, Axis};

use crate::activation_map::{KernelState, mirror_upper};
use crate::conv_kernel;
use crate::error::{NtkError, Result, positive};
use crate::finite::FiniteNetwork;
use crate::layer::{KernelLayer, Parameterisation};
use crate::matrix::{a_bt, finite, to_tensor, view2};

/// A fully connected or convolutional architecture: its layers and parameterisation, from which both the
/// analytic kernels and random finite networks come.
#[derive(Clone, Debug)]
pub struct Architecture {
    layers: Vec<KernelLayer>,
    parameterisation: Parameterisation,
    output_scale: f64,
}

/// The NNGP kernel `K` and the NTK `Theta` of one pair of input sets.
#[derive(Clone, Debug)]
pub struct AnalyticKernels {
    /// `(N1, N2)`: the covariance of one output unit over random networks.
    pub nngp: Tensor<f64>,
    /// `(N1, N2)`: the neural tangent kernel of one output unit.
    pub ntk: Tensor<f64>,
}

impl Architecture {
    /// An architecture from its layers; each is validated, and the list must be non-empty.
    pub fn new(layers: Vec<KernelLayer>, parameterisation: Parameterisation) -> Result<Self> {
        if layers.is_empty() {
            return Err(NtkError::UnsupportedLayer {
                op: "Architecture::new",
                index: 0,
                layer: "(none)".into(),
                reason: "the network has no layers".into(),
            });
        }
        for (i, l) in layers.iter().enumerate() {
            l.validate(i)?;
        }
        spatial_structure(&layers)?;
        Ok(Architecture { layers, parameterisation, output_scale: 1.0 })
    }

    /// `depth` hidden layers `Dense(width) -> phi`, then `Dense(outputs)`, every dense layer
    /// with the same `sigma_w2` and `sigma_b2`.
    pub fn mlp(
        depth: usize,
        width: usize,
        phi: dl_init::Activation,
        sigma_w2: f64,
        sigma_b2: f64,
        outputs: usize,
        parameterisation: Parameterisation,
    ) -> Result<Self> {
        let mut layers = Vec::with_capacity(2 * depth + 1);
        for _ in 0..depth {
            layers.push(KernelLayer::dense(width, sigma_w2, sigma_b2));
            layers.push(KernelLayer::Activation(phi.clone()));
        }
        layers.push(KernelLayer::dense(outputs, sigma_w2, sigma_b2));
        Self::new(layers, parameterisation)
    }

    /// `depth` hidden layers `Conv(channels, filter) -> phi`, then global average pooling and
    /// `Dense(outputs)`; `filter` is `[k]` (1-D) or `[kh, kw]` (2-D).
    #[allow(clippy::too_many_arguments)]
    pub fn cnn(
        depth: usize,
        channels: usize,
        filter: &[usize],
        phi: dl_init::Activation,
        sigma_w2: f64,
        sigma_b2: f64,
        outputs: usize,
        parameterisation: Parameterisation,
    ) -> Result<Self> {
        let mut layers = Vec::with_capacity(2 * depth + 2);
        for _ in 0..depth {
            layers.push(KernelLayer::Conv { channels, filter: filter.to_vec(), sigma_w2, sigma_b2 });
            layers.push(KernelLayer::Activation(phi.clone()));
        }
        layers.push(KernelLayer::GlobalAvgPool);
        layers.push(KernelLayer::dense(outputs, sigma_w2, sigma_b2));
        Self::new(layers, parameterisation)
    }

    /// Multiplies the network's output by `alpha > 0` (a small `alpha` with a learning rate
    /// scaled by `1 / alpha^2` leaves the lazy regime; Chizat, Oyallon & Bach 2019).
    pub fn with_output_scale(mut self, alpha: f64) -> Result<Self> {
        self.output_scale = positive("Architecture::with_output_scale", "alpha", alpha)?;
        Ok(self)
    }

    /// The layers.
    pub fn layers(&self) -> &[KernelLayer] {
        &self.layers
    }

    /// The parameterisation.
    pub fn parameterisation(&self) -> Parameterisation {
        self.parameterisation
    }

    /// The output multiplier `alpha`.
    pub fn output_scale(&self) -> f64 {
        self.output_scale
    }

    /// The number of outputs (the width of the last dense layer; the input width if there
    /// is no dense layer).
    pub fn outputs(&self, in_dim: usize) -> usize {
        self.layers.iter().fold(in_dim, |w, l| l.output_width(w))
    }

    /// The analytic NNGP and NTK between the examples of `x1` and of `x2` (`None`:
    /// `x2 = x1`, computed once, symmetric): rows `(N, d)` for a fully connected
    /// architecture, images `(N, C, L)` or `(N, C, H, W)` for one with a GlobalAvgPool.
    pub fn kernels(&self, x1: &Tensor<f64>, x2: Option<&Tensor<f64>>) -> Result<AnalyticKernels> {
        let op = "Architecture::kernels";
        if let Some(pool) = self.layers.iter().position(|l| matches!(l, KernelLayer::GlobalAvgPool)) {
            for (name, x) in [("x1", Some(x1)), ("x2", x2)] {
                if let Some(x) = x
                    && !x.all_finite()
                {
                    return Err(NtkError::NonFinite { op, detail: format!("{name} has non-finite entries") });
                }
            }
            let rank = self.layers[..pool].iter().find_map(|l| match l {
                KernelLayer::Conv { filter, .. } => Some(filter.len()),
                _ => None,
            });
            let mut state = conv_kernel::pooled_state(&self.layers[..pool], self.parameterisation, rank, x1, x2)?;
            for (i, layer) in self.layers.iter().enumerate().skip(pool + 1) {
                layer.kernel_map(i, &mut state, self.parameterisation)?;
            }
            return self.finish(state);
        }
        let a = view2(op, "x1", x1)?;
        finite(op, "x1", a)?;
        let b = match x2 {
            Some(t) => {
                let b = view2(op, "x2", t)?;
                if b.ncols() != a.ncols() {
                    return Err(NtkError::Shape {
                        op,
                        what: "x1 and x2 must have the same input dimension".into(),
                        left: x1.shape().to_vec(),
                        right: t.shape().to_vec(),
                    });
                }
                finite(op, "x2", b)?;
                b
            }
            None => a,
        };
        let d = a.ncols();
        if d == 0 {
            return Err(NtkError::Shape {
                op,
                what: "inputs need at least one feature".into(),
                left: x1.shape().to_vec(),
                right: vec![],
            });
        }
        let sq_norms = |m: ndarray::ArrayView2<'_, f64>| -> Vec<f64> {
            m.axis_iter(Axis(0)).map(|r| r.dot(&r) / d as f64).collect()
        };
        let mut nngp = a_bt(a, b);
        nngp /= d as f64;
        let symmetric = x2.is_none();
        if symmetric {
            // the GEMM's two triangles can differ in the last bit; make them equal
            mirror_upper(&mut nngp);
        }
        let (n1, n2) = nngp.dim();
        let var1 = sq_norms(a);
        let var2 = if symmetric { var1.clone() } else { sq_norms(b) };
        // An example with itself gets its variance, computed by the same arithmetic as the
        // variance vector, so its angle is exactly 0 (see `crate::activation_map`).
        if symmetric {
            for (i, v) in var1.iter().enumerate() {
                nngp[[i, i]] = *v;
            }
        } else {
            for (i, j) in identical_rows(a, b) {
                nngp[[i, j]] = var1[i];
            }
        }
        let mut state = KernelState { nngp, ntk: Array2::zeros((n1, n2)), var1, var2, width: d, symmetric };
        for (i, layer) in self.layers.iter().enumerate() {
            layer.kernel_map(i, &mut state, self.parameterisation)?;
        }
        self.finish(state)
    }

    /// Mirrors, scales by `alpha^2` and checks the final kernels.
    fn finish(&self, mut state: KernelState) -> Result<AnalyticKernels> {
        let op = "Architecture::kernels";
        if state.symmetric {
            mirror_upper(&mut state.nngp);
            mirror_upper(&mut state.ntk);
        }
        let s2 = self.output_scale * self.output_scale;
        if s2 != 1.0 {
            state.nngp *= s2;
            state.ntk *= s2;
        }
        finite(op, "the resulting NNGP kernel", state.nngp.view())?;
        finite(op, "the resulting NTK", state.ntk.view())?;
        Ok(AnalyticKernels { nngp: to_tensor(state.nngp), ntk: to_tensor(state.ntk) })
    }

    /// A random finite network of this architecture over `in_dim` inputs (input channels,
    /// for a convolutional architecture).
    pub fn sample(&self, in_dim: usize, rng: &mut TensorRng) -> Result<FiniteNetwork> {
        FiniteNetwork::sample(self, in_dim, rng)
    }
}

/// The pairs `(i, j)` with row `i` of `a` bitwise equal to row `j` of `b` (an example in
/// both sets), found through a hash of the rows' bits: O((N1 + N2) d).
fn identical_rows(a: ndarray::ArrayView2<'_, f64>, b: ndarray::ArrayView2<'_, f64>) -> Vec<(usize, usize)> {
    let bits = |r: ndarray::ArrayView1<'_, f64>| -> Vec<u64> { r.iter().map(|v| v.to_bits()).collect() };
    let mut rows_of_a: std::collections::HashMap<Vec<u64>, Vec<usize>> = std::collections::HashMap::new();
    for (i, r) in a.axis_iter(Axis(0)).enumerate() {
        rows_of_a.entry(bits(r)).or_default().push(i);
    }
    let mut out = Vec::new();
    for (j, r) in b.axis_iter(Axis(0)).enumerate() {
        if let Some(is) = rows_of_a.get(&bits(r)) {
            out.extend(is.iter().map(|&i| (i, j)));
        }
    }
    out
}

/// Checks where the spatial layers sit: convolutions (all of one spatial rank) and
/// activations before a single GlobalAvgPool, dense layers after it.
fn spatial_structure(layers: &[KernelLayer]) -> Result<()> {
    let bad = |index: usize, reason: &str| {
        Err(NtkError::UnsupportedLayer {
            op: "Architecture::new",
            index,
            layer: layers[index].describe(),
            reason: reason.into(),
        })
    };
    let pool = layers.iter().position(|l| matches!(l, KernelLayer::GlobalAvgPool));
    let mut rank = None;
    for (i, l) in layers.iter().enumerate() {
        match (l, pool) {
            (KernelLayer::GlobalAvgPool, Some(p)) if i > p => {
                return bad(i, "a second GlobalAvgPool: the representation is no longer spatial");
            }
            (KernelLayer::Conv { .. }, None) => {
                return bad(
                    i,
                    "a convolution must be followed by GlobalAvgPool (the kernel of a flattened readout is not supported)",
                );
            }
            (KernelLayer::Conv { .. }, Some(p)) if i > p => {
                return bad(i, "a convolution after GlobalAvgPool: the representation is no longer spatial");
            }
            (KernelLayer::Conv { filter, .. }, _) => {
                if rank.is_some_and(|r| r != filter.len()) {
                    return bad(i, "all convolutions must have the same spatial rank (1-D or 2-D)");
                }
                rank = Some(filter.len());
            }
            (KernelLayer::Dense { .. }, Some(p)) if i < p => {
                return bad(i, "a dense layer over a spatial representation: put GlobalAvgPool before it");
            }
            _ => {}
        }
    }
    Ok(())
}
