//! Checkpoints: everything a run needs to continue exactly where it stopped, in one file
//! written atomically, with a versioned header and a SHA-256 checksum.
//!
//! ```text
//! [8 bytes]   magic "DLFWCKPT"
//! [4 bytes]   format version, u32 little-endian (currently 2; version 1 files, which
//!             have no mask section, are read too)
//! five sections, each [8 bytes: length n, u64 LE][n bytes]:
//!   1. header: JSON of TrainingState (step, epoch, position in the epoch, generator
//!      states, early-stopping state, history, optimiser step) and the dtype
//!   2. parameters: safetensors (the network's state dict, buffers included, exact bits)
//!   3. optimiser buffers: safetensors in f64 ("<param>/<buffer>"; f32 values are exact in f64)
//!   4. best parameters for early stopping: safetensors, or empty
//!   5. pruning masks (lottery tickets): safetensors of zeros and ones by parameter name,
//!      or empty when training is not masked
//! [32 bytes]  SHA-256 of every byte before it
//! ```
//!
//! Writing goes to a temporary file in the same directory, flushed and renamed over the
//! target ([`dl_tensor::npy::write_atomic`]), so a crash mid-write leaves the previous
//! checkpoint intact. Reading checks, in order, the length, the magic, the version, the
//! checksum, then each section, then that every parameter, buffer and optimiser value is
//! finite ([`Checkpoint::validate_finite`]), and returns a [`Checkpoint`] only if all of it
//! is valid; the trainer then applies it only if it fits the network and the optimiser and
//! was made with the same configuration (or the change is allowed:
//! [`ResumePolicy`](crate::train::ResumePolicy)), so a truncated, corrupt, non-finite or
//! mismatched file loads nothing.

use std::collections::BTreeMap;
use std::path::Path;

use dl_tensor::{Element, Tensor};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use crate::rng_state::RngState;

use dl_theory::lottery::{Mask, MaskSet};

use crate::error::{FrameworkError, Result};
use crate::history::History;
use crate::optim::OptimizerState;

/// The magic bytes at the start of every checkpoint.
pub const MAGIC: &[u8; 8] = b"DLFWCKPT";
/// The format version this crate writes (it reads this one and version 1).
pub const FORMAT_VERSION: u32 = 2;

/// Early stopping's running state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EarlyStoppingState {
    /// The best validation loss so far, as its f64 bits (exact through JSON).
    pub best_loss_bits: u64,
    /// The epoch of the best validation loss.
    pub best_epoch: Option<usize>,
    /// Epochs since the last improvement.
    pub bad_epochs: usize,
}

impl Default for EarlyStoppingState {
    fn default() -> Self {
        EarlyStoppingState { best_loss_bits: f64::INFINITY.to_bits(), best_epoch: None, bad_epochs: 0 }
    }
}

/// The training loop's own state at a checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingState {
    /// `f32` or `f64`.
    pub dtype: String,
    /// Optimiser steps taken.
    pub step: u64,
    /// The current epoch (from 0).
    pub epoch: usize,
    /// Batches of the current epoch already taken.
    pub batch_in_epoch: usize,
    /// The shuffling generator at the start of the current epoch (before its permutation).
    pub epoch_start_rng: RngState,
    /// The shuffling generator now.
    pub shuffle_rng: RngState,
    /// The dropout generators, in layer order.
    pub dropout_rngs: Vec<RngState>,
    /// The optimiser's step count.
    pub optimizer_step: u64,
    /// Early stopping's state.
    pub early_stopping: EarlyStoppingState,
    /// Whether the run had finished (all epochs, or stopped early).
    pub finished: bool,
    /// Whether early stopping ended it.
    #[serde(default)]
    pub stopped_early: bool,
    /// Everything recorded so far.
    pub history: History,
    /// The network's configuration (JSON), when the network was built from one; resuming
    /// compares it with the current network's ([`crate::train::ResumePolicy`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_config: Option<serde_json::Value>,
    /// The training configuration (JSON) the run was made with; resuming compares it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_config: Option<serde_json::Value>,
}

/// A checkpoint in memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint<T: Element> {
    /// The loop's state.
    pub state: TrainingState,
    /// The network's state dict by name: its parameters and its buffers (running statistics).
    pub params: BTreeMap<String, Tensor<T>>,
    /// The optimiser's state.
    pub optimizer: OptimizerState,
    /// The parameters at the best validation loss (early stopping with restore), if any.
    pub best_params: Option<BTreeMap<String, Tensor<T>>>,
    /// The pruning masks training runs under, if any.
    pub masks: Option<MaskSet>,
}

fn with_article(kind: &str) -> String {
    if kind == "NaN" { "a NaN".to_string() } else { format!("an {kind}") }
}

fn section(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn optimizer_tensors(state: &OptimizerState) -> BTreeMap<String, Tensor<f64>> {
    let mut out = BTreeMap::new();
    for (param, bufs) in &state.buffers {
        for (key, (shape, values)) in bufs {
            let t = Tensor::from_vec(values.clone(), shape)
                .unwrap_or_else(|_| Tensor::from_vec(values.clone(), &[values.len()]).expect("a flat vector"));
            out.insert(format!("{param}/{key}"), t);
        }
    }
    out
}

impl<T: Element> Checkpoint<T> {
    /// The checkpoint's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let none = BTreeMap::new();
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        let header = serde_json::to_vec(&self.state).expect("the training state is plain data");
        section(&mut out, &header);
        section(&mut out, &dl_layers::serialize::to_safetensors_bytes(&self.params, &none));
        section(&mut out, &dl_layers::serialize::to_safetensors_bytes(&optimizer_tensors(&self.optimizer), &none));
        match &self.best_params {
            Some(b) => section(&mut out, &dl_layers::serialize::to_safetensors_bytes(b, &none)),
            None => section(&mut out, &[]),
        }
        match &self.masks {
            Some(m) => {
                let tensors: BTreeMap<String, Tensor<T>> =
                    m.iter().map(|(k, mask)| (k.to_string(), mask.to_tensor())).collect();
                section(&mut out, &dl_layers::serialize::to_safetensors_bytes(&tensors, &none))
            }
            None => section(&mut out, &[]),
        }
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        out
    }

    /// Writes the checkpoint to `path` atomically (the previous file survives any failure).
    pub fn write(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| FrameworkError::io(dir, e))?;
        }
        dl_tensor::npy::write_atomic("Checkpoint::write", path, &self.to_bytes())
            .map_err(|e| FrameworkError::io(path, e))
    }

    /// Reads and validates a checkpoint file.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| FrameworkError::checkpoint(path, format!("cannot read: {e}")))?;
        Self::from_bytes(path, &bytes)
    }

    /// Parses and validates checkpoint bytes; `path` names the source in errors.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Self> {
        let err = |m: String| FrameworkError::checkpoint(path, m);
        let min = MAGIC.len() + 4 + 4 * 8 + 32; // a version 1 file: four empty-or-not sections
        if bytes.len() < min {
            return Err(err(format!("truncated: {} bytes, a checkpoint has at least {min}", bytes.len())));
        }
        if &bytes[..8] != MAGIC {
            return Err(err("not a dl-framework checkpoint (bad magic bytes)".into()));
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        if !(1..=FORMAT_VERSION).contains(&version) {
            return Err(err(format!("format version {version}, this build reads versions 1 to {FORMAT_VERSION}")));
        }
        let (body, sum) = bytes.split_at(bytes.len() - 32);
        if Sha256::digest(body).as_slice() != sum {
            return Err(err("checksum mismatch: the file is truncated or corrupt".into()));
        }
        let mut pos = 12;
        let mut sections = Vec::new();
        let names: &[&str] = if version == 1 {
            &["header", "parameters", "optimiser state", "best parameters"]
        } else {
            &["header", "parameters", "optimiser state", "best parameters", "masks"]
        };
        for name in names {
            let len = body
                .get(pos..pos + 8)
                .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
                .ok_or_else(|| err(format!("truncated before the {name} section")))?;
            let s = body
                .get(pos + 8..(pos + 8).saturating_add(len))
                .ok_or_else(|| err(format!("the {name} section is truncated")))?;
            sections.push(s);
            pos += 8 + len;
        }
        if pos != body.len() {
            return Err(err(format!("{} unexpected bytes after the last section", body.len() - pos)));
        }
        let state: TrainingState = serde_json::from_slice(sections[0]).map_err(|e| err(format!("header: {e}")))?;
        if state.dtype != T::DTYPE {
            return Err(err(format!("holds {} parameters, the network is {}", state.dtype, T::DTYPE)));
        }
        for (what, r) in std::iter::once(("epoch_start_rng", &state.epoch_start_rng))
            .chain(std::iter::once(("shuffle_rng", &state.shuffle_rng)))
            .chain(state.dropout_rngs.iter().map(|r| ("dropout_rngs", r)))
        {
            if r.try_restore().is_none() {
                return Err(err(format!("header: {what} is not a valid generator state")));
            }
        }
        let (params, _) = dl_layers::serialize::from_safetensors_bytes::<T>(path, sections[1])?;
        let (opt, _) = dl_layers::serialize::from_safetensors_bytes::<f64>(path, sections[2])?;
        let mut buffers = OptimizerState::default().buffers;
        for (key, t) in opt {
            let (param, buf) = key
                .rsplit_once('/')
                .ok_or_else(|| err(format!("optimiser state: key '{key}' is not '<param>/<buffer>'")))?;
            buffers.entry(param.to_string()).or_default().insert(buf.to_string(), (t.shape().to_vec(), t.to_vec()));
        }
        let best_params = if sections[3].is_empty() {
            None
        } else {
            Some(dl_layers::serialize::from_safetensors_bytes::<T>(path, sections[3])?.0)
        };
        let masks = match sections.get(4) {
            Some(s) if !s.is_empty() => {
                let (tensors, _) = dl_layers::serialize::from_safetensors_bytes::<T>(path, s)?;
                let mut set = MaskSet::new();
                for (name, t) in tensors {
                    set.insert(&name, Mask::from_tensor(&t).map_err(|e| err(format!("mask of '{name}': {e}")))?);
                }
                Some(set)
            }
            _ => None,
        };
        let optimizer = OptimizerState { step: state.optimizer_step, buffers };
        let ck = Checkpoint { state, params, optimizer, best_params, masks };
        ck.validate_finite(path)?;
        Ok(ck)
    }

    /// `Ok` if every parameter, buffer, best-epoch parameter and optimiser value is finite;
    /// otherwise an error naming the first tensor that is not (a run cannot continue from a
    /// NaN, and training never writes one: see [`crate::train::DivergenceReport`]).
    pub fn validate_finite(&self, path: &Path) -> Result<()> {
        let err = |what: String| FrameworkError::checkpoint(path, what);
        for (name, t) in &self.params {
            if let Some(kind) = crate::divergence::non_finite_kind(t) {
                return Err(err(format!(
                    "parameter '{name}' holds {}: a run cannot continue from it",
                    with_article(kind)
                )));
            }
        }
        for (name, t) in self.best_params.iter().flatten() {
            if let Some(kind) = crate::divergence::non_finite_kind(t) {
                return Err(err(format!("best-epoch parameter '{name}' holds {}", with_article(kind))));
            }
        }
        for (param, bufs) in &self.optimizer.buffers {
            for (key, (_, values)) in bufs {
                if let Some(v) = values.iter().find(|v| !v.is_finite()) {
                    return Err(err(format!(
                        "optimiser state '{param}/{key}' holds {v}: a run cannot continue from it"
                    )));
                }
            }
        }
        Ok(())
    }
}
