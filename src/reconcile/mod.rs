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
//! - the balance is above the low-balance threshold;
//! - every call placed by a subaccount is by one the customer's list shows, and not after it
//!   was disabled.
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
use crate::model::LedgerStatus;
use crate::model::money::{fixed, round_paise};
use crate::model::place::{self, AddressState, Registration};
use crate::model::tax::Treatment;
use crate::model::{Gstin, Period};
use crate::store::partition::{PartitionWriter, TableStats};
pub use crate::store::reconciliation::{AccountCheck, ExceptionKind, ExceptionRow, Severity};
use figures::{
    AccountInfo, BalanceInfo, CallMismatch, Figures, Foreign, LedgerAgg, NotCompleted, Orphan, OverRefund, Refund,
    SubaccountCalls,
};

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
    let limits = Limits {
        tolerance: s.config.reconcile.tolerance,
        default_low_balance: s.config.reconcile.default_low_balance,
    };
    let f = Figures::load(s).context("reading the period's tables")?;
    let mut rejected = rejected_rows(&s.layout, s.period);
    let (mut checks, mut exceptions) = (Vec::new(), Vec::new());
    for a in &f.accounts {
        let rejects = rejected.remove(&a.auth_id).unwrap_or_default();
        let (check, found) = check_account(s, &f, limits, a, rejects);
        checks.push(check);
        exceptions.extend(found.rows);
    }
    for (account, rows) in rejected {
        exceptions.extend(unattributed_rejects(account, rows).rows);
    }
    exceptions.extend(analytics_per_day(&f, limits).rows);
    sort(&mut exceptions);
    let report = write(s, &checks, &exceptions, started)?;
    Ok(Outcome {
        report,
        checks,
        exceptions,
    })
}

/// The configured limits every check compares against.
#[derive(Debug, Clone, Copy)]
struct Limits {
    tolerance: Decimal,
    default_low_balance: Decimal,
}

impl Limits {
    /// A difference larger than the tolerance either way.
    fn beyond(self, d: Decimal) -> bool {
        d.abs() > self.tolerance
    }
}

/// The exceptions found about one account (or the partner), in the order the checks ran.
struct Found {
    auth_id: String,
    name: String,
    rows: Vec<ExceptionRow>,
}

impl Found {
    fn new(auth_id: &str, name: &str) -> Self {
        Self {
            auth_id: auth_id.to_string(),
            name: name.to_string(),
            rows: Vec::new(),
        }
    }

    fn add(
        &mut self,
        severity: Severity,
        kind: ExceptionKind,
        reference: Option<String>,
        expected: Option<Decimal>,
        actual: Option<Decimal>,
        detail: String,
    ) {
        self.rows.push(ExceptionRow {
            auth_id: self.auth_id.clone(),
            name: self.name.clone(),
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
    }
}

/// Every check of one account, in order, and the account's line of the reconciliation.
fn check_account(
    s: &RunContext,
    f: &Figures,
    limits: Limits,
    a: &AccountInfo,
    rejects: Vec<RejectedRow>,
) -> (AccountCheck, Found) {
    let mut ex = Found::new(&a.auth_id, &a.name);
    let b = f.balances.get(&a.auth_id);
    let previous_closing = f.previous_closing.get(&a.auth_id).copied();
    let tx = f.ledger.get(&a.auth_id).cloned().unwrap_or_default();
    let calls = f.calls.get(&a.auth_id).cloned().unwrap_or_default();

    match b {
        None => ex.add(
            Severity::Error,
            ExceptionKind::MissingBalance,
            None,
            None,
            None,
            "no balance snapshot for the account".into(),
        ),
        Some(b) => {
            balance_vs_all_time_ledger(b, limits, &mut ex);
            opening_vs_previous_closing(b, previous_closing, s.period, limits, &mut ex);
            window_vs_api_summary(b, limits, &mut ex);
            low_balance(a, b, limits, &mut ex);
        }
    }
    ledger_statuses(f.not_completed.get(&a.auth_id), &mut ex);
    refunds(f.refunds.get(&a.auth_id), f.over_refunds.get(&a.auth_id), &mut ex);
    call_debits(f.call_mismatches.get(&a.auth_id), limits, &mut ex);
    orphan_debits(f.orphans.get(&a.auth_id), &mut ex);
    // Rows normalize could not store are missing from every figure above: say which.
    rejected_rows_of(rejects, &mut ex);
    foreign_currency(f.foreign.get(&a.auth_id), &s.currency, &mut ex);
    let gstin_status = recipient(a, &mut ex);
    sez(a, s.config.invoice.sez(&a.auth_id), gstin_status, &mut ex);
    opened_or_closed(a, calls.count, s, &mut ex);
    subaccount_usage(f.subaccount_calls.get(&a.auth_id), &mut ex);

    let check = AccountCheck {
        auth_id: a.auth_id.clone(),
        name: a.name.clone(),
        currency: a.currency.clone().unwrap_or_else(|| s.currency.clone()),
        opening_balance: b.map(|b| b.opening_balance),
        credits: tx.credit,
        debits: tx.debit,
        closing_balance: b.map(|b| b.closing_balance),
        expected_closing: b.map(|b| expected_closing(b, previous_closing, &tx)),
        balance: b.map(|b| b.balance),
        ledger_rows: tx.rows,
        calls: calls.count,
        call_cost: calls.cost,
        call_debits: calls.debited,
        gstin: a.gstin.clone(),
        gstin_status: gstin_status.to_string(),
        exceptions: ex.rows.iter().filter(|e| e.severity >= Severity::Warning).count() as i64,
        status: ex.rows.iter().map(|e| e.severity).max().unwrap_or(Severity::Ok),
    };
    (check, ex)
}

/// The balance snapshot must be the all-time ledger net: an unexplained jump fails.
fn balance_vs_all_time_ledger(b: &BalanceInfo, limits: Limits, ex: &mut Found) {
    let unexplained = b.balance - b.ledger_net_all_time;
    if limits.beyond(unexplained) {
        ex.add(
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
}

/// The period opens where the previous one closed, when that one was reconciled.
fn opening_vs_previous_closing(
    b: &BalanceInfo,
    previous_closing: Option<Decimal>,
    period: Period,
    limits: Limits,
    ex: &mut Found,
) {
    if let Some(prev) = previous_closing
        && limits.beyond(b.opening_balance - prev)
    {
        ex.add(
            Severity::Error,
            ExceptionKind::OpeningMismatch,
            None,
            Some(prev),
            Some(b.opening_balance),
            format!("opening balance differs from {}'s closing balance", period.previous()),
        );
    }
}

/// With last period's close as the anchor (else the ledger's), the period must add up.
fn expected_closing(b: &BalanceInfo, previous_closing: Option<Decimal>, tx: &LedgerAgg) -> Decimal {
    let anchor = previous_closing.unwrap_or(b.ledger_net_all_time - b.net_after_period - (tx.credit - tx.debit));
    anchor + tx.credit - tx.debit
}

/// The rows stored of the ledger window add up to what the API's own summary of that window
/// says: a difference is rows lost on the way (rejected by normalize, or missing from the
/// pages), so the period's figures lack them.
fn window_vs_api_summary(b: &BalanceInfo, limits: Limits, ex: &mut Found) {
    let Some((api_credit, api_debit)) = b.api_window else {
        return;
    };
    let (credit, debit) = b.window;
    for (side, api, stored) in [("credits", api_credit, credit), ("debits", api_debit, debit)] {
        if limits.beyond(stored - api) {
            ex.add(
                Severity::Error,
                ExceptionKind::LedgerInconsistent,
                None,
                Some(api),
                Some(stored),
                format!(
                    "the API's ledger summary puts the window's {side} at {api}, the rows stored add up to {stored}: {} is missing from the period's figures (see rejected_row)",
                    api - stored
                ),
            );
        }
    }
}

/// Rows that did not move money are listed (notes); a status nobody documented is an error.
fn ledger_statuses(rows: Option<&Vec<NotCompleted>>, ex: &mut Found) {
    for r in rows.into_iter().flatten() {
        let what = format!("{} {} ({}) of {}", r.kind, r.id, r.reference_type, fixed(r.amount, 2));
        match LedgerStatus::parse(r.status.as_deref()) {
            Some(status) => ex.add(
                Severity::Note,
                ExceptionKind::LedgerNotCompleted,
                Some(r.id.clone()),
                None,
                Some(r.amount),
                format!("{what} is {}: not billed, not in the balance", status.as_str()),
            ),
            None => ex.add(
                Severity::Error,
                ExceptionKind::UnknownLedgerStatus,
                Some(r.id.clone()),
                None,
                Some(r.amount),
                format!(
                    "{what} has the status {:?}, which the API does not document: whether its money moved is unknown, so it is left out of the balances and a charge of it stops the invoice",
                    r.status.as_deref().unwrap_or("(none)")
                ),
            ),
        }
    }
}

/// Refunds that reverse a billed call or charge (notes: billed net of them), refunds naming
/// one that was not fetched (warnings), and calls or charges refunded above their cost.
fn refunds(refunds: Option<&Vec<Refund>>, over: Option<&Vec<OverRefund>>, ex: &mut Found) {
    for r in refunds.into_iter().flatten() {
        let named = r.cdr_uuid.clone().or_else(|| {
            r.reference
                .as_deref()
                .and_then(crate::model::ledger::refunded_debit_id)
                .map(str::to_string)
        });
        match (&r.refund_of, named) {
            (Some(of), named) => ex.add(
                Severity::Note,
                ExceptionKind::SupplyRefunded,
                Some(r.id.clone()),
                None,
                Some(r.amount),
                format!(
                    "refund {} of {} reverses {} {}: the supply is billed net of it",
                    r.id,
                    fixed(r.amount, 2),
                    if of == "cdr" { "call" } else { of.as_str() },
                    named.unwrap_or_default()
                ),
            ),
            (None, Some(named)) => ex.add(
                Severity::Warning,
                ExceptionKind::UnmatchedRefund,
                Some(r.id.clone()),
                None,
                Some(r.amount),
                format!(
                    "refund {} of {} names {named}, which is not among the calls and charges fetched (another period's?): it reduces nothing billed here",
                    r.id,
                    fixed(r.amount, 2)
                ),
            ),
            // A refund naming nothing (goodwill): a credit to the wallet, not a reversal.
            (None, None) => {}
        }
    }
    for o in over.into_iter().flatten() {
        ex.add(
            Severity::Error,
            ExceptionKind::RefundExceedsCharge,
            Some(o.id.clone()),
            Some(o.amount),
            Some(o.refunded),
            format!(
                "{} {} cost {} but was refunded {}: no invoice is issued until this is explained",
                o.what, o.id, o.amount, o.refunded
            ),
        );
    }
}

/// SEZ customers as configured: noted, an error without a valid GSTIN; an account that says
/// SEZ but is not configured is a warning (the API has no SEZ field, so config decides).
fn sez(a: &AccountInfo, configured: Option<Treatment>, gstin_status: &str, ex: &mut Found) {
    match configured {
        Some(t) if gstin_status == "valid" => ex.add(
            Severity::Note,
            ExceptionKind::Sez,
            a.gstin.clone(),
            None,
            None,
            match t {
                Treatment::SezUnderLut => "an SEZ unit or developer (configured): zero-rated under LUT",
                _ => "an SEZ unit or developer (configured): IGST with payment, whatever its state",
            }
            .into(),
        ),
        Some(_) => ex.add(
            Severity::Error,
            ExceptionKind::Sez,
            a.gstin.clone(),
            None,
            None,
            format!("configured as an SEZ customer, but its GSTIN is {gstin_status}: no invoice is issued until the two agree"),
        ),
        None => {
            let says_sez = [a.company.as_deref(), a.address.as_deref(), Some(a.name.as_str())]
                .into_iter()
                .flatten()
                .any(|t| {
                let t = t.to_ascii_lowercase();
                t.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| w == "sez") || t.contains("special economic zone")
            });
            if says_sez {
                ex.add(
                    Severity::Warning,
                    ExceptionKind::PossibleSez,
                    None,
                    None,
                    None,
                    "the account's name or address says SEZ, but it is not in [invoice] sez_with_payment or sez_under_lut: taxed as any other customer".into(),
                );
            }
        }
    }
}

/// An account opened during the period (a part month), or inactive with usage in it.
fn opened_or_closed(a: &AccountInfo, calls: i64, s: &RunContext, ex: &mut Found) {
    let opened = crate::model::time::from_micros(a.created_at);
    if opened >= s.start && opened < s.end {
        ex.add(
            Severity::Note,
            ExceptionKind::OpenedInPeriod,
            None,
            None,
            None,
            format!(
                "opened on {}: billed for part of the month",
                opened.with_timezone(&s.time_zone).date_naive()
            ),
        );
    }
    if !a.is_active && calls > 0 {
        ex.add(
            Severity::Note,
            ExceptionKind::ClosedInPeriod,
            None,
            None,
            None,
            format!("inactive now, with {calls} calls in the period: billed for them"),
        );
    }
}

/// Calls by a subaccount the list does not show, or by a disabled one after it was disabled:
/// still the customer's calls, charged to its wallet and billed to it (it is the recipient),
/// but nobody can say which of its users made them, so each is an error to look into.
fn subaccount_usage(used: Option<&Vec<SubaccountCalls>>, ex: &mut Found) {
    for u in used.into_iter().flatten() {
        match &u.listed {
            None => ex.add(
                Severity::Error,
                ExceptionKind::UnknownSubaccount,
                Some(u.subaccount.clone()),
                None,
                Some(u.cost),
                format!(
                    "{} calls costing {} by subaccount {}, which the customer's subaccount list does not show (deleted, or not listed)",
                    u.calls, u.cost, u.subaccount
                ),
            ),
            Some(l) => {
                if let Some((n, cost, first)) = &u.after_disabled {
                    ex.add(
                        Severity::Error,
                        ExceptionKind::DisabledSubaccount,
                        Some(u.subaccount.clone()),
                        None,
                        Some(*cost),
                        format!(
                            "{n} calls costing {cost} by subaccount {} ({}) after it was disabled on {}, the first {first}",
                            u.subaccount,
                            l.name,
                            l.updated_at
                                .map(|t| crate::model::time::from_micros(t).format("%Y-%m-%d %H:%M UTC").to_string())
                                .unwrap_or_default()
                        ),
                    );
                }
            }
        }
    }
}

/// An active account's balance at or below its threshold (else the configured default).
fn low_balance(a: &AccountInfo, b: &BalanceInfo, limits: Limits, ex: &mut Found) {
    let threshold = b.low_balance_threshold.unwrap_or(limits.default_low_balance);
    if b.balance <= threshold && a.is_active {
        ex.add(
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

/// Every charged call is debited its cost: missing, duplicated or differing debits, per call.
fn call_debits(mismatches: Option<&Vec<CallMismatch>>, limits: Limits, ex: &mut Found) {
    for m in mismatches.into_iter().flatten() {
        if !limits.beyond(m.debited - m.cost) {
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
        ex.add(
            Severity::Error,
            kind,
            Some(m.uuid.clone()),
            Some(m.cost),
            Some(m.debited),
            detail,
        );
    }
}

/// No call debit references a call that does not exist.
fn orphan_debits(orphans: Option<&Vec<Orphan>>, ex: &mut Found) {
    for o in orphans.into_iter().flatten() {
        let detail = format!("debit {} references call {} which does not exist", o.id, o.cdr_uuid);
        ex.add(
            Severity::Error,
            ExceptionKind::OrphanDebit,
            Some(o.id.clone()),
            None,
            Some(o.amount),
            detail,
        );
    }
}

/// The rows normalize rejected, one error each.
fn rejected_rows_of(rejects: Vec<RejectedRow>, ex: &mut Found) {
    for r in rejects {
        let detail = format!("{} row not stored: {}", r.table, r.reason);
        ex.add(Severity::Error, ExceptionKind::RejectedRow, r.key, None, None, detail);
    }
}

/// Every row is in the partner's currency.
fn foreign_currency(foreign: Option<&Vec<Foreign>>, currency: &str, ex: &mut Found) {
    for c in foreign.into_iter().flatten() {
        let detail = format!("{} {} is in {}, not {}", c.table, c.id, c.currency, currency);
        ex.add(
            Severity::Error,
            ExceptionKind::CurrencyMismatch,
            Some(c.id.clone()),
            None,
            Some(c.amount),
            detail,
        );
    }
}

/// Who the customer is for GST: its GSTIN, its registration's status and its address's state.
/// Returns the account's GSTIN status ("valid", "invalid", "inactive", "missing", …).
fn recipient(a: &AccountInfo, ex: &mut Found) -> &'static str {
    let status = registration(a, gstin(a, ex), ex);
    address_state(a, status, ex);
    if a.company.as_deref().is_none_or(|c| c.trim().is_empty()) {
        ex.add(
            Severity::Note,
            ExceptionKind::BlankCompany,
            None,
            None,
            None,
            format!("no company name: documents are addressed to {:?}", a.name),
        );
    }
    status
}

/// A valid GSTIN whose registration the account marks inactive is a warning (invoiced as
/// B2C; the status becomes "inactive"); a `gst_status` nobody knows is an error.
fn registration(a: &AccountInfo, status: &'static str, ex: &mut Found) -> &'static str {
    match place::registration(a.gst_status.as_deref()) {
        Registration::Inactive if status == "valid" => {
            ex.add(
                Severity::Warning,
                ExceptionKind::InactiveGstin,
                a.gstin.clone(),
                None,
                None,
                "the registration is inactive (gst_status): invoiced as an unregistered (B2C) customer".into(),
            );
            "inactive"
        }
        Registration::Active | Registration::Inactive => status,
        Registration::Unknown(s) => {
            ex.add(
                Severity::Error,
                ExceptionKind::UnknownGstStatus,
                Some(s.chars().take(40).collect()),
                None,
                None,
                format!(
                    "gst_status {s:?} is neither active nor inactive: whether the customer is registered is unknown, so no invoice is issued until it is corrected upstream"
                ),
            );
            status
        }
    }
}

/// An Indian address's state that names none: an error when the place of supply depends on
/// it (no valid, active GSTIN), a warning otherwise. A state read through the alias table or
/// from the PIN code is noted.
fn address_state(a: &AccountInfo, status: &str, ex: &mut Found) {
    if !place::in_india(a.country.as_deref()) {
        return;
    }
    let found = place::address_state(a.state.as_deref(), a.zip_code.as_deref());
    match found {
        AddressState::Alias(state, text) => ex.add(
            Severity::Note,
            ExceptionKind::StateAlias,
            Some(text.chars().take(40).collect()),
            None,
            None,
            format!("state {text:?} read as {} ({:02})", state.name, state.code),
        ),
        AddressState::FromPin(state, pin) => ex.add(
            Severity::Note,
            ExceptionKind::StateFromPin,
            Some(pin.to_string()),
            None,
            None,
            format!("no state written: PIN {pin} is in {} ({:02})", state.name, state.code),
        ),
        _ => {}
    }
    if let AddressState::Unknown(text) = found {
        let (severity, detail) = if status == "valid" {
            (
                Severity::Warning,
                format!("state {text:?} names no state or union territory; the place of supply comes from the GSTIN"),
            )
        } else {
            (
                Severity::Error,
                format!(
                    "state {text:?} names no state or union territory: the place of supply is unknown, so no invoice is issued until the address is corrected upstream"
                ),
            )
        };
        ex.add(
            severity,
            ExceptionKind::UnknownState,
            Some(text.chars().take(40).collect()),
            None,
            None,
            detail,
        );
    }
}

/// The GSTIN, when present, is valid (a warning otherwise); an Indian customer without one is
/// noted as B2C. Returns the account's GSTIN status.
fn gstin(a: &AccountInfo, ex: &mut Found) -> &'static str {
    match a.gstin.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) => match Gstin::parse(g) {
            Ok(canonical) => {
                if canonical.as_str() != g {
                    ex.add(
                        Severity::Note,
                        ExceptionKind::GstinNotCanonical,
                        Some(g.chars().take(24).collect()),
                        None,
                        None,
                        format!("GSTIN sent as {g:?}: documents show {canonical}"),
                    );
                }
                "valid"
            }
            Err(e) => {
                // Data quality, not a money discrepancy: flagged, and never invoiced as B2B.
                let detail = format!("{e}; the customer cannot be invoiced as registered (B2B)");
                ex.add(
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
        None if place::in_india(a.country.as_deref()) => {
            ex.add(
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
    }
}

/// Rejected rows of an account that is not in the accounts table (or of the partner's pages).
fn unattributed_rejects(account: String, rows: Vec<RejectedRow>) -> Found {
    let mut ex = Found::new(&account, "");
    rejected_rows_of(rows, &mut ex);
    ex
}

/// Partner: CDRs vs analytics, per UTC day fully inside the period.
fn analytics_per_day(f: &Figures, limits: Limits) -> Found {
    let mut ex = Found::new("", "partner");
    for d in &f.days {
        let (calls, cost) = f.cdr_days.get(&d.date).copied().unwrap_or_default();
        let rounded = round_paise(cost);
        if calls != d.calls || limits.beyond(rounded - d.cost) {
            ex.add(
                Severity::Error,
                ExceptionKind::AnalyticsMismatch,
                Some(d.date.clone()),
                Some(d.cost),
                Some(rounded),
                format!(
                    "{}: analytics say {} calls costing {}, CDRs give {calls} costing {rounded}",
                    d.date, d.calls, d.cost
                ),
            );
        }
    }
    ex
}

/// Errors first, then by account, kind (by its text) and reference.
fn sort(exceptions: &mut [ExceptionRow]) {
    exceptions.sort_by(|a, b| {
        (std::cmp::Reverse(a.severity), &a.auth_id, a.kind.as_str(), &a.reference).cmp(&(
            std::cmp::Reverse(b.severity),
            &b.auth_id,
            b.kind.as_str(),
            &b.reference,
        ))
    });
}

/// Both tables of the period, and the stage's report.
fn write(
    s: &RunContext,
    checks: &[AccountCheck],
    exceptions: &[ExceptionRow],
    started: std::time::Instant,
) -> anyhow::Result<Report> {
    let count = |severity| exceptions.iter().filter(|e| e.severity == severity).count();
    let mut report = Report {
        accounts: checks.len(),
        errors: count(Severity::Error),
        warnings: count(Severity::Warning),
        notes: count(Severity::Note),
        ..Default::default()
    };
    let meta = vec![("vobiz_billing.period".to_string(), s.period.to_string())];
    let mut w = PartitionWriter::<AccountCheck>::for_period(&s.layout, s.period, meta.clone())?;
    for c in checks {
        w.push(c.clone())?;
    }
    report.tables.insert("reconciliation".into(), w.finish()?);
    let mut w = PartitionWriter::<ExceptionRow>::for_period(&s.layout, s.period, meta)?;
    for e in exceptions {
        w.push(e.clone())?;
    }
    report.tables.insert("exceptions".into(), w.finish()?);
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn account(gstin: Option<&str>, country: Option<&str>, state: Option<&str>) -> AccountInfo {
        AccountInfo {
            auth_id: "MA_TEST0001".into(),
            name: "T".into(),
            gstin: gstin.map(String::from),
            country: country.map(String::from),
            state: state.map(String::from),
            gst_status: None,
            currency: Some("INR".into()),
            is_active: true,
            company: Some("T Private Limited".into()),
            address: None,
            zip_code: None,
            created_at: 0,
        }
    }

    fn found(a: &AccountInfo) -> Vec<(Severity, ExceptionKind)> {
        let mut ex = Found::new(&a.auth_id, &a.name);
        recipient(a, &mut ex);
        ex.rows.iter().map(|r| (r.severity, r.kind)).collect()
    }

    #[test]
    fn an_address_state_nobody_knows_is_an_error_when_the_place_of_supply_needs_it() {
        let unknown = (Severity::Error, ExceptionKind::UnknownState);
        let b2c = (Severity::Note, ExceptionKind::MissingGstin);
        assert_eq!(found(&account(None, Some("IN"), Some("Karnatka"))), [b2c, unknown]);
        // However people write it, a real state is no discrepancy (a note says how it was
        // read); nor is an empty one.
        assert_eq!(
            found(&account(None, Some("in"), Some("Tamilnadu"))),
            [b2c, (Severity::Note, ExceptionKind::StateAlias)]
        );
        assert_eq!(found(&account(None, None, None)), [b2c]);
        // With a valid GSTIN the place of supply is the GSTIN's: a warning only.
        assert_eq!(
            found(&account(Some("27AAPFU0939F1ZV"), Some("IN"), Some("Bombay"))),
            [(Severity::Warning, ExceptionKind::UnknownState)]
        );
        // Abroad, the state is not a GST state.
        assert_eq!(found(&account(None, Some("US"), Some("California"))), []);
    }

    #[test]
    fn an_inactive_registration_is_a_warning_and_an_unknown_status_an_error() {
        let mut a = account(Some("27AAPFU0939F1ZV"), Some("IN"), Some("Maharashtra"));
        assert_eq!(found(&a), []);
        a.gst_status = Some("Inactive".into());
        assert_eq!(found(&a), [(Severity::Warning, ExceptionKind::InactiveGstin)]);
        a.gst_status = Some("suspended".into());
        assert_eq!(found(&a), [(Severity::Error, ExceptionKind::UnknownGstStatus)]);
    }

    #[test]
    fn customer_text_as_people_type_it_is_read_and_noted() {
        let kinds = |a: &AccountInfo| found(a).into_iter().map(|(s, k)| (s, k.as_str())).collect::<Vec<_>>();
        let mut a = account(Some("27 aapfu 0939f1zv"), Some("IN"), Some("TN"));
        a.company = Some("  ".into());
        assert_eq!(
            kinds(&a),
            [
                (Severity::Note, "gstin_not_canonical"),
                (Severity::Note, "state_alias"),
                (Severity::Note, "blank_company")
            ]
        );
        let mut b = account(None, Some("IN"), Some(""));
        b.zip_code = Some("560034".into());
        assert_eq!(
            kinds(&b),
            [(Severity::Note, "missing_gstin"), (Severity::Note, "state_from_pin")]
        );
        b.state = Some("Select State".into());
        assert_eq!(
            kinds(&b),
            [(Severity::Note, "missing_gstin"), (Severity::Error, "unknown_state")]
        );
    }

    fn of(f: impl FnOnce(&mut Found)) -> Vec<(Severity, &'static str, Option<String>)> {
        let mut ex = Found::new("MA_TEST0001", "T");
        f(&mut ex);
        ex.rows
            .into_iter()
            .map(|r| (r.severity, r.kind.as_str(), r.reference))
            .collect()
    }

    #[test]
    fn rows_that_moved_no_money_are_notes_and_an_unknown_status_an_error() {
        let row = |id: &str, status: Option<&str>| NotCompleted {
            id: id.into(),
            kind: "debit".into(),
            reference_type: "did_rental".into(),
            amount: Decimal::from(300),
            status: status.map(String::from),
        };
        let rows = vec![row("a", Some("failed")), row("b", Some("processing")), row("c", None)];
        assert_eq!(
            of(|ex| ledger_statuses(Some(&rows), ex)),
            [
                (Severity::Note, "ledger_not_completed", Some("a".into())),
                (Severity::Error, "unknown_ledger_status", Some("b".into())),
                (Severity::Error, "unknown_ledger_status", Some("c".into())),
            ]
        );
    }

    #[test]
    fn refunds_that_reverse_supply_are_notes_unmatched_ones_warnings_and_over_refunds_errors() {
        let refund = |id: &str, reference: Option<&str>, of: Option<&str>, uuid: Option<&str>| Refund {
            id: id.into(),
            amount: Decimal::from(3),
            reference: reference.map(String::from),
            refund_of: of.map(String::from),
            cdr_uuid: uuid.map(String::from),
        };
        let rows = vec![
            refund("call", Some("cdr_u1"), Some("cdr"), Some("u1")),
            refund("rent", Some("txn_d1"), Some("did_rental"), None),
            refund("lost", Some("txn_zz"), None, None),
            refund("goodwill", Some("rfd_ABC"), None, None),
        ];
        let over = vec![OverRefund {
            id: "u2".into(),
            what: "call",
            amount: Decimal::ONE,
            refunded: Decimal::TWO,
        }];
        assert_eq!(
            of(|ex| refunds(Some(&rows), Some(&over), ex)),
            [
                (Severity::Note, "supply_refunded", Some("call".into())),
                (Severity::Note, "supply_refunded", Some("rent".into())),
                (Severity::Warning, "unmatched_refund", Some("lost".into())),
                (Severity::Error, "refund_exceeds_charge", Some("u2".into())),
            ]
        );
    }

    #[test]
    fn sez_is_what_the_config_says_and_a_name_saying_sez_is_only_a_warning() {
        let mut a = account(Some("29AAPFU0939F1ZV"), Some("IN"), Some("Karnataka"));
        assert_eq!(
            of(|ex| sez(&a, Some(Treatment::SezWithPayment), "valid", ex))[0].1,
            "sez"
        );
        assert_eq!(
            of(|ex| sez(&a, Some(Treatment::SezUnderLut), "invalid", ex))[0].0,
            Severity::Error
        );
        assert_eq!(of(|ex| sez(&a, None, "valid", ex)), []);
        a.company = Some("Nimbus Health (SEZ Unit)".into());
        assert_eq!(of(|ex| sez(&a, None, "valid", ex))[0].1, "possible_sez");
        a.company = Some("Sezal Foods".into());
        assert_eq!(of(|ex| sez(&a, None, "valid", ex)), []);
    }
}
