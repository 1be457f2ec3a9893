//! JSON shapes of the simulated API, field for field as documented
//! (shared/reference/vobiz-partner-api.md). Money is serialized exactly as each endpoint
//! sends it: 5-place strings, 2-place strings, or plain JSON numbers.

use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use super::activity::{Cdr, LedgerRow};
use super::dataset::{Account, Dataset, Micros, Tier};
use crate::model::money::json;
use crate::model::time::write_utc;

/// `2026-01-19T18:39:14.529435Z` (profile, ledgers).
pub fn ts_micros_z(t: Micros) -> Stamp {
    Stamp::new(t, true, "Z")
}

/// `2026-05-06T07:12:40.437143+00:00` (accounts).
pub fn ts_micros_offset(t: Micros) -> Stamp {
    Stamp::new(t, true, "+00:00")
}

/// `2026-03-25T06:59:31Z` (CDRs).
pub fn ts_seconds_z(t: Micros) -> Stamp {
    Stamp::new(t, false, "Z")
}

/// A timestamp's text, held inline: every CDR carries six and every ledger row three, and
/// the simulator writes millions of them (a `String` each was a fifth of its time).
#[derive(Clone, Copy)]
pub struct Stamp {
    len: u8,
    text: [u8; Stamp::CAPACITY],
}

impl Stamp {
    /// Enough for any `i64` microsecond instant: a 7-character year, fraction and `+00:00`.
    const CAPACITY: usize = 40;

    fn new(t: Micros, fraction: bool, suffix: &str) -> Self {
        let mut s = Self {
            len: 0,
            text: [0; Self::CAPACITY],
        };
        write_utc(&mut s, t, fraction, suffix).expect("a timestamp fits its buffer");
        s
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).expect("written from &str")
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.text[..self.len as usize]
    }

    /// The whole buffer and how much of it is the text.
    pub fn buffer(&self) -> (&[u8; Stamp::CAPACITY], usize) {
        (&self.text, self.len as usize)
    }
}

impl std::fmt::Write for Stamp {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let start = self.len as usize;
        let end = start + s.len();
        self.text
            .get_mut(start..end)
            .ok_or(std::fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end as u8;
        Ok(())
    }
}

impl std::ops::Deref for Stamp {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl Serialize for Stamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[derive(Serialize)]
pub struct PartnerProfile {
    pub id: Uuid,
    pub account_id: u64,
    pub name: String,
    pub slug: String,
    pub company: String,
    pub auth_id: String,
    pub email: String,
    pub phone: String,
    pub billing_model: &'static str,
    pub is_active: bool,
    pub is_verified: bool,
    pub max_accounts: u32,
    pub can_create_accounts: bool,
    pub can_create_pricing_tiers: bool,
    pub can_view_cdrs: bool,
    pub can_transfer_balance: bool,
    pub default_pricing_tier_id: Uuid,
    pub account_count: usize,
    /// A 5-place string on `/me`; `null` inside the dashboard and analytics.
    pub balance: Option<String>,
    pub currency: &'static str,
    pub created_at: Stamp,
    pub updated_at: Stamp,
}

impl PartnerProfile {
    pub fn new(ds: &Dataset, with_balance: bool) -> Self {
        let p = &ds.partner;
        Self {
            id: p.id,
            account_id: p.account_id,
            name: p.name.clone(),
            slug: p.slug.clone(),
            company: p.company.clone(),
            auth_id: p.auth_id.clone(),
            email: p.email.clone(),
            phone: p.phone.clone(),
            billing_model: "direct",
            is_active: true,
            is_verified: true,
            max_accounts: 10_000,
            can_create_accounts: true,
            can_create_pricing_tiers: true,
            can_view_cdrs: true,
            can_transfer_balance: true,
            default_pricing_tier_id: p.default_pricing_tier_id,
            account_count: ds.accounts.len(),
            balance: with_balance.then(|| crate::model::money::fixed(p.balance, 5)),
            currency: p.currency,
            created_at: ts_micros_z(p.created_at),
            updated_at: ts_micros_z(p.updated_at),
        }
    }
}

#[derive(Serialize)]
pub struct PricingTier<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub currency: &'a str,
    #[serde(serialize_with = "json::number")]
    pub rate_per_minute: Decimal,
    pub billing_increment_seconds: u32,
    pub minimum_duration_seconds: u32,
    #[serde(serialize_with = "json::number")]
    pub streaming_rate_per_minute: Decimal,
    #[serde(serialize_with = "json::number")]
    pub recording_rate_per_minute: Decimal,
    #[serde(serialize_with = "json::number")]
    pub whatsapp_voice_rate: Decimal,
    #[serde(serialize_with = "json::number")]
    pub transcription_rate_per_minute: Decimal,
    #[serde(serialize_with = "json::number")]
    pub pii_redaction_rate_per_minute: Decimal,
    pub charge_non_connected_calls: bool,
    #[serde(serialize_with = "json::number")]
    pub non_connected_call_fee: Decimal,
    pub did_release_fee: u32,
    pub is_active: bool,
    pub is_default: bool,
    pub partner_id: Uuid,
}

impl<'a> PricingTier<'a> {
    fn new(ds: &'a Dataset, t: &'a Tier) -> Self {
        Self {
            id: t.id,
            name: t.name,
            currency: ds.partner.currency,
            rate_per_minute: t.rate_per_minute,
            billing_increment_seconds: t.billing_increment_seconds,
            minimum_duration_seconds: 0,
            streaming_rate_per_minute: t.streaming_rate_per_minute,
            recording_rate_per_minute: t.recording_rate_per_minute,
            whatsapp_voice_rate: Decimal::ZERO,
            transcription_rate_per_minute: Decimal::new(20, 2),
            pii_redaction_rate_per_minute: Decimal::new(5, 2),
            charge_non_connected_calls: t.charge_non_connected_calls,
            non_connected_call_fee: t.non_connected_call_fee,
            did_release_fee: 700,
            is_active: true,
            is_default: t.is_default,
            partner_id: ds.partner.id,
        }
    }
}

/// The customer account object of `GET /accounts` and `GET /accounts/{id}`. It carries the
/// customer's `auth_token`, which clients must never persist.
#[derive(Serialize)]
pub struct AccountObject<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub phone: &'a str,
    pub description: Option<&'a str>,
    pub gstin: Option<&'a str>,
    pub gst_status: Option<&'a str>,
    pub tds_enabled: bool,
    pub tds_percentage: u32,
    pub business_type: &'a str,
    pub id: &'a str,
    pub auth_id: &'a str,
    pub api_id: Uuid,
    pub account_type: &'static str,
    pub role: &'static str,
    pub postpaid: bool,
    pub address: Option<&'a str>,
    pub city: Option<&'a str>,
    pub state: Option<&'a str>,
    pub timezone: Option<&'a str>,
    pub country: &'a str,
    pub zip_code: Option<&'a str>,
    pub company: &'a str,
    pub billing_mode: &'static str,
    pub auto_recharge: bool,
    #[serde(serialize_with = "json::string5")]
    pub cash_credits: Decimal,
    pub cps_limit: u32,
    pub concurrent_calls_limit: u32,
    pub is_active: bool,
    pub is_verified: bool,
    pub is_trial_account: bool,
    pub enabled: bool,
    pub kyc_status: &'a str,
    pub referral_disabled: bool,
    pub created_at: Stamp,
    pub updated_at: Stamp,
    pub last_login: Option<Stamp>,
    pub pricing_tier_id: Uuid,
    pub pricing_tier: PricingTier<'a>,
    pub partner_id: Uuid,
    pub auto_recharge_config: Option<()>,
    pub resource_uri: String,
    pub auth_token: &'a str,
}

impl<'a> AccountObject<'a> {
    pub fn new(ds: &'a Dataset, a: &'a Account, balance: Decimal) -> Self {
        let tier = ds.tier_of(a);
        Self {
            name: &a.name,
            email: &a.email,
            phone: &a.phone,
            description: a.description.as_deref(),
            gstin: a.gstin.as_deref(),
            gst_status: a.gst_status,
            tds_enabled: a.tds_enabled,
            tds_percentage: if a.tds_enabled { 2 } else { 0 },
            business_type: a.business_type,
            id: &a.id,
            auth_id: &a.auth_id,
            api_id: a.api_id,
            account_type: "standard",
            role: "user",
            postpaid: false,
            address: a.address.as_deref(),
            city: a.city.as_deref(),
            state: a.state.as_deref(),
            timezone: Some(a.timezone),
            country: a.country,
            zip_code: a.zip_code.as_deref(),
            company: &a.company,
            billing_mode: "prepaid",
            auto_recharge: false,
            cash_credits: balance,
            cps_limit: 10,
            concurrent_calls_limit: 50,
            is_active: a.is_active,
            is_verified: a.is_active,
            is_trial_account: false,
            enabled: a.is_active,
            kyc_status: a.kyc_status,
            referral_disabled: false,
            created_at: ts_micros_offset(a.created_at),
            updated_at: ts_micros_offset(a.updated_at),
            last_login: a.is_active.then(|| ts_micros_offset(a.updated_at)),
            pricing_tier_id: tier.id,
            pricing_tier: PricingTier::new(ds, tier),
            partner_id: ds.partner.id,
            auto_recharge_config: None,
            resource_uri: format!("/v1/Account/{}/", a.auth_id),
            auth_token: &a.auth_token,
        }
    }
}

#[derive(Serialize)]
pub struct AccountsPage<'a> {
    pub accounts: Vec<AccountObject<'a>>,
    pub total: usize,
    pub page: u64,
    /// The request's `per_page`, echoed under another name.
    pub size: u64,
}

#[derive(Serialize)]
pub struct PartnerBalance<'a> {
    pub auth_id: &'a str,
    pub name: &'a str,
    #[serde(serialize_with = "json::string5")]
    pub cash_credits: Decimal,
    pub currency: &'a str,
    pub updated_at: Stamp,
}

/// A ledger row. `reference` is omitted when null (documented for the account ledger; the
/// partner ledger shares the row shape). `reference_type` only on the account ledger.
#[derive(Serialize)]
pub struct LedgerObject<'a> {
    pub id: Uuid,
    pub account_id: &'a str,
    pub balance_id: Uuid,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub amount: WireAmount,
    pub currency: &'a str,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_type: Option<Option<&'static str>>,
    pub status: &'static str,
    pub processed_at: Stamp,
    pub created_at: Stamp,
    pub updated_at: Stamp,
}

/// A ledger row's amount on the wire: a JSON number with the decimal's digits, or the text a
/// row carries instead (a binary float's digits, [`super::dataset::OtherEntry::wire_amount`]).
#[derive(Debug, Clone, Copy)]
pub struct WireAmount {
    pub exact: Decimal,
    pub text: Option<&'static str>,
}

impl Serialize for WireAmount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.text {
            Some(t) => serde_json::value::RawValue::from_string(t.to_string())
                .map_err(serde::ser::Error::custom)?
                .serialize(s),
            None => json::number(&self.exact, s),
        }
    }
}

impl<'a> LedgerObject<'a> {
    pub fn new(a: &'a Account, r: LedgerRow, with_reference_type: bool) -> Self {
        let at = ts_micros_z(r.at);
        Self {
            id: r.id,
            account_id: &a.auth_id,
            balance_id: a.balance_id,
            kind: r.side.as_str(),
            amount: WireAmount {
                exact: r.amount,
                text: r.wire_amount,
            },
            currency: r.currency.unwrap_or(a.currency),
            description: r.description,
            reference: r.reference,
            reference_type: with_reference_type.then_some(r.reference_type),
            status: r.status.as_str(),
            processed_at: at,
            created_at: at,
            updated_at: at,
        }
    }
}

#[derive(Serialize, Default, Clone)]
pub struct ReferenceTypeTotals {
    pub reference_type: String,
    #[serde(serialize_with = "json::number")]
    pub total_debit: Decimal,
    #[serde(serialize_with = "json::number")]
    pub total_credit: Decimal,
    pub count: u64,
}

#[derive(Serialize, Default)]
pub struct LedgerSummary {
    pub total_transactions: u64,
    #[serde(serialize_with = "json::number")]
    pub total_debit: Decimal,
    #[serde(serialize_with = "json::number")]
    pub total_credit: Decimal,
    #[serde(serialize_with = "json::number")]
    pub net_amount: Decimal,
    pub by_reference_type: Vec<ReferenceTypeTotals>,
}

/// `GET /partner/accounts/{id}/transactions` (and `/partner/transactions`).
#[derive(Serialize)]
pub struct PartnerLedgerPage<'a> {
    pub transactions: Vec<LedgerObject<'a>>,
    pub summary: &'a LedgerSummary,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
    pub total_pages: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_auth_id: Option<&'a str>,
}

/// `GET /Account/{id}/transactions` (current generation).
#[derive(Serialize)]
pub struct AccountLedgerPage<'a> {
    pub transactions: Vec<LedgerObject<'a>>,
    pub summary: &'a LedgerSummary,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
    pub total_pages: u64,
}

/// The 43-field CDR object.
#[derive(Serialize)]
pub struct CdrObject<'a> {
    pub id: u64,
    pub uuid: Uuid,
    pub account_id: &'a str,
    pub call_direction: &'static str,
    pub caller_id_name: String,
    pub caller_id_number: String,
    pub destination_number: String,
    pub context: &'static str,
    pub region: &'static str,
    pub origination_region: &'static str,
    pub duration: u32,
    pub billsec: u32,
    pub ring_time: u32,
    pub start_time: Stamp,
    pub answer_time: Option<Stamp>,
    pub progress_time: Option<Stamp>,
    pub end_time: Stamp,
    pub created_at: Stamp,
    pub updated_at: Stamp,
    pub sip_call_id: String,
    #[serde(serialize_with = "json::number")]
    pub cost: Decimal,
    #[serde(serialize_with = "json::number")]
    pub streaming_cost: Decimal,
    #[serde(serialize_with = "json::number")]
    pub total_cost: Decimal,
    pub currency: &'a str,
    pub bridge_uuid: Option<Uuid>,
    pub campaign_id: Option<String>,
    pub carrier_ip: Option<&'static str>,
    pub codec: Option<&'static str>,
    pub customer_endpoint: Option<String>,
    pub terminated_to: Option<String>,
    pub trunk_id: Option<Uuid>,
    pub failure_code: Option<u32>,
    pub failure_reason: Option<&'static str>,
    pub hangup_cause: &'static str,
    pub hangup_cause_code: u32,
    pub hangup_cause_name: &'static str,
    pub hangup_disposition: &'static str,
    pub hangup_source: &'static str,
    #[serde(serialize_with = "json::number")]
    pub jitter: Decimal,
    #[serde(serialize_with = "json::number")]
    pub mos: Decimal,
    #[serde(serialize_with = "json::number")]
    pub packet_loss: Decimal,
    pub network_addr: Option<&'static str>,
    pub sip_user_agent: Option<&'static str>,
}

impl<'a> CdrObject<'a> {
    pub fn new(a: &'a Account, c: Cdr) -> Self {
        let (cause, code, name) = c.status.hangup();
        let answered = c.answer_time().is_some();
        let end = ts_seconds_z(c.end());
        let (duration, answer_time, start) = (c.duration(), c.answer_time(), c.start);
        Self {
            id: c.id,
            uuid: c.uuid,
            account_id: c.subaccount.map_or(&a.auth_id, |s| &a.subaccounts[s as usize].auth_id),
            call_direction: c.direction.as_str(),
            caller_id_name: c.caller_id_name,
            caller_id_number: c.caller_id_number,
            destination_number: c.destination_number.clone(),
            context: c.product.context(),
            region: "ap-south-1",
            origination_region: "mumbai",
            duration,
            billsec: c.billsec,
            ring_time: c.ring,
            start_time: ts_seconds_z(start),
            answer_time: answer_time.map(ts_seconds_z),
            progress_time: Some(ts_seconds_z(start + 1_000_000)),
            end_time: end,
            created_at: end,
            updated_at: end,
            sip_call_id: c.sip_call_id,
            cost: c.cost,
            streaming_cost: c.streaming_cost,
            total_cost: c.cost + c.streaming_cost,
            currency: a.currency,
            bridge_uuid: c.bridge_uuid,
            campaign_id: None,
            carrier_ip: Some(c.carrier_ip),
            codec: answered.then_some(c.codec),
            customer_endpoint: None,
            terminated_to: answered.then(|| c.destination_number.clone()),
            trunk_id: c.trunk_id,
            failure_code: (!answered).then_some(code),
            failure_reason: (!answered).then_some(name),
            hangup_cause: cause,
            hangup_cause_code: code,
            hangup_cause_name: name,
            hangup_disposition: c.hangup_disposition,
            hangup_source: c.hangup_source,
            jitter: c.jitter,
            mos: c.mos,
            packet_loss: c.packet_loss,
            network_addr: Some("10.20.0.0/16"),
            sip_user_agent: Some("Vobiz-SBC/3.2"),
        }
    }
}

#[derive(Serialize)]
pub struct Pagination {
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
    pub pages: u64,
    pub has_next: bool,
    pub has_prev: bool,
}

/// CDR summary: mixed camelCase and snake_case, as documented.
#[derive(Serialize)]
pub struct CdrSummary {
    #[serde(rename = "answerRate", serialize_with = "json::number")]
    pub answer_rate: Decimal,
    #[serde(rename = "answeredCalls")]
    pub answered_calls: u64,
    #[serde(rename = "avgCallDuration")]
    pub avg_call_duration: String,
    pub last_call_at: Option<Stamp>,
    #[serde(rename = "totalCalls")]
    pub total_calls: u64,
    pub total_billable_seconds: u64,
    #[serde(serialize_with = "json::number")]
    pub total_cost: Decimal,
    pub total_duration_seconds: u64,
}

#[derive(Serialize)]
pub struct PartnerCdrPage<'a> {
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_auth_id: Option<&'a str>,
    pub count: usize,
    pub data: Vec<CdrObject<'a>>,
    pub pagination: Pagination,
    pub summary: &'a CdrSummary,
}

/// `GET /Account/{id}/balance/{currency}`.
#[derive(Serialize)]
pub struct AccountBalance<'a> {
    pub id: Uuid,
    pub account_id: &'a str,
    pub currency: &'a str,
    #[serde(serialize_with = "json::number")]
    pub balance: Decimal,
    pub reserved_funds: u32,
    pub promotional_balance: u32,
    pub promotional_reserved_balance: u32,
    #[serde(serialize_with = "json::number")]
    pub available_balance: Decimal,
    #[serde(serialize_with = "json::number")]
    pub credit_limit: Decimal,
    pub is_postpaid: bool,
    pub credit_limit_type: &'static str,
    #[serde(serialize_with = "json::number")]
    pub low_balance_threshold: Decimal,
    pub status: &'static str,
    pub created_at: Stamp,
    pub updated_at: Stamp,
}

#[derive(Serialize, Default, Clone, Copy)]
pub struct TrafficTotals {
    pub total_calls: u64,
    pub answered_calls: u64,
    #[serde(serialize_with = "json::number1")]
    pub total_minutes: Decimal,
    #[serde(serialize_with = "json::string2")]
    pub total_cost: Decimal,
}

#[derive(Serialize, Default, Clone, Copy)]
pub struct TrafficCounts {
    pub total_calls: u64,
    pub answered_calls: u64,
    #[serde(serialize_with = "json::number1")]
    pub total_minutes: Decimal,
}

#[derive(Serialize)]
pub struct Traffic {
    pub inbound: TrafficTotals,
    pub outbound: TrafficTotals,
}

#[derive(Serialize)]
pub struct ByProduct {
    pub sip_trunking: TrafficTotals,
    pub voice_api: TrafficTotals,
}

#[derive(Serialize)]
pub struct DayPoint {
    pub date: String,
    pub total_calls: u64,
    pub answered_calls: u64,
    #[serde(serialize_with = "json::number1")]
    pub total_minutes: Decimal,
    #[serde(serialize_with = "json::string2")]
    pub total_cost: Decimal,
    pub inbound: TrafficCounts,
    pub outbound: TrafficCounts,
}

#[derive(Serialize)]
pub struct CustomerBrief<'a> {
    pub auth_id: &'a str,
    pub name: &'a str,
    pub email: &'a str,
    pub phone: &'a str,
    pub is_active: bool,
    pub created_at: Stamp,
}

#[derive(Serialize)]
pub struct AccountsBlock<'a> {
    pub total: usize,
    pub active: usize,
    pub customers: Vec<CustomerBrief<'a>>,
}

#[derive(Serialize)]
pub struct DatePeriod {
    pub from: String,
    pub to: String,
}

/// `GET /partner/dashboard` and `GET /partner/analytics` (same shape).
#[derive(Serialize)]
pub struct Analytics<'a> {
    pub partner: PartnerProfile,
    pub period: DatePeriod,
    pub accounts: AccountsBlock<'a>,
    #[serde(serialize_with = "json::string5")]
    pub total_balance: Decimal,
    pub currency: &'a str,
    pub calls: TrafficTotals,
    pub traffic: Traffic,
    pub by_product: ByProduct,
    pub time_series: Vec<DayPoint>,
}

/// A subaccount as the Subaccount API shows it. `auth_token` is the secret itself on the list
/// and masked on retrieve (the docs' examples show both).
#[derive(Serialize)]
pub struct SubAccountObject<'a> {
    pub id: &'a str,
    pub auth_id: &'a str,
    pub auth_token: String,
    pub name: &'a str,
    pub email: &'a str,
    pub phone: &'a str,
    pub description: Option<&'a str>,
    pub permissions: Option<SubAccountPermissions>,
    pub rate_limit: u32,
    pub parent_account_id: &'a str,
    pub parent_auth_id: &'a str,
    pub api_id: Uuid,
    pub email_verified: bool,
    pub enabled: bool,
    pub is_active: bool,
    /// A date (`2026-03-12`), unlike the other timestamps.
    pub created: String,
    pub modified: Stamp,
    pub created_at: Stamp,
    pub updated_at: Stamp,
    pub last_used: Option<Stamp>,
    pub account: String,
    pub resource_uri: String,
}

#[derive(Serialize)]
pub struct SubAccountPermissions {
    pub calls: bool,
    pub cdr: bool,
}

impl<'a> SubAccountObject<'a> {
    pub fn new(a: &'a Account, s: &'a super::subaccounts::SubAccount, masked: bool, now: Micros) -> Self {
        let token = if masked {
            format!("{}****", &s.auth_token[..4])
        } else {
            s.auth_token.clone()
        };
        Self {
            id: &s.id,
            auth_id: &s.auth_id,
            auth_token: token,
            name: &s.name,
            email: &s.email,
            phone: &s.phone,
            description: s.description.as_deref(),
            permissions: s.permissions.map(|(calls, cdr)| SubAccountPermissions { calls, cdr }),
            rate_limit: s.rate_limit,
            parent_account_id: &a.id,
            parent_auth_id: &a.auth_id,
            api_id: s.api_id,
            email_verified: true,
            enabled: s.enabled,
            is_active: s.enabled,
            created: crate::model::time::from_micros(s.created_at).date_naive().to_string(),
            modified: ts_micros_offset(s.updated_at),
            created_at: ts_micros_z(s.created_at),
            updated_at: ts_micros_z(s.updated_at),
            last_used: (s.calls && s.enabled).then(|| ts_micros_z(now - 3_600 * super::dataset::MICROS_PER_SEC)),
            account: format!("/v1/Account/{}/", a.auth_id),
            resource_uri: format!("/v1/Account/{}/Subaccount/{}/", a.auth_id, s.auth_id),
        }
    }
}

/// `GET /accounts/{auth_id}/sub-accounts/`.
#[derive(Serialize)]
pub struct SubAccountsPage<'a> {
    pub sub_accounts: Vec<SubAccountObject<'a>>,
    pub total: usize,
    pub page: u64,
    pub size: u64,
}
