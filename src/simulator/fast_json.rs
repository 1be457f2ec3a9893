//! Hand-written JSON for the two list pages that carry almost every byte the simulator
//! serves: CDR pages and partner-ledger pages. In `make bench` the derived serializers spent
//! most of the simulator's time escaping strings that cannot need it (uuids, timestamps,
//! constants) and validating every money amount as a `RawValue`, while the simulator shares
//! the machine's two cores with the client it feeds.
//!
//! The derived `Serialize` impls in [`super::wire`] stay the definition of each shape: the
//! tests below hold this writer to them byte for byte, so the two cannot drift apart.

use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use super::wire::{CdrObject, LedgerObject, PartnerCdrPage, PartnerLedgerPage, Stamp};

/// Writes one JSON object's members in order.
struct Object<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> Object<'o> {
    fn open(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, first: true }
    }

    /// Start a member: `,"name":` (names are our own constants: nothing to escape).
    /// Inlined, so that each name's length is a constant and its copy a few moves.
    #[inline(always)]
    fn key(&mut self, name: &str) -> &mut Vec<u8> {
        self.out.extend_from_slice(if self.first { b"\"" } else { b",\"" });
        self.first = false;
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    fn str(&mut self, name: &str, v: &str) {
        let out = self.key(name);
        string(out, v);
    }

    /// A string written between quotes as it is: only for text that cannot need escaping.
    #[inline(always)]
    fn quoted_as_is(&mut self, name: &str, text: &[u8]) {
        let out = self.key(name);
        out.push(b'"');
        out.extend_from_slice(text);
        out.push(b'"');
    }

    /// A string from the simulator's own constants, none of which needs escaping.
    #[inline(always)]
    fn constant(&mut self, name: &str, v: &'static str) {
        debug_assert!(!needs_escape(v), "{v:?}");
        self.quoted_as_is(name, v.as_bytes());
    }

    /// The first `len` bytes of `buf`, quoted as they are. The whole buffer is copied and
    /// the rest cut off again: a copy of a constant size is a few moves, while a copy of
    /// unknown length is a call to `memcpy`, which millions of short texts felt.
    #[inline(always)]
    fn quoted_prefix<const N: usize>(&mut self, name: &str, buf: &[u8; N], len: usize) {
        let out = self.key(name);
        out.push(b'"');
        let end = out.len() + len.min(N);
        out.extend_from_slice(buf);
        out.truncate(end);
        out.push(b'"');
    }

    /// A timestamp: digits, `-`, `:`, `.`, `T`, `Z` and `+`, nothing to escape.
    fn stamp(&mut self, name: &str, v: &Stamp) {
        let (buf, len) = v.buffer();
        self.quoted_prefix(name, buf, len);
    }

    fn uuid(&mut self, name: &str, v: &Uuid) {
        let mut buf = Uuid::encode_buffer();
        let len = v.hyphenated().encode_lower(&mut buf).len();
        self.quoted_prefix(name, &buf, len);
    }

    fn uint(&mut self, name: &str, v: u64) {
        let out = self.key(name);
        out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }

    /// An optional member: `write` for a value, `null` for none.
    #[inline(always)]
    fn opt<T>(&mut self, name: &str, v: Option<T>, write: impl FnOnce(&mut Self, &str, T)) {
        match v {
            Some(v) => write(self, name, v),
            None => self.key(name).extend_from_slice(b"null"),
        }
    }

    /// A value written exactly as given (valid JSON).
    fn raw(&mut self, name: &str, text: &str) {
        self.key(name).extend_from_slice(text.as_bytes());
    }

    fn bool(&mut self, name: &str, v: bool) {
        self.key(name).extend_from_slice(if v { b"true" } else { b"false" });
    }

    /// Money as a JSON number with exactly the decimal's digits (as `money::json::number`).
    fn number(&mut self, name: &str, v: Decimal) {
        decimal(self.key(name), v);
    }

    /// Any other value, through its derived serializer.
    fn serde<T: Serialize + ?Sized>(&mut self, name: &str, v: &T) {
        let out = self.key(name);
        serde_json::to_writer(out, v).expect("simulator values serialize");
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

/// A decimal as its `Display` writes it once normalized (no trailing zeros), without the
/// formatting machinery: the digits of the mantissa with the point put in by hand.
fn decimal(out: &mut Vec<u8>, v: Decimal) {
    let v = v.normalize();
    let (mantissa, scale) = (v.mantissa(), v.scale() as usize);
    if mantissa < 0 {
        out.push(b'-');
    }
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(mantissa.unsigned_abs()).as_bytes();
    if scale == 0 {
        out.extend_from_slice(digits);
    } else if digits.len() > scale {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.extend_from_slice(int);
        out.push(b'.');
        out.extend_from_slice(frac);
    } else {
        out.extend_from_slice(b"0.");
        out.resize(out.len() + scale - digits.len(), b'0');
        out.extend_from_slice(digits);
    }
}

/// A JSON string. Quoted as is when nothing in it needs escaping (serde_json escapes only
/// `"`, `\` and control characters), otherwise through serde_json.
fn string(out: &mut Vec<u8>, v: &str) {
    if !needs_escape(v) {
        out.push(b'"');
        out.extend_from_slice(v.as_bytes());
        out.push(b'"');
    } else {
        serde_json::to_writer(out, v).expect("strings serialize");
    }
}

fn needs_escape(v: &str) -> bool {
    // A fold without early exit, so that the check vectorizes.
    v.bytes()
        .fold(false, |acc, b| acc | (b < 0x20) | (b == b'"') | (b == b'\\'))
}

fn cdr(out: &mut Vec<u8>, c: &CdrObject) {
    let mut o = Object::open(out);
    o.uint("id", c.id);
    o.uuid("uuid", &c.uuid);
    o.str("account_id", c.account_id);
    o.constant("call_direction", c.call_direction);
    o.str("caller_id_name", &c.caller_id_name);
    o.str("caller_id_number", &c.caller_id_number);
    o.str("destination_number", &c.destination_number);
    o.constant("context", c.context);
    o.constant("region", c.region);
    o.constant("origination_region", c.origination_region);
    o.uint("duration", c.duration.into());
    o.uint("billsec", c.billsec.into());
    o.uint("ring_time", c.ring_time.into());
    o.stamp("start_time", &c.start_time);
    o.opt("answer_time", c.answer_time.as_ref(), Object::stamp);
    o.opt("progress_time", c.progress_time.as_ref(), Object::stamp);
    o.stamp("end_time", &c.end_time);
    o.stamp("created_at", &c.created_at);
    o.stamp("updated_at", &c.updated_at);
    o.str("sip_call_id", &c.sip_call_id);
    o.number("cost", c.cost);
    o.number("streaming_cost", c.streaming_cost);
    o.number("total_cost", c.total_cost);
    o.str("currency", c.currency);
    o.opt("bridge_uuid", c.bridge_uuid.as_ref(), Object::uuid);
    o.opt("campaign_id", c.campaign_id.as_deref(), Object::str);
    o.opt("carrier_ip", c.carrier_ip, Object::constant);
    o.opt("codec", c.codec, Object::constant);
    o.opt("customer_endpoint", c.customer_endpoint.as_deref(), Object::str);
    o.opt("terminated_to", c.terminated_to.as_deref(), Object::str);
    o.opt("trunk_id", c.trunk_id.as_ref(), Object::uuid);
    o.opt("failure_code", c.failure_code.map(u64::from), Object::uint);
    o.opt("failure_reason", c.failure_reason, Object::constant);
    o.constant("hangup_cause", c.hangup_cause);
    o.uint("hangup_cause_code", c.hangup_cause_code.into());
    o.constant("hangup_cause_name", c.hangup_cause_name);
    o.constant("hangup_disposition", c.hangup_disposition);
    o.constant("hangup_source", c.hangup_source);
    o.number("jitter", c.jitter);
    o.number("mos", c.mos);
    o.number("packet_loss", c.packet_loss);
    o.opt("network_addr", c.network_addr, Object::constant);
    o.opt("sip_user_agent", c.sip_user_agent, Object::constant);
    o.close();
}

fn ledger_row(out: &mut Vec<u8>, l: &LedgerObject) {
    let mut o = Object::open(out);
    o.uuid("id", &l.id);
    o.str("account_id", l.account_id);
    o.uuid("balance_id", &l.balance_id);
    o.constant("type", l.kind);
    match l.amount.text {
        Some(text) => o.raw("amount", text),
        None => o.number("amount", l.amount.exact),
    }
    o.str("currency", l.currency);
    o.str("description", &l.description);
    if let Some(r) = &l.reference {
        o.str("reference", r);
    }
    if let Some(t) = l.reference_type {
        o.opt("reference_type", t, Object::str);
    }
    o.constant("status", l.status);
    o.stamp("processed_at", &l.processed_at);
    o.stamp("created_at", &l.created_at);
    o.stamp("updated_at", &l.updated_at);
    o.close();
}

fn array<T>(out: &mut Vec<u8>, items: &[T], write: fn(&mut Vec<u8>, &T)) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(out, item);
    }
    out.push(b']');
}

/// `serde_json::to_vec(page)`, faster.
pub fn cdr_page(page: &PartnerCdrPage) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024 + page.data.len() * 1536);
    let mut o = Object::open(&mut out);
    o.bool("success", page.success);
    if let Some(id) = page.account_id {
        o.str("account_id", id);
    }
    if let Some(id) = page.account_auth_id {
        o.str("account_auth_id", id);
    }
    o.uint("count", page.count as u64);
    array(o.key("data"), &page.data, cdr);
    o.serde("pagination", &page.pagination);
    o.serde("summary", page.summary);
    o.close();
    out
}

/// `serde_json::to_vec(page)`, faster.
pub fn ledger_page(page: &PartnerLedgerPage) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024 + page.transactions.len() * 512);
    let mut o = Object::open(&mut out);
    array(o.key("transactions"), &page.transactions, ledger_row);
    o.serde("summary", page.summary);
    o.uint("total", page.total);
    o.uint("page", page.page);
    o.uint("per_page", page.per_page);
    o.uint("total_pages", page.total_pages);
    if let Some(id) = page.account_auth_id {
        o.str("account_auth_id", id);
    }
    o.close();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_written_as_display_writes_them() {
        // Mantissas from a fixed LCG across all scales, plus the edges.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut values = vec![Decimal::ZERO, Decimal::NEGATIVE_ONE, Decimal::MAX, Decimal::MIN];
        for _ in 0..5_000 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let mantissa = (x >> (x % 50)) as i64 * if x & 1 == 0 { 1 } else { -1 };
            values.push(Decimal::new(mantissa, (x % 29) as u32));
        }
        values.push(Decimal::new(-0, 3));
        for v in values {
            let mut out = Vec::new();
            decimal(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), v.normalize().to_string(), "{v:?}");
        }
    }

    #[test]
    fn strings_are_escaped_exactly_as_serde_json_does() {
        for s in [
            "",
            "plain",
            "quote \" and \\ back",
            "tab\tnew\nline\u{1}",
            "ünïcødé / ok",
            "</script>",
        ] {
            let mut out = Vec::new();
            string(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }
}
