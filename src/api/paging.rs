//! Pagers: pure state machines, one per documented paging scheme. They decide the next page
//! to ask for from what the previous pages said, deduplicate rows by primary key, and refuse
//! to loop forever when a server ignores the paging parameters.
//!
//! | scheme | endpoints | stop when |
//! |---|---|---|
//! | [`Scheme::PageSizeTotal`] | `/partner/accounts` | `page × size ≥ total` |
//! | [`Scheme::TotalPages`] | partner and account ledgers | `page ≥ total_pages` |
//! | [`Scheme::HasNext`] | CDR lists | `has_next == false` |
//!
//! Every scheme also stops on an empty page.

// foldhash: keys are ids from the page being paged, hashed millions of times a run.
use foldhash::HashSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    PageSizeTotal,
    TotalPages,
    HasNext,
}

/// What one page said about paging, whatever the envelope looked like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageInfo {
    /// The page number the server says it returned.
    pub page: u64,
    /// The page size the server says it used (`per_page`, or `size` for accounts).
    pub per_page: u64,
    /// Rows in the whole (filtered) result.
    pub total: u64,
    /// `total_pages` (ledgers) or `pages` (CDRs), if the envelope has one.
    pub pages: Option<u64>,
    pub has_next: Option<bool>,
    /// Primary keys of the rows on this page, in order.
    pub keys: Vec<Key>,
}

/// A row's primary key as a pager remembers it. A uuid in canonical form (every CDR's key) is
/// kept as its 128 bits, anything else as text: exact either way, but a uuid costs no
/// allocation and hashes as two words (the pagers see every row of a run).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Uuid(u128),
    Text(Box<str>),
}

impl From<&str> for Key {
    fn from(s: &str) -> Self {
        canonical_uuid(s).map_or_else(|| Key::Text(s.into()), Key::Uuid)
    }
}

/// The bits of `s` if it is a uuid spelled canonically (lowercase, hyphenated), and `None`
/// for any other spelling, so that two different strings never become the same key.
fn canonical_uuid(s: &str) -> Option<u128> {
    let b: &[u8; 36] = s.as_bytes().try_into().ok()?;
    if [b[8], b[13], b[18], b[23]] != [b'-'; 4] {
        return None;
    }
    // Table-driven and branch-free: every CDR and ledger row's key passes through here.
    let (mut hi, mut lo, mut invalid) = (0u64, 0u64, 0u8);
    for (half, positions) in [&mut hi, &mut lo].into_iter().zip(HEX_POSITIONS.chunks_exact(16)) {
        for &i in positions {
            let digit = HEX_DIGIT[usize::from(b[i])];
            invalid |= digit;
            *half = *half << 4 | u64::from(digit & 0x0f);
        }
    }
    (invalid & NOT_HEX == 0).then_some(u128::from(hi) << 64 | u128::from(lo))
}

/// Where a canonical uuid's 32 hex digits are.
const HEX_POSITIONS: [usize; 32] = {
    let mut p = [0; 32];
    let (mut i, mut n) = (0, 0);
    while i < 36 {
        if !matches!(i, 8 | 13 | 18 | 23) {
            p[n] = i;
            n += 1;
        }
        i += 1;
    }
    p
};

/// A lowercase hex digit's value, or `NOT_HEX` for any other byte.
const NOT_HEX: u8 = 0x80;
const HEX_DIGIT: [u8; 256] = {
    let mut t = [NOT_HEX; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = match c as u8 {
            d @ b'0'..=b'9' => d - b'0',
            d @ b'a'..=b'f' => d - b'a' + 10,
            _ => NOT_HEX,
        };
        c += 1;
    }
    t
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PagingError {
    #[error("server returned page {got} when page {asked} was requested")]
    WrongPage { asked: u64, got: u64 },
    #[error("page {page} repeats page {previous} exactly: the server ignores the paging parameters")]
    Repeated { page: u64, previous: u64 },
    #[error("more than {limit} pages for {total} rows: paging does not terminate")]
    Runaway { limit: u64, total: u64 },
    #[error("envelope lacks {0}")]
    Missing(&'static str),
}

/// Every key a pager has seen: uuids as their 128 bits in a set of their own, 17 bytes a slot
/// where a set of [`Key`] (32 bytes, for its text variant) took 33. A customer with millions
/// of calls and charges keeps two such sets while it is paged.
#[derive(Debug, Default)]
struct SeenKeys {
    uuids: HashSet<u128>,
    texts: HashSet<Box<str>>,
}

impl SeenKeys {
    /// Whether `key` is new.
    fn insert(&mut self, key: &Key) -> bool {
        match key {
            Key::Uuid(u) => self.uuids.insert(*u),
            Key::Text(t) => !self.texts.contains(t) && self.texts.insert(t.clone()),
        }
    }

    fn contains(&self, key: &Key) -> bool {
        match key {
            Key::Uuid(u) => self.uuids.contains(u),
            Key::Text(t) => self.texts.contains(t),
        }
    }

    fn len(&self) -> usize {
        self.uuids.len() + self.texts.len()
    }
}

#[derive(Debug)]
pub struct Pager {
    scheme: Scheme,
    per_page: u64,
    next_page: Option<u64>,
    previous_keys: Vec<Key>,
    seen: SeenKeys,
    /// Rows seen twice (page drift shifts rows across pages).
    pub duplicates: u64,
    /// The latest `total` the server reported.
    pub last_total: Option<u64>,
    /// The last page as the latest page put it (its page count, or its total over its size).
    planned_last: Option<u64>,
    pub pages_fetched: u64,
}

impl Pager {
    pub fn new(scheme: Scheme, per_page: u64) -> Self {
        Self {
            scheme,
            per_page,
            next_page: Some(1),
            previous_keys: Vec::new(),
            seen: SeenKeys::default(),
            duplicates: 0,
            last_total: None,
            planned_last: None,
            pages_fetched: 0,
        }
    }

    /// The page to fetch next, or `None` when done.
    pub fn next_page(&self) -> Option<u64> {
        self.next_page
    }

    pub fn per_page(&self) -> u64 {
        self.per_page
    }

    /// The list's last page as the pages so far say (`None` before the first page): what a
    /// caller may request ahead. Paging still ends only where [`Pager::accept`] says.
    pub fn planned_last_page(&self) -> Option<u64> {
        self.planned_last
    }

    /// Rows seen so far, deduplicated.
    pub fn unique_rows(&self) -> u64 {
        self.seen.len() as u64
    }

    pub fn has_seen(&self, key: &str) -> bool {
        self.seen.contains(&Key::from(key))
    }

    /// Start another pass from page 1, keeping what was seen (used when rows appeared while
    /// paging: they are at the top of a newest-first list).
    pub fn restart(&mut self) {
        self.next_page = Some(1);
        self.previous_keys.clear();
    }

    /// Account for one page. Returns, for each row on it in order, whether it is new (not seen
    /// on an earlier page).
    pub fn accept(&mut self, info: PageInfo) -> Result<Vec<bool>, PagingError> {
        let asked = self.next_page.expect("accept() after done");
        if info.page != asked {
            return Err(PagingError::WrongPage { asked, got: info.page });
        }
        // The same rows again with the same total: the server ignored `page`. (With a changed
        // total it is drift: new rows pushed a whole page's worth down.)
        if asked > 1 && !info.keys.is_empty() && info.keys == self.previous_keys && self.last_total == Some(info.total)
        {
            return Err(PagingError::Repeated {
                page: asked,
                previous: asked - 1,
            });
        }
        // A server may clamp the page size; page arithmetic must use what it really did.
        let size = info.per_page.max(1);
        let limit = info.total.div_ceil(size) + 10;
        if asked > limit {
            return Err(PagingError::Runaway {
                limit,
                total: info.total,
            });
        }
        self.pages_fetched += 1;
        self.last_total = Some(info.total);
        self.planned_last = Some(match self.scheme {
            Scheme::PageSizeTotal => info.total.div_ceil(size),
            Scheme::TotalPages | Scheme::HasNext => info.pages.unwrap_or_else(|| info.total.div_ceil(size)),
        });
        let fresh: Vec<bool> = info.keys.iter().map(|k| self.seen.insert(k)).collect();
        self.duplicates += fresh.iter().filter(|&&f| !f).count() as u64;
        let more = !info.keys.is_empty()
            && match self.scheme {
                Scheme::PageSizeTotal => asked.saturating_mul(size) < info.total,
                Scheme::TotalPages => asked < info.pages.ok_or(PagingError::Missing("total_pages"))?,
                Scheme::HasNext => info.has_next.ok_or(PagingError::Missing("pagination.has_next"))?,
            };
        self.next_page = more.then_some(asked + 1);
        self.previous_keys = info.keys;
        Ok(fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A newest-first list of `rows` served `per_page` at a time in `scheme`'s envelope,
    /// with `late` rows prepended after the first page is served (page drift).
    fn serve(scheme: Scheme, rows: u64, per_page: u64, late: u64, ignore_paging: bool) -> Result<Pager, PagingError> {
        let mut pager = Pager::new(scheme, per_page);
        let mut list: Vec<String> = (0..rows).rev().map(|i| format!("r{i}")).collect();
        let mut served = 0;
        let mut passes = 0;
        loop {
            while let Some(page) = pager.next_page() {
                let p = if ignore_paging { 1 } else { page };
                let start = ((p - 1) * per_page) as usize;
                let keys: Vec<Key> = list
                    .iter()
                    .skip(start)
                    .take(per_page as usize)
                    .map(|k| k.as_str().into())
                    .collect();
                let total = list.len() as u64;
                let pages = total.div_ceil(per_page);
                let info = PageInfo {
                    page,
                    per_page,
                    total,
                    pages: Some(pages),
                    has_next: Some(page < pages),
                    keys,
                };
                pager.accept(info)?;
                served += 1;
                if served == 1 {
                    for j in 0..late {
                        list.insert(0, format!("late{j}"));
                    }
                }
            }
            // What the extract does: ask again for the total (one row per page); if it is
            // larger than what was seen, rows appeared at the top: start over from page 1.
            passes += 1;
            if pager.unique_rows() >= list.len() as u64 || passes > 3 {
                return Ok(pager);
            }
            pager.restart();
        }
    }

    #[test]
    fn boundaries() {
        for scheme in [Scheme::PageSizeTotal, Scheme::TotalPages, Scheme::HasNext] {
            let empty = serve(scheme, 0, 10, 0, false).unwrap();
            assert_eq!((empty.pages_fetched, empty.unique_rows()), (1, 0));
            let exact = serve(scheme, 10, 10, 0, false).unwrap();
            assert_eq!(
                (exact.pages_fetched, exact.unique_rows()),
                (1, 10),
                "{scheme:?}: exactly one page"
            );
            let partial = serve(scheme, 25, 10, 0, false).unwrap();
            assert_eq!((partial.pages_fetched, partial.unique_rows()), (3, 25));
            assert_eq!(
                partial.planned_last_page(),
                Some(3),
                "{scheme:?}: 25 rows are 3 pages of 10"
            );
        }
    }

    #[test]
    fn a_server_that_ignores_paging_fails_fast() {
        for scheme in [Scheme::PageSizeTotal, Scheme::TotalPages, Scheme::HasNext] {
            let err = serve(scheme, 50, 10, 0, true).unwrap_err();
            assert_eq!(err, PagingError::Repeated { page: 2, previous: 1 });
        }
    }

    #[test]
    fn wrong_page_and_missing_fields_are_errors() {
        let mut p = Pager::new(Scheme::TotalPages, 10);
        let info = PageInfo {
            page: 2,
            per_page: 10,
            total: 5,
            pages: Some(1),
            has_next: None,
            keys: vec![],
        };
        assert_eq!(p.accept(info).unwrap_err(), PagingError::WrongPage { asked: 1, got: 2 });
        let info = PageInfo {
            page: 1,
            per_page: 10,
            total: 5,
            pages: None,
            has_next: None,
            keys: vec!["a".into()],
        };
        assert_eq!(p.accept(info).unwrap_err(), PagingError::Missing("total_pages"));
    }

    #[test]
    fn uuid_keys_are_exact() {
        let canonical = "6d2ff92a-4d37-47fc-bf52-6bcca3be30a8";
        assert_eq!(Key::from(canonical), Key::Uuid(0x6d2ff92a_4d37_47fc_bf52_6bcca3be30a8));
        // Other spellings of the same uuid stay distinct keys: they are different strings.
        for other in [
            "6D2FF92A-4D37-47FC-BF52-6BCCA3BE30A8",
            "6d2ff92a4d3747fcbf526bcca3be30a8",
            "{6d2ff92a-4d37-47fc-bf52-6bcca3be30a8}",
            "6d2ff92a-4d37-47fc-bf52_6bcca3be30a8",
            "6d2ff92a-4d37-47fc-bf52-6bcca3be30ag",
            "6d2ff92a-4d37-47fc-bf52-6bcca3be30\u{e9}",
            "6d2ff92a-4d37-47fc-bf52-6bcca3be30a:",
            "6d2ff92a-4d37-47fc-bf52-6bcca3be30a/",
        ] {
            assert_eq!(Key::from(other), Key::Text(other.into()));
            assert_ne!(Key::from(other), Key::from(canonical));
        }
    }

    proptest! {
        #[test]
        fn every_canonical_uuid_is_its_bits(bits: u128) {
            let text = uuid::Uuid::from_u128(bits).hyphenated().to_string();
            prop_assert_eq!(Key::from(text.as_str()), Key::Uuid(bits));
            prop_assert_eq!(Key::from(text.to_uppercase().as_str()) == Key::Uuid(bits), !text.bytes().any(|c| c.is_ascii_lowercase()));
        }

        #[test]
        fn every_row_is_seen_exactly_once_even_with_drift(
            rows in 0u64..500, per_page in 1u64..60, late in 0u64..15, scheme in prop::sample::select(vec![Scheme::PageSizeTotal, Scheme::TotalPages, Scheme::HasNext])
        ) {
            let pager = serve(scheme, rows, per_page, late, false).unwrap();
            prop_assert_eq!(pager.unique_rows(), rows + late);
        }
    }
}
