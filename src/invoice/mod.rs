//! GST tax invoices (shared/reference/gst-invoicing.md): place of supply and tax split,
//! FY-consecutive numbering, amounts in words.
//!
//! The stage that assembles and renders invoices (HTML and PDF) builds on these; see issue 5.

pub mod numbering;
pub mod tax;
pub mod words;
