//! Everything reconciliation needs from the Parquet, through polars lazy scans. Values leave
//! polars as strings (a decimal's exact text) and are parsed into `Decimal` here.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use chrono::NaiveDate;
use polars::prelude::*;
use rust_decimal::Decimal;

use super::Settings;
use crate::layout::{Layout, Table};
use crate::model::money::parse_exact;

pub struct AccountInfo {
    pub auth_id: String,
    pub name: String,
    pub gstin: Option<String>,
    pub country: Option<String>,
    pub currency: Option<String>,
    pub is_active: bool,
}

pub struct BalanceInfo {
    pub balance: Decimal,
    pub closing_balance: Decimal,
    pub opening_balance: Decimal,
    pub period_credit: Decimal,
    pub period_debit: Decimal,
    pub net_after_period: Decimal,
    pub ledger_net_all_time: Decimal,
    pub low_balance_threshold: Option<Decimal>,
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

pub struct Figures {
    pub accounts: Vec<AccountInfo>,
    pub balances: HashMap<String, BalanceInfo>,
    pub previous_closing: HashMap<String, Decimal>,
    pub ledger: HashMap<String, LedgerAgg>,
    pub calls: HashMap<String, CallAgg>,
    pub call_mismatches: HashMap<String, Vec<CallMismatch>>,
    pub orphans: HashMap<String, Vec<Orphan>>,
    pub foreign: HashMap<String, Vec<Foreign>>,
    /// Analytics days that lie wholly inside the period.
    pub days: Vec<Day>,
    /// UTC day → (calls, exact cost) from the CDRs.
    pub cdr_days: HashMap<String, (i64, Decimal)>,
}

fn scan(path: &Path) -> anyhow::Result<LazyFrame> {
    anyhow::ensure!(path.exists(), "missing {} (run normalize first)", path.display());
    let p = path.to_str().context("non-UTF-8 path")?;
    Ok(LazyFrame::scan_parquet(PlRefPath::new(p), ScanArgsParquet::default())?)
}

/// Collect `lf` with every column as text; one `Vec` per row.
fn rows(lf: LazyFrame, columns: &[&str]) -> anyhow::Result<Vec<Vec<Option<String>>>> {
    let exprs: Vec<Expr> = columns.iter().map(|c| col(*c).cast(DataType::String)).collect();
    let df = lf.select(exprs).collect()?;
    let cols: Vec<&StringChunked> = columns
        .iter()
        .map(|c| df.column(c).and_then(|s| s.str()))
        .collect::<Result<_, _>>()?;
    Ok((0..df.height())
        .map(|i| cols.iter().map(|c| c.get(i).map(str::to_owned)).collect())
        .collect())
}

fn money(v: &Option<String>) -> anyhow::Result<Decimal> {
    let s = v.as_deref().context("missing amount")?;
    parse_exact(s).with_context(|| format!("amount {s:?}"))
}

fn money_opt(v: &Option<String>) -> anyhow::Result<Option<Decimal>> {
    v.as_deref()
        .map(|s| parse_exact(s).with_context(|| format!("amount {s:?}")))
        .transpose()
}

fn int(v: &Option<String>) -> anyhow::Result<i64> {
    Ok(v.as_deref().context("missing count")?.parse()?)
}

fn text(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

impl Figures {
    pub fn load(layout: &Layout, s: &Settings) -> anyhow::Result<Self> {
        let file = |t| layout.parquet_file(t, s.period);
        let accounts = rows(
            scan(&file(Table::Accounts))?.sort(["auth_id"], Default::default()),
            &["auth_id", "name", "gstin", "country", "currency", "is_active"],
        )?
        .into_iter()
        .map(|r| AccountInfo {
            auth_id: text(&r[0]),
            name: text(&r[1]),
            gstin: r[2].clone(),
            country: r[3].clone(),
            currency: r[4].clone(),
            is_active: r[5].as_deref() != Some("false"),
        })
        .collect();

        let balance_cols = [
            "auth_id",
            "balance",
            "closing_balance",
            "opening_balance",
            "period_credit",
            "period_debit",
            "net_after_period",
            "ledger_net_all_time",
            "low_balance_threshold",
        ];
        let mut balances = HashMap::new();
        for r in rows(scan(&file(Table::Balances))?, &balance_cols)? {
            balances.insert(
                text(&r[0]),
                BalanceInfo {
                    balance: money(&r[1])?,
                    closing_balance: money(&r[2])?,
                    opening_balance: money(&r[3])?,
                    period_credit: money(&r[4])?,
                    period_debit: money(&r[5])?,
                    net_after_period: money(&r[6])?,
                    ledger_net_all_time: money(&r[7])?,
                    low_balance_threshold: money_opt(&r[8])?,
                },
            );
        }
        let mut previous_closing = HashMap::new();
        let prev = layout.parquet_file(Table::Balances, s.period.previous());
        if prev.exists() {
            for r in rows(scan(&prev)?, &["auth_id", "closing_balance"])? {
                previous_closing.insert(text(&r[0]), money(&r[1])?);
            }
        }

        // Ledger: per account and type.
        let tx = scan(&file(Table::Transactions))?;
        let mut ledger: HashMap<String, LedgerAgg> = HashMap::new();
        let by_type = tx
            .clone()
            .group_by([col("account_id"), col("type")])
            .agg([len().alias("n"), col("amount").sum().alias("amount")]);
        for r in rows(by_type, &["account_id", "type", "n", "amount"])? {
            let e = ledger.entry(text(&r[0])).or_default();
            e.rows += int(&r[2])?;
            match r[1].as_deref() {
                Some("credit") => e.credit += money(&r[3])?,
                _ => e.debit += money(&r[3])?,
            }
        }
        let mut orphans: HashMap<String, Vec<Orphan>> = HashMap::new();
        let orphan_rows = tx.clone().filter(
            col("cdr_uuid")
                .is_not_null()
                .and(col("cdr_period").is_null())
                .and(col("type").eq(lit("debit"))),
        );
        for r in rows(orphan_rows, &["account_id", "id", "cdr_uuid", "amount"])? {
            orphans.entry(text(&r[0])).or_default().push(Orphan {
                id: text(&r[1]),
                cdr_uuid: text(&r[2]),
                amount: money(&r[3])?,
            });
        }
        let mut foreign: HashMap<String, Vec<Foreign>> = HashMap::new();
        let currency = lit(s.currency.clone());
        for r in rows(
            tx.filter(col("currency").neq(currency.clone())),
            &["account_id", "id", "currency", "amount"],
        )? {
            foreign.entry(text(&r[0])).or_default().push(Foreign {
                table: "transaction",
                id: text(&r[1]),
                currency: text(&r[2]),
                amount: money(&r[3])?,
            });
        }

        // Calls: per account, and each call whose debits do not add up to its cost.
        let cdrs = scan(&file(Table::Cdrs))?;
        let mut calls = HashMap::new();
        let per_account = cdrs.clone().group_by([col("account_id")]).agg([
            len().alias("n"),
            col("total_cost").sum().alias("cost"),
            col("debit_amount").sum().alias("debited"),
        ]);
        for r in rows(per_account, &["account_id", "n", "cost", "debited"])? {
            calls.insert(
                text(&r[0]),
                CallAgg {
                    count: int(&r[1])?,
                    cost: money(&r[2])?,
                    debited: money(&r[3])?,
                },
            );
        }
        let mut call_mismatches: HashMap<String, Vec<CallMismatch>> = HashMap::new();
        let mismatched = cdrs
            .clone()
            .filter(col("debit_amount").neq(col("total_cost")))
            .sort(["start_time"], Default::default());
        for r in rows(
            mismatched,
            &["account_id", "uuid", "total_cost", "debit_amount", "debit_count"],
        )? {
            call_mismatches.entry(text(&r[0])).or_default().push(CallMismatch {
                uuid: text(&r[1]),
                cost: money(&r[2])?,
                debited: money(&r[3])?,
                debits: int(&r[4])?,
            });
        }
        for r in rows(
            cdrs.clone().filter(col("currency").neq(currency)),
            &["account_id", "uuid", "currency", "total_cost"],
        )? {
            foreign.entry(text(&r[0])).or_default().push(Foreign {
                table: "call",
                id: text(&r[1]),
                currency: text(&r[2]),
                amount: money(&r[3])?,
            });
        }
        let mut cdr_days = HashMap::new();
        let by_day = cdrs
            .with_column(col("start_time").dt().date().alias("day"))
            .group_by([col("day")])
            .agg([len().alias("n"), col("total_cost").sum().alias("cost")]);
        for r in rows(by_day, &["day", "n", "cost"])? {
            cdr_days.insert(text(&r[0]), (int(&r[1])?, money(&r[2])?));
        }

        // Analytics days wholly inside the period (the API's days are UTC).
        let (start, end) = s.period.bounds(s.time_zone);
        let mut days = Vec::new();
        for r in rows(
            scan(&file(Table::AnalyticsDaily))?.sort(["date"], Default::default()),
            &["date", "total_calls", "total_cost"],
        )? {
            let date = text(&r[0]);
            let d = NaiveDate::parse_from_str(&date, "%Y-%m-%d").with_context(|| format!("analytics date {date:?}"))?;
            let day_start = d.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
            if day_start >= start && day_start + chrono::Duration::days(1) <= end {
                days.push(Day {
                    date,
                    calls: int(&r[1])?,
                    cost: money(&r[2])?,
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
            days,
            cdr_days,
        })
    }
}
