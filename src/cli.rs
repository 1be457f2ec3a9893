//! Command-line interface: argument definitions and dispatch to the stages.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::{self, Config};
use crate::context::RunContext;
use crate::error::usage;
use crate::model::Period;
use crate::pipeline::{self, RunOptions};
use crate::simulator::dataset::Dataset;
use crate::simulator::{self, Anomalies, DatasetSpec, FaultSpec, Messy};

#[derive(Debug, Parser)]
#[command(
    name = "vobiz-billing",
    version,
    about = "Monthly billing for Vobiz partners: extract, normalize, reconcile, invoice, export, report."
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

pub use crate::logging::LogFormat;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every stage against the built-in simulator (no credentials, no network).
    Demo(DemoArgs),
    /// Run every stage against the Vobiz API (credentials from VOBIZ_AUTH_ID / VOBIZ_AUTH_TOKEN).
    Run(ApiArgs),
    /// Stage 1: page through the API and keep the raw pages under <out>/raw/.
    Extract(ApiArgs),
    /// Stage 2: turn the raw pages of a period into Parquet tables (offline).
    Normalize(StageArgs),
    /// Stage 3: check balances, calls, debits and analytics against each other (offline).
    Reconcile(StageArgs),
    /// Stage 4: GST invoices: drafts, issued once finalized, then credit/debit notes (offline).
    Invoice(StageArgs),
    /// Stage 5: GSTR-1 JSON, finance.xlsx, CSV of every table, call statements (offline).
    Export(StageArgs),
    /// The month's GSTR-1 alone, gstr1.json: every document dated in it (offline).
    Gstr1(StageArgs),
    /// Stage 6: write the partner's monthly report, report.html (offline).
    Report(StageArgs),
    /// Issue the period's draft invoices now: numbered, frozen (offline; the period must be over)
    Finalize(StageArgs),
    /// Serve the built-in Vobiz API simulator (deterministic data, optional faults).
    Sim(SimArgs),
}

/// Options every stage takes.
#[derive(Debug, Clone, clap::Args)]
pub struct StageArgs {
    /// Billing period, YYYY-MM, cut in the partner's time zone.
    #[arg(long)]
    pub period: Period,
    /// Output root.
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
    /// TOML configuration file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// `--out` as given, when `out` is a workspace standing in for a store (for messages).
    #[arg(skip)]
    pub shown_out: Option<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ApiArgs {
    #[command(flatten)]
    pub stage: StageArgs,
    /// Vobiz API base URL [env: VOBIZ_BASE_URL; default from config, else https://api.vobiz.ai].
    #[arg(long)]
    pub base_url: Option<String>,
    /// Check the config, period, credentials and API, say what would be done, write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Billing period, YYYY-MM; default: last month.
    #[arg(long)]
    pub period: Option<Period>,
    /// Output root.
    #[arg(long, default_value = "reports")]
    pub out: PathBuf,
    /// TOML configuration file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Seed of the simulated data.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Simulated customer accounts.
    #[arg(long, default_value_t = 50)]
    pub accounts: u32,
    /// Simulated calls per active account.
    #[arg(long, default_value_t = 400)]
    pub cdrs_per_account: u32,
    /// Faults for the simulator to inject (see `sim --faults`).
    #[arg(long, default_value = "none")]
    pub faults: FaultSpec,
    /// Discrepancies for the simulator to plant (see `sim --anomalies`).
    #[arg(long, default_value = "none")]
    pub anomalies: Anomalies,
    /// Serve the clean dataset (every ledger row completed, customer text canonical, even
    /// usage) instead of the messy default (see `sim --messy`, which needs 40 accounts).
    #[arg(long)]
    pub clean: bool,
    /// Give one customer a hostile name and address (HTML, Typst and formula markup).
    #[arg(long)]
    pub hostile_names: bool,
    /// `--out` as given, when `out` is a workspace standing in for a store (for messages).
    #[arg(skip)]
    pub shown_out: Option<String>,
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
    /// Discrepancies to plant, one account each: `none`, `all`, or a list of missing-debit,
    /// duplicate-debit, paisa, balance-jump, currency, orphan.
    #[arg(long, default_value = "none")]
    pub anomalies: Anomalies,
    /// Serve the period as it reads a week after month end: late calls, a refunded call, one
    /// account's charges reversed, a re-rated call.
    #[arg(long)]
    pub late: bool,
    /// Serve data as it really comes (needs at least 40 accounts): heavy-tailed usage, accounts
    /// opened and closed mid-month, failed/pending/cancelled ledger rows, refunds of billed calls
    /// and charges, state names and GSTINs as people type them, malformed money.
    #[arg(long)]
    pub messy: bool,
}

/// Help and version go to stdout as clap prints them; a bad argument becomes one line on
/// stderr and exit code 2, like every other input error.
pub fn argument_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::from(if e.use_stderr() { crate::error::EXIT_USAGE } else { 0 })
        }
        _ => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("error: {}", first.trim_start_matches("error: "));
            ExitCode::from(crate::error::EXIT_USAGE)
        }
    }
}

/// A messy dataset plants its roles in accounts from index 8 on, one each.
pub const MESSY_MIN_ACCOUNTS: u32 = 40;

fn check_messy_room(accounts: u32, messy: bool) -> anyhow::Result<()> {
    if messy && accounts < MESSY_MIN_ACCOUNTS {
        return Err(usage(format!(
            "--messy needs at least {MESSY_MIN_ACCOUNTS} accounts, got {accounts}"
        )));
    }
    Ok(())
}

/// Anomalies are planted in active accounts from index 7 on, one each.
fn check_anomaly_room(accounts: u32, anomalies: &simulator::Anomalies) -> anyhow::Result<()> {
    let needed = 7 + 2 * anomalies.0.len() as u32;
    if !anomalies.0.is_empty() && accounts < needed {
        return Err(usage(format!(
            "--anomalies needs at least {needed} accounts, got {accounts}"
        )));
    }
    Ok(())
}

/// The month before the current one, in the default partner time zone.
pub fn last_month() -> Period {
    Period::containing(chrono::Utc::now(), chrono_tz::Asia::Kolkata).previous()
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let progress = show_progress(cli.log_format);
    let mut command = cli.command;
    let Some(target) = command.output() else {
        return dispatch(command, progress).await;
    };
    let store = match crate::remote::Out::parse(target.out)? {
        crate::remote::Out::Local(path) => {
            *target.out = path;
            return dispatch(command, progress).await;
        }
        crate::remote::Out::Store(store) => store,
    };
    if target.dry_run {
        crate::remote::check_reachable(&store).await?;
        return dispatch(command, progress).await;
    }
    on_store(command, store, progress).await
}

/// A command whose `--out` is an object store: run it on a workspace filled from the store,
/// under the period's lease, and publish what it wrote if it succeeded (exit 0, or 3 with
/// every report written). A failed command publishes nothing.
async fn on_store(mut command: Command, store: crate::remote::Store, progress: bool) -> anyhow::Result<ExitCode> {
    use crate::remote::sync::{Needs, Session};
    let target = command.output().expect("a command with --out");
    let needs = Needs { raw: target.reads_raw };
    let url = store.url().to_string();
    let mut session = Session::open(store, target.period, needs).await?;
    *target.out = session.root().to_path_buf();
    *target.shown_out = Some(url.clone());
    let outcome = dispatch(command, progress).await;
    let outcome = match outcome {
        Ok(code) if code == ExitCode::SUCCESS || code == ExitCode::from(crate::error::EXIT_EXCEPTIONS) => {
            session.publish().await.map(|p| {
                println!(
                    "published to {url}: {} object(s), {} bytes; {} removed",
                    p.uploaded, p.bytes, p.deleted
                );
                code
            })
        }
        other => {
            if other.is_ok() {
                tracing::warn!(store = %url, "the command did not succeed: nothing was published");
            }
            other
        }
    };
    session.close().await;
    outcome
}

/// What `run` needs to know of a command's output root.
struct Output<'a> {
    out: &'a mut PathBuf,
    shown_out: &'a mut Option<String>,
    period: Period,
    dry_run: bool,
    /// The command reads the period's raw pages (normalize alone).
    reads_raw: bool,
}

impl Command {
    /// The command's `--out`, and the period it works on; `None` for `sim`.
    fn output(&mut self) -> Option<Output<'_>> {
        let (stage, dry_run, reads_raw) = match self {
            Command::Demo(args) => {
                // The demo's default period, fixed now so that the lease and the run agree.
                let period = *args.period.get_or_insert_with(last_month);
                return Some(Output {
                    out: &mut args.out,
                    shown_out: &mut args.shown_out,
                    period,
                    dry_run: false,
                    reads_raw: false,
                });
            }
            Command::Run(args) | Command::Extract(args) => (&mut args.stage, args.dry_run, false),
            Command::Normalize(args) => (args, false, true),
            Command::Reconcile(args)
            | Command::Invoice(args)
            | Command::Export(args)
            | Command::Gstr1(args)
            | Command::Report(args)
            | Command::Finalize(args) => (args, false, false),
            Command::Sim(_) => return None,
        };
        Some(Output {
            period: stage.period,
            out: &mut stage.out,
            shown_out: &mut stage.shown_out,
            dry_run,
            reads_raw,
        })
    }
}

async fn dispatch(command: Command, progress: bool) -> anyhow::Result<ExitCode> {
    match command {
        Command::Demo(args) => demo(args, progress).await,
        Command::Run(args) => {
            let opts = api_options(&args, progress)?;
            if args.dry_run {
                println!("{}", pipeline::dry_run(&opts).await?);
                return Ok(ExitCode::SUCCESS);
            }
            let summary = shown(pipeline::run(&opts).await?, &args.stage.shown_out);
            println!("{summary}");
            Ok(exit_for(&summary))
        }
        Command::Extract(args) => {
            let opts = api_options(&args, progress)?;
            if args.dry_run {
                println!("{}", pipeline::dry_run(&opts).await?);
                return Ok(ExitCode::SUCCESS);
            }
            pipeline::extract_only(&opts).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Normalize(args) => {
            let (ctx, _lock) = offline(args)?;
            pipeline::normalize(&ctx).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Reconcile(args) => {
            let (ctx, _lock) = offline(args)?;
            let report = tokio::task::spawn_blocking(move || pipeline::reconcile(&ctx)).await??;
            Ok(exit_for(&pipeline::RunSummary {
                reconciliation_errors: report.errors,
                ..Default::default()
            }))
        }
        Command::Invoice(args) => {
            let (ctx, _lock) = offline(args)?;
            tokio::task::spawn_blocking(move || pipeline::invoice(&ctx)).await??;
            Ok(ExitCode::SUCCESS)
        }
        Command::Export(args) => {
            let (ctx, _lock) = offline(args)?;
            tokio::task::spawn_blocking(move || pipeline::export(&ctx)).await??;
            Ok(ExitCode::SUCCESS)
        }
        Command::Gstr1(args) => {
            let args_shown = args.shown_out.clone();
            let (ctx, _lock) = offline(args)?;
            let path = match &args_shown {
                Some(root) => format!("{root}/{}/gstr1.json", ctx.period),
                None => ctx.layout.gstr1_json(ctx.period).display().to_string(),
            };
            let counts = tokio::task::spawn_blocking(move || crate::export::run_gstr1(&ctx)).await??;
            let filed: Vec<String> = counts
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(t, n)| format!("{t} {n}"))
                .collect();
            println!("{path}: {}", filed.join(", "));
            Ok(ExitCode::SUCCESS)
        }
        Command::Report(args) => {
            let (ctx, _lock) = offline(args)?;
            tokio::task::spawn_blocking(move || pipeline::report(&ctx)).await??;
            Ok(ExitCode::SUCCESS)
        }
        Command::Finalize(args) => {
            let (ctx, _lock) = offline(args)?;
            let report = tokio::task::spawn_blocking(move || pipeline::finalize(&ctx)).await??;
            println!(
                "{}: {} invoice(s) issued, {} in all for the period",
                report.stage_line(),
                report.issued.len(),
                report.numbers.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Sim(args) => sim(args).await,
    }
}

/// The context of an offline stage, which holds the period's lock as a full run does.
fn offline(args: StageArgs) -> anyhow::Result<(RunContext, crate::lock::PeriodLock)> {
    let cfg = Config::load(args.config.as_deref())?;
    let mut ctx = pipeline::offline_context(args.out, args.period, cfg);
    if let Some(day) = today_override()? {
        ctx.today = day;
    }
    let lock = crate::lock::PeriodLock::acquire(&ctx.layout, ctx.period)?;
    Ok((ctx, lock))
}

/// `VOBIZ_BILLING_TODAY=YYYY-MM-DD` replays a run as of another day (tests, and re-running
/// what cron would have done): the date documents issued now carry.
pub const TODAY_ENV: &str = "VOBIZ_BILLING_TODAY";

fn today_override() -> anyhow::Result<Option<chrono::NaiveDate>> {
    match std::env::var(TODAY_ENV) {
        Ok(v) if !v.is_empty() => chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| usage(format!("{TODAY_ENV} must be a date YYYY-MM-DD, got {v:?}"))),
        _ => Ok(None),
    }
}

/// A run's summary naming the output root as the user gave it (a store's URL, not the
/// workspace that stood in for it).
fn shown(mut summary: pipeline::RunSummary, shown_out: &Option<String>) -> pipeline::RunSummary {
    if let Some(root) = shown_out {
        summary.out = PathBuf::from(root);
    }
    summary
}

/// Exit code 3 when reconciliation found errors (after every report was written).
fn exit_for(summary: &pipeline::RunSummary) -> ExitCode {
    if summary.reconciliation_errors > 0 {
        tracing::warn!(
            errors = summary.reconciliation_errors,
            "reconciliation exceptions above tolerance"
        );
        ExitCode::from(crate::error::EXIT_EXCEPTIONS)
    } else {
        ExitCode::SUCCESS
    }
}

/// Progress bars only for a person watching a terminal.
fn show_progress(format: LogFormat) -> bool {
    use std::io::IsTerminal;
    format != LogFormat::Json && std::io::stderr().is_terminal()
}

fn api_options(args: &ApiArgs, progress: bool) -> anyhow::Result<RunOptions> {
    let cfg = Config::load(args.stage.config.as_deref())?;
    let base = args
        .base_url
        .clone()
        .or_else(|| std::env::var("VOBIZ_BASE_URL").ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| cfg.api.base_url.clone());
    let base_url = config::parse_base_url(&base)?;
    let (auth_id, auth_token) = config::credentials_from_env()?;
    Ok(RunOptions {
        period: args.stage.period,
        out: args.stage.out.clone(),
        config: cfg,
        base_url,
        auth_id,
        auth_token,
        progress,
        today: today_override()?,
    })
}

/// The demo shows a month's whole document lifecycle on the simulator, as a finance team
/// lives it, on simulated days: the run after month end gives drafts; finalize issues the
/// invoices (dated the period's last day); a week later the API shows late activity (late
/// calls, a refund, an account's charges reversed, a re-rated call) and a run corrects the
/// issued invoices with credit and debit notes. A demo of an output root whose period is
/// already finalized goes straight to the correction run, which then issues nothing new.
/// A period not over yet gets drafts only.
async fn demo(args: DemoArgs, progress: bool) -> anyhow::Result<ExitCode> {
    let mut cfg = Config::load(args.config.as_deref())?;
    // The demo invoices as a fictitious Bengaluru partner unless the config names a supplier.
    cfg.supplier.get_or_insert_with(config::SupplierConfig::demo);
    let period = args.period.unwrap_or_else(last_month);
    let probe = RunContext::new(period, &args.out, cfg.clone());
    pipeline::check_period(&probe)?;
    check_anomaly_room(args.accounts, &args.anomalies)?;
    if !args.clean && args.accounts < MESSY_MIN_ACCOUNTS {
        return Err(usage(format!(
            "the demo's messy month needs at least {MESSY_MIN_ACCOUNTS} accounts, got {}; pass --clean for a smaller, clean one",
            args.accounts
        )));
    }
    let end = period.last_day();
    let over = probe.today > end;
    let day = |n: u64| end + chrono::Days::new(n);
    let mut spec = DatasetSpec::new(args.seed, args.accounts, args.cdrs_per_account, period);
    spec.anomalies = args.anomalies.0;
    spec.messy = !args.clean;
    spec.hostile_names = args.hostile_names;
    // The API has no SEZ field: the demo's partner names its SEZ customer in the config, as a
    // real partner would.
    if spec.messy
        && let Some(sez) = Dataset::generate(spec.clone()).messy_account(Messy::Sez)
        && !cfg.invoice.sez_under_lut.contains(&sez.auth_id)
        && !cfg.invoice.sez_with_payment.contains(&sez.auth_id)
    {
        cfg.invoice.sez_with_payment.push(sez.auth_id.clone());
    }
    let simulate = |spec: DatasetSpec, today: Option<chrono::NaiveDate>| {
        let faults = args.faults.clone();
        let cfg = cfg.clone();
        let out = args.out.clone();
        let shown_out = args.shown_out.clone();
        async move {
            let sim = simulator::start(spec, faults, "127.0.0.1:0".parse().expect("literal address"))
                .await
                .context("cannot start the simulator")?;
            tracing::info!(url = %sim.base_url(), %period, ?today, "simulator started for the demo");
            let opts = RunOptions {
                period,
                out,
                config: cfg,
                base_url: config::parse_base_url(&sim.base_url())?,
                auth_id: simulator::DEMO_PARTNER_AUTH_ID.into(),
                auth_token: simulator::DEMO_PARTNER_AUTH_TOKEN.into(),
                progress,
                today,
            };
            let result = pipeline::run(&opts).await;
            sim.shutdown().await.ok();
            result.map(|summary| shown(summary, &shown_out))
        }
    };
    if !over {
        let summary = simulate(spec, None).await?;
        println!("{summary}");
        return Ok(exit_for(&summary));
    }
    let supplier_gstin = cfg.supplier.as_ref().map(|s| s.gstin.clone()).unwrap_or_default();
    if !crate::invoice::register::is_finalized(&probe.layout, &supplier_gstin, period)? {
        let drafts = simulate(spec.clone(), Some(day(1))).await?;
        println!("{} (day 1 after month end: drafts for review)", drafts);
        let mut ctx = pipeline::offline_context(args.out.clone(), period, cfg.clone());
        ctx.today = day(2);
        let finalized = tokio::task::spawn_blocking(move || {
            let _lock = crate::lock::PeriodLock::acquire(&ctx.layout, ctx.period)?;
            pipeline::finalize(&ctx)
        })
        .await??;
        println!(
            "{period}: finalized on {}: {} invoices issued, dated {}",
            day(2),
            finalized.issued.len(),
            end
        );
    }
    spec.late = true;
    let corrected = simulate(spec, Some(day(9))).await?;
    println!("{corrected} (day 9: the API shows late activity; issued invoices corrected by notes)");
    Ok(exit_for(&corrected))
}

async fn sim(args: SimArgs) -> anyhow::Result<ExitCode> {
    if args.accounts == 0 || args.accounts > 100_000 {
        return Err(usage(format!(
            "--accounts must be within 1..=100000, got {}",
            args.accounts
        )));
    }
    let period = args.period.unwrap_or_else(last_month);
    check_anomaly_room(args.accounts, &args.anomalies)?;
    check_messy_room(args.accounts, args.messy)?;
    let mut spec = DatasetSpec::new(args.seed, args.accounts, args.cdrs_per_account, period);
    spec.hostile_names = args.hostile_names;
    spec.anomalies = args.anomalies.0;
    spec.late = args.late;
    spec.messy = args.messy;
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
