//! Documents as the rows of the `invoices`, `invoice_lines`, `documents` and `document_lines` tables.

use super::build::Invoice;
use super::register::Entry;
use crate::model::document::financial_year;
use crate::model::time::date32;
use crate::store::invoices::{DocumentLineRow, DocumentRow, InvoiceLineRow, InvoiceRow};

/// The `invoices` row of an invoice.
pub fn invoice_row(i: &Invoice) -> InvoiceRow {
    InvoiceRow {
        number: i.number.clone(),
        draft: i.draft,
        date: date32(i.date),
        auth_id: i.customer.auth_id.clone(),
        customer_name: i.customer.display_name().to_string(),
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
        auth_id: i.customer.auth_id.clone(),
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

/// The `documents` row of an issued document.
pub fn document_row(e: &Entry) -> DocumentRow {
    let i = &e.content;
    DocumentRow {
        number: e.number.clone(),
        kind: e.kind,
        status: e.status,
        date: date32(e.date),
        financial_year: financial_year(e.date).0,
        period: e.period.clone(),
        auth_id: e.account.clone(),
        customer_name: i.customer.display_name().to_string(),
        gstin: if i.b2b { i.customer.gstin.clone() } else { None },
        b2b: i.b2b,
        place_of_supply_code: i.place_of_supply.code as i32,
        place_of_supply: i.place_of_supply.name.clone(),
        treatment: i.treatment,
        rate_percent: i.rate_percent,
        currency: i.currency.clone(),
        taxable: i.totals.taxable,
        cgst: i.totals.cgst,
        sgst: i.totals.sgst,
        igst: i.totals.igst,
        total: i.totals.total,
        cites_number: i.cites.as_ref().map(|c| c.number.clone()),
        cites_date: i.cites.as_ref().map(|c| date32(c.date)),
        reason: i.reason.clone(),
        content_sha256: e.content_sha256.clone(),
        pdf_sha256: e.pdf_sha256.clone().unwrap_or_default(),
    }
}

/// The `document_lines` rows of an issued document.
pub fn document_line_rows(e: &Entry) -> impl Iterator<Item = DocumentLineRow> + '_ {
    e.content.lines.iter().enumerate().map(|(n, l)| DocumentLineRow {
        number: e.number.clone(),
        kind: e.kind,
        line: n as i32 + 1,
        key: l.key.clone(),
        description: l.description.clone(),
        sac: l.sac.clone(),
        quantity: l.quantity,
        unit: l.unit.clone(),
        taxable: l.tax.taxable,
        cgst: l.tax.cgst,
        sgst: l.tax.sgst,
        igst: l.tax.igst,
    })
}
