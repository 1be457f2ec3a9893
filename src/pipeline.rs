//! The stages in order, and the checks that guard a run: the period, the credentials, the
//! API's reachability. Stages communicate through files under the output root, with one
//! exception: in `run`, extract hands normalize the rows it already parsed from each page
//! (the same rows normalize would read back from `raw/`), so that no page is parsed twice.

use std::path::PathBuf;

use anyhow::Context;
use chrono::Utc;
use serde::Serialize;

use crate::config::Config;
use crate::error::usage;
use crate::extract::client::{ApiClient, Credentials, RetryPolicy, Secret};
use crate::layout::{Layout, Table};
use crate::model::{AccountId, Period};
use crate::render::Renderer;
use crate::{extract, manifest, normalize, reconcile};

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub period: Period,
    pub out: PathBuf,
    pub config: Config,
    pub base_url: reqwest::Url,
    pub auth_id: String,
    pub auth_token: String,
    pub progress: bool,
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
pub fn check_period(period: Period, cfg: &Config) -> anyhow::Result<()> {
    let (start, end) = period.bounds(cfg.partner.tz());
    let now = Utc::now();
    if start > now {
        return Err(usage(format!("period {period} is in the future")));
    }
    if end > now {
        tracing::warn!(%period, "the period is not over yet: figures will be partial");
    }
    Ok(())
}

fn client(opts: &RunOptions) -> anyhow::Result<ApiClient> {
    let api = &opts.config.api;
    let policy = RetryPolicy {
        max_retries: api.max_retries,
        base_delay: std::time::Duration::from_millis(api.initial_backoff_ms),
        max_delay: std::time::Duration::from_secs(api.max_backoff_secs),
        timeout: api.timeout(),
        ..RetryPolicy::default()
    };
    let creds = Credentials {
        id: opts.auth_id.clone(),
        token: Secret::new(opts.auth_token.clone()),
    };
    ApiClient::new(opts.base_url.clone(), creds, policy)
}

pub async fn extract(opts: &RunOptions, events: Option<extract::Events>) -> anyhow::Result<extract::Report> {
    let layout = Layout::new(&opts.out);
    let client = client(opts)?;
    let plan = extract::Plan {
        period: opts.period,
        time_zone: opts.config.partner.tz(),
        concurrency: opts.config.api.concurrency,
        progress: opts.progress,
    };
    tracing::info!(period = %opts.period, base_url = %opts.base_url, "extract started");
    let report = extract::run(std::sync::Arc::new(client), &layout, &plan, events).await?;
    let (start, end) = opts.period.bounds(plan.time_zone);
    manifest::update(
        &layout,
        opts.period,
        "inputs",
        &Inputs {
            base_url: opts.base_url.to_string(),
            partner: &opts.auth_id,
            time_zone: &opts.config.partner.time_zone,
            currency: &opts.config.partner.currency,
            period_start: start.to_rfc3339(),
            period_end: end.to_rfc3339(),
        },
    )?;
    manifest::update(&layout, opts.period, "extract", &report)?;
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

pub async fn normalize(out: PathBuf, period: Period, cfg: &Config) -> anyhow::Result<normalize::Report> {
    let tz = cfg.partner.tz();
    let layout = Layout::new(out);
    let l2 = layout.clone();
    let report = tokio::task::spawn_blocking(move || normalize::run(&l2, period, tz))
        .await
        .context("normalize task")??;
    manifest::update(&layout, period, "normalize", &report)?;
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
    layout: &Layout,
    period: Period,
    tz: chrono_tz::Tz,
    mut events: tokio::sync::mpsc::UnboundedReceiver<extract::Event>,
) -> anyhow::Result<Option<normalize::Normalizer>> {
    use extract::Event;
    // Accounts that arrived before their turn; extract's hand-off slots bound how many.
    let mut waiting = std::collections::HashMap::new();
    loop {
        match events.blocking_recv() {
            Some(Event::Listed) => break,
            Some(Event::AccountDone(_)) => {}
            Some(Event::AccountFailed(_)) | None => return Ok(None),
        }
    }
    let mut n = normalize::Normalizer::open(layout, period, tz)?;
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
                Some(Event::AccountDone(x)) if listed.contains(&x.id) => {
                    waiting.insert(x.id.clone(), x);
                }
                Some(Event::AccountDone(_) | Event::Listed) => {}
                // The run fails, naming the account; returning drops what waits here, so
                // extract is never kept waiting for a slot.
                Some(Event::AccountFailed(_)) | None => return Ok(None),
            }
        };
        match done.rows {
            Some(rows) => n.add_account_rows(id, rows)?,
            None => n.add_account(id)?,
        }
    }
    Ok(Some(n))
}

/// Reconcile a period from its Parquet and write `reconciliation.html`.
pub fn reconcile(out: &std::path::Path, period: Period, cfg: &Config) -> anyhow::Result<reconcile::Report> {
    let layout = Layout::new(out);
    let settings = reconcile::Settings {
        period,
        time_zone: cfg.partner.tz(),
        currency: cfg.partner.currency.clone(),
        tolerance: cfg.reconcile.tolerance,
        default_low_balance: cfg.reconcile.default_low_balance,
    };
    let outcome = reconcile::run(&layout, &settings)?;
    let partner = partner_name(&layout, period);
    let html = reconcile::html::render(
        &Renderer::new()?,
        &settings,
        &partner,
        &outcome.checks,
        &outcome.exceptions,
    )?;
    crate::output::write_atomic(&layout.period_dir(period).join("reconciliation.html"), html.as_bytes())?;
    crate::crashpoint::here("reconcile.written");
    manifest::update(&layout, period, "reconcile", &outcome.report)?;
    let r = &outcome.report;
    tracing::info!(
        accounts = r.accounts,
        errors = r.errors,
        warnings = r.warnings,
        notes = r.notes,
        "reconcile finished"
    );
    Ok(outcome.report)
}

/// Issue the period's GST invoices (HTML) and their tables.
pub fn invoice(out: &std::path::Path, period: Period, cfg: &Config) -> anyhow::Result<crate::invoice::Report> {
    let layout = Layout::new(out);
    let supplier = cfg.supplier.clone().ok_or_else(|| {
        usage("the invoice stage needs a [supplier] section in the config (legal_name, address, gstin)")
    })?;
    let settings = crate::invoice::Settings {
        period,
        currency: cfg.partner.currency.clone(),
        supplier,
        invoice: cfg.invoice.clone(),
    };
    let report = crate::invoice::run(&layout, &settings)?;
    manifest::update(&layout, period, "invoice", &report)?;
    tracing::info!(invoices = report.invoices, b2b = report.b2b, total = %report.total, "invoice finished");
    Ok(report)
}

/// Write the partner's monthly report, `report.html`, from the period's tables.
pub fn report(out: &std::path::Path, period: Period, cfg: &Config) -> anyhow::Result<crate::report::Report> {
    let layout = Layout::new(out);
    let settings = crate::report::Settings {
        period,
        time_zone: cfg.partner.tz(),
        currency: cfg.partner.currency.clone(),
        partner: partner_name(&layout, period),
        top: 10,
    };
    let report = crate::report::run(&layout, &settings)?;
    crate::crashpoint::here("report.written");
    manifest::update(&layout, period, "report", &report)?;
    tracing::info!(customers = report.customers, calls = report.calls, "report finished");
    Ok(report)
}

/// The partner's name as its profile gives it (for report headers).
fn partner_name(layout: &Layout, period: Period) -> String {
    let path = layout.raw_partner(period, crate::layout::RawEndpoint::Profile);
    let pages = crate::extract::raw::read_pages(&path).ok();
    pages
        .as_ref()
        .and_then(|pages| pages.last())
        .and_then(|p| {
            serde_json::from_slice::<crate::extract::wire::ProfileWire>(p)
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
    pub invoiced: rust_decimal::Decimal,
    pub reconciliation_errors: usize,
    pub reconciliation_warnings: usize,
    pub seconds: f64,
    pub out: PathBuf,
}

impl std::fmt::Display for RunSummary {
    /// The one line a cron mail shows.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let period = self.period.map(|p| p.to_string()).unwrap_or_default();
        write!(
            f,
            "{period}: {} accounts, {} calls, {} invoices totalling {} incl. tax, reconciliation {} errors and {} warnings, {:.1} s; outputs in {}",
            self.accounts,
            self.calls,
            self.invoices,
            crate::model::money::indian(self.invoiced),
            self.reconciliation_errors,
            self.reconciliation_warnings,
            self.seconds,
            self.out.join(&period).display()
        )
    }
}

/// Ask the API who we are before anything is written: bad credentials or an unreachable API
/// fail here and leave the output root untouched. Returns the partner's display name.
async fn preflight(opts: &RunOptions) -> anyhow::Result<String> {
    let (_, name) = client(opts)?
        .get("/api/v1/partner/me", &[], crate::extract::client::Auth::Partner, |b| {
            serde_json::from_slice::<crate::extract::wire::ProfileWire>(b)
                .map(|p| p.company.unwrap_or(p.name).into_owned())
        })
        .await?;
    Ok(name)
}

/// Check everything a run needs, write nothing, and say what the run would do.
pub async fn dry_run(opts: &RunOptions) -> anyhow::Result<String> {
    check_period(opts.period, &opts.config)?;
    let partner = preflight(opts).await?;
    let (start, end) = opts.period.bounds(opts.config.partner.tz());
    let supplier = match &opts.config.supplier {
        Some(_) => "",
        None => "; but the config has no [supplier], so a real run would refuse to start",
    };
    Ok(format!(
        "dry run: credentials accepted; would bill {partner} for {} ({} to {} UTC) from {} into {}; nothing written{supplier}",
        opts.period,
        start.format("%Y-%m-%d %H:%M"),
        end.format("%Y-%m-%d %H:%M"),
        opts.base_url,
        opts.out.join(opts.period.to_string()).display(),
    ))
}

/// Every stage, in order.
pub async fn run(opts: &RunOptions) -> anyhow::Result<RunSummary> {
    check_period(opts.period, &opts.config)?;
    if opts.config.supplier.is_none() {
        return Err(usage(
            "a full run issues invoices: add a [supplier] section to the config (legal_name, address, gstin)",
        ));
    }
    let started = std::time::Instant::now();
    preflight(opts).await?;
    let layout = Layout::new(&opts.out);
    let _lock = crate::lock::PeriodLock::acquire(&layout, opts.period)?;
    crate::output::remove_stale_temporaries(&layout.period_dir(opts.period))?;
    crate::output::remove_stale_temporaries(&layout.state_dir())?;
    // Normalize each account on the other core as soon as extract has finished it; output
    // order stays the account order, so the result is the same as running the stages apart.
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (l2, period, tz) = (layout.clone(), opts.period, opts.config.partner.tz());
    let normalizing = tokio::task::spawn_blocking(move || normalize_as_extracted(&l2, period, tz, rx));
    let extracted = extract(opts, Some(tx)).await;
    let normalized = normalizing.await.context("normalize task")?;
    let extracted = extracted?;
    let normalizer = normalized?.context("extract finished without every account")?;
    let normalized = tokio::task::spawn_blocking(move || normalizer.finish())
        .await
        .context("normalize task")??;
    manifest::update(&layout, opts.period, "normalize", &normalized)?;
    tracing::info!(
        rows = normalized.tables.values().map(|t| t.rows).sum::<u64>(),
        rejects = normalized.rejects.len(),
        "normalize finished"
    );
    let seconds = started.elapsed().as_secs_f64();
    let rows = extracted.cdr_rows + extracted.ledger_rows;
    manifest::update(
        &layout,
        opts.period,
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
    let (out, period, cfg) = (opts.out.clone(), opts.period, opts.config.clone());
    // Offline stages, in order; exceptions do not stop the invoices (exit code 3 says so).
    let (reconciled, invoiced) = tokio::task::spawn_blocking(move || {
        let r = reconcile(&out, period, &cfg)?;
        let i = invoice(&out, period, &cfg)?;
        report(&out, period, &cfg)?;
        anyhow::Ok((r, i))
    })
    .await
    .context("offline stages")??;
    crate::crashpoint::here("run.finished");
    Ok(RunSummary {
        period: Some(opts.period),
        accounts: extracted.accounts,
        // Calls of the period (extract also fetched the margin days that normalize cut off).
        calls: normalized.tables.get(Table::Cdrs.name()).map_or(0, |t| t.rows),
        invoices: invoiced.invoices,
        invoiced: invoiced.total,
        reconciliation_errors: reconciled.errors,
        reconciliation_warnings: reconciled.warnings,
        seconds: started.elapsed().as_secs_f64(),
        out: opts.out.clone(),
    })
}
