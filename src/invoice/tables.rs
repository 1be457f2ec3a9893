//! `invoices` and `invoice_lines`: what was invoiced, for GSTR-1 and analysts.

use rust_decimal::Decimal;

use super::build::Invoice;
use crate::model::time::date32;
use crate::normalize::columns::col;
use crate::normalize::columns::*;

#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceRow {
    pub number: String,
    pub date: i32,
    pub auth_id: String,
    pub customer_name: String,
    pub gstin: Option<String>,
    pub b2b: bool,
    pub place_of_supply_code: i32,
    pub place_of_supply: String,
    pub treatment: String,
    pub currency: String,
    pub taxable: Decimal,
    pub cgst: Decimal,
    pub sgst: Decimal,
    pub igst: Decimal,
    pub total: Decimal,
    pub lines: i32,
}

impl InvoiceRow {
    pub fn new(i: &Invoice) -> Self {
        Self {
            number: i.number.clone(),
            date: date32(i.date),
            auth_id: i.customer.auth_id.clone(),
            customer_name: i.customer.company.clone().unwrap_or_else(|| i.customer.name.clone()),
            gstin: if i.b2b { i.customer.gstin.clone() } else { None },
            b2b: i.b2b,
            place_of_supply_code: i.place_of_supply.code as i32,
            place_of_supply: i.place_of_supply.name.clone(),
            treatment: serde_json::to_value(i.treatment)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            currency: i.currency.clone(),
            taxable: i.totals.taxable,
            cgst: i.totals.cgst,
            sgst: i.totals.sgst,
            igst: i.totals.igst,
            total: i.totals.total,
            lines: i.lines.len() as i32,
        }
    }
}

pub const INVOICE_COLUMNS: &[Column<InvoiceRow>] = &[
    col!("number", Text, false, |r| text(r.iter().map(|x| x.number.as_str()))),
    col!("date", Date, false, |r| date(r.iter().map(|x| x.date))),
    col!("auth_id", Text, false, |r| text(r.iter().map(|x| x.auth_id.as_str()))),
    col!("customer_name", Text, false, |r| text(
        r.iter().map(|x| x.customer_name.as_str())
    )),
    col!("gstin", Text, true, |r| text_opt(r.iter().map(|x| x.gstin.as_deref()))),
    col!("b2b", Bool, false, |r| boolean(r.iter().map(|x| x.b2b))),
    col!("place_of_supply_code", Int32, false, |r| int32(
        r.iter().map(|x| x.place_of_supply_code)
    )),
    col!("place_of_supply", Text, false, |r| text(
        r.iter().map(|x| x.place_of_supply.as_str())
    )),
    col!("treatment", Text, false, |r| text(
        r.iter().map(|x| x.treatment.as_str())
    )),
    col!("currency", Text, false, |r| text(r.iter().map(|x| x.currency.as_str()))),
    col!("taxable", Decimal, false, |r| decimal(r.iter().map(|x| x.taxable))),
    col!("cgst", Decimal, false, |r| decimal(r.iter().map(|x| x.cgst))),
    col!("sgst", Decimal, false, |r| decimal(r.iter().map(|x| x.sgst))),
    col!("igst", Decimal, false, |r| decimal(r.iter().map(|x| x.igst))),
    col!("total", Decimal, false, |r| decimal(r.iter().map(|x| x.total))),
    col!("lines", Int32, false, |r| int32(r.iter().map(|x| x.lines))),
];

#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceLineRow {
    pub number: String,
    pub line: i32,
    pub description: String,
    pub sac: String,
    pub quantity: Decimal,
    pub unit: String,
    /// The exact amount before rounding to the paisa.
    pub amount: Decimal,
    pub taxable: Decimal,
    pub cgst: Decimal,
    pub sgst: Decimal,
    pub igst: Decimal,
}

pub fn line_rows(i: &Invoice) -> impl Iterator<Item = InvoiceLineRow> + '_ {
    i.lines.iter().enumerate().map(|(n, l)| InvoiceLineRow {
        number: i.number.clone(),
        line: n as i32 + 1,
        description: l.description.clone(),
        sac: l.sac.clone(),
        quantity: l.quantity,
        unit: l.unit.to_string(),
        amount: l.amount,
        taxable: l.tax.taxable,
        cgst: l.tax.cgst,
        sgst: l.tax.sgst,
        igst: l.tax.igst,
    })
}

pub const LINE_COLUMNS: &[Column<InvoiceLineRow>] = &[
    col!("number", Text, false, |r| text(r.iter().map(|x| x.number.as_str()))),
    col!("line", Int32, false, |r| int32(r.iter().map(|x| x.line))),
    col!("description", Text, false, |r| text(
        r.iter().map(|x| x.description.as_str())
    )),
    col!("sac", Text, false, |r| text(r.iter().map(|x| x.sac.as_str()))),
    col!("quantity", Decimal, false, |r| decimal(r.iter().map(|x| x.quantity))),
    col!("unit", Text, false, |r| text(r.iter().map(|x| x.unit.as_str()))),
    col!("amount", Decimal, false, |r| decimal(r.iter().map(|x| x.amount))),
    col!("taxable", Decimal, false, |r| decimal(r.iter().map(|x| x.taxable))),
    col!("cgst", Decimal, false, |r| decimal(r.iter().map(|x| x.cgst))),
    col!("sgst", Decimal, false, |r| decimal(r.iter().map(|x| x.sgst))),
    col!("igst", Decimal, false, |r| decimal(r.iter().map(|x| x.igst))),
];
