//! A [`Trainer`]'s checkpoints: the run's state as a [`Checkpoint`], writing it, and
//! restoring a run from one. A restore changes nothing unless the whole checkpoint is valid,
//! fits this network and optimiser (every parameter, buffer and optimiser state by name and
//! shape, the masks, the generators) and was made under the same configuration up to the
//! changes a [`ResumePolicy`] allows; then the run continues bit for bit.

use std::collections::BTreeMap;
use std::path::Path;

use dl_layers::Module;
use dl_tensor::{Element, Tensor};

use super::super::ConfigChange;
use super::super::resume::{ResumePolicy, config_changes};
use super::Trainer;
use crate::checkpoint::{Checkpoint, RngState, TrainingState};
use crate::divergence::{DivergenceSite, non_finite_kind};
use crate::error::{FrameworkError, Result};

impl<T: Element> Trainer<T> {
    pub(super) fn checkpoint_if_configured(&mut self) -> Result<()> {
        if let Some(path) = self.checkpoint_path() {
            let bad = self
                .network
                .parameters()
                .into_iter()
                .find_map(|p| non_finite_kind(&p.param.value()).map(|k| (p.name, k)));
            if let Some((param, kind)) = bad {
                let loss = self.history.last("train_loss").unwrap_or(f64::NAN);
                return Err(self.diverged(DivergenceSite::Parameter { param }, kind, loss));
            }
            self.save_checkpoint(&path)?;
        }
        Ok(())
    }

    /// The run's state as a checkpoint.
    pub fn checkpoint(&self) -> Checkpoint<T> {
        let state = TrainingState {
            dtype: T::DTYPE.to_string(),
            step: self.step,
            epoch: self.epoch,
            batch_in_epoch: self.batch_in_epoch,
            epoch_start_rng: self.epoch_start_rng.clone(),
            shuffle_rng: RngState::of(&self.shuffle_rng),
            dropout_rngs: self.network.rng_states(),
            optimizer_step: self.optimizer.state().step,
            early_stopping: self.early.clone(),
            finished: self.finished,
            stopped_early: self.stopped_early,
            history: self.history.clone(),
            network_config: self.network.config().and_then(|c| serde_json::to_value(c).ok()),
            train_config: serde_json::to_value(&self.config).ok(),
        };
        Checkpoint {
            state,
            params: self.network.state_dict(),
            optimizer: self.optimizer.state(),
            best_params: self.best_params.clone(),
            masks: self.masks.clone(),
        }
    }

    /// Writes a checkpoint to `path`, atomically.
    pub fn save_checkpoint(&mut self, path: &Path) -> Result<()> {
        self.checkpoint().write(path)?;
        self.last_checkpoint = Some(path.to_path_buf());
        Ok(())
    }

    /// Restores the run from the checkpoint at `path`. Nothing changes unless the whole
    /// file is valid, fits this network and optimiser, and was made with the same
    /// configuration, up to the changes `allow_config_changes` allows (see
    /// [`ResumePolicy`]).
    pub fn resume(&mut self, path: &Path) -> Result<()> {
        let policy = ResumePolicy::from_fields(&self.config.allow_config_changes);
        self.resume_with(path, &policy)
    }

    /// [`Trainer::resume`] under an explicit policy (fine-tuning:
    /// `ResumePolicy::AllowChanges(vec!["optimizer.lr".into()])`).
    pub fn resume_with(&mut self, path: &Path, policy: &ResumePolicy) -> Result<()> {
        let ck = Checkpoint::<T>::read(path)?;
        self.restore_with(path, ck, policy)
    }

    /// Restores the run from an in-memory checkpoint (`path` names it in errors), under
    /// the policy of `allow_config_changes`.
    pub fn restore(&mut self, path: &Path, ck: Checkpoint<T>) -> Result<()> {
        let policy = ResumePolicy::from_fields(&self.config.allow_config_changes);
        self.restore_with(path, ck, &policy)
    }

    /// The fields in which this trainer's configuration (training, and the network's under
    /// `network.`) differs from the one `state` was saved with and `policy` does not
    /// allow. A checkpoint that recorded no configuration (written before they were
    /// recorded) has nothing to compare.
    pub fn refused_config_changes(&self, state: &TrainingState, policy: &ResumePolicy) -> Vec<ConfigChange> {
        let mut changes = Vec::new();
        if let (Some(theirs), Ok(ours)) = (&state.train_config, serde_json::to_value(&self.config)) {
            changes.extend(config_changes(theirs, &ours, ""));
        }
        if let (Some(theirs), Some(Ok(ours))) = (&state.network_config, self.network.config().map(serde_json::to_value))
        {
            changes.extend(config_changes(theirs, &ours, "network"));
        }
        changes.retain(|c| !policy.allows(&c.field));
        changes
    }

    /// [`Trainer::restore`] under an explicit policy.
    pub fn restore_with(&mut self, path: &Path, ck: Checkpoint<T>, policy: &ResumePolicy) -> Result<()> {
        let err = |m: String| FrameworkError::checkpoint(path, m);
        ck.validate_finite(path)?;
        // parameters and buffers (running statistics): what `state_dict` holds
        let own: BTreeMap<String, Vec<usize>> =
            self.network.state_dict().into_iter().map(|(k, t)| (k, t.shape().to_vec())).collect();
        let fits = |params: &BTreeMap<String, Tensor<T>>| {
            params.len() == own.len()
                && params.iter().all(|(k, t)| own.get(k).is_some_and(|s| s.as_slice() == t.shape()))
        };
        if !fits(&ck.params) {
            let theirs: Vec<String> = ck.params.iter().map(|(k, t)| format!("{k} {:?}", t.shape())).collect();
            let ours: Vec<String> = own.iter().map(|(k, s)| format!("{k} {s:?}")).collect();
            return Err(err(format!(
                "its parameters [{}] do not fit the network's [{}]",
                theirs.join(", "),
                ours.join(", ")
            )));
        }
        if ck.best_params.as_ref().is_some_and(|b| !fits(b)) {
            return Err(err("its best-epoch parameters do not fit the network".into()));
        }
        for (param, bufs) in &ck.optimizer.buffers {
            for (key, (shape, _)) in bufs {
                if own.get(param) != Some(shape) {
                    return Err(err(format!(
                        "optimiser state '{param}/{key}' has shape {shape:?}, but the network's parameter '{param}' has {}",
                        own.get(param).map_or("no such parameter".to_string(), |s| format!("shape {s:?}"))
                    )));
                }
            }
        }
        for (what, r) in [("epoch_start_rng", &ck.state.epoch_start_rng), ("shuffle_rng", &ck.state.shuffle_rng)] {
            if r.try_restore().is_none() {
                return Err(err(format!("{what} is not a valid generator state")));
            }
        }
        if let Some(m) = &ck.masks {
            m.check_shapes("Trainer::restore", own.iter().map(|(k, s)| (k.as_str(), s.as_slice())))
                .map_err(|e| err(e.to_string()))?;
        }
        if ck.state.dropout_rngs.len() != self.network.rng_states().len() {
            return Err(err(format!(
                "{} dropout generators for a network with {}",
                ck.state.dropout_rngs.len(),
                self.network.rng_states().len()
            )));
        }
        let refused = self.refused_config_changes(&ck.state, policy);
        if !refused.is_empty() {
            let fields: Vec<String> = refused.iter().map(|c| format!("{:?}", c.field)).collect();
            let listed: Vec<String> = refused.iter().map(|c| c.to_string()).collect();
            return Err(err(format!(
                "was made with another configuration: {}; resuming under it would not continue that run. To change it on purpose (fine-tuning), allow the fields: \"allow_config_changes\": [{}] or ResumePolicy::AllowChanges",
                listed.join("; "),
                fields.join(", ")
            )));
        }
        let previous = self.optimizer.state();
        self.optimizer.load_state(&ck.optimizer).map_err(|e| err(e.to_string()))?;
        if let Err(e) = self.network.load_state_dict(&ck.params) {
            self.optimizer.load_state(&previous).expect("the optimiser's own state loads back");
            return Err(err(e.to_string()));
        }
        self.network.set_rng_states(&ck.state.dropout_rngs)?;
        let s = ck.state;
        self.step = s.step;
        self.epoch = s.epoch;
        self.batch_in_epoch = s.batch_in_epoch;
        self.epoch_start_rng = s.epoch_start_rng;
        self.shuffle_rng = s.shuffle_rng.restore();
        self.early = s.early_stopping;
        self.finished = s.finished;
        self.stopped_early = s.stopped_early;
        self.history = s.history;
        self.best_params = ck.best_params;
        self.masks = ck.masks;
        self.last_checkpoint = Some(path.to_path_buf());
        Ok(())
    }
}
