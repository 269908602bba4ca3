//! [`RunContext`]: what the runner hands an experiment — size, seed, output directory,
//! figure writing and progress reporting (a bar on a terminal; plain lines with the elapsed
//! time and an estimate of the remainder when the output is a pipe or a log).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
    lines: Option<LineProgress>,
}

/// Plain progress lines for one experiment (output without a terminal): a line when the
/// stage ([`RunContext::message`]) changes and, while [`RunContext::progress`] advances,
/// at most one every [`LineProgress::EVERY`], each with the elapsed time and an estimate
/// of the remainder (elapsed x (total - done) / done).
pub struct LineProgress {
    id: String,
    start: Instant,
    /// Shared by the parallel runs of [`crate::replicates::par_map`], hence a lock.
    state: Mutex<LineState>,
}

/// What [`LineProgress`] has seen so far.
#[derive(Default)]
struct LineState {
    last_line: Option<Instant>,
    stage: String,
    done: (u64, u64),
}

impl LineProgress {
    /// The least time between two lines of the same stage.
    pub const EVERY: Duration = Duration::from_secs(5);
    /// The least time between two lines of different stages.
    pub const STAGE_EVERY: Duration = Duration::from_secs(1);

    /// Lines for experiment `id`, timed from now.
    pub fn new(id: &str) -> Self {
        LineProgress { id: id.to_string(), start: Instant::now(), state: Mutex::new(LineState::default()) }
    }

    /// The line describing the state now: `id: stage, 3/10, elapsed 4.2 s, about 9.8 s left`.
    pub fn line(&self) -> String {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.line_of(&state)
    }

    fn line_of(&self, state: &LineState) -> String {
        let elapsed = self.start.elapsed().as_secs_f64();
        let (done, total) = state.done;
        let mut s = format!("    {}:", self.id);
        let stage = &state.stage;
        if !stage.is_empty() {
            s.push_str(&format!(" {stage},"));
        }
        if total > 0 {
            s.push_str(&format!(" {done}/{total},"));
        }
        s.push_str(&format!(" elapsed {elapsed:.1} s"));
        if done > 0 && total >= done {
            s.push_str(&format!(", about {:.1} s left", elapsed * (total - done) as f64 / done as f64));
        }
        s
    }

    fn emit_if(&self, state: &mut LineState, min_gap: Duration) {
        let due = state.last_line.is_none_or(|t| t.elapsed() >= min_gap);
        if due {
            println!("{}", self.line_of(state));
            state.last_line = Some(Instant::now());
        }
    }

    fn message(&self, msg: &str) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.stage != msg {
            state.stage = msg.to_string();
            self.emit_if(&mut state, Self::STAGE_EVERY);
        }
    }

    fn progress(&self, done: u64, total: u64) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.done = (done, total);
        self.emit_if(&mut state, Self::EVERY);
    }
}

impl RunContext {
    /// A context writing into `dir` (which must exist), reporting progress on `bar`
    /// (`ProgressBar::hidden()` for none).
    pub fn new(size: Size, seed: u64, dir: PathBuf, bar: ProgressBar) -> Self {
        RunContext { size, seed, dir, figures: Vec::new(), bar, lines: None }
    }

    /// Also reports progress as plain lines on stdout (for output that is not a terminal).
    pub fn with_lines(mut self, lines: LineProgress) -> Self {
        self.lines = Some(lines);
        self
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

    /// The seeds of `n` independent replicates (repetitions of a random experiment over
    /// seeds): replicate 0 is the run seed itself, so a one-seed experiment keeps its
    /// numbers; replicate `r > 0` is [`derive_seed`]`(seed, "replicate", r)`.
    pub fn replicate_seeds(&self, n: usize) -> Vec<u64> {
        (0..n).map(|r| if r == 0 { self.seed } else { derive_seed(self.seed, "replicate", r as u64) }).collect()
    }

    /// The seed of one point of a sweep, derived from the run seed and the point's key (not
    /// from the order in which points run): see [`derive_seed`].
    pub fn point_seed(&self, key: &str, index: u64) -> u64 {
        derive_seed(self.seed, key, index)
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
        if let Some(l) = &self.lines {
            l.progress(done, total);
        }
    }

    /// Shows what the experiment is doing now (next to its progress bar).
    pub fn message(&self, msg: impl Into<String>) {
        let msg = msg.into();
        if let Some(l) = &self.lines {
            l.message(&msg);
        }
        self.bar.set_message(msg);
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

/// A seed derived from a run seed, a key and an index: SplitMix64 over the run seed, the
/// FNV-1a hash of the key and the index. Distinct keys or indices give unrelated streams;
/// the result depends on nothing else (not on thread count or execution order).
pub fn derive_seed(seed: u64, key: &str, index: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut z = splitmix(seed ^ splitmix(h ^ splitmix(index)));
    z ^= z >> 31;
    z
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_seeds_differ_by_key_and_index_and_are_stable() {
        let a = derive_seed(0, "replicate", 1);
        assert_eq!(a, derive_seed(0, "replicate", 1));
        assert_ne!(a, derive_seed(0, "replicate", 2));
        assert_ne!(a, derive_seed(0, "width", 1));
        assert_ne!(a, derive_seed(1, "replicate", 1));
        let ctx = RunContext::new(Size::Quick, 42, PathBuf::from("."), ProgressBar::hidden());
        let seeds = ctx.replicate_seeds(3);
        assert_eq!(seeds[0], 42);
        assert_eq!(seeds[1], derive_seed(42, "replicate", 1));
        assert_ne!(seeds[1], seeds[2]);
    }

    #[test]
    fn plain_lines_show_the_stage_the_progress_and_the_remainder() {
        let l = LineProgress::new("exp");
        assert!(l.line().starts_with("    exp: elapsed "), "{}", l.line());
        l.message("width 64");
        l.progress(1, 4);
        let line = l.line();
        assert!(line.starts_with("    exp: width 64, 1/4, elapsed ") && line.contains("s left"), "{line}");
        // the estimate: elapsed x 3 remaining / 1 done
        let elapsed: f64 = line.split("elapsed ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        let left: f64 = line.split("about ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        assert!((left - 3.0 * elapsed).abs() <= 0.3, "{line}");
    }
}
