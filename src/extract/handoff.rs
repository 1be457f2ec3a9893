//! What extract hands normalize of one account: the rows it parsed from the very pages it
//! wrote to `raw/`, so that `run` parses every page once.
//!
//! A small account's rows are kept and handed over whole when it is done. Each account holds
//! a hand-off slot from its start until normalize is done with it, and normalize takes the
//! accounts in account order: the slots bound how many finished accounts wait in memory for a
//! slow one.
//!
//! An account that outgrows [`HANDOFF_MAX_ROWS`] is streamed instead: it is announced at once,
//! the rows kept so far are sent, and then each page's rows as the page is accepted, through
//! bounded channels. Its memory stays bounded (extract waits for room, and the pages ahead
//! wait with it), and normalize sorts it while it is fetched instead of reading it back from
//! `raw/` afterwards. The rows go in the order the pages were accepted, which is the order of
//! the raw file, so the tables are the same bytes as an offline normalize of `raw/`.

use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot};

use super::{Event, Events, Extracted, HANDOFF_MAX_ROWS, Handed};
use crate::api::rows::{AccountFigures, AccountRows, AccountStream, PageRows};
use crate::model::AccountId;
use crate::store::normalized::{CdrRow, TransactionRow};

/// Pages of one list in a stream's channel: with the pages fetched ahead, what a streamed
/// account holds in memory (a few MiB) whatever its size.
const STREAM_PAGES: usize = 32;

/// One account's hand-off, from its first page to its end.
pub(super) struct Handoff {
    id: AccountId,
    events: Option<Events>,
    /// Moves to what is handed over.
    slot: Option<OwnedSemaphorePermit>,
    state: State,
    /// The ledger is complete (every pass): what follows are calls.
    ledger_complete: bool,
    streamed: bool,
}

enum State {
    /// Nobody wants the rows: the `extract` command, or a consumer that went away.
    Off,
    /// Kept, to be handed over whole.
    Kept(AccountRows),
    Streaming(Senders),
}

struct Senders {
    /// `None` once the ledger is complete (normalize then finishes its ledger sorts).
    ledger: Option<mpsc::Sender<PageRows<TransactionRow>>>,
    calls: mpsc::Sender<PageRows<CdrRow>>,
    figures: oneshot::Sender<AccountFigures>,
    /// Known before the calls are fetched; sent when the account is done.
    pending_figures: Option<AccountFigures>,
}

impl Handoff {
    /// `events`: the consumer, if any; `slot`: the account's hand-off slot.
    pub(super) fn new(id: AccountId, events: Option<Events>, slot: OwnedSemaphorePermit) -> Self {
        let state = match events {
            Some(_) => State::Kept(AccountRows::default()),
            None => State::Off,
        };
        Self {
            id,
            events,
            slot: Some(slot),
            state,
            ledger_complete: false,
            streamed: false,
        }
    }

    /// Whether pages should still be parsed into typed rows.
    pub(super) fn wants_rows(&self) -> bool {
        !matches!(self.state, State::Off)
    }

    /// Whether the account was streamed (it outgrew [`HANDOFF_MAX_ROWS`]).
    pub(super) fn streamed(&self) -> bool {
        self.streamed
    }

    /// A ledger page's rows (`None` when the page was parsed without them); `reported_total`
    /// is the API's row count, to reserve room for the rows on the first page kept.
    pub(super) async fn ledger(
        &mut self,
        rows: Option<PageRows<TransactionRow>>,
        reported_total: u64,
    ) -> anyhow::Result<()> {
        anyhow::ensure!(!self.ledger_complete, "ledger rows after the ledger was complete");
        let Some(rows) = self.wanted(rows, "ledger")? else {
            return Ok(());
        };
        match &mut self.state {
            State::Off => {}
            State::Kept(kept) => {
                reserve_for_total(&mut kept.ledger, reported_total, kept.calls.len());
                kept.ledger.extend(rows);
                self.stream_if_too_large().await;
            }
            State::Streaming(s) => {
                let tx = s.ledger.as_ref().expect("the ledger is open until it is complete");
                if tx.send(rows).await.is_err() {
                    self.state = State::Off;
                }
            }
        }
        Ok(())
    }

    /// A CDR page's rows, as [`ledger`](Handoff::ledger)'s.
    pub(super) async fn calls(&mut self, rows: Option<PageRows<CdrRow>>, reported_total: u64) -> anyhow::Result<()> {
        anyhow::ensure!(self.ledger_complete, "calls before the ledger was complete");
        let Some(rows) = self.wanted(rows, "CDR")? else {
            return Ok(());
        };
        match &mut self.state {
            State::Off => {}
            State::Kept(kept) => {
                reserve_for_total(&mut kept.calls, reported_total, kept.ledger.len());
                kept.calls.extend(rows);
                self.stream_if_too_large().await;
            }
            State::Streaming(s) => {
                if s.calls.send(rows).await.is_err() {
                    self.state = State::Off;
                }
            }
        }
        Ok(())
    }

    /// A page's rows if they are still wanted (`None` once the hand-off is off). A page parsed
    /// without its rows while they are wanted is an error: they would be missing downstream.
    fn wanted<R>(&self, rows: Option<PageRows<R>>, list: &str) -> anyhow::Result<Option<PageRows<R>>> {
        match (&self.state, rows) {
            (State::Off, _) => Ok(None),
            (_, None) => anyhow::bail!("a {list} page of {} was parsed without its rows", self.id),
            (_, rows) => Ok(rows),
        }
    }

    /// The ledger is complete, with the account's figures: a streamed ledger is closed, so
    /// that normalize goes on with it while the calls are fetched.
    pub(super) fn ledger_complete(&mut self, figures: AccountFigures) {
        self.ledger_complete = true;
        match &mut self.state {
            State::Off => {}
            State::Kept(kept) => kept.figures = Some(Box::new(figures)),
            State::Streaming(s) => {
                s.ledger = None;
                s.pending_figures = Some(figures);
            }
        }
    }

    /// Every raw page of the account is on disk: hand it over whole, or end its stream.
    pub(super) fn done(self) {
        match self.state {
            State::Off => {}
            State::Kept(rows) => {
                if let Some(events) = &self.events {
                    let _ = events.send(Event::Account(Extracted {
                        id: self.id,
                        rows: Handed::Whole(rows),
                        _slot: self.slot,
                    }));
                }
            }
            State::Streaming(s) => {
                if let Some(figures) = s.pending_figures {
                    let _ = s.figures.send(figures);
                }
            }
        }
    }

    /// The account could not be extracted: a consumer waiting for it stops (a stream closes
    /// without its figures).
    pub(super) fn failed(self) {
        if let Some(events) = &self.events {
            let _ = events.send(Event::AccountFailed(self.id));
        }
    }

    /// Past [`HANDOFF_MAX_ROWS`], announce the account as a stream and send what was kept,
    /// each list as one batch. A consumer that went away turns the hand-off off.
    async fn stream_if_too_large(&mut self) {
        let State::Kept(kept) = &self.state else { return };
        if kept.ledger.len() + kept.calls.len() <= HANDOFF_MAX_ROWS {
            return;
        }
        let State::Kept(kept) = std::mem::replace(&mut self.state, State::Off) else {
            unreachable!("checked above")
        };
        self.streamed = true;
        let (ledger, ledger_rx) = mpsc::channel(STREAM_PAGES);
        let (calls, calls_rx) = mpsc::channel(STREAM_PAGES);
        let (figures, figures_rx) = oneshot::channel();
        let announced = Extracted {
            id: self.id.clone(),
            rows: Handed::Stream(AccountStream {
                ledger: ledger_rx,
                calls: calls_rx,
                figures: figures_rx,
            }),
            _slot: self.slot.take(),
        };
        let Some(events) = &self.events else { return };
        if events.send(Event::Account(announced)).is_err() {
            return;
        }
        if ledger.send(kept.ledger).await.is_err() {
            return;
        }
        if !kept.calls.is_empty() && calls.send(kept.calls).await.is_err() {
            return;
        }
        self.state = State::Streaming(Senders {
            ledger: (!self.ledger_complete).then_some(ledger),
            calls,
            figures,
            pending_figures: kept.figures.map(|f| *f),
        });
    }
}

/// On the first page kept, make room for every row the API says there are: growing by
/// doubling copied each account's rows several times over, into memory fresh from the OS.
/// Only when they fit the hand-off with the account's other rows (`kept_elsewhere`), so a
/// total that is wrong or too large never reserves more than the hand-off bound.
fn reserve_for_total<T>(rows: &mut Vec<T>, reported_total: u64, kept_elsewhere: usize) {
    let room = HANDOFF_MAX_ROWS.saturating_sub(kept_elsewhere) as u64;
    if rows.capacity() == 0 && reported_total <= room {
        rows.reserve(reported_total as usize);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rust_decimal::Decimal;
    use tokio::sync::{Semaphore, mpsc};

    use super::*;
    use crate::api::rows::{Balance, LedgerTotals};

    /// Rows that did not parse stand in for rows here: each carries its place as its key.
    fn page<R>(list: &str, first: usize, rows: usize) -> PageRows<R> {
        (first..first + rows)
            .map(|i| Err((Some(format!("{list}{i}")), String::new())))
            .collect()
    }

    fn keys<R>(rows: &PageRows<R>) -> Vec<String> {
        rows.iter()
            .map(|r| r.as_ref().err().and_then(|e| e.0.clone()).unwrap())
            .collect()
    }

    fn figures() -> AccountFigures {
        AccountFigures {
            balance: Balance {
                auth_id: "MA_TEST0001".into(),
                currency: "INR".into(),
                cash_credits: Decimal::new(12_345, 2),
                updated_at: "2026-04-01T00:00:00Z".into(),
            },
            totals: LedgerTotals {
                rows: 1,
                credit: Decimal::ONE,
                debit: Decimal::ZERO,
            },
            window: None,
            wallet: None,
        }
    }

    fn handoff(events: Option<Events>) -> Handoff {
        let slot = Arc::new(Semaphore::new(1)).try_acquire_owned().unwrap();
        Handoff::new(AccountId::parse("MA_TEST0001").unwrap(), events, slot)
    }

    #[tokio::test]
    async fn a_small_account_is_handed_over_whole_when_done() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut hand = handoff(Some(tx));
        hand.ledger(Some(page("l", 0, 200)), 300).await.unwrap();
        hand.ledger(Some(page("l", 200, 100)), 300).await.unwrap();
        hand.ledger_complete(figures());
        hand.calls(Some(page("c", 0, 100)), 100).await.unwrap();
        assert!(
            rx.try_recv().is_err(),
            "nothing is handed over before the account is done"
        );
        assert!(!hand.streamed());
        hand.done();
        let Some(Event::Account(Extracted {
            rows: Handed::Whole(rows),
            ..
        })) = rx.recv().await
        else {
            panic!("not handed over whole")
        };
        assert_eq!(
            keys(&rows.ledger),
            (0..300).map(|i| format!("l{i}")).collect::<Vec<_>>()
        );
        assert_eq!(keys(&rows.calls), (0..100).map(|i| format!("c{i}")).collect::<Vec<_>>());
        assert_eq!(rows.figures.map(|f| *f), Some(figures()));
    }

    /// Past the bound, the account is announced and then sent page by page: every row once,
    /// in arrival order, the ledger closed before the calls, the figures last. The consumer
    /// reads the calls slowly: extract waits for room in their bounded channel.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_large_account_is_streamed_in_arrival_order_and_waits_for_its_consumer() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let consumer = tokio::task::spawn_blocking(move || {
            let Some(Event::Account(Extracted {
                rows: Handed::Stream(mut s),
                ..
            })) = rx.blocking_recv()
            else {
                panic!("not streamed")
            };
            let (mut ledger, mut calls) = (Vec::new(), Vec::new());
            while let Some(rows) = s.ledger.blocking_recv() {
                ledger.extend(keys(&rows));
            }
            let figures_after_ledger = s.figures.try_recv().is_ok();
            while let Some(rows) = s.calls.blocking_recv() {
                std::thread::sleep(std::time::Duration::from_micros(200));
                calls.extend(keys(&rows));
            }
            (ledger, calls, figures_after_ledger, s.figures.blocking_recv())
        });
        let mut hand = handoff(Some(tx));
        let ledger_rows = HANDOFF_MAX_ROWS + 1_000;
        for first in (0..ledger_rows).step_by(200) {
            hand.ledger(Some(page("l", first, 200.min(ledger_rows - first))), 0)
                .await
                .unwrap();
        }
        assert!(hand.streamed() && hand.wants_rows());
        hand.ledger_complete(figures());
        for first in (0..20_000).step_by(100) {
            hand.calls(Some(page("c", first, 100)), 0).await.unwrap();
        }
        hand.done();
        let (ledger, calls, figures_after_ledger, last) = consumer.await.unwrap();
        assert_eq!(ledger, (0..ledger_rows).map(|i| format!("l{i}")).collect::<Vec<_>>());
        assert_eq!(calls, (0..20_000).map(|i| format!("c{i}")).collect::<Vec<_>>());
        assert!(!figures_after_ledger, "the figures come only once the account is done");
        assert_eq!(last.ok(), Some(figures()));
    }

    #[tokio::test]
    async fn a_streamed_account_that_fails_closes_its_lists_without_figures() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut hand = handoff(Some(tx));
        hand.ledger(Some(page("l", 0, HANDOFF_MAX_ROWS + 1)), 0).await.unwrap();
        let Some(Event::Account(Extracted {
            rows: Handed::Stream(mut s),
            ..
        })) = rx.recv().await
        else {
            panic!("not streamed")
        };
        hand.failed();
        assert_eq!(s.ledger.recv().await.map(|r| r.len()), Some(HANDOFF_MAX_ROWS + 1));
        assert!(s.ledger.recv().await.is_none() && s.calls.recv().await.is_none());
        assert!(s.figures.await.is_err(), "no figures: the account was given up");
        assert!(matches!(rx.recv().await, Some(Event::AccountFailed(_))));
    }

    /// A consumer that went away (the run is failing elsewhere) never keeps extract waiting:
    /// the hand-off turns off and the account is fetched on.
    #[tokio::test]
    async fn a_consumer_that_went_away_turns_the_hand_off_off() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut hand = handoff(Some(tx));
        hand.ledger(Some(page("l", 0, HANDOFF_MAX_ROWS + 1)), 0).await.unwrap();
        drop(rx.recv().await);
        let more = async {
            for first in 0..STREAM_PAGES * 4 {
                hand.ledger(Some(page("l", first * 200, 200)), 0).await.unwrap();
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(10), more)
            .await
            .expect("extract waited for a consumer that went away");
        assert!(!hand.wants_rows());
        // Nobody wants rows any more: pages parsed without them are fine.
        hand.ledger(None, 0).await.unwrap();
    }

    #[tokio::test]
    async fn a_page_without_its_rows_is_an_error_while_rows_are_wanted() {
        let (tx, _rx) = mpsc::unbounded_channel();
        let mut hand = handoff(Some(tx));
        let err = hand.ledger(None, 0).await.unwrap_err();
        assert!(err.to_string().contains("parsed without its rows"), "{err}");
        assert!(!handoff(None).wants_rows(), "the extract command keeps no rows");
    }
}
