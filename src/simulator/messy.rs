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

/// How the [`Messy::SixDecimals`] row's amount (12.34) reads on the wire: a double's digits.
pub const SIX_DECIMALS_ON_THE_WIRE: &str = "12.340000000000001";

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

/// Give every [`Messy::PLANTED`] role an account (see [`Messy`] for which accounts qualify;
/// never the whale).
pub(super) fn plant(ds: &mut Dataset) {
    // The whale stays an ordinary account: its volume is the role it plays.
    let whale = ds.messy_account(Messy::Whale).map(|a| a.index);
    let mut candidates: Vec<u32> = ds
        .accounts
        .iter()
        .filter(|a| {
            a.index >= 8
                && Some(a.index) != whale
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
        wire_amount: None,
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
                d("12.34"),
                "Manual adjustment".into(),
                Some(reference),
                Some("manual_adjustment"),
                "debit",
                LedgerStatus::Completed,
            );
            // The wallet and the API's sums take 12.34; the row on the wire carries a
            // double's digits, which no exact reader may round away.
            a.others.push(OtherEntry {
                wire_amount: Some(SIX_DECIMALS_ON_THE_WIRE),
                ..e
            });
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::model::Gstin;
    use crate::simulator::activity::{AccountIndex, LedgerRow, ledger_row};
    use crate::simulator::dataset::{Anomaly, LateChange};
    use crate::simulator::faults::FaultSpec;
    use crate::simulator::server::Simulator;
    use crate::simulator::truth;

    fn spec(seed: u64, accounts: u32, cdrs: u32) -> DatasetSpec {
        let mut s = DatasetSpec::new(seed, accounts, cdrs, "2026-03".parse().unwrap());
        s.messy = true;
        s
    }

    /// Specs that must plant every role: the smallest size, with and without anomalies and
    /// late activity, other seeds and sizes.
    fn specs() -> Vec<DatasetSpec> {
        let mut crowded = spec(7, 40, 60);
        crowded.anomalies = Anomaly::ALL.to_vec();
        crowded.late = true;
        crowded.hostile_names = true;
        vec![
            spec(7, 50, 200),
            spec(8, 40, 200),
            spec(9, 40, 40),
            spec(3, 120, 100),
            crowded,
        ]
    }

    fn rows(ds: &Dataset, a: &Account) -> Vec<LedgerRow> {
        AccountIndex::build(ds, a)
            .ledger
            .iter()
            .map(|k| ledger_row(ds, a, k))
            .collect()
    }

    fn holder(ds: &Dataset, m: Messy) -> &Account {
        ds.messy_account(m)
            .unwrap_or_else(|| panic!("no account carries {m:?}"))
    }

    fn in_period(ds: &Dataset, t: Micros) -> bool {
        t >= ds.period_start && t < ds.period_end
    }

    fn signed(r: &LedgerRow) -> Decimal {
        match r.side {
            Side::Credit => r.amount,
            Side::Debit => -r.amount,
        }
    }

    #[test]
    fn clean_datasets_plant_nothing() {
        let ds = Dataset::generate(DatasetSpec::new(7, 50, 40, "2026-03".parse().unwrap()));
        assert!(!ds.spec.messy);
        assert!(Messy::PLANTED.iter().all(|&m| ds.messy_account(m).is_none()));
        assert!(ds.messy_account(Messy::Whale).is_none());
        for a in &ds.accounts {
            assert!(a.messy.is_empty() && a.closed_at.is_none());
            assert!(a.failed_call.is_none() && a.negative_call.is_none());
            assert_eq!(a.cdr_count, if a.is_active { 40 } else { 0 });
            assert!(rows(&ds, a).iter().all(|r| r.status == LedgerStatus::Completed));
        }
        let json = serde_json::to_string(&truth::compute(&Simulator::new(ds, FaultSpec::default(), 4))).unwrap();
        assert!(!json.contains("\"oddities\"") && !json.contains("\"billable\""));
    }

    #[test]
    fn usage_is_heavy_tailed() {
        for s in specs() {
            let per = s.cdrs_per_account;
            let accounts = s.accounts;
            let ds = Dataset::generate(s);
            // Active accounts (the one closed mid-month included: it was active in the period).
            let mut counts: Vec<u32> = ds
                .accounts
                .iter()
                .filter(|a| a.cdr_count > 0)
                .map(|a| a.cdr_count)
                .collect();
            assert!(counts.len() >= ds.accounts.iter().filter(|a| a.is_active).count());
            counts.sort_unstable_by(|x, y| y.cmp(x));
            let n = counts.len();
            let median = counts[n / 2];
            assert!(counts[0] >= 10 * median, "whale {} vs median {median}", counts[0]);
            assert_eq!(holder(&ds, Messy::Whale).cdr_count, counts[0]);
            let tiny = counts.iter().filter(|&&c| c >= 1 && c <= (per / 10).max(1)).count();
            assert!(tiny * 10 >= n * 3, "{tiny} tiny of {n}");
            let total: u64 = counts.iter().map(|&c| c as u64).sum();
            let target = accounts as u64 * per as u64;
            assert!(
                total * 10 >= target * 7 && total * 10 <= target * 13,
                "{total} vs {target}"
            );
            assert!(counts[..10].windows(2).all(|w| w[0] > w[1]), "{:?}", &counts[..10]);
        }
    }

    #[test]
    fn every_role_is_planted_once_where_it_may_be() {
        for s in specs() {
            let ds = Dataset::generate(s);
            for m in Messy::PLANTED {
                let holders: Vec<&Account> = ds.accounts.iter().filter(|a| a.messy.contains(&m)).collect();
                assert_eq!(holders.len(), 1, "{m:?}");
                let a = holders[0];
                assert!(a.index >= 8 && a.anomaly.is_none() && a.late.is_none(), "{m:?}");
                assert_eq!(a.messy.iter().filter(|r| **r == m).count(), 1);
            }
            assert!(holder(&ds, Messy::Whale).messy.is_empty(), "the whale is ordinary");
            for a in &ds.accounts {
                let text = a.messy.iter().filter(|m| m.is_customer_text()).count();
                assert!(text <= 1 && a.messy.len() - text <= 1, "{:?}", a.messy);
            }
            check_roles(&ds);
        }
    }

    /// Each role's data is there, on its account and on no other.
    fn check_roles(ds: &Dataset) {
        let day = 86_400 * MICROS_PER_SEC;
        for a in &ds.accounts {
            let rs = rows(ds, a);
            let calls: Vec<Cdr> = (0..ds.call_count(a)).map(|i| cdr(ds, a, i)).collect();
            let has = |m: Messy| a.messy.contains(&m);
            let with_status = |s: LedgerStatus| rs.iter().filter(move |r| r.status == s);
            // Statuses.
            let failed: Vec<&LedgerRow> = with_status(LedgerStatus::Failed).collect();
            assert_eq!(
                failed.len(),
                (has(Messy::FailedRental) || has(Messy::FailedCallDebit)) as usize
            );
            if has(Messy::FailedRental) {
                let f = failed[0];
                assert_eq!(
                    (f.reference_type, f.side, f.amount),
                    (Some("did_rental"), Side::Debit, d("300"))
                );
                assert!(in_period(ds, f.at) && f.at < ds.period_start + day, "on the 1st");
                let retry: Vec<&LedgerRow> = rs
                    .iter()
                    .filter(|r| r.at == f.at + HOUR && r.reference == f.reference)
                    .collect();
                assert_eq!(retry.len(), 1);
                assert_eq!(retry[0].status, LedgerStatus::Completed);
                assert_eq!(
                    (retry[0].description.as_str(), retry[0].amount),
                    (f.description.as_str(), f.amount)
                );
                assert_ne!(retry[0].id, f.id);
            }
            if has(Messy::FailedCallDebit) {
                let f = failed[0];
                let i = a.failed_call.unwrap();
                assert_eq!(f.reference, Some(calls[i as usize].ledger_reference()));
                assert!(in_period(ds, f.at));
                let retry: Vec<&LedgerRow> = rs
                    .iter()
                    .filter(|r| r.reference == f.reference && r.at == f.at + 30 * MICROS_PER_SEC)
                    .collect();
                assert_eq!(retry.len(), 1);
                assert_eq!(
                    (retry[0].status, retry[0].amount, retry[0].side),
                    (LedgerStatus::Completed, f.amount, Side::Debit)
                );
                assert_ne!(retry[0].id, f.id);
            } else {
                assert!(a.failed_call.is_none());
            }
            let pending: Vec<&LedgerRow> = with_status(LedgerStatus::Pending).collect();
            assert_eq!(pending.len(), has(Messy::PendingRecharge) as usize);
            if let Some(p) = pending.first() {
                assert!(p.side == Side::Credit && p.filter_kind == "recharge" && in_period(ds, p.at));
            }
            let cancelled: Vec<&LedgerRow> = with_status(LedgerStatus::Cancelled).collect();
            assert_eq!(cancelled.len(), has(Messy::CancelledTransfer) as usize);
            if let Some(c) = cancelled.first() {
                assert!(c.side == Side::Credit && c.filter_kind == "transfer" && in_period(ds, c.at));
                assert!(c.reference.as_deref().unwrap().starts_with("ptc:") && c.reference_type.is_none());
            }
            let unknown: Vec<&LedgerRow> = with_status(LedgerStatus::Processing).collect();
            assert_eq!(unknown.len(), has(Messy::UnknownStatus) as usize);
            if let Some(u) = unknown.first() {
                assert_eq!(
                    (u.side, u.amount, u.reference_type),
                    (Side::Debit, d("150"), Some("recording"))
                );
            }
            // Refunds of billed supply.
            let call_refunds: Vec<&LedgerRow> = rs
                .iter()
                .filter(|r| {
                    // In the period: a late refund (`LateChange::Refund`) is booked after it.
                    r.reference_type == Some("refund")
                        && r.reference.as_deref().is_some_and(|x| x.starts_with("cdr_"))
                        && r.at < ds.period_end
                })
                .collect();
            assert_eq!(call_refunds.len(), has(Messy::RefundedCall) as usize);
            if let Some(r) = call_refunds.first() {
                let c = calls
                    .iter()
                    .find(|c| Some(c.ledger_reference()) == r.reference)
                    .expect("the refunded call exists");
                assert!(plain_call(c) && in_period(ds, c.start));
                assert!(r.at > c.end() + 2 * HOUR && in_period(ds, r.at));
                assert_eq!(
                    (r.side, r.amount, r.status),
                    (Side::Credit, c.cost, LedgerStatus::Completed)
                );
                assert_eq!(
                    (r.filter_kind, r.description.clone()),
                    ("refund", format!("Refund for call {}", c.uuid))
                );
                let debits: Vec<&LedgerRow> = rs
                    .iter()
                    .filter(|d| d.side == Side::Debit && d.reference == r.reference)
                    .collect();
                assert_eq!(debits.len(), 1, "its debit stays");
                assert_eq!(debits[0].amount, c.cost);
            }
            let charge_refunds: Vec<&LedgerRow> = rs
                .iter()
                .filter(|r| r.reference.as_deref().is_some_and(|x| x.starts_with("txn_")))
                .collect();
            assert_eq!(charge_refunds.len(), has(Messy::RefundedCharge) as usize);
            if let Some(r) = charge_refunds.first() {
                let refunded = rs
                    .iter()
                    .find(|d| Some(format!("txn_{}", d.id)) == r.reference)
                    .expect("the refunded debit exists");
                assert_eq!(
                    (refunded.reference_type, refunded.side),
                    (Some("did_rental"), Side::Debit)
                );
                assert!(in_period(ds, refunded.at) && in_period(ds, r.at) && r.at > refunded.at);
                assert_eq!(
                    (r.side, r.amount, r.status),
                    (Side::Credit, refunded.amount, LedgerStatus::Completed)
                );
                assert_eq!((r.reference_type, r.filter_kind), (Some("refund"), "refund"));
                let number = refunded.description.trim_start_matches("DID rental ");
                assert!(number.starts_with("+91"));
                assert_eq!(r.description, format!("Refund of DID rental {number}"));
            }
            // Bad money.
            let negative: Vec<&Cdr> = calls.iter().filter(|c| c.cost < Decimal::ZERO).collect();
            assert_eq!(negative.len(), has(Messy::NegativeCost) as usize);
            if let Some(c) = negative.first() {
                assert_eq!((c.cost, c.total_cost()), (d("-0.45"), d("-0.45")));
                assert!(in_period(ds, c.start));
                assert!(
                    !rs.iter().any(|r| r.reference == Some(c.ledger_reference())),
                    "no debit"
                );
            }
            let fine: Vec<&LedgerRow> = rs.iter().filter(|r| r.wire_amount.is_some()).collect();
            assert_eq!(fine.len(), has(Messy::SixDecimals) as usize);
            if let Some(r) = fine.first() {
                assert_eq!(r.amount.to_string(), "12.34");
                assert_eq!(r.wire_amount, Some(SIX_DECIMALS_ON_THE_WIRE));
                assert_eq!(
                    (r.side, r.reference_type, r.status),
                    (Side::Debit, Some("manual_adjustment"), LedgerStatus::Completed)
                );
                assert!(in_period(ds, r.at));
            }
            // Opened and closed mid-month, both with usage in the period.
            let opened = a.created_at >= ds.window_start;
            assert_eq!(opened, has(Messy::OpenedMidMonth));
            if opened {
                assert!(a.created_at >= ds.period_start + 9 * day && a.created_at < ds.period_start + 10 * day);
                assert!(rs.iter().all(|r| r.at >= a.created_at));
                assert!(calls.iter().all(|c| c.start > a.created_at));
                let first = &rs[0];
                assert_eq!(
                    (first.at, first.reference_type),
                    (a.created_at, Some("payment")),
                    "funded at creation"
                );
            }
            assert_eq!(a.closed_at.is_some(), has(Messy::ClosedMidMonth));
            if let Some(t) = a.closed_at {
                assert!(!a.is_active);
                assert!(t >= ds.period_start + 19 * day && t < ds.period_start + 20 * day);
                assert!(calls.iter().all(|c| c.end() < t));
                assert!(
                    rs.iter().all(|r| r.at < t),
                    "no rows (rentals included) after the close"
                );
            }
            if opened || a.closed_at.is_some() {
                assert!(
                    calls
                        .iter()
                        .any(|c| in_period(ds, c.start) && c.total_cost() > Decimal::ZERO)
                );
            }
            // Customer text.
            let state = a.state.as_deref();
            let aliases = [
                (Messy::StateTamilnadu, "Tamilnadu", 33, "600"),
                (Messy::StateTn, "TN", 33, "641"),
                (Messy::StateOrissa, "Orissa", 21, "751"),
                (Messy::StatePondicherry, "Pondicherry", 34, "605"),
                (Messy::StateNewDelhi, "New Delhi", 7, "110"),
                (Messy::StateJammuKashmir, "Jammu & Kashmir", 1, "190"),
                (Messy::StateDamanDiu, "Daman and Diu", 26, "396"),
                (Messy::BlankStatePin, "", 29, "560034"),
            ];
            for (m, text, code, pin) in aliases {
                assert_eq!(state == Some(text), has(m), "{m:?}");
                if has(m) {
                    assert!(a.zip_code.as_deref().unwrap().starts_with(pin) && a.zip_code.as_ref().unwrap().len() == 6);
                    if let Some(g) = a.gstin.as_deref() {
                        assert_eq!(Gstin::parse(g).unwrap().state().code, code);
                    }
                }
            }
            assert_eq!(state == Some("Select State"), has(Messy::SelectState));
            assert_eq!(a.company.is_empty(), has(Messy::BlankCompany));
            if has(Messy::BlankCompany) {
                assert!(Gstin::parse(a.gstin.as_deref().unwrap()).is_ok());
            }
            let spaced = a.gstin.as_deref().is_some_and(|g| g.contains(' '));
            assert_eq!(spaced, has(Messy::GstinNotCanonical));
            if spaced {
                let g = a.gstin.as_deref().unwrap();
                assert!(g.chars().all(|c| !c.is_ascii_uppercase()));
                assert!(Gstin::parse(&g.replace(' ', "").to_uppercase()).is_ok());
            }
            assert_eq!(a.gst_status == Some("inactive"), has(Messy::InactiveGstin));
            assert_eq!(a.gst_status == Some("suspended"), has(Messy::SuspendedGstin));
            if has(Messy::InactiveGstin) || has(Messy::SuspendedGstin) {
                assert!(Gstin::parse(a.gstin.as_deref().unwrap()).is_ok(), "checksum-valid");
            }
            let sez = a.company.ends_with("(SEZ Unit)");
            assert_eq!(sez, has(Messy::Sez));
            if sez {
                assert_eq!(Gstin::parse(a.gstin.as_deref().unwrap()).unwrap().state().code, 29);
                assert_eq!(state, Some("Karnataka"));
                assert!(a.address.as_deref().unwrap().contains("Special Economic Zone"));
            }
        }
    }

    #[test]
    fn balances_follow_only_completed_rows() {
        let sim = Simulator::new(Dataset::generate(spec(7, 50, 200)), FaultSpec::default(), 8);
        let t = truth::compute(&sim);
        let ds = &sim.ds;
        let mut differ = 0;
        for (a, at) in ds.accounts.iter().zip(&t.accounts) {
            let rs = rows(ds, a);
            let completed: Decimal = rs
                .iter()
                .filter(|r| r.status == LedgerStatus::Completed)
                .map(signed)
                .sum();
            let every: Decimal = rs.iter().map(signed).sum();
            assert_eq!(completed, at.balance_now, "{}", a.auth_id);
            assert_eq!(sim.balance(a), at.balance_now, "the balance endpoint agrees");
            differ += (completed != every) as usize;
            // The period's chain: opening + completed rows of the period = closing.
            let period: Vec<&LedgerRow> = rs
                .iter()
                .filter(|r| in_period(ds, r.at) && r.status == LedgerStatus::Completed)
                .collect();
            assert_eq!(at.ledger.count, period.len() as u64);
            assert_eq!(
                at.opening_balance + period.iter().map(|r| signed(r)).sum::<Decimal>(),
                at.closing_balance
            );
            let before: Decimal = rs
                .iter()
                .filter(|r| r.at < ds.period_start && r.status == LedgerStatus::Completed)
                .map(signed)
                .sum();
            assert_eq!(before, at.opening_balance);
        }
        // Failed rental, failed call debit, pending, cancelled and unknown-status rows.
        assert_eq!(differ, 5);
        let opened = holder(ds, Messy::OpenedMidMonth);
        assert_eq!(t.accounts[opened.index as usize].opening_balance, Decimal::ZERO);
    }

    #[test]
    fn truth_names_the_oddities_and_what_to_bill() {
        let sim = Simulator::new(Dataset::generate(spec(7, 50, 200)), FaultSpec::default(), 8);
        let t = truth::compute(&sim);
        let ds = &sim.ds;
        let mut kinds: std::collections::BTreeMap<String, usize> = Default::default();
        for (a, at) in ds.accounts.iter().zip(&t.accounts) {
            let odd = at.oddities.as_ref().expect("messy truth names oddities");
            let want: BTreeSet<&str> = a.messy.iter().flat_map(|m| m.oddities().iter().copied()).collect();
            assert_eq!(
                odd.iter().map(String::as_str).collect::<Vec<_>>(),
                want.into_iter().collect::<Vec<_>>()
            );
            for o in odd {
                *kinds.entry(o.clone()).or_default() += 1;
            }
            let b = at.billable.as_ref().expect("messy truth says what to bill");
            let call_cost: Decimal = b.calls.values().flat_map(|m| m.values()).map(|l| l.cost).sum();
            let call_count: u64 = b.calls.values().flat_map(|m| m.values()).map(|l| l.calls).sum();
            let secs: u64 = b
                .calls
                .values()
                .flat_map(|m| m.values())
                .map(|l| l.billable_seconds)
                .sum();
            let (mut cost, mut count, mut billsec) = (at.cdrs.cost, at.cdrs.count, at.cdrs.billable_seconds);
            if a.messy.contains(&Messy::NegativeCost) {
                let c = cdr(ds, a, a.negative_call.unwrap());
                cost -= c.cost;
                count -= 1;
                billsec -= c.billsec as u64;
            }
            if a.messy.contains(&Messy::RefundedCall) {
                let r = rows(ds, a)
                    .into_iter()
                    .find(|r| {
                        r.reference_type == Some("refund")
                            && r.reference.as_deref().is_some_and(|x| x.starts_with("cdr_"))
                    })
                    .unwrap();
                cost -= r.amount;
            }
            assert_eq!((call_cost, call_count, secs), (cost, count, billsec), "{}", a.auth_id);
            assert_eq!(b.streaming.cost, at.cdrs.streaming_cost);
            for (context, dirs) in &b.calls {
                assert!(context == "voice-api" || context == "sip-trunking");
                assert!(dirs.keys().all(|d| d == "inbound" || d == "outbound"));
            }
            // Non-call charges: completed debits of the period, refunds netted, bad rows out.
            let charges = |rt: &str| b.charges.get(rt).map(|c| (c.rows, c.amount));
            let rentals = rows(ds, a)
                .into_iter()
                .filter(|r| {
                    r.reference_type == Some("did_rental") && in_period(ds, r.at) && r.status == LedgerStatus::Completed
                })
                .count() as u64;
            let rental_amount = Decimal::from(300 * rentals)
                - if a.messy.contains(&Messy::RefundedCharge) {
                    Decimal::from(300)
                } else {
                    Decimal::ZERO
                };
            assert_eq!(
                charges("did_rental"),
                (rentals > 0).then_some((rentals, rental_amount)),
                "{}",
                a.auth_id
            );
            assert_eq!(charges("manual_adjustment"), None);
            assert_eq!(charges("recording"), None);
            assert!(b.charges.keys().all(|k| k == "did_rental"));
        }
        let expect = [
            ("blank_company", 1),
            ("closed_in_period", 1),
            ("disabled_subaccount", 1),
            ("gstin_not_canonical", 1),
            ("inactive_gstin", 1),
            ("ledger_inconsistent", 1),
            ("ledger_not_completed", 4),
            ("opened_in_period", 1),
            ("rejected_row", 2),
            ("sez", 1),
            ("state_alias", 7),
            ("state_from_pin", 1),
            ("supply_refunded", 2),
            ("unknown_gst_status", 1),
            ("unknown_ledger_status", 1),
            ("unknown_state", 1),
            ("unknown_subaccount", 1),
        ];
        assert_eq!(
            kinds,
            expect
                .iter()
                .map(|(k, n)| (k.to_string(), *n))
                .collect::<std::collections::BTreeMap<_, _>>()
        );
        // Late changes still go to four accounts, none of them planted.
        for change in LateChange::ALL {
            assert!(ds.late_account(change).is_some_and(|a| a.messy.is_empty()));
        }
    }
}
