//! Every table's schema, defined once: [`table!`] declares a row struct and its column list
//! together, and both the Parquet writer (rows → Arrow arrays) and the typed reader (Arrow
//! arrays → rows) go through that list. A column's Arrow type is named in the declaration;
//! its nullability follows from the field's Rust type (`Option<_>` is nullable). Adding a
//! column is one line in the declaration plus the code that fills it. A field whose Rust type
//! cannot hold the declared Arrow type (an `i64` declared `Text`) is caught by the store's
//! unit test over every table, and refused by the reader naming the column.

#![warn(missing_docs)]

use std::sync::Arc;

use anyhow::{Context, bail};
use arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, Decimal128Array, Int32Array, Int64Array, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use rust_decimal::Decimal;

use crate::layout::Table;

/// Money and other exact decimals: `Decimal128(20, 5)`.
pub const DECIMAL_PRECISION: u8 = 20;
/// 5 of them after the point (the API sends at most 5).
pub const DECIMAL_SCALE: i8 = 5;

/// A column's Arrow type, as the schema names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `Utf8`.
    Text,
    /// `Decimal128(20, 5)`.
    Decimal,
    /// `Timestamp(Microsecond, "UTC")`, held as microseconds since the epoch.
    Timestamp,
    /// `Date32`, held as days since 1970-01-01.
    Date,
    /// `Int32`.
    Int32,
    /// `Int64`.
    Int64,
    /// `Boolean`.
    Bool,
}

impl Kind {
    /// The Arrow type of a column of this kind.
    pub fn data_type(self) -> DataType {
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

/// One column of a table: its name and type, how to build its array from rows, and how to
/// read it back into rows.
pub struct Column<R> {
    /// The column's name in the file.
    pub name: &'static str,
    /// Its Arrow type.
    pub kind: Kind,
    /// Whether it may hold nulls (its field is an `Option`).
    pub nullable: bool,
    /// The column of a slice of rows, as an Arrow array.
    pub build: fn(&[R]) -> ArrayRef,
    /// An Arrow array of this column, into the same field of each row.
    pub read: fn(&dyn Array, &mut [R]) -> anyhow::Result<()>,
    /// This field of a row, appended as bytes (an external sort's runs, [`put_row`]).
    pub put: fn(&R, &mut Vec<u8>),
    /// This field of a row, from the bytes `put` wrote ([`take_row`]).
    pub take: fn(&mut &[u8], &mut R) -> anyhow::Result<()>,
}

/// A table's row type: [`table!`] implements it.
pub trait Row: Default + Sized + 'static {
    /// Where the table is stored.
    const TABLE: Table;
    /// Its columns, in file order.
    const COLUMNS: &'static [Column<Self>];
}

/// `table! { #[derive(..)] pub struct XRow for Table::X, in X_COLUMNS, names XNames { field: Type as Kind, .. } }`
///
/// Declares the row struct, its column list (one column per field, in field order, named as
/// the field unless `= "name"` follows the kind), its column names (`XRow::COL.field`) and its
/// [`Row`] impl.
macro_rules! table {
    (
        $(#[$meta:meta])*
        pub struct $row:ident for $table:expr, in $columns:ident, names $names:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty as $kind:ident $(= $name:literal)?
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        pub struct $row {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        pub const $columns: &[$crate::store::schema::Column<$row>] = &[
            $(
                $crate::store::schema::Column {
                    name: $crate::store::schema::table!(@name $field $($name)?),
                    kind: $crate::store::schema::Kind::$kind,
                    nullable: <$ty as $crate::store::schema::Cell>::NULLABLE,
                    build: |rows| {
                        <$ty as $crate::store::schema::Cell>::build(
                            $crate::store::schema::Kind::$kind,
                            rows.iter().map(|r| &r.$field),
                        )
                    },
                    read: |array, rows| {
                        <$ty as $crate::store::schema::Cell>::read(
                            $crate::store::schema::Kind::$kind,
                            $crate::store::schema::table!(@name $field $($name)?),
                            array,
                            rows.iter_mut().map(|r| &mut r.$field),
                        )
                    },
                    put: |row, out| <$ty as $crate::store::schema::Cell>::put(&row.$field, out),
                    take: |bytes, row| {
                        row.$field = <$ty as $crate::store::schema::Cell>::take(bytes)?;
                        Ok(())
                    },
                },
            )*
        ];

        /// The table's column names, one field each: code that names a column (a polars
        /// query) goes through these, so a renamed column does not compile there.
        #[derive(Debug, Clone, Copy)]
        pub struct $names {
            $( pub $field: &'static str, )*
        }

        impl $row {
            pub const COL: $names = $names {
                $( $field: $crate::store::schema::table!(@name $field $($name)?), )*
            };
        }

        impl $crate::store::schema::Row for $row {
            const TABLE: $crate::layout::Table = $table;
            const COLUMNS: &'static [$crate::store::schema::Column<Self>] = $columns;
        }
    };
    (@name $field:ident) => { stringify!($field) };
    (@name $field:ident $name:literal) => { $name };
}
pub(crate) use table;

/// The Arrow schema of a column list.
pub fn schema<R>(columns: &[Column<R>]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| Field::new(c.name, c.kind.data_type(), c.nullable))
            .collect::<Vec<_>>(),
    ))
}

/// Rows as one record batch of the schema.
pub fn batch<R>(schema: &SchemaRef, columns: &[Column<R>], rows: &[R]) -> RecordBatch {
    let arrays: Vec<ArrayRef> = columns.iter().map(|c| (c.build)(rows)).collect();
    RecordBatch::try_new(schema.clone(), arrays).expect("columns match their schema by construction")
}

/// A record batch as rows: every column of the list, checked against its declared type.
pub fn rows<R: Row>(batch: &RecordBatch) -> anyhow::Result<Vec<R>> {
    rows_of(batch, None)
}

/// The rows of a batch read with only `only` of `R`'s columns; the other fields keep their
/// defaults. `None` reads every column.
pub fn rows_of<R: Row>(batch: &RecordBatch, only: Option<&[&'static str]>) -> anyhow::Result<Vec<R>> {
    let mut rows: Vec<R> = std::iter::repeat_with(R::default).take(batch.num_rows()).collect();
    let wanted = |name: &str| only.is_none_or(|names| names.contains(&name));
    for c in R::COLUMNS.iter().filter(|c| wanted(c.name)) {
        let array = batch
            .column_by_name(c.name)
            .with_context(|| format!("table {}: no column {}", R::TABLE, c.name))?;
        anyhow::ensure!(
            array.data_type() == &c.kind.data_type(),
            "table {}: column {} is {}, expected {}",
            R::TABLE,
            c.name,
            array.data_type(),
            c.kind.data_type()
        );
        (c.read)(array.as_ref(), &mut rows).with_context(|| format!("table {}", R::TABLE))?;
    }
    Ok(rows)
}

/// A Rust type a column can hold: how a column of them becomes an Arrow array and back.
/// Implemented for each value type and its `Option` (the nullable column).
pub trait Cell: Sized {
    /// `Option<_>` is a nullable column.
    const NULLABLE: bool;
    /// A column of values as an Arrow array of `kind`.
    fn build<'a>(kind: Kind, values: impl Iterator<Item = &'a Self>) -> ArrayRef
    where
        Self: 'a;
    /// An Arrow array of `kind` into one value per slot.
    fn read<'a>(
        kind: Kind,
        name: &str,
        array: &dyn Array,
        out: impl Iterator<Item = &'a mut Self>,
    ) -> anyhow::Result<()>
    where
        Self: 'a;
    /// The value as bytes, appended to `out` (see [`put_row`]).
    fn put(&self, out: &mut Vec<u8>);
    /// The value `put` wrote at the front of `bytes`, which move past it.
    fn take(bytes: &mut &[u8]) -> anyhow::Result<Self>;
}

/// A non-null value type: the array builders for a column of values and of optional values,
/// and the value at a (valid) index of an array.
pub trait Value: Sized {
    /// A column of values as an Arrow array of `kind`.
    fn build_values<'a>(kind: Kind, values: impl Iterator<Item = &'a Self>) -> ArrayRef
    where
        Self: 'a;
    /// A column of optional values as an Arrow array of `kind`.
    fn build_options<'a>(kind: Kind, values: impl Iterator<Item = Option<&'a Self>>) -> ArrayRef
    where
        Self: 'a;
    /// The value at a valid index of an array of a fitting kind.
    fn value_at(array: &dyn Array, i: usize) -> anyhow::Result<Self>;
    /// Whether an array of `kind` can be read as this type.
    fn fits(kind: Kind) -> bool;
    /// The value as bytes, appended to `out`.
    fn put_value(&self, out: &mut Vec<u8>);
    /// The value `put_value` wrote at the front of `bytes`, which move past it.
    fn take_value(bytes: &mut &[u8]) -> anyhow::Result<Self>;
}

fn downcast<'a, T: 'static>(array: &'a dyn Array, name: &str) -> anyhow::Result<&'a T> {
    array
        .as_any()
        .downcast_ref::<T>()
        .with_context(|| format!("column {name} has an unexpected type {}", array.data_type()))
}

macro_rules! cells {
    ($($t:ty),*) => {$(
        impl Cell for $t {
            const NULLABLE: bool = false;
            fn build<'a>(kind: Kind, values: impl Iterator<Item = &'a Self>) -> ArrayRef {
                <$t as Value>::build_values(kind, values)
            }
            fn read<'a>(kind: Kind, name: &str, array: &dyn Array, out: impl Iterator<Item = &'a mut Self>) -> anyhow::Result<()> {
                check_fits::<$t>(kind, name)?;
                for (i, slot) in out.enumerate() {
                    if array.is_null(i) {
                        bail!("column {name} has a null at row {i}, where the schema has none");
                    }
                    *slot = <$t as Value>::value_at(array, i)?;
                }
                Ok(())
            }
            fn put(&self, out: &mut Vec<u8>) {
                self.put_value(out)
            }
            fn take(bytes: &mut &[u8]) -> anyhow::Result<Self> {
                <$t as Value>::take_value(bytes)
            }
        }

        impl Cell for Option<$t> {
            const NULLABLE: bool = true;
            fn build<'a>(kind: Kind, values: impl Iterator<Item = &'a Self>) -> ArrayRef {
                <$t as Value>::build_options(kind, values.map(Option::as_ref))
            }
            fn read<'a>(kind: Kind, name: &str, array: &dyn Array, out: impl Iterator<Item = &'a mut Self>) -> anyhow::Result<()> {
                check_fits::<$t>(kind, name)?;
                for (i, slot) in out.enumerate() {
                    *slot = array.is_valid(i).then(|| <$t as Value>::value_at(array, i)).transpose()?;
                }
                Ok(())
            }
            fn put(&self, out: &mut Vec<u8>) {
                match self {
                    None => out.push(0),
                    Some(v) => {
                        out.push(1);
                        v.put_value(out);
                    }
                }
            }
            fn take(bytes: &mut &[u8]) -> anyhow::Result<Self> {
                match take_array::<1>(bytes)? {
                    [0] => Ok(None),
                    [1] => <$t as Value>::take_value(bytes).map(Some),
                    [tag] => bail!("a sort run has {tag} where an optional value's tag belongs"),
                }
            }
        }
    )*};
}

fn check_fits<T: Value>(kind: Kind, name: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        T::fits(kind),
        "column {name}: {} cannot hold {kind:?}",
        std::any::type_name::<T>()
    );
    Ok(())
}

cells!(String, compact_str::CompactString, Decimal, i64, i32, bool);

/// Text columns: `String` for small tables, `CompactString` (inline up to 24 bytes) for the
/// rows of the big ones.
macro_rules! text_value {
    ($t:ty) => {
        impl Value for $t {
            fn build_values<'a>(_: Kind, values: impl Iterator<Item = &'a Self>) -> ArrayRef {
                text(values.map(|s| s.as_str()))
            }
            fn build_options<'a>(_: Kind, values: impl Iterator<Item = Option<&'a Self>>) -> ArrayRef {
                text_opt(values.map(|s| s.map(|s| s.as_str())))
            }
            fn value_at(array: &dyn Array, i: usize) -> anyhow::Result<Self> {
                Ok({
                    array
                        .as_any()
                        .downcast_ref::<StringArray>()
                        .expect("checked type")
                        .value(i)
                        .into()
                })
            }
            fn fits(kind: Kind) -> bool {
                kind == Kind::Text
            }
            fn put_value(&self, out: &mut Vec<u8>) {
                put_text(self, out)
            }
            fn take_value(bytes: &mut &[u8]) -> anyhow::Result<Self> {
                take_text(bytes).map(Into::into)
            }
        }
    };
}
text_value!(String);
text_value!(compact_str::CompactString);

impl Value for Decimal {
    fn build_values<'a>(_: Kind, values: impl Iterator<Item = &'a Self>) -> ArrayRef {
        decimal(values.copied())
    }
    fn build_options<'a>(_: Kind, values: impl Iterator<Item = Option<&'a Self>>) -> ArrayRef {
        decimal_opt(values.map(|d| d.copied()))
    }
    fn value_at(array: &dyn Array, i: usize) -> anyhow::Result<Self> {
        let a = array.as_any().downcast_ref::<Decimal128Array>().expect("checked type");
        Decimal::try_from_i128_with_scale(a.value(i), DECIMAL_SCALE as u32)
            .with_context(|| format!("{} is out of a decimal's range", a.value(i)))
    }
    fn fits(kind: Kind) -> bool {
        kind == Kind::Decimal
    }
    /// Sign and scale in one byte, then the mantissa's magnitude in 7-bit groups: as they
    /// are (no rescaling, a negative zero stays one), so a row read back from a run is the
    /// row that was sorted, to the last digit of its scale. Money has a few digits: 3 to 5
    /// bytes where the fixed 16 were most of a charge's bytes on disk.
    fn put_value(&self, out: &mut Vec<u8>) {
        out.push(self.scale() as u8 | u8::from(self.is_sign_negative()) << 7);
        put_varint(self.mantissa().unsigned_abs(), out);
    }
    fn take_value(bytes: &mut &[u8]) -> anyhow::Result<Self> {
        let [head] = take_array::<1>(bytes)?;
        let scale = u32::from(head & 0x7f);
        anyhow::ensure!(scale <= Decimal::MAX_SCALE, "a sort run has a decimal of scale {scale}");
        let m = take_varint(bytes)?;
        anyhow::ensure!(m >> 96 == 0, "a sort run has a decimal of over 96 bits");
        Ok(Decimal::from_parts(
            m as u32,
            (m >> 32) as u32,
            (m >> 64) as u32,
            head & 0x80 != 0,
            scale,
        ))
    }
}

/// Microseconds (timestamps) or a plain count.
impl Value for i64 {
    fn build_values<'a>(kind: Kind, values: impl Iterator<Item = &'a Self>) -> ArrayRef {
        match kind {
            Kind::Timestamp => timestamp(values.copied()),
            _ => int64(values.copied()),
        }
    }
    fn build_options<'a>(kind: Kind, values: impl Iterator<Item = Option<&'a Self>>) -> ArrayRef {
        match kind {
            Kind::Timestamp => timestamp_opt(values.map(|v| v.copied())),
            _ => int64_opt(values.map(|v| v.copied())),
        }
    }
    fn value_at(array: &dyn Array, i: usize) -> anyhow::Result<Self> {
        Ok({
            match array.as_any().downcast_ref::<TimestampMicrosecondArray>() {
                Some(a) => a.value(i),
                None => array
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .expect("checked type")
                    .value(i),
            }
        })
    }
    fn fits(kind: Kind) -> bool {
        matches!(kind, Kind::Timestamp | Kind::Int64)
    }
    fn put_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes())
    }
    fn take_value(bytes: &mut &[u8]) -> anyhow::Result<Self> {
        Ok(i64::from_le_bytes(take_array(bytes)?))
    }
}

/// Days since the epoch (dates) or a plain count.
impl Value for i32 {
    fn build_values<'a>(kind: Kind, values: impl Iterator<Item = &'a Self>) -> ArrayRef {
        match kind {
            Kind::Date => date(values.copied()),
            _ => int32(values.copied()),
        }
    }
    fn build_options<'a>(kind: Kind, values: impl Iterator<Item = Option<&'a Self>>) -> ArrayRef {
        match kind {
            Kind::Date => Arc::new(Date32Array::from_iter(values.map(|v| v.copied()))),
            _ => int32_opt(values.map(|v| v.copied())),
        }
    }
    fn value_at(array: &dyn Array, i: usize) -> anyhow::Result<Self> {
        Ok({
            match array.as_any().downcast_ref::<Date32Array>() {
                Some(a) => a.value(i),
                None => array
                    .as_any()
                    .downcast_ref::<Int32Array>()
                    .expect("checked type")
                    .value(i),
            }
        })
    }
    fn fits(kind: Kind) -> bool {
        matches!(kind, Kind::Date | Kind::Int32)
    }
    fn put_value(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes())
    }
    fn take_value(bytes: &mut &[u8]) -> anyhow::Result<Self> {
        Ok(i32::from_le_bytes(take_array(bytes)?))
    }
}

impl Value for bool {
    fn build_values<'a>(_: Kind, values: impl Iterator<Item = &'a Self>) -> ArrayRef {
        boolean(values.copied())
    }
    fn build_options<'a>(_: Kind, values: impl Iterator<Item = Option<&'a Self>>) -> ArrayRef {
        boolean_opt(values.map(|v| v.copied()))
    }
    fn value_at(array: &dyn Array, i: usize) -> anyhow::Result<Self> {
        Ok({
            array
                .as_any()
                .downcast_ref::<BooleanArray>()
                .expect("checked type")
                .value(i)
        })
    }
    fn fits(kind: Kind) -> bool {
        kind == Kind::Bool
    }
    fn put_value(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self))
    }
    fn take_value(bytes: &mut &[u8]) -> anyhow::Result<Self> {
        match take_array::<1>(bytes)? {
            [0] => Ok(false),
            [1] => Ok(true),
            [b] => bail!("a sort run has {b} where a boolean belongs"),
        }
    }
}

/// An enum stored as text (a severity, a kind): its name, and its parse back.
pub trait TextEnum: Sized + Copy + 'static {
    /// The text stored for the value.
    fn as_str(self) -> &'static str;
    /// The value a stored text names, if any.
    fn parse(s: &str) -> Option<Self>;
}

/// `text_enum!(Treatment)`: a model enum with inherent `as_str` and `parse` (its names are
/// the model's) is a non-null text column.
macro_rules! text_enum {
    ($t:ty) => {
        impl $crate::store::schema::TextEnum for $t {
            fn as_str(self) -> &'static str {
                <$t>::as_str(self)
            }

            fn parse(s: &str) -> Option<Self> {
                <$t>::parse(s)
            }
        }

        $crate::store::schema::text_enum_cell!($t);
    };
}
pub(crate) use text_enum;

/// `text_enum_cell!(Severity)`: the enum is a non-null text column.
macro_rules! text_enum_cell {
    ($t:ty) => {
        impl $crate::store::schema::Cell for $t {
            const NULLABLE: bool = false;
            fn build<'a>(
                _: $crate::store::schema::Kind,
                values: impl Iterator<Item = &'a Self>,
            ) -> arrow::array::ArrayRef {
                $crate::store::schema::text(values.map(|v| $crate::store::schema::TextEnum::as_str(*v)))
            }
            fn read<'a>(
                kind: $crate::store::schema::Kind,
                name: &str,
                array: &dyn arrow::array::Array,
                out: impl Iterator<Item = &'a mut Self>,
            ) -> anyhow::Result<()> {
                $crate::store::schema::read_text_enum(kind, name, array, out)
            }
            fn put(&self, out: &mut Vec<u8>) {
                $crate::store::schema::put_text($crate::store::schema::TextEnum::as_str(*self), out)
            }
            fn take(bytes: &mut &[u8]) -> anyhow::Result<Self> {
                $crate::store::schema::take_text_enum(bytes)
            }
        }
    };
}
pub(crate) use text_enum_cell;

pub(crate) fn read_text_enum<'a, E: TextEnum>(
    kind: Kind,
    name: &str,
    array: &dyn Array,
    out: impl Iterator<Item = &'a mut E>,
) -> anyhow::Result<()> {
    anyhow::ensure!(kind == Kind::Text, "column {name}: an enum is stored as text");
    let a: &StringArray = downcast(array, name)?;
    for (i, slot) in out.enumerate() {
        anyhow::ensure!(a.is_valid(i), "column {name} has a null at row {i}");
        *slot = E::parse(a.value(i)).with_context(|| format!("column {name}: unknown value {:?}", a.value(i)))?;
    }
    Ok(())
}

pub(crate) fn take_text_enum<E: TextEnum>(bytes: &mut &[u8]) -> anyhow::Result<E> {
    let text = take_text(bytes)?;
    E::parse(text).with_context(|| format!("a sort run names an unknown value {text:?}"))
}

/// A row as bytes, every column's field in column order: the format of an external sort's
/// runs ([`super::sort`]). Only this process reads them back, within the run, so there is no
/// header or version; numbers are little-endian, text is its length (LEB128) and its UTF-8,
/// an optional value is a tag byte (0 none, 1 some) and the value. Decoding Arrow arrays
/// back into rows cost more than the sort itself; this costs a copy.
pub fn put_row<R: Row>(row: &R, out: &mut Vec<u8>) {
    for c in R::COLUMNS {
        (c.put)(row, out);
    }
}

/// The row [`put_row`] wrote at the front of `bytes`, which move past it. Bytes that end
/// early or do not decode are an error, never a default.
pub fn take_row<R: Row>(bytes: &mut &[u8]) -> anyhow::Result<R> {
    let mut row = R::default();
    for c in R::COLUMNS {
        (c.take)(bytes, &mut row).with_context(|| format!("table {}, column {}", R::TABLE, c.name))?;
    }
    Ok(row)
}

/// The first `n` bytes, which `bytes` move past.
fn take_bytes<'a>(bytes: &mut &'a [u8], n: usize) -> anyhow::Result<&'a [u8]> {
    anyhow::ensure!(bytes.len() >= n, "a sort run ends inside a row");
    let (head, rest) = bytes.split_at(n);
    *bytes = rest;
    Ok(head)
}

fn take_array<const N: usize>(bytes: &mut &[u8]) -> anyhow::Result<[u8; N]> {
    Ok(take_bytes(bytes, N)?.try_into().expect("N bytes were taken"))
}

/// `n` in groups of 7 bits, least significant first, each but the last with its high bit set.
fn put_varint(mut n: u128, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn take_varint(bytes: &mut &[u8]) -> anyhow::Result<u128> {
    // Most are one byte (a text's length, a small amount).
    if let [b @ 0..0x80, rest @ ..] = *bytes {
        *bytes = rest;
        return Ok(u128::from(*b));
    }
    let mut n = 0u128;
    for shift in (0..u128::BITS).step_by(7) {
        let [b] = take_array::<1>(bytes)?;
        anyhow::ensure!(shift < 126 || b < 4, "a sort run holds a number of over 128 bits");
        n |= u128::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Ok(n);
        }
    }
    bail!("a sort run holds a number of over {} bits", u128::BITS)
}

pub(crate) fn put_text(text: &str, out: &mut Vec<u8>) {
    put_varint(text.len() as u128, out);
    out.extend_from_slice(text.as_bytes());
}

fn take_text<'a>(bytes: &mut &'a [u8]) -> anyhow::Result<&'a str> {
    let n = usize::try_from(take_varint(bytes)?).context("a sort run holds a text longer than memory")?;
    std::str::from_utf8(take_bytes(bytes, n)?).context("a sort run holds text that is not UTF-8")
}

/// The unscaled value at scale 5. Values were checked to have at most 5 places on the way in.
fn unscaled(d: Decimal) -> i128 {
    let mut d = d;
    d.rescale(DECIMAL_SCALE as u32);
    d.mantissa()
}

pub(crate) fn text<'a>(it: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(it))
}

fn text_opt<'a>(it: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(StringArray::from_iter(it))
}

fn decimal(it: impl Iterator<Item = Decimal>) -> ArrayRef {
    decimal_opt(it.map(Some))
}

fn decimal_opt(it: impl Iterator<Item = Option<Decimal>>) -> ArrayRef {
    Arc::new(
        Decimal128Array::from_iter(it.map(|d| d.map(unscaled)))
            .with_precision_and_scale(DECIMAL_PRECISION, DECIMAL_SCALE)
            .expect("valid precision"),
    )
}

fn timestamp(it: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from_iter_values(it).with_timezone("UTC"))
}

fn timestamp_opt(it: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from_iter(it).with_timezone("UTC"))
}

fn date(it: impl Iterator<Item = i32>) -> ArrayRef {
    Arc::new(Date32Array::from_iter_values(it))
}

fn int32(it: impl Iterator<Item = i32>) -> ArrayRef {
    Arc::new(Int32Array::from_iter_values(it))
}

fn int32_opt(it: impl Iterator<Item = Option<i32>>) -> ArrayRef {
    Arc::new(Int32Array::from_iter(it))
}

fn int64(it: impl Iterator<Item = i64>) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(it))
}

fn int64_opt(it: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(Int64Array::from_iter(it))
}

fn boolean_opt(it: impl Iterator<Item = Option<bool>>) -> ArrayRef {
    Arc::new(BooleanArray::from_iter(it))
}

fn boolean(it: impl Iterator<Item = bool>) -> ArrayRef {
    Arc::new(BooleanArray::from_iter(it.map(Some)))
}
