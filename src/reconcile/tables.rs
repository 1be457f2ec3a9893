//! The reconciliation's outputs: one row per account, and one row per exception.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::normalize::columns::col;
use crate::normalize::columns::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    /// Worth knowing (an unregistered customer), not a discrepancy.
    Note,
    /// Needs attention (a low balance), not a discrepancy.
    Warning,
    /// The figures disagree: counted against the tolerance, exit code 3.
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountCheck {
    pub auth_id: String,
    pub name: String,
    pub currency: String,
    pub opening_balance: Option<Decimal>,
    pub credits: Decimal,
    pub debits: Decimal,
    pub closing_balance: Option<Decimal>,
    /// Opening (last period's close, else the ledger's) plus credits minus debits.
    pub expected_closing: Option<Decimal>,
    /// The balance snapshot taken after the period.
    pub balance: Option<Decimal>,
    pub ledger_rows: i64,
    pub calls: i64,
    pub call_cost: Decimal,
    pub call_debits: Decimal,
    pub gstin: Option<String>,
    pub gstin_status: String,
    /// Warnings and errors (notes are not counted).
    pub exceptions: i64,
    pub status: Severity,
}

pub const CHECK_COLUMNS: &[Column<AccountCheck>] = &[
    col!("auth_id", Text, false, |r| text(r.iter().map(|x| x.auth_id.as_str()))),
    col!("name", Text, false, |r| text(r.iter().map(|x| x.name.as_str()))),
    col!("currency", Text, false, |r| text(r.iter().map(|x| x.currency.as_str()))),
    col!("opening_balance", Decimal, true, |r| decimal_opt(
        r.iter().map(|x| x.opening_balance)
    )),
    col!("credits", Decimal, false, |r| decimal(r.iter().map(|x| x.credits))),
    col!("debits", Decimal, false, |r| decimal(r.iter().map(|x| x.debits))),
    col!("closing_balance", Decimal, true, |r| decimal_opt(
        r.iter().map(|x| x.closing_balance)
    )),
    col!("expected_closing", Decimal, true, |r| decimal_opt(
        r.iter().map(|x| x.expected_closing)
    )),
    col!("balance", Decimal, true, |r| decimal_opt(r.iter().map(|x| x.balance))),
    col!("ledger_rows", Int64, false, |r| int64(r.iter().map(|x| x.ledger_rows))),
    col!("calls", Int64, false, |r| int64(r.iter().map(|x| x.calls))),
    col!("call_cost", Decimal, false, |r| decimal(r.iter().map(|x| x.call_cost))),
    col!("call_debits", Decimal, false, |r| decimal(
        r.iter().map(|x| x.call_debits)
    )),
    col!("gstin", Text, true, |r| text_opt(r.iter().map(|x| x.gstin.as_deref()))),
    col!("gstin_status", Text, false, |r| text(
        r.iter().map(|x| x.gstin_status.as_str())
    )),
    col!("exceptions", Int64, false, |r| int64(r.iter().map(|x| x.exceptions))),
    col!("status", Text, false, |r| text(r.iter().map(|x| x.status.as_str()))),
];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExceptionRow {
    /// Empty for partner-level exceptions.
    pub auth_id: String,
    pub name: String,
    pub severity: Severity,
    pub kind: String,
    /// The call, transaction, GSTIN or day concerned.
    pub reference: Option<String>,
    pub expected: Option<Decimal>,
    pub actual: Option<Decimal>,
    pub difference: Option<Decimal>,
    pub detail: String,
}

pub const EXCEPTION_COLUMNS: &[Column<ExceptionRow>] = &[
    col!("auth_id", Text, false, |r| text(r.iter().map(|x| x.auth_id.as_str()))),
    col!("name", Text, false, |r| text(r.iter().map(|x| x.name.as_str()))),
    col!("severity", Text, false, |r| text(r.iter().map(|x| x.severity.as_str()))),
    col!("kind", Text, false, |r| text(r.iter().map(|x| x.kind.as_str()))),
    col!("reference", Text, true, |r| text_opt(
        r.iter().map(|x| x.reference.as_deref())
    )),
    col!("expected", Decimal, true, |r| decimal_opt(r.iter().map(|x| x.expected))),
    col!("actual", Decimal, true, |r| decimal_opt(r.iter().map(|x| x.actual))),
    col!("difference", Decimal, true, |r| decimal_opt(
        r.iter().map(|x| x.difference)
    )),
    col!("detail", Text, false, |r| text(r.iter().map(|x| x.detail.as_str()))),
];
