//! One account's ledger and calls: deduplicated, attributed, joined and written, in memory
//! bounded by `[normalize] sort_rows` however many rows the account has.
//!
//! Every step is a sort or a merge of sorted streams ([`Sorter`] spills to disk past the
//! bound), so a call centre with millions of calls costs what a small customer costs, plus
//! temporary files:
//!
//! 1. ledger rows by (id, arrival) and calls' charges (a narrow row of each call: uuid,
//!    start, owner, sums) by (uuid, arrival): the first of each key is kept (overlapping
//!    pages repeat rows when rows shift between requests). The calls of the period
//!    themselves are sorted once, by (start, uuid, arrival), as they are written;
//! 2. each kept row is attributed to the customer or one of its subaccounts;
//! 3. ledger rows re-sorted by the call they charge, and merged with the charges (in uuid
//!    order): a ledger row takes its call's subaccount and period, a call's charges sum its
//!    debits and the refunds that name it; the charges are re-sorted by (start, uuid);
//! 4. calls of the period written by (start, uuid), each with its charges (a repeat, which
//!    has none, is left out), the period's ledger rows by (created_at, id), as before (ledger
//!    rows of other months only counted in the balances).
//!
//! The ledger (steps 1 and 2) and the calls (step 1) are read and sorted on two threads,
//! and written on two in step 4; each sort writes and merges its runs on threads of its own.
//! So a whale's normalize uses every core of a small machine, and its output is the same
//! bytes as one thread's. Memory is then up to two buffers per sort, a few sorts at a time.
//!
//! Only refunds that name a debit (`txn_<id>`) are held in memory, one small entry each:
//! they are rare, and matching them needs the whole ledger seen once.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use compact_str::ToCompactString;
use foldhash::HashMap;
use rust_decimal::Decimal;

use super::{Ctx, Reject, Report, Writers, single, subaccounts};
use crate::api::rows::{self, AccountFigures, AccountRows, AccountStream, PageRows, short_key};
use crate::layout::{Layout, RawEndpoint, Table};
use crate::model::ledger::{is_refund, moved, refunded_debit_id};
use crate::model::{AccountId, LedgerKind, Period};
use crate::store::normalized::{BalanceRow, CdrRow, Text, TransactionRow};
use crate::store::partition::PartitionWriter;
use crate::store::raw::for_each_page;
use crate::store::schema::{Row, table};
use crate::store::sort::{Order, Sorted, Sorter, i64_prefix, text_prefix};

/// Where an account's rows come from.
pub(super) enum Source {
    /// Parsed by extract from the pages it wrote (a small account, handed over).
    Rows(AccountRows),
    /// Parsed by extract and sent page by page as it fetches them (a large account).
    Stream(AccountStream),
    /// Its raw pages, read one page at a time.
    Raw,
}

fn by_id(a: &TransactionRow, b: &TransactionRow) -> Ordering {
    a.id.cmp(&b.id)
}

fn by_call(a: &TransactionRow, b: &TransactionRow) -> Ordering {
    (&a.cdr_uuid, &a.id).cmp(&(&b.cdr_uuid, &b.id))
}

fn by_booking(a: &TransactionRow, b: &TransactionRow) -> Ordering {
    (a.created_at, &a.id).cmp(&(b.created_at, &b.id))
}

fn by_uuid(a: &CallCharges, b: &CallCharges) -> Ordering {
    a.uuid.cmp(&b.uuid)
}

fn by_start(a: &CdrRow, b: &CdrRow) -> Ordering {
    (a.start_time, &a.uuid).cmp(&(b.start_time, &b.uuid))
}

fn charges_by_start(a: &CallCharges, b: &CallCharges) -> Ordering {
    (a.start_time, &a.uuid).cmp(&(b.start_time, &b.uuid))
}

/// Ledger rows by id (the first of each id is the first that arrived).
const BY_ID: Order<TransactionRow> = Order {
    cmp: by_id,
    prefix: |l| text_prefix(&l.id),
};

/// Ledger rows by the call they name: rows naming none first (prefix 0), then by uuid.
const BY_CALL: Order<TransactionRow> = Order {
    cmp: by_call,
    prefix: |l| l.cdr_uuid.as_deref().map_or(0, |u| 1 << 63 | text_prefix(u) >> 1),
};

/// Ledger rows as written: by booking time, then id.
const BY_BOOKING: Order<TransactionRow> = Order {
    cmp: by_booking,
    prefix: |l| i64_prefix(l.created_at),
};

const BY_UUID: Order<CallCharges> = Order {
    cmp: by_uuid,
    prefix: |c| text_prefix(&c.uuid),
};

/// Calls as written: by start, then uuid.
const BY_START: Order<CdrRow> = Order {
    cmp: by_start,
    prefix: |c| i64_prefix(c.start_time),
};

/// Charges in the order of the calls they go to.
const CHARGES_BY_START: Order<CallCharges> = Order {
    cmp: charges_by_start,
    prefix: |c| i64_prefix(c.start_time),
};

/// The narrow row of a call (below); it is only ever sorted, never written as a table, so
/// the column names `table!` declares go unused.
#[allow(dead_code, reason = "a row sorted, never written: its column names are unused")]
mod charges {
    use super::{Decimal, Table, Text, table};

    table! {
        /// A call as deduplication, attribution and the join with the ledger need it: its key,
        /// its owner and what its debits and refunds add up to. These narrow rows are sorted by
        /// uuid and back by start, not the calls themselves: a call, a few hundred bytes, goes
        /// through one sort (by start, as it is written) instead of two.
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct CallCharges for Table::Cdrs, in CALL_CHARGES_COLUMNS, names CallChargesColumns {
            uuid: Text as Text,
            start_time: i64 as Timestamp,
            account_id: Text as Text,
            subaccount_id: Option<Text> as Text,
            debit_amount: Decimal as Decimal,
            debit_count: i32 as Int32,
            refunded: Decimal as Decimal,
        }
    }
}
use charges::CallCharges;

impl CallCharges {
    fn of(c: &CdrRow) -> Self {
        Self {
            uuid: c.uuid.clone(),
            start_time: c.start_time,
            account_id: c.account_id.clone(),
            subaccount_id: c.subaccount_id.clone(),
            debit_amount: c.debit_amount,
            debit_count: c.debit_count,
            refunded: c.refunded,
        }
    }

    /// Call `c`, the one these charges were taken from, attributed and charged.
    fn apply(self, c: &mut CdrRow) {
        c.account_id = self.account_id;
        c.subaccount_id = self.subaccount_id;
        c.debit_amount = self.debit_amount;
        c.debit_count = self.debit_count;
        c.refunded = self.refunded;
    }
}

/// A reject whose place in the report is the row's place in its table's written order.
type Placed = ((i64, Text), Reject);

pub(super) fn account(
    layout: &Layout,
    ctx: &Ctx,
    id: &AccountId,
    source: Source,
    w: &mut Writers,
    report: &mut Report,
) -> anyhow::Result<()> {
    let acct = id.to_string();
    let raw = |e| layout.raw_account(ctx.period, e, id);
    let spill = |table| -> PathBuf { layout.partition_dir(table, ctx.period) };
    let sort_rows = ctx.sort_rows;

    // 1 and 2, the ledger and the calls side by side (each list is read, parsed and sorted
    //    on a thread of its own): ledger rows in call order, calls in uuid order.
    let (ledger_input, calls_input, figures, handed_last_page) = match source {
        Source::Rows(rows) => (
            Input::Rows(rows.ledger),
            Input::Rows(rows.calls),
            Figures::Given(rows.figures),
            rows.last_ledger_page,
        ),
        Source::Stream(s) => (
            Input::Stream(s.ledger),
            Input::Stream(s.calls),
            Figures::Streamed(s.figures),
            None,
        ),
        Source::Raw => (
            Input::Raw(raw(RawEndpoint::Transactions), rows::ledger_page),
            Input::Raw(raw(RawEndpoint::Cdrs), rows::cdr_page),
            Figures::Given(None),
            None,
        ),
    };
    let (ledger, calls) = std::thread::scope(|s| {
        let calls = s.spawn(|| calls_sorted(calls_input, &acct, ctx.start..ctx.end, sort_rows, &spill(Table::Cdrs)));
        let ledger = ledger_by_call(ledger_input, &acct, sort_rows, &spill(Table::Transactions));
        (ledger, joined(calls))
    });
    let (ledger, calls) = (ledger?, calls?);
    let last_ledger_page = handed_last_page.or(ledger.last_page);
    report.rejects.extend(ledger.parse_rejects);
    report.rejects.extend(calls.parse_rejects);
    report.duplicates_dropped += ledger.duplicates;
    report.sort_runs += (ledger.runs + calls.runs) as u64;
    let (mut debit_refunds, mut ledger_rejects) = (ledger.refunds, ledger.rejects);

    for s in subaccounts(&raw(RawEndpoint::Subaccounts), &acct, report)? {
        w.subaccounts.push(s)?;
    }
    let mut call_rejects: Vec<Placed> = Vec::new();

    // 3. Calls' charges (the first of each uuid, attributed) merged with the ledger rows that
    //    name them, both in uuid order; the calls themselves wait, sorted by start, for step 4.
    let mut charges_by_start = Sorter::new(CHARGES_BY_START, sort_rows, &spill(Table::Cdrs));
    let mut ledger_by_booking = Sorter::new(BY_BOOKING, sort_rows, &spill(Table::Transactions));
    let calls_by_start = calls.by_start;
    let mut calls = FirstOfEach::new(calls.charges_by_uuid, &acct, &mut call_rejects);
    let mut call = calls.next()?;
    let label = ctx.period.to_compact_string();
    let period_of = |start: i64| -> Text {
        if (ctx.start..ctx.end).contains(&start) {
            label.clone()
        } else {
            Period::containing(crate::model::time::from_micros(start), ctx.tz).to_compact_string()
        }
    };
    let mut keep_call = |c: CallCharges| -> anyhow::Result<()> {
        if (ctx.start..ctx.end).contains(&c.start_time) {
            charges_by_start.push(c)?;
        }
        Ok(())
    };
    let mut sums = Sums::default();
    for l in ledger.by_call {
        let mut l = l?;
        debit_refunds.apply_to_debit(&mut l);
        l.cdr_period = None;
        if let Some(uuid) = l.cdr_uuid.as_deref() {
            while let Some(c) = call.take_if(|c| c.uuid.as_str() < uuid) {
                keep_call(c)?;
                call = calls.next()?;
            }
            if let Some(c) = call.as_mut().filter(|c| c.uuid.as_str() == uuid) {
                charge(&mut l, c, period_of(c.start_time));
            }
        }
        // Only the period's rows are written; the others count in the sums alone.
        if sums.count(&l, ctx) {
            ledger_by_booking.push(l)?;
        }
    }
    while let Some(c) = call {
        keep_call(c)?;
        call = calls.next()?;
    }
    report.duplicates_dropped += calls.duplicates;

    // 4. Calls of the period by start and ledger rows by booking, written side by side.
    let charges_by_start = finish(charges_by_start, report)?;
    let ledger_by_booking = finish(ledger_by_booking, report)?;
    let Writers { cdrs, transactions, .. } = &mut *w;
    let (written, booked) = std::thread::scope(|s| {
        let written = s.spawn(move || write_calls(calls_by_start, charges_by_start, |c| cdrs.push(c)));
        let booked = book_ledger(ledger_by_booking, &debit_refunds, transactions);
        (joined(written), booked)
    });
    written?;
    booked?;
    let Sums {
        credit,
        debit,
        net_after,
        rows_after,
        window_credit,
        window_debit,
    } = sums;
    // Attribution rejects in the order their tables are written (calls first), as when the
    // whole account was sorted in memory.
    call_rejects.sort_by(|a, b| a.0.cmp(&b.0));
    ledger_rejects.sort_by(|a, b| a.0.cmp(&b.0));
    report
        .rejects
        .extend(call_rejects.into_iter().chain(ledger_rejects).map(|(_, r)| r));

    let figures = match figures {
        Figures::Given(Some(f)) => *f,
        // Sent once every page of the account is on disk: a stream that ended without them is
        // an account extract gave up (the run fails, naming it), never a partial one.
        Figures::Streamed(figures) => figures
            .blocking_recv()
            .map_err(|_| anyhow::anyhow!("extract stopped before account {acct} was complete"))?,
        Figures::Given(None) => {
            let wallet_path = raw(RawEndpoint::Wallet);
            let wallet = if wallet_path.exists() {
                Some(single(&wallet_path)?)
            } else {
                None
            };
            AccountFigures::from_pages(
                &single(&raw(RawEndpoint::Balance))?,
                &single(&raw(RawEndpoint::LedgerTotals))?,
                last_ledger_page.as_deref(),
                wallet.as_deref(),
            )?
        }
    };
    let AccountFigures {
        balance: bal,
        totals,
        window,
        wallet,
    } = figures;
    anyhow::ensure!(bal.auth_id == acct, "balance page is for {:?}, not {acct}", bal.auth_id);
    let balance_at = crate::model::time::parse_timestamp_micros(&bal.updated_at)?;
    let (threshold, credit_limit) = wallet.map_or((None, None), |w| (w.low_balance_threshold, w.credit_limit));
    let closing = bal.cash_credits - net_after;
    w.balances.push(BalanceRow {
        auth_id: acct.clone(),
        currency: bal.currency,
        balance: bal.cash_credits,
        balance_at,
        net_after_period: net_after,
        rows_after_period: rows_after,
        closing_balance: closing,
        opening_balance: closing - (credit - debit),
        period_credit: credit,
        period_debit: debit,
        ledger_rows_all_time: totals.rows as i64,
        ledger_net_all_time: totals.credit - totals.debit,
        low_balance_threshold: threshold,
        credit_limit,
        api_window_credit: window.as_ref().map(|t| t.credit),
        api_window_debit: window.as_ref().map(|t| t.debit),
        window_credit,
        window_debit,
    })?;
    Ok(())
}

/// One list of an account as it comes: parsed rows handed over by extract (whole, or page by
/// page as it fetches them), or raw pages with the parser of their rows.
enum Input<R> {
    Rows(PageRows<R>),
    Stream(tokio::sync::mpsc::Receiver<PageRows<R>>),
    Raw(PathBuf, fn(&[u8]) -> anyhow::Result<PageRows<R>>),
}

/// An account's balance snapshot, ledger totals and wallet, as extract hands them over (or,
/// `Given(None)`, to be read from `raw/`).
enum Figures {
    Given(Option<Box<AccountFigures>>),
    Streamed(tokio::sync::oneshot::Receiver<AccountFigures>),
}

/// Every row of `input` into `sorter`, rows that failed to parse rejected (in arrival order);
/// `page` sees each raw page read.
fn sort_input<R: Row>(
    input: Input<R>,
    mut sorter: impl FnMut(R) -> anyhow::Result<()>,
    account: &str,
    rejects: &mut Vec<Reject>,
    mut page: impl FnMut(&[u8]),
) -> anyhow::Result<()> {
    match input {
        Input::Rows(rows) => {
            for r in rows {
                sort_or_reject(&mut sorter, r, account, rejects)?;
            }
        }
        // Ends when extract closes the list: complete, or given up (then no figures follow).
        Input::Stream(mut pages) => {
            while let Some(rows) = pages.blocking_recv() {
                for r in rows {
                    sort_or_reject(&mut sorter, r, account, rejects)?;
                }
            }
        }
        Input::Raw(path, parse) => for_each_page(&path, |p| {
            for r in parse(p)? {
                sort_or_reject(&mut sorter, r, account, rejects)?;
            }
            page(p);
            Ok(())
        })?,
    }
    Ok(())
}

/// An account's ledger after steps 1 and 2.
struct LedgerByCall {
    /// The first row of each id, attributed, in the order of the calls they name.
    by_call: Sorted<TransactionRow>,
    refunds: DebitRefunds,
    /// Rows that did not parse, in arrival order.
    parse_rejects: Vec<Reject>,
    /// Rows naming another account.
    rejects: Vec<Placed>,
    duplicates: u64,
    runs: usize,
    /// The last raw page read (its summary is the window's).
    last_page: Option<Vec<u8>>,
}

/// Steps 1 and 2 for the ledger: sorted by id, the first of each kept and attributed,
/// refunds naming a debit noted, re-sorted by the call each row names.
fn ledger_by_call(
    input: Input<TransactionRow>,
    account: &str,
    sort_rows: usize,
    dir: &Path,
) -> anyhow::Result<LedgerByCall> {
    let mut sorter = Sorter::new(BY_ID, sort_rows, dir);
    let mut parse_rejects = Vec::new();
    let mut last = Vec::new();
    sort_input(
        input,
        |r| sorter.push(r),
        account,
        &mut parse_rejects,
        |page| {
            last.clear();
            last.extend_from_slice(page);
        },
    )?;
    let by_id = sorter.finish()?;
    let mut runs = by_id.runs();

    let mut rejects = Vec::new();
    let mut refunds = DebitRefunds::default();
    let mut sorter = Sorter::new(BY_CALL, sort_rows, dir);
    let mut ledger = FirstOfEach::new(by_id, account, &mut rejects);
    while let Some(l) = ledger.next()? {
        if is_completed_refund(&l)
            && l.cdr_uuid.is_none()
            && let Some(debit) = l.reference.as_deref().and_then(refunded_debit_id)
        {
            refunds.note(&l.id, debit, l.amount);
        }
        sorter.push(l)?;
    }
    let duplicates = ledger.duplicates;
    let by_call = sorter.finish()?;
    runs += by_call.runs();
    Ok(LedgerByCall {
        by_call,
        refunds,
        parse_rejects,
        rejects,
        duplicates,
        runs,
        last_page: (!last.is_empty()).then_some(last),
    })
}

/// An account's calls after step 1.
struct CallsSorted {
    /// Every call of the period that parsed, by start (repeats still in, in arrival order).
    by_start: Sorted<CdrRow>,
    /// The charges of every call that parsed, by uuid (repeats still in).
    charges_by_uuid: Sorted<CallCharges>,
    /// Calls that did not parse, in arrival order.
    parse_rejects: Vec<Reject>,
    runs: usize,
}

/// Step 1 for the calls: each sorted by start as it is written, and its charges by uuid.
///
/// A call that starts outside the period is never written, so only its charges are kept:
/// the ledger rows that name it still take its period and subaccount.
fn calls_sorted(
    input: Input<CdrRow>,
    account: &str,
    period: std::ops::Range<i64>,
    sort_rows: usize,
    dir: &Path,
) -> anyhow::Result<CallsSorted> {
    let mut by_start = Sorter::new(BY_START, sort_rows, dir);
    let mut charges = Sorter::new(BY_UUID, sort_rows, dir);
    let mut parse_rejects = Vec::new();
    let push = |c: CdrRow| -> anyhow::Result<()> {
        charges.push(CallCharges::of(&c))?;
        if period.contains(&c.start_time) {
            by_start.push(c)?;
        }
        Ok(())
    };
    sort_input(input, push, account, &mut parse_rejects, |_| {})?;
    let (by_start, charges_by_uuid) = (by_start.finish()?, charges.finish()?);
    let runs = by_start.runs() + charges_by_uuid.runs();
    Ok(CallsSorted {
        by_start,
        charges_by_uuid,
        parse_rejects,
        runs,
    })
}

/// Step 4 for the calls: each call of the period written with its charges, if it is the
/// first of its uuid and was attributed; repeats, calls rejected and calls charged under
/// another start are left out.
///
/// Both lists are in (start, uuid) order, and the calls of one (start, uuid) in arrival
/// order. The charges kept for a uuid are its first call's, so they meet exactly that call:
/// the first of their (start, uuid), as no call of that uuid arrived before it.
fn write_calls(
    calls: Sorted<CdrRow>,
    mut charges: Sorted<CallCharges>,
    mut out: impl FnMut(CdrRow) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let unmatched = |k: &CallCharges| anyhow::anyhow!("call {} was charged but is not among the calls sorted", k.uuid);
    let mut charge = charges.next().transpose()?;
    for c in calls {
        let mut c = c?;
        let Some(k) = charge.take_if(|k| (k.start_time, &k.uuid) <= (c.start_time, &c.uuid)) else {
            continue;
        };
        // Every charge kept is of a call of the period, and that call went into both sorts.
        if (k.start_time, &k.uuid) != (c.start_time, &c.uuid) {
            return Err(unmatched(&k));
        }
        k.apply(&mut c);
        out(c)?;
        charge = charges.next().transpose()?;
    }
    match charge {
        Some(k) => Err(unmatched(&k)),
        None => Ok(()),
    }
}

/// The ledger's sums for the balances row.
#[derive(Default)]
struct Sums {
    /// Of the period, rows that moved money.
    credit: Decimal,
    debit: Decimal,
    /// After the period, rows that moved money, signed.
    net_after: Decimal,
    rows_after: i64,
    /// Of every row fetched, as the API's summary counts them.
    window_credit: Decimal,
    window_debit: Decimal,
}

impl Sums {
    /// Ledger row `l` counted; true if it is the period's (to be written). Only rows that
    /// moved money count towards balances; the window's sums count every row, as the API's
    /// summary does, to tell rows lost on the way from rows that did not happen.
    fn count(&mut self, l: &TransactionRow, ctx: &Ctx) -> bool {
        match l.kind {
            LedgerKind::Credit => self.window_credit += l.amount,
            LedgerKind::Debit => self.window_debit += l.amount,
        }
        let counts = moved(l.status.as_deref()) == Some(true);
        if l.created_at >= ctx.end {
            if counts {
                self.net_after += l.signed_amount;
            }
            self.rows_after += 1;
            false
        } else if l.created_at >= ctx.start {
            if counts {
                match l.kind {
                    LedgerKind::Credit => self.credit += l.amount,
                    LedgerKind::Debit => self.debit += l.amount,
                }
            }
            true
        } else {
            false
        }
    }
}

/// Step 4 for the ledger: the period's rows written in booking order, each refund naming
/// what it reversed.
fn book_ledger(
    rows: Sorted<TransactionRow>,
    refunds: &DebitRefunds,
    out: &mut PartitionWriter<TransactionRow>,
) -> anyhow::Result<()> {
    for l in rows {
        let mut l = l?;
        refunds.apply_to_refund(&mut l);
        out.push(l)?;
    }
    Ok(())
}

/// What a scoped thread returned (its panic goes on in the caller).
fn joined<T>(thread: std::thread::ScopedJoinHandle<'_, T>) -> T {
    thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// A sort's rows, its runs on disk counted in the report.
fn finish<R: Row + Send>(sorter: Sorter<R>, report: &mut Report) -> anyhow::Result<Sorted<R>> {
    let sorted = sorter.finish()?;
    report.sort_runs += sorted.runs() as u64;
    Ok(sorted)
}

/// A row as read from a page: into `sorter` if it parsed, else rejected here (in arrival
/// order, before any row of the account is attributed).
fn sort_or_reject<R: Row>(
    sorter: &mut impl FnMut(R) -> anyhow::Result<()>,
    row: Result<R, crate::api::rows::RowError>,
    account: &str,
    rejects: &mut Vec<Reject>,
) -> anyhow::Result<()> {
    match row {
        Ok(r) => sorter(r)?,
        Err((key, reason)) => rejects.push(Reject {
            table: <R as Row>::TABLE.name(),
            account: account.to_string(),
            key,
            reason,
        }),
    }
    Ok(())
}

/// A ledger row or a call as normalize keeps it: by its key, first of each, attributed to
/// the customer or one of its subaccounts.
trait Listed: Row + Send {
    fn key(&self) -> &Text;
    /// Where it is written in its table (the order its rejects are reported in).
    fn place(&self) -> (i64, Text);
    /// Whose it is: the account it names and the subaccount it is attributed to.
    fn owners(&mut self) -> (&mut Text, &mut Option<Text>);
}

impl Listed for TransactionRow {
    fn key(&self) -> &Text {
        &self.id
    }

    fn place(&self) -> (i64, Text) {
        (self.created_at, self.id.clone())
    }

    fn owners(&mut self) -> (&mut Text, &mut Option<Text>) {
        (&mut self.account_id, &mut self.subaccount_id)
    }
}

impl Listed for CallCharges {
    fn key(&self) -> &Text {
        &self.uuid
    }

    fn place(&self) -> (i64, Text) {
        (self.start_time, self.uuid.clone())
    }

    fn owners(&mut self) -> (&mut Text, &mut Option<Text>) {
        (&mut self.account_id, &mut self.subaccount_id)
    }
}

/// Rows in key order, the first of each key, attributed (a row naming another account is
/// rejected and left out of every join).
struct FirstOfEach<'a, R: Listed> {
    rows: Sorted<R>,
    previous: Option<Text>,
    account: &'a str,
    rejects: &'a mut Vec<Placed>,
    duplicates: u64,
}

impl<'a, R: Listed> FirstOfEach<'a, R> {
    fn new(rows: Sorted<R>, account: &'a str, rejects: &'a mut Vec<Placed>) -> Self {
        Self {
            rows,
            previous: None,
            account,
            rejects,
            duplicates: 0,
        }
    }

    fn next(&mut self) -> anyhow::Result<Option<R>> {
        for r in self.rows.by_ref() {
            let mut r = r?;
            if self.previous.as_ref() == Some(r.key()) {
                self.duplicates += 1;
                continue;
            }
            self.previous = Some(r.key().clone());
            let (owner, subaccount) = r.owners();
            if let Err(reason) = attribute(owner, subaccount, self.account) {
                let reject = Reject {
                    table: <R as Row>::TABLE.name(),
                    account: self.account.to_string(),
                    key: short_key(r.key()),
                    reason,
                };
                self.rejects.push((r.place(), reject));
                continue;
            }
            return Ok(Some(r));
        }
        Ok(None)
    }
}

/// A ledger row `l` that names call `c`: the row takes the call's subaccount (when it names
/// none itself) and period; the call sums its debits that moved money (wherever in the
/// window they were booked: a failed debit and its completed retry are one charge, not a
/// duplicate) and the completed refunds that name it.
fn charge(l: &mut TransactionRow, c: &mut CallCharges, period: Text) {
    if l.subaccount_id.is_none() {
        l.subaccount_id = c.subaccount_id.clone();
    }
    l.cdr_period = Some(period);
    if l.kind == LedgerKind::Debit && moved(l.status.as_deref()) == Some(true) {
        c.debit_amount += l.amount;
        c.debit_count += 1;
    }
    if is_completed_refund(l) {
        c.refunded += l.amount;
        l.refund_of = Some(Text::const_new("cdr"));
    }
}

/// A completed credit of reference type `refund`: it reverses what it names, a call
/// (`cdr_<uuid>`, as its debit does) or a debit (`txn_<id>`) fetched in the window. Refunds
/// naming nothing fetched reverse nothing (reconcile reports them).
fn is_completed_refund(l: &TransactionRow) -> bool {
    l.kind == LedgerKind::Credit && is_refund(&l.reference_type) && moved(l.status.as_deref()) == Some(true)
}

/// Completed refunds that name a debit by id: the debit's `refunded` grows by them, and each
/// refund records the debit's reference type as what it reversed.
#[derive(Default)]
struct DebitRefunds {
    /// Refunded so far, by the debit id named.
    amounts: HashMap<Text, Decimal>,
    /// The debit each refund names, by the refund's id.
    named: HashMap<Text, Text>,
    /// The reference type of each named debit that was found.
    found: HashMap<Text, Text>,
}

impl DebitRefunds {
    fn note(&mut self, refund: &Text, debit: &str, amount: Decimal) {
        *self.amounts.entry(debit.into()).or_default() += amount;
        self.named.insert(refund.clone(), debit.into());
    }

    /// Every ledger row passes here once before [`apply_to_refund`].
    ///
    /// [`apply_to_refund`]: DebitRefunds::apply_to_refund
    fn apply_to_debit(&mut self, l: &mut TransactionRow) {
        if l.kind != LedgerKind::Debit {
            return;
        }
        if let Some(&amount) = self.amounts.get(&l.id) {
            l.refunded += amount;
            self.found.insert(l.id.clone(), l.reference_type.clone());
        }
    }

    fn apply_to_refund(&self, l: &mut TransactionRow) {
        if let Some(kind) = self.named.get(&l.id).and_then(|debit| self.found.get(debit)) {
            l.refund_of = Some(kind.clone());
        }
    }
}

/// Rows listed under `account` carry the customer's `auth_id` or a subaccount's (`SA_…`):
/// the subaccount's moves to `subaccount` and the row becomes the customer's. A row naming
/// any other account is not this customer's to bill: the reason it is rejected.
fn attribute(owner: &mut Text, subaccount: &mut Option<Text>, account: &str) -> Result<(), String> {
    if owner.as_str() == account {
        return Ok(());
    }
    if crate::model::SubaccountId::parse(owner).is_ok() {
        *subaccount = Some(std::mem::replace(owner, Text::from(account)));
        return Ok(());
    }
    Err(format!(
        "listed under {account} but its account_id is {:?}",
        owner.as_str()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    prop_compose! {
        fn ledger_row()(id in "[a-z_0-9]{0,12}", uuid in proptest::option::of("[0-9a-f-]{0,12}"), at in any::<i64>()) -> TransactionRow {
            TransactionRow { id: id.into(), cdr_uuid: uuid.map(Into::into), created_at: at, ..Default::default() }
        }
    }

    prop_compose! {
        fn call()(uuid in "[0-9a-f-]{0,12}", start in any::<i64>()) -> CdrRow {
            CdrRow { uuid: uuid.into(), start_time: start, ..Default::default() }
        }
    }

    /// Steps 1 to 4 for an account's calls alone (no ledger): the calls written, and the
    /// rejects and repeats counted on the way.
    fn calls_written(calls: &[CdrRow], period: std::ops::Range<i64>, sort_rows: usize) -> (Vec<CdrRow>, usize, u64) {
        let dir = tempfile::tempdir().unwrap();
        let input = Input::Rows(calls.iter().cloned().map(Ok).collect());
        let sorted = calls_sorted(input, "MA_CUSTOMER", period.clone(), sort_rows, dir.path()).unwrap();
        let mut rejects = Vec::new();
        let mut first = FirstOfEach::new(sorted.charges_by_uuid, "MA_CUSTOMER", &mut rejects);
        let mut charges = Sorter::new(CHARGES_BY_START, sort_rows, dir.path());
        while let Some(c) = first.next().unwrap() {
            if period.contains(&c.start_time) {
                charges.push(c).unwrap();
            }
        }
        let repeats = first.duplicates;
        let mut written = Vec::new();
        write_calls(sorted.by_start, charges.finish().unwrap(), |c| {
            written.push(c);
            Ok(())
        })
        .unwrap();
        (written, rejects.len(), repeats)
    }

    #[test]
    fn a_call_is_written_once_as_it_first_arrived_even_when_a_repeat_moved_its_start() {
        let call = |uuid: &str, start: i64, owner: &str, note: &str| CdrRow {
            uuid: uuid.into(),
            start_time: start,
            account_id: owner.into(),
            codec: Some(note.into()),
            ..Default::default()
        };
        let calls = [
            call("b", 20, "MA_CUSTOMER", "b"),
            call("a", 30, "SA_ABCD1234", "a first"),
            call("a", 10, "MA_CUSTOMER", "a again, earlier"),
            call("a", 30, "MA_CUSTOMER", "a again, as first"),
            call("c", 10, "MA_OTHER", "c, not the customer's"),
            call("d", 99, "MA_CUSTOMER", "d first, after the period"),
            call("d", 15, "MA_CUSTOMER", "d again, in the period"),
            call("e", 10, "MA_CUSTOMER", "e"),
        ];
        for sort_rows in [1, 2, 3, 100] {
            let (written, rejects, repeats) = calls_written(&calls, 0..50, sort_rows);
            let seen: Vec<_> = written
                .iter()
                .map(|c| {
                    (
                        c.uuid.as_str(),
                        c.start_time,
                        c.codec.as_deref().unwrap(),
                        c.subaccount_id.as_deref(),
                    )
                })
                .collect();
            assert_eq!(
                seen,
                [
                    ("e", 10, "e", None),
                    ("b", 20, "b", None),
                    ("a", 30, "a first", Some("SA_ABCD1234")),
                ],
                "sort_rows {sort_rows}"
            );
            assert!(written.iter().all(|c| c.account_id == "MA_CUSTOMER"));
            assert_eq!((rejects, repeats), (1, 3), "sort_rows {sort_rows}");
        }
    }

    /// `cmp(a, b) == Less` only where `prefix(a) <= prefix(b)`, for every order normalize sorts by.
    fn consistent<R>(order: Order<R>, a: &R, b: &R) -> bool {
        (order.cmp)(a, b) != Ordering::Less || (order.prefix)(a) <= (order.prefix)(b)
    }

    proptest! {
        #[test]
        fn every_sort_prefix_agrees_with_its_order(
            l in ledger_row(), m in ledger_row(), c in call(), d in call(), same_time in any::<bool>(),
        ) {
            let mut m = m;
            let mut d = d;
            if same_time {
                m.created_at = l.created_at;
                d.start_time = c.start_time;
            }
            for order in [BY_ID, BY_CALL, BY_BOOKING] {
                prop_assert!(consistent(order, &l, &m) && consistent(order, &m, &l));
            }
            prop_assert!(consistent(BY_START, &c, &d) && consistent(BY_START, &d, &c));
            let (c, d) = (CallCharges::of(&c), CallCharges::of(&d));
            for order in [BY_UUID, CHARGES_BY_START] {
                prop_assert!(consistent(order, &c, &d) && consistent(order, &d, &c));
            }
        }
    }
}
