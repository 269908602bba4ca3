//! `cargo xtask ...`: see [`xtask::cli`].

use std::process::ExitCode;

use clap::Parser;
use xtask::cli::{Cli, execute};

fn main() -> ExitCode {
    match execute(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
