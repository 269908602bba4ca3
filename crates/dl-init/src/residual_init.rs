//! Initialisation of **residual networks and transformers**, where the variance of the
//! residual stream `x_{l+1} = x_l + f_l(x_l)` adds up over the depth unless each branch
//! starts small.
//!
//! - **Zero-initialised last layer of each branch** (Goyal et al. 2017 for the last
//!   batch-norm scale; Zhang et al. 2019): every block starts as the identity, so the
//!   network at initialisation is as deep as its shortcut path is, i.e. shallow.
//! - **Fixup** (Zhang, Dauphin and Ma 2019, section 3, rules 1-2): the classification layer
//!   and the last layer of each residual branch start at 0; every other weight is drawn by
//!   He's scheme, and the weights inside residual branches are scaled by
//!   `L^(-1 / (2m - 2))`, with `L` the number of residual branches and `m` the number of
//!   weight layers in a branch. Then the update of the output caused by one SGD step is
//!   O(learning rate) whatever the depth. Rule 3 (scalar multipliers and biases before each
//!   layer) changes the architecture, not the initialisation, and is not done here.
//! - **Transformers** (GPT-2, Radford et al. 2019): weights N(0, 0.02^2), and the output
//!   projection of every residual branch (attention and MLP) scaled by `1 / sqrt(2 L)` for
//!   `L` blocks (2L residual branches), so the residual stream's variance stays O(1).
//!
//! Branches are found by parameter names: [`dl_layers::Residual`] names its branch `body`,
//! so the branch of a parameter is its name up to the last `body.` segment. Within a branch,
//! weights are in visiting (forward) order.
//!
//! ```
//! use dl_init::residual_init::{fixup, residual_branches};
//! use dl_layers::{Act, Linear, Module, Residual, Sequential};
//! use dl_tensor::seeded_rng;
//! let mut rng = seeded_rng(0);
//! let block = |rng: &mut _| Residual::new(Sequential::<f32>::new()
//!     .with(Linear::new(16, 16, true, rng)).with(Act::relu()).with(Linear::new(16, 16, true, rng)));
//! let net = Sequential::new().with(block(&mut rng)).with(block(&mut rng)).with(Linear::new(16, 3, true, &mut rng));
//! assert_eq!(residual_branches(&net).len(), 2);
//! let report = fixup(&net, &mut rng)?;
//! assert_eq!(report.branch_scale, 2f64.powf(-0.5));          // L = 2, m = 2
//! assert_eq!(report.zeroed, ["0.body.2.weight", "1.body.2.weight", "2.weight"]);
//! # Ok::<(), dl_init::InitError>(())
//! ```

use dl_layers::{Module, NamedParam};
use dl_tensor::{Element, Tensor, TensorRng};

use crate::apply::{Initializer, initialize, is_weight, leaf_name};
use crate::error::{InitError, Result, positive};
use crate::fans::FanMode;
use crate::scheme::Scheme;

/// The weights of one residual branch, in forward order, and the biases that follow them.
pub struct ResidualBranch<T: Element> {
    /// The branch's name prefix, ending in `body.`.
    pub prefix: String,
    /// The branch's weights (at least two dimensions, named `weight`), in forward order.
    pub weights: Vec<NamedParam<T>>,
    /// The branch's biases, in forward order.
    pub biases: Vec<NamedParam<T>>,
}

fn branch_prefix(name: &str) -> Option<&str> {
    let segments: Vec<&str> = name.split('.').collect();
    let last_body = segments.iter().rposition(|s| *s == "body")?;
    let len: usize = segments[..=last_body].iter().map(|s| s.len() + 1).sum();
    Some(&name[..len])
}

/// The residual branches of `module`, innermost branch per parameter, in visiting order.
pub fn residual_branches<T: Element>(module: &(impl Module<T> + ?Sized)) -> Vec<ResidualBranch<T>> {
    let mut branches: Vec<ResidualBranch<T>> = Vec::new();
    for np in module.parameters() {
        let Some(prefix) = branch_prefix(&np.name) else { continue };
        let prefix = prefix.to_string();
        let idx = match branches.iter().position(|b| b.prefix == prefix) {
            Some(i) => i,
            None => {
                branches.push(ResidualBranch { prefix, weights: Vec::new(), biases: Vec::new() });
                branches.len() - 1
            }
        };
        if is_weight(&np.name, &np.param) {
            branches[idx].weights.push(np);
        } else if leaf_name(&np.name) == "bias" {
            branches[idx].biases.push(np);
        }
    }
    branches
}

/// The bias that belongs with a weight named `x.weight`: `x.bias`.
fn matching_bias<T: Element>(biases: &[NamedParam<T>], weight_name: &str) -> Option<NamedParam<T>> {
    let stem = weight_name.strip_suffix("weight")?;
    biases.iter().find(|b| b.name == format!("{stem}bias")).cloned()
}

fn zero<T: Element>(np: &NamedParam<T>) -> Result<()> {
    np.param.set(Tensor::zeros(&np.param.shape()))?;
    Ok(())
}

/// Sets the last weight (and its bias) of every residual branch to zero, so every block
/// starts as the identity. Returns the names of the zeroed weights.
pub fn zero_last_layer_of_residual_branches<T: Element>(module: &(impl Module<T> + ?Sized)) -> Result<Vec<String>> {
    let mut zeroed = Vec::new();
    for b in residual_branches(module) {
        if let Some(last) = b.weights.last() {
            zero(last)?;
            if let Some(bias) = matching_bias(&b.biases, &last.name) {
                zero(&bias)?;
            }
            zeroed.push(last.name.clone());
        }
    }
    Ok(zeroed)
}

/// What [`fixup`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct FixupReport {
    /// L, the number of residual branches.
    pub num_branches: usize,
    /// m, the number of weight layers per branch.
    pub layers_per_branch: usize,
    /// `L^(-1 / (2m - 2))`, applied to the non-final weights of every branch (1 if m = 1).
    pub branch_scale: f64,
    /// The weights set to zero: the last of each branch, then the classification layer.
    pub zeroed: Vec<String>,
}

/// Fixup initialisation (rules 1 and 2 of Zhang et al. 2019; see the module docs): He
/// normal for every weight (ReLU gain, fan_in), zero biases, the non-final weights of each
/// residual branch scaled by `L^(-1/(2m-2))`, the last weight of each branch and the last
/// weight outside any branch (the classifier) zero. Errors when there is no residual branch
/// or branches have different numbers of weight layers.
pub fn fixup<T: Element>(module: &(impl Module<T> + ?Sized), rng: &mut TensorRng) -> Result<FixupReport> {
    let branches = residual_branches(module);
    let counts: Vec<usize> = branches.iter().map(|b| b.weights.len()).collect();
    let m = *counts
        .first()
        .ok_or_else(|| InitError::scheme("fixup", "the network", "has no residual branch (no `body.` parameters)"))?;
    if m == 0 || counts.iter().any(|&c| c != m) {
        return Err(InitError::scheme(
            "fixup",
            "the residual branches",
            format!("need the same positive number of weight layers in every branch, got {counts:?}"),
        ));
    }
    let he = Initializer::new(Scheme::KaimingNormal { gain: 2f64.sqrt(), mode: FanMode::FanIn });
    initialize(module, &he, rng)?;
    let l = branches.len() as f64;
    let branch_scale = if m > 1 { l.powf(-1.0 / (2.0 * m as f64 - 2.0)) } else { 1.0 };
    let mut zeroed = Vec::new();
    for b in &branches {
        for w in &b.weights[..m - 1] {
            let s = T::from_f64_lossy(branch_scale);
            w.param.update(|v| *v = v.mul_scalar(s));
        }
    }
    zeroed.extend(zero_last_layer_of_residual_branches(module)?);
    let classifier = module
        .parameters()
        .into_iter()
        .filter(|np| is_weight(&np.name, &np.param) && branch_prefix(&np.name).is_none())
        .last();
    if let Some(c) = classifier {
        zero(&c)?;
        zeroed.push(c.name);
    }
    Ok(FixupReport { num_branches: branches.len(), layers_per_branch: m, branch_scale, zeroed })
}

/// Multiplies every weight whose name satisfies `is_residual_projection` by
/// `1 / sqrt(2 num_blocks)` (GPT-2's scaling of residual projections). Returns the names.
pub fn scale_residual_projections<T: Element>(
    module: &(impl Module<T> + ?Sized),
    is_residual_projection: impl Fn(&str) -> bool,
    num_blocks: usize,
) -> Result<Vec<String>> {
    if num_blocks == 0 {
        return Err(InitError::InvalidParameter { name: "num_blocks", requirement: "at least 1", value: 0.0 });
    }
    let s = T::from_f64_lossy(1.0 / (2.0 * num_blocks as f64).sqrt());
    let mut scaled = Vec::new();
    for np in module.parameters() {
        if is_weight(&np.name, &np.param) && is_residual_projection(&np.name) {
            np.param.update(|v| *v = v.mul_scalar(s));
            scaled.push(np.name);
        }
    }
    Ok(scaled)
}

/// GPT-2's initialisation: every weight N(0, std^2) (GPT-2 uses std = 0.02), zero biases,
/// then the residual projections scaled by `1 / sqrt(2 num_blocks)`.
pub fn transformer_init<T: Element>(
    module: &(impl Module<T> + ?Sized),
    std: f64,
    is_residual_projection: impl Fn(&str) -> bool,
    num_blocks: usize,
    rng: &mut TensorRng,
) -> Result<Vec<String>> {
    positive("std", std)?;
    initialize(module, &Initializer::new(Scheme::Normal { std }), rng)?;
    scale_residual_projections(module, is_residual_projection, num_blocks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_autodiff::Var;
    use dl_layers::{Act, Linear, Residual, Sequential};
    use dl_tensor::seeded_rng;

    fn resnet(blocks: usize, width: usize, rng: &mut TensorRng) -> Sequential<f64> {
        let mut net = Sequential::new();
        for _ in 0..blocks {
            let body = Sequential::new()
                .with(Linear::new(width, width, true, rng))
                .with(Act::relu())
                .with(Linear::new(width, width, true, rng));
            net.push(Box::new(Residual::new(body)));
        }
        net.push(Box::new(Linear::new(width, 3, true, rng)));
        net
    }

    /// Zeroed last layers make every block the identity: the hidden state before the
    /// classifier equals the input exactly.
    #[test]
    fn zero_last_layers_make_blocks_identities() {
        let mut rng = seeded_rng(0);
        let net = resnet(3, 8, &mut rng);
        let names = zero_last_layer_of_residual_branches(&net).unwrap();
        assert_eq!(names, ["0.body.2.weight", "1.body.2.weight", "2.body.2.weight"]);
        let x = Var::constant(Tensor::<f64>::randn(&[5, 8], &mut rng));
        let mut h = x.clone();
        for child in &net.layers()[..3] {
            h = child.forward(&h).unwrap();
        }
        assert_eq!(h.value().to_vec(), x.value().to_vec());
    }

    /// Fixup with L = 4 branches of m = 2 layers scales the first layer of each branch by
    /// 4^(-1/2) = 1/2: its sample variance is (2 / fan_in) / 4 within 5 relative standard
    /// errors sqrt(2 / n), n = 4 x 200 x 200 pooled draws.
    #[test]
    fn fixup_scales_branch_weights_by_the_depth_rule() {
        let mut rng = seeded_rng(1);
        let net = resnet(4, 200, &mut rng);
        let rep = fixup(&net, &mut rng).unwrap();
        assert_eq!((rep.num_branches, rep.layers_per_branch), (4, 2));
        assert!((rep.branch_scale - 0.5).abs() < 1e-15);
        let sd = net.state_dict();
        let first: Vec<f64> = (0..4).flat_map(|b| sd[&format!("{b}.body.0.weight")].to_vec()).collect();
        let m2 = first.iter().map(|v| v * v).sum::<f64>() / first.len() as f64;
        let expected = 2.0 / 200.0 * 0.25;
        assert!((m2 / expected - 1.0).abs() < 5.0 * (2.0 / first.len() as f64).sqrt(), "{m2} vs {expected}");
        for name in ["0.body.2.weight", "3.body.2.bias", "4.weight", "4.bias"] {
            assert!(sd[name].to_vec().iter().all(|v| *v == 0.0), "{name}");
        }
        assert!(fixup(&Sequential::<f64>::new().with(Linear::new(2, 2, true, &mut rng)), &mut rng).is_err());
    }

    /// The GPT-2 scaling multiplies exactly the selected weights by 1 / sqrt(2L).
    #[test]
    fn residual_projections_are_scaled_by_one_over_sqrt_2l() {
        let mut rng = seeded_rng(2);
        let net = resnet(2, 4, &mut rng);
        let before = net.state_dict();
        let scaled = scale_residual_projections(&net, |n| n.ends_with("body.2.weight"), 6).unwrap();
        assert_eq!(scaled.len(), 2);
        let after = net.state_dict();
        for (k, v) in &before {
            let f = if k.ends_with("body.2.weight") { 1.0 / 12f64.sqrt() } else { 1.0 };
            for (a, b) in after[k].to_vec().iter().zip(v.to_vec()) {
                assert!((a - b * f).abs() <= 1e-16 * b.abs(), "{k}");
            }
        }
        assert!(scale_residual_projections(&net, |_| true, 0).is_err());
        let names = transformer_init(&net, 0.02, |n| n.ends_with("body.2.weight"), 2, &mut rng).unwrap();
        assert_eq!(names.len(), 2);
        assert!(transformer_init(&net, 0.0, |_| true, 2, &mut rng).is_err());
    }
}
