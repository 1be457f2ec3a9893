//! Extract: page through the Vobiz API for every customer account and a billing period, and
//! keep every page under `raw/`.
//!
//! Per account: the ledger from the day before the period to now (its balance snapshot must
//! match it), the all-time ledger summary, the balance, the wallet (thresholds), and the CDRs
//! of the period's UTC days plus the day before. Counts and sums are checked against the
//! totals and summaries the API reports; rows that appear while paging (drift) trigger
//! another pass. An account that cannot be completed is reported by name, never half-written.

mod ahead;
mod handoff;

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, anyhow, bail};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures_util::StreamExt;
use rust_decimal::Decimal;

use crate::context::RunContext;
use crate::layout::{Layout, RawEndpoint};
use crate::model::{AccountId, LedgerKind, LedgerStatus, Period};

use crate::api::client::{ApiClient, Auth, Credentials, FetchError, Secret};
use crate::api::paging::{self, PageInfo, Pager, Scheme};
use crate::api::redact::redact_string_member;
use crate::api::rows::{self, AccountFigures, AccountRows, AccountStream, Balance, LedgerTotals, RowError, Wallet};
use crate::api::wire;
use crate::store::normalized::{CdrRow, TransactionRow};
use crate::store::raw::RawWriter;

/// Documented maximum page sizes.
const ACCOUNTS_PER_PAGE: u64 = 100;
const LEDGER_PER_PAGE: u64 = 200;
const CDRS_PER_PAGE: u64 = 100;
/// The Subaccount API's largest `size`.
const SUBACCOUNTS_PER_PAGE: u64 = 100;
/// Passes over a ledger that keeps growing before the account is given up.
const MAX_LEDGER_PASSES: u32 = 4;
/// Parsed rows an account may hand over whole (about 16 MiB of them). A larger account is
/// streamed to normalize page by page as it is fetched ([`handoff`]): the hand-off slots
/// times this bound caps the memory that parsed rows take, whatever the sizes of the accounts.
pub const HANDOFF_MAX_ROWS: usize = 32_768;

/// The UTC windows the API is asked for (its date filters are UTC days).
#[derive(Debug, Clone, Copy)]
pub struct Windows {
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    /// Ledger and CDRs from this UTC day: one day early, so that charges booked just after the
    /// period starts can be matched with calls that started just before.
    pub from_day: NaiveDate,
    /// CDRs to this UTC day (inclusive).
    pub cdr_to_day: NaiveDate,
    /// Analytics over the UTC days the period touches.
    pub analytics_from: NaiveDate,
    pub analytics_to: NaiveDate,
}

impl Windows {
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self {
            period_start: start,
            period_end: end,
            from_day: (start - Duration::days(1)).date_naive(),
            cdr_to_day: end.date_naive(),
            analytics_from: start.date_naive(),
            analytics_to: (end - Duration::microseconds(1)).date_naive(),
        }
    }
}

/// Progress events, for a consumer that works on accounts as soon as they are complete.
#[derive(Debug)]
pub enum Event {
    /// The account list (and the partner-level pages) are on disk.
    Listed,
    /// This account's rows: whole, once every raw page of it is on disk, or as a stream as
    /// soon as it outgrows [`HANDOFF_MAX_ROWS`].
    Account(Extracted),
    /// This account could not be extracted (the run will fail, naming it): a consumer waiting
    /// for it can stop, and release the accounts it holds.
    AccountFailed(AccountId),
}

/// An account's rows, parsed by extract from the pages it wrote to `raw/` and typed for
/// normalize, so that a page is parsed once per run.
///
/// Each one holds a hand-off slot: extract starts an account only when a slot is free, and
/// the slot is freed when this is dropped. The consumer takes accounts in account order, so
/// the slots bound how many accounts wait in memory for one slow account.
#[derive(Debug)]
pub struct Extracted {
    pub id: AccountId,
    pub rows: Handed,
    _slot: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// How an account's rows are handed over.
#[derive(Debug)]
pub enum Handed {
    /// All of them, the account done.
    Whole(AccountRows),
    /// Page by page as they are fetched (an account larger than [`HANDOFF_MAX_ROWS`]).
    Stream(AccountStream),
}

pub type Events = tokio::sync::mpsc::UnboundedSender<Event>;

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Report {
    pub accounts: u64,
    pub ledger_rows: u64,
    pub cdr_rows: u64,
    pub pages: u64,
    pub duplicate_rows_dropped: u64,
    pub ledger_repasses: u64,
    /// Accounts larger than [`HANDOFF_MAX_ROWS`], streamed to normalize while fetched.
    pub accounts_streamed: u64,
    pub requests: u64,
    pub retries: u64,
    pub bytes: u64,
    pub seconds: f64,
    /// Accounts that could not be completed, with the reason.
    pub failed: Vec<(String, String)>,
}

/// A customer as listed by `/partner/accounts`.
struct Customer {
    id: AccountId,
    token: Option<Secret>,
    currency: Option<String>,
}

#[derive(Default)]
struct AccountOutcome {
    ledger_rows: u64,
    cdr_rows: u64,
    pages: u64,
    duplicates: u64,
    repasses: u64,
    streamed: bool,
}

struct Ctx {
    client: Arc<ApiClient>,
    layout: Layout,
    period: Period,
    windows: Windows,
    /// Pages of one list requested at once once its length is known (see [`ahead`]).
    pages_ahead: usize,
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Extract the period. `profile` is the body of `GET /partner/me`, which the caller fetched
/// to check the credentials before anything was written: it is kept as the raw profile page.
pub async fn run(
    client: Arc<ApiClient>,
    run: &RunContext,
    profile: &[u8],
    events: Option<Events>,
) -> anyhow::Result<Report> {
    let layout = &run.layout;
    let started = Instant::now();
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        layout: layout.clone(),
        period: run.period,
        windows: Windows::new(run.start, run.end),
        pages_ahead: run.config.api.concurrency.max(1),
    });
    let mut report = Report::default();
    crate::output::remove_stale_temporaries(&layout.raw_period_dir(run.period))?;
    write_single(layout.raw_partner(run.period, RawEndpoint::Profile), profile)?;

    let customers = list_customers(&ctx, &mut report).await?;
    partner_analytics(&ctx).await?;
    // A consumer that went away only stops receiving events; extraction goes on.
    if let Some(tx) = &events {
        let _ = tx.send(Event::Listed);
    }
    crate::crashpoint::here("extract.listed");

    // Accounts run as tasks, so that parsing their pages spreads over the runtime's threads.
    // Slots are taken in account order (`then` is sequential): the account the consumer waits
    // for always has one, so it cannot be starved by later accounts waiting to be consumed.
    let concurrency = run.config.api.concurrency.max(1);
    let slots = Arc::new(tokio::sync::Semaphore::new(2 * concurrency));
    let bar = progress_bar(run.progress, customers.len() as u64);
    let results: Vec<(AccountId, anyhow::Result<AccountOutcome>)> = futures_util::stream::iter(customers)
        .then(|c| {
            let slots = slots.clone();
            async move { (c, slots.acquire_owned().await.expect("the semaphore is never closed")) }
        })
        .map(|(c, slot)| {
            let (ctx, bar) = (ctx.clone(), bar.clone());
            let mut hand = handoff::Handoff::new(c.id.clone(), events.clone(), slot);
            tokio::spawn(async move {
                let r = extract_account(&ctx, &c, &mut hand).await;
                let r = match r {
                    Ok(mut outcome) => {
                        outcome.streamed = hand.streamed();
                        hand.done();
                        crate::crashpoint::here("extract.account");
                        Ok(outcome)
                    }
                    Err(e) => {
                        hand.failed();
                        Err(e)
                    }
                };
                bar.inc(1);
                (c.id, r)
            })
        })
        .buffer_unordered(concurrency)
        .map(|joined| joined.expect("an account task panicked"))
        .collect()
        .await;
    bar.finish_and_clear();

    for (id, r) in results {
        match r {
            Ok(o) => {
                report.ledger_rows += o.ledger_rows;
                report.cdr_rows += o.cdr_rows;
                report.pages += o.pages;
                report.duplicate_rows_dropped += o.duplicates;
                report.ledger_repasses += o.repasses;
                report.accounts_streamed += u64::from(o.streamed);
            }
            Err(e) => {
                let reason = crate::error::one_line(&e);
                tracing::error!(account = %id, error = %reason, "account could not be extracted");
                report.failed.push((id.to_string(), reason));
            }
        }
    }
    report.failed.sort();
    let (requests, retries, bytes) = client.stats.snapshot();
    (report.requests, report.retries, report.bytes) = (requests, retries, bytes);
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

fn progress_bar(enabled: bool, len: u64) -> Arc<indicatif::ProgressBar> {
    let bar = if enabled {
        indicatif::ProgressBar::new(len)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("extract {bar:30} {pos}/{len} accounts {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Arc::new(bar)
}

fn write_single(path: std::path::PathBuf, body: &[u8]) -> anyhow::Result<()> {
    let mut w = RawWriter::create(&path)?;
    w.append(body)?;
    w.finish()?;
    Ok(())
}

async fn list_customers(ctx: &Ctx, report: &mut Report) -> anyhow::Result<Vec<Customer>> {
    let mut pager = Pager::new(Scheme::PageSizeTotal, ACCOUNTS_PER_PAGE);
    let mut raw = RawWriter::create(&ctx.layout.raw_partner(ctx.period, RawEndpoint::Accounts))?;
    let mut customers = Vec::new();
    while let Some(page) = pager.next_page() {
        let q = [("page", page.to_string()), ("per_page", ACCOUNTS_PER_PAGE.to_string())];
        let (body, ()) = ctx
            .client
            .get("/api/v1/partner/accounts", &q, Auth::Partner, |b| {
                serde_json::from_slice::<wire::AccountsPageLite>(b).map(|_| ())
            })
            .await?;
        let lite: wire::AccountsPageLite = serde_json::from_slice(&body)?;
        let info = PageInfo {
            page: lite.page,
            per_page: lite.size,
            total: lite.total,
            pages: None,
            has_next: None,
            keys: lite.accounts.iter().map(|a| a.auth_id.as_ref().into()).collect(),
        };
        let fresh = pager.accept(info).context("paging /partner/accounts")?;
        for (a, _) in lite.accounts.iter().zip(&fresh).filter(|(_, new)| **new) {
            match AccountId::parse(&a.auth_id) {
                Ok(id) => customers.push(Customer {
                    id,
                    token: a.auth_token.as_deref().filter(|t| !t.is_empty()).map(Secret::new),
                    currency: a
                        .pricing_tier
                        .as_ref()
                        .and_then(|t| t.currency.as_deref())
                        .map(str::to_owned),
                }),
                // Never build a path from it; report it and carry on with the others.
                Err(e) => report
                    .failed
                    .push((a.auth_id.chars().take(64).collect(), e.to_string())),
            }
        }
        raw.append(&redact_string_member(&body, "auth_token"))?;
    }
    let total = pager.last_total.unwrap_or(0);
    if pager.unique_rows() != total {
        bail!(
            "/partner/accounts reported {total} accounts but {} were listed",
            pager.unique_rows()
        );
    }
    raw.finish()?;
    report.accounts = customers.len() as u64;
    customers.sort_by(|a, b| a.id.cmp(&b.id));
    tracing::info!(accounts = customers.len(), "listed customer accounts");
    Ok(customers)
}

async fn partner_analytics(ctx: &Ctx) -> anyhow::Result<()> {
    let w = &ctx.windows;
    let q = [("from_date", day(w.analytics_from)), ("to_date", day(w.analytics_to))];
    let (body, ()) = ctx
        .client
        .get("/api/v1/partner/analytics", &q, Auth::Partner, |b| {
            serde_json::from_slice::<wire::AnalyticsWire>(b).map(|_| ())
        })
        .await?;
    write_single(ctx.layout.raw_partner(ctx.period, RawEndpoint::Analytics), &body)?;
    let (body, ()) = ctx
        .client
        .get("/api/v1/partner/dashboard", &[], Auth::Partner, |b| {
            serde_json::from_slice::<serde::de::IgnoredAny>(b).map(|_| ())
        })
        .await?;
    write_single(ctx.layout.raw_partner(ctx.period, RawEndpoint::Dashboard), &body)?;
    Ok(())
}

async fn extract_account(ctx: &Ctx, c: &Customer, hand: &mut handoff::Handoff) -> anyhow::Result<AccountOutcome> {
    let mut out = AccountOutcome::default();
    let (balance, totals, window) = ledger_and_balance(ctx, c, &mut out, hand).await?;
    let wallet = wallet(ctx, c).await?;
    out.pages += subaccounts(ctx, c).await?;
    // Parsed once, here, from the bodies written to raw/: normalize need not read them back.
    hand.ledger_complete(AccountFigures {
        balance,
        totals,
        window: Some(window),
        wallet,
    });
    cdrs(ctx, c, &mut out, hand).await?;
    Ok(out)
}

/// The ledger window and a balance snapshot consistent with it: after the crawl the balance
/// and the all-time totals are read, then the window's row count is read again; if rows
/// appeared meanwhile, page again from the top. Returns the balance, the all-time totals of
/// completed rows (what the balance must equal) and the API's summary of the window paged.
async fn ledger_and_balance(
    ctx: &Ctx,
    c: &Customer,
    out: &mut AccountOutcome,
    hand: &mut handoff::Handoff,
) -> anyhow::Result<(Balance, LedgerTotals, LedgerTotals)> {
    let path = format!("/api/v1/partner/accounts/{}/transactions", c.id);
    let from = day(ctx.windows.from_day);
    let mut pager = Pager::new(Scheme::TotalPages, LEDGER_PER_PAGE);
    let mut raw = RawWriter::create(&ctx.layout.raw_account(ctx.period, RawEndpoint::Transactions, &c.id))?;
    // Sums of the rows seen once (the pager says which are new), to check the API's own sums.
    let (mut credit, mut debit, mut unreadable) = (Decimal::ZERO, Decimal::ZERO, 0u64);
    // Whether pages are still parsed into typed rows: read when a page is requested, which
    // may be before the pages ahead of it are accepted.
    let keep = AtomicBool::new(hand.wants_rows());
    for pass in 1..=MAX_LEDGER_PASSES {
        let filters = [("from_date", from.clone())];
        let mut pages = ahead::InOrder::new(ctx.pages_ahead, |page| {
            let keep = keep.load(Ordering::Relaxed);
            partner_page(ctx, &path, &filters, (page, LEDGER_PER_PAGE), keep, LedgerPage::parse)
        });
        while let Some((body, page)) = pages.next(&pager).await? {
            let total = page.info.total;
            let fresh = pager.accept(page.info).with_context(|| format!("paging {path}"))?;
            for (signed, _) in page.signed.iter().zip(&fresh).filter(|(_, new)| **new) {
                match signed {
                    Some(a) if a.is_sign_negative() => debit -= a,
                    Some(a) => credit += a,
                    None => unreadable += 1,
                }
            }
            raw.append(&body)?;
            out.pages += 1;
            // Every page as written to raw/, repeats and all: normalize dedups them the same way.
            hand.ledger(page.typed, total).await?;
            keep.store(hand.wants_rows(), Ordering::Relaxed);
        }
        let (balance_body, balance) = ctx
            .client
            .get(
                &format!("/api/v1/partner/accounts/{}/balance", c.id),
                &[],
                Auth::Partner,
                |b| serde_json::from_slice::<wire::PartnerBalanceWire>(b).map(Balance::from),
            )
            .await?;
        // Read inside the loop: a row booked between the balance and the totals would
        // otherwise show as an unexplained difference on a busy account.
        let totals = ledger_totals(ctx, c).await?;
        let q = [
            ("from_date", from.clone()),
            ("page", "1".to_string()),
            ("per_page", "1".to_string()),
        ];
        let (_, check) = ctx
            .client
            .get(&path, &q, Auth::Partner, |b| {
                serde_json::from_slice::<wire::LedgerPageLite>(b).map(|p| (p.total, p.summary))
            })
            .await?;
        let (total, summary) = check;
        if total == pager.unique_rows() {
            if unreadable > 0 {
                tracing::warn!(account = %c.id, rows = unreadable, "ledger rows with unreadable amounts: sums not checked; normalize rejects those rows");
            } else if (credit, debit) != (summary.total_credit.0, summary.total_debit.0) {
                bail!(
                    "{path}: rows sum to credit {credit} / debit {debit} but the summary says {} / {}",
                    summary.total_credit,
                    summary.total_debit
                );
            }
            raw.finish()?;
            write_single(
                ctx.layout.raw_account(ctx.period, RawEndpoint::Balance, &c.id),
                &balance_body,
            )?;
            out.ledger_rows = total;
            out.duplicates += pager.duplicates;
            let window = LedgerTotals {
                rows: total,
                credit: summary.total_credit.0,
                debit: summary.total_debit.0,
            };
            return Ok((balance, totals, window));
        }
        if total < pager.unique_rows() {
            bail!(
                "{path}: the ledger shrank from {} to {total} rows while paging",
                pager.unique_rows()
            );
        }
        tracing::debug!(account = %c.id, pass, seen = pager.unique_rows(), total, "ledger grew while paging; paging again");
        out.repasses += 1;
        pager.restart();
    }
    Err(anyhow!(
        "{path}: the ledger kept changing over {MAX_LEDGER_PASSES} passes"
    ))
}

/// The typed rows of a page the full types refused, if they are wanted: read row by row, as
/// normalize reads such a page from `raw/`, so that only the bad rows are rejected.
fn rows_read_loosely<R>(
    keep_rows: bool,
    body: &[u8],
    rows_of: fn(&[u8]) -> anyhow::Result<Vec<R>>,
) -> Result<Option<Vec<R>>, serde_json::Error> {
    keep_rows
        .then(|| rows_of(body).map_err(|e| serde::de::Error::custom(format!("{e:#}"))))
        .transpose()
}

/// A ledger page, parsed once: what extract checks, and the typed rows when normalize wants
/// them (see [`Extracted`]).
struct LedgerPage {
    info: PageInfo,
    /// Signed amount per row; `None` for an amount normalize will reject.
    signed: Vec<Option<Decimal>>,
    typed: Option<Vec<Result<TransactionRow, RowError>>>,
}

impl LedgerPage {
    fn parse(body: &[u8], keep_rows: bool) -> Result<Self, serde_json::Error> {
        // One typed pass over the page in the common case; a page with a row the full types
        // refuse is read again loosely (the bad row is rejected on its own, not with its page).
        if let Ok(full) = wire::ledger_page_full(body) {
            let checks = full.transactions.iter().map(|r| (&r.id, &r.kind, Some(r.amount.0)));
            let mut page = Self::checks(&full, checks)?;
            page.typed = keep_rows.then(|| full.transactions.into_iter().map(rows::ledger_row).collect());
            return Ok(page);
        }
        let lite: wire::LedgerPageLite = wire::parse(body)?;
        let mut page = Self::checks(&lite, lite.transactions.iter().map(|r| (&r.id, &r.kind, r.amount.0)))?;
        page.typed = rows_read_loosely(keep_rows, body, rows::ledger_page)?;
        Ok(page)
    }

    fn checks<'r, R>(
        page: &wire::LedgerPageOf<R>,
        rows: impl Iterator<Item = (&'r Cow<'r, str>, &'r Cow<'r, str>, Option<Decimal>)>,
    ) -> Result<Self, serde_json::Error> {
        let mut keys = Vec::with_capacity(page.transactions.len());
        let mut signed_rows = Vec::with_capacity(page.transactions.len());
        for (id, kind, amount) in rows {
            let Some(kind) = LedgerKind::parse(kind) else {
                return Err(serde::de::Error::custom(format!(
                    "transaction {id} has unknown type {kind:?}"
                )));
            };
            let signed = amount.map(|a| kind.signed(a));
            keys.push(paging::Key::from(id.as_ref()));
            signed_rows.push(signed);
        }
        let info = PageInfo {
            page: page.page,
            per_page: page.per_page,
            total: page.total,
            pages: Some(page.total_pages),
            has_next: None,
            keys,
        };
        Ok(Self {
            info,
            signed: signed_rows,
            typed: None,
        })
    }
}

/// A CDR page, parsed once: what extract checks, and the typed rows when normalize wants them.
struct CdrPage {
    info: PageInfo,
    /// Per row; `None` for a cost normalize will reject.
    costs: Vec<Option<Decimal>>,
    pagination: wire::Pagination,
    summary: wire::CdrSummaryLite,
    typed: Option<Vec<Result<CdrRow, RowError>>>,
}

impl CdrPage {
    fn parse(body: &[u8], keep_rows: bool) -> Result<Self, serde_json::Error> {
        if let Ok(full) = wire::cdr_page_full(body) {
            let mut page = Self::checks(&full, full.data.iter().map(|r| (&r.uuid, Some(r.total_cost.0))))?;
            page.typed = keep_rows.then(|| full.data.into_iter().map(rows::cdr_row).collect());
            return Ok(page);
        }
        let lite: wire::CdrPageLite = wire::parse(body)?;
        let mut page = Self::checks(&lite, lite.data.iter().map(|r| (&r.uuid, r.total_cost.0)))?;
        page.typed = rows_read_loosely(keep_rows, body, rows::cdr_page)?;
        Ok(page)
    }

    fn checks<'r, R>(
        page: &wire::CdrPageOf<R>,
        rows: impl Iterator<Item = (&'r Cow<'r, str>, Option<Decimal>)>,
    ) -> Result<Self, serde_json::Error> {
        if page.count != page.data.len() as u64 {
            return Err(serde::de::Error::custom(format!(
                "count {} but {} rows on the page",
                page.count,
                page.data.len()
            )));
        }
        let p = page.pagination;
        let (keys, costs) = rows
            .map(|(uuid, cost)| (paging::Key::from(uuid.as_ref()), cost))
            .unzip();
        let info = PageInfo {
            page: p.page,
            per_page: p.per_page,
            total: p.total,
            pages: Some(p.pages),
            has_next: Some(p.has_next),
            keys,
        };
        Ok(Self {
            info,
            costs,
            pagination: p,
            summary: page.summary,
            typed: None,
        })
    }
}

/// One page of a partner list (`filters`, then `page` and `per_page`), parsed by `parse`
/// (keeping typed rows if `keep_rows`), as a future that owns what it needs, so that it can
/// run as a task of its own (see [`ahead`]).
fn partner_page<P: Send + 'static>(
    ctx: &Ctx,
    path: &str,
    filters: &[(&'static str, String)],
    (page, per_page): (u64, u64),
    keep_rows: bool,
    parse: fn(&[u8], bool) -> Result<P, serde_json::Error>,
) -> impl std::future::Future<Output = anyhow::Result<(Vec<u8>, P)>> + Send + 'static {
    let (client, path) = (ctx.client.clone(), path.to_string());
    let mut query = filters.to_vec();
    query.extend([("page", page.to_string()), ("per_page", per_page.to_string())]);
    async move {
        client
            .get(&path, &query, Auth::Partner, |b| parse(b, keep_rows))
            .await
            .map_err(anyhow::Error::from)
    }
}

/// The all-time totals of the rows that moved money (`status=completed`): the balance must be
/// their net.
async fn ledger_totals(ctx: &Ctx, c: &Customer) -> anyhow::Result<LedgerTotals> {
    let path = format!("/api/v1/partner/accounts/{}/transactions", c.id);
    let q = [
        ("page", "1".to_string()),
        ("per_page", "1".to_string()),
        ("status", LedgerStatus::Completed.as_str().to_string()),
    ];
    let (body, totals) = ctx
        .client
        .get(&path, &q, Auth::Partner, |b| {
            serde_json::from_slice::<wire::LedgerTotalsWire>(b).map(LedgerTotals::from)
        })
        .await?;
    write_single(
        ctx.layout.raw_account(ctx.period, RawEndpoint::LedgerTotals, &c.id),
        &body,
    )?;
    Ok(totals)
}

/// The account-level wallet (low-balance threshold, credit limit), read with the customer's
/// own token, which stays in memory.
async fn wallet(ctx: &Ctx, c: &Customer) -> anyhow::Result<Option<Wallet>> {
    let (Some(token), Some(currency)) = (&c.token, &c.currency) else {
        return Ok(None);
    };
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_alphabetic()) {
        bail!("account {} has an invalid currency {currency:?}", c.id);
    }
    let creds = Credentials {
        id: c.id.to_string(),
        token: token.clone(),
    };
    let path = format!("/api/v1/Account/{}/balance/{currency}", c.id);
    match ctx
        .client
        .get(&path, &[], Auth::Customer(&creds), |b| {
            serde_json::from_slice::<wire::WalletWire>(b).map(Wallet::from)
        })
        .await
    {
        Ok((body, wallet)) => {
            write_single(ctx.layout.raw_account(ctx.period, RawEndpoint::Wallet, &c.id), &body)?;
            Ok(Some(wallet))
        }
        // A customer without a wallet in that currency simply has no thresholds to report.
        Err(FetchError::Refused { status: 404, .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The customer's subaccounts, disabled ones included (usage by one is told from usage by a
/// stranger), read with the customer's own token like the wallet; the pages are kept with
/// every subaccount's `auth_token` redacted. A customer without a token, or whose
/// subaccounts the API does not serve (404), has no list: a call by a subaccount of it is
/// then unknown to reconciliation. Returns the pages read.
async fn subaccounts(ctx: &Ctx, c: &Customer) -> anyhow::Result<u64> {
    let raw_path = ctx.layout.raw_account(ctx.period, RawEndpoint::Subaccounts, &c.id);
    // No list this time: an earlier run's pages must not stand in for it.
    let no_list = || match std::fs::remove_file(&raw_path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(anyhow::Error::from(e)),
        _ => Ok(0),
    };
    let Some(token) = &c.token else {
        return no_list();
    };
    let creds = Credentials {
        id: c.id.to_string(),
        token: token.clone(),
    };
    let path = format!("/api/v1/accounts/{}/sub-accounts/", c.id);
    let mut pager = Pager::new(Scheme::PageSizeTotal, SUBACCOUNTS_PER_PAGE);
    let mut raw: Option<RawWriter> = None;
    let mut pages = 0;
    while let Some(page) = pager.next_page() {
        let q = [
            ("page", page.to_string()),
            ("size", SUBACCOUNTS_PER_PAGE.to_string()),
            ("active_only", "false".to_string()),
        ];
        let parse = |b: &[u8]| wire::parse::<wire::SubaccountsPageLite>(b);
        let (body, lite) = match ctx.client.get(&path, &q, Auth::Customer(&creds), parse).await {
            Ok(r) => r,
            Err(FetchError::Refused { status: 404, .. }) if pages == 0 => {
                tracing::warn!(account = %c.id, "the API serves no subaccounts for this account");
                return no_list();
            }
            Err(e) => return Err(e.into()),
        };
        let info = PageInfo {
            page: lite.page,
            per_page: lite.size,
            total: lite.total,
            pages: None,
            has_next: None,
            keys: lite.sub_accounts.iter().map(|s| s.auth_id.as_str().into()).collect(),
        };
        pager.accept(info).with_context(|| format!("paging {path}"))?;
        let w = match &mut raw {
            Some(w) => w,
            None => raw.insert(RawWriter::create(&raw_path)?),
        };
        w.append(&redact_string_member(&body, "auth_token"))?;
        pages += 1;
    }
    let total = pager.last_total.unwrap_or(0);
    if pager.unique_rows() != total {
        bail!(
            "{path} reported {total} subaccounts but {} were listed",
            pager.unique_rows()
        );
    }
    if let Some(w) = raw {
        w.finish()?;
    }
    Ok(pages)
}

async fn cdrs(ctx: &Ctx, c: &Customer, out: &mut AccountOutcome, hand: &mut handoff::Handoff) -> anyhow::Result<()> {
    let path = format!("/api/v1/partner/accounts/{}/cdrs", c.id);
    let (start, end) = (day(ctx.windows.from_day), day(ctx.windows.cdr_to_day));
    let mut pager = Pager::new(Scheme::HasNext, CDRS_PER_PAGE);
    let mut raw = RawWriter::create(&ctx.layout.raw_account(ctx.period, RawEndpoint::Cdrs, &c.id))?;
    let mut sum = Decimal::ZERO;
    let mut unreadable = 0;
    let mut reported = None;
    let keep = AtomicBool::new(hand.wants_rows());
    let filters = [("start_date", start), ("end_date", end)];
    let mut pages = ahead::InOrder::new(ctx.pages_ahead, |page| {
        let keep = keep.load(Ordering::Relaxed);
        partner_page(ctx, &path, &filters, (page, CDRS_PER_PAGE), keep, CdrPage::parse)
    });
    while let Some((body, page)) = pages.next(&pager).await? {
        let p = page.pagination;
        let fresh = pager.accept(page.info).with_context(|| format!("paging {path}"))?;
        for (cost, _) in page.costs.iter().zip(&fresh).filter(|(_, new)| **new) {
            match cost {
                Some(c) => sum += c,
                None => unreadable += 1,
            }
        }
        reported = Some((p.total, page.summary));
        raw.append(&body)?;
        out.pages += 1;
        hand.calls(page.typed, p.total).await?;
        keep.store(hand.wants_rows(), Ordering::Relaxed);
    }
    let (total, summary) = reported.expect("at least one page");
    if pager.unique_rows() != total || summary.total_calls != total {
        bail!(
            "{path}: {} distinct calls fetched but the API reports {total}",
            pager.unique_rows()
        );
    }
    if unreadable > 0 {
        tracing::warn!(account = %c.id, rows = unreadable, "calls with unreadable costs: sums not checked; normalize rejects those rows");
    } else if sum != summary.total_cost.0 {
        bail!(
            "{path}: call costs sum to {sum} but the summary says {}",
            summary.total_cost
        );
    }
    raw.finish()?;
    out.cdr_rows = total;
    out.duplicates += pager.duplicates;
    Ok(())
}
