//! Reading partitions back into their typed rows, through the same column lists that wrote
//! them ([`super::schema`]): a column missing or of another type is an error naming the table
//! and the column, never a silent default.

#![warn(missing_docs)]

use std::path::Path;

use anyhow::Context;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use super::schema::{self, Row};
use crate::layout::Layout;
use crate::model::Period;

/// The rows of a partition file, one record batch (a row group) at a time, so that memory is
/// bounded by the batch rather than the table.
pub struct Rows<R> {
    reader: ParquetRecordBatchReader,
    /// The columns read (all when `None`).
    only: Option<Vec<&'static str>>,
    row: std::marker::PhantomData<R>,
}

impl<R: Row> Iterator for Rows<R> {
    type Item = anyhow::Result<Vec<R>>;

    fn next(&mut self) -> Option<Self::Item> {
        let batch = self.reader.next()?;
        Some(
            batch
                .map_err(anyhow::Error::from)
                .and_then(|b| schema::rows_of(&b, self.only.as_deref())),
        )
    }
}

/// Open a partition file for reading in batches.
pub fn file<R: Row>(path: &Path) -> anyhow::Result<Rows<R>> {
    let f = std::fs::File::open(path)
        .with_context(|| format!("missing {} (run the earlier stages first)", path.display()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(f)
        .with_context(|| format!("cannot read {}", path.display()))?
        .build()?;
    Ok(Rows {
        reader,
        only: None,
        row: std::marker::PhantomData,
    })
}

/// A period's partition of `R`'s table, reading only `columns` (names from `R::COL`); the
/// other fields of each row keep their defaults. For a reader that needs a few columns of a
/// wide table: the others are never decoded.
pub fn partition_columns<R: Row>(layout: &Layout, period: Period, columns: &[&'static str]) -> anyhow::Result<Rows<R>> {
    for name in columns {
        anyhow::ensure!(
            R::COLUMNS.iter().any(|c| c.name == *name),
            "table {} has no column {name}",
            R::TABLE
        );
    }
    let path = layout.parquet_file(R::TABLE, period);
    let f = std::fs::File::open(&path)
        .with_context(|| format!("missing {} (run the earlier stages first)", path.display()))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(f).with_context(|| format!("cannot read {}", path.display()))?;
    let mask = ProjectionMask::columns(builder.parquet_schema(), columns.iter().copied());
    Ok(Rows {
        reader: builder.with_projection(mask).build()?,
        only: Some(columns.to_vec()),
        row: std::marker::PhantomData,
    })
}

/// A period's partition of `R`'s table, in batches.
pub fn partition<R: Row>(layout: &Layout, period: Period) -> anyhow::Result<Rows<R>> {
    file(&layout.parquet_file(R::TABLE, period))
}

/// Every row of a period's partition of `R`'s table (for the small tables).
pub fn all<R: Row>(layout: &Layout, period: Period) -> anyhow::Result<Vec<R>> {
    let mut out = Vec::new();
    for rows in partition::<R>(layout, period)? {
        out.extend(rows?);
    }
    Ok(out)
}
