//! Per-account activity: calls (CDRs) and the ledger rows they cause, generated on demand.
//!
//! CDR `i` of an account is a pure function of (seed, account, i), and start times grow with
//! `i`, so any page of the newest-first list can be produced without the rest. Summaries and
//! the ledger's time order need the whole account, so [`AccountIndex`] keeps a compact key per
//! row (no strings); a bounded cache holds the indices of recently used accounts.
//!
//! Late activity ([`DatasetSpec::late`](super::dataset::DatasetSpec::late)): the accounts
//! carrying a [`LateChange`] are chosen by [`choose_late`]; a call reads as it does at month
//! end in [`CallCore::base`] and as the API shows it now in [`CallCore::new`]. Late calls are
//! extra CDR indices (from `cdr_count` on) whose start is not in index order, so the index
//! sorts its CDR keys by start and each key names its call.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use rust_decimal::Decimal;
use uuid::Uuid;

use super::dataset::{
    Account, Dataset, HOSTILE_INDEX, LateChange, LedgerStatus, MICROS_PER_SEC, Micros, OtherEntry, Side,
};
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
    /// The subaccount that placed it (an index into [`Account::subaccounts`]), if one did.
    pub subaccount: Option<u32>,
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

/// Start time of call `i`: calls are spread over the account's activity in equal slots, one
/// per slot, so start times increase with `i`. Whole seconds, like the API's CDR timestamps.
/// The activity is the window, from the account's creation if later (whole seconds) and to
/// its closing if any (both only in messy datasets).
fn start_with(rng: &mut Rng, ds: &Dataset, a: &Account, i: u32) -> Micros {
    let from = if a.created_at > ds.window_start {
        a.created_at - a.created_at.rem_euclid(MICROS_PER_SEC) + MICROS_PER_SEC
    } else {
        ds.window_start
    };
    let to = a.closed_at.unwrap_or(ds.window_end);
    // Calls last at most ~1 h; keeping starts 2 h clear of "now" (or of the closing) means
    // every call has ended and been charged by then.
    let span_s = ((to - from) / MICROS_PER_SEC) as u64 - 2 * 3_600;
    let n = a.cdr_count.max(1) as u64;
    let slot_start = span_s * i as u64 / n;
    let slot_end = span_s * (i as u64 + 1) / n;
    let jitter = rng.below((slot_end - slot_start).max(1));
    // Keep the call's end inside the window: the last slot's jitter is bounded by its width.
    from + ((slot_start + jitter) as i64) * MICROS_PER_SEC
}

/// Start of a late call (index `cdr_count` or above): in the period's last three days, at
/// least 2 h before the period's end, so that it ends (calls last at most ~1 h) and is
/// charged inside the period.
fn late_start(rng: &mut Rng, ds: &Dataset) -> Micros {
    let from = ds.period_end - 3 * 86_400 * MICROS_PER_SEC;
    let span_s = (3 * 86_400 - 2 * 3_600) as u64;
    from + rng.below(span_s) as i64 * MICROS_PER_SEC
}

/// Start time of call `i` without generating the rest of it.
pub fn cdr_start(ds: &Dataset, a: &Account, i: u32) -> Micros {
    let mut rng = Rng::new(cdr_key(ds, a, i));
    if i < a.cdr_count {
        start_with(&mut rng, ds, a, i)
    } else {
        late_start(&mut rng, ds)
    }
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
    /// Call `i` as the API shows it: [`Self::base`] with the account's late change applied
    /// when the dataset is late.
    fn new(ds: &Dataset, a: &Account, i: u32) -> Self {
        let mut c = Self::base(ds, a, i);
        if ds.spec.late
            && let Some(change) = a.late
        {
            c.apply_late(ds, a, i, change);
        }
        if a.negative_call == Some(i) {
            // Messy: a CDR served with a negative cost (and no debit).
            c.cost = Decimal::new(-45, 2);
            c.streaming_cost = Decimal::ZERO;
            c.streaming_secs = 0;
            c.non_connected_fee = false;
        }
        c
    }

    /// Call `i` as it reads at month end (late calls, `i >= cdr_count`, as they read once
    /// mediated).
    fn base(ds: &Dataset, a: &Account, i: u32) -> Self {
        let mut rng = Rng::new(cdr_key(ds, a, i));
        let start = if i < a.cdr_count {
            start_with(&mut rng, ds, a, i)
        } else {
            late_start(&mut rng, ds)
        };
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

    /// Late changes alter amounts and billed seconds only, after every draw, so the call's
    /// text (numbers, uuid, …) is the same in both states.
    fn apply_late(&mut self, ds: &Dataset, a: &Account, i: u32, change: LateChange) {
        let voided = match change {
            LateChange::Calls => false,
            // The refunded call stays as it was billed: the refund is a credit naming it.
            LateChange::Refund => false,
            LateChange::Reversed => self.in_period(ds),
            LateChange::Rerate => {
                if a.late_calls.contains(&i) {
                    self.billsec += 60;
                    self.cost = ds.tier_of(a).cost(self.billsec);
                }
                false
            }
        };
        if voided {
            self.cost = Decimal::ZERO;
            self.streaming_cost = Decimal::ZERO;
            self.non_connected_fee = false;
        }
    }

    fn in_period(&self, ds: &Dataset) -> bool {
        self.start >= ds.period_start && self.start < ds.period_end
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

/// When a late refund is booked: 6 h after the period's end (within the window's margin).
pub fn refund_at(ds: &Dataset) -> Micros {
    ds.period_end + (6 * 3_600 * MICROS_PER_SEC).min((ds.window_end - ds.period_end) / 2)
}

/// Candidate accounts examined per change before giving up (bounds generation time on odd
/// specs).
const LATE_TRIES: usize = 256;

/// The accounts that carry a [`LateChange`], one each, with the calls each touches:
/// `(account index, change, calls)`. Candidates are active INR accounts with calls, no planted
/// anomaly and not [`HOSTILE_INDEX`] (whether or not names are hostile, so that the choice
/// does not depend on that flag), in an order shuffled by the seed; each change goes to the
/// first unused candidate it fits (see [`late_fit`]). Fewer than four when too few fit.
pub fn choose_late(ds: &Dataset) -> Vec<(u32, LateChange, Vec<u32>)> {
    let mut candidates: Vec<u32> = ds
        .accounts
        .iter()
        .filter(|a| {
            a.is_active
                && a.cdr_count > 0
                && a.currency == "INR"
                && a.anomaly.is_none()
                && a.index as usize != HOSTILE_INDEX
        })
        .map(|a| a.index)
        .collect();
    let mut rng = Rng::new(key(&[ds.spec.seed, 0x1A7E]));
    for k in (1..candidates.len()).rev() {
        let j = rng.below(k as u64 + 1) as usize;
        candidates.swap(k, j);
    }
    let mut used = vec![false; candidates.len()];
    let mut out = Vec::with_capacity(LateChange::ALL.len());
    for change in LateChange::ALL {
        let found = candidates
            .iter()
            .enumerate()
            .filter(|(pos, _)| !used[*pos])
            .take(LATE_TRIES)
            .find_map(|(pos, &ai)| late_fit(ds, &ds.accounts[ai as usize], change).map(|calls| (pos, ai, calls)));
        if let Some((pos, ai, calls)) = found {
            used[pos] = true;
            out.push((ai, change, calls));
        }
    }
    out
}

/// The calls `change` would touch in `a`, or `None` if it does not fit: `a` needs a billable
/// call in the period; late calls need one billable among them; a refund needs a billed,
/// answered, non-streaming call and a re-rate an answered non-streaming one, in the period and
/// ended two minutes before its end (so that their debits stay in the period).
fn late_fit(ds: &Dataset, a: &Account, change: LateChange) -> Option<Vec<u32>> {
    let mut pick = Rng::new(key(&[ds.spec.seed, 0x1A7E, a.index as u64, change as u64]));
    let mut billable = false;
    let mut pool: Vec<u32> = Vec::new();
    for i in 0..a.cdr_count {
        let c = CallCore::base(ds, a, i);
        if !c.in_period(ds) {
            continue;
        }
        billable |= !c.cost.is_zero() || !c.streaming_cost.is_zero();
        let clear = c.end() + 120 * MICROS_PER_SEC < ds.period_end;
        let answered_plain = c.status == CallStatus::Answered && c.billsec > 0 && c.streaming_secs == 0 && clear;
        let fits = match change {
            LateChange::Refund => answered_plain && !c.cost.is_zero() && !c.non_connected_fee,
            LateChange::Rerate => answered_plain,
            LateChange::Calls | LateChange::Reversed => {
                if billable {
                    break;
                }
                false
            }
        };
        if fits {
            pool.push(i);
        }
    }
    if !billable {
        return None;
    }
    match change {
        LateChange::Calls => {
            let n = pick.range(2, 5) as u32;
            let calls: Vec<u32> = (a.cdr_count..a.cdr_count + n).collect();
            calls
                .iter()
                .any(|&i| !CallCore::base(ds, a, i).cost.is_zero())
                .then_some(calls)
        }
        LateChange::Refund | LateChange::Rerate => {
            (!pool.is_empty()).then(|| vec![pool[pick.below(pool.len() as u64) as usize]])
        }
        LateChange::Reversed => Some(Vec::new()),
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
        subaccount: super::subaccounts::caller_of(ds, a, i, core.start),
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
    /// Late: the refund of call `i`, naming it, booked after the period ([`LateChange::Refund`]).
    LateRefund(u32),
    /// Messy: the completed retry of call `i`'s failed debit ([`Messy::FailedCallDebit`]).
    ///
    /// [`Messy::FailedCallDebit`]: super::dataset::Messy::FailedCallDebit
    CallRetry(u32),
}

/// The part of a ledger row needed for ordering, filtering and sums.
#[derive(Debug, Clone, Copy)]
pub struct LedgerKey {
    pub at: Micros,
    pub side: Side,
    pub amount: Decimal,
    pub source: LedgerSource,
    /// Only completed rows move the wallet.
    pub status: LedgerStatus,
}

/// The part of a CDR needed for filtering and summaries.
#[derive(Debug, Clone, Copy)]
pub struct CdrKey {
    /// The call's CDR index (for [`cdr`]); not its position in [`AccountIndex::cdrs`].
    pub index: u32,
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
    /// Oldest first (by start, then index); [`CdrKey::index`] names the call.
    pub cdrs: Vec<CdrKey>,
    /// Oldest first; drift rows (if any) are the last `drift_rows`.
    pub ledger: Vec<LedgerKey>,
    pub drift_rows: usize,
}

impl AccountIndex {
    pub fn build(ds: &Dataset, a: &Account) -> Self {
        use super::dataset::Anomaly;
        let calls = ds.call_count(a);
        let mut cdrs = Vec::with_capacity(calls as usize);
        let mut ledger = Vec::with_capacity(calls as usize + a.others.len());
        // Planted call discrepancies hit the first charged call a day into the period.
        let mut target: Option<u32> = None;
        let day = 86_400 * MICROS_PER_SEC;
        let late = if ds.spec.late { a.late } else { None };
        for i in 0..calls {
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
                index: i,
                start: c.start,
                total_cost: c.cost + c.streaming_cost,
                billsec: c.billsec,
                duration: c.duration(),
                status: c.status,
                direction: c.direction,
                product: c.product,
            });
            // A negative cost (messy) is never debited.
            if c.cost > Decimal::ZERO && planted != Some(Anomaly::MissingDebit) {
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
                let failed = a.failed_call == Some(i);
                ledger.push(LedgerKey {
                    at: c.end() + 1_250_000,
                    side: Side::Debit,
                    amount,
                    source,
                    status: if failed {
                        LedgerStatus::Failed
                    } else {
                        LedgerStatus::Completed
                    },
                });
                if failed {
                    ledger.push(LedgerKey {
                        at: c.end() + 31_250_000,
                        side: Side::Debit,
                        amount,
                        source: LedgerSource::CallRetry(i),
                        status: LedgerStatus::Completed,
                    });
                }
            }
            if planted == Some(Anomaly::DuplicateDebit) {
                ledger.push(LedgerKey {
                    at: c.end() + 61 * MICROS_PER_SEC,
                    side: Side::Debit,
                    amount: c.cost,
                    source: LedgerSource::DuplicateOf(i),
                    status: LedgerStatus::Completed,
                });
            }
            if !c.streaming_cost.is_zero() {
                ledger.push(LedgerKey {
                    at: c.end() + 2_500_000,
                    side: Side::Debit,
                    amount: c.streaming_cost,
                    source: LedgerSource::Stream(i),
                    status: LedgerStatus::Completed,
                });
            }
        }
        if calls > a.cdr_count {
            // Late calls start late in the period, out of index order.
            cdrs.sort_by_key(|k| (k.start, k.index));
        }
        if late == Some(LateChange::Refund) {
            for &i in &a.late_calls {
                let c = CallCore::base(ds, a, i);
                ledger.push(LedgerKey {
                    at: refund_at(ds),
                    side: Side::Credit,
                    amount: c.cost + c.streaming_cost,
                    source: LedgerSource::LateRefund(i),
                    status: LedgerStatus::Completed,
                });
            }
        }
        // A reversed account's non-call debits dated in the period are withdrawn.
        let withdrawn = |o: &OtherEntry| {
            late == Some(LateChange::Reversed)
                && o.side == Side::Debit
                && o.at >= ds.period_start
                && o.at < ds.period_end
        };
        if !a.opening_balance.is_zero() {
            ledger.push(LedgerKey {
                at: a.created_at,
                side: Side::Credit,
                amount: a.opening_balance,
                source: LedgerSource::Opening,
                status: LedgerStatus::Completed,
            });
        }
        for (j, o) in a.others.iter().enumerate().filter(|(_, o)| !withdrawn(o)) {
            ledger.push(LedgerKey {
                at: o.at,
                side: o.side,
                amount: o.amount,
                source: LedgerSource::Other(j as u32),
                status: o.status,
            });
        }
        match a.anomaly {
            Some(Anomaly::OrphanDebit) => ledger.push(LedgerKey {
                at: ds.period_start + 3 * day,
                side: Side::Debit,
                amount: Decimal::new(135, 2),
                source: LedgerSource::Orphan,
                status: LedgerStatus::Completed,
            }),
            Some(Anomaly::CurrencyMismatch) => ledger.push(LedgerKey {
                at: ds.period_start + 5 * day,
                side: Side::Debit,
                amount: Decimal::from(5),
                source: LedgerSource::ForeignCurrency,
                status: LedgerStatus::Completed,
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
                status: o.status,
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
    /// Only completed rows move the wallet.
    pub fn balance_before(&self, t: Micros, drift_visible: bool) -> Decimal {
        self.visible_ledger(drift_visible)
            .iter()
            .take_while(|k| k.at < t)
            .filter(|k| k.status.moves_wallet())
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
    pub status: LedgerStatus,
    /// The amount's text on the wire when it is not `amount` exactly ([`OtherEntry::wire_amount`]).
    pub wire_amount: Option<&'static str>,
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
            status: k.status,
            wire_amount: None,
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
        status: o.status,
        wire_amount: o.wire_amount,
    };
    match k.source {
        LedgerSource::Call(i) => from_call(i, 1, "cdr"),
        LedgerSource::DuplicateOf(i) => from_call(i, 4, "cdr"),
        LedgerSource::CallRetry(i) => from_call(i, 5, "cdr"),
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
                status: k.status,
                wire_amount: None,
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
            status: k.status,
            wire_amount: None,
        },
        LedgerSource::Stream(i) => from_call(i, 2, "stream_cdr"),
        LedgerSource::NonConnected(i) => from_call(i, 3, "ncc"),
        LedgerSource::LateRefund(i) => {
            let (_, uuid) = CallCore::base(ds, a, i).far_number_and_uuid();
            let mut rng = Rng::new(key(&[ds.spec.seed, 0x12FD, a.index as u64, i as u64]));
            LedgerRow {
                id: rng.uuid(),
                at: k.at,
                side: k.side,
                amount: k.amount,
                description: format!("Refund for call {uuid}"),
                // Named as the call's debit names it, so that a client can reverse the supply.
                reference: Some(ledger_reference(&uuid)),
                reference_type: Some("refund"),
                filter_kind: "refund",
                currency: None,
                status: k.status,
                wire_amount: None,
            }
        }
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
            status: k.status,
            wire_amount: None,
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
    use crate::simulator::dataset::{DatasetSpec, LateChange};

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
        check_ledger(&ds());
        let mut spec = DatasetSpec::new(11, 10, 500, "2026-03".parse().unwrap());
        spec.late = true;
        let late = Dataset::generate(spec);
        assert_eq!(LateChange::ALL.map(|c| late.late_account(c).is_some()), [true; 4]);
        check_ledger(&late);
    }

    /// Call debits equal call costs, the ledger is in time order, and only drift rows lie at
    /// or after "now"; the CDR keys are in start order and name distinct calls.
    fn check_ledger(ds: &Dataset) {
        for a in &ds.accounts {
            let idx = AccountIndex::build(ds, a);
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
            assert!(
                idx.cdrs
                    .windows(2)
                    .all(|w| (w[0].start, w[0].index) < (w[1].start, w[1].index))
            );
            assert_eq!(idx.cdrs.len() as u32, ds.call_count(a));
            let mut seen: Vec<u32> = idx.cdrs.iter().map(|k| k.index).collect();
            seen.sort_unstable();
            assert!(seen.iter().copied().eq(0..ds.call_count(a)));
        }
    }

    #[test]
    fn cdr_keys_stay_compact() {
        // The index keeps one key per call: naming the call must not grow it.
        assert!(std::mem::size_of::<CdrKey>() <= 40, "{}", std::mem::size_of::<CdrKey>());
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

/// Late activity: the same seeded month as it reads at month end and a week later.
#[cfg(test)]
mod late_tests {
    use super::*;
    use crate::simulator::dataset::{Anomaly, DatasetSpec, LateChange};
    use crate::simulator::faults::FaultSpec;
    use crate::simulator::server::Simulator;
    use crate::simulator::truth::{self, AccountTruth};

    fn spec(late: bool) -> DatasetSpec {
        let mut s = DatasetSpec::new(7, 30, 40, "2026-03".parse().unwrap());
        s.late = late;
        s
    }

    /// (month end, a week later)
    fn pair() -> (Dataset, Dataset) {
        (Dataset::generate(spec(false)), Dataset::generate(spec(true)))
    }

    fn carrier(ds: &Dataset, change: LateChange) -> &Account {
        ds.late_account(change)
            .unwrap_or_else(|| panic!("no account carries {change:?}"))
    }

    /// Calls starting in the period, as the CDR endpoints show them.
    fn period_cdrs(ds: &Dataset, a: &Account) -> Vec<Cdr> {
        let idx = AccountIndex::build(ds, a);
        idx.cdr_range(ds.period_start, ds.period_end)
            .map(|p| cdr(ds, a, idx.cdrs[p].index))
            .collect()
    }

    fn period_cost(ds: &Dataset, a: &Account) -> Decimal {
        period_cdrs(ds, a).iter().map(Cdr::total_cost).sum()
    }

    fn in_period(ds: &Dataset, t: Micros) -> bool {
        t >= ds.period_start && t < ds.period_end
    }

    fn truths(ds: Dataset) -> Vec<AccountTruth> {
        truth::compute(&Simulator::new(ds, FaultSpec::default(), 4)).accounts
    }

    fn ledger_rows(ds: &Dataset, a: &Account) -> Vec<String> {
        let idx = AccountIndex::build(ds, a);
        idx.ledger
            .iter()
            .map(|k| format!("{:?}", ledger_row(ds, a, k)))
            .collect()
    }

    #[test]
    fn four_eligible_accounts_carry_one_change_each_in_both_states() {
        let (now, late) = pair();
        let pick = |ds: &Dataset| -> Vec<(u32, Option<LateChange>, Vec<u32>)> {
            ds.accounts
                .iter()
                .map(|a| (a.index, a.late, a.late_calls.clone()))
                .collect()
        };
        assert_eq!(pick(&now), pick(&late), "chosen whether or not late is set");
        let mut carriers: Vec<u32> = LateChange::ALL.iter().map(|&c| carrier(&now, c).index).collect();
        carriers.sort_unstable();
        carriers.dedup();
        assert_eq!(carriers.len(), 4, "four distinct accounts");
        assert_eq!(now.accounts.iter().filter(|a| a.late.is_some()).count(), 4);
        for a in now.accounts.iter().filter(|a| a.late.is_some()) {
            assert!(a.is_active && a.currency == "INR" && a.anomaly.is_none());
            assert_ne!(a.index as usize, crate::simulator::dataset::HOSTILE_INDEX);
            assert!(
                period_cdrs(&now, a).iter().any(|c| !c.total_cost().is_zero()),
                "billable calls in the period"
            );
            match a.late.unwrap() {
                LateChange::Calls => {
                    assert!((2..=5).contains(&a.late_calls.len()));
                    assert!(
                        a.late_calls
                            .iter()
                            .copied()
                            .eq(a.cdr_count..a.cdr_count + a.late_calls.len() as u32)
                    );
                }
                LateChange::Refund | LateChange::Rerate => {
                    assert!(a.late_calls.len() == 1 && a.late_calls[0] < a.cdr_count)
                }
                LateChange::Reversed => assert!(a.late_calls.is_empty()),
            }
        }
        // Never the hostile or an anomalous account, whatever else is planted.
        let mut s = spec(true);
        s.hostile_names = true;
        s.anomalies = Anomaly::ALL.to_vec();
        let planted = Dataset::generate(s);
        for change in LateChange::ALL {
            let a = carrier(&planted, change);
            assert!(a.anomaly.is_none() && a.index as usize != crate::simulator::dataset::HOSTILE_INDEX);
        }
        // Another seed chooses otherwise.
        let mut other = spec(false);
        other.seed = 8;
        let other = Dataset::generate(other);
        assert_ne!(
            LateChange::ALL.map(|c| carrier(&other, c).auth_id.clone()),
            LateChange::ALL.map(|c| carrier(&now, c).auth_id.clone())
        );
    }

    /// Month end reads exactly as before late activity existed: the truth of this spec,
    /// pinned from the simulator as it was then (`sim --seed 7 --accounts 30
    /// --cdrs-per-account 40 --period 2026-03 --truth`, sha256 of the file).
    #[test]
    fn month_end_truth_is_unchanged() {
        use sha2::{Digest, Sha256};
        let sim = Simulator::new(Dataset::generate(spec(false)), FaultSpec::default(), 4);
        let mut t = truth::compute(&sim);
        // Subaccounts came later and only say who placed calls: everything else is as pinned.
        assert!(t.accounts.iter().any(|a| !a.subaccounts.is_empty()));
        for a in &mut t.accounts {
            a.subaccounts.clear();
        }
        let json = serde_json::to_vec_pretty(&t).unwrap();
        let hex: String = Sha256::digest(&json).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5e28fec6cf40986d188e49bf87c930e43ab35534aa675538b875a359a5f644c6");
    }

    #[test]
    fn accounts_without_a_change_read_the_same_when_late() {
        let (now, late) = pair();
        for (a, b) in now.accounts.iter().zip(&late.accounts) {
            if a.late.is_some() {
                continue;
            }
            assert_eq!(now.call_count(a), late.call_count(b));
            for i in 0..a.cdr_count {
                assert_eq!(format!("{:?}", cdr(&now, a, i)), format!("{:?}", cdr(&late, b, i)));
            }
            assert_eq!(ledger_rows(&now, a), ledger_rows(&late, b));
        }
        // Changed accounts keep every call outside the period as it was.
        for change in LateChange::ALL {
            let (a, b) = (carrier(&now, change), carrier(&late, change));
            for i in (0..a.cdr_count).filter(|&i| !in_period(&now, cdr_start(&now, a, i))) {
                assert_eq!(format!("{:?}", cdr(&now, a, i)), format!("{:?}", cdr(&late, b, i)));
            }
        }
        let (t_now, t_late) = (truths(now), truths(late));
        let mut changed = 0;
        for (x, y) in t_now.iter().zip(&t_late) {
            assert_eq!(x.late_change, None, "the month-end truth names no change");
            if y.late_change.is_none() {
                assert_eq!(x, y, "{}", x.auth_id);
            } else {
                changed += 1;
                // Calls change, or (a refund) the balance does.
                assert_ne!(x, y, "{} changed", x.auth_id);
            }
        }
        assert_eq!(changed, 4);
    }

    #[test]
    fn late_calls_appear_only_when_late() {
        let (now, late) = pair();
        let (a, b) = (carrier(&now, LateChange::Calls), carrier(&late, LateChange::Calls));
        let n = a.late_calls.len();
        let extra: Vec<Cdr> = a.late_calls.iter().map(|&i| cdr(&late, b, i)).collect();
        assert!(
            extra
                .iter()
                .all(|c| in_period(&late, c.start) && c.end() < late.period_end)
        );
        assert!(
            extra.iter().any(|c| !c.total_cost().is_zero()),
            "at least one is billable"
        );
        let (before, after) = (period_cdrs(&now, a), period_cdrs(&late, b));
        assert_eq!(after.len(), before.len() + n);
        let extra_cost: Decimal = extra.iter().map(Cdr::total_cost).sum();
        assert_eq!(period_cost(&late, b), period_cost(&now, a) + extra_cost);
        // Absent at month end from every list, present when late.
        let uuids = |cs: &[Cdr]| cs.iter().map(|c| c.uuid).collect::<std::collections::HashSet<_>>();
        let (u_before, u_after) = (uuids(&before), uuids(&after));
        for c in &extra {
            assert!(!u_before.contains(&c.uuid) && u_after.contains(&c.uuid));
        }
        assert_eq!(now.call_count(a), a.cdr_count);
        assert_eq!(late.call_count(b), b.cdr_count + n as u32);
        // Their debits, and only theirs, are new in the ledger.
        let charges = |ds: &Dataset, acc: &Account| -> Decimal {
            AccountIndex::build(ds, acc)
                .ledger
                .iter()
                .filter(|k| k.side == Side::Debit)
                .map(|k| k.amount)
                .sum()
        };
        assert_eq!(charges(&late, b), charges(&now, a) + extra_cost);
        let refs_now: Vec<String> = ledger_rows(&now, a);
        let refs_late: Vec<String> = ledger_rows(&late, b);
        assert!(refs_late.len() > refs_now.len());
        assert!(refs_now.iter().all(|r| refs_late.contains(r)));
    }

    #[test]
    fn refunded_call_stays_billed_and_is_refunded_by_name_after_the_period() {
        let (now, late) = pair();
        let (a, b) = (carrier(&now, LateChange::Refund), carrier(&late, LateChange::Refund));
        let i = a.late_calls[0];
        let (c0, c1) = (cdr(&now, a, i), cdr(&late, b, i));
        assert!(in_period(&now, c0.start) && c0.status == CallStatus::Answered);
        assert!(!c0.cost.is_zero() && !c0.non_connected_fee);
        assert_eq!(
            (c1.uuid, c1.cost, c1.streaming_cost),
            (c0.uuid, c0.cost, c0.streaming_cost)
        );
        assert_eq!(period_cost(&now, a), period_cost(&late, b));
        let (i0, i1) = (AccountIndex::build(&now, a), AccountIndex::build(&late, b));
        let of_call = |k: &&LedgerKey| matches!(k.source, LedgerSource::Call(j) | LedgerSource::Stream(j) | LedgerSource::NonConnected(j) if j == i);
        assert!(i0.ledger.iter().any(|k| of_call(&k)));
        assert!(i1.ledger.iter().any(|k| of_call(&k)), "its debit stays");
        assert!(
            !i0.ledger
                .iter()
                .any(|k| matches!(k.source, LedgerSource::LateRefund(_)))
        );
        let refunds: Vec<&LedgerKey> = i1
            .ledger
            .iter()
            .filter(|k| matches!(k.source, LedgerSource::LateRefund(_)))
            .collect();
        assert_eq!(refunds.len(), 1);
        let k = refunds[0];
        assert!(
            k.at >= late.period_end && k.at < late.window_end,
            "after the period, before now"
        );
        assert_eq!((k.side, k.amount), (Side::Credit, c0.total_cost()));
        let row = ledger_row(&late, b, k);
        assert_eq!(row.description, format!("Refund for call {}", c0.uuid));
        assert_eq!(row.reference, Some(c0.ledger_reference()), "names the call");
        assert_eq!((row.reference_type, row.filter_kind), (Some("refund"), "refund"));
    }

    #[test]
    fn reversed_account_bills_nothing_for_the_period() {
        let (now, late) = pair();
        let (a, b) = (
            carrier(&now, LateChange::Reversed),
            carrier(&late, LateChange::Reversed),
        );
        // Calls and streaming by start, plus non-call debits dated in the period.
        let billable = |ds: &Dataset, acc: &Account| -> Decimal {
            let calls = period_cost(ds, acc);
            let others: Decimal = AccountIndex::build(ds, acc)
                .ledger
                .iter()
                .filter(|k| k.side == Side::Debit && in_period(ds, k.at))
                .filter(|k| {
                    !matches!(
                        ledger_row(ds, acc, k).reference_type,
                        Some("cdr" | "stream_cdr" | "ncc")
                    )
                })
                .map(|k| k.amount)
                .sum();
            calls + others
        };
        assert!(billable(&now, a) > Decimal::ZERO);
        assert_eq!(billable(&late, b), Decimal::ZERO);
        let (i0, i1) = (AccountIndex::build(&now, a), AccountIndex::build(&late, b));
        assert!(
            i1.ledger
                .iter()
                .all(|k| !(k.side == Side::Debit && in_period(&late, k.at)))
        );
        let credits = |idx: &AccountIndex| -> Vec<(Micros, Decimal)> {
            idx.ledger
                .iter()
                .filter(|k| k.side == Side::Credit)
                .map(|k| (k.at, k.amount))
                .collect()
        };
        assert_eq!(credits(&i0), credits(&i1), "credits stay");
        let outside = |ds: &Dataset, idx: &AccountIndex| -> Vec<(Micros, Decimal)> {
            idx.ledger
                .iter()
                .filter(|k| k.side == Side::Debit && !in_period(ds, k.at))
                .filter(|k| !matches!(k.source, LedgerSource::Call(j) | LedgerSource::Stream(j) | LedgerSource::NonConnected(j) if in_period(ds, cdr_start(ds, a, j))))
                .map(|k| (k.at, k.amount))
                .collect()
        };
        assert_eq!(
            outside(&now, &i0),
            outside(&late, &i1),
            "debits outside the period stay"
        );
        // The calls are still there, billed seconds and all.
        let (p0, p1) = (period_cdrs(&now, a), period_cdrs(&late, b));
        assert_eq!(p0.len(), p1.len());
        assert!(
            p0.iter()
                .zip(&p1)
                .all(|(x, y)| x.uuid == y.uuid && x.billsec == y.billsec)
        );
    }

    #[test]
    fn rerated_call_bills_sixty_seconds_more() {
        let (now, late) = pair();
        let (a, b) = (carrier(&now, LateChange::Rerate), carrier(&late, LateChange::Rerate));
        let i = a.late_calls[0];
        let (c0, c1) = (cdr(&now, a, i), cdr(&late, b, i));
        assert!(in_period(&now, c0.start) && c0.status == CallStatus::Answered && c0.billsec > 0);
        assert_eq!(c0.streaming_secs, 0);
        assert_eq!(c1.billsec, c0.billsec + 60);
        assert_eq!(c1.duration(), c0.duration() + 60);
        assert_eq!(c1.end(), c0.end() + 60 * MICROS_PER_SEC);
        assert_eq!((c1.start, c1.uuid), (c0.start, c0.uuid));
        // The tier's price, worked out here: whole pulses, rounded up, at the per-minute rate.
        let tier = now.tier_of(a);
        let price = |secs: u32| {
            let pulse = tier.billing_increment_seconds;
            let pulses = secs.div_ceil(pulse);
            Decimal::from(pulses * pulse) * tier.rate_per_minute / Decimal::from(60)
        };
        let more = price(c0.billsec + 60) - price(c0.billsec);
        assert!(more > Decimal::ZERO);
        assert_eq!(c0.cost, price(c0.billsec));
        assert_eq!(c1.cost - c0.cost, more);
        assert_eq!(period_cost(&late, b) - period_cost(&now, a), more);
        let debit = |ds: &Dataset, acc: &Account| {
            AccountIndex::build(ds, acc)
                .ledger
                .iter()
                .find(|k| k.source == LedgerSource::Call(i))
                .map(|k| k.amount)
        };
        assert_eq!(debit(&now, a), Some(c0.cost));
        assert_eq!(debit(&late, b), Some(c1.cost), "the debit follows the new cost");
        let row = ledger_row(
            &late,
            b,
            &AccountIndex::build(&late, b)
                .ledger
                .iter()
                .find(|k| k.source == LedgerSource::Call(i))
                .copied()
                .unwrap(),
        );
        assert!(row.description.ends_with(&format!("({}s)", c1.billsec)));
    }

    #[test]
    fn late_truth_balances_and_totals_stay_consistent() {
        let late = Dataset::generate(spec(true));
        let sim = Simulator::new(late, FaultSpec::default(), 4);
        let t = truth::compute(&sim);
        let ds = &sim.ds;
        let mut cdrs = 0;
        for (a, at) in ds.accounts.iter().zip(&t.accounts) {
            let idx = AccountIndex::build(ds, a);
            // The balance chain: period opening + period rows = closing; then on to now.
            assert_eq!(
                at.opening_balance + at.ledger.credit_total - at.ledger.debit_total,
                at.closing_balance,
                "{}",
                at.auth_id
            );
            let after: Decimal = idx
                .ledger
                .iter()
                .filter(|k| k.at >= ds.period_end)
                .map(|k| match k.side {
                    Side::Credit => k.amount,
                    Side::Debit => -k.amount,
                })
                .sum();
            assert_eq!(at.closing_balance + after, at.balance_now);
            assert_eq!(sim.balance(a), at.balance_now, "the balances endpoint agrees");
            assert_eq!(at.window_cdrs, ds.call_count(a) as u64);
            // The truth's CDR figures are those of the calls the CDR endpoints show.
            let calls = period_cdrs(ds, a);
            assert_eq!(at.cdrs.count, calls.len() as u64);
            assert_eq!(at.cdrs.cost, calls.iter().map(|c| c.cost).sum::<Decimal>());
            assert_eq!(
                at.cdrs.streaming_cost,
                calls.iter().map(|c| c.streaming_cost).sum::<Decimal>()
            );
            assert_eq!(at.cdrs.total_cost, at.cdrs.cost + at.cdrs.streaming_cost);
            assert_eq!(
                at.cdrs.billable_seconds,
                calls.iter().map(|c| c.billsec as u64).sum::<u64>()
            );
            // Analytics' daily aggregates sum to the calls.
            let days: Decimal = sim
                .totals(a)
                .days
                .values()
                .map(|d| d.inbound.cost + d.outbound.cost)
                .sum();
            assert_eq!(days, idx.cdrs.iter().map(|k| k.total_cost).sum::<Decimal>());
            let by_type: Decimal = at.ledger.by_reference_type.values().map(|v| v.1).sum();
            assert_eq!(by_type, at.ledger.credit_total - at.ledger.debit_total);
            cdrs += at.cdrs.count;
        }
        assert_eq!(t.totals.cdrs.count, cdrs);
        assert!(t.accounts.iter().filter(|x| x.late_change.is_some()).count() == 4);
    }
}
