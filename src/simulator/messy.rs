//! Messy datasets ([`DatasetSpec::messy`]): data as customers and billing systems really
//! produce it. [`heavy_tail`] reshapes usage before the late changes are chosen; [`plant`]
//! then gives each [`Messy`] role an account of its own. Both are pure functions of the seed.
//!
//! Heavy-tailed usage: active accounts are shuffled by the seed; 35 % of them (never one with a
//! planted anomaly, which needs calls to plant it in) are "tiny", with 1 to 10 % of
//! `cdrs_per_account` calls; the others share the rest of `accounts × cdrs_per_account` by a
//! Zipf law over a seeded rank (weight 1/rank, jittered ±10 %), so that the first, the whale,
//! has well over ten times the median; the top ten counts are all different.

use rust_decimal::Decimal;

use super::activity::{CallStatus, Cdr, cdr, cdr_start};
use super::dataset::{
    Account, Dataset, DatasetSpec, LedgerStatus, MICROS_PER_SEC, Messy, Micros, OtherEntry, Side, d, gstin_for,
};
use super::rng::{Rng, key};
use crate::model::gstin::state_by_code;

const HOUR: i64 = 3_600 * MICROS_PER_SEC;
const DAY: i64 = 24 * HOUR;
const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

fn shuffle<T>(rng: &mut Rng, v: &mut [T]) {
    for k in (1..v.len()).rev() {
        let j = rng.below(k as u64 + 1) as usize;
        v.swap(k, j);
    }
}

/// Redraw active accounts' `cdr_count` heavy-tailed (see the module documentation).
pub(super) fn heavy_tail(spec: &DatasetSpec, accounts: &mut [Account]) {
    let per = spec.cdrs_per_account as u64;
    if per == 0 {
        return;
    }
    let mut rng = Rng::new(key(&[spec.seed, 0x7A11]));
    let mut active: Vec<usize> = accounts
        .iter()
        .filter(|a| a.is_active)
        .map(|a| a.index as usize)
        .collect();
    shuffle(&mut rng, &mut active);
    let n = active.len();
    let (mut free, hosts): (Vec<usize>, Vec<usize>) = active.iter().partition(|&&i| accounts[i].anomaly.is_none());
    let n_tiny = (n * 35).div_ceil(100).min(free.len());
    let tiny_max = (per / 10).max(1);
    let mut tiny_total = 0;
    for i in free.drain(..n_tiny) {
        let c = rng.range(1, tiny_max);
        accounts[i].cdr_count = c as u32;
        tiny_total += c;
    }
    let mut ranked: Vec<usize> = free.into_iter().chain(hosts).collect();
    shuffle(&mut rng, &mut ranked);
    let m = ranked.len();
    if m == 0 {
        return;
    }
    let mut weights: Vec<f64> = (0..m)
        .map(|r| (900 + rng.below(201)) as f64 / 1000.0 / (r + 1) as f64)
        .collect();
    weights.sort_by(|x, y| y.total_cmp(x));
    let sum: f64 = weights.iter().sum();
    let target = (spec.accounts as u64 * per).saturating_sub(tiny_total).max(m as u64) as f64;
    let mut counts: Vec<u64> = weights
        .iter()
        .map(|w| ((target * w / sum).round() as u64).max(1))
        .collect();
    // No two of the top ten alike.
    for r in (0..m.min(10).saturating_sub(1)).rev() {
        if counts[r] <= counts[r + 1] {
            counts[r] = counts[r + 1] + 1;
        }
    }
    for (r, &i) in ranked.iter().enumerate() {
        accounts[i].cdr_count = counts[r].min(u32::MAX as u64) as u32;
    }
}

/// What a role needs of its account, found by [`fit`].
enum Plan {
    Plain,
    /// A call of the account.
    Call(Box<Cdr>),
    /// `Account::others[j]`: a DID rental debit on the period's 1st.
    Rental(usize),
    /// The instant the account opens or closes.
    At(Micros),
}

/// Give every [`Messy::PLANTED`] role an account (see [`Messy`] for which accounts qualify).
pub(super) fn plant(ds: &mut Dataset) {
    let mut candidates: Vec<u32> = ds
        .accounts
        .iter()
        .filter(|a| {
            a.index >= 8
                && a.is_active
                && a.cdr_count > 0
                && a.currency == "INR"
                && a.anomaly.is_none()
                && a.late.is_none()
        })
        .map(|a| a.index)
        .collect();
    let mut rng = Rng::new(key(&[ds.spec.seed, 0x3E55]));
    shuffle(&mut rng, &mut candidates);
    let mut used = vec![false; candidates.len()];
    for role in Messy::PLANTED {
        let mut chosen = candidates
            .iter()
            .enumerate()
            .filter(|(pos, _)| !used[*pos])
            .find_map(|(pos, &ai)| fit(ds, &ds.accounts[ai as usize], role).map(|p| (pos, ai, p)));
        if chosen.is_none() && role.is_customer_text() {
            // Too few free accounts: share one that carries a ledger or money role only.
            chosen = candidates
                .iter()
                .enumerate()
                .filter(|(pos, _)| used[*pos])
                .find_map(|(pos, &ai)| {
                    let a = &ds.accounts[ai as usize];
                    let shareable = a
                        .messy
                        .iter()
                        .all(|m| !m.is_customer_text() && !matches!(m, Messy::OpenedMidMonth | Messy::ClosedMidMonth));
                    if shareable {
                        fit(ds, a, role).map(|p| (pos, ai, p))
                    } else {
                        None
                    }
                });
        }
        if let Some((pos, ai, plan)) = chosen {
            used[pos] = true;
            apply(ds, ai, role, plan);
        }
    }
}

fn role_rng(ds: &Dataset, a: &Account, role: Messy, stage: u64) -> Rng {
    Rng::new(key(&[ds.spec.seed, 0x3E55, a.index as u64, role as u64, stage]))
}

/// Calls of `a` starting in the period.
fn period_calls<'a>(ds: &'a Dataset, a: &'a Account) -> impl Iterator<Item = Cdr> + 'a {
    (0..a.cdr_count)
        .filter(|&i| {
            let s = cdr_start(ds, a, i);
            s >= ds.period_start && s < ds.period_end
        })
        .map(|i| cdr(ds, a, i))
}

fn has_billed_call(ds: &Dataset, a: &Account) -> bool {
    period_calls(ds, a).any(|c| c.total_cost() > Decimal::ZERO)
}

/// A call of the period that `want` accepts, chosen by the seed.
fn pick_call(ds: &Dataset, a: &Account, role: Messy, want: impl Fn(&Cdr) -> bool) -> Option<Plan> {
    let pool: Vec<Cdr> = period_calls(ds, a).filter(|c| want(c)).collect();
    if pool.is_empty() {
        return None;
    }
    let j = role_rng(ds, a, role, 0).below(pool.len() as u64) as usize;
    pool.into_iter().nth(j).map(|c| Plan::Call(Box::new(c)))
}

fn plain_call(c: &Cdr) -> bool {
    c.status == CallStatus::Answered
        && c.billsec > 0
        && c.cost > Decimal::ZERO
        && c.streaming_secs == 0
        && !c.non_connected_fee
}

fn fit(ds: &Dataset, a: &Account, role: Messy) -> Option<Plan> {
    let day1_rental = || {
        a.others.iter().position(|o| {
            o.reference_type == Some("did_rental")
                && o.side == Side::Debit
                && o.at >= ds.period_start
                && o.at < ds.period_start + DAY
        })
    };
    match role {
        Messy::OpenedMidMonth => {
            let mut rng = role_rng(ds, a, role, 0);
            let t = ds.period_start
                + 9 * DAY
                + rng.range(9, 12) as i64 * HOUR
                + rng.below(3_600) as i64 * MICROS_PER_SEC
                + rng.below(MICROS_PER_SEC as u64) as i64;
            let mut opened = a.clone();
            opened.created_at = t;
            has_billed_call(ds, &opened).then_some(Plan::At(t))
        }
        Messy::ClosedMidMonth => {
            let mut rng = role_rng(ds, a, role, 0);
            let t = ds.period_start + 19 * DAY + rng.range(15, 18) as i64 * HOUR;
            let mut closed = a.clone();
            closed.closed_at = Some(t);
            has_billed_call(ds, &closed).then_some(Plan::At(t))
        }
        Messy::FailedCallDebit => pick_call(ds, a, role, |c| {
            c.cost > Decimal::ZERO && !c.non_connected_fee && c.end() + 120 * MICROS_PER_SEC < ds.period_end
        }),
        Messy::RefundedCall => pick_call(ds, a, role, |c| plain_call(c) && c.end() + 6 * HOUR < ds.period_end),
        Messy::NegativeCost => pick_call(ds, a, role, plain_call),
        Messy::FailedRental | Messy::RefundedCharge => day1_rental().map(Plan::Rental),
        _ => Some(Plan::Plain),
    }
}

#[allow(clippy::too_many_arguments)]
fn entry(
    rng: &mut Rng,
    at: Micros,
    side: Side,
    amount: Decimal,
    description: String,
    reference: Option<String>,
    reference_type: Option<&'static str>,
    filter_kind: &'static str,
    status: LedgerStatus,
) -> OtherEntry {
    OtherEntry {
        id: rng.uuid(),
        at,
        side,
        amount,
        description,
        reference,
        reference_type,
        filter_kind,
        status,
    }
}

/// The state code of `a`'s GSTIN, else of its state's name; Karnataka when neither says.
fn state_code(a: &Account) -> u8 {
    if let Some(code) = a.gstin.as_deref().and_then(|g| g.get(..2)).and_then(|c| c.parse().ok()) {
        return code;
    }
    (1..=99u8)
        .find(|&c| state_by_code(c).is_some_and(|s| Some(s.name) == a.state.as_deref()))
        .unwrap_or(29)
}

/// Register `a` in state `code` (a GSTIN of that state, active) unless it already is.
fn register(a: &mut Account, rng: &mut Rng, code: u8) {
    let same_state = a
        .gstin
        .as_deref()
        .is_some_and(|g| g.get(..2).and_then(|c| c.parse::<u8>().ok()) == Some(code));
    if same_state {
        return;
    }
    let entity = a
        .gstin
        .as_deref()
        .and_then(|g| g.as_bytes().get(5).copied())
        .unwrap_or(b'C');
    a.gstin = Some(gstin_for(rng, code, entity));
    a.gst_status = Some("active");
    if entity != b'P' {
        a.business_type = "business";
    }
}

/// Move `a` to a place in state `code`, its state written `state`; a registered account's
/// GSTIN follows. A `pin` of three digits is a prefix.
fn move_to(a: &mut Account, rng: &mut Rng, code: u8, state: &str, city: &str, pin: &str) {
    a.state = Some(state.into());
    a.city = Some(city.into());
    a.zip_code = Some(if pin.len() == 6 {
        pin.into()
    } else {
        format!("{pin}{}", rng.digits(3))
    });
    a.country = "IN";
    a.timezone = "Asia/Kolkata";
    if a.gstin.is_some() {
        register(a, rng, code);
    }
}

fn apply(ds: &mut Dataset, ai: u32, role: Messy, plan: Plan) {
    let mut rng = role_rng(ds, &ds.accounts[ai as usize], role, 1);
    let (period_start, partner_id) = (ds.period_start, ds.partner.id);
    let transfer_note = format!("Transfer from partner {}: Balance transfer", ds.partner.name);
    let a = &mut ds.accounts[ai as usize];
    a.messy.push(role);
    // Days 3 to 26 of the period: inside every month.
    let in_period = |rng: &mut Rng| period_start + rng.range(2, 25) as i64 * DAY + rng.below(DAY as u64) as i64;
    match (role, plan) {
        (Messy::OpenedMidMonth, Plan::At(t)) => {
            a.created_at = t;
            a.updated_at = t + 2 * HOUR;
            a.others.retain(|o| o.at > t);
            a.drift.retain(|o| o.at > t);
        }
        (Messy::ClosedMidMonth, Plan::At(t)) => {
            a.closed_at = Some(t);
            a.is_active = false;
            a.updated_at = t;
            a.others.retain(|o| o.at < t);
            a.drift.clear();
        }
        (Messy::FailedRental, Plan::Rental(j)) => {
            let o = &mut a.others[j];
            o.status = LedgerStatus::Failed;
            let mut retry = o.clone();
            retry.id = rng.uuid();
            retry.at = o.at + HOUR;
            retry.status = LedgerStatus::Completed;
            a.others.push(retry);
        }
        (Messy::FailedCallDebit, Plan::Call(c)) => a.failed_call = Some(c.index),
        (Messy::NegativeCost, Plan::Call(c)) => a.negative_call = Some(c.index),
        (Messy::RefundedCall, Plan::Call(c)) => {
            let at = c.end() + rng.range(3, 5) as i64 * HOUR;
            let e = entry(
                &mut rng,
                at,
                Side::Credit,
                c.cost,
                format!("Refund for call {}", c.uuid),
                Some(c.ledger_reference()),
                Some("refund"),
                "refund",
                LedgerStatus::Completed,
            );
            a.others.push(e);
        }
        (Messy::RefundedCharge, Plan::Rental(j)) => {
            let o = a.others[j].clone();
            let number = o.description.trim_start_matches("DID rental ").to_string();
            let at = o.at + rng.range(3, 8) as i64 * DAY;
            let e = entry(
                &mut rng,
                at,
                Side::Credit,
                o.amount,
                format!("Refund of DID rental {number}"),
                Some(format!("txn_{}", o.id)),
                Some("refund"),
                "refund",
                LedgerStatus::Completed,
            );
            a.others.push(e);
        }
        (Messy::PendingRecharge, _) => {
            let at = in_period(&mut rng);
            let amount = Decimal::from(rng.pick(&[1_000u32, 2_000, 5_000]));
            let reference = format!("pay_{}", rng.string(14, UPPER));
            let e = entry(
                &mut rng,
                at,
                Side::Credit,
                amount,
                "Wallet recharge".into(),
                Some(reference),
                Some("payment"),
                "recharge",
                LedgerStatus::Pending,
            );
            a.others.push(e);
        }
        (Messy::CancelledTransfer, _) => {
            let at = in_period(&mut rng);
            let amount = Decimal::new(rng.range(50_000, 500_000) as i64, 2);
            let reference = format!("ptc:{partner_id}:{}:{}", a.auth_id, at / MICROS_PER_SEC);
            let e = entry(
                &mut rng,
                at,
                Side::Credit,
                amount,
                transfer_note,
                Some(reference),
                None,
                "transfer",
                LedgerStatus::Cancelled,
            );
            a.others.push(e);
        }
        (Messy::UnknownStatus, _) => {
            let at = in_period(&mut rng);
            let reference = format!("rec_{}", rng.string(14, UPPER));
            let e = entry(
                &mut rng,
                at,
                Side::Debit,
                Decimal::from(150),
                "Call recording storage".into(),
                Some(reference),
                Some("recording"),
                "debit",
                LedgerStatus::Processing,
            );
            a.others.push(e);
        }
        (Messy::SixDecimals, _) => {
            let at = in_period(&mut rng);
            let reference = format!("adj_{}", rng.string(12, UPPER));
            let e = entry(
                &mut rng,
                at,
                Side::Debit,
                d("12.345678"),
                "Manual adjustment".into(),
                Some(reference),
                Some("manual_adjustment"),
                "debit",
                LedgerStatus::Completed,
            );
            a.others.push(e);
        }
        (Messy::StateTamilnadu, _) => move_to(a, &mut rng, 33, "Tamilnadu", "Chennai", "600"),
        (Messy::StateTn, _) => move_to(a, &mut rng, 33, "TN", "Coimbatore", "641"),
        (Messy::StateOrissa, _) => move_to(a, &mut rng, 21, "Orissa", "Bhubaneswar", "751"),
        (Messy::StatePondicherry, _) => move_to(a, &mut rng, 34, "Pondicherry", "Puducherry", "605"),
        (Messy::StateNewDelhi, _) => move_to(a, &mut rng, 7, "New Delhi", "New Delhi", "110"),
        (Messy::StateJammuKashmir, _) => move_to(a, &mut rng, 1, "Jammu & Kashmir", "Srinagar", "190"),
        (Messy::StateDamanDiu, _) => move_to(a, &mut rng, 26, "Daman and Diu", "Daman", "396"),
        (Messy::BlankStatePin, _) => move_to(a, &mut rng, 29, "", "Bengaluru", "560034"),
        (Messy::SelectState, _) => a.state = Some("Select State".into()),
        (Messy::BlankCompany, _) => {
            let code = state_code(a);
            register(a, &mut rng, code);
            a.company = String::new();
        }
        (Messy::GstinNotCanonical, _) => {
            let code = state_code(a);
            register(a, &mut rng, code);
            let g = a.gstin.as_deref().expect("registered").to_lowercase();
            a.gstin = Some(format!("{} {} {} {}", &g[..2], &g[2..7], &g[7..12], &g[12..]));
        }
        (Messy::InactiveGstin, _) => {
            let code = state_code(a);
            register(a, &mut rng, code);
            a.gst_status = Some("inactive");
        }
        (Messy::SuspendedGstin, _) => {
            let code = state_code(a);
            register(a, &mut rng, code);
            a.gst_status = Some("suspended");
        }
        (Messy::Sez, _) => {
            move_to(a, &mut rng, 29, "Karnataka", "Bengaluru", "560");
            register(a, &mut rng, 29);
            a.company = format!("{} (SEZ Unit)", a.company);
            a.address = Some(format!(
                "Plot {}, {} Tech Park, Special Economic Zone, Whitefield",
                rng.range(1, 80),
                a.name
            ));
        }
        (role, _) => unreachable!("{role:?} planted without its plan"),
    }
}
