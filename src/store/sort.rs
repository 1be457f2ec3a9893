//! An external merge sort of table rows, so that sorting an account's rows takes memory
//! bounded by a row count, not by the account: rows are buffered up to that count, a full
//! buffer is sorted and written to a temporary file (a run, rows as bytes), and the runs are
//! merged.
//! An account that fits in one buffer is sorted in memory and never touches the disk.
//!
//! The sort is stable: rows that compare equal come out in the order they were pushed (each
//! run is sorted stably, and equal heads of two runs are taken from the earlier run). So
//! "the first row of each key" is still the first one that arrived, as deduplication needs.

#![warn(missing_docs)]

use std::cmp::Ordering;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;

use anyhow::Context;
use tempfile::TempPath;

use super::schema::{Row, put_row, take_row};

/// Bytes of rows per block of a run: what a run's writer holds before writing, and a merge
/// holds of each run it reads.
const BLOCK_BYTES: usize = 64 * 1024;

/// Runs merged at once: one open file and one block each (64 KiB). At the default
/// `sort_rows` a 3M-call customer's sorts have fewer runs than this, so each is merged in
/// one pass.
const FAN_IN: usize = 128;

/// An order of rows: `cmp`, and a number for each row that `cmp` never contradicts (`cmp(a, b)`
/// is `Less` only where `prefix(a) <= prefix(b)`). A buffer is sorted by the prefixes, kept
/// side by side, and `cmp` decides only their ties: most comparisons are then of two numbers
/// in one array, not of two rows' text far apart in memory.
pub struct Order<R> {
    /// The order itself.
    pub cmp: fn(&R, &R) -> Ordering,
    /// A number no greater for a row `cmp` puts first (the first bytes of its key, say).
    pub prefix: fn(&R) -> u64,
}

impl<R> Clone for Order<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for Order<R> {}

impl<R> Order<R> {
    /// Two rows with their prefixes, by the prefixes first: the rows are compared only
    /// where the prefixes tie.
    fn compare(&self, (pa, a): (u64, &R), (pb, b): (u64, &R)) -> Ordering {
        pa.cmp(&pb).then_with(|| (self.cmp)(a, b))
    }
}

/// The first 8 bytes of `s`, big-endian (zeros past its end): a [`Order::prefix`] for text in
/// byte order.
pub fn text_prefix(s: &str) -> u64 {
    let mut b = [0; 8];
    let n = s.len().min(8);
    b[..n].copy_from_slice(&s.as_bytes()[..n]);
    u64::from_be_bytes(b)
}

/// An [`Order::prefix`] for a signed number (a timestamp) in numeric order.
pub fn i64_prefix(n: i64) -> u64 {
    (n as u64) ^ (1 << 63)
}

/// Rows of `R` in the order of `cmp`, however many are pushed.
///
/// The disk work runs beside the caller: a full buffer is sorted and written by a thread of
/// its own while the next one fills, and the merge reads the runs a chunk ahead of the
/// reader. A large account's sorts so use both cores of a small machine; memory is then two
/// buffers, not one.
pub struct Sorter<R: Row + Send> {
    order: Order<R>,
    capacity: usize,
    buffer: Vec<R>,
    dir: PathBuf,
    /// Runs on disk, by path only: a file is open only while it is merged.
    runs: Vec<TempPath>,
    /// Buffers sorted and written as runs so far.
    spilled: usize,
    /// [`FAN_IN`] (fewer in a test).
    fan_in: usize,
    /// The buffer being sorted and written as a run, by its own thread, which hands it back
    /// emptied.
    spilling: Option<JoinHandle<anyhow::Result<Spilled<R>>>>,
    /// The last buffer written, emptied, to fill next: a large account's sort reuses two
    /// buffers, instead of growing a fresh one from nothing (copying its rows at each doubling
    /// and faulting in new pages) for every run.
    spare: Vec<R>,
}

/// A run written, and the buffer it was written from, emptied.
type Spilled<R> = (TempPath, Vec<R>);

impl<R: Row + Send> Sorter<R> {
    /// Sort by `order`, holding at most `capacity` rows; runs go to temporary files in `dir`
    /// (named `.tmp-…`, so a killed run's leftovers are swept like any other temporary).
    pub fn new(order: Order<R>, capacity: usize, dir: &Path) -> Self {
        Self {
            order,
            capacity: capacity.max(1),
            buffer: Vec::new(),
            dir: dir.to_path_buf(),
            runs: Vec::new(),
            spilled: 0,
            fan_in: FAN_IN,
            spilling: None,
            spare: Vec::new(),
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

    /// Sort the buffer and write it as a run, on a thread of its own (once the previous run
    /// is written: at most one buffer is being spilled at a time).
    fn spill(&mut self) -> anyhow::Result<()> {
        self.wait_for_spill()?;
        let mut next = std::mem::take(&mut self.spare);
        // Only an account past one buffer gets here: its next buffer is filled whole.
        next.reserve_exact(self.capacity);
        let mut rows = std::mem::replace(&mut self.buffer, next);
        let (order, dir) = (self.order, self.dir.clone());
        let spilling = std::thread::Builder::new()
            .name("sort-spill".into())
            .spawn(move || {
                // Written in order where they lie: a run needs the rows' bytes in order, not
                // the rows themselves moved into it (each is about 0.5 KiB).
                let mut run = RunWriter::create(&dir)?;
                let order = stable_order(&rows, order);
                for (k, &i) in order.iter().enumerate() {
                    // Rows are read in sorted order, far apart in the buffer: each one's
                    // memory is asked for a few rows ahead of its turn, so that it is in the
                    // cache when it is written (3% less CPU in a whale's normalize).
                    if let Some(&ahead) = order.get(k + PREFETCH_AHEAD) {
                        prefetch(&rows[ahead]);
                    }
                    run.push(&rows[i])?;
                }
                // The rows' text is freed as soon as the run is written, not when the next
                // buffer is full; the buffer itself is kept for the next run.
                rows.clear();
                Ok((run.close()?, rows))
            })
            .context("cannot start a thread to write a sort run")?;
        self.spilling = Some(spilling);
        self.spilled += 1;
        Ok(())
    }

    /// The run being written, once written, among the runs.
    fn wait_for_spill(&mut self) -> anyhow::Result<()> {
        if let Some(spilling) = self.spilling.take() {
            let (run, emptied) = spilling
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            self.runs.push(run);
            self.spare = emptied;
        }
        Ok(())
    }

    /// Every row pushed, in order.
    pub fn finish(mut self) -> anyhow::Result<Sorted<R>> {
        if self.spilled == 0 {
            let mut rows = std::mem::take(&mut self.buffer);
            sort_stably(&mut rows, self.order);
            return Ok(Sorted::Memory(rows.into_iter()));
        }
        if !self.buffer.is_empty() {
            self.spill()?;
        }
        self.wait_for_spill()?;
        // Every row is on disk: the buffers go before the merge takes its memory.
        (self.buffer, self.spare) = (Vec::new(), Vec::new());
        let mut runs = std::mem::take(&mut self.runs);
        // Past FAN_IN runs, neighbouring runs are merged into one first (neighbours, so that
        // the earlier rows stay in the earlier run and the sort stays stable).
        while runs.len() > self.fan_in {
            let mut merged = Vec::with_capacity(runs.len().div_ceil(self.fan_in));
            let mut rest = runs.into_iter().peekable();
            while rest.peek().is_some() {
                let group: Vec<_> = rest.by_ref().take(self.fan_in).collect();
                let mut run = RunWriter::create(&self.dir)?;
                for row in self.merge(group)? {
                    run.push(&row?)?;
                }
                merged.push(run.close()?);
            }
            runs = merged;
        }
        Ok(Sorted::Merge(MergeAhead::start(self.merge(runs)?, self.spilled)?))
    }

    fn merge(&self, files: Vec<TempPath>) -> anyhow::Result<Merge<R>> {
        let mut merge = Merge {
            by: self.order,
            runs: Vec::with_capacity(files.len()),
            order: Vec::with_capacity(files.len()),
        };
        for (i, file) in files.into_iter().enumerate() {
            merge.runs.push(Run {
                rows: RunReader::open(file)?,
                head: None,
            });
            if merge.advance(i)? {
                merge.insert(i);
            }
        }
        Ok(merge)
    }
}

impl<R: Row + Send> Drop for Sorter<R> {
    /// A run still being written is waited for, so that its file is removed with the others.
    fn drop(&mut self) {
        if let Some(spilling) = self.spilling.take() {
            let _ = spilling.join();
        }
    }
}

/// A run being written: a temporary file in the sort's directory, of blocks of rows in
/// [`put_row`]'s bytes compressed with LZ4, each block its compressed and its plain length
/// (4 bytes each, little-endian) and its compressed bytes. A row never spans two blocks, so a
/// reader decodes a block where it lies.
///
/// Compressed because a whale's sorts send a lot through disk (each ledger row three times,
/// each call once and its narrow charges row twice; 2.8 GB of runs for a 3M-call customer,
/// 1.45 GB compressed, measured when its calls still went through twice), and on a small VM
/// putting a fresh page in the page cache costs more than LZ4 does: an offline normalize of
/// such a customer spent a fifth of its CPU in the kernel copying runs into the page cache,
/// and 10% less CPU in all with LZ4 (measured in README).
struct RunWriter {
    file: tempfile::NamedTempFile,
    /// The rows of the block being filled.
    block: Vec<u8>,
    /// The block's header and compressed bytes, as written.
    packed: Vec<u8>,
}

/// A block's header: its compressed length, then its plain length.
const BLOCK_HEADER: usize = 8;

/// LZ4's acceleration: 8 compresses faster than the default (1) for a little more disk. On a
/// 3M-call customer's normalize, about 7% less CPU for 11% more bytes of runs (1.45 GB, not
/// 1.31; measured in README).
const LZ4_ACCELERATION: i32 = 8;

impl RunWriter {
    fn create(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let file = crate::output::temporary_in(dir, ".sort-run")?;
        Ok(Self {
            file,
            block: Vec::with_capacity(BLOCK_BYTES + 4 * 1024),
            packed: Vec::new(),
        })
    }

    /// Append a row.
    fn push<R: Row>(&mut self, row: &R) -> anyhow::Result<()> {
        put_row(row, &mut self.block);
        if self.block.len() >= BLOCK_BYTES {
            self.write_block()?;
        }
        Ok(())
    }

    fn write_block(&mut self) -> anyhow::Result<()> {
        let plain = u32::try_from(self.block.len()).context("a sort run's block is over 4 GiB")?;
        let bound = lz4::block::compress_bound(self.block.len()).context("a sort run's block is too long for LZ4")?;
        self.packed.resize(BLOCK_HEADER + bound, 0);
        let packed = lz4::block::compress_to_buffer(
            &self.block,
            Some(lz4::block::CompressionMode::FAST(LZ4_ACCELERATION)),
            false,
            &mut self.packed[BLOCK_HEADER..],
        )
        .context("cannot compress a sort run's block")?;
        let len = u32::try_from(packed).context("a sort run's block is over 4 GiB")?;
        self.packed[..4].copy_from_slice(&len.to_le_bytes());
        self.packed[4..BLOCK_HEADER].copy_from_slice(&plain.to_le_bytes());
        self.file
            .as_file_mut()
            .write_all(&self.packed[..BLOCK_HEADER + packed])
            .with_context(|| format!("cannot write a sort run {}", self.file.path().display()))?;
        self.block.clear();
        Ok(())
    }

    /// The run, complete.
    fn close(mut self) -> anyhow::Result<TempPath> {
        if !self.block.is_empty() {
            self.write_block()?;
        }
        Ok(self.file.into_temp_path())
    }
}

/// A run being read back, a block at a time.
struct RunReader<R> {
    file: std::fs::File,
    /// The block being read (its rows' bytes) and how far into it.
    block: Vec<u8>,
    at: usize,
    /// The block as read, compressed.
    packed: Vec<u8>,
    row: std::marker::PhantomData<R>,
    /// Removed when the reader is dropped.
    _path: TempPath,
}

impl<R: Row> RunReader<R> {
    fn open(path: TempPath) -> anyhow::Result<Self> {
        let file = std::fs::File::open(&path).with_context(|| format!("cannot open a sort run {}", path.display()))?;
        Ok(Self {
            file,
            block: Vec::new(),
            at: 0,
            packed: Vec::new(),
            row: std::marker::PhantomData,
            _path: path,
        })
    }

    /// The next row, or `None` at the end of the run.
    fn next_row(&mut self) -> anyhow::Result<Option<R>> {
        if self.at == self.block.len() && !self.read_block()? {
            return Ok(None);
        }
        let mut bytes = &self.block[self.at..];
        let row = take_row(&mut bytes).context("a sort run does not decode")?;
        self.at = self.block.len() - bytes.len();
        Ok(Some(row))
    }

    /// The next block; false at the end of the file.
    fn read_block(&mut self) -> anyhow::Result<bool> {
        let mut header = [0; BLOCK_HEADER];
        let mut got = 0;
        while got < header.len() {
            match self.file.read(&mut header[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e).context("cannot read a sort run"),
            }
        }
        match got {
            0 => return Ok(false),
            BLOCK_HEADER => {}
            _ => anyhow::bail!("a sort run ends inside a block's header"),
        }
        let [packed, plain] = [0, 4].map(|at| u32::from_le_bytes(header[at..at + 4].try_into().expect("4 bytes")));
        anyhow::ensure!(packed > 0 && plain > 0, "a sort run has an empty block");
        // Checked before any buffer is sized by them: a damaged header is an error, not an
        // allocation of gigabytes.
        let (packed, plain) = (
            packed as usize,
            i32::try_from(plain).context("a sort run's block is too long for LZ4")?,
        );
        let bound = lz4::block::compress_bound(plain as usize).context("a sort run's block is too long for LZ4")?;
        anyhow::ensure!(packed <= bound, "a sort run's block is longer than LZ4 makes one");
        self.packed.resize(packed, 0);
        self.file
            .read_exact(&mut self.packed)
            .context("a sort run ends inside a block")?;
        self.block.resize(plain as usize, 0);
        let n = lz4::block::decompress_to_buffer(&self.packed, Some(plain), &mut self.block)
            .context("a sort run's block does not decompress")?;
        anyhow::ensure!(
            n == self.block.len(),
            "a sort run's block is shorter than its header says"
        );
        self.at = 0;
        Ok(true)
    }
}

/// The positions of `rows` in the order of a stable sort by `order`: their prefixes and
/// positions are sorted side by side, the rows compared only where two prefixes tie, and
/// ties of rows broken by position, which makes the unstable sort stable.
fn stable_order<R>(rows: &[R], order: Order<R>) -> Vec<usize> {
    let mut keys: Vec<(u64, usize)> = rows.iter().enumerate().map(|(i, r)| ((order.prefix)(r), i)).collect();
    keys.sort_unstable_by(|&(pa, a), &(pb, b)| order.compare((pa, &rows[a]), (pb, &rows[b])).then(a.cmp(&b)));
    keys.into_iter().map(|(_, i)| i).collect()
}

/// How many rows ahead of the one being written a spill asks for a row's memory.
const PREFETCH_AHEAD: usize = 6;

/// Ask the CPU to bring `row`'s cache lines in (a hint: nothing is read, nothing can fail).
fn prefetch<R>(row: &R) {
    #[cfg(target_arch = "x86_64")]
    for at in (0..std::mem::size_of::<R>()).step_by(64) {
        let line: *const i8 = (row as *const R).cast::<i8>().wrapping_add(at);
        // SAFETY: a prefetch only hints at an address; it reads nothing the program sees and
        // faults on no address, and every one of these lies inside `row`.
        #[allow(unsafe_code, reason = "a prefetch hint, which dereferences nothing")]
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(line);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = row;
}

/// Sort `rows` stably by `by`. Rows are wide (about 0.5 KiB): a merge sort would move each
/// of them once per level, so their indices are sorted instead (ties by index, which makes
/// the unstable sort stable) and each row is then moved into place once, cycle by cycle.
fn sort_stably<R>(rows: &mut [R], by: Order<R>) {
    let mut order = stable_order(rows, by);
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
pub enum Sorted<R: Row + Send> {
    /// All of them fitted in memory.
    Memory(std::vec::IntoIter<R>),
    /// Merged from runs on disk.
    Merge(MergeAhead<R>),
}

impl<R: Row + Send> Sorted<R> {
    /// How many buffers were sorted and written to disk as runs (none when the rows fitted
    /// in memory; runs merged into bigger runs first are not counted again).
    pub fn runs(&self) -> usize {
        match self {
            Sorted::Memory(_) => 0,
            Sorted::Merge(m) => m.spilled,
        }
    }
}

impl<R: Row + Send> Iterator for Sorted<R> {
    type Item = anyhow::Result<R>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Sorted::Memory(rows) => rows.next().map(Ok),
            Sorted::Merge(m) => m.next(),
        }
    }
}

/// Rows merged per chunk handed from the merging thread to the reader.
const CHUNK_ROWS: usize = 1_024;

/// Chunks merged ahead of the reader, at most.
const CHUNKS_AHEAD: usize = 2;

/// A merge run by a thread of its own, [`CHUNKS_AHEAD`] chunks ahead of its reader: decoding
/// the runs and choosing the next row overlap with whatever the reader does with the rows.
pub struct MergeAhead<R: Row + Send> {
    /// Buffers the sorter wrote as runs.
    spilled: usize,
    chunk: std::vec::IntoIter<R>,
    chunks: Option<Receiver<anyhow::Result<Vec<R>>>>,
    /// Joined when the chunks end, so that the run files are gone once the rows are read.
    merging: Option<JoinHandle<()>>,
}

impl<R: Row + Send> MergeAhead<R> {
    fn start(merge: Merge<R>, spilled: usize) -> anyhow::Result<Self> {
        let (send, chunks) = sync_channel(CHUNKS_AHEAD);
        let merging = std::thread::Builder::new()
            .name("sort-merge".into())
            .spawn(move || {
                let mut chunk = Vec::with_capacity(CHUNK_ROWS);
                for row in merge {
                    match row {
                        Ok(row) => chunk.push(row),
                        Err(e) => {
                            let _ = send.send(Err(e));
                            return;
                        }
                    }
                    if chunk.len() == CHUNK_ROWS {
                        let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_ROWS));
                        if send.send(Ok(full)).is_err() {
                            return; // the reader stopped reading
                        }
                    }
                }
                if !chunk.is_empty() {
                    let _ = send.send(Ok(chunk));
                }
            })
            .context("cannot start a thread to merge sort runs")?;
        Ok(Self {
            spilled,
            chunk: Vec::new().into_iter(),
            chunks: Some(chunks),
            merging: Some(merging),
        })
    }

    /// Wait for the merging thread to end (it has removed the run files when it has).
    fn join(&mut self) {
        self.chunks = None;
        if let Some(merging) = self.merging.take()
            && let Err(panic) = merging.join()
            && !std::thread::panicking()
        {
            std::panic::resume_unwind(panic);
        }
    }
}

impl<R: Row + Send> Iterator for MergeAhead<R> {
    type Item = anyhow::Result<R>;

    fn next(&mut self) -> Option<anyhow::Result<R>> {
        loop {
            if let Some(row) = self.chunk.next() {
                return Some(Ok(row));
            }
            match self.chunks.as_ref()?.recv() {
                Ok(Ok(chunk)) => self.chunk = chunk.into_iter(),
                Ok(Err(e)) => {
                    self.join();
                    return Some(Err(e));
                }
                Err(_) => {
                    self.join();
                    return None;
                }
            }
        }
    }
}

impl<R: Row + Send> Drop for MergeAhead<R> {
    fn drop(&mut self) {
        self.join();
    }
}

/// A k-way merge of sorted runs.
struct Merge<R: Row> {
    by: Order<R>,
    runs: Vec<Run<R>>,
    /// The runs that still have a head, the greatest first: the next row is the last's.
    order: Vec<usize>,
}

struct Run<R: Row> {
    /// Its file is removed when the merge is dropped.
    rows: RunReader<R>,
    /// Its next row, with the row's [`Order::prefix`].
    head: Option<(u64, R)>,
}

impl<R: Row> Merge<R> {
    /// Load run `i`'s next row as its head; false when it has none left.
    fn advance(&mut self, i: usize) -> anyhow::Result<bool> {
        let run = &mut self.runs[i];
        run.head = run.rows.next_row()?.map(|r| ((self.by.prefix)(&r), r));
        Ok(run.head.is_some())
    }

    /// Put run `i` (which has a head) in its place in `order`: equal heads of two runs come
    /// out from the earlier run first, which keeps the sort stable.
    fn insert(&mut self, i: usize) {
        let head = |j: usize| {
            let (prefix, row) = self.runs[j].head.as_ref().expect("ordered runs have a head");
            (*prefix, row)
        };
        let at = self
            .order
            .partition_point(|&j| self.by.compare(head(j), head(i)).then(j.cmp(&i)) == Ordering::Greater);
        self.order.insert(at, i);
    }
}

impl<R: Row> Iterator for Merge<R> {
    type Item = anyhow::Result<R>;

    fn next(&mut self) -> Option<anyhow::Result<R>> {
        let i = self.order.pop()?;
        let (_, row) = self.runs[i].head.take().expect("ordered runs have a head");
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

    /// By start, with a coarse prefix (many ties, decided by `cmp`).
    const BY_START: Order<CdrRow> = Order {
        cmp: by_start,
        prefix: |r| i64_prefix(r.start_time / 4),
    };

    fn sorted(rows: &[CdrRow], capacity: usize, fan_in: usize, dir: &Path) -> (Vec<CdrRow>, usize) {
        let mut s = Sorter::new(BY_START, capacity, dir);
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

    proptest! {
        /// The prefixes never contradict the order they stand for.
        #[test]
        fn text_and_number_prefixes_keep_order(a in ".{0,12}", b in ".{0,12}", x in any::<i64>(), y in any::<i64>()) {
            if a < b {
                prop_assert!(text_prefix(&a) <= text_prefix(&b));
            }
            if x < y {
                prop_assert!(i64_prefix(x) < i64_prefix(y));
            }
        }
    }

    /// The spilling and merging threads own run files: a sort abandoned half way (an error
    /// in the reader, a run that stops) still leaves none behind.
    #[test]
    fn a_sort_dropped_half_way_leaves_no_run_files() {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<CdrRow> = (0..5_000).rev().map(|i| call(&format!("c{i:05}"), i, i)).collect();
        let empty = || std::fs::read_dir(dir.path()).unwrap().count() == 0;

        let mut s = Sorter::new(BY_START, 1_000, dir.path());
        for r in &rows {
            s.push(r.clone()).unwrap();
        }
        drop(s); // four runs written, the fifth being written
        assert!(empty());

        let mut s = Sorter::new(BY_START, 1_000, dir.path());
        for r in &rows {
            s.push(r.clone()).unwrap();
        }
        let mut sorted = s.finish().unwrap();
        assert_eq!(sorted.runs(), 5);
        let first: Vec<i64> = sorted.by_ref().take(3).map(|r| r.unwrap().start_time).collect();
        assert_eq!(first, [0, 1, 2]);
        drop(sorted); // the merge is chunks ahead
        assert!(empty());
    }

    /// A run's bytes that were changed or cut short on disk are an error naming the run,
    /// never a panic or rows made up.
    #[test]
    fn a_damaged_run_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut run = RunWriter::create(dir.path()).unwrap();
        for i in 0..2_000 {
            run.push(&call(&format!("c{i:05}"), i, i)).unwrap();
        }
        let path = run.close().unwrap();
        let whole = std::fs::read(&path).unwrap();
        let read_all = |bytes: &[u8]| -> anyhow::Result<usize> {
            let damaged = crate::output::temporary_in(dir.path(), ".damaged").unwrap();
            std::fs::write(damaged.path(), bytes).unwrap();
            let mut reader = RunReader::<CdrRow>::open(damaged.into_temp_path())?;
            let mut n = 0;
            while reader.next_row()?.is_some() {
                n += 1;
            }
            Ok(n)
        };
        assert_eq!(read_all(&whole).unwrap(), 2_000);
        // The first block's plain length is not what its bytes decompress to.
        let mut miscounted = whole.clone();
        miscounted[4] ^= 0x40;
        assert!(read_all(&miscounted).is_err());
        // Its compressed length is more than LZ4 writes for its plain length.
        let mut oversized = whole.clone();
        oversized[3] = 0x7f;
        let err = read_all(&oversized).unwrap_err();
        assert!(format!("{err:#}").contains("longer than LZ4"), "{err:#}");
        for cut in [3, BLOCK_HEADER + 10, whole.len() - 1] {
            let err = read_all(&whole[..cut]).unwrap_err();
            assert!(format!("{err:#}").contains("sort run"), "{err:#}");
        }
        let mut scrambled = whole.clone();
        for b in &mut scrambled[BLOCK_HEADER..BLOCK_HEADER + 64] {
            *b = !*b;
        }
        assert!(read_all(&scrambled).is_err());
    }

    #[test]
    fn a_run_of_many_blocks_is_read_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<CdrRow> = (0..20_000).rev().map(|i| call(&format!("c{i:05}"), i, i)).collect();
        let (got, runs) = sorted(&rows, 20_000, FAN_IN, dir.path());
        assert_eq!(runs, 1);
        assert_eq!(got.len(), 20_000);
        assert!(got.windows(2).all(|w| w[0].start_time < w[1].start_time));
        assert_eq!(got[7].cost, Decimal::new(7, 5));
    }
}
