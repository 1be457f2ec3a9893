//! Place of supply and the GST split (shared/reference/gst-invoicing.md §2).
//!
//! - Place of supply for telecom "any other case" (IGST Act s.12(11)(d)): a registered
//!   customer's GSTIN state; an unregistered customer's address state; else the supplier's
//!   state; a customer abroad is an export ("96 Other Countries").
//! - Same state as the supplier: CGST + SGST (UTGST in UTs without a legislature), each
//!   computed separately as round(taxable × rate/2), so the halves are always equal.
//!   Different state: IGST = round(taxable × rate). Export under LUT: zero-rated.
//! - Taxable values are rounded to the paisa per line before tax; rounding is half-up.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::model::Gstin;
use crate::model::gstin::{State, state_by_code};
use crate::model::money::round_paise;
use crate::model::place::{self, AddressState};
use crate::model::tax::Treatment;

/// The place-of-supply code of exports in e-invoices and GSTR-1.
pub const EXPORT_POS_CODE: u8 = 96;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// A valid GSTIN (B2B).
    Registered(Gstin),
    /// In India without a (valid) GSTIN (B2C); the address state, if known.
    Unregistered { state: Option<&'static State> },
    /// Outside India.
    Overseas { country: String },
    /// In India without a (valid) GSTIN, at an address whose state names no state or union
    /// territory: the place of supply cannot be determined, and is never guessed.
    UnknownState { text: String },
}

impl Recipient {
    /// Classify a customer from its account fields. An invalid GSTIN never makes a B2B
    /// recipient; the customer is treated as unregistered at its address.
    pub fn classify(gstin: Option<&str>, country: Option<&str>, state: Option<&str>, zip: Option<&str>) -> Self {
        if !place::in_india(country) {
            return Recipient::Overseas {
                country: country.unwrap_or_default().trim().to_uppercase(),
            };
        }
        match gstin.map(Gstin::parse) {
            Some(Ok(g)) => Recipient::Registered(g),
            _ => match place::address_state(state, zip) {
                AddressState::Unknown(text) => Recipient::UnknownState { text: text.to_string() },
                known => Recipient::Unregistered { state: known.state() },
            },
        }
    }

    pub fn is_b2b(&self) -> bool {
        matches!(self, Recipient::Registered(_))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceOfSupply {
    pub code: u8,
    pub name: String,
}

/// The place of supply (IGST Act s.12(2)): the GSTIN's state, else the address's, else the
/// supplier's; abroad, an export. `None` when the address names a state nobody knows.
pub fn place_of_supply(supplier_state: &'static State, recipient: &Recipient) -> Option<PlaceOfSupply> {
    let state = match recipient {
        Recipient::Overseas { .. } => {
            return Some(PlaceOfSupply {
                code: EXPORT_POS_CODE,
                name: "Other Countries".into(),
            });
        }
        Recipient::Registered(g) => g.state(),
        Recipient::Unregistered { state } => state.unwrap_or(supplier_state),
        Recipient::UnknownState { .. } => return None,
    };
    Some(PlaceOfSupply {
        code: state.code,
        name: state.name.to_string(),
    })
}

pub fn treatment(supplier_state: &'static State, pos: &PlaceOfSupply) -> Treatment {
    if pos.code == EXPORT_POS_CODE {
        Treatment::ExportUnderLut
    } else if pos.code == supplier_state.code {
        if state_by_code(pos.code).is_some_and(|s| s.utgst) {
            Treatment::IntraUnionTerritory
        } else {
            Treatment::IntraState
        }
    } else {
        Treatment::InterState
    }
}

/// Taxes of one invoice line. `sgst` holds UTGST for union territories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LineTax {
    pub taxable: Decimal,
    pub cgst: Decimal,
    pub sgst: Decimal,
    pub igst: Decimal,
}

impl LineTax {
    pub fn tax(&self) -> Decimal {
        self.cgst + self.sgst + self.igst
    }
}

/// Tax on `amount` at `rate_percent` (e.g. 18): the amount is rounded to the paisa first, and
/// each tax is rounded half-up on its own.
pub fn line_tax(amount: Decimal, rate_percent: Decimal, t: Treatment) -> LineTax {
    let taxable = round_paise(amount);
    let pct = |r: Decimal| round_paise(taxable * r / Decimal::from(100));
    match t {
        Treatment::IntraState | Treatment::IntraUnionTerritory => {
            let half = pct(rate_percent / Decimal::from(2));
            LineTax {
                taxable,
                cgst: half,
                sgst: half,
                igst: Decimal::ZERO,
            }
        }
        Treatment::InterState => LineTax {
            taxable,
            igst: pct(rate_percent),
            ..Default::default()
        },
        Treatment::SezWithPayment => LineTax {
            taxable,
            igst: pct(rate_percent),
            ..Default::default()
        },
        Treatment::ExportUnderLut | Treatment::SezUnderLut => LineTax {
            taxable,
            ..Default::default()
        },
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Totals {
    pub taxable: Decimal,
    pub cgst: Decimal,
    pub sgst: Decimal,
    pub igst: Decimal,
    pub tax: Decimal,
    pub total: Decimal,
}

/// Invoice totals: the sums of the lines (taxes are rounded per line, never re-rounded).
pub fn totals<'a>(lines: impl IntoIterator<Item = &'a LineTax>) -> Totals {
    let mut t = Totals::default();
    for l in lines {
        t.taxable += l.taxable;
        t.cgst += l.cgst;
        t.sgst += l.sgst;
        t.igst += l.igst;
    }
    t.tax = t.cgst + t.sgst + t.igst;
    t.total = t.taxable + t.tax;
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::dec;

    fn karnataka() -> &'static State {
        state_by_code(29).unwrap()
    }

    #[test]
    fn place_of_supply_follows_the_rules() {
        let reg = Recipient::classify(Some("27AAPFU0939F1ZV"), Some("IN"), Some("Karnataka"), None);
        assert_eq!(
            place_of_supply(karnataka(), &reg).unwrap().code,
            27,
            "GSTIN state wins over the address"
        );
        let b2c = Recipient::classify(None, Some("IN"), Some("Tamil Nadu"), None);
        assert_eq!(place_of_supply(karnataka(), &b2c).unwrap().code, 33);
        let unknown = Recipient::classify(None, None, None, None);
        assert_eq!(
            place_of_supply(karnataka(), &unknown).unwrap().code,
            29,
            "no address: supplier state"
        );
        // A state however written; one nobody knows is never given a place of supply.
        let tn = Recipient::classify(None, Some("in"), Some("Tamilnadu"), None);
        assert_eq!(place_of_supply(karnataka(), &tn).unwrap().code, 33);
        let unknown_state = Recipient::classify(None, None, Some("Karnatka"), None);
        assert_eq!(
            unknown_state,
            Recipient::UnknownState {
                text: "Karnatka".into()
            }
        );
        assert_eq!(place_of_supply(karnataka(), &unknown_state), None);
        let bad = Recipient::classify(Some("29AAPFU0939F1ZV"), Some("IN"), Some("Goa"), None);
        assert!(!bad.is_b2b(), "an invalid GSTIN is never B2B");
        assert_eq!(place_of_supply(karnataka(), &bad).unwrap().code, 30);
        let abroad = Recipient::classify(None, Some("US"), Some("California"), None);
        let pos = place_of_supply(karnataka(), &abroad).unwrap();
        assert_eq!(
            (pos.code, treatment(karnataka(), &pos)),
            (96, Treatment::ExportUnderLut)
        );
        let chandigarh = state_by_code(4).unwrap();
        let body = "04AAGCG6253J1Z";
        let gstin = format!("{body}{}", crate::model::gstin::check_char(body).unwrap());
        let ut = Recipient::classify(Some(&gstin), Some("IN"), None, None);
        assert!(ut.is_b2b());
        assert_eq!(
            treatment(chandigarh, &place_of_supply(chandigarh, &ut).unwrap()),
            Treatment::IntraUnionTerritory
        );
        assert_eq!(
            treatment(karnataka(), &place_of_supply(karnataka(), &ut).unwrap()),
            Treatment::InterState
        );
    }

    #[test]
    fn halves_are_computed_separately_and_rounded_half_up() {
        // 0.25 × 9% = 0.0225 → 0.02 each; 18% of 0.25 = 0.045 → IGST 0.05 (not 2 × 0.02).
        assert_eq!(
            line_tax(dec!(0.25), dec!(18), Treatment::IntraState),
            LineTax {
                taxable: dec!(0.25),
                cgst: dec!(0.02),
                sgst: dec!(0.02),
                igst: dec!(0)
            }
        );
        assert_eq!(line_tax(dec!(0.25), dec!(18), Treatment::InterState).igst, dec!(0.05));
        assert_eq!(
            line_tax(dec!(0.5), dec!(18), Treatment::IntraState).cgst,
            dec!(0.05),
            "0.045 rounds up"
        );
        assert_eq!(
            line_tax(dec!(100.005), dec!(18), Treatment::InterState).taxable,
            dec!(100.01)
        );
        assert_eq!(line_tax(dec!(1000), dec!(18), Treatment::ExportUnderLut).tax(), dec!(0));
    }

    fn amount() -> impl Strategy<Value = Decimal> {
        (0i64..10_000_000_000).prop_map(|u| Decimal::new(u, 5))
    }

    proptest! {
        #[test]
        fn invoice_maths_hold(lines in prop::collection::vec(amount(), 1..20), t in prop::sample::select(Treatment::ALL.to_vec())) {
            let taxes: Vec<LineTax> = lines.iter().map(|a| line_tax(*a, dec!(18), t)).collect();
            for (a, l) in lines.iter().zip(&taxes) {
                prop_assert_eq!(l.taxable, round_paise(*a));
                prop_assert_eq!(l.cgst, l.sgst, "CGST = SGST/UTGST");
                prop_assert!(l.tax().scale() <= 2 && l.taxable.scale() <= 2);
                match t {
                    Treatment::IntraState | Treatment::IntraUnionTerritory => prop_assert_eq!(l.cgst, round_paise(l.taxable * dec!(0.09))),
                    Treatment::InterState | Treatment::SezWithPayment => prop_assert_eq!(l.igst, round_paise(l.taxable * dec!(0.18))),
                    Treatment::ExportUnderLut | Treatment::SezUnderLut => prop_assert_eq!(l.tax(), Decimal::ZERO),
                }
            }
            let tot = totals(&taxes);
            prop_assert_eq!(tot.cgst, taxes.iter().map(|l| l.cgst).sum::<Decimal>());
            prop_assert_eq!(tot.sgst, taxes.iter().map(|l| l.sgst).sum::<Decimal>());
            prop_assert_eq!(tot.igst, taxes.iter().map(|l| l.igst).sum::<Decimal>());
            prop_assert_eq!(tot.tax, tot.cgst + tot.sgst + tot.igst);
            prop_assert_eq!(tot.total, tot.taxable + tot.tax);
            prop_assert_eq!(tot.cgst, tot.sgst);
        }
    }
}
