//! Parquet partitions, replaced atomically: rows stream into a temporary file beside the
//! target in row groups, and only a complete, synced file is renamed over the partition's
//! `part-0.parquet`. Readers see the old partition or the new one, never a mixture.

#![warn(missing_docs)]

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use arrow::array::{Array, Decimal128Array};
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use crate::layout::Layout;
use crate::model::Period;
use crate::store::schema::{Column, DECIMAL_SCALE, Kind, Row, batch, schema};

/// Rows buffered before they become a record batch. A whale's normalize writes its calls and
/// its ledger at once, each holding a buffer of rows and its batch: at 65,536 rows these two
/// were 90 MiB of its 519 MiB peak (427 MiB at this size, in the same time).
const BATCH_ROWS: usize = 16_384;

/// Rows per row group: the unit a reader skips by its statistics, and fetches by range from
/// object storage. Rows are written in account order (CDRs by account, then start time), so
/// one customer's rows lie in one row group or a few, and a query for one customer reads
/// those and skips the rest by the `account_id` min/max. Bigger groups mean fewer, larger
/// ranged reads (a CDR group of this size is a few MiB compressed) and better compression;
/// smaller ones skip more finely. The writer holds one group's encoded pages until it is full.
const ROW_GROUP_ROWS: usize = 262_144;

/// Text columns whose values are (nearly) all distinct (ids, phrases, the numbers people
/// call): a dictionary there only costs time before the writer gives up on it (as it does
/// for timestamps), and their min/max statistics can never let a reader skip a page.
const DISTINCT_VALUED: &[&str] = &[
    "uuid",
    "id",
    "cdr_uuid",
    "reference",
    "description",
    "destination_number",
];

/// What was written, for the manifest.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TableStats {
    /// Rows written.
    pub rows: u64,
    /// Size of the file.
    pub bytes: u64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Exact sums of every decimal column.
    pub sums: std::collections::BTreeMap<String, Decimal>,
}

/// A file hashed as it is written (Parquet is written front to back, never seeking), so the
/// manifest's sha256 needs no second read of the partition at the end of the run, when it
/// was the serial tail of normalize.
struct Hashed {
    file: File,
    sha256: Sha256,
}

impl Write for Hashed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.sha256.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Rows of one table into one period's partition, replaced atomically by [`PartitionWriter::finish`].
pub struct PartitionWriter<R: 'static> {
    target: PathBuf,
    tmp: tempfile::NamedTempFile,
    writer: ArrowWriter<Hashed>,
    columns: &'static [Column<R>],
    schema: SchemaRef,
    buffer: Vec<R>,
    rows: u64,
    sums: Vec<(usize, i128)>,
}

impl<R: Row> PartitionWriter<R> {
    /// The writer of a period's partition of `R`'s table.
    pub fn for_period(layout: &Layout, period: Period, metadata: Vec<(String, String)>) -> anyhow::Result<Self> {
        Self::create(&layout.parquet_file(R::TABLE, period), R::COLUMNS, metadata)
    }
}

impl<R: 'static> PartitionWriter<R> {
    /// Write a partition file at `target` (a temporary beside it until [`PartitionWriter::finish`]).
    pub fn create(
        target: &Path,
        columns: &'static [Column<R>],
        metadata: Vec<(String, String)>,
    ) -> anyhow::Result<Self> {
        let dir = target.parent().expect("partition files live in a directory");
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        // A partition has one writer per run (runs of a period never overlap), so anything
        // temporary already here is what a killed run left behind.
        crate::output::remove_stale_temporaries(dir)?;
        let tmp = crate::output::temporary_in(dir, ".parquet")?;
        let schema = schema(columns);
        let mut props = WriterProperties::builder();
        for c in columns
            .iter()
            .filter(|c| c.kind == Kind::Timestamp || DISTINCT_VALUED.contains(&c.name))
        {
            props = props.set_column_dictionary_enabled(ColumnPath::from(c.name), false);
        }
        for c in columns
            .iter()
            .filter(|c| c.kind == Kind::Text && DISTINCT_VALUED.contains(&c.name))
        {
            props = props.set_column_statistics_enabled(ColumnPath::from(c.name), EnabledStatistics::None);
        }
        let props = props
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(1)?))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_key_value_metadata(Some(
                metadata
                    .into_iter()
                    .map(|(k, v)| parquet::file::metadata::KeyValue::new(k, v))
                    .collect(),
            ))
            .build();
        let file = Hashed {
            file: tmp.as_file().try_clone()?,
            sha256: Sha256::new(),
        };
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))?;
        let sums = columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.kind == Kind::Decimal)
            .map(|(i, _)| (i, 0i128))
            .collect();
        Ok(Self {
            target: target.to_path_buf(),
            tmp,
            writer,
            columns,
            schema,
            buffer: Vec::with_capacity(1024),
            rows: 0,
            sums,
        })
    }

    /// Add a row; a full row group is encoded and written.
    pub fn push(&mut self, row: R) -> anyhow::Result<()> {
        self.buffer.push(row);
        if self.buffer.len() >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let b = batch(&self.schema, self.columns, &self.buffer);
        for (i, sum) in &mut self.sums {
            let col = b
                .column(*i)
                .as_any()
                .downcast_ref::<Decimal128Array>()
                .expect("decimal column");
            *sum += col.iter().flatten().sum::<i128>();
        }
        self.writer.write(&b)?;
        self.rows += self.buffer.len() as u64;
        self.buffer.clear();
        Ok(())
    }

    /// Close the file, sync it and move it over the partition.
    pub fn finish(mut self) -> anyhow::Result<TableStats> {
        self.flush()?;
        // Writes the footer and hands back the file, every byte of it hashed.
        let Hashed { file, sha256 } = self.writer.into_inner()?;
        file.sync_all()?;
        let bytes = file.metadata()?.len();
        let sha256 = hex(&sha256.finalize());
        crate::crashpoint::here("parquet.before-rename");
        self.tmp
            .persist(&self.target)
            .with_context(|| format!("cannot replace {}", self.target.display()))?;
        if let Some(dir) = self.target.parent() {
            // Make the rename itself durable.
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        let sums = self
            .sums
            .iter()
            .map(|&(i, s)| {
                (
                    self.columns[i].name.to_string(),
                    Decimal::from_i128_with_scale(s, DECIMAL_SCALE as u32),
                )
            })
            .collect();
        Ok(TableStats {
            rows: self.rows,
            bytes,
            sha256,
            sums,
        })
    }
}

/// The SHA-256 of a file, in hex.
pub fn sha256_of(path: &Path) -> anyhow::Result<String> {
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// The SHA-256 of bytes, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// A digest in hex, as [`sha256_of`] gives it (for a hash computed while streaming).
pub fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use rust_decimal::dec;

    use super::*;
    use crate::store::normalized::{ANALYTICS_COLUMNS, AnalyticsDayRow};

    #[test]
    fn the_hash_taken_while_writing_is_the_hash_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("t/part-0.parquet");
        let mut w = PartitionWriter::create(&target, ANALYTICS_COLUMNS, vec![("k".into(), "v".into())]).unwrap();
        // More than one row group, so that the file is written in several pieces.
        for day in 0..(ROW_GROUP_ROWS as i32 + 10) {
            w.push(AnalyticsDayRow {
                date: day,
                currency: "INR".into(),
                total_calls: day.into(),
                answered_calls: 1,
                total_minutes: dec!(1.5),
                total_cost: dec!(0.12345),
                inbound_calls: 0,
                inbound_answered: 0,
                inbound_minutes: Decimal::ZERO,
                outbound_calls: 1,
                outbound_answered: 1,
                outbound_minutes: dec!(1.5),
            })
            .unwrap();
        }
        let stats = w.finish().unwrap();
        assert_eq!(stats.rows, ROW_GROUP_ROWS as u64 + 10);
        assert_eq!(stats.bytes, std::fs::metadata(&target).unwrap().len());
        assert_eq!(stats.sha256, sha256_of(&target).unwrap());
        // Row groups of the configured size, not of the record batches, each with statistics.
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let meta = SerializedFileReader::new(File::open(&target).unwrap())
            .unwrap()
            .metadata()
            .clone();
        let groups: Vec<i64> = meta.row_groups().iter().map(|g| g.num_rows()).collect();
        assert_eq!(groups, [ROW_GROUP_ROWS as i64, 10]);
        assert!(meta.row_groups().iter().all(|g| g.column(0).statistics().is_some()));
    }
}
