//! Assemble each customer's invoice for a period from the normalized tables.
//!
//! Lines: calls grouped by product (voice API, SIP trunking) and direction, with minutes and
//! the exact sum of call costs (non-connected-call fees included); media streaming; then the
//! period's other ledger charges by kind (number rental, setup, recordings, …). Each line is
//! rounded to the paisa before tax. Rows in another currency stay off the invoice (they are
//! reconciliation exceptions).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::tax::{self, LineTax, PlaceOfSupply, Recipient, Totals};
use super::words::amount_in_words;
use crate::layout::Layout;
use crate::model::document::DocumentKind;
use crate::model::ledger::moved;
use crate::model::money::round_paise;
use crate::model::place::{Registration, registration};
use crate::model::product::product_label;
use crate::model::tax::Treatment;
use crate::model::{LedgerKind, Period};
use crate::store::normalized::{AccountRow, CdrRow, SubaccountRow, TransactionRow};
use crate::store::read;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    pub auth_id: String,
    pub name: String,
    pub company: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip_code: Option<String>,
    pub country: Option<String>,
    pub gstin: Option<String>,
    pub email: Option<String>,
    /// The registration's status as the account gives it ("active", "inactive").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gst_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// What the line bills, stable across re-runs (its description carries counts): how a
    /// note finds the line it corrects.
    pub key: String,
    pub description: String,
    pub sac: String,
    pub quantity: Decimal,
    pub unit: String,
    /// Exact sum before rounding (sub-paisa precision from per-second rating).
    pub amount: Decimal,
    pub tax: LineTax,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Invoice {
    pub kind: DocumentKind,
    /// Not yet finalized: shown for review, no number, not a tax invoice.
    pub draft: bool,
    pub number: String,
    pub date: NaiveDate,
    /// The invoice a note corrects.
    pub cites: Option<Citation>,
    /// Why a note was issued.
    pub reason: Option<String>,
    /// The supplier's particulars as printed (set when the document is issued, so that the
    /// register's copy re-renders as issued whatever the config says later).
    #[serde(default)]
    pub supplier: Option<crate::config::SupplierConfig>,
    pub period: String,
    pub customer: Customer,
    pub b2b: bool,
    pub place_of_supply: PlaceOfSupply,
    pub treatment: Treatment,
    pub rate_percent: Decimal,
    pub lines: Vec<Line>,
    pub totals: Totals,
    pub amount_in_words: String,
    pub currency: String,
    /// The annexure of an invoice whose customer's subaccounts placed calls: the call lines
    /// split by who placed the calls (the customer's own calls first). Empty otherwise, and
    /// then not part of the document's content.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub usage_by_subaccount: Vec<SubaccountUsage>,
}

/// One row of the "usage by subaccount" annexure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubaccountUsage {
    /// `SA_…`; `None` for the calls the customer placed itself.
    pub subaccount: Option<String>,
    /// As the subaccount list names it; empty for a subaccount the list does not show.
    pub name: String,
    pub calls: i64,
    pub minutes: Decimal,
    /// The exact cost of its calls (net of refunds), before rounding.
    pub amount: Decimal,
    /// Its share of the call lines' taxable value: each line's rounded value apportioned by
    /// exact cost (largest remainder), so that the shares add up to the lines to the paisa.
    pub taxable: Decimal,
}

impl Customer {
    /// The name documents show: the company, unless it is blank, else the person's name.
    pub fn display_name(&self) -> &str {
        self.company
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| self.name.trim())
    }
}

/// The document a note corrects, as the note must name it (Rule 53(1A)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Citation {
    pub number: String,
    pub date: NaiveDate,
}

/// (product, direction) → (calls, billable seconds, cost).
pub type CallLines = BTreeMap<(String, String), (i64, i64, Decimal)>;

/// Billable usage of one customer in the period, before numbering.
#[derive(Debug, Default, Clone)]
pub struct Usage {
    /// (product, direction) → (calls, billable seconds, cost)
    pub calls: CallLines,
    pub streaming: (i64, Decimal),
    /// reference_type → (rows, amount)
    pub charges: BTreeMap<String, (i64, Decimal)>,
    /// The calls of [`Usage::calls`] by who placed them: subaccount (`None`: the customer
    /// itself) → (product, direction) → (calls, billable seconds, cost).
    pub by_subaccount: BTreeMap<Option<String>, CallLines>,
    /// Names of the customer's subaccounts as listed.
    pub subaccount_names: BTreeMap<String, String>,
    /// Why the supply cannot be known (a charge whose status nobody documented, a refund
    /// larger than what it reverses): no document is issued until it is.
    pub undecidable: Vec<String>,
}

/// Ledger kinds that are charges for calls (billed from the CDRs, not from the ledger).
const CALL_CHARGES: [&str; 3] = ["cdr", "stream_cdr", "ncc"];

fn charge_label(reference_type: &str) -> String {
    match reference_type {
        "did_rental" => "Phone number rental".into(),
        "did_purchase" => "Phone number setup".into(),
        "recording" => "Call recording".into(),
        "transcription" => "Transcription".into(),
        "manual_adjustment" => "Adjustments".into(),
        other => format!("Other charges ({other})"),
    }
}

pub fn customers(layout: &Layout, period: Period) -> anyhow::Result<Vec<Customer>> {
    Ok(read::all::<AccountRow>(layout, period)?
        .into_iter()
        .map(|a| Customer {
            auth_id: a.auth_id,
            name: a.name,
            company: a.company,
            address: a.address,
            city: a.city,
            state: a.state,
            zip_code: a.zip_code,
            country: a.country,
            gstin: a.gstin,
            email: a.email,
            gst_status: a.gst_status,
        })
        .collect())
}

/// Usage per account from the period's CDRs and ledger.
pub fn usage(layout: &Layout, period: Period, currency: &str) -> anyhow::Result<BTreeMap<String, Usage>> {
    let mut m: BTreeMap<String, Usage> = BTreeMap::new();
    // Only the columns billed from: the others of these wide tables are never decoded.
    let c = CdrRow::COL;
    let cdr_columns = [
        c.account_id,
        c.uuid,
        c.currency,
        c.context,
        c.call_direction,
        c.billsec,
        c.cost,
        c.streaming_cost,
        c.refunded,
        c.subaccount_id,
    ];
    for calls in read::partition_columns::<CdrRow>(layout, period, &cdr_columns)? {
        for c in calls? {
            if c.currency != currency {
                continue;
            }
            let u = m.entry(c.account_id.to_string()).or_default();
            let key = (
                product_label(c.context.as_deref().unwrap_or("")).to_string(),
                c.call_direction.to_string(),
            );
            // A refunded call is billed net of its refunds (they reverse its talk time).
            if c.refunded > c.cost {
                u.undecidable.push(format!(
                    "call {} was refunded {} but cost {}",
                    c.uuid, c.refunded, c.cost
                ));
            }
            for e in [
                u.calls.entry(key.clone()).or_default(),
                u.by_subaccount
                    .entry(c.subaccount_id.as_deref().map(str::to_owned))
                    .or_default()
                    .entry(key)
                    .or_default(),
            ] {
                e.0 += 1;
                e.1 += c.billsec as i64;
                e.2 += c.cost - c.refunded;
            }
            if !c.streaming_cost.is_zero() {
                u.streaming.0 += 1;
                u.streaming.1 += c.streaming_cost;
            }
        }
    }
    let t = TransactionRow::COL;
    let ledger_columns = [
        t.account_id,
        t.id,
        t.kind,
        t.reference_type,
        t.currency,
        t.amount,
        t.status,
        t.refunded,
    ];
    for ledger in read::partition_columns::<TransactionRow>(layout, period, &ledger_columns)? {
        for t in ledger? {
            let rt = t.reference_type.as_str();
            if t.kind != LedgerKind::Debit || CALL_CHARGES.contains(&rt) || t.currency != currency {
                continue;
            }
            let u = m.entry(t.account_id.to_string()).or_default();
            // Only a charge that was really taken is a supply billed; one whose status nobody
            // documented is neither billed nor dropped.
            match moved(t.status.as_deref()) {
                Some(true) => {}
                Some(false) => continue,
                None => {
                    u.undecidable.push(format!(
                        "charge {} has the status {:?}, so whether it was supplied is unknown",
                        t.id,
                        t.status.as_deref().unwrap_or_default()
                    ));
                    continue;
                }
            }
            if t.refunded > t.amount {
                u.undecidable.push(format!(
                    "charge {} was refunded {} but was {}",
                    t.id, t.refunded, t.amount
                ));
            }
            let e = u.charges.entry(rt.to_string()).or_default();
            e.0 += 1;
            e.1 += t.amount - t.refunded;
        }
    }
    for s in read::all::<SubaccountRow>(layout, period)? {
        if let Some(u) = m.get_mut(&s.account_id) {
            u.subaccount_names.insert(s.auth_id, s.name);
        }
    }
    Ok(m)
}

/// The annexure rows of `usage` (none when no subaccount placed a call), each call line's
/// taxable value (`round_paise` of its exact cost, as [`tax::line_tax`] rounds it)
/// apportioned over who placed its calls by the largest remainder.
fn usage_by_subaccount(usage: &Usage) -> Vec<SubaccountUsage> {
    if usage.by_subaccount.keys().all(Option::is_none) {
        return Vec::new();
    }
    let mut rows: Vec<SubaccountUsage> = usage
        .by_subaccount
        .iter()
        .map(|(sub, lines)| {
            let (calls, secs, amount) = lines
                .values()
                .fold((0, 0, Decimal::ZERO), |acc, v| (acc.0 + v.0, acc.1 + v.1, acc.2 + v.2));
            SubaccountUsage {
                subaccount: sub.clone(),
                name: sub
                    .as_ref()
                    .and_then(|s| usage.subaccount_names.get(s).cloned())
                    .unwrap_or_default(),
                calls,
                minutes: round_paise(Decimal::from(secs) / Decimal::from(60)),
                amount,
                taxable: Decimal::ZERO,
            }
        })
        .collect();
    for (key, (_, _, line_cost)) in &usage.calls {
        let parts: Vec<Decimal> = usage
            .by_subaccount
            .values()
            .map(|lines| lines.get(key).map_or(Decimal::ZERO, |v| v.2))
            .collect();
        for (row, share) in rows.iter_mut().zip(apportion(round_paise(*line_cost), &parts)) {
            row.taxable += share;
        }
    }
    rows
}

/// `total` split in proportion to the exact `parts` (which sum to it before rounding): each
/// part rounded half-up to the paisa, then the paise left over (or over-counted) given to the
/// parts whose rounding lost (or gained) the most, earlier parts first on ties.
pub fn apportion(total: Decimal, parts: &[Decimal]) -> Vec<Decimal> {
    let paisa = Decimal::new(1, 2);
    let mut shares: Vec<Decimal> = parts.iter().map(|p| round_paise(*p)).collect();
    let left = total - shares.iter().sum::<Decimal>();
    let lost = |i: usize| parts[i] - shares[i];
    let mut order: Vec<usize> = (0..parts.len()).collect();
    if left > Decimal::ZERO {
        order.sort_by(|&a, &b| lost(b).cmp(&lost(a)).then(a.cmp(&b)));
    } else {
        order.sort_by(|&a, &b| lost(a).cmp(&lost(b)).then(a.cmp(&b)));
    }
    let step = if left > Decimal::ZERO { paisa } else { -paisa };
    let paise = usize::try_from((left / paisa).round().abs().mantissa()).unwrap_or(usize::MAX);
    for i in order.into_iter().cycle().take(paise) {
        shares[i] += step;
    }
    shares
}

pub struct Terms<'a> {
    pub supplier_state: &'static crate::model::gstin::State,
    pub sac: &'a str,
    pub rate_percent: Decimal,
    pub currency: &'a str,
}

/// The invoice for one customer's usage (number and date given), supplied as an SEZ unit when
/// `sez` says how; an error when the customer's place of supply, registration or charges
/// cannot be determined.
pub fn invoice(
    number: String,
    date: NaiveDate,
    period: Period,
    customer: Customer,
    usage: &Usage,
    sez: Option<Treatment>,
    terms: &Terms,
) -> anyhow::Result<Invoice> {
    // An inactive registration is no registration: B2C. A status nobody knows decides
    // nothing by default.
    let gstin = match registration(customer.gst_status.as_deref()) {
        Registration::Active => customer.gstin.as_deref(),
        Registration::Inactive => None,
        Registration::Unknown(status) => anyhow::bail!(
            "account {}: gst_status {status:?} is neither active nor inactive, so whether it is a registered (B2B) recipient is unknown (see the reconciliation's unknown_gst_status)",
            customer.auth_id
        ),
    };
    let recipient = Recipient::classify(
        gstin,
        customer.country.as_deref(),
        customer.state.as_deref(),
        customer.zip_code.as_deref(),
    );
    // The GSTIN as documents print it: canonical (upper case, no spaces), once validated.
    let mut customer = customer;
    if let Recipient::Registered(g) = &recipient {
        customer.gstin = Some(g.to_string());
    }
    let Some(pos) = tax::place_of_supply(terms.supplier_state, &recipient) else {
        anyhow::bail!(
            "account {}: its address's state {:?} names no state or union territory, so the place of supply is unknown (see the reconciliation's unknown_state)",
            customer.auth_id,
            customer.state.as_deref().unwrap_or_default()
        );
    };
    let treatment = match sez {
        // An SEZ unit is always registered: without a valid GSTIN the configuration and the
        // account disagree, and neither is guessed right.
        Some(_) if !recipient.is_b2b() => anyhow::bail!(
            "account {} is configured as an SEZ customer but has no valid active GSTIN (see the reconciliation's sez)",
            customer.auth_id
        ),
        Some(sez) => sez,
        None => tax::treatment(terms.supplier_state, &pos),
    };
    anyhow::ensure!(
        usage.undecidable.is_empty(),
        "account {}: {} (see the reconciliation's unknown_ledger_status / refund_exceeds_charge)",
        customer.auth_id,
        usage.undecidable.join("; ")
    );
    let mut lines = Vec::new();
    let mut line = |key: String, description: String, quantity: Decimal, unit: &str, amount: Decimal| {
        lines.push(Line {
            key,
            description,
            sac: terms.sac.to_string(),
            quantity,
            unit: unit.to_string(),
            amount,
            tax: tax::line_tax(amount, terms.rate_percent, treatment),
        })
    };
    for ((product, direction), (calls, secs, cost)) in &usage.calls {
        let minutes = round_paise(Decimal::from(*secs) / Decimal::from(60));
        line(
            format!("calls/{product}/{direction}"),
            format!("{product}: {direction} calls ({calls} calls)"),
            minutes,
            "MIN",
            *cost,
        );
    }
    if usage.streaming.0 > 0 {
        line(
            "streaming".to_string(),
            format!("Media streaming ({} sessions)", usage.streaming.0),
            Decimal::from(usage.streaming.0),
            "NOS",
            usage.streaming.1,
        );
    }
    for (rt, (n, amount)) in &usage.charges {
        line(
            format!("charge/{rt}"),
            charge_label(rt),
            Decimal::from(*n),
            "NOS",
            *amount,
        );
    }
    let totals = tax::totals(lines.iter().map(|l| &l.tax));
    let usage_by_subaccount = usage_by_subaccount(usage);
    Ok(Invoice {
        kind: DocumentKind::Invoice,
        draft: false,
        number,
        date,
        cites: None,
        reason: None,
        supplier: None,
        period: period.to_string(),
        b2b: recipient.is_b2b(),
        customer,
        place_of_supply: pos,
        treatment,
        rate_percent: terms.rate_percent,
        amount_in_words: amount_in_words(totals.total),
        totals,
        lines,
        currency: terms.currency.to_string(),
        usage_by_subaccount,
    })
}

/// An empty document of `kind` for `account`'s `period`, dated `date`, to a B2C customer in
/// Karnataka at 18% (tests fill in the lines they need).
#[cfg(test)]
pub(crate) fn test_document(kind: DocumentKind, account: &str, period: &str, date: NaiveDate) -> Invoice {
    Invoice {
        kind,
        draft: false,
        number: String::new(),
        date,
        cites: None,
        reason: None,
        supplier: None,
        period: period.into(),
        customer: Customer {
            auth_id: account.into(),
            name: "A".into(),
            company: None,
            address: None,
            city: None,
            state: None,
            zip_code: None,
            country: None,
            gstin: None,
            email: None,
            gst_status: None,
        },
        b2b: false,
        place_of_supply: PlaceOfSupply {
            code: 29,
            name: "Karnataka".into(),
        },
        treatment: Treatment::IntraState,
        rate_percent: Decimal::from(18),
        lines: Vec::new(),
        totals: Default::default(),
        amount_in_words: String::new(),
        currency: "INR".into(),
        usage_by_subaccount: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Shares add up to the rounded total whatever the parts; each is its part rounded
        /// half-up, give or take one paisa (computed here with integers, not the code above).
        #[test]
        fn apportioned_shares_add_up_to_the_rounded_total(parts in prop::collection::vec(0i64..5_000_000, 1..12)) {
            // Parts in ten-thousandths of a rupee (per-second rating gives four places).
            let exact: Vec<Decimal> = parts.iter().map(|&p| Decimal::new(p, 4)).collect();
            let sum: i64 = parts.iter().sum();
            // Half-up to the paisa: 100 ten-thousandths.
            let total_paise = (sum + 50) / 100;
            let total = Decimal::new(total_paise, 2);
            let shares = apportion(total, &exact);
            prop_assert_eq!(shares.iter().sum::<Decimal>(), total);
            for (p, s) in parts.iter().zip(&shares) {
                let rounded = Decimal::new((p + 50) / 100, 2);
                prop_assert!((s - rounded).abs() <= Decimal::new(1, 2), "{} vs {}", s, rounded);
            }
        }
    }

    #[test]
    fn three_thirds_of_a_rupee_share_the_odd_paisa() {
        let third = Decimal::new(33_333, 5);
        let shares = apportion(Decimal::ONE, &[third, third, third + Decimal::new(1, 5)]);
        assert_eq!(shares.iter().sum::<Decimal>(), Decimal::ONE);
        assert_eq!(shares, [Decimal::new(33, 2), Decimal::new(33, 2), Decimal::new(34, 2)]);
    }

    #[test]
    fn documents_show_the_company_unless_blank_and_the_canonical_gstin() {
        let mut c = test_document(DocumentKind::Invoice, "MA_A", "2026-03", "2026-03-31".parse().unwrap()).customer;
        c.name = " Asha Rao ".into();
        c.company = Some("  ".into());
        assert_eq!(c.display_name(), "Asha Rao");
        c.company = Some("Rao Logistics".into());
        assert_eq!(c.display_name(), "Rao Logistics");
        c.gstin = Some("27 aapfu 0939 f1zv".into());
        c.state = Some("Maharashtra".into());
        let terms = Terms {
            supplier_state: crate::model::gstin::state_by_code(29).unwrap(),
            sac: "998412",
            rate_percent: Decimal::from(18),
            currency: "INR",
        };
        let mut usage = Usage::default();
        usage.charges.insert("did_rental".into(), (1, Decimal::from(300)));
        let inv = invoice(
            String::new(),
            "2026-03-31".parse().unwrap(),
            "2026-03".parse().unwrap(),
            c,
            &usage,
            None,
            &terms,
        )
        .unwrap();
        assert!(inv.b2b);
        assert_eq!(inv.customer.gstin.as_deref(), Some("27AAPFU0939F1ZV"));
        assert_eq!(inv.treatment, Treatment::InterState);
        // An inactive registration is invoiced as unregistered; a status nobody knows, not at all.
        let mut inactive = inv.customer.clone();
        inactive.gst_status = Some("Inactive".into());
        let b2c = invoice(
            String::new(),
            "2026-03-31".parse().unwrap(),
            "2026-03".parse().unwrap(),
            inactive.clone(),
            &usage,
            None,
            &terms,
        )
        .unwrap();
        assert!(!b2c.b2b);
        inactive.gst_status = Some("suspended".into());
        let err = invoice(
            String::new(),
            "2026-03-31".parse().unwrap(),
            "2026-03".parse().unwrap(),
            inactive,
            &usage,
            None,
            &terms,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("\"suspended\" is neither active nor inactive"),
            "{err}"
        );
    }
}
