//! Hierarchical compositional functions (Mhaskar & Poggio 2016; Poggio et al. 2017): a
//! function of `d = 2^L` inputs that is a balanced binary tree of bivariate functions,
//!
//! ```text
//! f(x_1, ..., x_8) = h(h(h(x_1, x_2), h(x_3, x_4)), h(h(x_5, x_6), h(x_7, x_8)))   (L = 3)
//! ```
//!
//! Mhaskar & Poggio's Theorem 2 (with Poggio et al. 2017, Theorem 2): a shallow network
//! needs `O(eps^{-d/m})` units to approximate a function of `d` variables with smoothness
//! `m` to accuracy `eps`, while a deep network whose graph matches the tree needs
//! `O((d - 1) eps^{-2/m})`: only the bivariate constituents have to be approximated.
//!
//! **The deep network matching the tree** ([`tree_network`]) gives every node its own
//! one-hidden-layer network of `m` ReLU units with two inputs. It is built from dl-layers'
//! grouped 1x1 convolutions over the inputs laid out as channels `(N, d, 1)`: at level `l`
//! the `2^(L-l)` nodes are the groups of `Conv1d(2^(L-l+1) -> 2^(L-l) m, groups = 2^(L-l))`
//! (each group sees exactly its node's two inputs), then a ReLU, then
//! `Conv1d(2^(L-l) m -> 2^(L-l), groups = 2^(L-l))` (each node's output). It has
//! `(d - 1)(4 m + 1)` parameters ([`tree_parameters`]). **The shallow network**
//! ([`shallow_network`]) is one dense hidden layer of `W` ReLU units on all `d` inputs:
//! `(d + 2) W + 1` parameters.

use dl_layers::{Act, Conv1d, ConvOptions, Flatten, Linear, Sequential};
use dl_tensor::TensorRng;

use super::{ExpressivityError, Result};

/// The bivariate function at every node of the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeFunction {
    /// `h(a, b) = tanh(a + b + a b)`: smooth, not additive, with values in (-1, 1).
    TanhQuadratic,
    /// `h(a, b) = a b`: the tree computes the product of all inputs.
    Product,
}

impl NodeFunction {
    /// `h(a, b)`.
    pub fn apply(self, a: f64, b: f64) -> f64 {
        match self {
            NodeFunction::TanhQuadratic => (a + b + a * b).tanh(),
            NodeFunction::Product => a * b,
        }
    }
}

/// A balanced binary tree of `levels` levels of one node function: a function of
/// `2^levels` inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompositionalTarget {
    levels: usize,
    node: NodeFunction,
}

impl CompositionalTarget {
    /// The tree of `levels` levels (`1 <= levels <= 10`).
    pub fn new(levels: usize, node: NodeFunction) -> Result<Self> {
        check_levels("CompositionalTarget::new", levels)?;
        Ok(CompositionalTarget { levels, node })
    }

    /// The number of inputs, `2^levels`.
    pub fn inputs(&self) -> usize {
        1 << self.levels
    }

    /// The number of levels.
    pub fn levels(&self) -> usize {
        self.levels
    }

    /// The node function.
    pub fn node(&self) -> NodeFunction {
        self.node
    }

    /// `f(x)` for one input of `2^levels` values.
    ///
    /// ```
    /// use dl_theory::expressivity::{CompositionalTarget, NodeFunction};
    /// let f = CompositionalTarget::new(3, NodeFunction::Product)?;
    /// assert_eq!(f.evaluate(&[1.0, 2.0, 3.0, 1.0, 0.5, 1.0, 2.0, 1.0])?, 6.0);
    /// # Ok::<(), dl_theory::expressivity::ExpressivityError>(())
    /// ```
    pub fn evaluate(&self, x: &[f64]) -> Result<f64> {
        if x.len() != self.inputs() {
            return Err(ExpressivityError::invalid(
                "CompositionalTarget::evaluate",
                format!("x has {} values; the tree of {} levels takes {}", x.len(), self.levels, self.inputs()),
            ));
        }
        let mut v = x.to_vec();
        while v.len() > 1 {
            v = v.chunks_exact(2).map(|p| self.node.apply(p[0], p[1])).collect();
        }
        Ok(v[0])
    }
}

fn check_levels(op: &'static str, levels: usize) -> Result<()> {
    if levels == 0 || levels > 10 {
        return Err(ExpressivityError::invalid(
            op,
            format!("levels = {levels}: need 1 <= levels <= 10 (2^levels inputs)"),
        ));
    }
    Ok(())
}

/// The deep network whose graph is the tree: `m` hidden ReLU units per node (see the
/// module docs), inputs `(N, 2^levels, 1)`, output `(N, 1)`, PyTorch's default
/// initialisation drawn from `rng`.
///
/// ```
/// use dl_layers::Module;
/// use dl_tensor::seeded_rng;
/// use dl_theory::expressivity::{tree_network, tree_parameters};
/// let net = tree_network(3, 4, &mut seeded_rng(0))?;
/// assert_eq!(Module::<f64>::num_parameters(&net), tree_parameters(3, 4));   // 7 (4 m + 1)
/// # Ok::<(), dl_theory::expressivity::ExpressivityError>(())
/// ```
pub fn tree_network(levels: usize, m: usize, rng: &mut TensorRng) -> Result<Sequential<f64>> {
    check_levels("tree_network", levels)?;
    if m == 0 {
        return Err(ExpressivityError::invalid("tree_network", "m = 0 hidden units per node: need m >= 1"));
    }
    let mut net = Sequential::new();
    for l in 1..=levels {
        let nodes = 1 << (levels - l);
        let opts = ConvOptions::default().groups(nodes);
        net = net.with(Conv1d::new(2 * nodes, nodes * m, 1, opts, rng)?).with(Act::relu()).with(Conv1d::new(
            nodes * m,
            nodes,
            1,
            opts,
            rng,
        )?);
    }
    Ok(net.with(Flatten::new()))
}

/// The parameters of [`tree_network`]: `(2^levels - 1)(4 m + 1)`.
pub fn tree_parameters(levels: usize, m: usize) -> usize {
    ((1usize << levels) - 1) * (4 * m + 1)
}

/// One dense hidden layer of `width` ReLU units on `inputs` inputs, inputs `(N, inputs)`,
/// output `(N, 1)`: `(inputs + 2) width + 1` parameters.
pub fn shallow_network(inputs: usize, width: usize, rng: &mut TensorRng) -> Result<Sequential<f64>> {
    if inputs == 0 || width == 0 {
        return Err(ExpressivityError::invalid(
            "shallow_network",
            format!("inputs = {inputs}, width = {width}: both must be at least 1"),
        ));
    }
    Ok(Sequential::new()
        .with(Linear::new(inputs, width, true, rng))
        .with(Act::relu())
        .with(Linear::new(width, 1, true, rng)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dl_autodiff::Var;
    use dl_layers::Module;
    use dl_tensor::compare::{Tolerance, assert_close_slices};
    use dl_tensor::{Tensor, seeded_rng};

    /// The tree network against a direct loop over its nodes with the same weights: each
    /// node reads only its two inputs.
    #[test]
    fn each_node_sees_only_its_two_inputs() {
        let (levels, m) = (3, 3);
        let mut rng = seeded_rng(7);
        let net = tree_network(levels, m, &mut rng).unwrap();
        let state = net.state_dict();
        let x = Tensor::<f64>::randn(&[5, 8, 1], &mut rng);
        let y = net.forward(&Var::constant(x.clone())).unwrap().value().to_vec();
        let xv = x.to_vec();
        for (n, &yn) in y.iter().enumerate() {
            let mut v: Vec<f64> = xv[n * 8..(n + 1) * 8].to_vec();
            for l in 0..levels {
                let nodes = v.len() / 2;
                let (w1, b1) =
                    (state[&format!("{}.weight", 3 * l)].to_vec(), state[&format!("{}.bias", 3 * l)].to_vec());
                let (w2, b2) =
                    (state[&format!("{}.weight", 3 * l + 2)].to_vec(), state[&format!("{}.bias", 3 * l + 2)].to_vec());
                v = (0..nodes)
                    .map(|g| {
                        let hidden: Vec<f64> = (0..m)
                            .map(|u| {
                                let o = g * m + u; // output channel of the first conv; weight (O, 2, 1)
                                (w1[o * 2] * v[2 * g] + w1[o * 2 + 1] * v[2 * g + 1] + b1[o]).max(0.0)
                            })
                            .collect();
                        (0..m).map(|u| w2[g * m + u] * hidden[u]).sum::<f64>() + b2[g]
                    })
                    .collect();
            }
            // sums of a few products: a few ulps
            assert_close_slices(&[yn], &v, Tolerance::default_for::<f64>());
        }
        assert!(tree_network(0, 2, &mut rng).is_err() && tree_network(3, 0, &mut rng).is_err());
        assert_eq!(Module::<f64>::num_parameters(&shallow_network(8, 5, &mut rng).unwrap()), 10 * 5 + 1);
    }

    #[test]
    fn the_target_is_the_tree() {
        let f = CompositionalTarget::new(2, NodeFunction::TanhQuadratic).unwrap();
        let h = |a: f64, b: f64| (a + b + a * b).tanh();
        let x = [0.3, -0.2, 0.9, 0.1];
        assert_eq!(f.evaluate(&x).unwrap(), h(h(0.3, -0.2), h(0.9, 0.1)));
        assert!(f.evaluate(&[0.0; 3]).unwrap_err().to_string().contains("x has 3 values"));
    }
}
