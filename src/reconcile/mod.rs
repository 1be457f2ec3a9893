//! Reconcile: check a period's tables against each other and against the API's own figures.
//!
//! Polars lives only here: lazy scans, filters and group-bys over the Parquet partitions.
//! Every money figure leaves polars as an exact decimal string and is compared as
//! `rust_decimal::Decimal`, never as a float.
//!
//! Checks, per account:
//! - the balance snapshot equals the all-time ledger net (an unexplained jump fails), and the
//!   period's opening balance equals the previous period's closing balance where present;
//! - every charged call has ledger debits referencing it that add up to its cost (missing,
//!   duplicated, or differing debits are reported per call);
//! - no call debit references a call that does not exist (orphan);
//! - every row is in the partner's currency;
//! - the GSTIN, when present, is valid (a warning otherwise; missing GSTINs of Indian customers
//!   are noted as B2C);
//! - the balance is above the low-balance threshold.
//!
//! And for the partner: per UTC day fully inside the period, calls and cost from the CDRs
//! equal the analytics endpoint's figures (the API rounds each day's cost to the paisa).

mod figures;
pub mod html;

use std::collections::BTreeMap;

use anyhow::Context;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::context::RunContext;
use crate::layout::Layout;
use crate::model::money::{fixed, round_paise};
use crate::model::{Gstin, Period};
use crate::store::partition::{PartitionWriter, TableStats};
pub use crate::store::reconciliation::{AccountCheck, ExceptionKind, ExceptionRow, Severity};
use figures::Figures;

#[derive(Debug, Clone, Serialize, Default)]
pub struct Report {
    pub accounts: usize,
    pub errors: usize,
    pub warnings: usize,
    pub notes: usize,
    pub tables: BTreeMap<String, TableStats>,
    pub seconds: f64,
}

pub struct Outcome {
    pub report: Report,
    pub checks: Vec<AccountCheck>,
    pub exceptions: Vec<ExceptionRow>,
}

pub fn run(s: &RunContext) -> anyhow::Result<Outcome> {
    let started = std::time::Instant::now();
    let layout = &s.layout;
    let (tolerance, default_low_balance) = (s.config.reconcile.tolerance, s.config.reconcile.default_low_balance);
    let f = Figures::load(s).context("reading the period's tables")?;
    let mut exceptions: Vec<ExceptionRow> = Vec::new();
    let mut checks = Vec::new();
    let beyond = |d: Decimal| d.abs() > tolerance;
    let mut rejected = rejected_rows(layout, s.period);

    for a in &f.accounts {
        let mut ex: Vec<ExceptionRow> = Vec::new();
        let mut add = |severity,
                       kind: ExceptionKind,
                       reference: Option<String>,
                       expected: Option<Decimal>,
                       actual: Option<Decimal>,
                       detail: String| {
            ex.push(ExceptionRow {
                auth_id: a.auth_id.clone(),
                name: a.name.clone(),
                severity,
                kind,
                reference,
                expected,
                actual,
                difference: match (expected, actual) {
                    (Some(e), Some(x)) => Some(x - e),
                    _ => None,
                },
                detail,
            })
        };
        let b = f.balances.get(&a.auth_id);
        let tx = f.ledger.get(&a.auth_id).cloned().unwrap_or_default();
        let calls = f.calls.get(&a.auth_id).cloned().unwrap_or_default();

        // Balances: snapshot vs the all-time ledger, and continuity with last period.
        let (mut opening, mut closing, mut expected_closing) = (None, None, None);
        match b {
            None => add(
                Severity::Error,
                ExceptionKind::MissingBalance,
                None,
                None,
                None,
                "no balance snapshot for the account".into(),
            ),
            Some(b) => {
                closing = Some(b.closing_balance);
                opening = Some(b.opening_balance);
                let unexplained = b.balance - b.ledger_net_all_time;
                if beyond(unexplained) {
                    add(
                        Severity::Error,
                        ExceptionKind::BalanceMismatch,
                        None,
                        Some(b.ledger_net_all_time),
                        Some(b.balance),
                        format!(
                            "balance {} is not explained by the ledger ({} all time)",
                            b.balance, b.ledger_net_all_time
                        ),
                    );
                }
                let expected_opening = f.previous_closing.get(&a.auth_id).copied();
                if let Some(prev) = expected_opening
                    && beyond(b.opening_balance - prev)
                {
                    add(
                        Severity::Error,
                        ExceptionKind::OpeningMismatch,
                        None,
                        Some(prev),
                        Some(b.opening_balance),
                        format!("opening balance differs from {}'s closing balance", s.period.previous()),
                    );
                }
                // With last period's close as the anchor (else the ledger's), the period must add up.
                let anchor =
                    expected_opening.unwrap_or(b.ledger_net_all_time - b.net_after_period - (tx.credit - tx.debit));
                expected_closing = Some(anchor + tx.credit - tx.debit);
                if b.period_credit != tx.credit || b.period_debit != tx.debit {
                    add(
                        Severity::Error,
                        ExceptionKind::LedgerInconsistent,
                        None,
                        Some(b.period_credit - b.period_debit),
                        Some(tx.credit - tx.debit),
                        "period credits/debits differ between balances and transactions".into(),
                    );
                }
                let threshold = b.low_balance_threshold.unwrap_or(default_low_balance);
                if b.balance <= threshold && a.is_active {
                    add(
                        Severity::Warning,
                        ExceptionKind::LowBalance,
                        None,
                        Some(threshold),
                        Some(b.balance),
                        format!(
                            "balance {} is at or below the threshold {}",
                            fixed(b.balance, 2),
                            fixed(threshold, 2)
                        ),
                    );
                }
            }
        }
        for m in f.call_mismatches.get(&a.auth_id).into_iter().flatten() {
            if !beyond(m.debited - m.cost) {
                continue;
            }
            let kind = if m.debits == 0 {
                ExceptionKind::MissingDebit
            } else if m.debits > 1 && m.debited > m.cost {
                ExceptionKind::DuplicateDebit
            } else {
                ExceptionKind::DebitAmountMismatch
            };
            let detail = format!(
                "call {} cost {} but was debited {} in {} row(s)",
                m.uuid, m.cost, m.debited, m.debits
            );
            add(
                Severity::Error,
                kind,
                Some(m.uuid.clone()),
                Some(m.cost),
                Some(m.debited),
                detail,
            );
        }
        for o in f.orphans.get(&a.auth_id).into_iter().flatten() {
            let detail = format!("debit {} references call {} which does not exist", o.id, o.cdr_uuid);
            add(
                Severity::Error,
                ExceptionKind::OrphanDebit,
                Some(o.id.clone()),
                None,
                Some(o.amount),
                detail,
            );
        }
        // Rows normalize could not store are missing from every figure above: say which.
        for r in rejected.remove(&a.auth_id).into_iter().flatten() {
            let detail = format!("{} row not stored: {}", r.table, r.reason);
            add(Severity::Error, ExceptionKind::RejectedRow, r.key, None, None, detail);
        }
        for c in f.foreign.get(&a.auth_id).into_iter().flatten() {
            let detail = format!("{} {} is in {}, not {}", c.table, c.id, c.currency, s.currency);
            add(
                Severity::Error,
                ExceptionKind::CurrencyMismatch,
                Some(c.id.clone()),
                None,
                Some(c.amount),
                detail,
            );
        }
        let gstin_status = match a.gstin.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
            Some(g) => match Gstin::parse(g) {
                Ok(_) => "valid",
                Err(e) => {
                    // Data quality, not a money discrepancy: flagged, and never invoiced as B2B.
                    let detail = format!("{e}; the customer cannot be invoiced as registered (B2B)");
                    add(
                        Severity::Warning,
                        ExceptionKind::InvalidGstin,
                        Some(g.chars().take(20).collect()),
                        None,
                        None,
                        detail,
                    );
                    "invalid"
                }
            },
            None if a.country.as_deref().is_none_or(|c| c == "IN") => {
                add(
                    Severity::Note,
                    ExceptionKind::MissingGstin,
                    None,
                    None,
                    None,
                    "no GSTIN: invoiced as an unregistered (B2C) customer".into(),
                );
                "missing"
            }
            None => "not applicable",
        };
        let status = ex.iter().map(|e| e.severity).max().unwrap_or(Severity::Ok);
        checks.push(AccountCheck {
            auth_id: a.auth_id.clone(),
            name: a.name.clone(),
            currency: a.currency.clone().unwrap_or_else(|| s.currency.clone()),
            opening_balance: opening,
            credits: tx.credit,
            debits: tx.debit,
            closing_balance: closing,
            expected_closing,
            balance: b.map(|b| b.balance),
            ledger_rows: tx.rows,
            calls: calls.count,
            call_cost: calls.cost,
            call_debits: calls.debited,
            gstin: a.gstin.clone(),
            gstin_status: gstin_status.to_string(),
            exceptions: ex.iter().filter(|e| e.severity >= Severity::Warning).count() as i64,
            status,
        });
        exceptions.extend(ex);
    }

    // Rejected rows of accounts that are not in the accounts table (or of the partner's pages).
    for (account, rows) in rejected {
        for r in rows {
            exceptions.push(ExceptionRow {
                auth_id: account.clone(),
                name: String::new(),
                severity: Severity::Error,
                kind: ExceptionKind::RejectedRow,
                reference: r.key,
                expected: None,
                actual: None,
                difference: None,
                detail: format!("{} row not stored: {}", r.table, r.reason),
            });
        }
    }

    // Partner: CDRs vs analytics, per UTC day fully inside the period.
    for d in &f.days {
        let (calls, cost) = f.cdr_days.get(&d.date).copied().unwrap_or_default();
        let rounded = round_paise(cost);
        if calls != d.calls || beyond(rounded - d.cost) {
            exceptions.push(ExceptionRow {
                auth_id: String::new(),
                name: "partner".into(),
                severity: Severity::Error,
                kind: ExceptionKind::AnalyticsMismatch,
                reference: Some(d.date.clone()),
                expected: Some(d.cost),
                actual: Some(rounded),
                difference: Some(rounded - d.cost),
                detail: format!(
                    "{}: analytics say {} calls costing {}, CDRs give {calls} costing {rounded}",
                    d.date, d.calls, d.cost
                ),
            });
        }
    }

    exceptions.sort_by(|a, b| {
        (std::cmp::Reverse(a.severity), &a.auth_id, a.kind.as_str(), &a.reference).cmp(&(
            std::cmp::Reverse(b.severity),
            &b.auth_id,
            b.kind.as_str(),
            &b.reference,
        ))
    });
    let mut report = Report {
        accounts: checks.len(),
        errors: exceptions.iter().filter(|e| e.severity == Severity::Error).count(),
        warnings: exceptions.iter().filter(|e| e.severity == Severity::Warning).count(),
        notes: exceptions.iter().filter(|e| e.severity == Severity::Note).count(),
        ..Default::default()
    };
    let meta = vec![("vobiz_billing.period".to_string(), s.period.to_string())];
    let mut w = PartitionWriter::<AccountCheck>::for_period(layout, s.period, meta.clone())?;
    for c in &checks {
        w.push(c.clone())?;
    }
    report.tables.insert("reconciliation".into(), w.finish()?);
    let mut w = PartitionWriter::<ExceptionRow>::for_period(layout, s.period, meta)?;
    for e in &exceptions {
        w.push(e.clone())?;
    }
    report.tables.insert("exceptions".into(), w.finish()?);
    report.seconds = started.elapsed().as_secs_f64();
    Ok(Outcome {
        report,
        checks,
        exceptions,
    })
}

/// A row normalize rejected, as its section of the manifest records it.
#[derive(Debug, serde::Deserialize)]
struct RejectedRow {
    table: String,
    account: String,
    key: Option<String>,
    reason: String,
}

/// The period's rejected rows by account, from the manifest's `normalize` section (empty when
/// the manifest has none).
fn rejected_rows(layout: &Layout, period: Period) -> BTreeMap<String, Vec<RejectedRow>> {
    #[derive(serde::Deserialize)]
    struct Manifest {
        normalize: Option<Normalize>,
    }
    #[derive(serde::Deserialize)]
    struct Normalize {
        #[serde(default)]
        rejects: Vec<RejectedRow>,
    }
    let mut by_account = BTreeMap::<String, Vec<RejectedRow>>::new();
    let rejects = std::fs::read(layout.manifest(period))
        .ok()
        .and_then(|b| serde_json::from_slice::<Manifest>(&b).ok())
        .and_then(|m| m.normalize)
        .map(|n| n.rejects)
        .unwrap_or_default();
    for r in rejects {
        by_account.entry(r.account.clone()).or_default().push(r);
    }
    by_account
}
