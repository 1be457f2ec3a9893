//! Everything reconciliation needs from the Parquet, through polars lazy scans over the
//! columns the store's schema names (and one plain scan, where polars held a whole table).
//! Values leave polars in their own types: decimals as exact decimals, counts as integers,
//! dates as dates.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use chrono::NaiveDate;
use polars::prelude::*;
use rust_decimal::Decimal;

use crate::context::RunContext;
use crate::layout::Table;
use crate::model::{LedgerKind, LedgerStatus};
use crate::store::normalized::{AccountRow, AnalyticsDayRow, BalanceRow, CdrRow, SubaccountRow, TransactionRow};
use crate::store::read;

pub struct AccountInfo {
    pub auth_id: String,
    pub name: String,
    pub gstin: Option<String>,
    pub country: Option<String>,
    /// The address's state, as written.
    pub state: Option<String>,
    /// The registration's status as given ("active", "inactive").
    pub gst_status: Option<String>,
    pub currency: Option<String>,
    pub is_active: bool,
    pub company: Option<String>,
    pub address: Option<String>,
    pub zip_code: Option<String>,
    /// Microseconds since the epoch.
    pub created_at: i64,
}

pub struct BalanceInfo {
    pub balance: Decimal,
    pub closing_balance: Decimal,
    pub opening_balance: Decimal,
    pub net_after_period: Decimal,
    pub ledger_net_all_time: Decimal,
    pub low_balance_threshold: Option<Decimal>,
    /// The API's summary of the window paged, and the stored rows of that window.
    pub api_window: Option<(Decimal, Decimal)>,
    pub window: (Decimal, Decimal),
}

/// A ledger row of the period that did not (or may not have) moved money.
pub struct NotCompleted {
    pub id: String,
    pub kind: String,
    pub reference_type: String,
    pub amount: Decimal,
    /// As stored: a documented word in lower case, else as sent (`None`: missing).
    pub status: Option<String>,
}

/// A completed refund booked in the period, and what it reversed (if anything fetched).
pub struct Refund {
    pub id: String,
    pub amount: Decimal,
    pub reference: Option<String>,
    pub refund_of: Option<String>,
    pub cdr_uuid: Option<String>,
}

/// A call or charge refunded more than it cost.
pub struct OverRefund {
    pub id: String,
    pub what: &'static str,
    pub amount: Decimal,
    pub refunded: Decimal,
}

#[derive(Clone, Default)]
pub struct LedgerAgg {
    pub rows: i64,
    pub credit: Decimal,
    pub debit: Decimal,
}

#[derive(Clone, Default)]
pub struct CallAgg {
    pub count: i64,
    pub cost: Decimal,
    pub debited: Decimal,
}

pub struct CallMismatch {
    pub uuid: String,
    pub cost: Decimal,
    pub debited: Decimal,
    pub debits: i64,
}

pub struct Orphan {
    pub id: String,
    pub cdr_uuid: String,
    pub amount: Decimal,
}

pub struct Foreign {
    pub table: &'static str,
    pub id: String,
    pub currency: String,
    pub amount: Decimal,
}

pub struct Day {
    pub date: String,
    pub calls: i64,
    pub cost: Decimal,
}

/// The calls one subaccount placed in the period, and what the list says of it.
#[derive(Debug, Clone, PartialEq)]
pub struct SubaccountCalls {
    pub subaccount: String,
    pub calls: i64,
    pub cost: Decimal,
    /// `None` when the customer's list does not show it.
    pub listed: Option<ListedSubaccount>,
    /// Calls that started at or after it was disabled: count, cost and the first call.
    pub after_disabled: Option<(i64, Decimal, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListedSubaccount {
    pub name: String,
    pub enabled: bool,
    /// Its last modification: when a disabled one was disabled (*inferred*).
    pub updated_at: Option<i64>,
}

pub struct Figures {
    pub accounts: Vec<AccountInfo>,
    pub balances: HashMap<String, BalanceInfo>,
    pub previous_closing: HashMap<String, Decimal>,
    pub ledger: HashMap<String, LedgerAgg>,
    pub calls: HashMap<String, CallAgg>,
    pub call_mismatches: HashMap<String, Vec<CallMismatch>>,
    pub orphans: HashMap<String, Vec<Orphan>>,
    pub foreign: HashMap<String, Vec<Foreign>>,
    pub not_completed: HashMap<String, Vec<NotCompleted>>,
    pub refunds: HashMap<String, Vec<Refund>>,
    pub over_refunds: HashMap<String, Vec<OverRefund>>,
    /// Analytics days that lie wholly inside the period.
    pub days: Vec<Day>,
    /// UTC day → (calls, exact cost) from the CDRs.
    pub cdr_days: HashMap<String, (i64, Decimal)>,
    /// Per customer, its subaccounts that placed calls, by subaccount id.
    pub subaccount_calls: HashMap<String, Vec<SubaccountCalls>>,
}

fn scan(path: &Path) -> anyhow::Result<LazyFrame> {
    anyhow::ensure!(path.exists(), "missing {} (run normalize first)", path.display());
    let p = path.to_str().context("non-UTF-8 path")?;
    Ok(LazyFrame::scan_parquet(PlRefPath::new(p), ScanArgsParquet::default())?)
}

/// A collected query, read column by column in each column's own type: decimals stay exact
/// decimals (no text round trip), counts are integers, dates are dates.
struct Frame(DataFrame);

impl Frame {
    /// Run a query on polars' streaming engine: the scan is read in morsels and aggregated as
    /// it goes, so memory follows the query's result (a row per account, day or exception),
    /// not the month's calls. The in-memory engine would first load every call's columns.
    fn collect(lf: LazyFrame, columns: &[&str]) -> anyhow::Result<Self> {
        let query = lf.select(columns.iter().map(|c| col(*c)).collect::<Vec<_>>());
        // One query, one sink: always a single frame.
        Ok(Self(query.collect_with_engine(Engine::Streaming)?.unwrap_single()))
    }

    fn height(&self) -> usize {
        self.0.height()
    }

    fn text(&self, name: &str) -> anyhow::Result<Vec<Option<String>>> {
        let c = self.0.column(name)?.str()?;
        Ok(c.iter().map(|v| v.map(str::to_owned)).collect())
    }

    /// Decimals with their trailing zeros dropped (`2.5425`, not `2.54250`), as the
    /// exceptions' details have always printed them.
    fn decimal(&self, name: &str) -> anyhow::Result<Vec<Option<Decimal>>> {
        let c = self.0.column(name)?.decimal()?;
        let scale = u32::try_from(c.scale())?;
        c.physical()
            .iter()
            .map(|v| {
                v.map(|m| {
                    Decimal::try_from_i128_with_scale(m, scale)
                        .map(|d| d.normalize())
                        .with_context(|| format!("{name}: {m}e-{scale} does not fit a decimal"))
                })
                .transpose()
            })
            .collect()
    }

    fn money(&self, name: &str) -> anyhow::Result<Vec<Decimal>> {
        self.decimal(name)?
            .into_iter()
            .map(|v| v.with_context(|| format!("missing amount in {name}")))
            .collect()
    }

    /// A count of any integer type (group lengths are `u32`).
    fn count(&self, name: &str) -> anyhow::Result<Vec<i64>> {
        let c = self.0.column(name)?.cast(&DataType::Int64)?;
        c.i64()?
            .iter()
            .map(|v| v.with_context(|| format!("missing count in {name}")))
            .collect()
    }

    /// Timestamps as microseconds since the epoch.
    fn micros(&self, name: &str) -> anyhow::Result<Vec<Option<i64>>> {
        Ok(self.0.column(name)?.datetime()?.physical().iter().collect())
    }

    fn flag(&self, name: &str) -> anyhow::Result<Vec<Option<bool>>> {
        Ok(self.0.column(name)?.bool()?.iter().collect())
    }

    /// Dates as `YYYY-MM-DD`, the UTC day keys of the analytics comparison.
    fn date(&self, name: &str) -> anyhow::Result<Vec<Option<NaiveDate>>> {
        let c = self.0.column(name)?.date()?;
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
        Ok(c.physical()
            .iter()
            .map(|d| d.map(|d| epoch + chrono::Duration::days(d.into())))
            .collect())
    }
}

fn text(v: Option<String>) -> String {
    v.unwrap_or_default()
}

impl Figures {
    pub fn load(s: &RunContext) -> anyhow::Result<Self> {
        let layout = &s.layout;
        let file = |t| layout.parquet_file(t, s.period);
        let (a, b, t, c, d) = (
            AccountRow::COL,
            BalanceRow::COL,
            TransactionRow::COL,
            CdrRow::COL,
            AnalyticsDayRow::COL,
        );

        let f = Frame::collect(
            scan(&file(Table::Accounts))?.sort([a.auth_id], Default::default()),
            &[
                a.auth_id,
                a.name,
                a.gstin,
                a.gst_status,
                a.country,
                a.state,
                a.currency,
                a.is_active,
                a.company,
                a.address,
                a.zip_code,
                a.created_at,
            ],
        )?;
        let (companies, addresses, zips, created) = (
            f.text(a.company)?,
            f.text(a.address)?,
            f.text(a.zip_code)?,
            f.micros(a.created_at)?,
        );
        let (ids, names, gstins) = (f.text(a.auth_id)?, f.text(a.name)?, f.text(a.gstin)?);
        let (states, gst_statuses) = (f.text(a.state)?, f.text(a.gst_status)?);
        let (countries, currencies, active) = (f.text(a.country)?, f.text(a.currency)?, f.flag(a.is_active)?);
        let accounts = (0..f.height())
            .map(|i| AccountInfo {
                auth_id: text(ids[i].clone()),
                name: text(names[i].clone()),
                gstin: gstins[i].clone(),
                country: countries[i].clone(),
                state: states[i].clone(),
                gst_status: gst_statuses[i].clone(),
                currency: currencies[i].clone(),
                is_active: active[i] != Some(false),
                company: companies[i].clone(),
                address: addresses[i].clone(),
                zip_code: zips[i].clone(),
                created_at: created[i].unwrap_or_default(),
            })
            .collect();

        let f = Frame::collect(
            scan(&file(Table::Balances))?,
            &[
                b.auth_id,
                b.balance,
                b.closing_balance,
                b.opening_balance,
                b.net_after_period,
                b.ledger_net_all_time,
                b.low_balance_threshold,
                b.api_window_credit,
                b.api_window_debit,
                b.window_credit,
                b.window_debit,
            ],
        )?;
        let (api_credit, api_debit, window_credit, window_debit) = (
            f.decimal(b.api_window_credit)?,
            f.decimal(b.api_window_debit)?,
            f.money(b.window_credit)?,
            f.money(b.window_debit)?,
        );
        let mut balances = HashMap::new();
        let (ids, balance, closing, opening) = (
            f.text(b.auth_id)?,
            f.money(b.balance)?,
            f.money(b.closing_balance)?,
            f.money(b.opening_balance)?,
        );
        let (after, all_time, threshold) = (
            f.money(b.net_after_period)?,
            f.money(b.ledger_net_all_time)?,
            f.decimal(b.low_balance_threshold)?,
        );
        for (i, id) in ids.into_iter().enumerate() {
            balances.insert(
                text(id),
                BalanceInfo {
                    balance: balance[i],
                    closing_balance: closing[i],
                    opening_balance: opening[i],
                    net_after_period: after[i],
                    ledger_net_all_time: all_time[i],
                    low_balance_threshold: threshold[i],
                    api_window: api_credit[i].zip(api_debit[i]),
                    window: (window_credit[i], window_debit[i]),
                },
            );
        }
        let mut previous_closing = HashMap::new();
        let prev = layout.parquet_file(Table::Balances, s.period.previous());
        if prev.exists() {
            let f = Frame::collect(scan(&prev)?, &[b.auth_id, b.closing_balance])?;
            for (id, closing) in f.text(b.auth_id)?.into_iter().zip(f.money(b.closing_balance)?) {
                previous_closing.insert(text(id), closing);
            }
        }

        // Ledger: per account and type; only completed rows moved money.
        let tx = scan(&file(Table::Transactions))?;
        let completed = col(t.status).eq(lit(LedgerStatus::Completed.as_str()));
        let mut ledger: HashMap<String, LedgerAgg> = HashMap::new();
        let by_type = tx
            .clone()
            .with_column(completed.clone().fill_null(lit(false)).alias("moved"))
            .group_by([col(t.account_id), col(t.kind), col("moved")])
            .agg([len().alias("n"), col(t.amount).sum()]);
        let f = Frame::collect(by_type, &[t.account_id, t.kind, "moved", "n", t.amount])?;
        let (ids, kinds, moved, n, amount) = (
            f.text(t.account_id)?,
            f.text(t.kind)?,
            f.flag("moved")?,
            f.count("n")?,
            f.money(t.amount)?,
        );
        for i in 0..f.height() {
            let e = ledger.entry(ids[i].clone().unwrap_or_default()).or_default();
            e.rows += n[i];
            if moved[i] != Some(true) {
                continue;
            }
            match kinds[i].as_deref().and_then(LedgerKind::parse) {
                Some(LedgerKind::Credit) => e.credit += amount[i],
                _ => e.debit += amount[i],
            }
        }
        let mut not_completed: HashMap<String, Vec<NotCompleted>> = HashMap::new();
        let f = Frame::collect(
            tx.clone()
                .filter(completed.clone().not().fill_null(lit(true)))
                .sort([t.created_at], Default::default()),
            &[t.account_id, t.id, t.kind, t.reference_type, t.amount, t.status],
        )?;
        let (ids, row_ids, kinds, types, amount, statuses) = (
            f.text(t.account_id)?,
            f.text(t.id)?,
            f.text(t.kind)?,
            f.text(t.reference_type)?,
            f.money(t.amount)?,
            f.text(t.status)?,
        );
        for (i, id) in ids.into_iter().enumerate() {
            not_completed.entry(text(id)).or_default().push(NotCompleted {
                id: text(row_ids[i].clone()),
                kind: text(kinds[i].clone()),
                reference_type: text(types[i].clone()),
                amount: amount[i],
                status: statuses[i].clone(),
            });
        }
        // Refunds: the completed credits (few) are read, and the refunds among them kept, in
        // the order they were booked (the table's order within an account). Read by a plain
        // scan a batch at a time: polars' streaming engine held the whole ledger's columns for
        // this filter (1.5 GB for a 10M-call month's 7.2M rows, every other query under 0.3).
        let mut refunds: HashMap<String, Vec<Refund>> = HashMap::new();
        let columns = [
            t.account_id,
            t.id,
            t.kind,
            t.status,
            t.reference_type,
            t.reference,
            t.amount,
            t.refund_of,
            t.cdr_uuid,
        ];
        for rows in read::partition_columns::<TransactionRow>(layout, s.period, &columns)? {
            for r in rows? {
                let refund = r.kind == LedgerKind::Credit
                    && r.status.as_deref() == Some(LedgerStatus::Completed.as_str())
                    && crate::model::ledger::is_refund(&r.reference_type);
                if refund {
                    refunds.entry(r.account_id.to_string()).or_default().push(Refund {
                        id: r.id.to_string(),
                        amount: r.amount,
                        reference: r.reference.map(|v| v.to_string()),
                        refund_of: r.refund_of.map(|v| v.to_string()),
                        cdr_uuid: r.cdr_uuid.map(|v| v.to_string()),
                    });
                }
            }
        }
        let mut over_refunds: HashMap<String, Vec<OverRefund>> = HashMap::new();
        let f = Frame::collect(
            tx.clone().filter(col(t.refunded).gt(col(t.amount))),
            &[t.account_id, t.id, t.amount, t.refunded],
        )?;
        let (ids, row_ids, amount, refunded) = (
            f.text(t.account_id)?,
            f.text(t.id)?,
            f.money(t.amount)?,
            f.money(t.refunded)?,
        );
        for (i, id) in ids.into_iter().enumerate() {
            over_refunds.entry(text(id)).or_default().push(OverRefund {
                id: text(row_ids[i].clone()),
                what: "charge",
                amount: amount[i],
                refunded: refunded[i],
            });
        }
        let mut orphans: HashMap<String, Vec<Orphan>> = HashMap::new();
        let orphan_rows = tx.clone().filter(
            col(t.cdr_uuid)
                .is_not_null()
                .and(col(t.cdr_period).is_null())
                .and(col(t.kind).eq(lit(LedgerKind::Debit.as_str()))),
        );
        let f = Frame::collect(orphan_rows, &[t.account_id, t.id, t.cdr_uuid, t.amount])?;
        let (ids, row_ids, uuids, amount) = (
            f.text(t.account_id)?,
            f.text(t.id)?,
            f.text(t.cdr_uuid)?,
            f.money(t.amount)?,
        );
        for (i, id) in ids.into_iter().enumerate() {
            orphans.entry(text(id)).or_default().push(Orphan {
                id: text(row_ids[i].clone()),
                cdr_uuid: text(uuids[i].clone()),
                amount: amount[i],
            });
        }
        let mut foreign: HashMap<String, Vec<Foreign>> = HashMap::new();
        let currency = lit(s.currency.clone());
        let f = Frame::collect(
            tx.filter(col(t.currency).neq(currency.clone())),
            &[t.account_id, t.id, t.currency, t.amount],
        )?;
        let (ids, row_ids, currencies, amount) = (
            f.text(t.account_id)?,
            f.text(t.id)?,
            f.text(t.currency)?,
            f.money(t.amount)?,
        );
        for (i, id) in ids.into_iter().enumerate() {
            foreign.entry(text(id)).or_default().push(Foreign {
                table: "transaction",
                id: text(row_ids[i].clone()),
                currency: text(currencies[i].clone()),
                amount: amount[i],
            });
        }

        // Calls: per account, and each call whose debits do not add up to its cost.
        let cdrs = scan(&file(Table::Cdrs))?;
        let mut calls = HashMap::new();
        let per_account = cdrs.clone().group_by([col(c.account_id)]).agg([
            len().alias("n"),
            col(c.total_cost).sum(),
            col(c.debit_amount).sum(),
        ]);
        let f = Frame::collect(per_account, &[c.account_id, "n", c.total_cost, c.debit_amount])?;
        let (ids, n, cost, debited) = (
            f.text(c.account_id)?,
            f.count("n")?,
            f.money(c.total_cost)?,
            f.money(c.debit_amount)?,
        );
        for (i, id) in ids.into_iter().enumerate() {
            calls.insert(
                text(id),
                CallAgg {
                    count: n[i],
                    cost: cost[i],
                    debited: debited[i],
                },
            );
        }
        let mut call_mismatches: HashMap<String, Vec<CallMismatch>> = HashMap::new();
        let mismatched = cdrs
            .clone()
            .filter(col(c.debit_amount).neq(col(c.total_cost)))
            .sort([c.start_time], Default::default());
        let f = Frame::collect(
            mismatched,
            &[c.account_id, c.uuid, c.total_cost, c.debit_amount, c.debit_count],
        )?;
        let (ids, uuids, cost, debited, debits) = (
            f.text(c.account_id)?,
            f.text(c.uuid)?,
            f.money(c.total_cost)?,
            f.money(c.debit_amount)?,
            f.count(c.debit_count)?,
        );
        for (i, id) in ids.into_iter().enumerate() {
            call_mismatches.entry(text(id)).or_default().push(CallMismatch {
                uuid: text(uuids[i].clone()),
                cost: cost[i],
                debited: debited[i],
                debits: debits[i],
            });
        }
        let f = Frame::collect(
            cdrs.clone().filter(col(c.currency).neq(currency)),
            &[c.account_id, c.uuid, c.currency, c.total_cost],
        )?;
        let (ids, uuids, currencies, cost) = (
            f.text(c.account_id)?,
            f.text(c.uuid)?,
            f.text(c.currency)?,
            f.money(c.total_cost)?,
        );
        for (i, id) in ids.into_iter().enumerate() {
            foreign.entry(text(id)).or_default().push(Foreign {
                table: "call",
                id: text(uuids[i].clone()),
                currency: text(currencies[i].clone()),
                amount: cost[i],
            });
        }
        let f = Frame::collect(
            cdrs.clone().filter(col(c.refunded).gt(col(c.cost))),
            &[c.account_id, c.uuid, c.cost, c.refunded],
        )?;
        let (ids, uuids, cost, refunded) = (
            f.text(c.account_id)?,
            f.text(c.uuid)?,
            f.money(c.cost)?,
            f.money(c.refunded)?,
        );
        for (i, id) in ids.into_iter().enumerate() {
            over_refunds.entry(text(id)).or_default().push(OverRefund {
                id: text(uuids[i].clone()),
                what: "call",
                amount: cost[i],
                refunded: refunded[i],
            });
        }
        let subaccount_calls = subaccount_calls(&cdrs, &file(Table::Subaccounts))?;
        let mut cdr_days = HashMap::new();
        let by_day = cdrs
            .with_column(col(c.start_time).dt().date().alias("day"))
            .group_by([col("day")])
            .agg([len().alias("n"), col(c.total_cost).sum()]);
        let f = Frame::collect(by_day, &["day", "n", c.total_cost])?;
        let (days, n, cost) = (f.date("day")?, f.count("n")?, f.money(c.total_cost)?);
        for (i, day) in days.into_iter().enumerate() {
            let day = day.context("a call without a start day")?;
            cdr_days.insert(day.to_string(), (n[i], cost[i]));
        }

        // Analytics days wholly inside the period (the API's days are UTC).
        let (start, end) = (s.start, s.end);
        let mut days = Vec::new();
        let f = Frame::collect(
            scan(&file(Table::AnalyticsDaily))?.sort([d.date], Default::default()),
            &[d.date, d.total_calls, d.total_cost],
        )?;
        let (dates, n, cost) = (f.date(d.date)?, f.count(d.total_calls)?, f.money(d.total_cost)?);
        for (i, date) in dates.into_iter().enumerate() {
            let date = date.context("an analytics day without a date")?;
            let day_start = date.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
            if day_start >= start && day_start + chrono::Duration::days(1) <= end {
                days.push(Day {
                    date: date.to_string(),
                    calls: n[i],
                    cost: cost[i],
                });
            }
        }

        Ok(Self {
            accounts,
            balances,
            previous_closing,
            ledger,
            calls,
            call_mismatches,
            orphans,
            foreign,
            not_completed,
            refunds,
            over_refunds,
            days,
            cdr_days,
            subaccount_calls,
        })
    }
}

/// Calls per customer and subaccount, each subaccount looked up in its customer's list; for a
/// disabled one, the calls that started after it was disabled (usually none: only those are
/// read call by call).
fn subaccount_calls(cdrs: &LazyFrame, subaccounts: &Path) -> anyhow::Result<HashMap<String, Vec<SubaccountCalls>>> {
    let (c, s) = (CdrRow::COL, SubaccountRow::COL);
    let f = Frame::collect(
        scan(subaccounts)?,
        &[s.account_id, s.auth_id, s.name, s.enabled, s.updated_at],
    )?;
    let (owners, ids, names, enabled, updated) = (
        f.text(s.account_id)?,
        f.text(s.auth_id)?,
        f.text(s.name)?,
        f.flag(s.enabled)?,
        f.micros(s.updated_at)?,
    );
    let mut listed: HashMap<(String, String), ListedSubaccount> = HashMap::new();
    for i in 0..f.height() {
        listed.insert(
            (text(owners[i].clone()), text(ids[i].clone())),
            ListedSubaccount {
                name: text(names[i].clone()),
                enabled: enabled[i].unwrap_or(false),
                updated_at: updated[i],
            },
        );
    }
    let by_subaccount = cdrs
        .clone()
        .filter(col(c.subaccount_id).is_not_null())
        .group_by([col(c.account_id), col(c.subaccount_id)])
        .agg([
            len().alias("n"),
            col(c.total_cost).sum(),
            col(c.start_time).max().alias("last"),
        ])
        .sort([c.account_id, c.subaccount_id], Default::default());
    let f = Frame::collect(
        by_subaccount,
        &[c.account_id, c.subaccount_id, "n", c.total_cost, "last"],
    )?;
    let (owners, subs, n, cost, last) = (
        f.text(c.account_id)?,
        f.text(c.subaccount_id)?,
        f.count("n")?,
        f.money(c.total_cost)?,
        f.micros("last")?,
    );
    let mut out: HashMap<String, Vec<SubaccountCalls>> = HashMap::new();
    for i in 0..f.height() {
        let (owner, sub) = (text(owners[i].clone()), text(subs[i].clone()));
        let known = listed.remove(&(owner.clone(), sub.clone()));
        let disabled_at = known.as_ref().filter(|l| !l.enabled).and_then(|l| l.updated_at);
        let after_disabled = match (disabled_at, last[i]) {
            (Some(at), Some(last)) if last >= at => {
                let late = cdrs
                    .clone()
                    .filter(
                        col(c.account_id)
                            .eq(lit(owner.clone()))
                            .and(col(c.subaccount_id).eq(lit(sub.clone())))
                            .and(col(c.start_time).cast(DataType::Int64).gt_eq(lit(at))),
                    )
                    .sort([c.start_time, c.uuid], Default::default());
                let f = Frame::collect(late, &[c.uuid, c.total_cost])?;
                let (uuids, costs) = (f.text(c.uuid)?, f.money(c.total_cost)?);
                Some((
                    f.height() as i64,
                    costs.iter().sum(),
                    uuids.first().cloned().flatten().unwrap_or_default(),
                ))
            }
            _ => None,
        };
        out.entry(owner).or_default().push(SubaccountCalls {
            subaccount: sub,
            calls: n[i],
            cost: cost[i],
            listed: known,
            after_disabled,
        });
    }
    Ok(out)
}
