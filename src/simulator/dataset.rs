//! The seeded dataset: the partner, its pricing tiers and customer accounts, and each
//! account's non-call ledger entries. Everything per call (CDRs, their debits) is generated on
//! demand in [`super::activity`], so the dataset stays small however many calls it describes.

use std::collections::HashMap;

use chrono::Duration;
use chrono_tz::Tz;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::rng::{Rng, key};
use crate::model::Period;
use crate::model::gstin::{check_char, state_by_code};

/// Microseconds since the Unix epoch; the simulator's only clock unit.
pub type Micros = i64;

pub const MICROS_PER_SEC: i64 = 1_000_000;

pub use crate::model::time::from_micros as to_datetime;

/// Credentials the simulator accepts for the partner endpoints (documented in README).
pub const DEMO_PARTNER_AUTH_ID: &str = "PA_DEMO0001";
pub const DEMO_PARTNER_AUTH_TOKEN: &str = "sim-partner-token";

/// A discrepancy the simulator can plant, each in its own account, for reconciliation tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Anomaly {
    /// A charged call without its ledger debit.
    MissingDebit,
    /// A call debited twice.
    DuplicateDebit,
    /// A call's debit one paisa above its cost.
    PaisaDifference,
    /// The reported balance is ₹100 above what the ledger explains.
    BalanceJump,
    /// A ledger row in another currency.
    CurrencyMismatch,
    /// A call debit whose call does not exist.
    OrphanDebit,
}

impl Anomaly {
    pub const ALL: [Anomaly; 6] = [
        Anomaly::MissingDebit,
        Anomaly::DuplicateDebit,
        Anomaly::PaisaDifference,
        Anomaly::BalanceJump,
        Anomaly::CurrencyMismatch,
        Anomaly::OrphanDebit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Anomaly::MissingDebit => "missing-debit",
            Anomaly::DuplicateDebit => "duplicate-debit",
            Anomaly::PaisaDifference => "paisa",
            Anomaly::BalanceJump => "balance-jump",
            Anomaly::CurrencyMismatch => "currency",
            Anomaly::OrphanDebit => "orphan",
        }
    }

    /// `none`, `all`, or a comma-separated list of names.
    pub fn parse_list(s: &str) -> Result<Vec<Anomaly>, String> {
        let mut out = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            match item {
                "none" => out.clear(),
                "all" => out = Anomaly::ALL.to_vec(),
                _ => out.push(*Anomaly::ALL.iter().find(|a| a.name() == item).ok_or_else(|| {
                    let known: Vec<&str> = Anomaly::ALL.iter().map(|a| a.name()).collect();
                    format!("unknown anomaly {item:?}; known: all, none, {}", known.join(", "))
                })?),
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

/// A `--anomalies` argument: `none`, `all`, or a comma-separated list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Anomalies(pub Vec<Anomaly>);

impl std::str::FromStr for Anomalies {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Anomaly::parse_list(s).map(Anomalies)
    }
}

/// How the dataset is shaped. Everything is a pure function of these values.
#[derive(Debug, Clone)]
pub struct DatasetSpec {
    pub seed: u64,
    pub accounts: u32,
    pub cdrs_per_account: u32,
    pub period: Period,
    pub time_zone: Tz,
    /// Days of activity generated before and after the period, so that clients must filter
    /// the period's edges themselves.
    pub margin_days: i64,
    /// Accounts that get late ledger rows while a client pages (fault injection), per mille.
    pub drift_per_mille: u64,
    /// Give one account a hostile name and address (HTML, Typst and spreadsheet markup).
    pub hostile_names: bool,
    /// Discrepancies to plant, one account each (active accounts from index 7 on).
    pub anomalies: Vec<Anomaly>,
    /// Serve the period as it reads a week after month end: the [`LateChange`]s of the four
    /// accounts that carry one take effect. `false` serves it as it reads at month end.
    pub late: bool,
    /// Serve data as customers and billing systems really produce it ([`Messy`]): heavy-tailed
    /// usage, accounts opened and closed mid-month, ledger rows that are not completed, refunds
    /// of billed supply, customer text as people type it and malformed money. `false` (the
    /// default) serves exactly the clean dataset.
    pub messy: bool,
}

impl DatasetSpec {
    pub fn new(seed: u64, accounts: u32, cdrs_per_account: u32, period: Period) -> Self {
        Self {
            seed,
            accounts,
            cdrs_per_account,
            period,
            time_zone: chrono_tz::Asia::Kolkata,
            margin_days: 2,
            drift_per_mille: 0,
            hostile_names: false,
            anomalies: Vec::new(),
            late: false,
            messy: false,
        }
    }
}

/// A change to a past period that the API shows only later ([`DatasetSpec::late`]), one
/// account each. The accounts are chosen whether or not `late` is set, so that tests can find
/// them; only `late` applies the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LateChange {
    /// Calls mediated late: 2–5 extra calls in the period's last three days (CDR indices from
    /// `cdr_count` on, listed in [`Account::late_calls`]) that exist only when late.
    Calls,
    /// One billed call refunded: its CDR and debit stay as billed, and a refund credit of its
    /// cost naming it (`cdr_<uuid>`, reference type `refund`) is booked after the period's end.
    Refund,
    /// One answered call re-rated: 60 more billable seconds, priced by the tier, and its debit
    /// follows.
    Rerate,
    /// Every call starting in the period re-rated to 0 and the account's non-call debits dated
    /// in the period withdrawn: its billable value for the period is 0.
    Reversed,
}

impl LateChange {
    /// The order in which changes are given to accounts.
    pub const ALL: [LateChange; 4] = [
        LateChange::Calls,
        LateChange::Refund,
        LateChange::Rerate,
        LateChange::Reversed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            LateChange::Calls => "late-calls",
            LateChange::Refund => "refund",
            LateChange::Rerate => "rerate",
            LateChange::Reversed => "reversed",
        }
    }
}

/// What a messy dataset ([`DatasetSpec::messy`]) plants, one account per role (see
/// [`Dataset::messy_account`]). Planted accounts have index 8 or above, are active INR
/// accounts with calls, and carry no [`Anomaly`] and no [`LateChange`]; they are chosen in an
/// order shuffled by the seed, each role taking the first unused account it fits (never the
/// [`Messy::Whale`]). Customer-text
/// roles (the `State*` ones through [`Messy::Sez`]) share an account with a ledger or money
/// role only when too few accounts are free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Messy {
    /// Not planted: the account with the most calls under the heavy-tailed usage (at least
    /// ten times the median), whatever its index; it carries no other role.
    Whale,
    /// Created on day 10 of the period, funded at creation; nothing before it.
    OpenedMidMonth,
    /// Closed on day 20 of the period (`is_active = false`): calls, debits and rentals only
    /// before the close.
    ClosedMidMonth,
    /// A ₹300 DID rental debit on the 1st with status `failed`, retried (completed, new id,
    /// same reference and description) an hour later.
    FailedRental,
    /// A call debit with status `failed`, retried (completed, same reference and amount) 30 s
    /// later.
    FailedCallDebit,
    /// A recharge credit with status `pending` in the period.
    PendingRecharge,
    /// A partner-transfer credit with status `cancelled` in the period.
    CancelledTransfer,
    /// A ₹150 `recording` debit with the undocumented status `processing`.
    UnknownStatus,
    /// A billed call refunded a few hours later: a completed `refund` credit referencing
    /// `cdr_<uuid>`, for the call's talk-time cost.
    RefundedCall,
    /// A DID rental debit of the period refunded in full: a completed `refund` credit
    /// referencing `txn_<id of the debit>`.
    RefundedCharge,
    /// A CDR whose cost is -0.45, without a debit.
    NegativeCost,
    /// A completed `manual_adjustment` debit of 12.34 whose amount the wire shows with a
    /// double's digits (`12.340000000000001`): more decimals than money has.
    SixDecimals,
    /// Not planted by [`Messy::PLANTED`] (see [`super::subaccounts`]): a call by a subaccount
    /// after it was disabled.
    DisabledSubaccountUsage,
    /// Not planted by [`Messy::PLANTED`]: a call by a subaccount the list does not show.
    UnknownSubaccount,
    /// State written `Tamilnadu` (33).
    StateTamilnadu,
    /// State written `TN` (33).
    StateTn,
    /// State written `Orissa` (21).
    StateOrissa,
    /// State written `Pondicherry` (34).
    StatePondicherry,
    /// State written `New Delhi` (07).
    StateNewDelhi,
    /// State written `Jammu & Kashmir` (01).
    StateJammuKashmir,
    /// State written `Daman and Diu` (26).
    StateDamanDiu,
    /// Blank state (`""`) with PIN 560034 (Bengaluru, Karnataka).
    BlankStatePin,
    /// State `Select State` (a form's placeholder, not a state).
    SelectState,
    /// A registered account with `company = ""`.
    BlankCompany,
    /// A valid GSTIN sent lower case with spaces (`29 abcde 1234f 1z5`).
    GstinNotCanonical,
    /// A checksum-valid GSTIN with `gst_status = "inactive"`.
    InactiveGstin,
    /// `gst_status = "suspended"` (neither active nor inactive).
    SuspendedGstin,
    /// An SEZ unit registered in Karnataka (the supplier's state).
    Sez,
}

impl Messy {
    /// Every planted role, in the order roles are given accounts (roles that need a fitting
    /// call first). [`Messy::Whale`] is not planted.
    pub const PLANTED: [Messy; 25] = [
        Messy::OpenedMidMonth,
        Messy::ClosedMidMonth,
        Messy::FailedCallDebit,
        Messy::RefundedCall,
        Messy::NegativeCost,
        Messy::FailedRental,
        Messy::RefundedCharge,
        Messy::PendingRecharge,
        Messy::CancelledTransfer,
        Messy::UnknownStatus,
        Messy::SixDecimals,
        Messy::StateTamilnadu,
        Messy::StateTn,
        Messy::StateOrissa,
        Messy::StatePondicherry,
        Messy::StateNewDelhi,
        Messy::StateJammuKashmir,
        Messy::StateDamanDiu,
        Messy::BlankStatePin,
        Messy::SelectState,
        Messy::BlankCompany,
        Messy::GstinNotCanonical,
        Messy::InactiveGstin,
        Messy::SuspendedGstin,
        Messy::Sez,
    ];

    /// Whether the role changes only the customer's text (name, address, registration).
    pub fn is_customer_text(self) -> bool {
        self >= Messy::StateTamilnadu
    }

    /// The exception kinds a billing pipeline must report for an account with this role.
    pub fn oddities(self) -> &'static [&'static str] {
        match self {
            Messy::Whale => &[],
            Messy::OpenedMidMonth => &["opened_in_period"],
            Messy::ClosedMidMonth => &["closed_in_period"],
            Messy::FailedRental | Messy::FailedCallDebit | Messy::PendingRecharge | Messy::CancelledTransfer => {
                &["ledger_not_completed"]
            }
            Messy::UnknownStatus => &["unknown_ledger_status"],
            Messy::RefundedCall | Messy::RefundedCharge => &["supply_refunded"],
            Messy::NegativeCost => &["rejected_row"],
            Messy::SixDecimals => &["ledger_inconsistent", "rejected_row"],
            Messy::DisabledSubaccountUsage => &["disabled_subaccount"],
            Messy::UnknownSubaccount => &["unknown_subaccount"],
            Messy::StateTamilnadu
            | Messy::StateTn
            | Messy::StateOrissa
            | Messy::StatePondicherry
            | Messy::StateNewDelhi
            | Messy::StateJammuKashmir
            | Messy::StateDamanDiu => &["state_alias"],
            Messy::BlankStatePin => &["state_from_pin"],
            Messy::SelectState => &["unknown_state"],
            Messy::BlankCompany => &["blank_company"],
            Messy::GstinNotCanonical => &["gstin_not_canonical"],
            Messy::InactiveGstin => &["inactive_gstin"],
            Messy::SuspendedGstin => &["unknown_gst_status"],
            Messy::Sez => &["sez"],
        }
    }
}

#[derive(Debug, Clone)]
pub struct Partner {
    pub id: Uuid,
    pub account_id: u64,
    pub auth_id: String,
    pub auth_token: String,
    pub name: String,
    pub slug: String,
    pub company: String,
    pub email: String,
    pub phone: String,
    pub currency: &'static str,
    pub default_pricing_tier_id: Uuid,
    pub created_at: Micros,
    pub updated_at: Micros,
    pub balance: Decimal,
}

#[derive(Debug, Clone)]
pub struct Tier {
    pub id: Uuid,
    pub name: &'static str,
    pub rate_per_minute: Decimal,
    pub billing_increment_seconds: u32,
    pub streaming_rate_per_minute: Decimal,
    pub recording_rate_per_minute: Decimal,
    pub charge_non_connected_calls: bool,
    pub non_connected_call_fee: Decimal,
    pub is_default: bool,
}

impl Tier {
    /// Cost of `secs` billable seconds: whole billing increments, rounded up.
    pub fn cost(&self, secs: u32) -> Decimal {
        price_in_pulses(secs, self.billing_increment_seconds, self.rate_per_minute)
    }

    /// Streaming is billed in 60-second pulses, rounded up (the documented 70 s → 0.90).
    pub fn streaming_cost(&self, secs: u32) -> Decimal {
        price_in_pulses(secs, 60, self.streaming_rate_per_minute)
    }
}

fn price_in_pulses(secs: u32, pulse: u32, rate_per_minute: Decimal) -> Decimal {
    let pulses = secs.div_ceil(pulse);
    if pulses == 0 {
        // Most calls: unanswered ones bill nothing, and few calls stream.
        return Decimal::ZERO;
    }
    // rate × pulse / 60 terminates for every tier defined below (checked in tests).
    Decimal::from(pulses) * Decimal::from(pulse) * rate_per_minute / Decimal::from(60)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Credit,
    Debit,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Credit => "credit",
            Side::Debit => "debit",
        }
    }
}

/// A ledger entry that is not a call charge: recharges, transfers, rentals, refunds.
#[derive(Debug, Clone)]
pub struct OtherEntry {
    pub id: Uuid,
    pub at: Micros,
    pub side: Side,
    pub amount: Decimal,
    pub description: String,
    pub reference: Option<String>,
    /// `None` for partner transfers (the partner summary reports them as "unknown").
    pub reference_type: Option<&'static str>,
    /// Partner-ledger filter vocabulary: recharge | debit | refund | transfer.
    pub filter_kind: &'static str,
    /// Only [`LedgerStatus::Completed`] rows move the wallet.
    pub status: LedgerStatus,
    /// The amount as the wire shows it, when that is not `amount` exactly: a binary float's
    /// digits (`12.340000000000001`), as a billing system serializing a double sends them.
    pub wire_amount: Option<&'static str>,
}

/// A ledger row's `status`. Only completed rows move the wallet; every row is completed
/// unless [`DatasetSpec::messy`] plants otherwise.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LedgerStatus {
    #[default]
    Completed,
    Pending,
    Failed,
    Cancelled,
    /// Not one of the documented statuses (`completed|pending|failed|cancelled`).
    Processing,
}

impl LedgerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerStatus::Completed => "completed",
            LedgerStatus::Pending => "pending",
            LedgerStatus::Failed => "failed",
            LedgerStatus::Cancelled => "cancelled",
            LedgerStatus::Processing => "processing",
        }
    }

    /// Whether the row has moved the wallet (balances count it).
    pub fn moves_wallet(self) -> bool {
        self == LedgerStatus::Completed
    }
}

#[derive(Debug, Clone)]
pub struct Account {
    pub index: u32,
    pub auth_id: String,
    pub auth_token: String,
    pub id: String,
    pub api_id: Uuid,
    pub balance_id: Uuid,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub company: String,
    pub description: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: &'static str,
    pub zip_code: Option<String>,
    pub timezone: &'static str,
    pub gstin: Option<String>,
    pub gst_status: Option<&'static str>,
    pub business_type: &'static str,
    pub tds_enabled: bool,
    pub tier: usize,
    pub created_at: Micros,
    pub updated_at: Micros,
    pub is_active: bool,
    pub kyc_status: &'static str,
    pub currency: &'static str,
    pub cdr_count: u32,
    pub inbound_per_mille: u64,
    pub voice_api_per_mille: u64,
    pub opening_balance: Decimal,
    pub low_balance_threshold: Decimal,
    pub credit_limit: Decimal,
    pub numbers: Vec<String>,
    /// Non-call ledger entries inside the window, in no particular order.
    pub others: Vec<OtherEntry>,
    /// Rows that appear only after a client has started paging the ledger (page drift).
    pub drift: Vec<OtherEntry>,
    /// A planted discrepancy, if any.
    pub anomaly: Option<Anomaly>,
    /// The change this account shows when [`DatasetSpec::late`] is set, if any.
    pub late: Option<LateChange>,
    /// CDR indices the change touches, ascending: the late calls (`Calls`), the refunded call
    /// (`Refund`) or the re-rated call (`Rerate`); empty otherwise.
    pub late_calls: Vec<u32>,
    /// The [`Messy`] roles planted in this account (messy datasets only; usually one).
    pub messy: Vec<Messy>,
    /// When the account was closed ([`Messy::ClosedMidMonth`]): its calls end and its ledger
    /// stops before this instant.
    pub closed_at: Option<Micros>,
    /// The call whose first debit failed and was retried ([`Messy::FailedCallDebit`]).
    pub failed_call: Option<u32>,
    /// The call served with a negative cost and no debit ([`Messy::NegativeCost`]).
    pub negative_call: Option<u32>,
    /// Its subaccounts, oldest first as created (see [`super::subaccounts`]).
    pub subaccounts: Vec<super::subaccounts::SubAccount>,
    /// Calls planted on a subaccount whatever the draw says: (call index, subaccount index).
    pub subaccount_calls: Vec<(u32, u32)>,
}

#[derive(Debug)]
pub struct Dataset {
    pub spec: DatasetSpec,
    /// `[start, end)` of generated activity; `end` is the simulator's "now".
    pub window_start: Micros,
    pub window_end: Micros,
    pub period_start: Micros,
    pub period_end: Micros,
    pub partner: Partner,
    pub tiers: Vec<Tier>,
    pub accounts: Vec<Account>,
    /// Account indices, newest account first (the list endpoint's order).
    pub accounts_newest_first: Vec<u32>,
    by_auth_id: HashMap<String, u32>,
}

impl Dataset {
    pub fn generate(spec: DatasetSpec) -> Self {
        let (p_start, p_end) = spec.period.bounds(spec.time_zone);
        let period_start = p_start.timestamp_micros();
        let period_end = p_end.timestamp_micros();
        let margin = Duration::days(spec.margin_days).num_microseconds().expect("small");
        let window_start = period_start - margin;
        let window_end = period_end + margin;

        let mut rng = Rng::new(key(&[spec.seed, 0xDA7A]));
        let tiers = tiers(&mut rng);
        let partner = partner(&mut rng, &tiers, window_start);
        let mut accounts: Vec<Account> = (0..spec.accounts)
            .map(|i| account(&spec, &partner, &tiers, i, window_start, window_end))
            .collect();
        if spec.hostile_names
            && let Some(a) = accounts.get_mut(HOSTILE_INDEX)
        {
            make_hostile(a);
        }
        let mut hosts = accounts
            .iter_mut()
            .filter(|a| a.index >= 7 && a.is_active && a.cdr_count > 0);
        for &anomaly in &spec.anomalies {
            match hosts.next() {
                Some(a) => a.anomaly = Some(anomaly),
                None => panic!("not enough active accounts to plant {} anomalies", spec.anomalies.len()),
            }
        }
        if spec.messy {
            super::messy::heavy_tail(&spec, &mut accounts);
        }
        let by_auth_id = accounts.iter().map(|a| (a.auth_id.clone(), a.index)).collect();
        let mut ds = Self {
            spec,
            window_start,
            window_end,
            period_start,
            period_end,
            partner,
            tiers,
            accounts,
            accounts_newest_first: Vec::new(),
            by_auth_id,
        };
        ds.sort_newest_first();
        for (i, change, calls) in super::activity::choose_late(&ds) {
            let a = &mut ds.accounts[i as usize];
            a.late = Some(change);
            a.late_calls = calls;
        }
        if ds.spec.messy {
            super::messy::plant(&mut ds);
            ds.sort_newest_first();
        }
        super::subaccounts::plant(&mut ds);
        ds
    }

    fn sort_newest_first(&mut self) {
        let accounts = &self.accounts;
        let mut order: Vec<u32> = (0..accounts.len() as u32).collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(accounts[i as usize].created_at), i));
        self.accounts_newest_first = order;
    }

    /// The account given role `m` in a messy dataset (`None` in a clean one, or if no account
    /// fitted). [`Messy::Whale`] is the account with the most calls.
    pub fn messy_account(&self, m: Messy) -> Option<&Account> {
        if !self.spec.messy {
            return None;
        }
        match m {
            Messy::Whale => self
                .accounts
                .iter()
                .max_by_key(|a| (a.cdr_count, std::cmp::Reverse(a.index))),
            _ => self.accounts.iter().find(|a| a.messy.contains(&m)),
        }
    }

    /// CDRs of `a` that exist now: `0..cdr_count`, plus its late calls when late.
    pub fn call_count(&self, a: &Account) -> u32 {
        if self.spec.late && a.late == Some(LateChange::Calls) {
            a.cdr_count + a.late_calls.len() as u32
        } else {
            a.cdr_count
        }
    }

    /// The account carrying `change`, if one was found.
    pub fn late_account(&self, change: LateChange) -> Option<&Account> {
        self.accounts.iter().find(|a| a.late == Some(change))
    }

    pub fn now(&self) -> Micros {
        self.window_end
    }

    pub fn account(&self, auth_id: &str) -> Option<&Account> {
        self.by_auth_id.get(auth_id).map(|&i| &self.accounts[i as usize])
    }

    pub fn tier_of(&self, a: &Account) -> &Tier {
        &self.tiers[a.tier]
    }
}

/// Index of the account that gets a hostile name when [`DatasetSpec::hostile_names`] is set.
pub const HOSTILE_INDEX: usize = 7;

fn make_hostile(a: &mut Account) {
    a.name = "<script>alert(1)</script> & \"Sons\" #set page(fill: red) =HYPERLINK(\"http://x\")".into();
    a.company = "=HYPERLINK(\"http://evil.example\",\"click\") <b>Co</b> #emph[x] $x$".into();
    a.address = Some("<img src=x onerror=alert(1)> \\ #import \"/etc/passwd\"".into());
}

pub(super) fn d(s: &str) -> Decimal {
    Decimal::from_str_exact(s).expect("literal")
}

fn tiers(rng: &mut Rng) -> Vec<Tier> {
    let mut tier = |name, rate, inc, stream, ncc: bool, is_default| Tier {
        id: rng.uuid(),
        name,
        rate_per_minute: d(rate),
        billing_increment_seconds: inc,
        streaming_rate_per_minute: d(stream),
        recording_rate_per_minute: d("0.10"),
        charge_non_connected_calls: ncc,
        non_connected_call_fee: d("0.02"),
        is_default,
    };
    vec![
        tier("Standard (per minute)", "0.45", 60, "0.45", false, true),
        tier("Startup (per second)", "0.45", 1, "0.45", false, false),
        tier("Enterprise (30 s pulse)", "0.39", 30, "0.30", true, false),
    ]
}

fn partner(rng: &mut Rng, tiers: &[Tier], window_start: Micros) -> Partner {
    let created_at = window_start - 400 * 86_400 * MICROS_PER_SEC + rng.below(86_400 * MICROS_PER_SEC as u64) as i64;
    Partner {
        id: rng.uuid(),
        account_id: 500_000,
        auth_id: DEMO_PARTNER_AUTH_ID.into(),
        auth_token: DEMO_PARTNER_AUTH_TOKEN.into(),
        name: "Demo Telecom Partner".into(),
        slug: "demo-telecom".into(),
        company: "Demo Telecom Solutions Private Limited".into(),
        email: "billing@demotelecom.example".into(),
        phone: "+918041234567".into(),
        currency: "INR",
        default_pricing_tier_id: tiers[0].id,
        created_at,
        updated_at: created_at + 3600 * MICROS_PER_SEC,
        balance: d("1003058.82"),
    }
}

const FIRST: &[&str] = &[
    "Aarav", "Vivaan", "Aditya", "Ananya", "Diya", "Ishaan", "Kavya", "Meera", "Rohan", "Saanvi", "Arjun", "Priya",
    "Nikhil", "Sneha", "Rahul", "Pooja", "Karthik", "Lakshmi", "Vikram", "Neha",
];
const LAST: &[&str] = &[
    "Sharma", "Iyer", "Reddy", "Patel", "Nair", "Gupta", "Menon", "Rao", "Kulkarni", "Singh", "Das", "Joshi", "Pillai",
    "Banerjee", "Shetty", "Verma",
];
const BRAND: &[&str] = &[
    "Credresolve",
    "Swiftcall",
    "Nimbus",
    "Trikon",
    "Saffron",
    "Kaveri",
    "Indus",
    "Pragati",
    "Lotus",
    "Vayu",
    "Sahyadri",
    "Ganga",
    "Orbit",
    "Zenith",
    "Tarang",
    "Megh",
    "Akash",
    "Pulse",
    "Sutra",
    "Vega",
];
const TRADE: &[&str] = &[
    "Collections",
    "Logistics",
    "Health",
    "Fintech",
    "Realty",
    "Edutech",
    "Retail",
    "Travels",
    "Insurance",
    "Foods",
];
const SUFFIX: &[(&str, u8)] = &[
    ("Private Limited", b'C'),
    ("LLP", b'F'),
    ("Solutions Private Limited", b'C'),
    ("& Co", b'F'),
    ("Enterprises", b'P'),
];

/// (state code, city, PIN prefix) for customers in India, weighted by repetition.
const PLACES: &[(u8, &str, &str)] = &[
    (29, "Bengaluru", "560"),
    (29, "Mysuru", "570"),
    (27, "Mumbai", "400"),
    (27, "Pune", "411"),
    (33, "Chennai", "600"),
    (7, "New Delhi", "110"),
    (36, "Hyderabad", "500"),
    (24, "Ahmedabad", "380"),
    (9, "Noida", "201"),
    (19, "Kolkata", "700"),
    (32, "Kochi", "682"),
    (6, "Gurugram", "122"),
    (8, "Jaipur", "302"),
    (4, "Chandigarh", "160"),
];

/// Roles of the first accounts, so that every tax situation appears even in small datasets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Registered, in the default supplier state (Karnataka): CGST + SGST.
    IntraState,
    /// Registered in another state: IGST.
    InterState,
    /// No GSTIN, address in India (B2C).
    Unregistered,
    /// GSTIN present but the check character is wrong.
    InvalidGstin,
    /// Outside India (export of services).
    Foreign,
    /// Registered in a UT without legislature (UTGST when the supplier is there too).
    UnionTerritory,
    /// Inactive, no usage at all.
    Dormant,
    /// Anything, chosen at random.
    Random,
}

fn role(i: u32) -> Role {
    match i {
        0 => Role::IntraState,
        1 => Role::InterState,
        2 => Role::Unregistered,
        3 => Role::InvalidGstin,
        4 => Role::Foreign,
        5 => Role::UnionTerritory,
        6 => Role::Dormant,
        _ => Role::Random,
    }
}

pub(super) fn gstin_for(rng: &mut Rng, state: u8, entity: u8) -> String {
    let letters = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let pan = format!(
        "{}{}{}{}{}",
        rng.string(3, letters),
        entity as char,
        rng.string(1, letters),
        rng.digits(4),
        rng.string(1, letters)
    );
    let body = format!("{state:02}{pan}1Z");
    let check = check_char(&body).expect("alphabet");
    format!("{body}{check}")
}

fn account(
    spec: &DatasetSpec,
    partner: &Partner,
    tiers: &[Tier],
    i: u32,
    window_start: Micros,
    window_end: Micros,
) -> Account {
    let mut rng = Rng::new(key(&[spec.seed, 0xACC7, i as u64]));
    let role = role(i);
    let upper = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let auth_id = format!("MA_{}", rng.string(8, upper));
    let auth_token = format!(
        "MAT{}",
        rng.string(37, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    );
    let first = rng.pick(FIRST);
    let last = rng.pick(LAST);
    let brand = rng.pick(BRAND);
    let trade = rng.pick(TRADE);
    let (suffix, entity) = rng.pick(SUFFIX);
    let company = format!("{brand} {trade} {suffix}");
    let name = format!("{brand} {trade}");
    let email = format!(
        "{}.{}@{}.example",
        first.to_lowercase(),
        last.to_lowercase(),
        brand.to_lowercase()
    );
    let phone = format!("+91{}{}", rng.pick(&["98", "99", "90", "80", "70"]), rng.digits(8));

    let place = match role {
        Role::IntraState => PLACES[0],
        Role::InterState => PLACES[2],
        Role::Unregistered => PLACES[4],
        Role::InvalidGstin => PLACES[1],
        Role::UnionTerritory => PLACES[13],
        _ => rng.pick(PLACES),
    };
    let state_name = state_by_code(place.0).expect("known state").name;
    let registered = match role {
        Role::IntraState | Role::InterState | Role::UnionTerritory | Role::InvalidGstin => true,
        Role::Unregistered | Role::Foreign => false,
        Role::Dormant | Role::Random => rng.chance(700),
    };
    let foreign = role == Role::Foreign;
    let gstin = if foreign || !registered {
        None
    } else if role == Role::InvalidGstin {
        // A real GSTIN's body with the check character of another state: fails the checksum.
        let good = gstin_for(&mut rng, place.0, entity);
        let wrong = if good.ends_with('A') { 'B' } else { 'A' };
        Some(format!("{}{wrong}", &good[..14]))
    } else {
        Some(gstin_for(&mut rng, place.0, entity))
    };
    let (address, city, state, country, zip, timezone) = if foreign {
        (
            Some(format!(
                "{} Market Street, Suite {}",
                rng.range(10, 999),
                rng.range(100, 900)
            )),
            Some("San Francisco".to_string()),
            Some("California".to_string()),
            "US",
            Some(format!("941{}", rng.digits(2))),
            "America/Los_Angeles",
        )
    } else {
        (
            Some(format!(
                "{}, {} Road, {}",
                rng.range(1, 400),
                rng.pick(&["MG", "Station", "Ring", "Lake", "Temple"]),
                rng.pick(&["Sector 2", "Phase 1", "Block C", "2nd Cross"])
            )),
            Some(place.1.to_string()),
            Some(state_name.to_string()),
            "IN",
            Some(format!("{}{}", place.2, rng.digits(3))),
            "Asia/Kolkata",
        )
    };

    let is_active = role != Role::Dormant && !(role == Role::Random && rng.chance(40));
    let days = 86_400 * MICROS_PER_SEC;
    let created_at = window_start - rng.range(30, 700) as i64 * days + rng.below(days as u64) as i64;
    let tier = if role == Role::Random {
        rng.below(tiers.len() as u64) as usize
    } else {
        (i as usize) % tiers.len()
    };
    let cdr_count = if is_active { spec.cdrs_per_account } else { 0 };
    let currency = "INR";

    // Funding: most accounts are comfortably funded; every ninth runs lean and ends low.
    let lean = i % 9 == 8;
    let opening_balance = if !is_active {
        Decimal::new(rng.range(0, 50_000) as i64, 2)
    } else if lean {
        Decimal::new(rng.range(5_000, 30_000) as i64, 2)
    } else {
        Decimal::new(rng.range(200_000, 6_000_000) as i64, 2)
    };
    let numbers: Vec<String> = (0..if is_active { rng.range(1, 3) } else { 0 })
        .map(|_| format!("+9180{}", rng.digits(8)))
        .collect();

    let mut acct = Account {
        index: i,
        auth_id,
        auth_token,
        id: (600_000 + i as u64).to_string(),
        api_id: rng.uuid(),
        balance_id: rng.uuid(),
        name,
        email,
        phone,
        company,
        description: rng.chance(300).then(|| "Outbound collections calling team".to_string()),
        address,
        city,
        state,
        country,
        zip_code: zip,
        timezone,
        gst_status: gstin.as_ref().map(|_| "active"),
        gstin,
        business_type: if entity == b'P' { "individual" } else { "business" },
        tds_enabled: rng.chance(200),
        tier,
        created_at,
        updated_at: created_at + rng.below(30 * days as u64) as i64,
        is_active,
        kyc_status: if is_active { "verified" } else { "pending" },
        currency,
        cdr_count,
        inbound_per_mille: rng.range(100, 500),
        voice_api_per_mille: rng.range(0, 1000),
        opening_balance,
        low_balance_threshold: Decimal::from(50),
        credit_limit: Decimal::from(1000),
        numbers,
        others: Vec::new(),
        drift: Vec::new(),
        anomaly: None,
        late: None,
        late_calls: Vec::new(),
        messy: Vec::new(),
        closed_at: None,
        failed_call: None,
        negative_call: None,
        subaccounts: Vec::new(),
        subaccount_calls: Vec::new(),
    };
    acct.others = other_entries(&mut rng, spec, partner, &acct, lean, window_start, window_end);
    if rng.chance(spec.drift_per_mille) {
        acct.drift = (0..rng.range(1, 3))
            .map(|k| OtherEntry {
                id: rng.uuid(),
                at: window_end + (k as i64 + 1) * MICROS_PER_SEC,
                side: Side::Credit,
                amount: Decimal::from(rng.range(1, 20) * 500),
                description: "Wallet recharge".into(),
                reference: Some(format!("pay_{}", rng.string(14, upper))),
                reference_type: Some("payment"),
                filter_kind: "recharge",
                status: LedgerStatus::Completed,
                wire_amount: None,
            })
            .collect();
    }
    acct
}

fn other_entries(
    rng: &mut Rng,
    spec: &DatasetSpec,
    partner: &Partner,
    a: &Account,
    lean: bool,
    window_start: Micros,
    window_end: Micros,
) -> Vec<OtherEntry> {
    let mut out = Vec::new();
    if !a.is_active {
        return out;
    }
    let span = (window_end - window_start) as u64;
    let at = |rng: &mut Rng| window_start + rng.below(span) as i64;
    let upper = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    if !lean {
        for _ in 0..rng.range(0, 3) {
            out.push(OtherEntry {
                id: rng.uuid(),
                at: at(rng),
                side: Side::Credit,
                amount: Decimal::from(rng.pick(&[1_000u32, 2_000, 5_000, 10_000])),
                description: "Wallet recharge".into(),
                reference: Some(format!("pay_{}", rng.string(14, upper))),
                reference_type: Some("payment"),
                filter_kind: "recharge",
                status: LedgerStatus::Completed,
                wire_amount: None,
            });
        }
        for _ in 0..rng.range(0, 2) {
            let t = at(rng);
            out.push(OtherEntry {
                id: rng.uuid(),
                at: t,
                side: Side::Credit,
                amount: Decimal::new(rng.range(50_000, 2_000_000) as i64, 2),
                description: format!("Transfer from partner {}: Balance transfer", partner.name),
                reference: Some(format!("ptc:{}:{}:{}", partner.id, a.auth_id, t / MICROS_PER_SEC)),
                reference_type: None,
                filter_kind: "transfer",
                status: LedgerStatus::Completed,
                wire_amount: None,
            });
        }
    }
    // Monthly DID rental on the 1st of each month in the window (partner's time zone).
    let tz = spec.time_zone;
    for month in [spec.period, spec.period.next()] {
        let (start, _) = month.bounds(tz);
        let t = start.timestamp_micros() + rng.range(60, 7_200) as i64 * MICROS_PER_SEC;
        if t < window_start || t >= window_end {
            continue;
        }
        for number in &a.numbers {
            out.push(OtherEntry {
                id: rng.uuid(),
                at: t,
                side: Side::Debit,
                amount: Decimal::from(300),
                description: format!("DID rental {number}"),
                reference: Some(format!("did_{}", number.trim_start_matches('+'))),
                reference_type: Some("did_rental"),
                filter_kind: "debit",
                status: LedgerStatus::Completed,
                wire_amount: None,
            });
        }
    }
    if rng.chance(250) {
        out.push(OtherEntry {
            id: rng.uuid(),
            at: at(rng),
            side: Side::Credit,
            amount: Decimal::new(rng.range(100, 5_000) as i64, 2),
            description: "Refund for dropped calls".into(),
            reference: Some(format!("rfd_{}", rng.string(12, upper))),
            reference_type: Some("refund"),
            filter_kind: "refund",
            status: LedgerStatus::Completed,
            wire_amount: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Gstin;

    fn ds(n: u32) -> Dataset {
        Dataset::generate(DatasetSpec::new(7, n, 10, "2026-03".parse().unwrap()))
    }

    #[test]
    fn tier_prices_are_exact_and_round_up() {
        let mut rng = Rng::new(1);
        let t = tiers(&mut rng);
        assert_eq!(t[0].cost(61), d("0.90"));
        assert_eq!(t[0].cost(0), Decimal::ZERO);
        assert_eq!(t[1].cost(7), d("0.0525"));
        assert_eq!(t[2].cost(31), d("0.39"));
        assert_eq!(t[0].streaming_cost(70), d("0.90"));
        for tier in &t {
            for secs in 0..3600 {
                assert!(tier.cost(secs).scale() <= 5);
            }
        }
    }

    #[test]
    fn roles_cover_every_tax_case() {
        let ds = ds(10);
        let a = &ds.accounts;
        assert!(Gstin::parse(a[0].gstin.as_deref().unwrap()).unwrap().state().code == 29);
        assert!(Gstin::parse(a[1].gstin.as_deref().unwrap()).unwrap().state().code == 27);
        assert!(a[2].gstin.is_none() && a[2].country == "IN");
        assert!(Gstin::parse(a[3].gstin.as_deref().unwrap()).is_err());
        assert!(a[4].country != "IN" && a[4].gstin.is_none());
        assert!(Gstin::parse(a[5].gstin.as_deref().unwrap()).unwrap().state().utgst);
        assert!(!a[6].is_active && a[6].cdr_count == 0);
        let ids: std::collections::HashSet<_> = a.iter().map(|x| &x.auth_id).collect();
        assert_eq!(ids.len(), a.len());
        let tokens: std::collections::HashSet<_> = a.iter().map(|x| &x.auth_token).collect();
        assert_eq!(tokens.len(), a.len());
    }

    #[test]
    fn same_seed_same_dataset() {
        let (x, y) = (ds(30), ds(30));
        for (a, b) in x.accounts.iter().zip(&y.accounts) {
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
        }
        let other = Dataset::generate(DatasetSpec::new(8, 30, 10, "2026-03".parse().unwrap()));
        assert_ne!(x.accounts[0].auth_id, other.accounts[0].auth_id);
    }
}
