//! `invoices` and `invoice_lines`: the period's invoices (drafts until the period is
//! finalized, then the issued ones, frozen). `documents`, `document_lines`: every issued
//! document of the period's supply, notes included. `document_summary`: the documents dated
//! in the period, per series, as GSTR-1 Table 13 counts them.

use rust_decimal::Decimal;

use crate::model::document::{DocumentKind, DocumentStatus};
use crate::model::tax::Treatment;
use crate::store::schema::{table, text_enum};

text_enum!(Treatment);
text_enum!(DocumentKind);
text_enum!(DocumentStatus);

table! {
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct InvoiceRow for crate::layout::Table::Invoices, in INVOICE_COLUMNS, names InvoiceColumns {
        /// Empty for a draft.
        number: String as Text,
        /// Not yet finalized: no number, not a tax invoice.
        draft: bool as Bool,
        date: i32 as Date,
        auth_id: String as Text,
        customer_name: String as Text,
        gstin: Option<String> as Text,
        b2b: bool as Bool,
        place_of_supply_code: i32 as Int32,
        place_of_supply: String as Text,
        treatment: Treatment as Text,
        currency: String as Text,
        taxable: Decimal as Decimal,
        cgst: Decimal as Decimal,
        sgst: Decimal as Decimal,
        igst: Decimal as Decimal,
        total: Decimal as Decimal,
        lines: i32 as Int32,
    }
}

table! {
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct InvoiceLineRow for crate::layout::Table::InvoiceLines, in LINE_COLUMNS, names InvoiceLineColumns {
        number: String as Text,
        /// The customer (a draft has no number to join on).
        auth_id: String as Text,
        line: i32 as Int32,
        description: String as Text,
        sac: String as Text,
        quantity: Decimal as Decimal,
        unit: String as Text,
        /// The exact amount before rounding to the paisa.
        amount: Decimal as Decimal,
        taxable: Decimal as Decimal,
        cgst: Decimal as Decimal,
        sgst: Decimal as Decimal,
        igst: Decimal as Decimal,
    }
}

table! {
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct DocumentRow for crate::layout::Table::Documents, in DOCUMENT_COLUMNS, names DocumentColumns {
        number: String as Text,
        kind: DocumentKind as Text,
        status: DocumentStatus as Text,
        date: i32 as Date,
        /// Of the document's date (a note's may differ from its invoice's).
        financial_year: String as Text,
        /// The supply billed or corrected.
        period: String as Text,
        auth_id: String as Text,
        customer_name: String as Text,
        gstin: Option<String> as Text,
        b2b: bool as Bool,
        place_of_supply_code: i32 as Int32,
        place_of_supply: String as Text,
        treatment: Treatment as Text,
        /// The GST rate the document was issued at, in percent (zero-rated supplies too).
        rate_percent: Decimal as Decimal,
        currency: String as Text,
        /// Amounts as printed (positive on a credit note too; `kind` says which way).
        taxable: Decimal as Decimal,
        cgst: Decimal as Decimal,
        sgst: Decimal as Decimal,
        igst: Decimal as Decimal,
        total: Decimal as Decimal,
        /// The invoice a note corrects.
        cites_number: Option<String> as Text,
        cites_date: Option<i32> as Date,
        reason: Option<String> as Text,
        /// SHA-256 of the document's canonical content (its JSON in the register).
        content_sha256: String as Text,
        /// SHA-256 of the PDF as issued.
        pdf_sha256: String as Text,
    }
}

table! {
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct DocumentLineRow for crate::layout::Table::DocumentLines, in DOCUMENT_LINE_COLUMNS, names DocumentLineColumns {
        number: String as Text,
        kind: DocumentKind as Text,
        line: i32 as Int32,
        /// What the line bills, stable across re-runs: how a note's line finds the invoice's.
        key: String as Text,
        description: String as Text,
        sac: String as Text,
        quantity: Decimal as Decimal,
        unit: String as Text,
        taxable: Decimal as Decimal,
        cgst: Decimal as Decimal,
        sgst: Decimal as Decimal,
        igst: Decimal as Decimal,
    }
}

table! {
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct DocumentSummaryRow for crate::layout::Table::DocumentSummary, in DOCUMENT_SUMMARY_COLUMNS, names DocumentSummaryColumns {
        kind: DocumentKind as Text,
        /// `PREFIX/YY-YY`.
        series: String as Text,
        first_number: String as Text,
        last_number: String as Text,
        /// Documents numbered in the range (issued and cancelled).
        total: i32 as Int32,
        cancelled: i32 as Int32,
        /// `total - cancelled`.
        net_issued: i32 as Int32,
    }
}
