//! The reconciliation's outputs: one row per account, and one row per exception.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::store::schema::{TextEnum, table, text_enum_cell};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Ok,
    /// Worth knowing (an unregistered customer), not a discrepancy.
    Note,
    /// Needs attention (a low balance), not a discrepancy.
    Warning,
    /// The figures disagree: counted against the tolerance, exit code 3.
    Error,
}

impl Severity {
    pub const ALL: [Severity; 4] = [Severity::Ok, Severity::Note, Severity::Warning, Severity::Error];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl TextEnum for Severity {
    fn as_str(self) -> &'static str {
        Severity::as_str(self)
    }

    fn parse(s: &str) -> Option<Self> {
        Severity::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

text_enum_cell!(Severity);

/// What an exception is about: one per check of the reconciliation, stored as its text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ExceptionKind {
    /// No balance snapshot for the account. (The default only so a reader can fill a row.)
    #[default]
    MissingBalance,
    /// The balance is not the all-time ledger net.
    BalanceMismatch,
    /// The opening balance is not last period's closing balance.
    OpeningMismatch,
    /// The API's summary of the ledger window paged differs from the rows stored of it
    /// (rows lost on the way: rejected, or missing from the pages).
    LedgerInconsistent,
    LowBalance,
    MissingDebit,
    DuplicateDebit,
    DebitAmountMismatch,
    /// A call debit referencing a call that does not exist.
    OrphanDebit,
    /// A row normalize could not store.
    RejectedRow,
    CurrencyMismatch,
    InvalidGstin,
    MissingGstin,
    /// A day's CDRs disagree with the analytics endpoint.
    AnalyticsMismatch,
    /// The address's state names no state or union territory (an error when the place of
    /// supply depends on it: no invoice is issued).
    UnknownState,
    /// A valid GSTIN whose registration the account says is inactive (invoiced as B2C).
    InactiveGstin,
    /// A `gst_status` that is neither active nor inactive (no invoice is issued).
    UnknownGstStatus,
    /// A ledger row pending, failed or cancelled: not billed, not in the balance.
    LedgerNotCompleted,
    /// A ledger row whose status is missing or undocumented (a charge's: no invoice is issued).
    UnknownLedgerStatus,
    /// A refund that reverses a billed call or charge: billed net of it.
    SupplyRefunded,
    /// A refund naming a call or charge that was not fetched: it reverses nothing billed here.
    UnmatchedRefund,
    /// A call or charge refunded more than it cost (no invoice is issued).
    RefundExceedsCharge,
    /// The state written another way (`Tamilnadu`, `TN`), read through the alias table.
    StateAlias,
    /// No state written: the PIN code's state is used.
    StateFromPin,
    /// No company name: documents show the account's name.
    BlankCompany,
    /// A GSTIN sent in lower case or with spaces: documents show it canonical.
    GstinNotCanonical,
    /// A customer configured as an SEZ unit or developer (an error when it has no valid GSTIN).
    Sez,
    /// An account that says SEZ but is not configured as one: taxed as any other.
    PossibleSez,
    /// An account created during the period: a part month.
    OpenedInPeriod,
    /// An inactive account with usage in the period: billed for that usage.
    ClosedInPeriod,
    /// Calls by a subaccount the customer's list does not show (deleted, or never listed).
    UnknownSubaccount,
    /// Calls by a disabled subaccount after it was disabled.
    DisabledSubaccount,
}

impl ExceptionKind {
    pub const ALL: [ExceptionKind; 32] = [
        ExceptionKind::MissingBalance,
        ExceptionKind::BalanceMismatch,
        ExceptionKind::OpeningMismatch,
        ExceptionKind::LedgerInconsistent,
        ExceptionKind::LowBalance,
        ExceptionKind::MissingDebit,
        ExceptionKind::DuplicateDebit,
        ExceptionKind::DebitAmountMismatch,
        ExceptionKind::OrphanDebit,
        ExceptionKind::RejectedRow,
        ExceptionKind::CurrencyMismatch,
        ExceptionKind::InvalidGstin,
        ExceptionKind::MissingGstin,
        ExceptionKind::AnalyticsMismatch,
        ExceptionKind::UnknownState,
        ExceptionKind::InactiveGstin,
        ExceptionKind::UnknownGstStatus,
        ExceptionKind::LedgerNotCompleted,
        ExceptionKind::UnknownLedgerStatus,
        ExceptionKind::SupplyRefunded,
        ExceptionKind::UnmatchedRefund,
        ExceptionKind::RefundExceedsCharge,
        ExceptionKind::StateAlias,
        ExceptionKind::StateFromPin,
        ExceptionKind::BlankCompany,
        ExceptionKind::GstinNotCanonical,
        ExceptionKind::Sez,
        ExceptionKind::PossibleSez,
        ExceptionKind::OpenedInPeriod,
        ExceptionKind::ClosedInPeriod,
        ExceptionKind::UnknownSubaccount,
        ExceptionKind::DisabledSubaccount,
    ];

    /// The text the `exceptions` table, the HTML and the partner report show.
    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionKind::MissingBalance => "missing_balance",
            ExceptionKind::BalanceMismatch => "balance_mismatch",
            ExceptionKind::OpeningMismatch => "opening_mismatch",
            ExceptionKind::LedgerInconsistent => "ledger_inconsistent",
            ExceptionKind::LowBalance => "low_balance",
            ExceptionKind::MissingDebit => "missing_debit",
            ExceptionKind::DuplicateDebit => "duplicate_debit",
            ExceptionKind::DebitAmountMismatch => "debit_amount_mismatch",
            ExceptionKind::OrphanDebit => "orphan_debit",
            ExceptionKind::RejectedRow => "rejected_row",
            ExceptionKind::CurrencyMismatch => "currency_mismatch",
            ExceptionKind::InvalidGstin => "invalid_gstin",
            ExceptionKind::MissingGstin => "missing_gstin",
            ExceptionKind::AnalyticsMismatch => "analytics_mismatch",
            ExceptionKind::UnknownState => "unknown_state",
            ExceptionKind::InactiveGstin => "inactive_gstin",
            ExceptionKind::UnknownGstStatus => "unknown_gst_status",
            ExceptionKind::LedgerNotCompleted => "ledger_not_completed",
            ExceptionKind::UnknownLedgerStatus => "unknown_ledger_status",
            ExceptionKind::SupplyRefunded => "supply_refunded",
            ExceptionKind::UnmatchedRefund => "unmatched_refund",
            ExceptionKind::RefundExceedsCharge => "refund_exceeds_charge",
            ExceptionKind::StateAlias => "state_alias",
            ExceptionKind::StateFromPin => "state_from_pin",
            ExceptionKind::BlankCompany => "blank_company",
            ExceptionKind::GstinNotCanonical => "gstin_not_canonical",
            ExceptionKind::Sez => "sez",
            ExceptionKind::PossibleSez => "possible_sez",
            ExceptionKind::OpenedInPeriod => "opened_in_period",
            ExceptionKind::ClosedInPeriod => "closed_in_period",
            ExceptionKind::UnknownSubaccount => "unknown_subaccount",
            ExceptionKind::DisabledSubaccount => "disabled_subaccount",
        }
    }
}

impl Serialize for ExceptionKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl TextEnum for ExceptionKind {
    fn as_str(self) -> &'static str {
        ExceptionKind::as_str(self)
    }

    fn parse(s: &str) -> Option<Self> {
        ExceptionKind::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

text_enum_cell!(ExceptionKind);

table! {
    #[derive(Debug, Clone, Default, PartialEq, Serialize)]
    pub struct AccountCheck for crate::layout::Table::Reconciliation, in CHECK_COLUMNS, names CheckColumns {
        auth_id: String as Text,
        name: String as Text,
        currency: String as Text,
        opening_balance: Option<Decimal> as Decimal,
        credits: Decimal as Decimal,
        debits: Decimal as Decimal,
        closing_balance: Option<Decimal> as Decimal,
        /// Opening (last period's close, else the ledger's) plus credits minus debits.
        expected_closing: Option<Decimal> as Decimal,
        /// The balance snapshot taken after the period.
        balance: Option<Decimal> as Decimal,
        ledger_rows: i64 as Int64,
        calls: i64 as Int64,
        call_cost: Decimal as Decimal,
        call_debits: Decimal as Decimal,
        gstin: Option<String> as Text,
        gstin_status: String as Text,
        /// Warnings and errors (notes are not counted).
        exceptions: i64 as Int64,
        status: Severity as Text,
    }
}

table! {
    #[derive(Debug, Clone, Default, PartialEq, Serialize)]
    pub struct ExceptionRow for crate::layout::Table::Exceptions, in EXCEPTION_COLUMNS, names ExceptionColumns {
        /// Empty for partner-level exceptions.
        auth_id: String as Text,
        name: String as Text,
        severity: Severity as Text,
        kind: ExceptionKind as Text,
        /// The call, transaction, GSTIN or day concerned.
        reference: Option<String> as Text,
        expected: Option<Decimal> as Decimal,
        actual: Option<Decimal> as Decimal,
        difference: Option<Decimal> as Decimal,
        detail: String as Text,
    }
}
