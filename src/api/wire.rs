//! The API's JSON, as typed structs.
//!
//! Two views of each list page: the *full* row types, which extract parses once per page (its
//! paging and totals checks read them, and `run` hands the rows on to normalize) and normalize
//! reads again from the raw pages when re-run offline; and a *lite* view (ids and amounts only)
//! that extract falls back to when a row does not fit the full types, so that one bad row is
//! rejected on its own rather than failing its page. Strings borrow from the page
//! where they can (`Cow`), money is [`WireMoney`] (exact), and unknown fields are ignored so
//! that additive API changes do not break a month-end run.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::model::money::{RowMoney, WireMoney};

/// An optional string borrowed from the page. serde borrows a `Cow<str>` field marked
/// `borrow`, but not one inside an `Option`: that one it copies into a `String`, which for
/// the optional fields of every CDR and ledger row was an allocation each.
fn borrowed<'de: 'a, 'a, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Cow<'a, str>>, D::Error> {
    #[derive(Deserialize)]
    struct Borrowed<'a>(#[serde(borrow)] Cow<'a, str>);
    Ok(Option::<Borrowed<'a>>::deserialize(d)?.map(|b| b.0))
}

mod fast;

/// A CDR page with its full rows: read by [`fast`] when it can, by serde_json otherwise.
pub fn cdr_page_full(body: &[u8]) -> Result<CdrPageFull<'_>, serde_json::Error> {
    match std::str::from_utf8(body).ok().and_then(fast::cdr_page) {
        Some(page) => Ok(page),
        None => parse(body),
    }
}

/// A ledger page with its full rows: read by [`fast`] when it can, by serde_json otherwise.
pub fn ledger_page_full(body: &[u8]) -> Result<LedgerPageFull<'_>, serde_json::Error> {
    match std::str::from_utf8(body).ok().and_then(fast::ledger_page) {
        Some(page) => Ok(page),
        None => parse(body),
    }
}

/// Parse a body, its UTF-8 checked once up front: serde_json then reads its strings without
/// checking each one again (per-string checks took about 5% of extract and of normalize). A
/// body that is not UTF-8 goes through `from_slice`, so that its error is what it always was
/// (a body cut inside a character is truncated JSON, which the client retries).
pub fn parse<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, serde_json::Error> {
    match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(body),
    }
}

// ----- lite page views (extract) ----------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct AccountsPageLite<'a> {
    #[serde(borrow)]
    pub accounts: Vec<AccountLite<'a>>,
    pub total: u64,
    pub page: u64,
    pub size: u64,
}

#[derive(Debug, Deserialize)]
pub struct AccountLite<'a> {
    #[serde(borrow)]
    pub auth_id: Cow<'a, str>,
    /// The customer's secret; kept in memory only (see `client::Secret`).
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub auth_token: Option<Cow<'a, str>>,
    #[serde(default)]
    pub pricing_tier: Option<TierLite<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct TierLite<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub currency: Option<Cow<'a, str>>,
}

/// A ledger page; its rows are [`LedgerRowLite`] (extract's checks) or [`LedgerRowWire`]
/// (the full rows, so that a page is parsed once).
#[derive(Debug, Deserialize, PartialEq)]
pub struct LedgerPageOf<R> {
    pub transactions: Vec<R>,
    pub summary: LedgerSummary,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
    pub total_pages: u64,
}

pub type LedgerPageLite<'a> = LedgerPageOf<LedgerRowLite<'a>>;
pub type LedgerPageFull<'a> = LedgerPageOf<LedgerRowWire<'a>>;

#[derive(Debug, Deserialize)]
pub struct LedgerRowLite<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    pub amount: RowMoney,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq)]
pub struct LedgerSummary {
    pub total_transactions: u64,
    pub total_debit: WireMoney,
    pub total_credit: WireMoney,
    #[serde(default)]
    pub net_amount: Option<WireMoney>,
}

/// A CDR page; its rows are [`CdrLite`] (extract's checks) or [`CdrWire`] (the full rows).
#[derive(Debug, Deserialize, PartialEq)]
pub struct CdrPageOf<R> {
    pub count: u64,
    pub data: Vec<R>,
    pub pagination: Pagination,
    pub summary: CdrSummaryLite,
}

pub type CdrPageLite<'a> = CdrPageOf<CdrLite<'a>>;
pub type CdrPageFull<'a> = CdrPageOf<CdrWire<'a>>;

#[derive(Debug, Deserialize)]
pub struct CdrLite<'a> {
    #[serde(borrow)]
    pub uuid: Cow<'a, str>,
    pub total_cost: RowMoney,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq)]
pub struct Pagination {
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
    pub pages: u64,
    pub has_next: bool,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq)]
pub struct CdrSummaryLite {
    #[serde(rename = "totalCalls")]
    pub total_calls: u64,
    pub total_cost: WireMoney,
}

// ----- full rows (normalize) --------------------------------------------------------------

/// A list page whose rows are kept as raw JSON, to be parsed one by one (a bad row is
/// rejected on its own, not with its page).
#[derive(Debug, Deserialize)]
pub struct RowsPage<'a> {
    #[serde(
        borrow,
        alias = "accounts",
        alias = "transactions",
        alias = "data",
        alias = "sub_accounts"
    )]
    pub rows: Vec<&'a RawValue>,
}

/// A page of the Subaccount API's list, ids only (extract's paging checks).
#[derive(Debug, Deserialize)]
pub struct SubaccountsPageLite {
    pub sub_accounts: Vec<SubaccountLite>,
    pub total: u64,
    pub page: u64,
    pub size: u64,
}

#[derive(Debug, Deserialize)]
pub struct SubaccountLite {
    pub auth_id: String,
}

/// One subaccount (its `auth_token` is not a field here: it is never read).
#[derive(Debug, Deserialize)]
pub struct SubaccountWire {
    pub auth_id: String,
    /// A numeric string in the docs; a number is taken as well.
    #[serde(default)]
    pub id: Option<serde_json::Value>,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub is_active: Option<bool>,
    #[serde(default)]
    pub permissions: Option<SubaccountPermissionsWire>,
    #[serde(default)]
    pub rate_limit: Option<i64>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SubaccountPermissionsWire {
    #[serde(default)]
    pub calls: Option<bool>,
    #[serde(default)]
    pub cdr: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct AccountWire<'a> {
    #[serde(borrow)]
    pub auth_id: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub email: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub phone: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub company: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub address: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub city: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub state: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub zip_code: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub country: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub gstin: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub gst_status: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub business_type: Option<Cow<'a, str>>,
    #[serde(default)]
    pub tds_enabled: Option<bool>,
    #[serde(default)]
    pub tds_percentage: Option<u32>,
    #[serde(default)]
    pub is_active: Option<bool>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub kyc_status: Option<Cow<'a, str>>,
    #[serde(default)]
    pub pricing_tier: Option<TierWire<'a>>,
    #[serde(borrow)]
    pub created_at: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub updated_at: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
pub struct TierWire<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub name: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub currency: Option<Cow<'a, str>>,
    #[serde(default)]
    pub rate_per_minute: Option<WireMoney>,
    #[serde(default)]
    pub billing_increment_seconds: Option<u32>,
}

#[derive(Debug, Deserialize, PartialEq)]
pub struct LedgerRowWire<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow)]
    pub account_id: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub balance_id: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    pub amount: WireMoney,
    #[serde(borrow)]
    pub currency: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub description: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub reference: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub reference_type: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub created_at: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub processed_at: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize, PartialEq)]
pub struct CdrWire<'a> {
    pub id: Option<u64>,
    #[serde(borrow)]
    pub uuid: Cow<'a, str>,
    #[serde(borrow)]
    pub account_id: Cow<'a, str>,
    #[serde(borrow)]
    pub call_direction: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub caller_id_number: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub destination_number: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub context: Option<Cow<'a, str>>,
    pub duration: u32,
    pub billsec: u32,
    #[serde(default)]
    pub ring_time: Option<u32>,
    #[serde(borrow)]
    pub start_time: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub answer_time: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub end_time: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub hangup_cause: Option<Cow<'a, str>>,
    #[serde(default)]
    pub hangup_cause_code: Option<u32>,
    pub cost: WireMoney,
    #[serde(default)]
    pub streaming_cost: Option<WireMoney>,
    pub total_cost: WireMoney,
    #[serde(borrow)]
    pub currency: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub trunk_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub codec: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
pub struct ProfileWire<'a> {
    #[serde(borrow)]
    pub auth_id: Cow<'a, str>,
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub company: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed")]
    pub currency: Option<Cow<'a, str>>,
    #[serde(default)]
    pub balance: Option<WireMoney>,
}

#[derive(Debug, Deserialize)]
pub struct PartnerBalanceWire<'a> {
    #[serde(borrow)]
    pub auth_id: Cow<'a, str>,
    pub cash_credits: WireMoney,
    #[serde(borrow)]
    pub currency: Cow<'a, str>,
    #[serde(borrow)]
    pub updated_at: Cow<'a, str>,
}

#[derive(Debug, Deserialize)]
pub struct WalletWire<'a> {
    pub balance: WireMoney,
    #[serde(borrow)]
    pub currency: Cow<'a, str>,
    #[serde(default)]
    pub credit_limit: Option<WireMoney>,
    #[serde(default)]
    pub low_balance_threshold: Option<WireMoney>,
}

#[derive(Debug, Deserialize)]
pub struct LedgerTotalsWire {
    pub summary: LedgerSummary,
    pub total: u64,
}

#[derive(Debug, Deserialize)]
pub struct AnalyticsWire<'a> {
    #[serde(borrow)]
    pub currency: Cow<'a, str>,
    pub time_series: Vec<DayWire<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct DayWire<'a> {
    #[serde(borrow)]
    pub date: Cow<'a, str>,
    pub total_calls: u64,
    pub answered_calls: u64,
    pub total_minutes: WireMoney,
    pub total_cost: WireMoney,
    pub inbound: DirectionWire,
    pub outbound: DirectionWire,
}

#[derive(Debug, Deserialize)]
pub struct DirectionWire {
    pub total_calls: u64,
    pub answered_calls: u64,
    pub total_minutes: WireMoney,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_cut_inside_a_character_is_still_truncated_json() {
        let body = r#"{"name":"Café"}"#.as_bytes();
        let cut = &body[..body.iter().position(|&b| b == 0xC3).unwrap() + 1];
        let e = parse::<serde_json::Value>(cut).unwrap_err();
        // What the client retries, as it did before bodies were checked for UTF-8 up front.
        assert!(e.is_eof() || e.is_syntax(), "{e}");
        assert_eq!(parse::<serde_json::Value>(body).unwrap()["name"], "Café");
    }

    #[test]
    fn optional_strings_borrow_from_the_page_unless_escaped() {
        let body = br#"{"id":"t1","account_id":"MA_1","type":"debit","amount":"1.00000",
            "currency":"INR","description":"Call to \"x\"","reference":"cdr_1",
            "reference_type":null,"created_at":"2026-03-01T00:00:00Z"}"#;
        let row: LedgerRowWire = parse(body).unwrap();
        assert!(matches!(row.reference, Some(Cow::Borrowed("cdr_1"))));
        assert_eq!(row.description.as_deref(), Some("Call to \"x\""));
        assert!(matches!(row.description, Some(Cow::Owned(_))));
        assert_eq!(row.reference_type, None);
        assert_eq!(row.status, None);
    }
}
