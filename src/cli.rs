//! Command-line interface: argument definitions and dispatch to the stages.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use crate::error::usage;
use crate::model::Period;
use crate::simulator::{self, DatasetSpec, FaultSpec};

#[derive(Debug, Parser)]
#[command(
    name = "vobiz-billing",
    version,
    about = "Monthly billing for Vobiz partners: extract, normalize, reconcile, invoice, report."
)]
pub struct Cli {
    /// Log format on stderr: text on a terminal, JSON otherwise, unless set.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Auto)]
    pub log_format: LogFormat,

    /// More detail in logs (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Auto,
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the built-in Vobiz API simulator (deterministic data, optional faults).
    Sim(SimArgs),
}

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub addr: SocketAddr,
    /// Seed of the generated dataset.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Number of customer accounts.
    #[arg(long, default_value_t = 50)]
    pub accounts: u32,
    /// Calls per active account over the period and its margins.
    #[arg(long, default_value_t = 200)]
    pub cdrs_per_account: u32,
    /// Billing period the data is centred on (YYYY-MM); default: last month.
    #[arg(long)]
    pub period: Option<Period>,
    /// Faults to inject: `none`, `all`, or e.g. `429=0.05,502=0.02,truncate=0.01,drift=0.3,seed=9`.
    #[arg(long, default_value = "none")]
    pub faults: FaultSpec,
    /// Write the generator's ground truth (per-account counts and exact sums) to this JSON file.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Give one customer a hostile name and address (HTML, Typst and formula markup).
    #[arg(long)]
    pub hostile_names: bool,
}

/// The month before the current one, in the default partner time zone.
pub fn last_month() -> Period {
    Period::containing(chrono::Utc::now(), chrono_tz::Asia::Kolkata).previous()
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Sim(args) => sim(args).await,
    }
}

async fn sim(args: SimArgs) -> anyhow::Result<ExitCode> {
    if args.accounts == 0 || args.accounts > 100_000 {
        return Err(usage(format!(
            "--accounts must be within 1..=100000, got {}",
            args.accounts
        )));
    }
    let period = args.period.unwrap_or_else(last_month);
    let mut spec = DatasetSpec::new(args.seed, args.accounts, args.cdrs_per_account, period);
    spec.hostile_names = args.hostile_names;
    let running = simulator::start(spec, args.faults, args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    if let Some(path) = &args.truth {
        let sim = running.sim.clone();
        let truth = tokio::task::spawn_blocking(move || simulator::truth::compute(&sim)).await?;
        let json = serde_json::to_vec_pretty(&truth)?;
        crate::output::write_atomic(path, &json)?;
        tracing::info!(path = %path.display(), accounts = truth.accounts.len(), "wrote ground truth");
    }
    tracing::info!(
        url = %running.base_url(),
        period = %period,
        auth_id = simulator::DEMO_PARTNER_AUTH_ID,
        "simulator listening"
    );
    println!("listening on {}", running.base_url());
    tokio::select! {
        r = running.wait() => r.context("simulator stopped")?,
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(ExitCode::SUCCESS)
}
