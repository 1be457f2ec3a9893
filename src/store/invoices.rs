//! `invoices` and `invoice_lines`: what was invoiced, for GSTR-1 and analysts.

use rust_decimal::Decimal;

use crate::model::tax::Treatment;
use crate::store::schema::{TextEnum, table, text_enum_cell};

impl TextEnum for Treatment {
    fn as_str(self) -> &'static str {
        Treatment::as_str(self)
    }

    fn parse(s: &str) -> Option<Self> {
        Treatment::parse(s)
    }
}

text_enum_cell!(Treatment);

table! {
    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct InvoiceRow for crate::layout::Table::Invoices, in INVOICE_COLUMNS, names InvoiceColumns {
        number: String as Text,
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
