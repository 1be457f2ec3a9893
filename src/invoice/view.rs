//! The invoice as a document: every Rule 46 particular, amounts pre-formatted, shared by the
//! HTML (Tera) and PDF (typst) templates so both show the same figures.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use super::build::Invoice;
use crate::config::SupplierConfig;
use crate::model::Gstin;
use crate::model::document::DocumentKind;
use crate::model::money::indian;
use crate::model::place::{self, StateText};
use crate::model::tax::Treatment;

#[derive(Serialize)]
pub struct View<'a> {
    /// "Tax Invoice", "Credit Note" or "Debit Note".
    title: &'static str,
    /// The same in Hindi, as printed under the title.
    title_hi: &'static str,
    /// A draft for review: marked "DRAFT — not a tax invoice", no number.
    draft: bool,
    number: &'a str,
    date: String,
    /// The invoice a note corrects: "<number> dated <date>".
    cites: Option<CitationView<'a>>,
    reason: Option<&'a str>,
    period: &'a str,
    place_of_supply: String,
    supplier: SupplierView<'a>,
    recipient: RecipientView<'a>,
    endorsement: Option<&'static str>,
    tax_heads: Vec<String>,
    lines: Vec<LineView>,
    totals: TotalsView,
    words: &'a str,
    currency: &'a str,
    sac_summary: Vec<SacView>,
    /// "Usage by subaccount": empty when no subaccount placed a call.
    annexure: Vec<AnnexureRow>,
    /// Its totals: the call lines' taxable value, and which lines those are.
    annexure_total: Option<AnnexureTotal>,
}

#[derive(Serialize)]
struct AnnexureRow {
    who: String,
    account: String,
    calls: String,
    minutes: String,
    taxable: String,
}

#[derive(Serialize)]
struct AnnexureTotal {
    calls: String,
    taxable: String,
    lines: String,
}

#[derive(Serialize)]
struct CitationView<'a> {
    number: &'a str,
    date: String,
}

#[derive(Serialize)]
struct SupplierView<'a> {
    legal_name: &'a str,
    trade_name: Option<&'a str>,
    address: &'a [String],
    gstin: &'a str,
    state: String,
    email: Option<&'a str>,
    phone: Option<&'a str>,
}

#[derive(Serialize)]
struct RecipientView<'a> {
    name: &'a str,
    address: Vec<String>,
    gstin: Option<&'a str>,
    state: Option<String>,
    country: Option<&'a str>,
    account: &'a str,
}

#[derive(Serialize)]
struct LineView {
    no: usize,
    description: String,
    sac: String,
    quantity: String,
    unit: String,
    taxable: String,
    taxes: Vec<String>,
    total: String,
}

#[derive(Serialize)]
struct TotalsView {
    taxable: String,
    taxes: Vec<String>,
    total: String,
}

#[derive(Serialize)]
struct SacView {
    sac: String,
    taxable: String,
    taxes: Vec<String>,
    tax: String,
}

pub const EXPORT_ENDORSEMENT: &str =
    "SUPPLY MEANT FOR EXPORT UNDER BOND OR LETTER OF UNDERTAKING WITHOUT PAYMENT OF INTEGRATED TAX";
/// Rule 46(1)(p) endorsements for supplies to an SEZ unit or developer.
pub const SEZ_WITH_PAYMENT_ENDORSEMENT: &str =
    "SUPPLY MEANT FOR SUPPLY TO SEZ UNIT OR SEZ DEVELOPER FOR AUTHORISED OPERATIONS ON PAYMENT OF INTEGRATED TAX";
pub const SEZ_UNDER_LUT_ENDORSEMENT: &str = "SUPPLY MEANT FOR SUPPLY TO SEZ UNIT OR SEZ DEVELOPER FOR AUTHORISED OPERATIONS UNDER BOND OR LETTER OF UNDERTAKING WITHOUT PAYMENT OF INTEGRATED TAX";

/// The endorsement a zero-rated or SEZ supply must carry, if any.
fn endorsement(t: Treatment) -> Option<&'static str> {
    match t {
        Treatment::ExportUnderLut => Some(EXPORT_ENDORSEMENT),
        Treatment::SezWithPayment => Some(SEZ_WITH_PAYMENT_ENDORSEMENT),
        Treatment::SezUnderLut => Some(SEZ_UNDER_LUT_ENDORSEMENT),
        Treatment::IntraState | Treatment::IntraUnionTerritory | Treatment::InterState => None,
    }
}

/// Column heads and per-line amounts for the invoice's treatment.
fn heads(t: Treatment, rate: Decimal) -> Vec<String> {
    let half = (rate / Decimal::from(2)).normalize();
    let rate = rate.normalize();
    match t {
        Treatment::IntraState => vec![format!("CGST {half}%"), format!("SGST {half}%")],
        Treatment::IntraUnionTerritory => vec![format!("CGST {half}%"), format!("UTGST {half}%")],
        Treatment::InterState | Treatment::SezWithPayment => vec![format!("IGST {rate}%")],
        Treatment::ExportUnderLut | Treatment::SezUnderLut => vec!["IGST 0% (LUT)".to_string()],
    }
}

fn split(t: Treatment, cgst: Decimal, sgst: Decimal, igst: Decimal) -> Vec<String> {
    match t {
        Treatment::IntraState | Treatment::IntraUnionTerritory => vec![indian(cgst), indian(sgst)],
        Treatment::InterState | Treatment::ExportUnderLut | Treatment::SezWithPayment | Treatment::SezUnderLut => {
            vec![indian(igst)]
        }
    }
}

pub fn view<'a>(supplier: &'a SupplierConfig, inv: &'a Invoice) -> anyhow::Result<View<'a>> {
    let t = inv.treatment;
    let supplier_state = Gstin::parse(&supplier.gstin)?.state();
    let c = &inv.customer;
    let mut address: Vec<String> = c.address.iter().cloned().collect();
    let city_line: Vec<&str> = [c.city.as_deref(), c.zip_code.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if !city_line.is_empty() {
        address.push(city_line.join(" "));
    }
    let lines = inv
        .lines
        .iter()
        .enumerate()
        .map(|(n, l)| LineView {
            no: n + 1,
            description: l.description.clone(),
            sac: l.sac.clone(),
            quantity: l.quantity.normalize().to_string(),
            unit: l.unit.clone(),
            taxable: indian(l.tax.taxable),
            taxes: split(t, l.tax.cgst, l.tax.sgst, l.tax.igst),
            total: indian(l.tax.taxable + l.tax.tax()),
        })
        .collect();
    let mut by_sac: BTreeMap<&str, (Decimal, Decimal, Decimal, Decimal)> = BTreeMap::new();
    for l in &inv.lines {
        let e = by_sac.entry(&l.sac).or_default();
        e.0 += l.tax.taxable;
        e.1 += l.tax.cgst;
        e.2 += l.tax.sgst;
        e.3 += l.tax.igst;
    }
    let annexure: Vec<AnnexureRow> = inv
        .usage_by_subaccount
        .iter()
        .map(|u| AnnexureRow {
            who: match (&u.subaccount, u.name.trim()) {
                (None, _) => "Main account".to_string(),
                (Some(_), "") => "Not in the subaccount list".to_string(),
                (Some(_), name) => name.to_string(),
            },
            account: u.subaccount.clone().unwrap_or_else(|| c.auth_id.clone()),
            calls: u.calls.to_string(),
            minutes: u.minutes.to_string(),
            taxable: indian(u.taxable),
        })
        .collect();
    let annexure_total = (!annexure.is_empty()).then(|| {
        let call_lines: Vec<String> = inv
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.key.starts_with("calls/"))
            .map(|(n, _)| (n + 1).to_string())
            .collect();
        AnnexureTotal {
            calls: inv.usage_by_subaccount.iter().map(|u| u.calls).sum::<i64>().to_string(),
            taxable: indian(inv.usage_by_subaccount.iter().map(|u| u.taxable).sum()),
            lines: call_lines.join(", "),
        }
    });
    let tot = &inv.totals;
    Ok(View {
        title: inv.kind.title(),
        title_hi: match inv.kind {
            DocumentKind::Invoice => "कर बीजक",
            DocumentKind::CreditNote => "क्रेडिट नोट",
            DocumentKind::DebitNote => "डेबिट नोट",
        },
        draft: inv.draft,
        number: &inv.number,
        date: inv.date.format("%d %b %Y").to_string(),
        cites: inv.cites.as_ref().map(|c| CitationView {
            number: &c.number,
            date: c.date.format("%d %b %Y").to_string(),
        }),
        reason: inv.reason.as_deref(),
        period: &inv.period,
        place_of_supply: format!("{} ({:02})", inv.place_of_supply.name, inv.place_of_supply.code),
        supplier: SupplierView {
            legal_name: &supplier.legal_name,
            trade_name: supplier.trade_name.as_deref(),
            address: &supplier.address,
            gstin: &supplier.gstin,
            state: format!("{} ({:02})", supplier_state.name, supplier_state.code),
            email: supplier.email.as_deref(),
            phone: supplier.phone.as_deref(),
        },
        recipient: RecipientView {
            name: c.display_name(),
            address,
            gstin: if inv.b2b { c.gstin.as_deref() } else { None },
            // The state as the law names it ("Tamilnadu" prints "Tamil Nadu"); where the
            // address names none, the place of supply's.
            state: (inv.place_of_supply.code != super::tax::EXPORT_POS_CODE).then(|| {
                match place::state(c.state.as_deref()) {
                    StateText::Known(s) => s.name.to_string(),
                    StateText::Missing | StateText::Unknown(_) => inv.place_of_supply.name.clone(),
                }
            }),
            country: (inv.place_of_supply.code == super::tax::EXPORT_POS_CODE)
                .then_some(c.country.as_deref().unwrap_or("")),
            account: &c.auth_id,
        },
        endorsement: endorsement(t),
        tax_heads: heads(t, inv.rate_percent),
        lines,
        totals: TotalsView {
            taxable: indian(tot.taxable),
            taxes: split(t, tot.cgst, tot.sgst, tot.igst),
            total: indian(tot.total),
        },
        words: &inv.amount_in_words,
        currency: &inv.currency,
        sac_summary: by_sac
            .into_iter()
            .map(|(sac, (taxable, c, s, i))| SacView {
                sac: sac.to_string(),
                taxable: indian(taxable),
                taxes: split(t, c, s, i),
                tax: indian(c + s + i),
            })
            .collect(),
        annexure,
        annexure_total,
    })
}
