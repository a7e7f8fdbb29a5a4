//! Argument parsing, configuration loading and exit codes (0 success, 2 bad arguments or
//! configuration, 1 any other failure).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tollbooth_core::config::{Config, LogFormat};
use tollbooth_core::store::{self, SiteStore, SqlStore};

#[derive(Parser)]
#[command(name = "tollbooth", version, about = "Training e-commerce for Webex and Zoom")]
struct Cli {
    /// Configuration file (default: ./tollbooth.toml when present).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the HTTP application; applies migrations first.
    Serve,
    /// Applies migrations and exits.
    Migrate,
    /// Prints the estimated session cost with the site's prices.
    Quote(crate::quote::QuoteArgs),
    /// Plays realistic signed sessions against a running server and compares its figures.
    Simulate(crate::simulate::SimulateArgs),
    /// Syncs manifest.json to Discord (commands) or to the platform (webhooks).
    #[command(subcommand)]
    Register(crate::register::Register),
    /// Prints a division's spend over a period, per session and in total.
    Report(crate::report::ReportArgs),
    /// Lists settled sessions beside the platforms' own figures, flagging differences.
    Reconcile(crate::reconcile::ReconcileArgs),
}

/// Why a command failed, and so which exit status it ends with.
pub enum Failure {
    /// Bad arguments or configuration: exit 2.
    Usage(String),
    /// Anything else: exit 1.
    Other(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Other(e.into())
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => return fail(Failure::Usage(format!("configuration: {e}"))),
    };
    init_logging(config.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => return fail(Failure::Other(e.into())),
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Serve => crate::serve::run(config).await,
            Command::Migrate => open_site(&config).await.map(|_| ()),
            Command::Quote(args) => crate::quote::run(args, &config).await,
            Command::Simulate(args) => crate::simulate::run(args, &config).await,
            Command::Register(what) => crate::register::run(what, &config).await,
            Command::Report(args) => crate::report::run(args, &config).await,
            Command::Reconcile(args) => crate::reconcile::run(args, &config).await,
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => fail(failure),
    }
}

fn fail(failure: Failure) -> ExitCode {
    match failure {
        Failure::Usage(reason) => {
            eprintln!("tollbooth: {reason}");
            ExitCode::from(2)
        }
        Failure::Other(error) => {
            eprintln!("tollbooth: {error:#}");
            ExitCode::from(1)
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// Opens and migrates the database, then brings the site in line with the configuration.
pub async fn open_site(config: &Config) -> Result<SqlStore, Failure> {
    let store =
        store::open_with(&config.database_url, config.database_deadline()).await.map_err(|e| {
            anyhow::Error::new(e)
                .context("database_url (TOLLBOOTH_DATABASE_URL): cannot open the database")
        })?;
    if store.apply_config(config.site.country, config.site.timezone, &config.prices()).await? {
        tracing::info!("site settings and prices taken from the configuration");
    }
    Ok(store)
}
