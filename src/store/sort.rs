//! An external merge sort of table rows, so that sorting an account's rows takes memory
//! bounded by a row count, not by the account: rows are buffered up to that count, a full
//! buffer is sorted and written to a temporary Parquet file (a run), and the runs are merged.
//! An account that fits in one buffer is sorted in memory and never touches the disk.
//!
//! The sort is stable: rows that compare equal come out in the order they were pushed (each
//! run is sorted stably, and equal heads of two runs are taken from the earlier run). So
//! "the first row of each key" is still the first one that arrived, as deduplication needs.

#![warn(missing_docs)]

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use anyhow::Context;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use super::read;
use super::schema::{Row, batch, schema};

/// Rows per row group of a run: what its writer holds encoded before writing it out (a merge
/// reads a run a page at a time, whatever its groups).
const RUN_GROUP_ROWS: usize = 8_192;

/// Rows per data page of a run, and per batch read back.
const RUN_PAGE_ROWS: usize = 1_024;

/// Runs merged at once: one open file, one decoded page of each column and one batch each
/// (about 1 MiB). At the default `sort_rows` a 3M-call customer's sorts have fewer runs than
/// this, so each is merged in one pass.
const FAN_IN: usize = 128;

/// Rows of `R` in the order of `cmp`, however many are pushed.
pub struct Sorter<R: Row> {
    cmp: fn(&R, &R) -> Ordering,
    capacity: usize,
    buffer: Vec<R>,
    dir: PathBuf,
    schema: arrow::datatypes::SchemaRef,
    /// Runs on disk, by path only: a file is open only while it is merged.
    runs: Vec<tempfile::TempPath>,
    /// Buffers sorted and written as runs so far.
    spilled: usize,
    /// [`FAN_IN`] (fewer in a test).
    fan_in: usize,
    /// The run being written.
    writing: Option<(tempfile::NamedTempFile, ArrowWriter<std::fs::File>)>,
}

impl<R: Row> Sorter<R> {
    /// Sort by `cmp`, holding at most `capacity` rows; runs go to temporary files in `dir`
    /// (named `.tmp-…`, so a killed run's leftovers are swept like any other temporary).
    pub fn new(cmp: fn(&R, &R) -> Ordering, capacity: usize, dir: &Path) -> Self {
        Self {
            cmp,
            capacity: capacity.max(1),
            buffer: Vec::new(),
            dir: dir.to_path_buf(),
            schema: schema(R::COLUMNS),
            runs: Vec::new(),
            spilled: 0,
            fan_in: FAN_IN,
            writing: None,
        }
    }

    /// Add a row; a full buffer becomes a run on disk.
    pub fn push(&mut self, row: R) -> anyhow::Result<()> {
        self.buffer.push(row);
        if self.buffer.len() >= self.capacity {
            self.spill()?;
        }
        Ok(())
    }

    /// Sort the buffer and write it as a run.
    fn spill(&mut self) -> anyhow::Result<()> {
        // Taken, so that its memory goes back when the run is written, not when the next
        // buffer is full.
        let mut rows = std::mem::take(&mut self.buffer);
        sort_stably(&mut rows, self.cmp);
        for group in rows.chunks(RUN_GROUP_ROWS) {
            self.write(group)?;
        }
        drop(rows);
        let run = self.close_run()?;
        self.runs.push(run);
        self.spilled += 1;
        Ok(())
    }

    /// Append rows (at most a row group) to the run being written.
    fn write(&mut self, rows: &[R]) -> anyhow::Result<()> {
        if self.writing.is_none() {
            std::fs::create_dir_all(&self.dir).with_context(|| format!("cannot create {}", self.dir.display()))?;
            let tmp = crate::output::temporary_in(&self.dir, ".sort.parquet")?;
            // Read once, soon, by this process: no compression (it took a fifth of a large
            // account's normalize; the files are a few times larger and live for seconds in
            // the page cache), no statistics. A merge decodes one page of every column of
            // every run at once, so pages are small and there are no dictionaries (a
            // dictionary page is held for its whole row group).
            let props = WriterProperties::builder()
                .set_compression(Compression::UNCOMPRESSED)
                .set_statistics_enabled(EnabledStatistics::None)
                .set_dictionary_enabled(false)
                .set_write_batch_size(RUN_PAGE_ROWS)
                .set_data_page_row_count_limit(RUN_PAGE_ROWS)
                .set_max_row_group_row_count(Some(RUN_GROUP_ROWS))
                .build();
            let writer = ArrowWriter::try_new(tmp.as_file().try_clone()?, self.schema.clone(), Some(props))?;
            self.writing = Some((tmp, writer));
        }
        let (_, writer) = self.writing.as_mut().expect("opened above");
        writer.write(&batch(&self.schema, R::COLUMNS, rows))?;
        Ok(())
    }

    /// The run being written, complete.
    fn close_run(&mut self) -> anyhow::Result<tempfile::TempPath> {
        let (tmp, writer) = self.writing.take().context("a run with no rows")?;
        writer
            .close()
            .with_context(|| format!("cannot write a sort run in {}", self.dir.display()))?;
        Ok(tmp.into_temp_path())
    }

    /// Every row pushed, in order.
    pub fn finish(mut self) -> anyhow::Result<Sorted<R>> {
        if self.runs.is_empty() {
            sort_stably(&mut self.buffer, self.cmp);
            return Ok(Sorted::Memory(self.buffer.into_iter()));
        }
        if !self.buffer.is_empty() {
            self.spill()?;
        }
        let mut runs = std::mem::take(&mut self.runs);
        // Past FAN_IN runs, neighbouring runs are merged into one first (neighbours, so that
        // the earlier rows stay in the earlier run and the sort stays stable).
        while runs.len() > self.fan_in {
            let mut merged = Vec::with_capacity(runs.len().div_ceil(self.fan_in));
            let mut rest = runs.into_iter().peekable();
            while rest.peek().is_some() {
                let group: Vec<_> = rest.by_ref().take(self.fan_in).collect();
                let mut rows = Vec::with_capacity(RUN_GROUP_ROWS);
                for row in self.merge(group)? {
                    rows.push(row?);
                    if rows.len() == RUN_GROUP_ROWS {
                        self.write(&rows)?;
                        rows.clear();
                    }
                }
                if !rows.is_empty() {
                    self.write(&rows)?;
                }
                merged.push(self.close_run()?);
            }
            runs = merged;
        }
        Ok(Sorted::Merge(self.merge(runs)?))
    }

    fn merge(&self, files: Vec<tempfile::TempPath>) -> anyhow::Result<Merge<R>> {
        let mut merge = Merge {
            cmp: self.cmp,
            spilled: self.spilled,
            runs: Vec::with_capacity(files.len()),
            order: Vec::with_capacity(files.len()),
        };
        for (i, file) in files.into_iter().enumerate() {
            let rows = read::file::<R>(&file)?;
            merge.runs.push(Run {
                rows,
                batch: Vec::new().into_iter(),
                head: None,
                _file: file,
            });
            if merge.advance(i)? {
                merge.insert(i);
            }
        }
        Ok(merge)
    }
}

/// Sort `rows` stably by `cmp`. Rows are wide (about 0.5 KiB): a merge sort would move each
/// of them once per level, so their indices are sorted instead (ties by index, which makes
/// the unstable sort stable) and each row is then moved into place once, cycle by cycle.
fn sort_stably<R>(rows: &mut [R], cmp: fn(&R, &R) -> Ordering) {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_unstable_by(|&a, &b| cmp(&rows[a], &rows[b]).then(a.cmp(&b)));
    // Position j takes the row at order[j]; a position done is marked order[j] = j.
    for start in 0..rows.len() {
        let mut j = start;
        loop {
            let k = order[j];
            order[j] = j;
            if k == start {
                break;
            }
            rows.swap(j, k);
            j = k;
        }
    }
}

/// The sorted rows of a [`Sorter`].
pub enum Sorted<R: Row> {
    /// All of them fitted in memory.
    Memory(std::vec::IntoIter<R>),
    /// Merged from runs on disk.
    Merge(Merge<R>),
}

impl<R: Row> Sorted<R> {
    /// How many buffers were sorted and written to disk as runs (none when the rows fitted
    /// in memory; runs merged into bigger runs first are not counted again).
    pub fn runs(&self) -> usize {
        match self {
            Sorted::Memory(_) => 0,
            Sorted::Merge(m) => m.spilled,
        }
    }
}

impl<R: Row> Iterator for Sorted<R> {
    type Item = anyhow::Result<R>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Sorted::Memory(rows) => rows.next().map(Ok),
            Sorted::Merge(m) => m.next(),
        }
    }
}

/// A k-way merge of sorted runs.
pub struct Merge<R: Row> {
    cmp: fn(&R, &R) -> Ordering,
    /// Buffers the sorter wrote as runs.
    spilled: usize,
    runs: Vec<Run<R>>,
    /// The runs that still have a head, the greatest first: the next row is the last's.
    order: Vec<usize>,
}

struct Run<R: Row> {
    rows: read::Rows<R>,
    batch: std::vec::IntoIter<R>,
    head: Option<R>,
    /// Removed when the merge is dropped.
    _file: tempfile::TempPath,
}

impl<R: Row> Merge<R> {
    /// Load run `i`'s next row as its head; false when it has none left.
    fn advance(&mut self, i: usize) -> anyhow::Result<bool> {
        let run = &mut self.runs[i];
        loop {
            if let Some(row) = run.batch.next() {
                run.head = Some(row);
                return Ok(true);
            }
            match run.rows.next() {
                Some(rows) => run.batch = rows.context("cannot read a sort run")?.into_iter(),
                None => {
                    run.head = None;
                    return Ok(false);
                }
            }
        }
    }

    /// Put run `i` (which has a head) in its place in `order`: equal heads of two runs come
    /// out from the earlier run first, which keeps the sort stable.
    fn insert(&mut self, i: usize) {
        let head = |j: usize| self.runs[j].head.as_ref().expect("ordered runs have a head");
        let at = self
            .order
            .partition_point(|&j| (self.cmp)(head(j), head(i)).then(j.cmp(&i)) == Ordering::Greater);
        self.order.insert(at, i);
    }
}

impl<R: Row> Iterator for Merge<R> {
    type Item = anyhow::Result<R>;

    fn next(&mut self) -> Option<anyhow::Result<R>> {
        let i = self.order.pop()?;
        let row = self.runs[i].head.take().expect("ordered runs have a head");
        match self.advance(i) {
            Ok(true) => self.insert(i),
            Ok(false) => {}
            Err(e) => {
                self.order.clear();
                return Some(Err(e));
            }
        }
        Some(Ok(row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::normalized::CdrRow;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    fn call(uuid: &str, start: i64, cost: i64) -> CdrRow {
        CdrRow {
            uuid: uuid.into(),
            start_time: start,
            cost: Decimal::new(cost, 5),
            ..Default::default()
        }
    }

    fn by_start(a: &CdrRow, b: &CdrRow) -> Ordering {
        a.start_time.cmp(&b.start_time)
    }

    fn sorted(rows: &[CdrRow], capacity: usize, fan_in: usize, dir: &Path) -> (Vec<CdrRow>, usize) {
        let mut s = Sorter::new(by_start, capacity, dir);
        s.fan_in = fan_in;
        for r in rows {
            s.push(r.clone()).unwrap();
        }
        let sorted = s.finish().unwrap();
        let runs = sorted.runs();
        (sorted.map(Result::unwrap).collect(), runs)
    }

    proptest! {
        /// Whatever the capacity and however many runs are merged at once (runs of runs
        /// when there are more), the rows come out as std's stable sort puts them (equal
        /// start times in the order pushed), and every run file is gone afterwards.
        #[test]
        fn spilled_or_not_the_order_is_a_stable_sort(
            starts in proptest::collection::vec(0i64..20, 0..300),
            capacity in 1usize..64,
            fan_in in 2usize..6,
        ) {
            let dir = tempfile::tempdir().unwrap();
            let rows: Vec<CdrRow> =
                starts.iter().enumerate().map(|(i, &s)| call(&format!("c{i}"), s, i as i64)).collect();
            let mut expected = rows.clone();
            expected.sort_by_key(|r| r.start_time);
            let (got, runs) = sorted(&rows, capacity, fan_in, dir.path());
            prop_assert_eq!(runs, if rows.len() >= capacity { rows.len().div_ceil(capacity) } else { 0 });
            prop_assert_eq!(got, expected);
            prop_assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        }
    }

    #[test]
    fn a_run_is_written_in_small_row_groups_and_read_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<CdrRow> = (0..20_000).rev().map(|i| call(&format!("c{i:05}"), i, i)).collect();
        let (got, runs) = sorted(&rows, 20_000, FAN_IN, dir.path());
        assert_eq!(runs, 1);
        assert_eq!(got.len(), 20_000);
        assert!(got.windows(2).all(|w| w[0].start_time < w[1].start_time));
        assert_eq!(got[7].cost, Decimal::new(7, 5));
    }
}
