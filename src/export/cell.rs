//! One value of a stored table, whatever its column's Arrow type: what the CSV and the
//! workbook writers both read, so that a table's types are decoded in one place.

use std::path::Path;

use anyhow::{Context, bail};
use arrow::array::{Array, AsArray};
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Int32Type, Int64Type, TimeUnit, TimestampMicrosecondType,
};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use rust_decimal::Decimal;

/// A non-null value of one of the kinds `store::schema::Kind` writes.
pub enum Cell<'a> {
    Text(&'a str),
    Bool(bool),
    Int32(i32),
    Int64(i64),
    Decimal(Decimal),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since the epoch, UTC.
    Timestamp(i64),
}

/// Row `i` of `column`; `None` for null.
pub fn cell(column: &dyn Array, i: usize) -> anyhow::Result<Option<Cell<'_>>> {
    if column.is_null(i) {
        return Ok(None);
    }
    Ok(Some(match column.data_type() {
        DataType::Utf8 => Cell::Text(column.as_string::<i32>().value(i)),
        DataType::Boolean => Cell::Bool(column.as_boolean().value(i)),
        DataType::Int32 => Cell::Int32(column.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => Cell::Int64(column.as_primitive::<Int64Type>().value(i)),
        DataType::Decimal128(_, scale) => {
            let v = column.as_primitive::<Decimal128Type>().value(i);
            Cell::Decimal(Decimal::try_from_i128_with_scale(v, *scale as u32).context("decimal out of range")?)
        }
        DataType::Date32 => Cell::Date(column.as_primitive::<Date32Type>().value(i)),
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            Cell::Timestamp(column.as_primitive::<TimestampMicrosecondType>().value(i))
        }
        other => bail!("no export form for a column of {other}"),
    }))
}

/// A Parquet file's record batches, all columns, one batch at a time.
pub fn batches(src: &Path) -> anyhow::Result<ParquetRecordBatchReader> {
    let f = std::fs::File::open(src).with_context(|| format!("cannot open {}", src.display()))?;
    Ok(ParquetRecordBatchReaderBuilder::try_new(f)
        .with_context(|| format!("cannot read {}", src.display()))?
        .build()?)
}
