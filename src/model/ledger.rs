//! The two kinds of wallet transaction, named once for the API's `type`, the tables and every
//! stage that tells credits from debits.

/// A ledger row's `type`: money into the wallet, or out of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LedgerKind {
    #[default]
    Credit,
    Debit,
}

impl LedgerKind {
    pub const ALL: [LedgerKind; 2] = [LedgerKind::Credit, LedgerKind::Debit];

    /// The text the API sends and the `transactions` table stores.
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerKind::Credit => "credit",
            LedgerKind::Debit => "debit",
        }
    }

    /// The kind named exactly `s`; `None` for anything else (the caller rejects the row).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// `amount` as it moves the balance: credits positive, debits negative.
    pub fn signed<T: std::ops::Neg<Output = T>>(self, amount: T) -> T {
        match self {
            LedgerKind::Credit => amount,
            LedgerKind::Debit => -amount,
        }
    }
}

/// A ledger row's `status`: only a completed row moved money. The others (a debit that
/// failed, a recharge still pending, a transfer cancelled) are not billed and not summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LedgerStatus {
    Completed,
    Pending,
    Failed,
    Cancelled,
}

impl LedgerStatus {
    pub const ALL: [LedgerStatus; 4] = [
        LedgerStatus::Completed,
        LedgerStatus::Pending,
        LedgerStatus::Failed,
        LedgerStatus::Cancelled,
    ];

    /// The API's word, and the `transactions` table's.
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerStatus::Completed => "completed",
            LedgerStatus::Pending => "pending",
            LedgerStatus::Failed => "failed",
            LedgerStatus::Cancelled => "cancelled",
        }
    }

    /// The status `s` names, in any case and with surrounding spaces ("Completed ", and the
    /// American "canceled"); `None` for a missing status or a word nobody documented.
    pub fn parse(s: Option<&str>) -> Option<Self> {
        let s = s?.trim();
        if s.eq_ignore_ascii_case("canceled") {
            return Some(LedgerStatus::Cancelled);
        }
        Self::ALL.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(s))
    }

    /// Whether the row's money moved (into or out of the wallet).
    pub fn moved(self) -> bool {
        self == LedgerStatus::Completed
    }
}

/// Whether a row with this status text moved money: `Some(true)` for a completed row,
/// `Some(false)` for pending, failed or cancelled, `None` when the status is missing or
/// unknown (the caller must report it, never guess).
pub fn moved(status: Option<&str>) -> Option<bool> {
    LedgerStatus::parse(status).map(LedgerStatus::moved)
}

/// Whether a credit's reference type books it as a refund ("refund", in any case).
pub fn is_refund(reference_type: &str) -> bool {
    reference_type.eq_ignore_ascii_case("refund")
}

/// The id of the debit a refund's reference names: `txn_<id>` or `txn:<id>` (inferred: the
/// API documents no reference format for refunds of charges; a refund of a call names it
/// `cdr_<uuid>`, as the call's debit does).
pub fn refunded_debit_id(reference: &str) -> Option<&str> {
    let r = reference.trim();
    r.strip_prefix("txn_")
        .or_else(|| r.strip_prefix("txn:"))
        .filter(|id| !id.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_nothing_else_parses() {
        for k in LedgerKind::ALL {
            assert_eq!(LedgerKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(LedgerKind::parse("Credit"), None);
        assert_eq!(LedgerKind::parse(""), None);
        assert_eq!(LedgerKind::Debit.signed(2), -2);
    }

    #[test]
    fn only_a_completed_row_moved_money_and_an_unknown_status_is_no_answer() {
        assert_eq!(moved(Some("completed")), Some(true));
        assert_eq!(moved(Some(" Completed ")), Some(true));
        for s in ["pending", "FAILED", "cancelled", "canceled"] {
            assert_eq!(moved(Some(s)), Some(false), "{s}");
        }
        for s in [None, Some(""), Some("processing"), Some("complete")] {
            assert_eq!(moved(s), None, "{s:?}");
        }
    }
}
