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
}
