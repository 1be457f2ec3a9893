//! Credit and debit notes: what brings the value billed for one account's month (its invoice
//! plus the notes already issued against it) to the value due now that the upstream data
//! changed. Pure functions; numbering and files are the caller's.
//!
//! The comparison is per line (a line's `key`: product and direction, streaming, a kind of
//! charge) and per tax head, at the invoice's place of supply, treatment and rate. A line
//! whose value fell goes on a credit note, one whose value rose on a debit note; each head of
//! a note line is the difference of the rounded heads (never re-rounded), so the invoice plus
//! its notes equals the recomputed month to the paisa, head by head.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::build::{Citation, Invoice, Line};
use super::tax::{self, LineTax};
use super::words::amount_in_words;
use crate::model::document::DocumentKind;

/// The value billed so far on one line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Billed {
    pub description: String,
    pub sac: String,
    pub unit: String,
    pub quantity: Decimal,
    pub tax: LineTax,
}

fn add(a: &mut LineTax, b: &LineTax, sign: Decimal) {
    a.taxable += sign * b.taxable;
    a.cgst += sign * b.cgst;
    a.sgst += sign * b.sgst;
    a.igst += sign * b.igst;
}

/// Per line key, what `documents` (one account's invoice and its notes) billed in all.
pub fn billed<'a>(documents: impl IntoIterator<Item = &'a Invoice>) -> BTreeMap<String, Billed> {
    let mut m: BTreeMap<String, Billed> = BTreeMap::new();
    for d in documents {
        let sign = d.kind.sign();
        for l in &d.lines {
            let b = m.entry(l.key.clone()).or_insert_with(|| Billed {
                description: l.description.clone(),
                sac: l.sac.clone(),
                unit: l.unit.clone(),
                ..Default::default()
            });
            b.quantity += sign * l.quantity;
            add(&mut b.tax, &l.tax, sign);
        }
    }
    m
}

/// The notes (at most one credit note and one debit note) that bring `billed` to `due`, the
/// month recomputed at the invoice's terms (no lines: nothing is due any more). The notes are
/// unnumbered, dated `date`, and cite `invoice`.
pub fn notes(invoice: &Invoice, billed: &BTreeMap<String, Billed>, due: &Invoice, date: NaiveDate) -> Vec<Invoice> {
    let due_lines: BTreeMap<&str, &Line> = due.lines.iter().map(|l| (l.key.as_str(), l)).collect();
    let mut keys: Vec<&str> = billed.keys().map(String::as_str).collect();
    keys.extend(due_lines.keys().copied().filter(|k| !billed.contains_key(*k)));
    keys.sort_unstable();
    let (mut credit, mut debit) = (Vec::new(), Vec::new());
    for key in keys {
        let was = billed.get(key).cloned().unwrap_or_default();
        let now = due_lines.get(key);
        let mut delta = now.map(|l| l.tax).unwrap_or_default();
        add(&mut delta, &was.tax, Decimal::NEGATIVE_ONE);
        let quantity = now.map_or(Decimal::ZERO, |l| l.quantity) - was.quantity;
        // Every head follows the taxable value's sign (the same rate, rounded per line); the
        // total decides only if the taxable value is unchanged.
        let direction = if delta.taxable.is_zero() {
            delta.tax()
        } else {
            delta.taxable
        };
        if direction.is_zero() {
            continue;
        }
        let (sink, sign) = if direction < Decimal::ZERO {
            (&mut credit, Decimal::NEGATIVE_ONE)
        } else {
            (&mut debit, Decimal::ONE)
        };
        let mut tax = LineTax::default();
        add(&mut tax, &delta, sign);
        sink.push(Line {
            key: key.to_string(),
            // As the invoice named it (the recomputed line's counts may have moved).
            description: if was.description.is_empty() {
                now.map_or(String::new(), |l| l.description.clone())
            } else {
                was.description.clone()
            },
            sac: now.map_or(was.sac.clone(), |l| l.sac.clone()),
            quantity: (sign * quantity).max(Decimal::ZERO),
            unit: now.map_or(was.unit.clone(), |l| l.unit.clone()),
            amount: tax.taxable,
            tax,
        });
    }
    let nothing_due = due.totals.total.is_zero();
    let mut out = Vec::new();
    for (kind, lines) in [(DocumentKind::CreditNote, credit), (DocumentKind::DebitNote, debit)] {
        if lines.is_empty() {
            continue;
        }
        let reason = match kind {
            DocumentKind::CreditNote if nothing_due => {
                "The account's charges for the period were reversed after the invoice was issued"
            }
            DocumentKind::CreditNote => "Charges lowered after the invoice was issued (refund or re-rating)",
            _ => "Charges found or raised after the invoice was issued (late calls or re-rating)",
        };
        let totals = tax::totals(lines.iter().map(|l| &l.tax));
        out.push(Invoice {
            kind,
            draft: false,
            number: String::new(),
            date,
            cites: Some(Citation {
                number: invoice.number.clone(),
                date: invoice.date,
            }),
            reason: Some(reason.to_string()),
            supplier: invoice.supplier.clone(),
            period: invoice.period.clone(),
            customer: invoice.customer.clone(),
            b2b: invoice.b2b,
            place_of_supply: invoice.place_of_supply.clone(),
            treatment: invoice.treatment,
            rate_percent: invoice.rate_percent,
            usage_by_subaccount: Vec::new(),
            amount_in_words: amount_in_words(totals.total),
            totals,
            lines,
            currency: invoice.currency.clone(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rust_decimal::{Decimal, RoundingStrategy};

    use super::*;
    use crate::invoice::build::test_document;
    use crate::invoice::register::{Prefixes, Register};
    use crate::layout::Layout;
    use crate::model::tax::Treatment;

    const KEYS: [&str; 4] = [
        "calls/Voice API/outbound",
        "calls/SIP trunking/inbound",
        "streaming",
        "charge/did_rental",
    ];

    fn paise(d: Decimal) -> Decimal {
        d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
    }

    /// Heads of one line, written here from the rule (line rounded to the paisa, each head
    /// rounded half-up on its own), not through the tax module.
    fn heads(amount: Decimal, t: Treatment) -> LineTax {
        let taxable = paise(amount);
        match t {
            Treatment::IntraState | Treatment::IntraUnionTerritory => {
                let half = paise(taxable * Decimal::new(9, 2));
                LineTax {
                    taxable,
                    cgst: half,
                    sgst: half,
                    igst: Decimal::ZERO,
                }
            }
            Treatment::InterState | Treatment::SezWithPayment => LineTax {
                taxable,
                igst: paise(taxable * Decimal::new(18, 2)),
                ..Default::default()
            },
            Treatment::ExportUnderLut | Treatment::SezUnderLut => LineTax {
                taxable,
                ..Default::default()
            },
        }
    }

    /// The month as the upstream data says it now: `amounts[k]` (in thousandths of a rupee,
    /// 0 = no such line) on line `KEYS[k]`.
    fn month(amounts: &[i64], t: Treatment) -> Invoice {
        let lines: Vec<Line> = amounts
            .iter()
            .zip(KEYS)
            .filter(|(a, _)| **a > 0)
            .map(|(a, key)| {
                let amount = Decimal::new(*a, 3);
                Line {
                    key: key.to_string(),
                    description: key.to_string(),
                    sac: "998412".into(),
                    quantity: Decimal::ONE,
                    unit: "NOS".into(),
                    amount,
                    tax: heads(amount, t),
                }
            })
            .collect();
        let mut doc = test_document(
            DocumentKind::Invoice,
            "MA_PROPTEST",
            "2026-03",
            "2026-03-31".parse().unwrap(),
        );
        doc.treatment = t;
        doc.totals = tax::totals(lines.iter().map(|l| &l.tax));
        doc.lines = lines;
        doc
    }

    fn treatment() -> impl Strategy<Value = Treatment> {
        prop_oneof![
            Just(Treatment::IntraState),
            Just(Treatment::InterState),
            Just(Treatment::ExportUnderLut)
        ]
    }

    fn amounts() -> impl Strategy<Value = Vec<i64>> {
        // Zero often, so lines appear and vanish; otherwise up to ₹10,000 with sub-paisa parts.
        prop::collection::vec(prop_oneof![Just(0i64), 1i64..10_000_000], KEYS.len())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Finalize a month, then re-run it after each of a random sequence of upstream
        /// changes (some re-runs see no change): the invoice never changes; after every re-run
        /// the invoice plus its notes equals the month as it now stands, line by line and head
        /// by head; numbers stay consecutive per series with no gap, in date order; a re-run
        /// that sees no change issues nothing.
        #[test]
        fn notes_keep_every_invariant_over_random_changes(
            t in treatment(),
            first in amounts(),
            changes in prop::collection::vec((amounts(), any::<bool>(), 0u64..4), 1..8),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let layout = Layout::new(dir.path());
            let prefixes = Prefixes { invoice: "INV".into(), credit_note: "CN".into(), debit_note: "DN".into() };
            let first = month(&first, t);
            prop_assume!(first.totals.taxable > Decimal::ZERO);
            let mut r = Register::open(&layout, "29AAHCD4821K1ZE", &prefixes).unwrap();
            let invoice = r.issue(first).unwrap().clone();
            r.save().unwrap();
            drop(r);
            let mut today: NaiveDate = "2026-04-02".parse().unwrap();
            let mut now = invoice.content.clone();
            for (amounts, changed, days) in changes {
                if changed {
                    now = month(&amounts, t);
                }
                today = today + chrono::Days::new(days);
                let mut r = Register::open(&layout, "29AAHCD4821K1ZE", &prefixes).unwrap();
                let docs: Vec<Invoice> = r.documents().map(|e| e.content.clone()).collect();
                let billed_so_far = billed(docs.iter());
                let before = r.documents().count();
                for note in notes(&invoice.content, &billed_so_far, &now, today) {
                    r.issue(note).unwrap();
                }
                let issued_now = r.documents().count() - before;
                // The invoice as issued, untouched.
                let first_entry = r.documents().find(|e| e.kind == DocumentKind::Invoice).unwrap();
                prop_assert_eq!(first_entry, &invoice);
                // Invoice + notes = the month now, per line and per head.
                let all: Vec<Invoice> = r.documents().map(|e| e.content.clone()).collect();
                let mut sums: BTreeMap<String, LineTax> = BTreeMap::new();
                for d in &all {
                    let sign = if d.kind == DocumentKind::CreditNote { Decimal::NEGATIVE_ONE } else { Decimal::ONE };
                    for l in &d.lines {
                        let s = sums.entry(l.key.clone()).or_default();
                        s.taxable += sign * l.tax.taxable;
                        s.cgst += sign * l.tax.cgst;
                        s.sgst += sign * l.tax.sgst;
                        s.igst += sign * l.tax.igst;
                    }
                }
                for key in KEYS {
                    let want = now.lines.iter().find(|l| l.key == key).map(|l| l.tax).unwrap_or_default();
                    prop_assert_eq!(sums.get(key).copied().unwrap_or_default(), want, "line {}", key);
                }
                // Consecutive per series, from 1, no gap, dates never going back.
                for kind in [DocumentKind::CreditNote, DocumentKind::DebitNote] {
                    let mut series: Vec<(u64, NaiveDate)> = r
                        .documents()
                        .filter(|e| e.kind == kind)
                        .map(|e| (e.number.rsplit('/').next().unwrap().parse().unwrap(), e.date))
                        .collect();
                    series.sort();
                    let n: Vec<u64> = series.iter().map(|s| s.0).collect();
                    prop_assert_eq!(n, (1..=series.len() as u64).collect::<Vec<_>>());
                    prop_assert!(series.windows(2).all(|w| w[0].1 <= w[1].1));
                    prop_assert!(r.documents().filter(|e| e.kind == kind).all(|e| e.cites.as_ref().map(|c| &c.number) == Some(&invoice.number)));
                }
                // A note never carries a zero or negative value.
                prop_assert!(r.documents().all(|e| e.totals.taxable > Decimal::ZERO || e.totals.total > Decimal::ZERO));
                if !changed {
                    prop_assert_eq!(issued_now, 0, "an unchanged re-run issued notes");
                }
                r.save().unwrap();
            }
        }
    }
}
