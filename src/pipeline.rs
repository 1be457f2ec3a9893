//! The stages in order, and the checks that guard a run: the period, the credentials, the
//! API's reachability. Stages communicate through files under the output root, with one
//! exception: in `run`, extract hands normalize the rows it already parsed from each page
//! (the same rows normalize would read back from `raw/`), so that no page is parsed twice.

use std::path::PathBuf;

use anyhow::Context;
use chrono::Utc;
use serde::Serialize;

use crate::api::client::{ApiClient, Auth, Secret};
use crate::api::wire::ProfileWire;
use crate::config::Config;
use crate::context::{ApiAccess, RunContext};
use crate::error::usage;
use crate::layout::{RawEndpoint, Table};
use crate::model::{AccountId, Period};
use crate::render::Renderer;
use crate::{extract, manifest, normalize, reconcile};

/// What the command line asks of a run against the API.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub period: Period,
    pub out: PathBuf,
    pub config: Config,
    pub base_url: reqwest::Url,
    pub auth_id: String,
    pub auth_token: String,
    pub progress: bool,
    /// Run as of this day (partner's time zone) instead of the clock's.
    pub today: Option<chrono::NaiveDate>,
}

impl RunOptions {
    /// The run's context, built once.
    pub fn context(&self) -> RunContext {
        let mut ctx = RunContext::new(self.period, &self.out, self.config.clone());
        ctx.progress = self.progress;
        if let Some(day) = self.today {
            ctx.today = day;
        }
        ctx
    }

    pub fn access(&self) -> ApiAccess {
        ApiAccess {
            base_url: self.base_url.clone(),
            auth_id: self.auth_id.clone(),
            token: Secret::new(self.auth_token.clone()),
        }
    }
}

#[derive(Debug, Serialize)]
struct Inputs<'a> {
    base_url: String,
    partner: &'a str,
    time_zone: &'a str,
    currency: &'a str,
    period_start: String,
    period_end: String,
}

/// A period may be the current (unfinished) month, never a future one.
pub fn check_period(ctx: &RunContext) -> anyhow::Result<()> {
    let now = Utc::now();
    if ctx.start > now {
        return Err(usage(format!("period {} is in the future", ctx.period)));
    }
    if ctx.end > now {
        tracing::warn!(period = %ctx.period, "the period is not over yet: figures will be partial");
    }
    Ok(())
}

/// The partner's profile, `GET /partner/me`: its raw body (kept by extract) and display name.
pub struct Profile {
    pub body: Vec<u8>,
    pub name: String,
}

/// Ask the API who we are before anything is written: bad credentials or an unreachable API
/// fail here and leave the output root untouched. The only request for the profile in a run.
pub async fn preflight(client: &ApiClient) -> anyhow::Result<Profile> {
    let (body, name) = client
        .get("/api/v1/partner/me", &[], Auth::Partner, |b| {
            serde_json::from_slice::<ProfileWire>(b).map(|p| p.company.unwrap_or(p.name).into_owned())
        })
        .await?;
    Ok(Profile { body, name })
}

/// Extract the period, with the profile preflight fetched.
pub async fn extract(
    ctx: &RunContext,
    access: &ApiAccess,
    client: ApiClient,
    profile: &Profile,
    events: Option<extract::Events>,
) -> anyhow::Result<extract::Report> {
    let layout = &ctx.layout;
    tracing::info!(period = %ctx.period, base_url = %access.base_url, "extract started");
    let report = extract::run(std::sync::Arc::new(client), ctx, &profile.body, events).await?;
    manifest::update(
        layout,
        ctx.period,
        "inputs",
        &Inputs {
            base_url: access.base_url.to_string(),
            partner: &access.auth_id,
            time_zone: &ctx.config.partner.time_zone,
            currency: &ctx.currency,
            period_start: ctx.start.to_rfc3339(),
            period_end: ctx.end.to_rfc3339(),
        },
    )?;
    manifest::update(layout, ctx.period, "extract", &report)?;
    if !report.failed.is_empty() {
        let names: Vec<String> = report.failed.iter().map(|(a, why)| format!("{a} ({why})")).collect();
        anyhow::bail!(
            "{} account(s) could not be extracted: {}",
            names.len(),
            names.join("; ")
        );
    }
    tracing::info!(
        accounts = report.accounts,
        cdrs = report.cdr_rows,
        ledger_rows = report.ledger_rows,
        requests = report.requests,
        retries = report.retries,
        seconds = format!("{:.2}", report.seconds),
        "extract finished"
    );
    Ok(report)
}

/// The `extract` command: preflight, then extract alone.
pub async fn extract_only(opts: &RunOptions) -> anyhow::Result<extract::Report> {
    let ctx = opts.context();
    check_period(&ctx)?;
    let access = opts.access();
    let client = access.client(&ctx.config)?;
    let profile = preflight(&client).await?;
    let _lock = crate::lock::PeriodLock::acquire(&ctx.layout, ctx.period)?;
    extract(&ctx, &access, client, &profile, None).await
}

/// A context for the offline stages: the partner's name from the profile extract kept.
pub fn offline_context(out: PathBuf, period: Period, cfg: Config) -> RunContext {
    let mut ctx = RunContext::new(period, out, cfg);
    ctx.partner = partner_name(&ctx);
    ctx
}

pub async fn normalize(ctx: &RunContext) -> anyhow::Result<normalize::Report> {
    let c2 = ctx.clone();
    let report = tokio::task::spawn_blocking(move || normalize::run(&c2))
        .await
        .context("normalize task")??;
    manifest::update(&ctx.layout, ctx.period, "normalize", &report)?;
    let rows: u64 = report.tables.values().map(|t| t.rows).sum();
    tracing::info!(
        rows,
        rejects = report.rejects.len(),
        seconds = format!("{:.2}", report.seconds),
        "normalize finished"
    );
    Ok(report)
}

/// Normalize accounts in order as extract hands them over, from the rows extract already
/// parsed. `Ok(None)` when extract stopped before every account was done (its own error says
/// why). Nothing is replaced here: the caller finishes the normalizer only once extract has
/// succeeded as a whole, since an account extract refused (say, an invalid id) is never
/// listed to normalize at all.
fn normalize_as_extracted(
    ctx: &RunContext,
    mut events: tokio::sync::mpsc::UnboundedReceiver<extract::Event>,
) -> anyhow::Result<Option<normalize::Normalizer>> {
    use extract::Event;
    // Accounts that arrived before their turn; extract's hand-off slots bound how many.
    let mut waiting = std::collections::HashMap::new();
    loop {
        match events.blocking_recv() {
            Some(Event::Listed) => break,
            Some(Event::Account(_)) => {}
            Some(Event::AccountFailed(_)) | None => return Ok(None),
        }
    }
    let mut n = normalize::Normalizer::open(ctx)?;
    let ids = n.account_ids();
    // An account normalize does not list (its account row is rejected) is released at once:
    // held, it would keep a hand-off slot forever.
    let listed: std::collections::HashSet<&AccountId> = ids.iter().collect();
    for id in &ids {
        let done = loop {
            if let Some(x) = waiting.remove(id) {
                break x;
            }
            match events.blocking_recv() {
                Some(Event::Account(x)) if listed.contains(&x.id) => {
                    waiting.insert(x.id.clone(), x);
                }
                Some(Event::Account(_) | Event::Listed) => {}
                // The run fails, naming the account; returning drops what waits here, so
                // extract is never kept waiting for a slot.
                Some(Event::AccountFailed(_)) | None => return Ok(None),
            }
        };
        match done.rows {
            extract::Handed::Whole(rows) => n.add_account_rows(id, rows)?,
            extract::Handed::Stream(stream) => n.add_account_stream(id, stream)?,
        }
    }
    Ok(Some(n))
}

/// Reconcile a period from its Parquet and write `reconciliation.html`.
pub fn reconcile(ctx: &RunContext) -> anyhow::Result<reconcile::Report> {
    Ok(reconcile_outcome(ctx)?.report)
}

fn reconcile_outcome(ctx: &RunContext) -> anyhow::Result<reconcile::Outcome> {
    let outcome = reconcile::run(ctx)?;
    reconciliation_html(ctx, &outcome)?;
    crate::crashpoint::here("reconcile.written");
    manifest::update(&ctx.layout, ctx.period, "reconcile", &outcome.report)?;
    let r = &outcome.report;
    tracing::info!(
        accounts = r.accounts,
        errors = r.errors,
        warnings = r.warnings,
        notes = r.notes,
        "reconcile finished"
    );
    Ok(outcome)
}

/// `reconciliation.html`, with the period's issued documents as the invoice stage last left
/// them (none before a period is first invoiced).
fn reconciliation_html(ctx: &RunContext, outcome: &reconcile::Outcome) -> anyhow::Result<()> {
    let documents = if ctx.layout.parquet_file(Table::Documents, ctx.period).exists() {
        crate::store::read::all::<crate::store::invoices::DocumentRow>(&ctx.layout, ctx.period)?
    } else {
        Vec::new()
    };
    let html = reconcile::html::render(&Renderer::new()?, ctx, &outcome.checks, &outcome.exceptions, &documents)?;
    crate::output::write_atomic(&ctx.layout.reconciliation_html(ctx.period), html.as_bytes())
}

/// `finalize`: the period's draft invoices issued now (the period must be over), then the
/// reconciliation page and the report, so that both show the issued documents.
pub fn finalize(ctx: &RunContext) -> anyhow::Result<crate::invoice::Report> {
    let mut ctx = ctx.clone();
    ctx.finalize = true;
    let outcome = reconcile_outcome(&ctx)?;
    let issued = invoice(&ctx)?;
    reconciliation_html(&ctx, &outcome)?;
    export(&ctx)?;
    report(&ctx)?;
    Ok(issued)
}

/// Issue the period's GST invoices (HTML and PDF) and their tables.
pub fn invoice(ctx: &RunContext) -> anyhow::Result<crate::invoice::Report> {
    let report = crate::invoice::run(ctx)?;
    manifest::update(&ctx.layout, ctx.period, "invoice", &report)?;
    tracing::info!(
        stage = report.stage_line(),
        invoices = report.invoices,
        issued = report.issued.len(),
        credit_notes = report.credit_notes.len(),
        debit_notes = report.debit_notes.len(),
        total = %report.total,
        "invoice finished"
    );
    Ok(report)
}

/// What finance files and opens: GSTR-1, the workbook, CSV, call statements.
pub fn export(ctx: &RunContext) -> anyhow::Result<crate::export::Report> {
    let report = crate::export::run(ctx)?;
    manifest::update(&ctx.layout, ctx.period, "export", &report)?;
    tracing::info!(
        statements = report.statements,
        seconds = format!("{:.2}", report.seconds),
        "export finished"
    );
    Ok(report)
}

/// Write the partner's monthly report, `report.html`, from the period's tables.
pub fn report(ctx: &RunContext) -> anyhow::Result<crate::report::Report> {
    let report = crate::report::run(ctx)?;
    crate::crashpoint::here("report.written");
    manifest::update(&ctx.layout, ctx.period, "report", &report)?;
    tracing::info!(customers = report.customers, calls = report.calls, "report finished");
    Ok(report)
}

/// The partner's name as the profile extract kept gives it (for report headers), when the
/// offline stages run without the API.
fn partner_name(ctx: &RunContext) -> String {
    let path = ctx.layout.raw_partner(ctx.period, RawEndpoint::Profile);
    let pages = crate::store::raw::read_pages(&path).ok();
    pages
        .as_ref()
        .and_then(|pages| pages.last())
        .and_then(|p| {
            serde_json::from_slice::<ProfileWire>(p)
                .ok()
                .map(|w| w.company.map(|c| c.into_owned()).unwrap_or_else(|| w.name.into_owned()))
        })
        .unwrap_or_default()
}

/// What a complete run found: the exit code and the final summary line come from it.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    pub period: Option<Period>,
    pub accounts: u64,
    pub calls: u64,
    pub invoices: usize,
    /// Where the documents stand: "drafts", "finalized", "final, documents issued" or
    /// "final, unchanged" (`invoice::Report::stage_line`).
    pub invoice_stage: &'static str,
    /// Credit and debit notes of the period's supply.
    pub notes: usize,
    pub invoiced: rust_decimal::Decimal,
    pub reconciliation_errors: usize,
    pub reconciliation_warnings: usize,
    /// Exceptions worth knowing that are not discrepancies (a refund billed net, a state
    /// read from its PIN code).
    pub reconciliation_notes: usize,
    /// Accounts with usage that got no document (an unknown state, status or registration).
    pub withheld: usize,
    pub seconds: f64,
    pub out: PathBuf,
}

impl std::fmt::Display for RunSummary {
    /// The one line a cron mail shows.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let period = self.period.map(|p| p.to_string()).unwrap_or_default();
        write!(
            f,
            "{period}: {} accounts, {} calls, {} invoices ({}{}){} totalling {} incl. tax, reconciliation {} errors, {} warnings and {} notes, {:.1} s; outputs in {}",
            self.accounts,
            self.calls,
            self.invoices,
            self.invoice_stage,
            if self.notes > 0 {
                format!(", {} notes", self.notes)
            } else {
                String::new()
            },
            if self.withheld > 0 {
                format!(", {} withheld", self.withheld)
            } else {
                String::new()
            },
            crate::model::money::indian(self.invoiced),
            self.reconciliation_errors,
            self.reconciliation_warnings,
            self.reconciliation_notes,
            self.seconds,
            self.out.join(&period).display()
        )
    }
}

/// Check everything a run needs, write nothing, and say what the run would do.
pub async fn dry_run(opts: &RunOptions) -> anyhow::Result<String> {
    let ctx = opts.context();
    check_period(&ctx)?;
    let partner = preflight(&opts.access().client(&ctx.config)?).await?.name;
    let supplier = match &ctx.config.supplier {
        Some(_) => "",
        None => "; but the config has no [supplier], so a real run would refuse to start",
    };
    Ok(format!(
        "dry run: credentials accepted; would bill {partner} for {} ({} to {} UTC) from {} into {}; nothing written{supplier}",
        ctx.period,
        ctx.start.format("%Y-%m-%d %H:%M"),
        ctx.end.format("%Y-%m-%d %H:%M"),
        opts.base_url,
        ctx.period_dir().display(),
    ))
}

/// Every stage, in order.
pub async fn run(opts: &RunOptions) -> anyhow::Result<RunSummary> {
    let mut ctx = opts.context();
    check_period(&ctx)?;
    if ctx.config.supplier.is_none() {
        return Err(usage(
            "a full run issues invoices: add a [supplier] section to the config (legal_name, address, gstin)",
        ));
    }
    let started = std::time::Instant::now();
    let access = opts.access();
    let client = access.client(&ctx.config)?;
    let profile = preflight(&client).await?;
    ctx.partner = profile.name.clone();
    let layout = ctx.layout.clone();
    let _lock = crate::lock::PeriodLock::acquire(&layout, ctx.period)?;
    crate::output::remove_stale_temporaries(&ctx.period_dir())?;
    crate::output::remove_stale_temporaries(&layout.state_dir())?;
    // Normalize each account on the other core as soon as extract has finished it; output
    // order stays the account order, so the result is the same as running the stages apart.
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let c2 = ctx.clone();
    let normalizing = tokio::task::spawn_blocking(move || normalize_as_extracted(&c2, rx));
    let extracted = extract(&ctx, &access, client, &profile, Some(tx)).await;
    let normalized = normalizing.await.context("normalize task")?;
    let extracted = extracted?;
    let normalizer = normalized?.context("extract finished without every account")?;
    let normalized = tokio::task::spawn_blocking(move || normalizer.finish())
        .await
        .context("normalize task")??;
    manifest::update(&layout, ctx.period, "normalize", &normalized)?;
    tracing::info!(
        rows = normalized.tables.values().map(|t| t.rows).sum::<u64>(),
        rejects = normalized.rejects.len(),
        "normalize finished"
    );
    let seconds = started.elapsed().as_secs_f64();
    let rows = extracted.cdr_rows + extracted.ledger_rows;
    manifest::update(
        &layout,
        ctx.period,
        "run",
        &serde_json::json!({
            "seconds": seconds,
            "rows_extracted": rows,
            "rows_per_second": (rows as f64 / seconds).round(),
            "peak_rss_mib": crate::resources::peak_rss_mib(),
            "cpu_seconds": crate::resources::cpu_seconds(),
            "rejected_rows": normalized.rejects.len(),
        }),
    )?;
    // Offline stages, in order; exceptions do not stop the invoices (exit code 3 says so).
    let c2 = ctx.clone();
    // Each stage's freed memory goes back to the OS before the next one starts, so that the
    // run's peak is its largest stage's, not two stages' added up.
    let release = crate::resources::release_free_memory;
    let (reconciled, invoiced) = tokio::task::spawn_blocking(move || {
        release();
        let outcome = reconcile_outcome(&c2)?;
        release();
        let i = invoice(&c2)?;
        // Again, now that this run's notes are issued.
        reconciliation_html(&c2, &outcome)?;
        release();
        export(&c2)?;
        release();
        report(&c2)?;
        anyhow::Ok((outcome.report, i))
    })
    .await
    .context("offline stages")??;
    crate::crashpoint::here("run.finished");
    Ok(RunSummary {
        period: Some(ctx.period),
        accounts: extracted.accounts,
        // Calls of the period (extract also fetched the margin days that normalize cut off).
        calls: normalized.tables.get(Table::Cdrs.name()).map_or(0, |t| t.rows),
        invoices: invoiced.invoices,
        invoice_stage: invoiced.stage_line(),
        notes: invoiced.credit_notes.len() + invoiced.debit_notes.len(),
        invoiced: invoiced.total,
        reconciliation_errors: reconciled.errors,
        reconciliation_warnings: reconciled.warnings,
        reconciliation_notes: reconciled.notes,
        withheld: invoiced.withheld.len(),
        seconds: started.elapsed().as_secs_f64(),
        out: opts.out.clone(),
    })
}
