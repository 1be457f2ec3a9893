//! Normalize: raw pages → typed rows → Parquet partitions for one period.
//!
//! Works offline from `raw/` (so it can be re-run without the API), or, in `run`, from the
//! rows extract parsed from the same pages; one account at a time either way, and within an
//! account by sorts that spill to disk past `[normalize] sort_rows` ([`account`]), so memory
//! is bounded by configuration, not by the largest customer. Rows are deduplicated by primary
//! key and written in a stable order, so the same raw pages always give byte-identical files.
//! A row that cannot be read (a missing field, money with more than 5 decimals, a bad
//! timestamp) is rejected on its own with a reason; the rest of its page is kept.

mod account;

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use chrono_tz::Tz;
use serde::Serialize;

use self::account::{Source, account};
use crate::api::rows::{AccountRows, AccountStream, opt, page_rows, short_key};
use crate::api::wire;
use crate::context::RunContext;
use crate::layout::{Layout, RawEndpoint, Table};
use crate::model::time::{date32, parse_date, parse_timestamp_micros};
use crate::model::{AccountId, Period};
use crate::store::normalized::*;
use crate::store::partition::{PartitionWriter, TableStats};
use crate::store::raw::read_pages;

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
    /// Sorted runs written to disk because an account had more rows than `[normalize]
    /// sort_rows` (none when every account fitted in memory).
    pub sort_runs: u64,
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
    /// Rows of one table an account's sort holds in memory (`[normalize] sort_rows`).
    sort_rows: usize,
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
            sort_rows: run.config.normalize.sort_rows,
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
        self.add(id, Source::Raw)
    }

    /// Add the next account from rows already parsed from its pages (by extract, from the
    /// very bytes it wrote to `raw/`): the same result as [`add_account`], without reading
    /// and parsing every page a second time.
    ///
    /// [`add_account`]: Normalizer::add_account
    pub fn add_account_rows(&mut self, id: &AccountId, rows: AccountRows) -> anyhow::Result<()> {
        self.add(id, Source::Rows(rows))
    }

    /// Add the next account from the rows extract sends as it fetches its pages: the same
    /// result as [`add_account`], while the account is still being fetched.
    ///
    /// [`add_account`]: Normalizer::add_account
    pub fn add_account_stream(&mut self, id: &AccountId, stream: AccountStream) -> anyhow::Result<()> {
        self.add(id, Source::Stream(stream))
    }

    fn add(&mut self, id: &AccountId, source: Source) -> anyhow::Result<()> {
        let expected = self.accounts.get(self.next).map(|a| a.auth_id.as_str());
        anyhow::ensure!(
            expected == Some(id.as_str()),
            "account {id} added out of order (expected {expected:?})"
        );
        account(&self.layout, &self.ctx, id, source, &mut self.writers, &mut self.report)
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
