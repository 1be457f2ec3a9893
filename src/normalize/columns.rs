//! Typed columns: each table is a list of [`Column`]s, and both its Arrow schema and its
//! record batches come from that one list, so they cannot drift apart.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Int32Array, Int64Array, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use rust_decimal::Decimal;

/// Money and other exact decimals: `Decimal128(20, 5)`.
pub const DECIMAL_PRECISION: u8 = 20;
pub const DECIMAL_SCALE: i8 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Decimal,
    Timestamp,
    Date,
    Int32,
    Int64,
    Bool,
}

impl Kind {
    fn data_type(self) -> DataType {
        match self {
            Kind::Text => DataType::Utf8,
            Kind::Decimal => DataType::Decimal128(DECIMAL_PRECISION, DECIMAL_SCALE),
            Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            Kind::Date => DataType::Date32,
            Kind::Int32 => DataType::Int32,
            Kind::Int64 => DataType::Int64,
            Kind::Bool => DataType::Boolean,
        }
    }
}

/// `col!("name", Kind, nullable, |rows| array)`: one entry of a table's column list.
macro_rules! col {
    ($name:literal, $kind:ident, $nullable:literal, |$rows:ident| $build:expr) => {
        $crate::normalize::columns::Column {
            name: $name,
            kind: $crate::normalize::columns::Kind::$kind,
            nullable: $nullable,
            build: |$rows| $build,
        }
    };
}
pub(crate) use col;

pub struct Column<R> {
    pub name: &'static str,
    pub kind: Kind,
    pub nullable: bool,
    pub build: fn(&[R]) -> ArrayRef,
}

pub fn schema<R>(columns: &[Column<R>]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| Field::new(c.name, c.kind.data_type(), c.nullable))
            .collect::<Vec<_>>(),
    ))
}

pub fn batch<R>(schema: &SchemaRef, columns: &[Column<R>], rows: &[R]) -> RecordBatch {
    let arrays: Vec<ArrayRef> = columns.iter().map(|c| (c.build)(rows)).collect();
    RecordBatch::try_new(schema.clone(), arrays).expect("columns match their schema by construction")
}

/// The unscaled value at scale 5. Values were checked to have at most 5 places on the way in.
pub fn unscaled(d: Decimal) -> i128 {
    let mut d = d;
    d.rescale(DECIMAL_SCALE as u32);
    d.mantissa()
}

pub fn text<'a>(it: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(it))
}

pub fn text_opt<'a>(it: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(StringArray::from_iter(it))
}

pub fn decimal(it: impl Iterator<Item = Decimal>) -> ArrayRef {
    decimal_opt(it.map(Some))
}

pub fn decimal_opt(it: impl Iterator<Item = Option<Decimal>>) -> ArrayRef {
    Arc::new(
        Decimal128Array::from_iter(it.map(|d| d.map(unscaled)))
            .with_precision_and_scale(DECIMAL_PRECISION, DECIMAL_SCALE)
            .expect("valid precision"),
    )
}

pub fn timestamp(it: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from_iter_values(it).with_timezone("UTC"))
}

pub fn timestamp_opt(it: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from_iter(it).with_timezone("UTC"))
}

pub fn date(it: impl Iterator<Item = i32>) -> ArrayRef {
    Arc::new(Date32Array::from_iter_values(it))
}

pub fn int32(it: impl Iterator<Item = i32>) -> ArrayRef {
    Arc::new(Int32Array::from_iter_values(it))
}

pub fn int32_opt(it: impl Iterator<Item = Option<i32>>) -> ArrayRef {
    Arc::new(Int32Array::from_iter(it))
}

pub fn int64(it: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(it))
}

pub fn int64_opt(it: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(Int64Array::from_iter(it))
}

pub fn boolean_opt(it: impl Iterator<Item = Option<bool>>) -> ArrayRef {
    Arc::new(BooleanArray::from_iter(it))
}

pub fn boolean(it: impl Iterator<Item = bool>) -> ArrayRef {
    Arc::new(BooleanArray::from_iter(it.map(Some)))
}
