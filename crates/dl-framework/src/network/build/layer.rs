//! The builder's per-layer step: one configured layer (dense, convolution, pooling,
//! normalisation, recurrent, embedding, residual block, ...) becomes its modules, its values
//! checked with the field path in every error, and the per-example shape carried on. Weight
//! initialisation and the μP / abc scaling of dense layers are applied here, as each layer
//! is made.

use super::*;

/// Residual bodies nest at most this deep (each level is a recursion of the builder).
const MAX_NESTING: usize = 64;

impl Builder<'_> {
    /// The modules of one configured layer (a weighted layer and its activation are two),
    /// updating `shape` to the per-example output shape.
    pub(super) fn layer<T: Element>(
        &mut self,
        layer: &LayerConfig,
        path: &str,
        shape: &mut Vec<usize>,
    ) -> Result<Vec<Box<dyn Module<T>>>> {
        let mut out: Vec<Box<dyn Module<T>>> = Vec::new();
        let activation = match layer {
            LayerConfig::Dense { units, bias, activation } => {
                check_positive(&format!("{path}.units"), *units)?;
                if shape.len() != 1 {
                    return Err(FrameworkError::config(
                        path,
                        format!(
                            "dense needs a flat input (features,), got per-example shape {shape:?}; add a flatten layer"
                        ),
                    ));
                }
                out.push(Box::new(self.dense::<T>(shape[0], *units, *bias, path)?));
                *activation
            }
            LayerConfig::Conv1d { channels, kernel_size, stride, padding, dilation, groups, bias, activation }
            | LayerConfig::Conv2d { channels, kernel_size, stride, padding, dilation, groups, bias, activation } => {
                self.check_conv(path, *channels, *kernel_size, *stride, *dilation, *groups)?;
                let two_d = matches!(layer, LayerConfig::Conv2d { .. });
                let (rank, needs) = if two_d {
                    (3, "conv2d needs inputs (channels, height, width)")
                } else {
                    (2, "conv1d needs inputs (channels, length)")
                };
                if shape.len() != rank {
                    return Err(FrameworkError::config(path, format!("{needs}, got per-example shape {shape:?}")));
                }
                let opts = ConvOptions::default()
                    .stride(*stride)
                    .padding(*padding)
                    .dilation(*dilation)
                    .groups(*groups)
                    .bias(*bias);
                let config_error = |e: dl_layers::LayerError| FrameworkError::config(path, e.to_string());
                if two_d {
                    let kernel = (*kernel_size, *kernel_size);
                    let conv =
                        Conv2d::<T>::new(shape[0], *channels, kernel, opts, &mut self.rng).map_err(config_error)?;
                    self.reinit(&conv.weight, conv.bias.as_ref(), path)?;
                    out.push(Box::new(conv));
                } else {
                    let conv = Conv1d::<T>::new(shape[0], *channels, *kernel_size, opts, &mut self.rng)
                        .map_err(config_error)?;
                    self.reinit(&conv.weight, conv.bias.as_ref(), path)?;
                    out.push(Box::new(conv));
                }
                *activation
            }
            LayerConfig::MaxPool1d { kernel_size, stride, padding }
            | LayerConfig::AvgPool1d { kernel_size, stride, padding }
            | LayerConfig::MaxPool2d { kernel_size, stride, padding }
            | LayerConfig::AvgPool2d { kernel_size, stride, padding } => {
                check_positive(&format!("{path}.kernel_size"), *kernel_size)?;
                let stride = stride.unwrap_or(*kernel_size);
                check_positive(&format!("{path}.stride"), stride)?;
                if 2 * padding > *kernel_size {
                    return Err(FrameworkError::config(
                        format!("{path}.padding"),
                        "must be at most half the kernel size",
                    ));
                }
                let one_d = matches!(layer, LayerConfig::MaxPool1d { .. } | LayerConfig::AvgPool1d { .. });
                if one_d && shape.len() != 2 {
                    return Err(FrameworkError::config(
                        path,
                        format!("1-D pooling needs inputs (channels, length), got per-example shape {shape:?}"),
                    ));
                }
                if !one_d && shape.len() != 3 {
                    return Err(FrameworkError::config(
                        path,
                        format!("2-D pooling needs inputs (channels, height, width), got per-example shape {shape:?}"),
                    ));
                }
                let opts = PoolOptions::new(*kernel_size).stride(stride).padding(*padding);
                out.push(match layer {
                    LayerConfig::MaxPool1d { .. } => Box::new(MaxPool1d::new(opts)),
                    LayerConfig::AvgPool1d { .. } => Box::new(AvgPool1d::new(opts)),
                    LayerConfig::MaxPool2d { .. } => Box::new(MaxPool2d::new(opts)),
                    _ => Box::new(AvgPool2d::new(opts)),
                });
                None
            }
            LayerConfig::GlobalAvgPool => {
                if shape.len() < 2 {
                    return Err(FrameworkError::config(
                        path,
                        format!("global_avg_pool needs inputs (channels, ...spatial), got per-example shape {shape:?}"),
                    ));
                }
                out.push(Box::new(GlobalAvgPool::new()));
                None
            }
            LayerConfig::Flatten => {
                out.push(Box::new(Flatten::new()));
                None
            }
            LayerConfig::Embedding { num_embeddings, dim, std } => {
                check_positive(&format!("{path}.num_embeddings"), *num_embeddings)?;
                check_positive(&format!("{path}.dim"), *dim)?;
                let std = std.unwrap_or(1.0);
                if !(std.is_finite() && std >= 0.0) {
                    return Err(FrameworkError::config(
                        format!("{path}.std"),
                        format!("must be a finite standard deviation >= 0, got {std}"),
                    ));
                }
                if matches!(self.cfg.parameterisation, Parameterisation::Ntk { .. }) {
                    return Err(FrameworkError::config(
                        path,
                        "the ntk parameterisation is implemented for dense layers only",
                    ));
                }
                let emb = Embedding::<T>::new(*num_embeddings, *dim, &mut self.rng);
                if std != 1.0 {
                    emb.weight.set(emb.weight.value().mul_scalar(dl_tensor::cst(std)))?;
                }
                out.push(Box::new(emb));
                None
            }
            LayerConfig::Dropout { p } => {
                if !(0.0..1.0).contains(p) {
                    return Err(FrameworkError::config(format!("{path}.p"), format!("must lie in [0, 1), got {p}")));
                }
                let mut rng = seeded_rng(self.cfg.seed);
                rng.set_stream(1 + self.dropout_rngs.len() as u64); // stream 0 draws the parameters
                let rng = Rc::new(RefCell::new(rng));
                self.dropout_rngs.push(Rc::clone(&rng));
                out.push(Box::new(CheckpointedDropout::new(*p, rng)?));
                None
            }
            LayerConfig::Activation { function } => Some(*function),
            LayerConfig::BatchNorm { .. }
            | LayerConfig::LayerNorm { .. }
            | LayerConfig::GroupNorm { .. }
            | LayerConfig::InstanceNorm { .. }
            | LayerConfig::RmsNorm { .. } => {
                let norm = super::super::norm_layers::build::<T>(layer, path, shape)?
                    .expect("a normalisation entry builds a normalisation layer");
                out.push(norm);
                None
            }
            LayerConfig::Recurrent { cell, hidden_size, bidirectional, output } => {
                check_positive(&format!("{path}.hidden_size"), *hidden_size)?;
                if matches!(self.cfg.parameterisation, Parameterisation::Ntk { .. }) {
                    return Err(FrameworkError::config(
                        path,
                        "the ntk parameterisation is implemented for dense layers only",
                    ));
                }
                if shape.len() != 2 {
                    return Err(FrameworkError::config(
                        path,
                        format!(
                            "a recurrent layer needs sequences (length, features), got per-example shape {shape:?}"
                        ),
                    ));
                }
                let inner = Recurrent::new(cell.to_layer(), shape[1], *hidden_size, *bidirectional, &mut self.rng);
                out.push(Box::new(BatchFirstRecurrent { inner, output: *output }));
                None
            }
            LayerConfig::Residual { body, projection } => {
                if path.matches(".body[").count() >= MAX_NESTING {
                    return Err(FrameworkError::config(
                        path,
                        format!("residual blocks nest more than {MAX_NESTING} deep"),
                    ));
                }
                if body.is_empty() {
                    return Err(FrameworkError::config(format!("{path}.body"), "must hold at least one layer"));
                }
                let input = shape.clone();
                let mut seq = Sequential::<T>::new();
                for (j, l) in body.iter().enumerate() {
                    for m in self.layer::<T>(l, &format!("{path}.body[{j}]"), shape)? {
                        seq.push(m);
                    }
                }
                let block = if *shape == input && !projection {
                    Residual::new(seq)
                } else if !projection {
                    return Err(FrameworkError::config(
                        format!("{path}.projection"),
                        format!(
                            "the body maps per-example shape {input:?} to {shape:?}; set \"projection\": true for a learned shortcut"
                        ),
                    ));
                } else {
                    let proj = self.projection::<T>(&input, shape, path)?;
                    Residual::with_projection(seq, BoxedModule(proj))
                };
                out.push(Box::new(block));
                return Ok(out);
            }
        };
        if let Some(f) = activation {
            out.push(Box::new(Act::new(f.to_layer())));
        }
        for m in &mut out {
            *shape = output_shape::<T>(m.as_mut(), shape, path)?;
        }
        Ok(out)
    }

    fn check_conv(
        &self,
        path: &str,
        channels: usize,
        kernel: usize,
        stride: usize,
        dilation: usize,
        groups: usize,
    ) -> Result<()> {
        check_positive(&format!("{path}.channels"), channels)?;
        check_positive(&format!("{path}.kernel_size"), kernel)?;
        check_positive(&format!("{path}.stride"), stride)?;
        check_positive(&format!("{path}.dilation"), dilation)?;
        check_positive(&format!("{path}.groups"), groups)?;
        if matches!(self.cfg.parameterisation, Parameterisation::Ntk { .. }) {
            return Err(FrameworkError::config(path, "the ntk parameterisation is implemented for dense layers only"));
        }
        Ok(())
    }

    fn dense<T: Element>(&mut self, fan_in: usize, units: usize, bias: bool, path: &str) -> Result<Linear<T>> {
        let index = self.dense_index;
        self.dense_index += 1;
        let plain = DenseRecord { multipliers: (1.0, 1.0), weight_lr: LrFactors::ONE, bias_lr: LrFactors::ONE };
        if let Parameterisation::Ntk { sigma_w, sigma_b } = self.cfg.parameterisation {
            let lin = Linear::ntk(fan_in, units, bias, sigma_w, sigma_b, &mut self.rng)
                .map_err(|e| FrameworkError::config(path, e.to_string()))?;
            self.last_dense = Some(DenseRecord { multipliers: lin.multipliers(), ..plain });
            return Ok(lin);
        }
        let lin = Linear::new(fan_in, units, bias, &mut self.rng);
        let Some(plan) = self.abc else {
            self.reinit(&lin.weight, lin.bias.as_ref(), path)?;
            self.last_dense = Some(plain);
            return Ok(lin);
        };
        // The standard draws (the same generator calls as `reinit`), each variance scaled
        // by the square of r^(b_SP - b): exactly 1 at the base width.
        let role = LayerRole::of(index, plan.dense_count);
        let (fw, fb) =
            (init_factor(plan.scheme, role, false, plan.ratio), init_factor(plan.scheme, role, true, plan.ratio));
        let draw = CriticalInit { sigma_w2: plan.sigma_w2 * fw * fw, sigma_b2: plan.sigma_b2 * fb * fb };
        lin.weight.set(draw.weight::<T>(units, fan_in, &mut self.rng)?)?;
        if let Some(b) = &lin.bias {
            b.set(draw.bias::<T>(units, &mut self.rng)?)?;
        }
        let s = DenseScaling::anchored(plan.scheme, role, plan.ratio, plan.sigma_w2, plan.sigma_b2, fan_in)
            .map_err(|e| FrameworkError::config("parameterisation", format!("{path}: {e}")))?;
        let lr = |p: dl_theory::feature_learning::ParamScaling| LrFactors { sgd: p.sgd_lr, adam: p.adam_lr };
        self.last_dense = Some(DenseRecord {
            multipliers: (s.weight.multiplier, s.bias.multiplier),
            weight_lr: lr(s.weight),
            bias_lr: lr(s.bias),
        });
        Ok(lin.with_multipliers(s.weight.multiplier, s.bias.multiplier)?)
    }

    /// Redraws a weighted layer's parameters under the critical or gaussian scheme (a no-op
    /// for PyTorch's default, which the layer constructors already drew).
    fn reinit<T: Element>(
        &mut self,
        weight: &dl_layers::Param<T>,
        bias: Option<&dl_layers::Param<T>>,
        path: &str,
    ) -> Result<()> {
        let shape = weight.shape();
        if let Some(scheme) = self.scheme {
            let w = scheme
                .draw::<T>(&shape, 1, &mut self.rng)
                .map_err(|e| FrameworkError::config("init", format!("{path}: {e}")))?;
            weight.set(w).map_err(|e| FrameworkError::config(path, e.to_string()))?;
            if let Some(b) = bias {
                b.set(Tensor::zeros(&b.shape()))?;
            }
            return Ok(());
        }
        let Some(init) = self.critical else { return Ok(()) };
        let fan_in: usize = shape[1..].iter().product();
        let w = init.weight::<T>(shape[0], fan_in, &mut self.rng)?.reshape(&shape)?;
        weight.set(w).map_err(|e| FrameworkError::config(path, e.to_string()))?;
        if let Some(b) = bias {
            b.set(init.bias::<T>(shape[0], &mut self.rng)?)?;
        }
        Ok(())
    }

    /// The learned shortcut from per-example shape `from` to `to`: a linear map for flat
    /// features, a strided 1x1 convolution for feature maps.
    fn projection<T: Element>(&mut self, from: &[usize], to: &[usize], path: &str) -> Result<Box<dyn Module<T>>> {
        let mismatch = || {
            FrameworkError::config(
                format!("{path}.projection"),
                format!("no 1x1 projection maps per-example shape {from:?} to {to:?}"),
            )
        };
        // the stride that takes length a to length b (verified below by running the layer)
        let stride_of = |a: usize, b: usize| if b > 0 { Some(a.div_ceil(b)) } else { None };
        let proj: Box<dyn Module<T>> = match (from.len(), to.len()) {
            (1, 1) => Box::new(self.dense::<T>(from[0], to[0], true, path)?),
            (2, 2) => {
                let s = stride_of(from[1], to[1]).ok_or_else(mismatch)?;
                let conv = Conv1d::<T>::new(from[0], to[0], 1, ConvOptions::default().stride(s), &mut self.rng)?;
                self.reinit(&conv.weight, conv.bias.as_ref(), path)?;
                Box::new(conv)
            }
            (3, 3) => {
                let s = stride_of(from[1], to[1]).ok_or_else(mismatch)?;
                let conv = Conv2d::<T>::new(from[0], to[0], (1, 1), ConvOptions::default().stride(s), &mut self.rng)?;
                self.reinit(&conv.weight, conv.bias.as_ref(), path)?;
                Box::new(conv)
            }
            _ => return Err(mismatch()),
        };
        let mut proj = proj;
        // the projection is applied to the block's input; check that it lands on the body's output
        if output_shape::<T>(proj.as_mut(), from, path)? != to {
            return Err(mismatch());
        }
        Ok(proj)
    }
}
