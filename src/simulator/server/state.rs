//! The simulator's shared state: the dataset, per-account totals worked out once, which
//! accounts' drift rows are visible yet, and cached query views so paging is cheap.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rust_decimal::Decimal;

use crate::simulator::activity::{AccountIndex, CallStatus, CdrKey, Direction, IndexCache, Product};
use crate::simulator::dataset::{self, Account, Dataset, MICROS_PER_SEC, Micros, Side};
use crate::simulator::faults::{FaultInjector, FaultSpec};
use crate::simulator::wire::{CdrSummary, LedgerSummary, TrafficCounts, TrafficTotals};

/// Per-account figures that need a full pass over the account's activity.
#[derive(Debug)]
pub struct AccountTotals {
    /// Balance at the simulator's "now", without drift rows.
    pub balance_end: Decimal,
    /// Sum of drift rows (credits positive).
    pub drift_net: Decimal,
    /// UTC day (days since `Dataset::window_start`'s date) → traffic.
    pub days: BTreeMap<i64, DayAgg>,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Agg {
    pub calls: u64,
    pub answered: u64,
    pub billsec: u64,
    pub cost: Decimal,
}

impl Agg {
    fn add(&mut self, c: &CdrKey) {
        self.calls += 1;
        self.answered += (c.status == CallStatus::Answered) as u64;
        self.billsec += c.billsec as u64;
        self.cost += c.total_cost;
    }

    pub(super) fn merge(&mut self, o: &Agg) {
        self.calls += o.calls;
        self.answered += o.answered;
        self.billsec += o.billsec;
        self.cost += o.cost;
    }

    pub(super) fn minutes(&self) -> Decimal {
        Decimal::from(self.billsec) / Decimal::from(60)
    }

    pub(super) fn totals(&self) -> TrafficTotals {
        TrafficTotals {
            total_calls: self.calls,
            answered_calls: self.answered,
            total_minutes: self.minutes(),
            total_cost: self.cost,
        }
    }

    pub(super) fn counts(&self) -> TrafficCounts {
        TrafficCounts {
            total_calls: self.calls,
            answered_calls: self.answered,
            total_minutes: self.minutes(),
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct DayAgg {
    pub inbound: Agg,
    pub outbound: Agg,
    pub voice_api: Agg,
    pub sip_trunking: Agg,
}

/// The rows a query selects — (account index, ledger row position or CDR index), oldest
/// first — and the query's summary, which every page of a crawl repeats. Cached, so that
/// paging through a selection costs one pass over it rather than one per page.
pub struct View<S> {
    pub(super) rows: Vec<(u32, u32)>,
    pub(super) summary: S,
}

pub(super) struct ViewCache<S> {
    map: Mutex<HashMap<String, Arc<View<S>>>>,
}

impl<S> ViewCache<S> {
    const CAPACITY: usize = 256;

    fn new() -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn get_or_build(&self, key: String, build: impl FnOnce() -> View<S>) -> Arc<View<S>> {
        if let Some(v) = self.map.lock().expect("view cache").get(&key) {
            return v.clone();
        }
        let v = Arc::new(build());
        let mut map = self.map.lock().expect("view cache");
        if map.len() >= Self::CAPACITY {
            map.clear();
        }
        map.insert(key, v.clone());
        v
    }
}

pub struct Simulator {
    pub ds: Dataset,
    /// Shared with the fault middleware, which sees nothing else of the simulator.
    pub faults: Arc<FaultInjector>,
    cache: IndexCache,
    drift_visible: Vec<AtomicBool>,
    totals: Vec<OnceLock<AccountTotals>>,
    pub(super) cdr_views: ViewCache<CdrSummary>,
    pub(super) ledger_views: ViewCache<LedgerSummary>,
}

impl Simulator {
    pub fn new(ds: Dataset, faults: FaultSpec, cache_accounts: usize) -> Self {
        let n = ds.accounts.len();
        let faults = Arc::new(FaultInjector::new(faults, ds.now()));
        Self {
            ds,
            faults,
            cache: IndexCache::new(cache_accounts),
            drift_visible: (0..n).map(|_| AtomicBool::new(false)).collect(),
            totals: (0..n).map(|_| OnceLock::new()).collect(),
            cdr_views: ViewCache::new(),
            ledger_views: ViewCache::new(),
        }
    }

    pub fn index(&self, a: &Account) -> Arc<AccountIndex> {
        self.cache.get(&self.ds, a)
    }

    /// Work out every account's totals (balances, daily aggregates) before serving, on
    /// all cores: a real API has its balances ready, while a lazy simulator made the first
    /// accounts-list request wait a third of a second (100 accounts of 11,000 calls) on one
    /// core, and a client timing its crawl measured that instead of itself.
    pub fn warm(&self) {
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        let next = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    while let Some(a) = self.ds.accounts.get(next.fetch_add(1, Ordering::Relaxed)) {
                        self.totals(a);
                    }
                });
            }
        });
    }

    pub fn totals(&self, a: &Account) -> &AccountTotals {
        self.totals[a.index as usize].get_or_init(|| {
            let idx = self.index(a);
            let day0 = day_number(self.ds.window_start);
            let mut days: BTreeMap<i64, DayAgg> = BTreeMap::new();
            for c in &idx.cdrs {
                let d = days.entry(day_number(c.start) - day0).or_default();
                match c.direction {
                    Direction::Inbound => d.inbound.add(c),
                    Direction::Outbound => d.outbound.add(c),
                }
                match c.product {
                    Product::VoiceApi => d.voice_api.add(c),
                    Product::SipTrunking => d.sip_trunking.add(c),
                }
            }
            let drift_net = a.drift.iter().map(|o| signed(o.side, o.amount)).sum();
            AccountTotals {
                balance_end: idx.balance_before(Micros::MAX, false),
                drift_net,
                days,
            }
        })
    }

    /// Names `accounts` and their drift state, for view cache keys.
    pub(super) fn selection_key(&self, accounts: &[&Account]) -> String {
        let drift: Vec<u32> = accounts
            .iter()
            .filter(|a| self.drift_visible(a))
            .map(|a| a.index)
            .collect();
        if accounts.len() == 1 {
            format!("a{}:{drift:?}", accounts[0].index)
        } else {
            format!("all{}:{drift:?}", accounts.len())
        }
    }

    pub(super) fn drift_visible(&self, a: &Account) -> bool {
        self.drift_visible[a.index as usize].load(Ordering::Relaxed)
    }

    /// Called after a ledger page was served: rows booked "now" appear from the next page on.
    pub(super) fn touch_ledger(&self, a: &Account) {
        if !a.drift.is_empty() {
            self.drift_visible[a.index as usize].store(true, Ordering::Relaxed);
        }
    }

    /// The balance a client sees now.
    pub fn balance(&self, a: &Account) -> Decimal {
        let t = self.totals(a);
        let drift = if self.drift_visible(a) {
            t.drift_net
        } else {
            Decimal::ZERO
        };
        // A planted balance jump: money that no ledger row explains.
        let jump = if a.anomaly == Some(dataset::Anomaly::BalanceJump) {
            Decimal::from(100)
        } else {
            Decimal::ZERO
        };
        t.balance_end + drift + jump
    }
}

fn signed(side: Side, amount: Decimal) -> Decimal {
    match side {
        Side::Credit => amount,
        Side::Debit => -amount,
    }
}

pub(super) fn day_number(t: Micros) -> i64 {
    t.div_euclid(86_400 * MICROS_PER_SEC)
}
