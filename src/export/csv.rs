//! CSV as RFC 4180 wants it (UTF-8, CRLF, quotes doubled) and as a spreadsheet must not
//! misread it: a text cell starting with `=`, `+`, `-`, `@`, tab or CR is prefixed with `'`
//! so that no spreadsheet runs it as a formula (OWASP's CSV injection advice); decimals are
//! written as exact text, never through a float.
//!
//! A Parquet table is copied one record batch at a time: memory is one batch, whatever the
//! table's size.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use arrow::array::{Array, RecordBatchReader};
use rust_decimal::Decimal;

use super::cell::{Cell, batches, cell};
use crate::model::time::{format_utc, from_date32};

/// The characters a spreadsheet may read as the start of a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Text a spreadsheet shows as written: prefixed with `'` when it could start a formula.
pub fn inert(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(FORMULA_STARTS) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

/// One CSV field of customer or upstream text: neutralised, then quoted if it must be.
pub fn text_field(out: &mut Vec<u8>, text: &str) {
    let text = inert(text);
    if text.contains([',', '"', '\r', '\n']) {
        out.push(b'"');
        out.extend_from_slice(text.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(text.as_bytes());
    }
}

/// A decimal as exact text, trailing zeros dropped down to two decimals (`1.545`, `12.30`).
pub fn decimal_text(d: Decimal) -> String {
    let n = d.normalize();
    if n.scale() >= 2 {
        n.to_string()
    } else {
        format!("{:.2}", n)
    }
}

/// Append one row: fields separated by commas, ended by CRLF.
pub fn end_row(out: &mut Vec<u8>) {
    if out.last() == Some(&b',') {
        out.pop();
    }
    out.extend_from_slice(b"\r\n");
}

/// Copy a Parquet file to `dest` as CSV; returns the rows written.
pub fn table(src: &Path, dest: &Path) -> anyhow::Result<u64> {
    let reader = batches(src)?;
    let schema = reader.schema();
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(dest).with_context(|| format!("cannot create {}", dest.display()))?,
    );
    let mut buf = Vec::with_capacity(1 << 16);
    for field in schema.fields() {
        text_field(&mut buf, field.name());
        buf.push(b',');
    }
    end_row(&mut buf);
    let mut rows = 0;
    for batch in reader {
        let batch = batch.with_context(|| format!("cannot read {}", src.display()))?;
        for i in 0..batch.num_rows() {
            for column in batch.columns() {
                field(&mut buf, column.as_ref(), i)?;
                buf.push(b',');
            }
            end_row(&mut buf);
            if buf.len() > 1 << 16 {
                w.write_all(&buf)?;
                buf.clear();
            }
        }
        rows += batch.num_rows() as u64;
    }
    w.write_all(&buf)?;
    w.flush().with_context(|| format!("cannot write {}", dest.display()))?;
    Ok(rows)
}

/// One cell of an Arrow column as CSV text (empty for null).
fn field(out: &mut Vec<u8>, column: &dyn Array, i: usize) -> anyhow::Result<()> {
    let Some(value) = cell(column, i)? else {
        return Ok(());
    };
    match value {
        Cell::Text(t) => text_field(out, t),
        Cell::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        Cell::Int32(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
        Cell::Int64(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
        Cell::Decimal(d) => out.extend_from_slice(decimal_text(d).as_bytes()),
        Cell::Date(days) => out.extend_from_slice(from_date32(days).format("%Y-%m-%d").to_string().as_bytes()),
        Cell::Timestamp(t) => out.extend_from_slice(format_utc(t, true, "Z").as_bytes()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_inert_and_quotes_are_doubled() {
        let mut out = Vec::new();
        text_field(&mut out, "=HYPERLINK(\"http://x\",\"y\")");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""
        );
        for s in ["+1", "-1", "@a", "\tx", "\rx"] {
            assert!(inert(s).starts_with('\''), "{s:?}");
        }
        assert_eq!(inert("Acme = fine"), "Acme = fine");
    }

    #[test]
    fn decimals_are_exact_text() {
        use rust_decimal::dec;
        assert_eq!(decimal_text(dec!(1.54500)), "1.545");
        assert_eq!(decimal_text(dec!(12.30000)), "12.30");
        assert_eq!(decimal_text(dec!(-7)), "-7.00");
        assert_eq!(decimal_text(dec!(0.00001)), "0.00001");
    }
}
