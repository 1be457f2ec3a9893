//! The pages of one list, fetched ahead of the pager but taken in order.
//!
//! A large account (a call centre with millions of calls) is thousands of pages of one list.
//! Fetched one after another it runs at a fraction of the throughput of many small accounts
//! fetched side by side. Once the first page has said how many pages there are, the pages
//! after it are requested `ahead` at a time, each as a task (so their bodies are parsed on
//! every core), and handed to the caller strictly in page order, so that the pager's checks
//! (the page asked for, a repeated page, the end of the list) and the raw file see exactly
//! what a sequential crawl sees. The client's request limit still caps the requests in flight
//! over the whole run.
//!
//! The caller drives the loop (`while let Some(page) = pages.next(&pager).await?`), so that
//! it may await between pages: a page's rows streamed to normalize wait there for room.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::api::paging::Pager;

/// The pages a pager asks for, fetched up to `ahead` at a time, in page order. Pages
/// requested ahead that the pager turns out not to want (the list ended early) are cancelled,
/// as are those in flight when this is dropped; a list that grew past its planned end goes on
/// from there.
pub(super) struct InOrder<T, Fetch> {
    fetch: Fetch,
    ahead: usize,
    /// Requested, not yet taken, in page order.
    in_flight: VecDeque<Task<anyhow::Result<T>>>,
    /// The pages planned from what the pager knew when the batch began: `next..=last`.
    next: u64,
    last: u64,
}

impl<T, F, Fetch> InOrder<T, Fetch>
where
    Fetch: Fn(u64) -> F,
    F: Future<Output = anyhow::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    pub(super) fn new(ahead: usize, fetch: Fetch) -> Self {
        Self {
            fetch,
            ahead,
            in_flight: VecDeque::new(),
            next: 1,
            last: 0,
        }
    }

    /// The next page the pager wants, to be given to `pager.accept` before the next call;
    /// `None` once the pager is done.
    pub(super) async fn next(&mut self, pager: &Pager) -> anyhow::Result<Option<T>> {
        let Some(wanted) = pager.next_page() else {
            self.in_flight.clear();
            return Ok(None);
        };
        if self.in_flight.is_empty() && self.next > self.last {
            let last = pager.planned_last_page().unwrap_or(wanted);
            if self.ahead <= 1 || last <= wanted {
                return (self.fetch)(wanted).await.map(Some);
            }
            (self.next, self.last) = (wanted, last);
        }
        while self.in_flight.len() < self.ahead && self.next <= self.last {
            self.in_flight.push_back(Task(tokio::spawn((self.fetch)(self.next))));
            self.next += 1;
        }
        let page = self.in_flight.pop_front().expect("a page is in flight");
        page.await.map(Some)
    }
}

/// A spawned page fetch, aborted if it is no longer wanted.
struct Task<T>(tokio::task::JoinHandle<T>);

impl<T> Future for Task<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.0).poll(cx).map(|joined| match joined {
            Ok(v) => v,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("a page fetch was cancelled while still wanted: {e}"),
        })
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::api::paging::{PageInfo, Scheme};

    /// A CDR-like list of `rows` rows, `per_page` a page, whose row count becomes `grown`
    /// once `grow_after` pages have been served (rows appended at the end, for the test).
    struct List {
        rows: AtomicU64,
        grown: u64,
        grow_after: u64,
        per_page: u64,
        served: AtomicU64,
        in_flight: AtomicU64,
        most_in_flight: AtomicU64,
    }

    impl List {
        fn new(rows: u64, grown: u64, grow_after: u64) -> Arc<Self> {
            Arc::new(Self {
                rows: AtomicU64::new(rows),
                grown,
                grow_after,
                per_page: 10,
                served: AtomicU64::new(0),
                in_flight: AtomicU64::new(0),
                most_in_flight: AtomicU64::new(0),
            })
        }

        /// Page `page`, served after a delay that makes later pages finish first.
        async fn page(self: Arc<Self>, page: u64) -> anyhow::Result<PageInfo> {
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_in_flight.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20 - page % 5 * 4)).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            if self.served.fetch_add(1, Ordering::SeqCst) + 1 == self.grow_after {
                self.rows.store(self.grown, Ordering::SeqCst);
            }
            let total = self.rows.load(Ordering::SeqCst);
            let pages = total.div_ceil(self.per_page);
            let first = (page - 1) * self.per_page;
            let keys = (first..total.min(first + self.per_page)).map(|i| format!("r{i}").as_str().into());
            Ok(PageInfo {
                page,
                per_page: self.per_page,
                total,
                pages: Some(pages),
                has_next: Some(page < pages),
                keys: keys.collect(),
            })
        }
    }

    /// Crawl `list` with `ahead` pages in flight: the pages accepted, in order.
    async fn crawl(list: &Arc<List>, ahead: usize) -> Vec<u64> {
        let mut pager = Pager::new(Scheme::HasNext, 10);
        let mut accepted = Vec::new();
        let mut pages = InOrder::new(ahead, |p| list.clone().page(p));
        while let Some(info) = pages.next(&pager).await.unwrap() {
            accepted.push(info.page);
            pager.accept(info).unwrap();
        }
        assert_eq!(pager.unique_rows(), list.rows.load(Ordering::SeqCst));
        accepted
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pages_are_fetched_ahead_and_accepted_in_order() {
        let list = List::new(200, 200, 0);
        assert_eq!(crawl(&list, 4).await, (1..=20).collect::<Vec<_>>());
        assert_eq!(
            list.most_in_flight.load(Ordering::SeqCst),
            4,
            "four pages in flight at most, and at once"
        );
        let one = List::new(200, 200, 0);
        assert_eq!(crawl(&one, 1).await, (1..=20).collect::<Vec<_>>());
        assert_eq!(one.most_in_flight.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_list_that_grows_is_paged_to_its_new_end_and_one_that_shrinks_stops_there() {
        let grows = List::new(100, 135, 3);
        assert_eq!(crawl(&grows, 4).await, (1..=14).collect::<Vec<_>>());
        let shrinks = List::new(100, 45, 3);
        let pages = crawl(&shrinks, 4).await;
        assert_eq!(pages.first(), Some(&1));
        assert!(pages.windows(2).all(|w| w[1] == w[0] + 1), "in order: {pages:?}");
        assert!(pages.len() <= 5, "the list ended at page 5 once it shrank: {pages:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_page_fails_the_crawl_and_cancels_the_pages_ahead() {
        let mut pager = Pager::new(Scheme::HasNext, 10);
        let list = List::new(500, 500, 0);
        let mut pages = InOrder::new(8, |p| {
            let list = list.clone();
            async move {
                anyhow::ensure!(p != 3, "HTTP 500 on page 3");
                list.page(p).await
            }
        });
        let err = loop {
            match pages.next(&pager).await {
                Ok(Some(info)) => drop(pager.accept(info).unwrap()),
                Ok(None) => panic!("the crawl ended without page 3"),
                Err(e) => break e,
            }
        };
        drop(pages);
        assert_eq!(err.to_string(), "HTTP 500 on page 3");
        assert_eq!(pager.pages_fetched, 2);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            list.served.load(Ordering::SeqCst) < 12,
            "pages ahead were cancelled, not all 50 fetched"
        );
    }
}
