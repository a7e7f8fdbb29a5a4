//! `tollbooth`: the command line of the plugin (serve, migrate, quote, …).

mod cli;
mod quote;
mod reconcile;
mod register;
mod report;
mod serve;
mod simulate;

use std::process::ExitCode;

// Why jemalloc, and its options: Cargo.toml and .cargo/config.toml.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    cli::main()
}
