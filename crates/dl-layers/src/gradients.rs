//! Gradients looked up by parameter name (PyTorch's `dict(model.named_parameters())[name].grad`).
//!
//! `loss.backward()` returns [`Gradients`] keyed by variables; [`NamedGradients`], implemented
//! for every [`Module`], reads them through the module's dotted parameter names
//! (`"0.weight"`, `"block.proj.bias"`, `"weight_hh_l0_reverse"`: the names of
//! [`Module::parameters`] and of the state dict).
//!
//! ```
//! use dl_autodiff::Var;
//! use dl_layers::{Act, Linear, Module, NamedGradients, Sequential};
//! use dl_tensor::{Tensor, seeded_rng};
//! let mut rng = seeded_rng(0);
//! let net = Sequential::<f64>::new().with(Linear::new(3, 4, true, &mut rng)).with(Act::tanh()).with(Linear::new(4, 1, true, &mut rng));
//! let grads = net.forward(&Var::constant(Tensor::ones(&[2, 3])))?.sum_all()?.backward()?;
//! let g = net.gradient(&grads, "2.bias")?.expect("the bias was used");
//! assert_eq!(g.to_vec(), vec![2.0]);                       // d(sum of 2 outputs)/d bias
//! assert_eq!(net.named_gradients(&grads).len(), 4);        // 0.weight, 0.bias, 2.weight, 2.bias
//! let err = net.gradient(&grads, "1.weight").unwrap_err(); // the tanh has no parameters
//! assert!(err.to_string().contains("no parameter named '1.weight'"));
//! # Ok::<(), dl_layers::LayerError>(())
//! ```

use dl_autodiff::Gradients;
use dl_tensor::{Element, Tensor};

use crate::error::{LayerError, Result};
use crate::module::Module;

/// Gradients by parameter name, for any [`Module`].
pub trait NamedGradients<T: Element> {
    /// The gradient of the parameter called `name`: `Ok(None)` if the parameter exists but
    /// the loss does not depend on it (or it does not require gradients), an error listing
    /// the module's parameter names if there is no parameter of that name.
    fn gradient<'g>(&self, grads: &'g Gradients<T>, name: &str) -> Result<Option<&'g Tensor<T>>>;
    /// `(name, gradient)` for every parameter the loss reached, in visiting order.
    fn named_gradients<'g>(&self, grads: &'g Gradients<T>) -> Vec<(String, &'g Tensor<T>)>;
}

impl<T: Element, M: Module<T> + ?Sized> NamedGradients<T> for M {
    fn gradient<'g>(&self, grads: &'g Gradients<T>, name: &str) -> Result<Option<&'g Tensor<T>>> {
        let params = self.parameters();
        match params.iter().find(|p| p.name == name) {
            Some(p) => Ok(p.param.grad(grads)),
            None => {
                let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
                Err(LayerError::config(
                    self.describe(),
                    format!("no parameter named '{name}'; the parameters are [{}]", names.join(", ")),
                ))
            }
        }
    }

    fn named_gradients<'g>(&self, grads: &'g Gradients<T>) -> Vec<(String, &'g Tensor<T>)> {
        self.parameters().into_iter().filter_map(|p| p.param.grad(grads).map(|g| (p.name, g))).collect()
    }
}
