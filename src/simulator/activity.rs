//! Per-account activity: calls (CDRs) and the ledger rows they cause, generated on demand.
//!
//! CDR `i` of an account is a pure function of (seed, account, i), and start times grow with
//! `i`, so any page of the newest-first list can be produced without the rest. Summaries and
//! the ledger's time order need the whole account, so [`AccountIndex`] keeps a compact key per
//! row (no strings); a bounded cache holds the indices of recently used accounts.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use rust_decimal::Decimal;
use uuid::Uuid;

use super::dataset::{Account, Dataset, MICROS_PER_SEC, Micros, Side};
use super::rng::{Rng, key};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Product {
    VoiceApi,
    SipTrunking,
}

impl Product {
    /// The CDR `context` value.
    pub fn context(self) -> &'static str {
        match self {
            Product::VoiceApi => "voice-api",
            Product::SipTrunking => "sip-trunking",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallStatus {
    Answered,
    Busy,
    NoAnswer,
    Failed,
}

impl CallStatus {
    /// The value of the CDR endpoints' `status` filter.
    pub fn filter_name(self) -> &'static str {
        match self {
            CallStatus::Answered => "answered",
            CallStatus::Busy => "busy",
            CallStatus::NoAnswer => "no_answer",
            CallStatus::Failed => "failed",
        }
    }

    /// (hangup_cause, hangup_cause_code, hangup_cause_name)
    pub fn hangup(self) -> (&'static str, u32, &'static str) {
        match self {
            CallStatus::Answered => ("NORMAL_CLEARING", 4000, "Normal Hangup"),
            CallStatus::Busy => ("USER_BUSY", 4010, "Busy Line"),
            CallStatus::NoAnswer => ("NO_ANSWER", 4020, "No Answer"),
            CallStatus::Failed => ("CALL_REJECTED", 4030, "Call Rejected"),
        }
    }
}

/// One call record with everything the CDR endpoints show.
#[derive(Debug, Clone)]
pub struct Cdr {
    pub index: u32,
    pub id: u64,
    pub uuid: Uuid,
    pub direction: Direction,
    pub product: Product,
    pub status: CallStatus,
    pub caller_id_name: String,
    pub caller_id_number: String,
    pub destination_number: String,
    pub start: Micros,
    pub ring: u32,
    pub billsec: u32,
    pub cost: Decimal,
    pub streaming_secs: u32,
    pub streaming_cost: Decimal,
    /// Charged the tier's non-connected-call fee (then `cost` is that fee).
    pub non_connected_fee: bool,
    pub sip_call_id: String,
    pub codec: &'static str,
    pub trunk_id: Option<Uuid>,
    pub bridge_uuid: Option<Uuid>,
    pub carrier_ip: &'static str,
    pub mos: Decimal,
    pub jitter: Decimal,
    pub packet_loss: Decimal,
    pub hangup_source: &'static str,
    pub hangup_disposition: &'static str,
}

impl Cdr {
    pub fn duration(&self) -> u32 {
        self.ring + self.billsec
    }

    pub fn answer_time(&self) -> Option<Micros> {
        (self.status == CallStatus::Answered).then(|| self.start + self.ring as i64 * MICROS_PER_SEC)
    }

    pub fn end(&self) -> Micros {
        self.start + self.duration() as i64 * MICROS_PER_SEC
    }

    pub fn total_cost(&self) -> Decimal {
        self.cost + self.streaming_cost
    }

    /// `reference` of the ledger rows this call caused.
    pub fn ledger_reference(&self) -> String {
        ledger_reference(&self.uuid)
    }
}

fn ledger_reference(call: &Uuid) -> String {
    format!("cdr_{call}")
}

fn cdr_key(ds: &Dataset, a: &Account, i: u32) -> u64 {
    key(&[ds.spec.seed, 0xCD, a.index as u64, i as u64])
}

/// Start time of call `i`: calls are spread over the window in equal slots, one per slot, so
/// start times increase with `i`. Whole seconds, like the API's CDR timestamps.
fn start_with(rng: &mut Rng, ds: &Dataset, a: &Account, i: u32) -> Micros {
    // Calls last at most ~1 h; keeping starts 2 h clear of "now" means every call has ended
    // and been charged by the time the simulator answers.
    let span_s = ((ds.window_end - ds.window_start) / MICROS_PER_SEC) as u64 - 2 * 3_600;
    let n = a.cdr_count.max(1) as u64;
    let slot_start = span_s * i as u64 / n;
    let slot_end = span_s * (i as u64 + 1) / n;
    let jitter = rng.below((slot_end - slot_start).max(1));
    // Keep the call's end inside the window: the last slot's jitter is bounded by its width.
    ds.window_start + ((slot_start + jitter) as i64) * MICROS_PER_SEC
}

/// Start time of call `i` without generating the rest of it.
pub fn cdr_start(ds: &Dataset, a: &Account, i: u32) -> Micros {
    start_with(&mut Rng::new(cdr_key(ds, a, i)), ds, a, i)
}

/// The draws of call `i` that come before any text: everything sums, filters and the
/// ledger's order need. [`AccountIndex::build`] stops here, so indexing an account allocates
/// nothing per call; `rng` continues where the full call goes on.
struct CallCore {
    rng: Rng,
    start: Micros,
    direction: Direction,
    product: Product,
    status: CallStatus,
    ring: u32,
    billsec: u32,
    cost: Decimal,
    streaming_secs: u32,
    streaming_cost: Decimal,
    non_connected_fee: bool,
}

impl CallCore {
    fn new(ds: &Dataset, a: &Account, i: u32) -> Self {
        let mut rng = Rng::new(cdr_key(ds, a, i));
        let start = start_with(&mut rng, ds, a, i);
        let tier = ds.tier_of(a);
        let direction = if rng.chance(a.inbound_per_mille) {
            Direction::Inbound
        } else {
            Direction::Outbound
        };
        let product = if rng.chance(a.voice_api_per_mille) {
            Product::VoiceApi
        } else {
            Product::SipTrunking
        };
        let status = match rng.below(100) {
            0..=64 => CallStatus::Answered,
            65..=79 => CallStatus::NoAnswer,
            80..=91 => CallStatus::Busy,
            _ => CallStatus::Failed,
        };
        let ring = rng.range(2, 30) as u32;
        let billsec = if status == CallStatus::Answered {
            // Mostly short calls with a long tail, as in real traffic.
            (match rng.below(10) {
                0..=5 => rng.range(1, 90),
                6..=8 => rng.range(91, 600),
                _ => rng.range(601, 3_600),
            }) as u32
        } else {
            0
        };
        let non_connected_fee = status != CallStatus::Answered && tier.charge_non_connected_calls;
        let cost = if non_connected_fee {
            tier.non_connected_call_fee
        } else {
            tier.cost(billsec)
        };
        let streaming_secs = if status == CallStatus::Answered && product == Product::VoiceApi && rng.chance(250) {
            billsec
        } else {
            0
        };
        Self {
            rng,
            start,
            direction,
            product,
            status,
            ring,
            billsec,
            cost,
            streaming_secs,
            streaming_cost: tier.streaming_cost(streaming_secs),
            non_connected_fee,
        }
    }

    fn duration(&self) -> u32 {
        self.ring + self.billsec
    }

    fn end(&self) -> Micros {
        self.start + self.duration() as i64 * MICROS_PER_SEC
    }

    /// The next draws: the far party's number, then the call's uuid. This is all the
    /// ledger rows a call causes show of it.
    fn far_number_and_uuid(&mut self) -> (String, Uuid) {
        let prefix = self.rng.pick(&["98", "99", "97", "88", "70", "63"]);
        let mut number = String::with_capacity(13);
        number.push_str("+91");
        number.push_str(prefix);
        self.rng.push_digits(&mut number, 8);
        (number, self.rng.uuid())
    }
}

/// Call `i` (0 = oldest) of account `a`.
pub fn cdr(ds: &Dataset, a: &Account, i: u32) -> Cdr {
    let mut core = CallCore::new(ds, a, i);
    let own = a
        .numbers
        .first()
        .cloned()
        .unwrap_or_else(|| format!("+9180{}", 10_000_000 + a.index));
    let (other, uuid) = core.far_number_and_uuid();
    let direction = core.direction;
    let (caller_id_number, destination_number) = match direction {
        Direction::Outbound => (own, other),
        Direction::Inbound => (other, own),
    };
    let answered = core.status == CallStatus::Answered;
    let rng = &mut core.rng;
    let mut sip_call_id = String::with_capacity(24 + 13);
    rng.push_chars(&mut sip_call_id, 24, b"0123456789abcdef");
    sip_call_id.push_str("@sip.vobiz.ai");
    Cdr {
        index: i,
        id: 10_000_000_000 + a.index as u64 * 100_000_000 + i as u64,
        uuid,
        direction,
        product: core.product,
        status: core.status,
        caller_id_name: if direction == Direction::Outbound {
            a.name.clone()
        } else {
            "Unknown".into()
        },
        caller_id_number,
        destination_number,
        start: core.start,
        ring: core.ring,
        billsec: core.billsec,
        cost: core.cost,
        streaming_secs: core.streaming_secs,
        streaming_cost: core.streaming_cost,
        non_connected_fee: core.non_connected_fee,
        sip_call_id,
        codec: rng.pick(&["PCMU", "PCMA", "opus"]),
        trunk_id: (core.product == Product::SipTrunking).then(|| rng.uuid()),
        bridge_uuid: answered.then(|| rng.uuid()),
        carrier_ip: rng.pick(&["10.20.1.15", "10.20.1.16", "10.20.2.40"]),
        mos: if answered {
            Decimal::new(rng.range(380, 440) as i64, 2)
        } else {
            Decimal::ZERO
        },
        jitter: if answered {
            Decimal::new(rng.range(1, 300) as i64, 1)
        } else {
            Decimal::ZERO
        },
        packet_loss: if answered {
            Decimal::new(rng.range(0, 50) as i64, 2)
        } else {
            Decimal::ZERO
        },
        hangup_source: rng.pick(&["Caller", "Callee", "Vobiz", "Carrier"]),
        hangup_disposition: rng.pick(&["send_bye", "recv_bye", "send_cancel", "send_refuse"]),
    }
}

/// What caused a ledger row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LedgerSource {
    /// The first funding of the account, at its creation (before the generated window).
    Opening,
    /// Talk-time charge for call `i`.
    Call(u32),
    /// Media-streaming charge for call `i`.
    Stream(u32),
    /// Non-connected-call fee for call `i`.
    NonConnected(u32),
    /// `Account::others[j]`.
    Other(u32),
    /// `Account::drift[j]` (visible only once a client has started paging).
    Drift(u32),
    /// Planted: a second debit for call `i`.
    DuplicateOf(u32),
    /// Planted: a debit referencing a call that does not exist.
    Orphan,
    /// Planted: a charge in a currency the account does not hold.
    ForeignCurrency,
}

/// The part of a ledger row needed for ordering, filtering and sums.
#[derive(Debug, Clone, Copy)]
pub struct LedgerKey {
    pub at: Micros,
    pub side: Side,
    pub amount: Decimal,
    pub source: LedgerSource,
}

/// The part of a CDR needed for filtering and summaries.
#[derive(Debug, Clone, Copy)]
pub struct CdrKey {
    pub start: Micros,
    pub total_cost: Decimal,
    pub billsec: u32,
    pub duration: u32,
    pub status: CallStatus,
    pub direction: Direction,
    pub product: Product,
}

/// One account's activity in compact, time-ordered form.
#[derive(Debug)]
pub struct AccountIndex {
    /// Oldest first; position = CDR index.
    pub cdrs: Vec<CdrKey>,
    /// Oldest first; drift rows (if any) are the last `drift_rows`.
    pub ledger: Vec<LedgerKey>,
    pub drift_rows: usize,
}

impl AccountIndex {
    pub fn build(ds: &Dataset, a: &Account) -> Self {
        use super::dataset::Anomaly;
        let mut cdrs = Vec::with_capacity(a.cdr_count as usize);
        let mut ledger = Vec::with_capacity(a.cdr_count as usize + a.others.len());
        // Planted call discrepancies hit the first charged call a day into the period.
        let mut target: Option<u32> = None;
        let day = 86_400 * MICROS_PER_SEC;
        for i in 0..a.cdr_count {
            let c = CallCore::new(ds, a, i);
            let is_target = target.is_none()
                && a.anomaly.is_some()
                && c.start >= ds.period_start + day
                && !c.cost.is_zero()
                && !c.non_connected_fee;
            if is_target {
                target = Some(i);
            }
            let planted = if is_target { a.anomaly } else { None };
            cdrs.push(CdrKey {
                start: c.start,
                total_cost: c.cost + c.streaming_cost,
                billsec: c.billsec,
                duration: c.duration(),
                status: c.status,
                direction: c.direction,
                product: c.product,
            });
            if !c.cost.is_zero() && planted != Some(Anomaly::MissingDebit) {
                let source = if c.non_connected_fee {
                    LedgerSource::NonConnected(i)
                } else {
                    LedgerSource::Call(i)
                };
                let amount = if planted == Some(Anomaly::PaisaDifference) {
                    c.cost + Decimal::new(1, 2)
                } else {
                    c.cost
                };
                ledger.push(LedgerKey {
                    at: c.end() + 1_250_000,
                    side: Side::Debit,
                    amount,
                    source,
                });
            }
            if planted == Some(Anomaly::DuplicateDebit) {
                ledger.push(LedgerKey {
                    at: c.end() + 61 * MICROS_PER_SEC,
                    side: Side::Debit,
                    amount: c.cost,
                    source: LedgerSource::DuplicateOf(i),
                });
            }
            if !c.streaming_cost.is_zero() {
                ledger.push(LedgerKey {
                    at: c.end() + 2_500_000,
                    side: Side::Debit,
                    amount: c.streaming_cost,
                    source: LedgerSource::Stream(i),
                });
            }
        }
        if !a.opening_balance.is_zero() {
            ledger.push(LedgerKey {
                at: a.created_at,
                side: Side::Credit,
                amount: a.opening_balance,
                source: LedgerSource::Opening,
            });
        }
        for (j, o) in a.others.iter().enumerate() {
            ledger.push(LedgerKey {
                at: o.at,
                side: o.side,
                amount: o.amount,
                source: LedgerSource::Other(j as u32),
            });
        }
        match a.anomaly {
            Some(Anomaly::OrphanDebit) => ledger.push(LedgerKey {
                at: ds.period_start + 3 * day,
                side: Side::Debit,
                amount: Decimal::new(135, 2),
                source: LedgerSource::Orphan,
            }),
            Some(Anomaly::CurrencyMismatch) => ledger.push(LedgerKey {
                at: ds.period_start + 5 * day,
                side: Side::Debit,
                amount: Decimal::from(5),
                source: LedgerSource::ForeignCurrency,
            }),
            _ => {}
        }
        ledger.sort_by_key(|k| (k.at, k.source));
        for (j, o) in a.drift.iter().enumerate() {
            ledger.push(LedgerKey {
                at: o.at,
                side: o.side,
                amount: o.amount,
                source: LedgerSource::Drift(j as u32),
            });
        }
        Self {
            cdrs,
            ledger,
            drift_rows: a.drift.len(),
        }
    }

    /// CDR positions whose start lies in `[from, to)`.
    pub fn cdr_range(&self, from: Micros, to: Micros) -> Range<usize> {
        self.cdrs.partition_point(|c| c.start < from)..self.cdrs.partition_point(|c| c.start < to)
    }

    /// Ledger rows a client can see: drift rows only once drift has been triggered.
    pub fn visible_ledger(&self, drift_visible: bool) -> &[LedgerKey] {
        let n = if drift_visible {
            self.ledger.len()
        } else {
            self.ledger.len() - self.drift_rows
        };
        &self.ledger[..n]
    }

    /// Balance at instant `t` (exclusive): the ledger is complete from the account's creation.
    pub fn balance_before(&self, t: Micros, drift_visible: bool) -> Decimal {
        self.visible_ledger(drift_visible)
            .iter()
            .take_while(|k| k.at < t)
            .fold(Decimal::ZERO, |b, k| match k.side {
                Side::Credit => b + k.amount,
                Side::Debit => b - k.amount,
            })
    }
}

/// A ledger row with everything the ledger endpoints show.
#[derive(Debug, Clone)]
pub struct LedgerRow {
    pub id: Uuid,
    pub at: Micros,
    pub side: Side,
    pub amount: Decimal,
    pub description: String,
    pub reference: Option<String>,
    pub reference_type: Option<&'static str>,
    /// Partner-ledger `transaction_type` filter vocabulary.
    pub filter_kind: &'static str,
    /// Set only where a row is not in the account's currency.
    pub currency: Option<&'static str>,
}

pub fn ledger_row(ds: &Dataset, a: &Account, k: &LedgerKey) -> LedgerRow {
    let from_call = |i: u32, tag: u64, reference_type: &'static str| {
        let mut c = CallCore::new(ds, a, i);
        // Outbound calls dialled the far party, inbound ones came from it.
        let (far, uuid) = c.far_number_and_uuid();
        let description = match reference_type {
            "stream_cdr" => format!("Stream session ({}s)", c.streaming_secs),
            "ncc" => "Non-connected call fee".to_string(),
            _ => match c.direction {
                Direction::Outbound => format!("Call to {} ({}s)", far.trim_start_matches('+'), c.billsec),
                Direction::Inbound => format!("Call from {} ({}s)", far.trim_start_matches('+'), c.billsec),
            },
        };
        LedgerRow {
            id: Rng::new(key(&[ds.spec.seed, 0x1ED6, a.index as u64, i as u64, tag])).uuid(),
            at: k.at,
            side: k.side,
            amount: k.amount,
            description,
            reference: Some(ledger_reference(&uuid)),
            reference_type: Some(reference_type),
            filter_kind: "debit",
            currency: None,
        }
    };
    let other = |o: &super::dataset::OtherEntry| LedgerRow {
        id: o.id,
        at: o.at,
        side: o.side,
        amount: o.amount,
        description: o.description.clone(),
        reference: o.reference.clone(),
        reference_type: o.reference_type,
        filter_kind: o.filter_kind,
        currency: None,
    };
    match k.source {
        LedgerSource::Call(i) => from_call(i, 1, "cdr"),
        LedgerSource::DuplicateOf(i) => from_call(i, 4, "cdr"),
        LedgerSource::Orphan => {
            let mut rng = Rng::new(key(&[ds.spec.seed, 0x0A9F, a.index as u64]));
            LedgerRow {
                id: rng.uuid(),
                at: k.at,
                side: k.side,
                amount: k.amount,
                description: format!("Call to 9198{} (42s)", rng.digits(8)),
                reference: Some(format!("cdr_{}", rng.uuid())),
                reference_type: Some("cdr"),
                filter_kind: "debit",
                currency: None,
            }
        }
        LedgerSource::ForeignCurrency => LedgerRow {
            id: Rng::new(key(&[ds.spec.seed, 0x0F0C, a.index as u64])).uuid(),
            at: k.at,
            side: k.side,
            amount: k.amount,
            description: "International number rental +14155550100".into(),
            reference: Some("did_14155550100".into()),
            reference_type: Some("did_rental"),
            filter_kind: "debit",
            currency: Some("USD"),
        },
        LedgerSource::Stream(i) => from_call(i, 2, "stream_cdr"),
        LedgerSource::NonConnected(i) => from_call(i, 3, "ncc"),
        LedgerSource::Other(j) => other(&a.others[j as usize]),
        LedgerSource::Drift(j) => other(&a.drift[j as usize]),
        LedgerSource::Opening => LedgerRow {
            id: Rng::new(key(&[ds.spec.seed, 0x0BE7, a.index as u64])).uuid(),
            at: k.at,
            side: k.side,
            amount: k.amount,
            description: "Wallet recharge".into(),
            reference: Some(format!("pay_{}", a.auth_id.trim_start_matches("MA_"))),
            reference_type: Some("payment"),
            filter_kind: "recharge",
            currency: None,
        },
    }
}

/// A small LRU of account indices: bounded memory however large the dataset.
pub struct IndexCache {
    capacity: usize,
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    tick: u64,
    map: HashMap<u32, (Arc<AccountIndex>, u64)>,
}

impl IndexCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::default(),
        }
    }

    pub fn get(&self, ds: &Dataset, a: &Account) -> Arc<AccountIndex> {
        {
            let mut inner = self.inner.lock().expect("cache lock");
            inner.tick += 1;
            let tick = inner.tick;
            if let Some((idx, used)) = inner.map.get_mut(&a.index) {
                *used = tick;
                return idx.clone();
            }
        }
        // Build outside the lock; a concurrent duplicate build is harmless.
        let built = Arc::new(AccountIndex::build(ds, a));
        let mut inner = self.inner.lock().expect("cache lock");
        inner.tick += 1;
        let tick = inner.tick;
        if inner.map.len() >= self.capacity
            && let Some(oldest) = inner.map.iter().min_by_key(|(_, (_, used))| *used).map(|(k, _)| *k)
        {
            inner.map.remove(&oldest);
        }
        inner.map.insert(a.index, (built.clone(), tick));
        built
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::dataset::DatasetSpec;

    fn ds() -> Dataset {
        Dataset::generate(DatasetSpec::new(11, 10, 500, "2026-03".parse().unwrap()))
    }

    #[test]
    fn starts_increase_and_stay_in_the_window() {
        let ds = ds();
        let a = &ds.accounts[0];
        let mut last = i64::MIN;
        for i in 0..a.cdr_count {
            let c = cdr(&ds, a, i);
            assert_eq!(c.start, cdr_start(&ds, a, i));
            assert!(c.start >= last && c.start >= ds.window_start && c.end() < ds.window_end);
            last = c.start;
        }
    }

    #[test]
    fn ledger_debits_match_call_costs() {
        let ds = ds();
        for a in &ds.accounts {
            let idx = AccountIndex::build(&ds, a);
            let debits: Decimal = idx
                .ledger
                .iter()
                .filter(|k| {
                    matches!(
                        k.source,
                        LedgerSource::Call(_) | LedgerSource::Stream(_) | LedgerSource::NonConnected(_)
                    )
                })
                .map(|k| k.amount)
                .sum();
            let costs: Decimal = idx.cdrs.iter().map(|c| c.total_cost).sum();
            assert_eq!(debits, costs);
            assert!(idx.ledger.windows(2).all(|w| w[0].at <= w[1].at));
            assert!(
                idx.ledger
                    .iter()
                    .all(|k| (k.at < ds.window_end) != matches!(k.source, LedgerSource::Drift(_)))
            );
        }
    }

    #[test]
    fn cache_is_bounded() {
        let ds = ds();
        let cache = IndexCache::new(3);
        for a in &ds.accounts {
            cache.get(&ds, a);
        }
        assert_eq!(cache.inner.lock().unwrap().map.len(), 3);
    }
}
