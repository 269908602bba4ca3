//! Progress display: an indicatif bar on a terminal, one plain line per epoch otherwise
//! (logs and CI), nothing when switched off.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// How training shows its progress.
pub(crate) enum Progress {
    Off,
    Bar(ProgressBar),
    Lines,
}

impl Progress {
    /// A bar over `total_steps` on a terminal, plain lines otherwise, or nothing.
    pub fn new(enabled: bool, total_steps: u64, done: u64) -> Self {
        if !enabled {
            return Progress::Off;
        }
        if !std::io::stderr().is_terminal() {
            return Progress::Lines;
        }
        let bar = ProgressBar::new(total_steps);
        let style =
            ProgressStyle::with_template("{bar:40} {pos}/{len} steps {msg} [{elapsed_precise} < {eta_precise}]")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_position(done);
        Progress::Bar(bar)
    }

    /// After each step.
    pub fn step(&self, loss: f64) {
        if let Progress::Bar(b) = self {
            b.inc(1);
            b.set_message(format!("loss {loss:.4}"));
        }
    }

    /// After each epoch.
    pub fn epoch(&self, line: &str) {
        match self {
            Progress::Off => {}
            Progress::Bar(b) => b.println(line),
            Progress::Lines => eprintln!("{line}"),
        }
    }

    /// At the end.
    pub fn finish(&self) {
        if let Progress::Bar(b) = self {
            b.finish_and_clear();
        }
    }
}
