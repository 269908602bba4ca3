//! The memory a configured layer will take, computed from the configuration alone, with
//! checked arithmetic, *before* the layer is built: the builder refuses a layer whose
//! parameters and activations would exceed the [`MemoryLimit`](dl_tensor::MemoryLimit)
//! (a configuration with 10^12 units would otherwise abort the process in the allocator),
//! and the trainer refuses a batch size whose activations would.
//!
//! Counts are in elements of the network's type. For a layer on per-example input shape
//! `s` (with `F` features, `C` channels, spatial sizes `L` or `H x W`):
//!
//! | layer | state (parameters and buffers) | output per example |
//! | --- | --- | --- |
//! | dense, `u` units | `F u + u` (bias) | `u` |
//! | conv, `c` channels, kernel `k`, `g` groups | `c (C / g) k^d + c` | `c prod_i ((L_i + 2p - d_l (k - 1) - 1) / s + 1)` |
//! | pooling | 0 | `C prod_i ((L_i + 2p - k) / s + 1)` |
//! | recurrent, cell of `G` gates (RNN 1, GRU 3, LSTM 4), `D` directions | `D (G H F + G H H + 2 G H)` | `D H` per step kept (`L D H`) or `D H` |
//! | batch / group / instance norm | `2 C` (affine) `+ 2 C + 1` (running statistics) | `|s|` |
//! | layer / RMS norm | `|s|` or `2 |s|` (affine) | `|s|` |
//!
//! (`|s|` is the number of elements of `s`.) A weighted layer with an `activation` keeps
//! two outputs (before and after). A convolution's forward pass also holds its im2col
//! columns, `C k^d` per output position: the working memory. These are the formulas of
//! PyTorch's `nn.Linear`, `nn.Conv*d`, `nn.RNN/GRU/LSTM` and the pooling layers; the tests
//! check them against the networks the builder makes.

use dl_tensor::shape::checked_numel;

use super::RecurrentOutputKind;
use super::{CellConfig, LayerConfig};

/// What one configured layer holds in memory, in elements.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LayerFootprint {
    /// Parameters and buffers (what the state dict holds).
    pub state: u64,
    /// The outputs of one example that a forward pass keeps for the backward pass.
    pub activations: u64,
    /// Transient working memory of one example's forward pass (im2col columns).
    pub workspace: u64,
}

impl LayerFootprint {
    /// Everything one example's forward pass through this layer needs, state included.
    pub fn one_example(&self) -> Option<u64> {
        self.state.checked_add(self.activations)?.checked_add(self.workspace)
    }
}

fn mul(a: u64, b: u64) -> Option<u64> {
    a.checked_mul(b)
}

fn add(a: u64, b: u64) -> Option<u64> {
    a.checked_add(b)
}

fn count(shape: &[usize]) -> Option<u64> {
    checked_numel(shape).and_then(|n| u64::try_from(n).ok())
}

/// The output length of a window of `kernel` with `stride`, `padding` and `dilation` over
/// `len` positions (0 when the window does not fit: the layer itself will say so).
fn window_out(len: usize, kernel: usize, stride: usize, padding: usize, dilation: usize) -> Option<u64> {
    let padded = (len as u64).checked_add(mul(2, padding as u64)?)?;
    let span = mul(dilation as u64, (kernel as u64).checked_sub(1)?)?.checked_add(1)?;
    if stride == 0 || padded < span {
        return Some(0);
    }
    Some((padded - span) / stride as u64 + 1)
}

/// The footprint of `layer` on per-example input shape `shape`, or `None` when a count
/// overflows 64 bits (which no machine can hold either). A layer that does not fit its
/// input shape gets a zero footprint: the builder reports the shape error itself.
pub fn layer_footprint(layer: &LayerConfig, shape: &[usize]) -> Option<LayerFootprint> {
    let input = count(shape)?;
    let with_activation = |out: u64, act: bool| if act { mul(out, 2) } else { Some(out) };
    Some(match layer {
        LayerConfig::Dense { units, bias, activation } => {
            let fan_in = if shape.len() == 1 { shape[0] as u64 } else { input };
            let units = *units as u64;
            let state = add(mul(fan_in, units)?, if *bias { units } else { 0 })?;
            LayerFootprint { state, activations: with_activation(units, activation.is_some())?, workspace: 0 }
        }
        LayerConfig::Conv1d { channels, kernel_size, stride, padding, dilation, groups, bias, activation }
        | LayerConfig::Conv2d { channels, kernel_size, stride, padding, dilation, groups, bias, activation } => {
            let dims = if matches!(layer, LayerConfig::Conv1d { .. }) { 1 } else { 2 };
            if shape.len() != dims + 1 || *groups == 0 {
                return Some(LayerFootprint::default());
            }
            let (c_in, c_out, k) = (shape[0] as u64, *channels as u64, *kernel_size as u64);
            let window = (0..dims).try_fold(1u64, |acc, _| mul(acc, k))?;
            let positions = shape[1..]
                .iter()
                .try_fold(1u64, |acc, &len| mul(acc, window_out(len, *kernel_size, *stride, *padding, *dilation)?))?;
            let weight = mul(mul(c_out, c_in / *groups as u64)?, window)?;
            let state = add(weight, if *bias { c_out } else { 0 })?;
            let out = mul(c_out, positions)?;
            let workspace = mul(mul(c_in, window)?, positions)?;
            LayerFootprint { state, activations: with_activation(out, activation.is_some())?, workspace }
        }
        LayerConfig::MaxPool1d { kernel_size, stride, padding }
        | LayerConfig::AvgPool1d { kernel_size, stride, padding }
        | LayerConfig::MaxPool2d { kernel_size, stride, padding }
        | LayerConfig::AvgPool2d { kernel_size, stride, padding } => {
            if shape.len() < 2 {
                return Some(LayerFootprint::default());
            }
            let stride = stride.unwrap_or(*kernel_size);
            let positions = shape[1..]
                .iter()
                .try_fold(1u64, |acc, &len| mul(acc, window_out(len, *kernel_size, stride, *padding, 1)?))?;
            LayerFootprint { state: 0, activations: mul(shape[0] as u64, positions)?, workspace: 0 }
        }
        LayerConfig::Embedding { num_embeddings, dim, .. } => {
            let state = mul(*num_embeddings as u64, *dim as u64)?;
            LayerFootprint { state, activations: mul(input, *dim as u64)?, workspace: 0 }
        }
        LayerConfig::GlobalAvgPool => {
            LayerFootprint { activations: shape.first().map_or(0, |&c| c as u64), ..Default::default() }
        }
        LayerConfig::Flatten | LayerConfig::Dropout { .. } | LayerConfig::Activation { .. } => {
            LayerFootprint { activations: input, ..Default::default() }
        }
        LayerConfig::Recurrent { cell, hidden_size, bidirectional, output } => {
            if shape.len() != 2 {
                return Some(LayerFootprint::default());
            }
            let gates = match cell {
                CellConfig::RnnTanh | CellConfig::RnnRelu => 1,
                CellConfig::Gru => 3,
                CellConfig::Lstm => 4,
            };
            let (len, features, h) = (shape[0] as u64, shape[1] as u64, *hidden_size as u64);
            let d = if *bidirectional { 2 } else { 1 };
            let gh = mul(gates, h)?;
            let per_direction = add(add(mul(gh, features)?, mul(gh, h)?)?, mul(2, gh)?)?;
            let out = match output {
                RecurrentOutputKind::Sequence => mul(mul(len, d)?, h)?,
                RecurrentOutputKind::Last => mul(d, h)?,
            };
            // every step keeps its gates and state for backpropagation through time
            let kept = mul(mul(len, d)?, add(gh, h)?)?;
            LayerFootprint { state: mul(d, per_direction)?, activations: add(out, kept)?, workspace: 0 }
        }
        LayerConfig::BatchNorm { affine, .. } | LayerConfig::GroupNorm { affine, .. } => {
            let c = shape.first().map_or(0, |&c| c as u64);
            let running = if matches!(layer, LayerConfig::BatchNorm { .. }) { add(mul(2, c)?, 1)? } else { 0 };
            let state = add(if *affine { mul(2, c)? } else { 0 }, running)?;
            LayerFootprint { state, activations: input, workspace: 0 }
        }
        LayerConfig::InstanceNorm { affine, track_running_stats, .. } => {
            let c = shape.first().map_or(0, |&c| c as u64);
            let state =
                add(if *affine { mul(2, c)? } else { 0 }, if *track_running_stats { add(mul(2, c)?, 1)? } else { 0 })?;
            LayerFootprint { state, activations: input, workspace: 0 }
        }
        LayerConfig::LayerNorm { affine, .. } => {
            LayerFootprint { state: if *affine { mul(2, input)? } else { 0 }, activations: input, workspace: 0 }
        }
        LayerConfig::RmsNorm { affine, .. } => {
            LayerFootprint { state: if *affine { input } else { 0 }, activations: input, workspace: 0 }
        }
        LayerConfig::Residual { body, projection } => {
            let mut total = LayerFootprint::default();
            let mut s = shape.to_vec();
            for l in body {
                let f = layer_footprint(l, &s)?;
                total.state = add(total.state, f.state)?;
                total.activations = add(total.activations, f.activations)?;
                total.workspace = total.workspace.max(f.workspace);
                match planned_output_shape(l, &s) {
                    Some(next) => s = next,
                    None => return Some(total),
                }
            }
            if *projection {
                // a linear map or a 1x1 convolution from the input to the body's output
                let (from_c, to_c) =
                    (shape.first().copied().unwrap_or(0) as u64, s.first().copied().unwrap_or(0) as u64);
                let state =
                    if shape.len() == 1 { add(mul(input, to_c)?, to_c)? } else { add(mul(from_c, to_c)?, to_c)? };
                total.state = add(total.state, state)?;
                total.activations = add(total.activations, count(&s)?)?;
            }
            total.activations = add(total.activations, count(&s)?)?;
            total
        }
    })
}

/// The per-example output shape of `layer` where the configuration alone determines it
/// (the residual footprint follows its body with it); `None` where it does not fit.
fn planned_output_shape(layer: &LayerConfig, shape: &[usize]) -> Option<Vec<usize>> {
    let windows =
        |channels: usize, kernel: usize, stride: usize, padding: usize, dilation: usize| -> Option<Vec<usize>> {
            let mut out = vec![channels];
            for &len in &shape[1..] {
                out.push(usize::try_from(window_out(len, kernel, stride, padding, dilation)?).ok()?);
            }
            Some(out)
        };
    match layer {
        LayerConfig::Dense { units, .. } => Some(vec![*units]),
        LayerConfig::Conv1d { channels, kernel_size, stride, padding, dilation, .. }
        | LayerConfig::Conv2d { channels, kernel_size, stride, padding, dilation, .. } => {
            (shape.len() >= 2).then(|| windows(*channels, *kernel_size, *stride, *padding, *dilation)).flatten()
        }
        LayerConfig::MaxPool1d { kernel_size, stride, padding }
        | LayerConfig::AvgPool1d { kernel_size, stride, padding }
        | LayerConfig::MaxPool2d { kernel_size, stride, padding }
        | LayerConfig::AvgPool2d { kernel_size, stride, padding } => (shape.len() >= 2)
            .then(|| windows(shape[0], *kernel_size, stride.unwrap_or(*kernel_size), *padding, 1))
            .flatten(),
        LayerConfig::GlobalAvgPool => shape.first().map(|&c| vec![c]),
        LayerConfig::Embedding { dim, .. } => Some(shape.iter().copied().chain([*dim]).collect()),
        LayerConfig::Flatten => checked_numel(shape).map(|n| vec![n]),
        LayerConfig::Recurrent { hidden_size, bidirectional, output, .. } => {
            let dh = hidden_size.checked_mul(if *bidirectional { 2 } else { 1 })?;
            match output {
                RecurrentOutputKind::Sequence => Some(vec![*shape.first()?, dh]),
                RecurrentOutputKind::Last => Some(vec![dh]),
            }
        }
        LayerConfig::Residual { .. } => None,
        _ => Some(shape.to_vec()),
    }
}
