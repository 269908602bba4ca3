//! [`RunContext`]: what the runner hands an experiment — size, seed, output directory,
//! figure writing and progress reporting.

use std::path::{Path, PathBuf};

use dl_tensor::{TensorRng, seeded_rng};
use indicatif::ProgressBar;

use crate::error::ExperimentError;
use crate::experiment::Size;
use crate::fsio::write_atomic;
use crate::plot::LineChart;

/// The environment of one experiment run.
pub struct RunContext {
    size: Size,
    seed: u64,
    dir: PathBuf,
    figures: Vec<String>,
    bar: ProgressBar,
}

impl RunContext {
    /// A context writing into `dir` (which must exist), reporting progress on `bar`
    /// (`ProgressBar::hidden()` for none).
    pub fn new(size: Size, seed: u64, dir: PathBuf, bar: ProgressBar) -> Self {
        RunContext { size, seed, dir, figures: Vec::new(), bar }
    }

    /// Quick or full.
    pub fn size(&self) -> Size {
        self.size
    }

    /// The run's seed (`--seed`).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// A fresh ChaCha8 generator seeded with [`RunContext::seed`].
    pub fn rng(&self) -> TensorRng {
        seeded_rng(self.seed)
    }

    /// The experiment's output directory, `DIR/ID`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// File names of the figures written so far, in order.
    pub fn figures(&self) -> &[String] {
        &self.figures
    }

    /// Reports that `done` of `total` steps of this experiment are finished.
    pub fn progress(&self, done: u64, total: u64) {
        self.bar.set_length(total);
        self.bar.set_position(done);
    }

    /// Shows what the experiment is doing now (next to its progress bar).
    pub fn message(&self, msg: impl Into<String>) {
        self.bar.set_message(msg.into());
    }

    /// Renders `chart` to `DIR/ID/NAME.svg` (atomically) and records it as a figure.
    pub fn figure(&mut self, name: &str, chart: &LineChart) -> Result<(), ExperimentError> {
        let svg = chart.to_svg().map_err(|detail| ExperimentError::Plot { figure: name.to_string(), detail })?;
        self.write_svg(name, &svg)
    }

    /// Writes an already rendered SVG document as figure `NAME.svg`.
    pub fn write_svg(&mut self, name: &str, svg: &str) -> Result<(), ExperimentError> {
        let file = format!("{name}.svg");
        let path = self.dir.join(&file);
        write_atomic(&path, svg.as_bytes()).map_err(|source| ExperimentError::Io { path, source })?;
        if !self.figures.contains(&file) {
            self.figures.push(file);
        }
        Ok(())
    }
}
