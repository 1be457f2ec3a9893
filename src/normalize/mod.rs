//! Normalize: raw pages → typed rows → Parquet partitions for one period.
//!
//! Works offline from `raw/` (so it can be re-run without the API), or, in `run`, from the
//! rows extract parsed from the same pages; one account at a time either way, so memory stays
//! bounded by the largest accounts. Rows are deduplicated by primary key and
//! written in a stable order, so the same raw pages always give byte-identical files.
//! A row that cannot be read (a missing field, money with more than 5 decimals, a bad
//! timestamp) is rejected on its own with a reason; the rest of its page is kept.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
// foldhash: dedup and joins hash every row's key (SipHash took 5% of normalize).
use chrono_tz::Tz;
use foldhash::{HashMap, HashSet};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::api::rows::{self, AccountFigures, AccountRows, opt, page_rows, short_key};
use crate::api::wire;
use crate::context::RunContext;
use crate::layout::{Layout, RawEndpoint, Table};
use crate::model::ledger::{is_refund, moved, refunded_debit_id};
use crate::model::time::{date32, parse_date, parse_timestamp_micros};
use crate::model::{AccountId, LedgerKind, Period};
use crate::store::normalized::*;
use crate::store::partition::{PartitionWriter, TableStats};
use crate::store::raw::{for_each_page, read_pages};

/// A row that was left out, and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Reject {
    pub table: &'static str,
    pub account: String,
    pub key: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Report {
    pub tables: BTreeMap<String, TableStats>,
    pub rejects: Vec<Reject>,
    pub duplicates_dropped: u64,
    pub seconds: f64,
}

pub struct Writers {
    accounts: PartitionWriter<AccountRow>,
    balances: PartitionWriter<BalanceRow>,
    transactions: PartitionWriter<TransactionRow>,
    cdrs: PartitionWriter<CdrRow>,
    analytics: PartitionWriter<AnalyticsDayRow>,
    subaccounts: PartitionWriter<SubaccountRow>,
}

struct Ctx {
    period: Period,
    tz: Tz,
    start: i64,
    end: i64,
}

/// Normalize a period from its raw pages, all accounts in order.
pub fn run(ctx: &RunContext) -> anyhow::Result<Report> {
    let mut n = Normalizer::open(ctx)?;
    for id in n.account_ids() {
        n.add_account(&id)?;
    }
    n.finish()
}

/// Normalization of one period, fed one account at a time (so that `run` can start on an
/// account as soon as extract has finished it). Nothing is visible until [`finish`]: dropping
/// a `Normalizer` leaves the previous partitions as they were.
///
/// [`finish`]: Normalizer::finish
pub struct Normalizer {
    layout: Layout,
    ctx: Ctx,
    writers: Writers,
    accounts: Vec<AccountRow>,
    next: usize,
    report: Report,
    started: std::time::Instant,
}

impl Normalizer {
    /// Start a period: read its account list (extract writes it first) and open the writers.
    pub fn open(run: &RunContext) -> anyhow::Result<Self> {
        let started = std::time::Instant::now();
        let (layout, period, tz) = (&run.layout, run.period, run.time_zone);
        let ctx = Ctx {
            period,
            tz,
            start: run.start.timestamp_micros(),
            end: run.end.timestamp_micros(),
        };
        let mut report = Report::default();
        let meta = || {
            vec![
                ("vobiz_billing.period".to_string(), period.to_string()),
                ("vobiz_billing.time_zone".to_string(), tz.name().to_string()),
                (
                    "vobiz_billing.version".to_string(),
                    env!("CARGO_PKG_VERSION").to_string(),
                ),
            ]
        };
        let writers = Writers {
            accounts: PartitionWriter::for_period(layout, period, meta())?,
            balances: PartitionWriter::for_period(layout, period, meta())?,
            transactions: PartitionWriter::for_period(layout, period, meta())?,
            cdrs: PartitionWriter::for_period(layout, period, meta())?,
            analytics: PartitionWriter::for_period(layout, period, meta())?,
            subaccounts: PartitionWriter::for_period(layout, period, meta())?,
        };
        let accounts = read_accounts(&layout.raw_partner(period, RawEndpoint::Accounts), &mut report)?;
        Ok(Self {
            layout: layout.clone(),
            ctx,
            writers,
            accounts,
            next: 0,
            report,
            started,
        })
    }

    /// The accounts to add, in the order they must be added.
    pub fn account_ids(&self) -> Vec<AccountId> {
        self.accounts
            .iter()
            .map(|a| AccountId::parse(&a.auth_id).expect("validated while reading"))
            .collect()
    }

    /// Add the next account from its raw pages (accounts go in [`account_ids`] order, so
    /// output is stable).
    ///
    /// [`account_ids`]: Normalizer::account_ids
    pub fn add_account(&mut self, id: &AccountId) -> anyhow::Result<()> {
        let rows = read_account_rows(&self.layout, self.ctx.period, id)
            .with_context(|| format!("normalizing account {id}"))?;
        self.add_account_rows(id, rows)
    }

    /// Add the next account from rows already parsed from its pages (by extract, from the
    /// very bytes it wrote to `raw/`): the same result as [`add_account`], without reading
    /// and parsing every page a second time.
    ///
    /// [`add_account`]: Normalizer::add_account
    pub fn add_account_rows(&mut self, id: &AccountId, rows: AccountRows) -> anyhow::Result<()> {
        let expected = self.accounts.get(self.next).map(|a| a.auth_id.as_str());
        anyhow::ensure!(
            expected == Some(id.as_str()),
            "account {id} added out of order (expected {expected:?})"
        );
        account(&self.layout, &self.ctx, id, rows, &mut self.writers, &mut self.report)
            .with_context(|| format!("normalizing account {id}"))?;
        self.next += 1;
        Ok(())
    }

    /// Write the partner-level tables and replace every partition.
    pub fn finish(mut self) -> anyhow::Result<Report> {
        anyhow::ensure!(
            self.next == self.accounts.len(),
            "{} of {} accounts normalized",
            self.next,
            self.accounts.len()
        );
        let mut w = self.writers;
        for a in self.accounts {
            w.accounts.push(a)?;
        }
        analytics(
            &self.layout.raw_partner(self.ctx.period, RawEndpoint::Analytics),
            &mut w,
            &mut self.report,
        )?;
        let mut report = self.report;
        let mut replaced = |table: Table, stats| {
            report.tables.insert(table.name().to_string(), stats);
            crate::crashpoint::here("normalize.partition");
        };
        // The two big tables close on two cores: each still has its last row group to encode
        // and compress, its footer to write and its file to sync, and one after the other
        // they were the serial end of every run.
        let Writers {
            accounts,
            balances,
            transactions,
            cdrs,
            analytics,
            subaccounts,
        } = w;
        let (transactions, cdrs, accounts, balances, analytics, subaccounts) = std::thread::scope(|s| {
            let transactions = s.spawn(|| transactions.finish());
            let cdrs = s.spawn(|| cdrs.finish());
            let small = (
                accounts.finish(),
                balances.finish(),
                analytics.finish(),
                subaccounts.finish(),
            );
            let join =
                |h: std::thread::ScopedJoinHandle<'_, _>| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            (join(transactions), join(cdrs), small.0, small.1, small.2, small.3)
        });
        replaced(Table::Accounts, accounts?);
        replaced(Table::Balances, balances?);
        replaced(Table::Transactions, transactions?);
        replaced(Table::Cdrs, cdrs?);
        replaced(Table::AnalyticsDaily, analytics?);
        replaced(Table::Subaccounts, subaccounts?);
        for r in &report.rejects {
            tracing::warn!(table = r.table, account = %r.account, key = ?r.key, reason = %r.reason, "row rejected");
        }
        report.seconds = self.started.elapsed().as_secs_f64();
        Ok(report)
    }
}

fn read_accounts(path: &Path, report: &mut Report) -> anyhow::Result<Vec<AccountRow>> {
    let mut rows: BTreeMap<String, AccountRow> = BTreeMap::new();
    for page in read_pages(path)?.iter() {
        for parsed in page_rows::<wire::AccountWire>(page, "auth_id")? {
            let a = match parsed {
                Ok(a) => a,
                Err((key, reason)) => {
                    report.rejects.push(Reject {
                        table: "accounts",
                        account: String::new(),
                        key,
                        reason,
                    });
                    continue;
                }
            };
            let reject = |reason: String| Reject {
                table: "accounts",
                account: String::new(),
                key: short_key(&a.auth_id),
                reason,
            };
            if let Err(e) = AccountId::parse(&a.auth_id) {
                report.rejects.push(reject(e.to_string()));
                continue;
            }
            let created_at = match parse_timestamp_micros(&a.created_at) {
                Ok(t) => t,
                Err(e) => {
                    report.rejects.push(reject(e.to_string()));
                    continue;
                }
            };
            let updated_at = a
                .updated_at
                .as_deref()
                .map(parse_timestamp_micros)
                .transpose()
                .ok()
                .flatten();
            let tier = a.pricing_tier;
            let row = AccountRow {
                auth_id: a.auth_id.into_owned(),
                id: opt(a.id),
                name: a.name.into_owned(),
                email: opt(a.email),
                phone: opt(a.phone),
                company: opt(a.company),
                address: opt(a.address),
                city: opt(a.city),
                state: opt(a.state),
                zip_code: opt(a.zip_code),
                country: opt(a.country),
                gstin: opt(a.gstin),
                gst_status: opt(a.gst_status),
                business_type: opt(a.business_type),
                tds_enabled: a.tds_enabled,
                tds_percentage: a.tds_percentage.map(|p| p as i32),
                is_active: a.is_active,
                kyc_status: opt(a.kyc_status),
                currency: tier.as_ref().and_then(|t| t.currency.as_deref()).map(str::to_owned),
                pricing_tier_id: tier.as_ref().and_then(|t| t.id.as_deref()).map(str::to_owned),
                pricing_tier_name: tier.as_ref().and_then(|t| t.name.as_deref()).map(str::to_owned),
                rate_per_minute: tier.as_ref().and_then(|t| t.rate_per_minute).map(|m| m.0),
                billing_increment_seconds: tier
                    .as_ref()
                    .and_then(|t| t.billing_increment_seconds)
                    .map(|s| s as i32),
                created_at,
                updated_at,
            };
            if rows.contains_key(&row.auth_id) {
                report.duplicates_dropped += 1;
            } else {
                rows.insert(row.auth_id.clone(), row);
            }
        }
    }
    Ok(rows.into_values().collect())
}

/// The typed rows of an account's raw ledger and CDR pages.
fn read_account_rows(layout: &Layout, period: Period, id: &AccountId) -> anyhow::Result<AccountRows> {
    let mut rows = AccountRows::default();
    // Page by page: a large account's pages, decompressed, would outweigh its rows.
    let mut last = Vec::new();
    for_each_page(&layout.raw_account(period, RawEndpoint::Transactions, id), |page| {
        rows.ledger.extend(rows::ledger_page(page)?);
        last.clear();
        last.extend_from_slice(page);
        Ok(())
    })?;
    rows.last_ledger_page = (!last.is_empty()).then_some(last);
    for_each_page(&layout.raw_account(period, RawEndpoint::Cdrs, id), |page| {
        rows.calls.extend(rows::cdr_page(page)?);
        Ok(())
    })?;
    Ok(rows)
}

/// The rows that parsed, the first of each key kept (overlapping pages repeat rows when rows
/// shift between requests); rejects are recorded in order. Keys are borrowed, not copied.
fn first_of_each<R>(
    rows: Vec<Result<R, rows::RowError>>,
    key: impl Fn(&R) -> &str,
    table: &'static str,
    account: &str,
    report: &mut Report,
) -> Vec<R> {
    // Collected in place (the rows' buffer is reused, not copied into a new one).
    let mut parsed: Vec<R> = rows
        .into_iter()
        .filter_map(|row| match row {
            Ok(r) => Some(r),
            Err((key, reason)) => {
                report.rejects.push(Reject {
                    table,
                    account: account.to_string(),
                    key,
                    reason,
                });
                None
            }
        })
        .collect();
    let first: Vec<bool> = {
        let mut seen = HashSet::with_capacity_and_hasher(parsed.len(), Default::default());
        parsed.iter().map(|r| seen.insert(key(r))).collect()
    };
    let before = parsed.len();
    let mut first = first.into_iter();
    parsed.retain(|_| first.next().expect("one flag per row"));
    report.duplicates_dropped += (before - parsed.len()) as u64;
    parsed
}

fn account(
    layout: &Layout,
    ctx: &Ctx,
    id: &AccountId,
    rows: AccountRows,
    w: &mut Writers,
    report: &mut Report,
) -> anyhow::Result<()> {
    let acct = id.to_string();
    let raw = |e| layout.raw_account(ctx.period, e, id);

    // Ledger rows of the window, deduplicated by id, oldest first.
    let mut ledger = first_of_each(rows.ledger, |r| &r.id, "transactions", &acct, report);
    ledger.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));

    // Calls of the window, deduplicated by uuid.
    let mut calls = first_of_each(rows.calls, |r| &r.uuid, "cdrs", &acct, report);
    calls.sort_by(|a, b| (a.start_time, &a.uuid).cmp(&(b.start_time, &b.uuid)));

    // Subaccounts, and whose each call and charge is: the customer's own, or one of its
    // subaccounts' (listed under it with the subaccount's id, *inferred*), never another's.
    for s in subaccounts(&raw(RawEndpoint::Subaccounts), &acct, report)? {
        w.subaccounts.push(s)?;
    }
    attribute(
        &mut calls,
        &acct,
        "cdrs",
        |c| &mut c.account_id,
        |c| &mut c.subaccount_id,
        |c| &c.uuid,
        report,
    );
    attribute(
        &mut ledger,
        &acct,
        "transactions",
        |l| &mut l.account_id,
        |l| &mut l.subaccount_id,
        |l| &l.id,
        report,
    );
    {
        let call_subaccount: HashMap<&str, &Text> = calls
            .iter()
            .filter_map(|c| Some((c.uuid.as_str(), c.subaccount_id.as_ref()?)))
            .collect();
        for l in ledger.iter_mut().filter(|l| l.subaccount_id.is_none()) {
            if let Some(&s) = l.cdr_uuid.as_deref().and_then(|u| call_subaccount.get(u)) {
                l.subaccount_id = Some(s.clone());
            }
        }
    }

    // Which period each fetched call belongs to, for the ledger rows that charge it. Almost
    // every call is in the period itself: its period needs no time-zone arithmetic, and its
    // label is shared rather than formatted again for every ledger row.
    {
        use compact_str::ToCompactString;
        let in_period = |t: i64| (ctx.start..ctx.end).contains(&t);
        let call_period: HashMap<&str, Period> = calls
            .iter()
            .map(|c| {
                let period = if in_period(c.start_time) {
                    ctx.period
                } else {
                    Period::containing(crate::model::time::from_micros(c.start_time), ctx.tz)
                };
                (c.uuid.as_str(), period)
            })
            .collect();
        let label = ctx.period.to_compact_string();
        for l in &mut ledger {
            l.cdr_period = l.cdr_uuid.as_deref().and_then(|u| call_period.get(u)).map(|&p| {
                if p == ctx.period {
                    label.clone()
                } else {
                    p.to_compact_string()
                }
            });
        }
    }
    refunds(&mut ledger, &mut calls);
    // Debits per call that moved money, wherever in the window they were booked (a failed
    // debit and its completed retry are one charge, not a duplicate).
    {
        let mut debits: HashMap<&str, (Decimal, i32)> = HashMap::default();
        for l in ledger
            .iter()
            .filter(|l| l.kind == LedgerKind::Debit && moved(l.status.as_deref()) == Some(true))
        {
            if let Some(u) = l.cdr_uuid.as_deref() {
                let e = debits.entry(u).or_default();
                e.0 += l.amount;
                e.1 += 1;
            }
        }
        for mut c in calls
            .into_iter()
            .filter(|c| c.start_time >= ctx.start && c.start_time < ctx.end)
        {
            if let Some(&(amount, count)) = debits.get(c.uuid.as_str()) {
                (c.debit_amount, c.debit_count) = (amount, count);
            }
            w.cdrs.push(c)?;
        }
    }
    // Only rows that moved money count towards balances; the window's sums count every row,
    // as the API's summary does, to tell rows lost on the way from rows that did not happen.
    let (mut credit, mut debit, mut net_after, mut rows_after) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, 0i64);
    let (mut window_credit, mut window_debit) = (Decimal::ZERO, Decimal::ZERO);
    for l in ledger {
        match l.kind {
            LedgerKind::Credit => window_credit += l.amount,
            LedgerKind::Debit => window_debit += l.amount,
        }
        let counts = moved(l.status.as_deref()) == Some(true);
        if l.created_at >= ctx.end {
            if counts {
                net_after += l.signed_amount;
            }
            rows_after += 1;
        } else if l.created_at >= ctx.start {
            if counts {
                match l.kind {
                    LedgerKind::Credit => credit += l.amount,
                    LedgerKind::Debit => debit += l.amount,
                }
            }
            w.transactions.push(l)?;
        }
    }

    let figures = match rows.figures {
        Some(f) => *f,
        None => {
            let wallet_path = raw(RawEndpoint::Wallet);
            let wallet = if wallet_path.exists() {
                Some(single(&wallet_path)?)
            } else {
                None
            };
            AccountFigures::from_pages(
                &single(&raw(RawEndpoint::Balance))?,
                &single(&raw(RawEndpoint::LedgerTotals))?,
                rows.last_ledger_page.as_deref(),
                wallet.as_deref(),
            )?
        }
    };
    let AccountFigures {
        balance: bal,
        totals,
        window,
        wallet,
    } = figures;
    if bal.auth_id != acct {
        bail!("balance page is for {:?}, not {acct}", bal.auth_id);
    }
    let balance_at = parse_timestamp_micros(&bal.updated_at)?;
    let (threshold, credit_limit) = wallet.map_or((None, None), |w| (w.low_balance_threshold, w.credit_limit));
    let closing = bal.cash_credits - net_after;
    w.balances.push(BalanceRow {
        auth_id: acct.clone(),
        currency: bal.currency,
        balance: bal.cash_credits,
        balance_at,
        net_after_period: net_after,
        rows_after_period: rows_after,
        closing_balance: closing,
        opening_balance: closing - (credit - debit),
        period_credit: credit,
        period_debit: debit,
        ledger_rows_all_time: totals.rows as i64,
        ledger_net_all_time: totals.credit - totals.debit,
        low_balance_threshold: threshold,
        credit_limit,
        api_window_credit: window.as_ref().map(|t| t.credit),
        api_window_debit: window.as_ref().map(|t| t.debit),
        window_credit,
        window_debit,
    })?;
    Ok(())
}

/// Refunds that reverse a billed charge: a completed credit of reference type `refund` that
/// names a call (`cdr_<uuid>`, as its debit does) or a debit (`txn_<id>`) fetched in the
/// window. The call's or the debit's `refunded` grows by it, and the refund records what it
/// reversed. Refunds naming nothing fetched reverse nothing (reconcile reports them).
fn refunds(ledger: &mut [TransactionRow], calls: &mut [CdrRow]) {
    enum Target {
        Call(usize),
        Debit(usize),
    }
    let is_completed_refund = |l: &TransactionRow| {
        l.kind == LedgerKind::Credit && is_refund(&l.reference_type) && moved(l.status.as_deref()) == Some(true)
    };
    // Most accounts have none: no lookup of their calls is built for them.
    if !ledger.iter().any(is_completed_refund) {
        return;
    }
    let found: Vec<(usize, Target)> = {
        let call_at: HashMap<&str, usize> = calls.iter().enumerate().map(|(i, c)| (c.uuid.as_str(), i)).collect();
        let debit_at: HashMap<&str, usize> = ledger
            .iter()
            .enumerate()
            .filter(|(_, l)| l.kind == LedgerKind::Debit)
            .map(|(i, l)| (l.id.as_str(), i))
            .collect();
        ledger
            .iter()
            .enumerate()
            .filter(|(_, l)| is_completed_refund(l))
            .filter_map(|(i, l)| {
                let target = match (
                    l.cdr_uuid.as_deref(),
                    l.reference.as_deref().and_then(refunded_debit_id),
                ) {
                    (Some(u), _) => Target::Call(*call_at.get(u)?),
                    (None, Some(id)) => Target::Debit(*debit_at.get(id)?),
                    (None, None) => return None,
                };
                Some((i, target))
            })
            .collect()
    };
    for (i, target) in found {
        let amount = ledger[i].amount;
        let what = match target {
            Target::Call(c) => {
                calls[c].refunded += amount;
                compact_str::CompactString::const_new("cdr")
            }
            Target::Debit(d) => {
                ledger[d].refunded += amount;
                ledger[d].reference_type.clone()
            }
        };
        ledger[i].refund_of = Some(what);
    }
}

/// Rows listed under `account` carry the customer's `auth_id` or a subaccount's (`SA_…`):
/// the subaccount's moves to `subaccount_id` and the row becomes the customer's. A row naming
/// any other account is rejected: it is not this customer's to bill.
fn attribute<R>(
    rows: &mut Vec<R>,
    account: &str,
    table: &'static str,
    owner: impl Fn(&mut R) -> &mut Text,
    subaccount: impl Fn(&mut R) -> &mut Option<Text>,
    key: impl Fn(&R) -> &Text,
    report: &mut Report,
) {
    rows.retain_mut(|r| {
        let id = owner(r);
        if id.as_str() == account {
            return true;
        }
        if crate::model::SubaccountId::parse(id).is_ok() {
            let sub = std::mem::replace(id, Text::from(account));
            *subaccount(r) = Some(sub);
            return true;
        }
        let reason = format!("listed under {account} but its account_id is {:?}", id.as_str());
        report.rejects.push(Reject {
            table,
            account: account.to_string(),
            key: short_key(key(r)),
            reason,
        });
        false
    });
}

/// The customer's subaccounts from their raw pages (none when there are none), by `auth_id`.
/// A row without a valid `SA_…` id, a creation time or an unambiguous enabled flag is
/// rejected: usage by it then shows as a subaccount nobody knows.
fn subaccounts(path: &Path, account: &str, report: &mut Report) -> anyhow::Result<Vec<SubaccountRow>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut rows: BTreeMap<String, SubaccountRow> = BTreeMap::new();
    for page in read_pages(path)?.iter() {
        for parsed in page_rows::<wire::SubaccountWire>(page, "auth_id")? {
            let row = parsed.and_then(|s| {
                let reject = |reason: String| (short_key(&s.auth_id), reason);
                crate::model::SubaccountId::parse(&s.auth_id).map_err(|e| reject(e.to_string()))?;
                let enabled = match (s.enabled, s.is_active) {
                    (Some(e), Some(a)) if e != a => {
                        return Err(reject(format!("enabled is {e} but is_active is {a}")));
                    }
                    (Some(e), _) | (None, Some(e)) => e,
                    (None, None) => return Err(reject("neither enabled nor is_active is given".into())),
                };
                let created_at = s
                    .created_at
                    .as_deref()
                    .ok_or_else(|| reject("no created_at".into()))
                    .and_then(|t| parse_timestamp_micros(t).map_err(|e| reject(e.to_string())))?;
                let updated_at = match s.updated_at.as_deref() {
                    Some(t) => Some(parse_timestamp_micros(t).map_err(|e| reject(e.to_string()))?),
                    None => None,
                };
                let id = match s.id {
                    Some(serde_json::Value::String(v)) => Some(v),
                    Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                    _ => None,
                };
                Ok(SubaccountRow {
                    account_id: account.to_string(),
                    auth_id: s.auth_id,
                    id,
                    name: s.name,
                    email: s.email,
                    description: s.description,
                    enabled,
                    calls_permitted: s.permissions.as_ref().and_then(|p| p.calls),
                    cdr_permitted: s.permissions.as_ref().and_then(|p| p.cdr),
                    rate_limit: s.rate_limit,
                    created_at,
                    updated_at,
                })
            });
            match row {
                Ok(r) if rows.contains_key(&r.auth_id) => report.duplicates_dropped += 1,
                Ok(r) => {
                    rows.insert(r.auth_id.clone(), r);
                }
                Err((key, reason)) => report.rejects.push(Reject {
                    table: "subaccounts",
                    account: account.to_string(),
                    key,
                    reason,
                }),
            }
        }
    }
    Ok(rows.into_values().collect())
}

fn single(path: &Path) -> anyhow::Result<Vec<u8>> {
    read_pages(path)?
        .last()
        .map(<[u8]>::to_vec)
        .with_context(|| format!("{} is empty", path.display()))
}

fn analytics(path: &Path, w: &mut Writers, report: &mut Report) -> anyhow::Result<()> {
    let page = single(path)?;
    let a: wire::AnalyticsWire = serde_json::from_slice(&page).context("corrupt analytics page")?;
    for d in a.time_series {
        let date = match parse_date(&d.date) {
            Ok(x) => date32(x),
            Err(e) => {
                report.rejects.push(Reject {
                    table: "analytics_daily",
                    account: String::new(),
                    key: Some(d.date.to_string()),
                    reason: e.to_string(),
                });
                continue;
            }
        };
        w.analytics.push(AnalyticsDayRow {
            date,
            currency: a.currency.to_string(),
            total_calls: d.total_calls as i64,
            answered_calls: d.answered_calls as i64,
            total_minutes: d.total_minutes.0,
            total_cost: d.total_cost.0,
            inbound_calls: d.inbound.total_calls as i64,
            inbound_answered: d.inbound.answered_calls as i64,
            inbound_minutes: d.inbound.total_minutes.0,
            outbound_calls: d.outbound.total_calls as i64,
            outbound_answered: d.outbound.answered_calls as i64,
            outbound_minutes: d.outbound.total_minutes.0,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        id: &str,
        kind: LedgerKind,
        amount: i64,
        reference: &str,
        reference_type: &str,
        status: &str,
    ) -> TransactionRow {
        TransactionRow {
            id: id.into(),
            kind,
            amount: Decimal::from(amount),
            reference: Some(reference.into()),
            reference_type: reference_type.into(),
            cdr_uuid: reference.strip_prefix("cdr_").map(Into::into),
            status: Some(status.into()),
            ..Default::default()
        }
    }

    #[test]
    fn completed_refunds_reverse_the_call_or_charge_they_name_and_nothing_else() {
        let mut calls = vec![CdrRow {
            uuid: "u1".into(),
            cost: Decimal::from(5),
            ..Default::default()
        }];
        let mut ledger = vec![
            row(
                "d1",
                LedgerKind::Debit,
                300,
                "did_918000000001",
                "did_rental",
                "completed",
            ),
            row("r1", LedgerKind::Credit, 5, "cdr_u1", "refund", "completed"),
            row("r2", LedgerKind::Credit, 300, "txn_d1", "Refund", "completed"),
            // Not completed, naming nothing fetched, or not a refund: no reversal.
            row("r3", LedgerKind::Credit, 1, "cdr_u1", "refund", "pending"),
            row("r4", LedgerKind::Credit, 1, "txn_nope", "refund", "completed"),
            row("r5", LedgerKind::Credit, 1, "cdr_u1", "payment", "completed"),
        ];
        refunds(&mut ledger, &mut calls);
        assert_eq!(calls[0].refunded, Decimal::from(5));
        assert_eq!(ledger[0].refunded, Decimal::from(300));
        let of: Vec<Option<&str>> = ledger.iter().map(|l| l.refund_of.as_deref()).collect();
        assert_eq!(of, [None, Some("cdr"), Some("did_rental"), None, None, None]);
    }
}
