//! The normalized tables: one row struct and one column list each. Column lists are the
//! single source of truth for the Parquet schemas (documented in README, "Output").

use rust_decimal::Decimal;

use super::columns::col;
use super::columns::*;

/// One customer account as listed by the API (its `auth_token` is never read into this).
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRow {
    pub auth_id: String,
    pub id: Option<String>,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip_code: Option<String>,
    pub country: Option<String>,
    pub gstin: Option<String>,
    pub gst_status: Option<String>,
    pub business_type: Option<String>,
    pub tds_enabled: Option<bool>,
    pub tds_percentage: Option<i32>,
    pub is_active: Option<bool>,
    pub kyc_status: Option<String>,
    pub currency: Option<String>,
    pub pricing_tier_id: Option<String>,
    pub pricing_tier_name: Option<String>,
    pub rate_per_minute: Option<Decimal>,
    pub billing_increment_seconds: Option<i32>,
    pub created_at: i64,
    pub updated_at: Option<i64>,
}

pub const ACCOUNT_COLUMNS: &[Column<AccountRow>] = &[
    col!("auth_id", Text, false, |r| text(r.iter().map(|x| x.auth_id.as_str()))),
    col!("id", Text, true, |r| text_opt(r.iter().map(|x| x.id.as_deref()))),
    col!("name", Text, false, |r| text(r.iter().map(|x| x.name.as_str()))),
    col!("email", Text, true, |r| text_opt(r.iter().map(|x| x.email.as_deref()))),
    col!("phone", Text, true, |r| text_opt(r.iter().map(|x| x.phone.as_deref()))),
    col!("company", Text, true, |r| text_opt(
        r.iter().map(|x| x.company.as_deref())
    )),
    col!("address", Text, true, |r| text_opt(
        r.iter().map(|x| x.address.as_deref())
    )),
    col!("city", Text, true, |r| text_opt(r.iter().map(|x| x.city.as_deref()))),
    col!("state", Text, true, |r| text_opt(r.iter().map(|x| x.state.as_deref()))),
    col!("zip_code", Text, true, |r| text_opt(
        r.iter().map(|x| x.zip_code.as_deref())
    )),
    col!("country", Text, true, |r| text_opt(
        r.iter().map(|x| x.country.as_deref())
    )),
    col!("gstin", Text, true, |r| text_opt(r.iter().map(|x| x.gstin.as_deref()))),
    col!("gst_status", Text, true, |r| text_opt(
        r.iter().map(|x| x.gst_status.as_deref())
    )),
    col!("business_type", Text, true, |r| text_opt(
        r.iter().map(|x| x.business_type.as_deref())
    )),
    col!("tds_enabled", Bool, true, |r| boolean_opt(
        r.iter().map(|x| x.tds_enabled)
    )),
    col!("tds_percentage", Int32, true, |r| int32_opt(
        r.iter().map(|x| x.tds_percentage)
    )),
    col!("is_active", Bool, true, |r| boolean_opt(r.iter().map(|x| x.is_active))),
    col!("kyc_status", Text, true, |r| text_opt(
        r.iter().map(|x| x.kyc_status.as_deref())
    )),
    col!("currency", Text, true, |r| text_opt(
        r.iter().map(|x| x.currency.as_deref())
    )),
    col!("pricing_tier_id", Text, true, |r| text_opt(
        r.iter().map(|x| x.pricing_tier_id.as_deref())
    )),
    col!("pricing_tier_name", Text, true, |r| text_opt(
        r.iter().map(|x| x.pricing_tier_name.as_deref())
    )),
    col!("rate_per_minute", Decimal, true, |r| decimal_opt(
        r.iter().map(|x| x.rate_per_minute)
    )),
    col!("billing_increment_seconds", Int32, true, |r| int32_opt(
        r.iter().map(|x| x.billing_increment_seconds)
    )),
    col!("created_at", Timestamp, false, |r| timestamp(
        r.iter().map(|x| x.created_at)
    )),
    col!("updated_at", Timestamp, true, |r| timestamp_opt(
        r.iter().map(|x| x.updated_at)
    )),
];

/// A balance snapshot and the ledger figures that tie it to the period.
#[derive(Debug, Clone, PartialEq)]
pub struct BalanceRow {
    pub auth_id: String,
    pub currency: String,
    /// The balance the API reported at `balance_at` (after the period).
    pub balance: Decimal,
    pub balance_at: i64,
    /// Net of ledger rows booked after the period, up to the snapshot.
    pub net_after_period: Decimal,
    pub rows_after_period: i64,
    /// Derived: `balance - net_after_period`, the balance at the period's end.
    pub closing_balance: Decimal,
    /// Derived: `closing_balance - (credits - debits in the period)`.
    pub opening_balance: Decimal,
    pub period_credit: Decimal,
    pub period_debit: Decimal,
    /// The API's all-time ledger summary (rows since the account was created, and their net).
    pub ledger_rows_all_time: i64,
    pub ledger_net_all_time: Decimal,
    pub low_balance_threshold: Option<Decimal>,
    pub credit_limit: Option<Decimal>,
}

pub const BALANCE_COLUMNS: &[Column<BalanceRow>] = &[
    col!("auth_id", Text, false, |r| text(r.iter().map(|x| x.auth_id.as_str()))),
    col!("currency", Text, false, |r| text(r.iter().map(|x| x.currency.as_str()))),
    col!("balance", Decimal, false, |r| decimal(r.iter().map(|x| x.balance))),
    col!("balance_at", Timestamp, false, |r| timestamp(
        r.iter().map(|x| x.balance_at)
    )),
    col!("net_after_period", Decimal, false, |r| decimal(
        r.iter().map(|x| x.net_after_period)
    )),
    col!("rows_after_period", Int64, false, |r| int64(
        r.iter().map(|x| x.rows_after_period)
    )),
    col!("closing_balance", Decimal, false, |r| decimal(
        r.iter().map(|x| x.closing_balance)
    )),
    col!("opening_balance", Decimal, false, |r| decimal(
        r.iter().map(|x| x.opening_balance)
    )),
    col!("period_credit", Decimal, false, |r| decimal(
        r.iter().map(|x| x.period_credit)
    )),
    col!("period_debit", Decimal, false, |r| decimal(
        r.iter().map(|x| x.period_debit)
    )),
    col!("ledger_rows_all_time", Int64, false, |r| int64(
        r.iter().map(|x| x.ledger_rows_all_time)
    )),
    col!("ledger_net_all_time", Decimal, false, |r| decimal(
        r.iter().map(|x| x.ledger_net_all_time)
    )),
    col!("low_balance_threshold", Decimal, true, |r| decimal_opt(
        r.iter().map(|x| x.low_balance_threshold)
    )),
    col!("credit_limit", Decimal, true, |r| decimal_opt(
        r.iter().map(|x| x.credit_limit)
    )),
];

/// Text of the two big tables' rows. Most of their values (ids of accounts, directions,
/// currencies, numbers, causes) are short: inline up to 24 bytes, they cost no allocation, and
/// no cross-thread free when the rows extract parsed are written by normalize.
pub type Text = compact_str::CompactString;

/// One wallet transaction booked in the period.
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionRow {
    pub id: Text,
    pub account_id: Text,
    pub balance_id: Option<Text>,
    /// `credit` or `debit`.
    pub kind: Text,
    /// Always positive, as the API sends it.
    pub amount: Decimal,
    /// Credits positive, debits negative.
    pub signed_amount: Decimal,
    pub currency: Text,
    pub description: Option<Text>,
    pub reference: Option<Text>,
    /// As sent, or derived from the reference where the endpoint omits it.
    pub reference_type: Text,
    /// The call this row charges, from a `cdr_<uuid>` reference.
    pub cdr_uuid: Option<Text>,
    /// The period of that call, if it was among the calls fetched.
    pub cdr_period: Option<Text>,
    pub status: Option<Text>,
    pub created_at: i64,
    pub processed_at: Option<i64>,
}

pub const TRANSACTION_COLUMNS: &[Column<TransactionRow>] = &[
    col!("id", Text, false, |r| text(r.iter().map(|x| x.id.as_str()))),
    col!("account_id", Text, false, |r| text(
        r.iter().map(|x| x.account_id.as_str())
    )),
    col!("balance_id", Text, true, |r| text_opt(
        r.iter().map(|x| x.balance_id.as_deref())
    )),
    col!("type", Text, false, |r| text(r.iter().map(|x| x.kind.as_str()))),
    col!("amount", Decimal, false, |r| decimal(r.iter().map(|x| x.amount))),
    col!("signed_amount", Decimal, false, |r| decimal(
        r.iter().map(|x| x.signed_amount)
    )),
    col!("currency", Text, false, |r| text(r.iter().map(|x| x.currency.as_str()))),
    col!("description", Text, true, |r| text_opt(
        r.iter().map(|x| x.description.as_deref())
    )),
    col!("reference", Text, true, |r| text_opt(
        r.iter().map(|x| x.reference.as_deref())
    )),
    col!("reference_type", Text, false, |r| text(
        r.iter().map(|x| x.reference_type.as_str())
    )),
    col!("cdr_uuid", Text, true, |r| text_opt(
        r.iter().map(|x| x.cdr_uuid.as_deref())
    )),
    col!("cdr_period", Text, true, |r| text_opt(
        r.iter().map(|x| x.cdr_period.as_deref())
    )),
    col!("status", Text, true, |r| text_opt(
        r.iter().map(|x| x.status.as_deref())
    )),
    col!("created_at", Timestamp, false, |r| timestamp(
        r.iter().map(|x| x.created_at)
    )),
    col!("processed_at", Timestamp, true, |r| timestamp_opt(
        r.iter().map(|x| x.processed_at)
    )),
];

/// One call that started in the period.
#[derive(Debug, Clone, PartialEq)]
pub struct CdrRow {
    pub uuid: Text,
    pub id: Option<i64>,
    pub account_id: Text,
    pub call_direction: Text,
    /// `voice-api` or `sip-trunking`.
    pub context: Option<Text>,
    pub caller_id_number: Option<Text>,
    pub destination_number: Option<Text>,
    pub duration: i32,
    pub billsec: i32,
    pub ring_time: Option<i32>,
    pub start_time: i64,
    pub answer_time: Option<i64>,
    pub end_time: Option<i64>,
    pub hangup_cause: Option<Text>,
    pub hangup_cause_code: Option<i32>,
    pub cost: Decimal,
    pub streaming_cost: Decimal,
    pub total_cost: Decimal,
    pub currency: Text,
    pub trunk_id: Option<Text>,
    pub codec: Option<Text>,
    /// Ledger debits referencing this call (booked in or after the period), summed.
    pub debit_amount: Decimal,
    pub debit_count: i32,
}

pub const CDR_COLUMNS: &[Column<CdrRow>] = &[
    col!("uuid", Text, false, |r| text(r.iter().map(|x| x.uuid.as_str()))),
    col!("id", Int64, true, |r| int64_opt(r.iter().map(|x| x.id))),
    col!("account_id", Text, false, |r| text(
        r.iter().map(|x| x.account_id.as_str())
    )),
    col!("call_direction", Text, false, |r| text(
        r.iter().map(|x| x.call_direction.as_str())
    )),
    col!("context", Text, true, |r| text_opt(
        r.iter().map(|x| x.context.as_deref())
    )),
    col!("caller_id_number", Text, true, |r| text_opt(
        r.iter().map(|x| x.caller_id_number.as_deref())
    )),
    col!("destination_number", Text, true, |r| text_opt(
        r.iter().map(|x| x.destination_number.as_deref())
    )),
    col!("duration", Int32, false, |r| int32(r.iter().map(|x| x.duration))),
    col!("billsec", Int32, false, |r| int32(r.iter().map(|x| x.billsec))),
    col!("ring_time", Int32, true, |r| int32_opt(r.iter().map(|x| x.ring_time))),
    col!("start_time", Timestamp, false, |r| timestamp(
        r.iter().map(|x| x.start_time)
    )),
    col!("answer_time", Timestamp, true, |r| timestamp_opt(
        r.iter().map(|x| x.answer_time)
    )),
    col!("end_time", Timestamp, true, |r| timestamp_opt(
        r.iter().map(|x| x.end_time)
    )),
    col!("hangup_cause", Text, true, |r| text_opt(
        r.iter().map(|x| x.hangup_cause.as_deref())
    )),
    col!("hangup_cause_code", Int32, true, |r| int32_opt(
        r.iter().map(|x| x.hangup_cause_code)
    )),
    col!("cost", Decimal, false, |r| decimal(r.iter().map(|x| x.cost))),
    col!("streaming_cost", Decimal, false, |r| decimal(
        r.iter().map(|x| x.streaming_cost)
    )),
    col!("total_cost", Decimal, false, |r| decimal(
        r.iter().map(|x| x.total_cost)
    )),
    col!("currency", Text, false, |r| text(r.iter().map(|x| x.currency.as_str()))),
    col!("trunk_id", Text, true, |r| text_opt(
        r.iter().map(|x| x.trunk_id.as_deref())
    )),
    col!("codec", Text, true, |r| text_opt(r.iter().map(|x| x.codec.as_deref()))),
    col!("debit_amount", Decimal, false, |r| decimal(
        r.iter().map(|x| x.debit_amount)
    )),
    col!("debit_count", Int32, false, |r| int32(r.iter().map(|x| x.debit_count))),
];

/// The partner's analytics for one UTC day the period touches.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyticsDayRow {
    /// Days since 1970-01-01 (UTC day, as the API buckets).
    pub date: i32,
    pub currency: String,
    pub total_calls: i64,
    pub answered_calls: i64,
    pub total_minutes: Decimal,
    pub total_cost: Decimal,
    pub inbound_calls: i64,
    pub inbound_answered: i64,
    pub inbound_minutes: Decimal,
    pub outbound_calls: i64,
    pub outbound_answered: i64,
    pub outbound_minutes: Decimal,
}

pub const ANALYTICS_COLUMNS: &[Column<AnalyticsDayRow>] = &[
    col!("date", Date, false, |r| date(r.iter().map(|x| x.date))),
    col!("currency", Text, false, |r| text(r.iter().map(|x| x.currency.as_str()))),
    col!("total_calls", Int64, false, |r| int64(r.iter().map(|x| x.total_calls))),
    col!("answered_calls", Int64, false, |r| int64(
        r.iter().map(|x| x.answered_calls)
    )),
    col!("total_minutes", Decimal, false, |r| decimal(
        r.iter().map(|x| x.total_minutes)
    )),
    col!("total_cost", Decimal, false, |r| decimal(
        r.iter().map(|x| x.total_cost)
    )),
    col!("inbound_calls", Int64, false, |r| int64(
        r.iter().map(|x| x.inbound_calls)
    )),
    col!("inbound_answered", Int64, false, |r| int64(
        r.iter().map(|x| x.inbound_answered)
    )),
    col!("inbound_minutes", Decimal, false, |r| decimal(
        r.iter().map(|x| x.inbound_minutes)
    )),
    col!("outbound_calls", Int64, false, |r| int64(
        r.iter().map(|x| x.outbound_calls)
    )),
    col!("outbound_answered", Int64, false, |r| int64(
        r.iter().map(|x| x.outbound_answered)
    )),
    col!("outbound_minutes", Decimal, false, |r| decimal(
        r.iter().map(|x| x.outbound_minutes)
    )),
];
