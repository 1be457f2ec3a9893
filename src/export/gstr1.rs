//! GSTR-1 for a month in the shape of the GST portal's offline tool JSON: every issued
//! document *dated* in the month (a note issued in May for a March supply is May's), sorted
//! into the return's tables.
//!
//! | document                                   | table                                  |
//! |--------------------------------------------|----------------------------------------|
//! | invoice to a GSTIN (SEZ: `SEWP`/`SEWOP`)    | `b2b`                                  |
//! | invoice, unregistered, inter-state, value above the B2CL limit | `b2cl`             |
//! | any other invoice to an unregistered person | `b2cs`, per place of supply and rate   |
//! | export of services                         | `exp` (`WOPAY` under LUT)              |
//! | note to a GSTIN                            | `cdnr`                                 |
//! | note on a B2CL invoice or an export        | `cdnur`                                |
//! | note on a B2CS invoice                     | nets into `b2cs` (the portal has no note table for them) |
//!
//! `hsn` sums every line, notes signed, split into `hsn_b2b` (to GSTINs) and `hsn_b2c`;
//! `doc_issue` is Table 13, per series, cancelled documents counted. Money is a JSON number
//! with two decimals written from the exact decimal (never through a float); dates are
//! DD-MM-YYYY; the place of supply is the two-digit state code.
//!
//! Anything the return cannot place (a note whose invoice is unknown, an SEZ supply without a
//! GSTIN, a document in another currency) is an error naming the document, never a guess.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::model::Period;
use crate::model::document::{DocumentKind, DocumentStatus};
use crate::model::tax::Treatment;
use crate::model::time::from_date32;
use crate::store::invoices::{DocumentLineRow, DocumentRow};

/// B2CL: an invoice to an unregistered person in another state is reported one by one above
/// this value (₹1,00,000 from 1 August 2024, Notification 12/2024-CT; ₹2,50,000 before).
pub fn b2cl_limit(invoice_date: NaiveDate) -> Decimal {
    if invoice_date >= NaiveDate::from_ymd_opt(2024, 8, 1).expect("date") {
        Decimal::from(100_000)
    } else {
        Decimal::from(250_000)
    }
}

/// Money as the portal wants it: a JSON number with two decimals, exact.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Amount(pub Decimal);

impl Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = format!("{:.2}", self.0.round_dp(2));
        RawValue::from_string(text)
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}

impl std::ops::AddAssign for Amount {
    fn add_assign(&mut self, o: Self) {
        self.0 += o.0;
    }
}

/// Header and tables, in the offline tool's order.
#[derive(Debug, Serialize)]
pub struct Gstr1 {
    pub gstin: String,
    /// `MMYYYY`.
    pub fp: String,
    pub version: String,
    pub hash: String,
    pub b2b: Vec<B2b>,
    pub b2cl: Vec<B2cl>,
    pub b2cs: Vec<B2cs>,
    pub exp: Vec<Exp>,
    pub cdnr: Vec<Cdnr>,
    pub cdnur: Vec<Cdnur>,
    pub hsn: Hsn,
    pub doc_issue: DocIssue,
}

#[derive(Debug, Serialize)]
pub struct B2b {
    pub ctin: String,
    pub inv: Vec<B2bInvoice>,
}

#[derive(Debug, Serialize)]
pub struct B2bInvoice {
    pub inum: String,
    pub idt: String,
    pub val: Amount,
    pub pos: String,
    pub rchrg: &'static str,
    pub inv_typ: &'static str,
    pub itms: Vec<Item>,
}

#[derive(Debug, Serialize)]
pub struct Item {
    pub num: u32,
    pub itm_det: ItemDetail,
}

#[derive(Debug, Default, Serialize)]
pub struct ItemDetail {
    pub txval: Amount,
    pub rt: Amount,
    pub iamt: Amount,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub camt: Option<Amount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub samt: Option<Amount>,
    pub csamt: Amount,
}

#[derive(Debug, Serialize)]
pub struct B2cl {
    pub pos: String,
    pub inv: Vec<B2clInvoice>,
}

#[derive(Debug, Serialize)]
pub struct B2clInvoice {
    pub inum: String,
    pub idt: String,
    pub val: Amount,
    pub itms: Vec<Item>,
}

#[derive(Debug, Serialize)]
pub struct B2cs {
    pub sply_ty: &'static str,
    pub pos: String,
    pub typ: &'static str,
    pub rt: Amount,
    pub txval: Amount,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iamt: Option<Amount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub camt: Option<Amount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub samt: Option<Amount>,
    pub csamt: Amount,
}

#[derive(Debug, Serialize)]
pub struct Exp {
    pub exp_typ: &'static str,
    pub inv: Vec<ExpInvoice>,
}

#[derive(Debug, Serialize)]
pub struct ExpInvoice {
    pub inum: String,
    pub idt: String,
    pub val: Amount,
    pub itms: Vec<ExpItem>,
}

#[derive(Debug, Serialize)]
pub struct ExpItem {
    pub txval: Amount,
    pub rt: Amount,
    pub iamt: Amount,
    pub csamt: Amount,
}

#[derive(Debug, Serialize)]
pub struct Cdnr {
    pub ctin: String,
    pub nt: Vec<Note>,
}

#[derive(Debug, Serialize)]
pub struct Note {
    pub ntty: &'static str,
    pub nt_num: String,
    pub nt_dt: String,
    pub val: Amount,
    pub pos: String,
    pub rchrg: &'static str,
    pub inv_typ: &'static str,
    pub itms: Vec<Item>,
}

#[derive(Debug, Serialize)]
pub struct Cdnur {
    pub typ: &'static str,
    pub ntty: &'static str,
    pub nt_num: String,
    pub nt_dt: String,
    pub val: Amount,
    pub pos: String,
    pub itms: Vec<Item>,
}

#[derive(Debug, Default, Serialize)]
pub struct Hsn {
    pub hsn_b2b: Vec<HsnRow>,
    pub hsn_b2c: Vec<HsnRow>,
}

#[derive(Debug, Default, Serialize)]
pub struct HsnRow {
    pub num: u32,
    pub hsn_sc: String,
    pub desc: String,
    /// Services have no unit of quantity: `NA`, quantity 0.
    pub uqc: &'static str,
    pub qty: Amount,
    pub rt: Amount,
    pub txval: Amount,
    pub iamt: Amount,
    pub camt: Amount,
    pub samt: Amount,
    pub csamt: Amount,
}

#[derive(Debug, Default, Serialize)]
pub struct DocIssue {
    pub doc_det: Vec<DocKindIssued>,
}

#[derive(Debug, Serialize)]
pub struct DocKindIssued {
    /// Table 13's row: 1 invoices for outward supply, 4 debit notes, 5 credit notes.
    pub doc_num: u32,
    pub doc_typ: &'static str,
    pub docs: Vec<SeriesIssued>,
}

#[derive(Debug, Serialize)]
pub struct SeriesIssued {
    pub num: u32,
    pub from: String,
    pub to: String,
    pub totnum: u32,
    pub cancel: u32,
    pub net_issue: u32,
}

/// What the return needs besides the documents.
pub struct Header<'a> {
    pub gstin: &'a str,
    pub version: &'a str,
    pub currency: &'a str,
}

fn dmy(days: i32) -> String {
    from_date32(days).format("%d-%m-%Y").to_string()
}

fn pos(code: i32) -> String {
    format!("{code:02}")
}

/// The item of a whole document: one rate per document (every line of a document is taxed at
/// its one rate); the taxes as printed, zero under a LUT.
fn item(d: &DocumentRow) -> Item {
    let intra = matches!(d.treatment, Treatment::IntraState | Treatment::IntraUnionTerritory);
    Item {
        // The offline tool numbers items by rate: 1801 for the first at 18%.
        num: rate_item_number(d.rate_percent),
        itm_det: ItemDetail {
            txval: Amount(d.taxable),
            rt: Amount(d.rate_percent),
            iamt: Amount(d.igst),
            camt: intra.then_some(Amount(d.cgst)),
            samt: intra.then_some(Amount(d.sgst)),
            csamt: Amount::default(),
        },
    }
}

fn rate_item_number(rate: Decimal) -> u32 {
    use rust_decimal::prelude::ToPrimitive;
    (rate * Decimal::from(100)).to_u32().unwrap_or(0) + 1
}

fn inv_typ(t: Treatment) -> &'static str {
    match t {
        Treatment::SezWithPayment => "SEWP",
        Treatment::SezUnderLut => "SEWOP",
        _ => "R",
    }
}

fn ntty(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::DebitNote => "D",
        _ => "C",
    }
}

/// Where an unregistered supply goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum B2c {
    Large,
    Small,
    Export,
}

fn b2c_kind(invoice: &DocumentRow) -> B2c {
    if invoice.treatment == Treatment::ExportUnderLut {
        B2c::Export
    } else if invoice.treatment == Treatment::InterState && invoice.total > b2cl_limit(from_date32(invoice.date)) {
        B2c::Large
    } else {
        B2c::Small
    }
}

/// The return for `period` from `every` issued document (of every period's supply: the
/// notes it files may correct older invoices, which place them) and the lines of those
/// dated in the period.
pub fn build(
    header: &Header,
    period: Period,
    every: &[DocumentRow],
    lines: &[DocumentLineRow],
) -> anyhow::Result<Gstr1> {
    let by_number: BTreeMap<&str, &DocumentRow> = every.iter().map(|d| (d.number.as_str(), d)).collect();
    let mut dated: Vec<&DocumentRow> = every
        .iter()
        .filter(|d| Period::of_date(from_date32(d.date)) == period)
        .collect();
    dated.sort_by(|a, b| (a.kind, &a.number).cmp(&(b.kind, &b.number)));

    let mut b2b: BTreeMap<String, Vec<B2bInvoice>> = BTreeMap::new();
    let mut b2cl: BTreeMap<String, Vec<B2clInvoice>> = BTreeMap::new();
    let mut b2cs: BTreeMap<(&'static str, String, Decimal), B2cs> = BTreeMap::new();
    let mut exp: BTreeMap<&'static str, Vec<ExpInvoice>> = BTreeMap::new();
    let mut cdnr: BTreeMap<String, Vec<Note>> = BTreeMap::new();
    let mut cdnur: Vec<Cdnur> = Vec::new();
    // Number → whether its lines are B2B (for the HSN split), documents placed.
    let mut placed: BTreeMap<&str, (bool, Decimal, DocumentKind)> = BTreeMap::new();

    for d in dated.iter().copied() {
        if d.status == DocumentStatus::Cancelled {
            continue;
        }
        if d.currency != header.currency {
            bail!(
                "document {} is in {}, not {}: GSTR-1 is filed in rupees",
                d.number,
                d.currency,
                header.currency
            );
        }
        let sez = matches!(d.treatment, Treatment::SezWithPayment | Treatment::SezUnderLut);
        let gstin = d.gstin.as_deref().filter(|_| d.b2b);
        if sez && gstin.is_none() {
            bail!(
                "document {} is an SEZ supply without a GSTIN: it has no place in GSTR-1",
                d.number
            );
        }
        placed.insert(&d.number, (gstin.is_some(), d.rate_percent, d.kind));
        match (d.kind, gstin) {
            (DocumentKind::Invoice, Some(ctin)) => b2b.entry(ctin.to_string()).or_default().push(B2bInvoice {
                inum: d.number.clone(),
                idt: dmy(d.date),
                val: Amount(d.total),
                pos: pos(d.place_of_supply_code),
                rchrg: "N",
                inv_typ: inv_typ(d.treatment),
                itms: vec![item(d)],
            }),
            (DocumentKind::Invoice, None) => match b2c_kind(d) {
                B2c::Export => exp.entry(export_type(d)).or_default().push(ExpInvoice {
                    inum: d.number.clone(),
                    idt: dmy(d.date),
                    val: Amount(d.total),
                    itms: vec![export_item(d)],
                }),
                B2c::Large => b2cl.entry(pos(d.place_of_supply_code)).or_default().push(B2clInvoice {
                    inum: d.number.clone(),
                    idt: dmy(d.date),
                    val: Amount(d.total),
                    itms: vec![item(d)],
                }),
                B2c::Small => add_b2cs(&mut b2cs, d, Decimal::ONE),
            },
            (_, Some(ctin)) => cdnr.entry(ctin.to_string()).or_default().push(Note {
                ntty: ntty(d.kind),
                nt_num: d.number.clone(),
                nt_dt: dmy(d.date),
                val: Amount(d.total),
                pos: pos(d.place_of_supply_code),
                rchrg: "N",
                inv_typ: inv_typ(d.treatment),
                itms: vec![item(d)],
            }),
            (kind, None) => {
                let cited = d
                    .cites_number
                    .as_deref()
                    .and_then(|n| by_number.get(n))
                    .with_context(|| {
                        format!(
                            "note {} cites {:?}, which is not among the issued documents: its GSTR-1 table cannot be decided",
                            d.number,
                            d.cites_number.as_deref().unwrap_or_default()
                        )
                    })?;
                match b2c_kind(cited) {
                    B2c::Small => add_b2cs(&mut b2cs, d, kind.sign()),
                    other => cdnur.push(Cdnur {
                        typ: match other {
                            B2c::Large => "B2CL",
                            _ if d.igst.is_zero() => "EXPWOP",
                            _ => "EXPWP",
                        },
                        ntty: ntty(kind),
                        nt_num: d.number.clone(),
                        nt_dt: dmy(d.date),
                        val: Amount(d.total),
                        pos: pos(d.place_of_supply_code),
                        itms: vec![item(d)],
                    }),
                }
            }
        }
    }

    Ok(Gstr1 {
        gstin: header.gstin.to_string(),
        fp: format!("{:02}{}", period.month(), period.year()),
        version: header.version.to_string(),
        hash: "hash".to_string(),
        b2b: b2b.into_iter().map(|(ctin, inv)| B2b { ctin, inv }).collect(),
        b2cl: b2cl.into_iter().map(|(pos, inv)| B2cl { pos, inv }).collect(),
        b2cs: b2cs.into_values().collect(),
        exp: exp.into_iter().map(|(exp_typ, inv)| Exp { exp_typ, inv }).collect(),
        cdnr: cdnr.into_iter().map(|(ctin, nt)| Cdnr { ctin, nt }).collect(),
        cdnur,
        hsn: hsn(&placed, lines),
        doc_issue: doc_issue(&dated),
    })
}

fn export_type(d: &DocumentRow) -> &'static str {
    if d.igst.is_zero() { "WOPAY" } else { "WPAY" }
}

fn export_item(d: &DocumentRow) -> ExpItem {
    ExpItem {
        txval: Amount(d.taxable),
        rt: Amount(d.rate_percent),
        iamt: Amount(d.igst),
        csamt: Amount::default(),
    }
}

fn add_b2cs(b2cs: &mut BTreeMap<(&'static str, String, Decimal), B2cs>, d: &DocumentRow, sign: Decimal) {
    let intra = matches!(d.treatment, Treatment::IntraState | Treatment::IntraUnionTerritory);
    let sply_ty = if intra { "INTRA" } else { "INTER" };
    let key = (sply_ty, pos(d.place_of_supply_code), d.rate_percent.normalize());
    let row = b2cs.entry(key.clone()).or_insert_with(|| B2cs {
        sply_ty,
        pos: key.1.clone(),
        typ: "OE",
        rt: Amount(d.rate_percent),
        txval: Amount::default(),
        iamt: (!intra).then_some(Amount::default()),
        camt: intra.then_some(Amount::default()),
        samt: intra.then_some(Amount::default()),
        csamt: Amount::default(),
    });
    row.txval += Amount(sign * d.taxable);
    if let Some(a) = row.iamt.as_mut() {
        *a += Amount(sign * d.igst);
    }
    if let Some(a) = row.camt.as_mut() {
        *a += Amount(sign * d.cgst);
    }
    if let Some(a) = row.samt.as_mut() {
        *a += Amount(sign * d.sgst);
    }
}

/// A SAC's description for the HSN table (the portal's master list names it; the two this
/// pipeline bills are spelled out, any other is left for the portal to fill).
fn sac_description(sac: &str) -> &'static str {
    match sac {
        "998412" => "Fixed telephony services including IP-based voice",
        "998413" => "Mobile telecommunications services",
        _ => "",
    }
}

/// Table 12: per SAC and rate, every line of the placed documents, notes signed.
fn hsn(placed: &BTreeMap<&str, (bool, Decimal, DocumentKind)>, lines: &[DocumentLineRow]) -> Hsn {
    let mut sums: [BTreeMap<(String, Decimal), HsnRow>; 2] = Default::default();
    for l in lines {
        let Some(&(b2b, rate, kind)) = placed.get(l.number.as_str()) else {
            continue;
        };
        let sign = kind.sign();
        let row = sums[usize::from(!b2b)]
            .entry((l.sac.clone(), rate.normalize()))
            .or_insert_with(|| HsnRow {
                hsn_sc: l.sac.clone(),
                desc: sac_description(&l.sac).to_string(),
                uqc: "NA",
                rt: Amount(rate),
                ..Default::default()
            });
        row.txval += Amount(sign * l.taxable);
        row.iamt += Amount(sign * l.igst);
        row.camt += Amount(sign * l.cgst);
        row.samt += Amount(sign * l.sgst);
    }
    let number = |m: BTreeMap<(String, Decimal), HsnRow>| {
        m.into_values()
            .enumerate()
            .map(|(i, mut r)| {
                r.num = i as u32 + 1;
                r
            })
            .collect()
    };
    let [b2b, b2c] = sums;
    Hsn {
        hsn_b2b: number(b2b),
        hsn_b2c: number(b2c),
    }
}

/// Table 13: per kind and series, the documents dated in the period, cancelled ones counted.
fn doc_issue(dated: &[&DocumentRow]) -> DocIssue {
    let mut by_series: BTreeMap<(u32, String), Vec<&DocumentRow>> = BTreeMap::new();
    for d in dated {
        let series = d
            .number
            .rsplit_once('/')
            .map_or(d.number.as_str(), |(s, _)| s)
            .to_string();
        let doc_num = match d.kind {
            DocumentKind::Invoice => 1,
            DocumentKind::DebitNote => 4,
            DocumentKind::CreditNote => 5,
        };
        by_series.entry((doc_num, series)).or_default().push(d);
    }
    let mut det: BTreeMap<u32, DocKindIssued> = BTreeMap::new();
    for ((doc_num, _), mut docs) in by_series {
        docs.sort_by(|a, b| a.number.cmp(&b.number));
        let kind = det.entry(doc_num).or_insert_with(|| DocKindIssued {
            doc_num,
            doc_typ: match doc_num {
                1 => "Invoices for outward supply",
                4 => "Debit Note",
                _ => "Credit Note",
            },
            docs: Vec::new(),
        });
        let total = docs.len() as u32;
        let cancel = docs.iter().filter(|d| d.status == DocumentStatus::Cancelled).count() as u32;
        kind.docs.push(SeriesIssued {
            num: kind.docs.len() as u32 + 1,
            from: docs.first().map(|d| d.number.clone()).unwrap_or_default(),
            to: docs.last().map(|d| d.number.clone()).unwrap_or_default(),
            totnum: total,
            cancel,
            net_issue: total - cancel,
        });
    }
    DocIssue {
        doc_det: det.into_values().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::time::date32;
    use rust_decimal::dec;

    fn doc(
        number: &str,
        kind: DocumentKind,
        day: u32,
        gstin: Option<&str>,
        t: Treatment,
        taxable: Decimal,
    ) -> DocumentRow {
        let (cgst, sgst, igst) = match t {
            Treatment::IntraState | Treatment::IntraUnionTerritory => {
                (taxable * dec!(0.09), taxable * dec!(0.09), Decimal::ZERO)
            }
            Treatment::InterState | Treatment::SezWithPayment => (Decimal::ZERO, Decimal::ZERO, taxable * dec!(0.18)),
            _ => (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO),
        };
        DocumentRow {
            number: number.into(),
            kind,
            date: date32(NaiveDate::from_ymd_opt(2026, 3, day).unwrap()),
            gstin: gstin.map(str::to_string),
            b2b: gstin.is_some(),
            place_of_supply_code: if t == Treatment::IntraState { 29 } else { 27 },
            treatment: t,
            rate_percent: dec!(18),
            currency: "INR".into(),
            taxable,
            cgst,
            sgst,
            igst,
            total: taxable + cgst + sgst + igst,
            ..Default::default()
        }
    }

    fn header() -> Header<'static> {
        Header {
            gstin: "29AAHCD4821K1ZE",
            version: "GST3.2.3",
            currency: "INR",
        }
    }

    #[test]
    fn documents_land_in_their_tables_and_b2cs_nets_its_notes() {
        use DocumentKind::*;
        let g = "27AAACR5055K1Z7";
        let mut cn = doc("CN/25-26/000001", CreditNote, 31, None, Treatment::IntraState, dec!(10));
        cn.cites_number = Some("INV/25-26/000002".into());
        let docs = vec![
            doc(
                "INV/25-26/000001",
                Invoice,
                31,
                Some(g),
                Treatment::InterState,
                dec!(100),
            ),
            doc("INV/25-26/000002", Invoice, 31, None, Treatment::IntraState, dec!(200)),
            doc(
                "INV/25-26/000003",
                Invoice,
                31,
                None,
                Treatment::InterState,
                dec!(100000),
            ),
            doc("INV/25-26/000004", Invoice, 31, None, Treatment::InterState, dec!(50)),
            cn,
        ];
        let r = build(&header(), "2026-03".parse().unwrap(), &docs, &[]).unwrap();
        assert_eq!(r.fp, "032026");
        assert_eq!(r.b2b.len(), 1);
        assert_eq!(r.b2cl.len(), 1, "118,000 inter-state to an unregistered person");
        let intra = r.b2cs.iter().find(|b| b.sply_ty == "INTRA").unwrap();
        // 200 invoiced, 10 credited: 190, hand-computed.
        assert_eq!(intra.txval.0, dec!(190));
        assert_eq!(intra.camt.unwrap().0, dec!(17.10));
        let inter = r.b2cs.iter().find(|b| b.sply_ty == "INTER").unwrap();
        assert_eq!((inter.txval.0, inter.iamt.unwrap().0), (dec!(50), dec!(9)));
        assert_eq!(r.doc_issue.doc_det.len(), 2);
        assert_eq!(r.doc_issue.doc_det[0].docs[0].totnum, 4);
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains(r#""txval":190.00"#), "{json}");
    }

    #[test]
    fn a_note_on_an_unknown_invoice_is_an_error_not_a_guess() {
        let mut cn = doc(
            "CN/25-26/000001",
            DocumentKind::CreditNote,
            31,
            None,
            Treatment::InterState,
            dec!(10),
        );
        cn.cites_number = Some("INV/24-25/000009".into());
        let e = build(&header(), "2026-03".parse().unwrap(), &[cn], &[]).unwrap_err();
        assert!(e.to_string().contains("INV/24-25/000009"), "{e}");
    }

    #[test]
    fn the_b2cl_limit_fell_in_august_2024() {
        assert_eq!(b2cl_limit(NaiveDate::from_ymd_opt(2024, 7, 31).unwrap()), dec!(250000));
        assert_eq!(b2cl_limit(NaiveDate::from_ymd_opt(2024, 8, 1).unwrap()), dec!(100000));
    }
}
