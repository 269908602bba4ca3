//! The command line: `cargo xtask experiments [--list] [--only ID ...] [--quick] [--out DIR]
//! [--seed N]`.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::error::RunError;
use crate::experiment::Size;
use crate::registry;
use crate::runner::{RunOptions, run, select};

/// Workspace tasks for dl-fundamentals.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
pub struct Cli {
    /// The task.
    #[command(subcommand)]
    pub command: Command,
}

/// The tasks.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the chapter experiments and write metrics, figures and an index report.
    Experiments(ExperimentsArgs),
}

/// Options of `cargo xtask experiments`.
#[derive(Debug, Args)]
pub struct ExperimentsArgs {
    /// Print every experiment's id, section and title, and run nothing.
    #[arg(long)]
    pub list: bool,
    /// Run only these experiments (repeatable, or several ids after one flag).
    #[arg(long, value_name = "ID", num_args = 1..)]
    pub only: Vec<String>,
    /// Quick size (seconds per experiment, as CI runs them) instead of the full size.
    #[arg(long)]
    pub quick: bool,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub out: PathBuf,
    /// Seed of every random draw.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
}

/// Executes a parsed command line; returns the error to print on failure.
pub fn execute(cli: Cli) -> Result<(), RunError> {
    match cli.command {
        Command::Experiments(args) => experiments(args),
    }
}

fn experiments(args: ExperimentsArgs) -> Result<(), RunError> {
    let all = registry::all();
    let chosen = select(&all, &args.only)?;
    if args.list {
        let width = chosen.iter().map(|e| e.id().len()).max().unwrap_or(0);
        let swidth = chosen.iter().map(|e| e.section().len()).max().unwrap_or(0);
        for e in chosen {
            println!("{:width$}  {:swidth$}  {}", e.id(), e.section(), e.title());
        }
        return Ok(());
    }
    let opts = RunOptions {
        size: if args.quick { Size::Quick } else { Size::Full },
        seed: args.seed,
        out: args.out,
        progress: std::io::stdout().is_terminal() && std::io::stderr().is_terminal(),
    };
    run(&chosen, &opts)?;
    println!("report: {}", opts.out.join("index.html").display());
    Ok(())
}
