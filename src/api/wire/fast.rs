//! A hand-written reader for the two pages that carry almost every byte of a run: CDR pages
//! (a hundred rows of 43 members, 21 of them kept) and ledger pages. Through serde_json's
//! derived visitors they cost about a third of a run's CPU; this reads them in one plain pass.
//!
//! It only reads what it is sure of: a page of the documented shape whose strings have no
//! escapes, whose integers are plain digits and whose members are not repeated. On anything
//! else it gives up (`None`) and serde_json reads the page, so the derived `Deserialize`
//! impls in [`super`] stay the definition of a page, of its errors and of every rarer case.
//! The tests hold the two readers to the same result on mutated pages: whenever this one
//! returns a page, it is the page serde_json returns.

use std::borrow::Cow;

use super::{CdrPageFull, CdrSummaryLite, CdrWire, LedgerPageFull, LedgerRowWire, LedgerSummary, Pagination};
use crate::model::money::{WireMoney, parse_exact};

/// Nesting deeper than this is left to serde_json (whose own limit is 128).
const MAX_DEPTH: u32 = 64;

/// A CDR page, or `None` when serde_json must read it.
pub fn cdr_page(text: &str) -> Option<CdrPageFull<'_>> {
    Scan::new(text).whole(Scan::cdr_page)
}

/// A ledger page, or `None` when serde_json must read it.
pub fn ledger_page(text: &str) -> Option<LedgerPageFull<'_>> {
    Scan::new(text).whole(Scan::ledger_page)
}

/// The members of one kind of object in the order the API writes them, each with what it
/// is to the reader. Most names are then recognised where they are expected with four word
/// compares, rather than scanned for their closing quote and looked up by text.
struct Layout<M: 'static, const N: usize> {
    members: [(&'static str, M); N],
    /// What a name not in `members` is.
    unknown: M,
    /// Each member's name as it is written, `"name":`, as four little-endian words...
    words: [[u64; 4]; N],
    /// ...and the mask of its bytes in them.
    masks: [[u64; 4]; N],
}

impl<M: Copy, const N: usize> Layout<M, N> {
    const fn new(members: [(&'static str, M); N], unknown: M) -> Self {
        let (mut words, mut masks) = ([[0; 4]; N], [[0; 4]; N]);
        let mut i = 0;
        while i < N {
            let name = members[i].0.as_bytes();
            assert!(name.len() + 3 <= 32, "a member name longer than 29 bytes");
            let mut j = 0;
            while j < name.len() + 3 {
                let byte = match j {
                    0 => b'"',
                    j if j == name.len() + 1 => b'"',
                    j if j == name.len() + 2 => b':',
                    j => name[j - 1],
                };
                assert!(byte >= 0x20 && byte != b'\\', "a member name that JSON escapes");
                assert!(
                    byte != b'"' || j == 0 || j == name.len() + 1,
                    "a member name that JSON escapes"
                );
                words[i][j / 8] |= (byte as u64) << (8 * (j % 8));
                masks[i][j / 8] |= 0xff << (8 * (j % 8));
                j += 1;
            }
            i += 1;
        }
        Self {
            members,
            unknown,
            words,
            masks,
        }
    }

    /// The length of `"name":` if `rest` starts with member `i`'s.
    #[inline(always)]
    fn name_at(&self, rest: &[u8], i: usize) -> Option<usize> {
        let (words, masks) = (self.words.get(i)?, &self.masks[i]);
        let chunk: &[u8; 32] = rest.get(..32)?.try_into().expect("32 bytes");
        let word = |k: usize| u64::from_le_bytes(chunk[8 * k..8 * k + 8].try_into().expect("eight bytes"));
        let differ = (0..4).fold(0, |acc, k| acc | ((word(k) ^ words[k]) & masks[k]));
        (differ == 0).then(|| self.members[i].0.len() + 3)
    }
}

/// What a CDR's member is to the reader.
#[derive(Clone, Copy)]
enum CdrMember {
    Id,
    Uuid,
    AccountId,
    CallDirection,
    CallerIdNumber,
    DestinationNumber,
    Context,
    Duration,
    Billsec,
    RingTime,
    StartTime,
    AnswerTime,
    EndTime,
    HangupCause,
    HangupCauseCode,
    Cost,
    StreamingCost,
    TotalCost,
    Currency,
    TrunkId,
    Codec,
    /// A member we do not keep, or one we do not know.
    Unread,
}

/// A CDR's members in the documented order (the reference's field list).
const CDR: Layout<CdrMember, 43> = {
    use CdrMember::*;
    Layout::new(
        [
            ("id", Id),
            ("uuid", Uuid),
            ("account_id", AccountId),
            ("call_direction", CallDirection),
            ("caller_id_name", Unread),
            ("caller_id_number", CallerIdNumber),
            ("destination_number", DestinationNumber),
            ("context", Context),
            ("region", Unread),
            ("origination_region", Unread),
            ("duration", Duration),
            ("billsec", Billsec),
            ("ring_time", RingTime),
            ("start_time", StartTime),
            ("answer_time", AnswerTime),
            ("progress_time", Unread),
            ("end_time", EndTime),
            ("created_at", Unread),
            ("updated_at", Unread),
            ("sip_call_id", Unread),
            ("cost", Cost),
            ("streaming_cost", StreamingCost),
            ("total_cost", TotalCost),
            ("currency", Currency),
            ("bridge_uuid", Unread),
            ("campaign_id", Unread),
            ("carrier_ip", Unread),
            ("codec", Codec),
            ("customer_endpoint", Unread),
            ("terminated_to", Unread),
            ("trunk_id", TrunkId),
            ("failure_code", Unread),
            ("failure_reason", Unread),
            ("hangup_cause", HangupCause),
            ("hangup_cause_code", HangupCauseCode),
            ("hangup_cause_name", Unread),
            ("hangup_disposition", Unread),
            ("hangup_source", Unread),
            ("jitter", Unread),
            ("mos", Unread),
            ("packet_loss", Unread),
            ("network_addr", Unread),
            ("sip_user_agent", Unread),
        ],
        Unread,
    )
};

/// What a ledger row's member is to the reader.
#[derive(Clone, Copy)]
enum LedgerMember {
    Id,
    AccountId,
    BalanceId,
    Kind,
    Amount,
    Currency,
    Description,
    Reference,
    ReferenceType,
    Status,
    ProcessedAt,
    CreatedAt,
    /// A member we do not keep, or one we do not know.
    Unread,
}

/// A ledger row's members in the documented order (`reference` is left out when null).
const LEDGER_ROW: Layout<LedgerMember, 13> = {
    use LedgerMember::*;
    Layout::new(
        [
            ("id", Id),
            ("account_id", AccountId),
            ("balance_id", BalanceId),
            ("type", Kind),
            ("amount", Amount),
            ("currency", Currency),
            ("description", Description),
            ("reference", Reference),
            ("reference_type", ReferenceType),
            ("status", Status),
            ("processed_at", ProcessedAt),
            ("created_at", CreatedAt),
            ("updated_at", Unread),
        ],
        Unread,
    )
};

struct Scan<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

/// Keep a member's value. A member given twice is an error for serde's derived impls, so it
/// is a reason to give up here.
fn set<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

/// Where the first byte that ends or interrupts a string is, from `from` on: a quote, a
/// backslash, or a control character (invalid inside a string). Eight bytes at a time, as
/// one word: most strings here are a few bytes long, too short for `memchr`'s set-up to pay.
fn special_byte(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // The high bit of each byte of `w` below `n`; exact for the lowest such byte (the only
    // one used), as a borrow can only flag bytes above it.
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS;
    let mut at = from;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let w = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let found = below(w ^ (ONES * u64::from(b'"')), 1) | below(w ^ (ONES * u64::from(b'\\')), 1) | below(w, 0x20);
        if found != 0 {
            return Some(at + found.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    let tail = bytes[at..].iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
    tail.map(|p| at + p)
}

impl<'a> Scan<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            bytes: text.as_bytes(),
            at: 0,
        }
    }

    /// `read` over the whole text: only whitespace may follow the value.
    fn whole<T>(mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let value = read(&mut self)?;
        self.ws();
        (self.at == self.bytes.len()).then_some(value)
    }

    // ----- pages ---------------------------------------------------------------------------

    fn cdr_page(&mut self) -> Option<CdrPageFull<'a>> {
        let (mut count, mut data, mut pagination, mut summary) = (None, None, None, None);
        self.object(|s, key| match key {
            "count" => set(&mut count, s.uint()?),
            "data" => {
                let mut rows = Vec::with_capacity(s.text.len() / 1024);
                s.array(|s| s.cdr().map(|row| rows.push(row)))?;
                set(&mut data, rows)
            }
            "pagination" => set(&mut pagination, s.pagination()?),
            "summary" => set(&mut summary, s.cdr_summary()?),
            _ => s.skip(1),
        })?;
        Some(CdrPageFull {
            count: count?,
            data: data?,
            pagination: pagination?,
            summary: summary?,
        })
    }

    fn pagination(&mut self) -> Option<Pagination> {
        let (mut page, mut per_page, mut total, mut pages, mut has_next) = (None, None, None, None, None);
        self.object(|s, key| match key {
            "page" => set(&mut page, s.uint()?),
            "per_page" => set(&mut per_page, s.uint()?),
            "total" => set(&mut total, s.uint()?),
            "pages" => set(&mut pages, s.uint()?),
            "has_next" => set(&mut has_next, s.bool()?),
            _ => s.skip(2),
        })?;
        Some(Pagination {
            page: page?,
            per_page: per_page?,
            total: total?,
            pages: pages?,
            has_next: has_next?,
        })
    }

    fn cdr_summary(&mut self) -> Option<CdrSummaryLite> {
        let (mut total_calls, mut total_cost) = (None, None);
        self.object(|s, key| match key {
            "totalCalls" => set(&mut total_calls, s.uint()?),
            "total_cost" => set(&mut total_cost, s.money()?),
            _ => s.skip(2),
        })?;
        Some(CdrSummaryLite {
            total_calls: total_calls?,
            total_cost: total_cost?,
        })
    }

    fn cdr(&mut self) -> Option<CdrWire<'a>> {
        // Every member `None` until read; an optional one read as `Some(None)` when null.
        let (mut id, mut caller_id_number, mut destination_number, mut context) = (None, None, None, None);
        let (mut ring_time, mut answer_time, mut end_time) = (None, None, None);
        let (mut hangup_cause, mut hangup_cause_code, mut streaming_cost) = (None, None, None);
        let (mut trunk_id, mut codec) = (None, None);
        let (mut uuid, mut account_id, mut call_direction, mut duration, mut billsec) = (None, None, None, None, None);
        let (mut start_time, mut cost, mut total_cost, mut currency) = (None, None, None, None);
        self.object_of(&CDR, |s, member| match member {
            CdrMember::Id => set(&mut id, s.opt(Self::uint)?),
            CdrMember::Uuid => set(&mut uuid, s.string()?),
            CdrMember::AccountId => set(&mut account_id, s.string()?),
            CdrMember::CallDirection => set(&mut call_direction, s.string()?),
            CdrMember::CallerIdNumber => set(&mut caller_id_number, s.opt_text()?),
            CdrMember::DestinationNumber => set(&mut destination_number, s.opt_text()?),
            CdrMember::Context => set(&mut context, s.opt_text()?),
            CdrMember::Duration => set(&mut duration, s.u32()?),
            CdrMember::Billsec => set(&mut billsec, s.u32()?),
            CdrMember::RingTime => set(&mut ring_time, s.opt(Self::u32)?),
            CdrMember::StartTime => set(&mut start_time, s.string()?),
            CdrMember::AnswerTime => set(&mut answer_time, s.opt_text()?),
            CdrMember::EndTime => set(&mut end_time, s.opt_text()?),
            CdrMember::HangupCause => set(&mut hangup_cause, s.opt_text()?),
            CdrMember::HangupCauseCode => set(&mut hangup_cause_code, s.opt(Self::u32)?),
            CdrMember::Cost => set(&mut cost, s.money()?),
            CdrMember::StreamingCost => set(&mut streaming_cost, s.opt(Self::money)?),
            CdrMember::TotalCost => set(&mut total_cost, s.money()?),
            CdrMember::Currency => set(&mut currency, s.string()?),
            CdrMember::TrunkId => set(&mut trunk_id, s.opt_text()?),
            CdrMember::Codec => set(&mut codec, s.opt_text()?),
            CdrMember::Unread => s.skip(3),
        })?;
        Some(CdrWire {
            id: id.flatten(),
            uuid: Cow::Borrowed(uuid?),
            account_id: Cow::Borrowed(account_id?),
            call_direction: Cow::Borrowed(call_direction?),
            caller_id_number: caller_id_number.flatten(),
            destination_number: destination_number.flatten(),
            context: context.flatten(),
            duration: duration?,
            billsec: billsec?,
            ring_time: ring_time.flatten(),
            start_time: Cow::Borrowed(start_time?),
            answer_time: answer_time.flatten(),
            end_time: end_time.flatten(),
            hangup_cause: hangup_cause.flatten(),
            hangup_cause_code: hangup_cause_code.flatten(),
            cost: cost?,
            streaming_cost: streaming_cost.flatten(),
            total_cost: total_cost?,
            currency: Cow::Borrowed(currency?),
            trunk_id: trunk_id.flatten(),
            codec: codec.flatten(),
        })
    }

    fn ledger_page(&mut self) -> Option<LedgerPageFull<'a>> {
        let (mut transactions, mut summary, mut total, mut page, mut per_page, mut total_pages) =
            (None, None, None, None, None, None);
        self.object(|s, key| match key {
            "transactions" => {
                let mut rows = Vec::with_capacity(s.text.len() / 512);
                s.array(|s| s.ledger_row().map(|row| rows.push(row)))?;
                set(&mut transactions, rows)
            }
            "summary" => set(&mut summary, s.ledger_summary()?),
            "total" => set(&mut total, s.uint()?),
            "page" => set(&mut page, s.uint()?),
            "per_page" => set(&mut per_page, s.uint()?),
            "total_pages" => set(&mut total_pages, s.uint()?),
            _ => s.skip(1),
        })?;
        Some(LedgerPageFull {
            transactions: transactions?,
            summary: summary?,
            total: total?,
            page: page?,
            per_page: per_page?,
            total_pages: total_pages?,
        })
    }

    fn ledger_summary(&mut self) -> Option<LedgerSummary> {
        let (mut total_transactions, mut total_debit, mut total_credit, mut net_amount) = (None, None, None, None);
        self.object(|s, key| match key {
            "total_transactions" => set(&mut total_transactions, s.uint()?),
            "total_debit" => set(&mut total_debit, s.money()?),
            "total_credit" => set(&mut total_credit, s.money()?),
            "net_amount" => set(&mut net_amount, s.opt(Self::money)?),
            _ => s.skip(2),
        })?;
        Some(LedgerSummary {
            total_transactions: total_transactions?,
            total_debit: total_debit?,
            total_credit: total_credit?,
            net_amount: net_amount.flatten(),
        })
    }

    fn ledger_row(&mut self) -> Option<LedgerRowWire<'a>> {
        let (mut balance_id, mut description, mut reference, mut reference_type) = (None, None, None, None);
        let (mut status, mut processed_at) = (None, None);
        let (mut id, mut account_id, mut kind, mut amount, mut currency, mut created_at) =
            (None, None, None, None, None, None);
        self.object_of(&LEDGER_ROW, |s, member| match member {
            LedgerMember::Id => set(&mut id, s.string()?),
            LedgerMember::AccountId => set(&mut account_id, s.string()?),
            LedgerMember::BalanceId => set(&mut balance_id, s.opt_text()?),
            LedgerMember::Kind => set(&mut kind, s.string()?),
            LedgerMember::Amount => set(&mut amount, s.money()?),
            LedgerMember::Currency => set(&mut currency, s.string()?),
            LedgerMember::Description => set(&mut description, s.opt_text()?),
            LedgerMember::Reference => set(&mut reference, s.opt_text()?),
            LedgerMember::ReferenceType => set(&mut reference_type, s.opt_text()?),
            LedgerMember::Status => set(&mut status, s.opt_text()?),
            LedgerMember::CreatedAt => set(&mut created_at, s.string()?),
            LedgerMember::ProcessedAt => set(&mut processed_at, s.opt_text()?),
            LedgerMember::Unread => s.skip(3),
        })?;
        Some(LedgerRowWire {
            id: Cow::Borrowed(id?),
            account_id: Cow::Borrowed(account_id?),
            balance_id: balance_id.flatten(),
            kind: Cow::Borrowed(kind?),
            amount: amount?,
            currency: Cow::Borrowed(currency?),
            description: description.flatten(),
            reference: reference.flatten(),
            reference_type: reference_type.flatten(),
            status: status.flatten(),
            created_at: Cow::Borrowed(created_at?),
            processed_at: processed_at.flatten(),
        })
    }

    // ----- JSON ----------------------------------------------------------------------------

    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.bytes.get(self.at).copied()
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.at += 1)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.ws();
        self.bytes[self.at..].starts_with(word).then(|| self.at += word.len())
    }

    /// The members of an object: `member` reads each one's value.
    #[inline]
    fn object(&mut self, member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.members(
            |s| {
                let key = s.string()?;
                s.eat(b':')?;
                Some(key)
            },
            member,
        )
    }

    /// The members of an object of a known layout: `member` reads each one's value. A name
    /// where the layout expects it is recognised in place; any other is read as a string and
    /// looked up (members missing, reordered, spaced out or unknown are all still read).
    #[inline]
    fn object_of<M: Copy, const N: usize>(
        &mut self,
        layout: &Layout<M, N>,
        member: impl FnMut(&mut Self, M) -> Option<()>,
    ) -> Option<()> {
        // The index of the member the layout expects next; the name reader owns it.
        let mut expected = 0;
        self.members(
            move |s| {
                if let Some(len) = layout.name_at(&s.bytes[s.at..], expected) {
                    s.at += len;
                    expected += 1;
                    return Some(layout.members[expected - 1].1);
                }
                let key = s.string()?;
                s.eat(b':')?;
                Some(match layout.members.iter().position(|(name, _)| *name == key) {
                    Some(i) => {
                        expected = i + 1;
                        layout.members[i].1
                    }
                    None => layout.unknown,
                })
            },
            member,
        )
    }

    /// An object's members: `name` reads a name and its colon, `member` the value after it.
    #[inline]
    fn members<K>(
        &mut self,
        mut name: impl FnMut(&mut Self) -> Option<K>,
        mut member: impl FnMut(&mut Self, K) -> Option<()>,
    ) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(());
        }
        loop {
            let key = name(self)?;
            member(self, key)?;
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// The items of an array: `item` reads each one.
    #[inline]
    fn array(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        if self.peek()? == b']' {
            self.at += 1;
            return Some(());
        }
        loop {
            item(self)?;
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A string with no escapes (serde_json would unescape it: it reads such a page).
    #[inline]
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        let end = special_byte(self.bytes, start)?;
        if self.bytes[end] != b'"' {
            return None;
        }
        self.at = end + 1;
        // Both ends are at ASCII quotes, so on character boundaries.
        self.text.get(start..end)
    }

    /// `null` as `None`, anything else through `read`.
    #[inline]
    fn opt<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return Some(None);
        }
        read(self).map(Some)
    }

    /// An optional text member (`Option<Cow<str>>`).
    #[inline]
    fn opt_text(&mut self) -> Option<Option<Cow<'a, str>>> {
        self.opt(|s| s.string().map(Cow::Borrowed))
    }

    /// An unsigned integer written as plain digits (a sign, fraction or exponent, or more than
    /// 19 digits, is left to serde_json).
    #[inline]
    fn uint(&mut self) -> Option<u64> {
        self.ws();
        let rest = &self.bytes[self.at..];
        let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || digits > 19 || (digits > 1 && rest[0] == b'0') {
            return None;
        }
        if matches!(rest.get(digits), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        self.at += digits;
        // 19 digits are below 2^64: no overflow.
        Some(rest[..digits].iter().fold(0, |v, &d| v * 10 + u64::from(d - b'0')))
    }

    #[inline]
    fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.uint()?).ok()
    }

    fn bool(&mut self) -> Option<bool> {
        match self.peek()? {
            b't' => self.literal(b"true").map(|()| true),
            b'f' => self.literal(b"false").map(|()| false),
            _ => None,
        }
    }

    /// A number's text, checked against JSON's grammar.
    fn number(&mut self) -> Option<&'a str> {
        self.ws();
        let b = self.bytes;
        let start = self.at;
        let mut i = start + usize::from(b.get(start) == Some(&b'-'));
        let digits = |i: &mut usize| {
            let from = *i;
            while b.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i > from
        };
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                digits(&mut i);
            }
            _ => return None,
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            if !digits(&mut i) {
                return None;
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !digits(&mut i) {
                return None;
            }
        }
        self.at = i;
        self.text.get(start..i)
    }

    /// Money as [`WireMoney`] reads it: a number, or a string holding one.
    #[inline]
    fn money(&mut self) -> Option<WireMoney> {
        let text = if self.peek()? == b'"' {
            self.string()?
        } else {
            self.number()?
        };
        parse_exact(text).ok().map(WireMoney)
    }

    /// Any value, checked as serde_json checks what it ignores.
    fn skip(&mut self, depth: u32) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'-' | b'0'..=b'9' => self.number().map(drop),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'{' if depth < MAX_DEPTH => self.object(|s, _| s.skip(depth + 1)),
            b'[' if depth < MAX_DEPTH => self.array(|s| s.skip(depth + 1)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Two CDRs as the API sends them: every member, one call answered and one not.
    const CDRS: &str = r#"{"id":11400010467,"uuid":"63cf2b39-420e-49f6-a6b2-3645e5080f45","account_id":"MA_UQQDUV9R","call_direction":"outbound","caller_id_name":"Gaṅgā Travels","caller_id_number":"+918093470234","destination_number":"+917007338343","context":"sip-trunking","region":"ap-south-1","origination_region":"mumbai","duration":80,"billsec":68,"ring_time":12,"start_time":"2026-03-31T23:57:12Z","answer_time":"2026-03-31T23:57:24Z","progress_time":"2026-03-31T23:57:13Z","end_time":"2026-03-31T23:58:32Z","created_at":"2026-03-31T23:58:32Z","updated_at":"2026-03-31T23:58:32Z","sip_call_id":"3b288fd803a785788e3f9100@sip.vobiz.ai","cost":0.51,"streaming_cost":0,"total_cost":0.51,"currency":"INR","bridge_uuid":"3b35897f-274c-4863-9c32-0aa95cfc3e01","campaign_id":null,"carrier_ip":"10.20.1.15","codec":"PCMU","customer_endpoint":null,"terminated_to":"+917007338343","trunk_id":"ac82d423-076b-436e-870e-0c5b7599d472","failure_code":null,"failure_reason":null,"hangup_cause":"NORMAL_CLEARING","hangup_cause_code":4000,"hangup_cause_name":"Normal Hangup","hangup_disposition":"send_refuse","hangup_source":"Carrier","jitter":6.5,"mos":4.4,"packet_loss":0.35,"network_addr":"10.20.0.0/16","sip_user_agent":"Vobiz-SBC/3.2"},{"id":11400010466,"uuid":"b31de60c-154d-49ec-9704-6943f2436b87","account_id":"MA_UQQDUV9R","call_direction":"inbound","caller_id_name":null,"caller_id_number":"+918093470234","destination_number":null,"context":null,"duration":20,"billsec":0,"ring_time":null,"start_time":"2026-03-31T23:49:38Z","answer_time":null,"end_time":"2026-03-31T23:49:58Z","cost":"0.00000","streaming_cost":null,"total_cost":"0","currency":"INR","trunk_id":null,"codec":null,"hangup_cause":"NO_ANSWER","hangup_cause_code":null,"jitter":-1.5e-3,"mos":{"a":[1,2.5,{"b":null}],"c":true},"packet_loss":false}"#;

    /// Two ledger rows: a debit for a call and a credit without a reference.
    const LEDGER: &str = r#"{"id":"ece80ba9-8d32-4189-a1d0-378e7ec26577","account_id":"MA_UQQDUV9R","balance_id":"c6d36a8e-af13-47ad-859d-b1bec1cf2747","type":"debit","amount":15.3,"currency":"INR","description":"Call to 917021635137 (2040s)","reference":"cdr_b7c80d67-16bd-47c6-853e-192c3283bbea","reference_type":"cdr","status":"completed","processed_at":"2026-04-02T16:50:15.250000Z","created_at":"2026-04-02T16:50:15.250000Z","updated_at":"2026-04-02T16:50:15.250000Z"},{"id":"4fc1af7c-b1ec-42ed-ba0d-3acac0a6f60a","account_id":"MA_UQQDUV9R","balance_id":null,"type":"credit","amount":"500.00000","currency":"INR","description":"Recharge ₹500","status":null,"created_at":"2026-04-02T16:26:34.250000Z"}"#;

    fn cdr_page_text(rows: &str) -> String {
        format!(
            r#"{{"success":true,"account_id":"600014","account_auth_id":"MA_UQQDUV9R","count":2,"data":[{rows}],"pagination":{{"page":1,"per_page":100,"total":2,"pages":1,"has_next":false,"has_prev":false}},"summary":{{"answerRate":48.2,"answeredCalls":1,"avgCallDuration":"28s","last_call_at":"2026-03-31T23:58:32Z","totalCalls":2,"total_billable_seconds":68,"total_cost":0.51,"total_duration_seconds":100}}}}"#
        )
    }

    fn ledger_page_text(rows: &str) -> String {
        format!(
            r#"{{"transactions":[{rows}],"summary":{{"total_transactions":2,"total_debit":15.3,"total_credit":"500.00000","net_amount":484.7,"by_reference_type":[{{"reference_type":"cdr","total_debit":15.3,"total_credit":0,"count":1}}]}},"total":2,"page":1,"per_page":200,"total_pages":1,"account_auth_id":"MA_UQQDUV9R"}}"#
        )
    }

    /// Whenever the fast reader returns a page, serde_json returns the same page. Says
    /// whether the fast reader read it.
    fn agrees(text: &str) -> bool {
        let cdr = match (cdr_page(text), serde_json::from_str::<CdrPageFull>(text)) {
            (Some(fast), Ok(serde)) => {
                assert_eq!(fast, serde, "{text}");
                true
            }
            (Some(fast), Err(e)) => panic!("read a CDR page serde_json rejects ({e}): {fast:?}\n{text}"),
            (None, _) => false,
        };
        let ledger = match (ledger_page(text), serde_json::from_str::<LedgerPageFull>(text)) {
            (Some(fast), Ok(serde)) => {
                assert_eq!(fast, serde, "{text}");
                true
            }
            (Some(fast), Err(e)) => panic!("read a ledger page serde_json rejects ({e}): {fast:?}\n{text}"),
            (None, _) => false,
        };
        cdr || ledger
    }

    #[test]
    fn reads_the_usual_pages_as_serde_json_does() {
        let cdrs = cdr_page_text(CDRS);
        assert!(agrees(&cdrs));
        assert_eq!(cdr_page(&cdrs).unwrap().data.len(), 2);
        let ledger = ledger_page_text(LEDGER);
        assert!(agrees(&ledger));
        assert_eq!(ledger_page(&ledger).unwrap().transactions.len(), 2);
        // Whitespace anywhere JSON allows it, and members in another order.
        let spaced = format!(
            " \n{{ \"pagination\" :\t{{\"has_next\":true ,\"pages\":3,\"total\":250,\"per_page\":100,\"page\":2}},\r\n\"data\" : [ {} , {} ] , \"count\": 2,\"summary\":{{\"total_cost\":\"1.5\",\"totalCalls\":250}} }}\n",
            CDRS.split_once("},{").unwrap().0.to_string() + "}",
            "{".to_string() + CDRS.split_once("},{").unwrap().1
        );
        assert!(agrees(&spaced));
        assert!(cdr_page(&spaced).unwrap().pagination.has_next);
    }

    #[test]
    fn reads_members_out_of_the_documented_order() {
        // serde_json's `Value` sorts members by name and can pretty-print: neither the order
        // nor the spacing the layouts expect.
        for page in [cdr_page_text(CDRS), ledger_page_text(LEDGER)] {
            let value: serde_json::Value = serde_json::from_str(&page).unwrap();
            for text in [value.to_string(), serde_json::to_string_pretty(&value).unwrap()] {
                assert!(agrees(&text), "{text}");
            }
        }
        // Names that only begin or end like a member's, where that member is expected.
        // The first row then lacks a member it must have, so neither reader reads the page.
        for (member, lookalike) in [("uuid", "uuid2"), ("account_id", "_account_id"), ("cost", "cos")] {
            let rows = CDRS.replacen(&format!("\"{member}\":"), &format!("\"{lookalike}\":"), 1);
            let text = cdr_page_text(&rows);
            assert!(!agrees(&text), "{lookalike} read as {member}");
            assert!(serde_json::from_str::<CdrPageFull>(&text).is_err());
        }
    }

    #[test]
    fn layouts_recognise_a_name_only_as_written() {
        let rest = |s: &str| format!("{s:<40}");
        assert_eq!(CDR.name_at(rest("\"id\":1").as_bytes(), 0), Some(5));
        assert_eq!(CDR.name_at(rest("\"uuid\":\"").as_bytes(), 1), Some(7));
        assert_eq!(CDR.name_at(rest("\"uuid\":\"").as_bytes(), 0), None);
        assert_eq!(CDR.name_at(rest("\"uuid\" :\"").as_bytes(), 1), None);
        assert_eq!(CDR.name_at(rest("\"uuidx\":").as_bytes(), 1), None);
        assert_eq!(CDR.name_at(rest("\"UUID\":").as_bytes(), 1), None);
        // Past the last member, and too near the end of the text, nothing is recognised.
        assert_eq!(CDR.name_at(rest("\"id\":1").as_bytes(), CDR.members.len()), None);
        assert_eq!(CDR.name_at(b"\"id\":1}]}", 0), None);
        let longest = "destination_number";
        let i = CDR.members.iter().position(|(n, _)| *n == longest).unwrap();
        assert_eq!(
            CDR.name_at(rest(&format!("\"{longest}\":")).as_bytes(), i),
            Some(longest.len() + 3)
        );
    }

    #[test]
    fn leaves_every_rarer_case_to_serde_json() {
        let page = cdr_page_text(CDRS);
        let cases = [
            // an escape in a string: serde_json unescapes it
            page.replacen("Carrier", r#"Car\"rier"#, 1),
            page.replacen("MA_UQQDUV9R", r"MA_UQQ\u0044UV9R", 1),
            // a member given twice
            page.replacen(r#""billsec":68"#, r#""billsec":68,"billsec":68"#, 1),
            // integers that are not plain digits, or do not fit
            page.replacen(r#""duration":80"#, r#""duration":80.0"#, 1),
            page.replacen(r#""duration":80"#, r#""duration":-80"#, 1),
            page.replacen(r#""duration":80"#, r#""duration":080"#, 1),
            page.replacen(r#""duration":80"#, r#""duration":8e1"#, 1),
            page.replacen(r#""duration":80"#, r#""duration":4294967296"#, 1),
            // a required member missing, or null
            page.replacen(r#""billsec":68,"#, "", 1),
            page.replacen(r#""billsec":68"#, r#""billsec":null"#, 1),
            // money that is not exact money
            page.replacen(r#""cost":0.51"#, r#""cost":"0.51x""#, 1),
            page.replacen(r#""cost":0.51"#, r#""cost":0.123456"#, 1),
            // not JSON
            page.replacen(r#""jitter":6.5"#, r#""jitter":6."#, 1),
            page.replacen(r#""jitter":6.5"#, r#""jitter":.5"#, 1),
            page.replacen(r#""codec":"PCMU""#, "\"codec\":\"PC\tMU\"", 1),
            page.replacen(r#""has_prev":false"#, r#""has_prev":fals"#, 1),
            page.replacen("}]", "},]", 1),
            page.clone() + "x",
            page[..page.len() - 1].to_string(),
        ];
        for (i, text) in cases.iter().enumerate() {
            assert_ne!(*text, page, "case {i} changes the page");
            assert!(!agrees(text), "case {i} is for serde_json: {text}");
        }
        // Unusual but plain: read, and read alike.
        for text in [
            page.replacen(r#""jitter":6.5"#, r#""jitter":1e999"#, 1),
            page.replacen(r#""duration":80"#, r#""duration":0"#, 1),
            page.replacen(r#""id":11400010467,"#, "", 1),
            page.replacen(r#""cost":0.51"#, r#""cost":5.1E-1"#, 1),
            page.replacen(r#""data":["#, r#""extra":{"deep":[[[[]]]],"e":""},"data":["#, 1),
        ] {
            assert!(agrees(&text), "{text}");
        }
    }

    /// Bytes that make or break JSON, for mutations.
    const ALPHABET: &[u8] = b"{}[]\":,.-+eE0123456789 \n\\tnulfasx\x01";

    fn mutated(page: &str, edits: &[(usize, u8, u8)]) -> Option<String> {
        let mut bytes = page.as_bytes().to_vec();
        for &(at, op, c) in edits {
            let at = at % (bytes.len() + 1);
            let c = ALPHABET[usize::from(c) % ALPHABET.len()];
            match op % 3 {
                0 => bytes.insert(at, c),
                1 if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ if at < bytes.len() => bytes[at] = c,
                _ => {}
            }
        }
        String::from_utf8(bytes).ok()
    }

    proptest! {
        #[test]
        fn finds_the_first_special_byte_as_a_plain_search_does(
            bytes in prop::collection::vec(prop::sample::select(vec![0u8, 0x1f, 0x20, b'"', b'\\', b'a', 0x7f, 0x80, 0xa2, 0xff]), 0..40),
            from in 0usize..40,
        ) {
            let from = from.min(bytes.len());
            let plain = bytes[from..].iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20).map(|p| from + p);
            prop_assert_eq!(special_byte(&bytes, from), plain);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn never_reads_a_page_differently_from_serde_json(
            edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..4),
            ledger in any::<bool>(),
        ) {
            let page = if ledger { ledger_page_text(LEDGER) } else { cdr_page_text(CDRS) };
            if let Some(text) = mutated(&page, &edits) {
                agrees(&text);
            }
        }
    }
}
