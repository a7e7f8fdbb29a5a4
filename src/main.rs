//! `tollbooth`: the command line of the plugin (serve, migrate, quote, …).

mod cli;
mod quote;
mod reconcile;
mod register;
mod report;
mod serve;
mod simulate;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
