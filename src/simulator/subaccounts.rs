//! Subaccounts: some customers split their usage into subaccounts (departments,
//! environments, tenants), as the Subaccount API describes. A pure function of the seed,
//! planted after the rest of the dataset so that nothing else it generates changes.
//!
//! How a subaccount's usage shows *(inferred; the docs do not say)*: its calls are listed
//! among its parent's CDRs with the subaccount's `SA_…` id as `account_id`, and they are
//! charged to the parent's wallet (the docs: "SA_ ids resolve to the parent's ledger"; the
//! sub-accounts skill: "all usage is charged to the parent wallet"), so the ledger rows are
//! the parent's and name the call as any debit does.
//!
//! Which customers have them, and what they show:
//! - about one in six eligible customers (active, in rupees, with calls, no other planted
//!   role), and at least three;
//! - the first of them ("showcase") has Sales and Support, Staging created on the period's
//!   12th, Legacy disabled before the period, Operations disabled on the 18th (its calls stop
//!   then) and Archive, which never makes a call;
//! - the second (datasets of 20 accounts or more) is a reseller with [`RESELLER_SUBACCOUNTS`]
//!   tenants, more than one page of the list at its largest size;
//! - messy datasets plant two contradictions: a call by Operations after it was disabled
//!   ([`Messy::DisabledSubaccountUsage`]) and a call by a deleted subaccount the list no
//!   longer shows ([`Messy::UnknownSubaccount`]).

use super::dataset::{Account, Dataset, MICROS_PER_SEC, Messy, Micros};
use super::rng::{Rng, key};

const DAY: i64 = 86_400 * MICROS_PER_SEC;
const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const TOKEN: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Tenants of the reseller customer: more than the list's largest page (100).
pub const RESELLER_SUBACCOUNTS: u32 = 130;
/// The showcase's Sales subaccount's name in a dataset with hostile names: a formula, markup
/// and typst code.
pub const HOSTILE_SUBACCOUNT_NAME: &str = "=1+2 <script>alert(1)</script> Sales #emph[y]";
const DEPARTMENTS: &[&str] = &[
    "Sales",
    "Support",
    "Collections",
    "Marketing",
    "Helpdesk",
    "Production",
    "Field Ops",
    "Billing Desk",
];

#[derive(Debug, Clone)]
pub struct SubAccount {
    pub id: String,
    pub auth_id: String,
    pub auth_token: String,
    pub api_id: uuid::Uuid,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub description: Option<String>,
    /// `{calls, cdr}`, or `None` (the API's `null`: the parent's defaults).
    pub permissions: Option<(bool, bool)>,
    pub rate_limit: u32,
    pub enabled: bool,
    pub created_at: Micros,
    /// Last modification: for a disabled subaccount, when it was disabled.
    pub updated_at: Micros,
    /// Still listed by the API (`false`: deleted, its past calls remain the parent's).
    pub listed: bool,
    /// Makes calls while it is alive (`false`: a subaccount that never calls).
    pub calls: bool,
}

impl SubAccount {
    /// Whether it could place a call at `t`: created, and not yet disabled.
    pub fn alive(&self, t: Micros) -> bool {
        self.created_at <= t && (self.enabled || t < self.updated_at)
    }
}

fn subaccount(rng: &mut Rng, parent: &Account, name: String, created_at: Micros) -> SubAccount {
    let slug: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    let domain = parent
        .email
        .split_once('@')
        .map_or("example.com", |(_, d)| d)
        .to_string();
    SubAccount {
        id: (700_000 + rng.below(200_000)).to_string(),
        auth_id: format!("SA_{}", rng.string(8, UPPER)),
        auth_token: format!("SAT{}", rng.string(37, TOKEN)),
        api_id: rng.uuid(),
        email: format!("{slug}@{domain}"),
        phone: format!("+91{}{}", rng.pick(&["98", "99", "90", "80"]), rng.digits(8)),
        description: rng.chance(500).then(|| format!("{name} team")),
        permissions: if rng.chance(300) {
            None
        } else {
            Some((true, rng.chance(800)))
        },
        rate_limit: rng.pick(&[500, 1000, 1000, 2000]),
        enabled: true,
        created_at,
        updated_at: created_at,
        listed: true,
        calls: true,
        name,
    }
}

/// Give some customers subaccounts (see the module documentation).
pub(super) fn plant(ds: &mut Dataset) {
    let whale = ds.messy_account(Messy::Whale).map(|a| a.index);
    let mut eligible: Vec<u32> = ds
        .accounts
        .iter()
        .filter(|a| {
            a.index >= 8
                && Some(a.index) != whale
                && a.is_active
                && a.cdr_count >= 20
                && a.currency == "INR"
                && a.anomaly.is_none()
                && a.late.is_none()
                && a.messy.is_empty()
        })
        .map(|a| a.index)
        .collect();
    let mut rng = Rng::new(key(&[ds.spec.seed, 0x5AB5]));
    for k in (1..eligible.len()).rev() {
        let j = rng.below(k as u64 + 1) as usize;
        eligible.swap(k, j);
    }
    // At least the showcase, the reseller and one more, where there are enough customers.
    let n = eligible.len().div_ceil(6).max(eligible.len().min(3));
    let (ps, long_ago) = (ds.period_start, ds.window_start - 300 * DAY);
    for (rank, &i) in eligible.iter().take(n).enumerate() {
        let a = &ds.accounts[i as usize];
        let mut rng = Rng::new(key(&[ds.spec.seed, 0x5AB5, i as u64]));
        let created = |rng: &mut Rng| long_ago + rng.below(200) as i64 * DAY + rng.below(DAY as u64) as i64;
        let mut subs = Vec::new();
        match rank {
            0 => {
                // With hostile names, Sales is named like an attack too (customer text).
                let sales = if ds.spec.hostile_names {
                    HOSTILE_SUBACCOUNT_NAME
                } else {
                    "Sales"
                };
                for name in [sales, "Support"] {
                    let at = created(&mut rng);
                    subs.push(subaccount(&mut rng, a, name.into(), at));
                }
                let staging = ps + 11 * DAY + 9 * 3_600 * MICROS_PER_SEC;
                subs.push(subaccount(&mut rng, a, "Staging".into(), staging));
                let at = created(&mut rng);
                let mut legacy = subaccount(&mut rng, a, "Legacy".into(), at);
                (legacy.enabled, legacy.updated_at) = (false, ds.window_start - 20 * DAY);
                subs.push(legacy);
                let at = created(&mut rng);
                let mut ops = subaccount(&mut rng, a, "Operations".into(), at);
                (ops.enabled, ops.updated_at) = (false, ps + 17 * DAY + 14 * 3_600 * MICROS_PER_SEC);
                subs.push(ops);
                let at = created(&mut rng);
                let mut archive = subaccount(&mut rng, a, "Archive".into(), at);
                archive.calls = false;
                subs.push(archive);
            }
            1 if ds.spec.accounts >= 20 => {
                for t in 1..=RESELLER_SUBACCOUNTS {
                    // Tenants join over the year; one in ten has left (disabled).
                    let at = long_ago + rng.below(290) as i64 * DAY + rng.below(DAY as u64) as i64;
                    let mut s = subaccount(&mut rng, a, format!("Tenant {t:03}"), at);
                    if rng.chance(100) {
                        (s.enabled, s.updated_at) = (false, ds.window_start - rng.range(1, 30) as i64 * DAY);
                    }
                    subs.push(s);
                }
            }
            _ => {
                let k = rng.range(1, 4) as usize;
                let start = rng.below(DEPARTMENTS.len() as u64) as usize;
                for d in 0..k {
                    let at = created(&mut rng);
                    let name = DEPARTMENTS[(start + d) % DEPARTMENTS.len()].to_string();
                    subs.push(subaccount(&mut rng, a, name, at));
                }
            }
        }
        ds.accounts[i as usize].subaccounts = subs;
    }
    if ds.spec.messy {
        plant_contradictions(ds, &eligible[..n]);
    }
}

/// The first call of `a` starting in `[from, to)`, if any.
fn first_call_in(ds: &Dataset, a: &Account, from: Micros, to: Micros) -> Option<u32> {
    (0..a.cdr_count).find(|&i| {
        let t = super::activity::cdr_start(ds, a, i);
        t >= from && t < to
    })
}

fn plant_contradictions(ds: &mut Dataset, with_subaccounts: &[u32]) {
    // A call by Operations (the showcase's) after it was disabled.
    if let Some(&i) = with_subaccounts.first() {
        let a = &ds.accounts[i as usize];
        let ops = a.subaccounts.iter().position(|s| s.name == "Operations");
        if let Some(s) = ops
            && let Some(call) = first_call_in(ds, a, a.subaccounts[s].updated_at, ds.period_end)
        {
            let a = &mut ds.accounts[i as usize];
            a.subaccount_calls.push((call, s as u32));
            a.messy.push(Messy::DisabledSubaccountUsage);
        }
    }
    // A call by a subaccount deleted since: its id is in the CDR, not in the list.
    if let Some(&i) = with_subaccounts.get(2).or(with_subaccounts.get(1)) {
        let a = &ds.accounts[i as usize];
        let mut rng = Rng::new(key(&[ds.spec.seed, 0xDE1, i as u64]));
        let mut gone = subaccount(&mut rng, a, "Pilot".into(), ds.window_start - 90 * DAY);
        (gone.listed, gone.calls) = (false, false);
        if let Some(call) = first_call_in(ds, a, ds.period_start, ds.period_end) {
            let a = &mut ds.accounts[i as usize];
            a.subaccounts.push(gone);
            a.subaccount_calls.push((call, a.subaccounts.len() as u32 - 1));
            a.messy.push(Messy::UnknownSubaccount);
        }
    }
}

/// Which subaccount placed call `i` of `a` (started at `start`), if one did: a planted call's,
/// else a seeded draw among the parent and the subaccounts alive then that make calls.
pub fn caller_of(ds: &Dataset, a: &Account, i: u32, start: Micros) -> Option<u32> {
    if a.subaccounts.is_empty() {
        return None;
    }
    if let Some(&(_, s)) = a.subaccount_calls.iter().find(|(c, _)| *c == i) {
        return Some(s);
    }
    let alive = |s: &&SubAccount| s.listed && s.calls && s.alive(start);
    let n = a.subaccounts.iter().filter(alive).count() as u64;
    let mut rng = Rng::new(key(&[ds.spec.seed, 0x5AB6, a.index as u64, i as u64]));
    // The parent keeps a share of its own; the rest is spread evenly.
    let pick = rng.below(n + 1);
    (pick < n).then(|| {
        let (k, _) = a
            .subaccounts
            .iter()
            .enumerate()
            .filter(|(_, s)| alive(s))
            .nth(pick as usize)
            .expect("pick < n");
        k as u32
    })
}
