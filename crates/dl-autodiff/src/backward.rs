//! Reverse mode: the backward pass over the tape.
//!
//! For `y = f(x)` built from primitives `v_k = f_k(v_{parents})`, the chain rule gives the
//! adjoint of every node, `v̄_j = sum over consumers k of J_{k,j}^T v̄_k`. The pass
//!
//! 1. orders the recorded nodes reachable from `y` topologically (inputs before consumers),
//! 2. seeds `ȳ` with the cotangent (1 for a scalar loss),
//! 3. walks the order backwards, calling each primitive's VJP rule once on its accumulated
//!    adjoint and adding the results into its inputs' adjoints (fan-out accumulates),
//! 4. frees the tape (each node's record: its op and its input references, hence the
//!    saved activations) unless `retain_graph` is set.
//!
//! The cost is a small constant times the forward pass (each VJP costs about as much as its
//! forward), independent of the number of inputs: the cheap-gradient principle.
//! With `create_graph`, step 3 runs with recording on, so the gradients are themselves
//! differentiable variables (Hessian-vector products, `gradgradcheck`).

use std::collections::{HashMap, HashSet};

use dl_tensor::{Element, Tensor};

use crate::error::{AutodiffError, Result};
use crate::mode::with_grad_mode;
use crate::primitive::VjpContext;
use crate::var::{Origin, Var};

/// Options of a backward pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackwardOptions {
    /// Keep the tape after the pass, so that it can be differentiated again.
    pub retain_graph: bool,
    /// Record the backward pass itself, so the gradients can be differentiated
    /// (implies `retain_graph`).
    pub create_graph: bool,
}

impl BackwardOptions {
    /// Keep the tape.
    pub fn retain() -> Self {
        BackwardOptions { retain_graph: true, create_graph: false }
    }
    /// Record the backward pass (and keep the tape).
    pub fn create_graph() -> Self {
        BackwardOptions { retain_graph: true, create_graph: true }
    }
}

/// The gradients of a backward pass, keyed by variable.
#[derive(Debug)]
pub struct Gradients<T: Element> {
    map: HashMap<usize, Var<T>>,
}

impl<T: Element> Gradients<T> {
    /// The gradient of `var` (None if no path leads from the output to it).
    pub fn get(&self, var: &Var<T>) -> Option<&Tensor<T>> {
        self.map.get(&var.id()).map(|g| g.value())
    }
    /// The gradient as a variable (differentiable when the pass had `create_graph`).
    pub fn get_var(&self, var: &Var<T>) -> Option<&Var<T>> {
        self.map.get(&var.id())
    }
    /// Removes and returns the gradient of `var`, without copying it.
    pub fn take(&mut self, var: &Var<T>) -> Option<Tensor<T>> {
        self.map.remove(&var.id()).map(|g| g.value().clone())
    }
    /// How many variables have a gradient.
    pub fn len(&self) -> usize {
        self.map.len()
    }
    /// True when no variable received a gradient.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Which adjoints a pass returns.
enum Targets<'a> {
    /// Every leaf that requires a gradient.
    Leaves,
    /// Exactly these variables; with `stop`, the pass does not look past them.
    These { ids: &'a HashSet<usize>, stop: bool },
}

impl<T: Element> Var<T> {
    /// Gradients of a scalar (one-element) output with respect to every leaf that requires
    /// them. Frees the tape.
    pub fn backward(&self) -> Result<Gradients<T>> {
        backward_with(self, None, BackwardOptions::default())
    }

    /// The vector-Jacobian product `J^T u` for a non-scalar output, for every leaf.
    pub fn vjp(&self, cotangent: &Tensor<T>) -> Result<Gradients<T>> {
        backward_with(self, Some(cotangent), BackwardOptions::default())
    }
}

/// Backward from `output` with an optional cotangent (required unless the output has one
/// element) and options; returns the gradient of every leaf that requires one.
pub fn backward_with<T: Element>(
    output: &Var<T>,
    cotangent: Option<&Tensor<T>>,
    opts: BackwardOptions,
) -> Result<Gradients<T>> {
    let seed = seed_for(output, cotangent)?;
    let map = run(output, seed, Targets::Leaves, opts)?;
    Ok(Gradients { map })
}

/// `J^T u` for a non-scalar output and a cotangent of its shape.
pub fn vjp<T: Element>(output: &Var<T>, cotangent: &Tensor<T>) -> Result<Gradients<T>> {
    backward_with(output, Some(cotangent), BackwardOptions::default())
}

/// The gradients of `output` with respect to the variables `wrt` (leaves or intermediate),
/// in order; `None` where no path leads to one. `cotangent` may itself be a variable
/// (differentiable under `create_graph`); it defaults to 1 for a one-element output.
pub fn grad<T: Element>(
    output: &Var<T>,
    cotangent: Option<&Var<T>>,
    wrt: &[&Var<T>],
    opts: BackwardOptions,
) -> Result<Vec<Option<Var<T>>>> {
    grad_impl(output, cotangent, wrt, opts, false)
}

pub(crate) fn grad_impl<T: Element>(
    output: &Var<T>,
    cotangent: Option<&Var<T>>,
    wrt: &[&Var<T>],
    opts: BackwardOptions,
    stop_at_wrt: bool,
) -> Result<Vec<Option<Var<T>>>> {
    let seed = match cotangent {
        Some(c) => {
            check_cotangent(output, c.value())?;
            c.clone()
        }
        None => seed_for(output, None)?,
    };
    let ids: HashSet<usize> = wrt.iter().map(|v| v.id()).collect();
    if !output.requires_grad() {
        return Ok(wrt.iter().map(|_| None).collect());
    }
    let mut map = run(output, seed, Targets::These { ids: &ids, stop: stop_at_wrt }, opts)?;
    Ok(wrt.iter().map(|v| map.remove(&v.id())).collect())
}

fn check_cotangent<T: Element>(output: &Var<T>, c: &Tensor<T>) -> Result<()> {
    if c.shape() != output.shape() {
        return Err(AutodiffError::CotangentShape { expected: output.shape().to_vec(), got: c.shape().to_vec() });
    }
    Ok(())
}

fn seed_for<T: Element>(output: &Var<T>, cotangent: Option<&Tensor<T>>) -> Result<Var<T>> {
    match cotangent {
        Some(c) => {
            check_cotangent(output, c)?;
            Ok(Var::constant(c.clone()))
        }
        None if output.value().numel() == 1 => Ok(Var::constant(Tensor::ones(output.shape()))),
        None => Err(AutodiffError::NonScalarWithoutCotangent {
            shape: output.shape().to_vec(),
            numel: output.value().numel(),
        }),
    }
}

/// Nodes reachable from `output` through recorded ops, inputs before consumers.
/// Iterative depth-first search, so deep graphs do not overflow the stack.
fn topological_order<T: Element>(output: &Var<T>, stop: Option<&HashSet<usize>>) -> Result<Vec<Var<T>>> {
    let mut order = Vec::new();
    let mut visited = HashSet::new();
    let mut stack = vec![(output.clone(), false)];
    while let Some((v, expanded)) = stack.pop() {
        if expanded {
            order.push(v);
            continue;
        }
        if !visited.insert(v.id()) {
            continue;
        }
        stack.push((v.clone(), true));
        if stop.is_some_and(|s| s.contains(&v.id())) {
            continue;
        }
        if let Origin::Op { name, record } = &v.0.origin {
            let record = record.borrow();
            let record = record.as_ref().ok_or(AutodiffError::TapeFreed { op: name })?;
            for input in record.inputs.iter().rev() {
                if input.requires_grad() && !visited.contains(&input.id()) {
                    stack.push((input.clone(), false));
                }
            }
        }
    }
    Ok(order)
}

fn run<T: Element>(
    output: &Var<T>,
    seed: Var<T>,
    targets: Targets<'_>,
    opts: BackwardOptions,
) -> Result<HashMap<usize, Var<T>>> {
    if !output.requires_grad() {
        return Err(AutodiffError::NotDifferentiable);
    }
    let retain = opts.retain_graph || opts.create_graph;
    let stop = match &targets {
        Targets::These { ids, stop: true } => Some(*ids),
        _ => None,
    };
    let order = topological_order(output, stop)?;
    let mut adjoints: HashMap<usize, Var<T>> = HashMap::new();
    adjoints.insert(output.id(), seed);
    let mut result = HashMap::new();

    // Popping (rather than iterating) releases each node as soon as it is processed: with
    // its consumers' records already freed, its value's buffer goes back to the allocator
    // while the pass runs, ready for the gradients still to come.
    let mut order = order;
    while let Some(node) = order.pop() {
        let node = &node;
        let Some(adjoint) = adjoints.remove(&node.id()) else {
            if !retain && stop.is_none_or(|s| !s.contains(&node.id())) {
                free(node);
            }
            continue;
        };
        let is_target = match &targets {
            Targets::Leaves => node.is_leaf(),
            Targets::These { ids, .. } => ids.contains(&node.id()),
        };
        let stops_here = stop.is_some_and(|s| s.contains(&node.id()));
        if is_target {
            result.insert(node.id(), adjoint.clone());
        }
        if stops_here {
            continue;
        }
        if let Origin::Op { name, record } = &node.0.origin {
            {
                let record = record.borrow();
                let record = record.as_ref().ok_or(AutodiffError::TapeFreed { op: name })?;
                let needs: Vec<bool> = record.inputs.iter().map(|v| v.requires_grad()).collect();
                let ctx = VjpContext { inputs: &record.inputs, output: node, needs_grad: &needs };
                let grads = with_grad_mode(opts.create_graph, || record.op.vjp(&ctx, &adjoint))?;
                if grads.len() != record.inputs.len() {
                    return Err(AutodiffError::BadVjp {
                        op: name,
                        detail: format!("{} gradients for {} inputs", grads.len(), record.inputs.len()),
                    });
                }
                drop(adjoint);
                for (i, (input, g)) in record.inputs.iter().zip(grads).enumerate() {
                    let Some(g) = g else { continue };
                    if !needs[i] {
                        continue;
                    }
                    if g.shape() != input.shape() {
                        return Err(AutodiffError::BadVjp {
                            op: name,
                            detail: format!(
                                "a gradient of shape {:?} for input {i} of shape {:?}",
                                g.shape(),
                                input.shape()
                            ),
                        });
                    }
                    accumulate(&mut adjoints, input.id(), g, opts.create_graph)?;
                }
            }
            if !retain {
                free(node);
            }
        }
    }
    Ok(result)
}

fn free<T: Element>(node: &Var<T>) {
    if let Origin::Op { record, .. } = &node.0.origin {
        record.borrow_mut().take();
    }
}

/// Adds `g` into the adjoint of `id`. The first contribution is moved in without a copy;
/// later ones are added in place when the stored adjoint is not shared (and the pass is
/// not recorded), else with a new `add`.
fn accumulate<T: Element>(
    adjoints: &mut HashMap<usize, Var<T>>,
    id: usize,
    g: Var<T>,
    create_graph: bool,
) -> Result<()> {
    use std::collections::hash_map::Entry;
    match adjoints.entry(id) {
        Entry::Vacant(e) => {
            e.insert(g);
        }
        Entry::Occupied(mut e) => {
            if !create_graph
                && g.0.tangent.is_none()
                && let Some(inner) = std::rc::Rc::get_mut(&mut e.get_mut().0)
                && inner.tangent.is_none()
            {
                // `array_mut` copies first if the buffer is shared with another tensor.
                inner.value.array_mut().zip_mut_with(g.value().array(), |a, &b| *a += b);
                return Ok(());
            }
            let sum = with_grad_mode(create_graph, || e.get().add(&g))?;
            *e.get_mut() = sum;
        }
    }
    Ok(())
}
