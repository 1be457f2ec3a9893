//! The normalized tables: one row struct and one column list each. Column lists are the
//! single source of truth for the Parquet schemas (documented in README, "Output").

use rust_decimal::Decimal;

use crate::model::LedgerKind;
use crate::store::schema::{table, text_enum};

text_enum!(LedgerKind);

table! {
    /// One customer account as listed by the API (its `auth_token` is never read into this).
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct AccountRow for crate::layout::Table::Accounts, in ACCOUNT_COLUMNS, names AccountColumns {
        auth_id: String as Text,
        id: Option<String> as Text,
        name: String as Text,
        email: Option<String> as Text,
        phone: Option<String> as Text,
        company: Option<String> as Text,
        address: Option<String> as Text,
        city: Option<String> as Text,
        state: Option<String> as Text,
        zip_code: Option<String> as Text,
        country: Option<String> as Text,
        gstin: Option<String> as Text,
        gst_status: Option<String> as Text,
        business_type: Option<String> as Text,
        tds_enabled: Option<bool> as Bool,
        tds_percentage: Option<i32> as Int32,
        is_active: Option<bool> as Bool,
        kyc_status: Option<String> as Text,
        currency: Option<String> as Text,
        pricing_tier_id: Option<String> as Text,
        pricing_tier_name: Option<String> as Text,
        rate_per_minute: Option<Decimal> as Decimal,
        billing_increment_seconds: Option<i32> as Int32,
        created_at: i64 as Timestamp,
        updated_at: Option<i64> as Timestamp,
    }
}

table! {
    /// A balance snapshot and the ledger figures that tie it to the period.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct BalanceRow for crate::layout::Table::Balances, in BALANCE_COLUMNS, names BalanceColumns {
        auth_id: String as Text,
        currency: String as Text,
        /// The balance the API reported at `balance_at` (after the period).
        balance: Decimal as Decimal,
        balance_at: i64 as Timestamp,
        /// Net of ledger rows booked after the period, up to the snapshot.
        net_after_period: Decimal as Decimal,
        rows_after_period: i64 as Int64,
        /// Derived: `balance - net_after_period`, the balance at the period's end.
        closing_balance: Decimal as Decimal,
        /// Derived: `closing_balance - (credits - debits in the period)`.
        opening_balance: Decimal as Decimal,
        period_credit: Decimal as Decimal,
        period_debit: Decimal as Decimal,
        /// The API's all-time ledger summary (rows since the account was created, and their net).
        ledger_rows_all_time: i64 as Int64,
        ledger_net_all_time: Decimal as Decimal,
        low_balance_threshold: Option<Decimal> as Decimal,
        credit_limit: Option<Decimal> as Decimal,
        /// The API's own summary of the ledger window paged (every status, as it counts them).
        api_window_credit: Option<Decimal> as Decimal,
        api_window_debit: Option<Decimal> as Decimal,
        /// The same window from the rows stored (deduplicated, rejected rows left out).
        window_credit: Decimal as Decimal,
        window_debit: Decimal as Decimal,
    }
}

/// Text of the two big tables' rows. Most of their values (ids of accounts, directions,
/// currencies, numbers, causes) are short: inline up to 24 bytes, they cost no allocation, and
/// no cross-thread free when the rows extract parsed are written by normalize.
pub type Text = compact_str::CompactString;

table! {
    /// One wallet transaction booked in the period.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct TransactionRow for crate::layout::Table::Transactions, in TRANSACTION_COLUMNS, names TransactionColumns {
        id: Text as Text,
        account_id: Text as Text,
        balance_id: Option<Text> as Text,
        kind: LedgerKind as Text = "type",
        /// Always positive, as the API sends it.
        amount: Decimal as Decimal,
        /// Credits positive, debits negative.
        signed_amount: Decimal as Decimal,
        currency: Text as Text,
        description: Option<Text> as Text,
        reference: Option<Text> as Text,
        /// As sent, or derived from the reference where the endpoint omits it.
        reference_type: Text as Text,
        /// The call this row charges, from a `cdr_<uuid>` reference.
        cdr_uuid: Option<Text> as Text,
        /// The period of that call, if it was among the calls fetched.
        cdr_period: Option<Text> as Text,
        /// The subaccount whose call this row charges (from that call), if any.
        subaccount_id: Option<Text> as Text,
        /// As sent, or its documented word in lower case (`completed`, `pending`, `failed`,
        /// `cancelled`). Only a completed row moved money.
        status: Option<Text> as Text,
        /// On a completed refund: what it reverses, `cdr` for a call (named by `cdr_uuid`), else
        /// the reference type of the debit its `txn_<id>` reference names. Null when it names
        /// nothing that was fetched.
        refund_of: Option<Text> as Text,
        /// On a debit: the completed refunds that reverse it, booked in or after the period.
        refunded: Decimal as Decimal,
        created_at: i64 as Timestamp,
        processed_at: Option<i64> as Timestamp,
    }
}

table! {
    /// One call that started in the period.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct CdrRow for crate::layout::Table::Cdrs, in CDR_COLUMNS, names CdrColumns {
        uuid: Text as Text,
        id: Option<i64> as Int64,
        account_id: Text as Text,
        call_direction: Text as Text,
        /// `voice-api` or `sip-trunking`.
        context: Option<Text> as Text,
        caller_id_number: Option<Text> as Text,
        destination_number: Option<Text> as Text,
        duration: i32 as Int32,
        billsec: i32 as Int32,
        ring_time: Option<i32> as Int32,
        start_time: i64 as Timestamp,
        answer_time: Option<i64> as Timestamp,
        end_time: Option<i64> as Timestamp,
        hangup_cause: Option<Text> as Text,
        hangup_cause_code: Option<i32> as Int32,
        cost: Decimal as Decimal,
        streaming_cost: Decimal as Decimal,
        total_cost: Decimal as Decimal,
        currency: Text as Text,
        trunk_id: Option<Text> as Text,
        codec: Option<Text> as Text,
        /// The subaccount that placed the call (its `SA_…` id as the CDR's `account_id` gives
        /// it); null for the account's own calls. `account_id` is always the customer.
        subaccount_id: Option<Text> as Text,
        /// Ledger debits referencing this call (booked in or after the period), summed.
        debit_amount: Decimal as Decimal,
        debit_count: i32 as Int32,
        /// Completed refunds of this call (credits referencing it), booked in or after the period.
        refunded: Decimal as Decimal,
    }
}

table! {
    /// One subaccount of a customer as the Subaccount API lists it (its `auth_token` is never
    /// read into this).
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct SubaccountRow for crate::layout::Table::Subaccounts, in SUBACCOUNT_COLUMNS, names SubaccountColumns {
        /// The customer it belongs to.
        account_id: String as Text,
        auth_id: String as Text,
        id: Option<String> as Text,
        name: String as Text,
        email: Option<String> as Text,
        description: Option<String> as Text,
        enabled: bool as Bool,
        /// `permissions.calls` / `permissions.cdr`; null when the API gives none.
        calls_permitted: Option<bool> as Bool,
        cdr_permitted: Option<bool> as Bool,
        rate_limit: Option<i64> as Int64,
        created_at: i64 as Timestamp,
        /// Last modification (for a disabled subaccount: when it was disabled, *inferred*).
        updated_at: Option<i64> as Timestamp,
    }
}

table! {
    /// The partner's analytics for one UTC day the period touches.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct AnalyticsDayRow for crate::layout::Table::AnalyticsDaily, in ANALYTICS_COLUMNS, names AnalyticsColumns {
        /// Days since 1970-01-01 (UTC day, as the API buckets).
        date: i32 as Date,
        currency: String as Text,
        total_calls: i64 as Int64,
        answered_calls: i64 as Int64,
        total_minutes: Decimal as Decimal,
        total_cost: Decimal as Decimal,
        inbound_calls: i64 as Int64,
        inbound_answered: i64 as Int64,
        inbound_minutes: Decimal as Decimal,
        outbound_calls: i64 as Int64,
        outbound_answered: i64 as Int64,
        outbound_minutes: Decimal as Decimal,
    }
}
