//! The command line: `cargo xtask experiments [--list] [--only ID ...] [--quick] [--out DIR]
//! [--seed N] [--shard k/n | --shards n]` and `cargo xtask merge DIR... [--out DIR]`.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::error::RunError;
use crate::experiment::Size;
use crate::merge::merge;
use crate::registry;
use crate::runner::{RunOptions, run, select};
use crate::shard::{ShardSpec, assign};
use crate::share::run_share;

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
    /// Check the manifests of a sharded run's shares and combine them into one run's
    /// metrics, figures and index report.
    Merge(MergeArgs),
}

/// Options of `cargo xtask merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shares' output directories (each holding `shard-K-of-N.json` manifests).
    #[arg(value_name = "DIR", required = true, num_args = 1..)]
    pub dirs: Vec<PathBuf>,
    /// Output directory of the merged run (may be one of the shares' directories).
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub out: PathBuf,
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
    /// Run share k of n (k counts from 0) of the selected experiments and write its manifest
    /// `DIR/shard-k-of-n.json`; combine the shares with `cargo xtask merge`. Without it,
    /// the share is read from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX when set.
    #[arg(long, value_name = "k/n")]
    pub shard: Option<String>,
    /// The number of shares when the share index comes from SLURM_ARRAY_TASK_ID (instead of
    /// SLURM_ARRAY_TASK_COUNT) or from JOB_COMPLETION_INDEX (required there).
    #[arg(long, value_name = "n")]
    pub shards: Option<usize>,
}

/// Executes a parsed command line; returns the error to print on failure.
pub fn execute(cli: Cli) -> Result<(), RunError> {
    match cli.command {
        Command::Experiments(args) => experiments(args),
        Command::Merge(args) => {
            let records = merge(&registry::all(), &args.dirs, &args.out)?;
            println!("merged {} experiments from {} directories", records.len(), args.dirs.len());
            println!("report: {}", args.out.join("index.html").display());
            Ok(())
        }
    }
}

fn experiments(args: ExperimentsArgs) -> Result<(), RunError> {
    let all = registry::all();
    let mut chosen = select(&all, &args.only)?;
    let shard = ShardSpec::resolve(args.shard.as_deref(), args.shards, |name| std::env::var(name).ok())?;
    let size = if args.quick { Size::Quick } else { Size::Full };
    if args.list {
        if let Some(shard) = shard {
            let ids: Vec<&str> = chosen.iter().map(|e| e.id()).collect();
            let mine = &assign(&ids, shard.count, size)[shard.index];
            chosen.retain(|e| mine.iter().any(|id| id == e.id()));
        }
        let width = chosen.iter().map(|e| e.id().len()).max().unwrap_or(0);
        let swidth = chosen.iter().map(|e| e.section().len()).max().unwrap_or(0);
        for e in chosen {
            println!("{:width$}  {:swidth$}  {}", e.id(), e.section(), e.title());
        }
        return Ok(());
    }
    let opts = RunOptions {
        size,
        seed: args.seed,
        out: args.out,
        progress: std::io::stdout().is_terminal() && std::io::stderr().is_terminal(),
    };
    if let Some(shard) = shard {
        run_share(&chosen, shard, &opts)?;
        return Ok(());
    }
    run(&chosen, &opts)?;
    println!("report: {}", opts.out.join("index.html").display());
    Ok(())
}
