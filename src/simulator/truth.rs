//! Ground truth: what a correct client must arrive at for the period, computed from the
//! generator directly (not through HTTP). Money is written as exact decimal strings.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use super::activity::{AccountIndex, CallStatus, ledger_row};
use super::dataset::{Account, Dataset, Side};
use super::server::Simulator;

#[derive(Debug, Serialize, Default, Clone, PartialEq)]
pub struct CdrTruth {
    pub count: u64,
    pub answered: u64,
    pub billable_seconds: u64,
    pub duration_seconds: u64,
    pub cost: Decimal,
    pub streaming_cost: Decimal,
    pub total_cost: Decimal,
}

/// The period's ledger rows. Only completed rows count (in a clean dataset every row is
/// completed; a messy one also serves failed, pending, cancelled and unknown-status rows, which
/// the API's summaries include but which never moved the wallet).
#[derive(Debug, Serialize, Default, Clone, PartialEq)]
pub struct LedgerTruth {
    pub count: u64,
    pub credit_count: u64,
    pub debit_count: u64,
    pub credit_total: Decimal,
    pub debit_total: Decimal,
    /// reference_type ("unknown" for transfers) → (count, net amount, credits positive)
    pub by_reference_type: BTreeMap<String, (u64, Decimal)>,
}

/// Calls of one (context, direction) as the invoice must bill them.
#[derive(Debug, Serialize, Default, Clone, PartialEq)]
pub struct BilledCalls {
    pub calls: u64,
    pub billable_seconds: u64,
    /// Talk-time cost less the completed refunds referencing these calls (`cdr_<uuid>`).
    pub cost: Decimal,
}

/// Streaming sessions as the invoice must bill them.
#[derive(Debug, Serialize, Default, Clone, PartialEq)]
pub struct BilledStreaming {
    pub sessions: u64,
    pub cost: Decimal,
}

/// Non-call debits of one reference type as the invoice must bill them.
#[derive(Debug, Serialize, Default, Clone, PartialEq)]
pub struct BilledCharges {
    pub rows: u64,
    /// Their amount less the completed refunds referencing them (`txn_<id>`).
    pub amount: Decimal,
}

/// What the period's invoice must bill (messy datasets only): calls starting in the period by
/// the CDR's `context` and direction, streaming, and non-call debits booked in the period by
/// reference type. Ledger rows count only when completed and in the partner's currency; rows a
/// pipeline must reject (a negative-cost CDR, an amount with more decimals than any price has)
/// are left out.
#[derive(Debug, Serialize, Default, Clone, PartialEq)]
pub struct BillableTruth {
    /// context → direction → calls.
    pub calls: BTreeMap<String, BTreeMap<String, BilledCalls>>,
    pub streaming: BilledStreaming,
    /// reference_type → non-call debits.
    pub charges: BTreeMap<String, BilledCharges>,
}

#[derive(Debug, Serialize, Clone, PartialEq)]
pub struct AccountTruth {
    pub auth_id: String,
    pub name: String,
    pub currency: String,
    pub is_active: bool,
    pub gstin: Option<String>,
    pub state: Option<String>,
    pub country: String,
    /// A discrepancy planted in this account (`sim --anomalies`), if any.
    pub anomaly: Option<String>,
    /// The late change this account shows (`sim --late` only; absent otherwise, so the month-end
    /// truth is unchanged): late-calls, refund, rerate or reversed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub late_change: Option<String>,
    /// The exception kinds a pipeline must report for this account, sorted (`sim --messy`
    /// only; absent otherwise): see [`Messy::oddities`](super::dataset::Messy::oddities).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oddities: Option<Vec<String>>,
    /// What the invoice must bill (`sim --messy` only; absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billable: Option<BillableTruth>,
    pub cdrs: CdrTruth,
    pub ledger: LedgerTruth,
    /// Balance at the period's first instant.
    pub opening_balance: Decimal,
    /// Balance at the period's end (exclusive).
    pub closing_balance: Decimal,
    /// Balance at the simulator's "now" without page-drift rows.
    pub balance_now: Decimal,
    /// Calls in the whole generated window (period plus margins).
    pub window_cdrs: u64,
    /// Ledger rows since the account's creation (page-drift rows excluded).
    pub ledger_rows: u64,
    /// Its subaccounts, listed or not, with the calls each placed in the period (absent when
    /// it has none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subaccounts: Vec<SubaccountTruth>,
}

/// One subaccount and its calls starting in the period.
#[derive(Debug, Serialize, Default, Clone, PartialEq)]
pub struct SubaccountTruth {
    pub auth_id: String,
    pub name: String,
    pub enabled: bool,
    /// Still shown by the list endpoint (`false`: deleted).
    pub listed: bool,
    pub calls: CdrTruth,
}

#[derive(Debug, Serialize, Clone, PartialEq)]
pub struct Truth {
    pub seed: u64,
    pub period: String,
    pub time_zone: String,
    pub period_start: String,
    pub period_end: String,
    pub now: String,
    pub accounts: Vec<AccountTruth>,
    pub totals: Totals,
}

#[derive(Debug, Serialize, Default, Clone, PartialEq)]
pub struct Totals {
    pub accounts: u64,
    pub active_accounts: u64,
    pub cdrs: CdrTruth,
    pub credit_total: Decimal,
    pub debit_total: Decimal,
    pub closing_balance: Decimal,
}

fn account_truth(ds: &Dataset, a: &Account, idx: &AccountIndex) -> AccountTruth {
    let mut cdrs = CdrTruth::default();
    let mut subaccounts: Vec<SubaccountTruth> = a
        .subaccounts
        .iter()
        .map(|s| SubaccountTruth {
            auth_id: s.auth_id.clone(),
            name: s.name.clone(),
            enabled: s.enabled,
            listed: s.listed,
            calls: CdrTruth::default(),
        })
        .collect();
    for i in idx.cdr_range(ds.period_start, ds.period_end) {
        let k = &idx.cdrs[i];
        let c = super::activity::cdr(ds, a, k.index);
        let count = |t: &mut CdrTruth| {
            t.count += 1;
            t.answered += (k.status == CallStatus::Answered) as u64;
            t.billable_seconds += k.billsec as u64;
            t.duration_seconds += k.duration as u64;
            t.cost += c.cost;
            t.streaming_cost += c.streaming_cost;
            t.total_cost += k.total_cost;
        };
        count(&mut cdrs);
        if let Some(s) = c.subaccount {
            count(&mut subaccounts[s as usize].calls);
        }
    }
    let mut ledger = LedgerTruth::default();
    let visible = idx.visible_ledger(false);
    for k in visible
        .iter()
        .filter(|k| k.at >= ds.period_start && k.at < ds.period_end && k.status.moves_wallet())
    {
        let row = super::activity::ledger_row(ds, a, k);
        ledger.count += 1;
        let signed = match k.side {
            Side::Credit => {
                ledger.credit_count += 1;
                ledger.credit_total += k.amount;
                k.amount
            }
            Side::Debit => {
                ledger.debit_count += 1;
                ledger.debit_total += k.amount;
                -k.amount
            }
        };
        let e = ledger
            .by_reference_type
            .entry(row.reference_type.unwrap_or("unknown").to_string())
            .or_default();
        e.0 += 1;
        e.1 += signed;
    }
    AccountTruth {
        auth_id: a.auth_id.clone(),
        name: a.name.clone(),
        currency: a.currency.into(),
        is_active: a.is_active,
        gstin: a.gstin.clone(),
        state: a.state.clone(),
        country: a.country.into(),
        anomaly: a.anomaly.map(|x| x.name().to_string()),
        late_change: a.late.filter(|_| ds.spec.late).map(|x| x.name().to_string()),
        oddities: ds.spec.messy.then(|| {
            let mut v: Vec<String> = a
                .messy
                .iter()
                .flat_map(|m| m.oddities())
                .map(|o| o.to_string())
                .collect();
            v.sort();
            v.dedup();
            v
        }),
        billable: ds.spec.messy.then(|| billable(ds, a, idx)),
        cdrs,
        ledger,
        opening_balance: idx.balance_before(ds.period_start, false),
        closing_balance: idx.balance_before(ds.period_end, false),
        balance_now: idx.balance_before(i64::MAX, false),
        window_cdrs: idx.cdrs.len() as u64,
        ledger_rows: visible.len() as u64,
        subaccounts,
    }
}

fn billable(ds: &Dataset, a: &Account, idx: &AccountIndex) -> BillableTruth {
    let in_period: Vec<_> = idx
        .visible_ledger(false)
        .iter()
        .filter(|k| k.at >= ds.period_start && k.at < ds.period_end && k.status.moves_wallet())
        .map(|k| ledger_row(ds, a, k))
        .filter(|r| r.currency.is_none())
        .collect();
    let mut refunds: BTreeMap<&str, Decimal> = BTreeMap::new();
    for r in in_period
        .iter()
        .filter(|r| r.side == Side::Credit && r.reference_type == Some("refund"))
    {
        if let Some(reference) = r.reference.as_deref() {
            *refunds.entry(reference).or_default() += r.amount;
        }
    }
    let refunded = |reference: &str| refunds.get(reference).copied().unwrap_or_default();
    let mut out = BillableTruth::default();
    for p in idx.cdr_range(ds.period_start, ds.period_end) {
        let c = super::activity::cdr(ds, a, idx.cdrs[p].index);
        if c.cost < Decimal::ZERO {
            continue;
        }
        let line = out
            .calls
            .entry(c.product.context().to_string())
            .or_default()
            .entry(c.direction.as_str().to_string())
            .or_default();
        line.calls += 1;
        line.billable_seconds += c.billsec as u64;
        line.cost += c.cost - refunded(&c.ledger_reference());
        if c.streaming_secs > 0 {
            out.streaming.sessions += 1;
            out.streaming.cost += c.streaming_cost;
        }
    }
    for r in in_period.iter().filter(|r| {
        r.side == Side::Debit
            && !matches!(r.reference_type, Some("cdr" | "stream_cdr" | "ncc"))
            // The row whose wire amount is a float's digits is rejected: not billed.
            && r.wire_amount.is_none()
    }) {
        let e = out
            .charges
            .entry(r.reference_type.unwrap_or("unknown").to_string())
            .or_default();
        e.rows += 1;
        e.amount += r.amount - refunded(&format!("txn_{}", r.id));
    }
    out
}

/// Compute the truth one account at a time (memory stays bounded by one account's index).
pub fn compute(sim: &Simulator) -> Truth {
    let ds = &sim.ds;
    let accounts: Vec<AccountTruth> = ds
        .accounts
        .iter()
        .map(|a| account_truth(ds, a, &AccountIndex::build(ds, a)))
        .collect();
    let mut totals = Totals {
        accounts: accounts.len() as u64,
        ..Default::default()
    };
    for t in &accounts {
        totals.active_accounts += t.is_active as u64;
        totals.cdrs.count += t.cdrs.count;
        totals.cdrs.answered += t.cdrs.answered;
        totals.cdrs.billable_seconds += t.cdrs.billable_seconds;
        totals.cdrs.duration_seconds += t.cdrs.duration_seconds;
        totals.cdrs.cost += t.cdrs.cost;
        totals.cdrs.streaming_cost += t.cdrs.streaming_cost;
        totals.cdrs.total_cost += t.cdrs.total_cost;
        totals.credit_total += t.ledger.credit_total;
        totals.debit_total += t.ledger.debit_total;
        totals.closing_balance += t.closing_balance;
    }
    let ts = |t| super::wire::ts_micros_z(t).to_string();
    Truth {
        seed: ds.spec.seed,
        period: ds.spec.period.to_string(),
        time_zone: ds.spec.time_zone.name().to_string(),
        period_start: ts(ds.period_start),
        period_end: ts(ds.period_end),
        now: ts(ds.now()),
        accounts,
        totals,
    }
}
