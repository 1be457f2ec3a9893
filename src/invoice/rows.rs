//! An invoice as the rows of the `invoices` and `invoice_lines` tables.

use super::build::Invoice;
use crate::model::time::date32;
use crate::store::invoices::{InvoiceLineRow, InvoiceRow};

/// The `invoices` row of an invoice.
pub fn invoice_row(i: &Invoice) -> InvoiceRow {
    InvoiceRow {
        number: i.number.clone(),
        date: date32(i.date),
        auth_id: i.customer.auth_id.clone(),
        customer_name: i.customer.company.clone().unwrap_or_else(|| i.customer.name.clone()),
        gstin: if i.b2b { i.customer.gstin.clone() } else { None },
        b2b: i.b2b,
        place_of_supply_code: i.place_of_supply.code as i32,
        place_of_supply: i.place_of_supply.name.clone(),
        treatment: i.treatment,
        currency: i.currency.clone(),
        taxable: i.totals.taxable,
        cgst: i.totals.cgst,
        sgst: i.totals.sgst,
        igst: i.totals.igst,
        total: i.totals.total,
        lines: i.lines.len() as i32,
    }
}

/// The `invoice_lines` rows of an invoice.
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
