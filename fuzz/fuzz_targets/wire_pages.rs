//! Every page type of `src/api/wire.rs`, decoded from the same bytes.
//!
//! Invariants, beyond "never panics":
//! - every `WireMoney` that decodes is within storage limits (scale <= 5, at most 15 integer
//!   digits), normalized, and re-parses from its own text to the same value;
//! - `RowMoney` (the lenient amount of the lite rows) decodes from any JSON value, to exactly
//!   what `WireMoney` decodes from the same text, or `None` where `WireMoney` fails;
//! - a borrowed `Cow<str>` points into the input (no dangling or foreign borrows);
//! - whatever decodes as a typed page is syntactically valid JSON;
//! - a lite page and the generic `RowsPage` agree on the rows, and each raw row decodes as the
//!   lite row type with the same key; a full row implies its lite row with the same values;
//! - a ledger page implies the ledger-totals view with the same summary;
//! - the hand-written page readers (`cdr_page_full`, `ledger_page_full`) agree with serde_json.

#![no_main]

use std::borrow::Cow;

use libfuzzer_sys::fuzz_target;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::IgnoredAny;
use vobiz_billing_fuzz::api::wire::*;
use vobiz_billing_fuzz::model::money::{self, RowMoney, STORAGE_MAX_INTEGER_DIGITS, STORAGE_SCALE, WireMoney};

fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Option<T> {
    serde_json::from_slice(bytes).ok()
}

fn check_money(m: WireMoney) {
    let d = m.0;
    assert!(d.scale() <= STORAGE_SCALE, "{d} has scale {}", d.scale());
    let limit = Decimal::from(10u64.pow(STORAGE_MAX_INTEGER_DIGITS));
    assert!(d.trunc().abs() < limit, "{d} does not fit Decimal128(20,5)");
    let n = d.normalize();
    assert_eq!(n.scale(), d.scale(), "{d} is not normalized");
    assert!(!(d.is_zero() && d.is_sign_negative()), "negative zero");
    assert_eq!(money::parse_exact(&d.to_string()), Ok(d), "{d} does not re-parse");
}

fn check_opt_money(m: Option<WireMoney>) {
    if let Some(m) = m {
        check_money(m);
    }
}

fn check_row_money(m: RowMoney) {
    check_opt_money(m.0.map(WireMoney));
}

/// The whole input as one amount: `RowMoney` is `WireMoney` made total.
fn check_row_money_agrees(input: &[u8]) {
    let strict = serde_json::from_slice::<WireMoney>(input);
    let lenient = serde_json::from_slice::<RowMoney>(input);
    if let Ok(w) = &strict {
        check_money(*w);
        assert_eq!(lenient.as_ref().ok(), Some(&RowMoney(Some(w.0))));
    }
    // `IgnoredAny` skips strings without checking their UTF-8; `RawValue` checks it.
    let json = std::str::from_utf8(input).is_ok() && serde_json::from_slice::<IgnoredAny>(input).is_ok();
    if json {
        let lenient = lenient.expect("RowMoney decodes from any JSON value");
        assert_eq!(lenient.0, strict.ok().map(|w| w.0));
    } else {
        assert!(lenient.is_err(), "RowMoney decoded from input that is not JSON");
    }
}

/// A borrowed string must point into the input.
#[allow(clippy::ptr_arg, reason = "whether the Cow is borrowed is what is checked")]
fn check_str(input: &[u8], s: &Cow<'_, str>) {
    if let Cow::Borrowed(s) = s {
        let outer = input.as_ptr_range();
        let inner = s.as_bytes().as_ptr_range();
        assert!(
            outer.start <= inner.start && inner.end <= outer.end,
            "borrowed string {s:?} is not inside the input"
        );
    }
}

fn check_opt_str(input: &[u8], s: &Option<Cow<'_, str>>) {
    if let Some(s) = s {
        check_str(input, s);
    }
}

fn check_summary(s: &LedgerSummary) {
    check_money(s.total_debit);
    check_money(s.total_credit);
    check_opt_money(s.net_amount);
}

/// The full row types, and what they imply about the lite ones.
fn check_rows(input: &[u8], row: &[u8]) -> bool {
    let mut any = false;
    if let Some(a) = decode::<AccountWire>(row) {
        any = true;
        for s in [&a.auth_id, &a.name, &a.created_at] {
            check_str(input, s);
        }
        for s in [
            &a.id,
            &a.email,
            &a.phone,
            &a.company,
            &a.address,
            &a.city,
            &a.state,
            &a.zip_code,
            &a.country,
            &a.gstin,
            &a.gst_status,
            &a.business_type,
            &a.kyc_status,
            &a.updated_at,
        ] {
            check_opt_str(input, s);
        }
        if let Some(t) = &a.pricing_tier {
            check_opt_str(input, &t.id);
            check_opt_str(input, &t.name);
            check_opt_str(input, &t.currency);
            check_opt_money(t.rate_per_minute);
        }
        // AccountLite also reads `auth_token`, which AccountWire ignores, so it may fail alone.
        if let Some(lite) = decode::<AccountLite>(row) {
            assert_eq!(lite.auth_id, a.auth_id);
            let full_currency = a.pricing_tier.as_ref().and_then(|t| t.currency.as_deref());
            let lite_currency = lite.pricing_tier.as_ref().and_then(|t| t.currency.as_deref());
            assert_eq!(lite_currency, full_currency);
        }
    }
    if let Some(l) = decode::<LedgerRowWire>(row) {
        any = true;
        for s in [&l.id, &l.account_id, &l.kind, &l.currency, &l.created_at] {
            check_str(input, s);
        }
        for s in [
            &l.balance_id,
            &l.description,
            &l.reference,
            &l.reference_type,
            &l.status,
            &l.processed_at,
        ] {
            check_opt_str(input, s);
        }
        check_money(l.amount);
        let lite = decode::<LedgerRowLite>(row).expect("a full ledger row is also a lite one");
        assert_eq!((lite.id, lite.kind), (l.id, l.kind));
        assert_eq!(lite.amount, RowMoney(Some(l.amount.0)));
    }
    if let Some(c) = decode::<CdrWire>(row) {
        any = true;
        for s in [&c.uuid, &c.account_id, &c.call_direction, &c.start_time, &c.currency] {
            check_str(input, s);
        }
        for s in [
            &c.caller_id_number,
            &c.destination_number,
            &c.context,
            &c.answer_time,
            &c.end_time,
            &c.hangup_cause,
            &c.trunk_id,
            &c.codec,
        ] {
            check_opt_str(input, s);
        }
        check_money(c.cost);
        check_opt_money(c.streaming_cost);
        check_money(c.total_cost);
        let lite = decode::<CdrLite>(row).expect("a full CDR is also a lite one");
        assert_eq!(lite.uuid, c.uuid);
        assert_eq!(lite.total_cost, RowMoney(Some(c.total_cost.0)));
    }
    any
}

fn check_direction(d: &DirectionWire) {
    check_money(d.total_minutes);
}

fn run(input: &[u8]) {
    check_row_money_agrees(input);
    let mut any = false;

    // Lite views (extract).
    let accounts = decode::<AccountsPageLite>(input);
    if let Some(p) = &accounts {
        any = true;
        for a in &p.accounts {
            check_str(input, &a.auth_id);
            check_opt_str(input, &a.auth_token);
            if let Some(t) = &a.pricing_tier {
                check_opt_str(input, &t.currency);
            }
        }
    }
    let ledger = decode::<LedgerPageLite>(input);
    if let Some(p) = &ledger {
        any = true;
        for r in &p.transactions {
            check_str(input, &r.id);
            check_str(input, &r.kind);
            check_row_money(r.amount);
        }
        check_summary(&p.summary);
        let totals = decode::<LedgerTotalsWire>(input).expect("a ledger page is also a totals page");
        assert_eq!(totals.total, p.total);
        assert_eq!(totals.summary.total_transactions, p.summary.total_transactions);
        assert_eq!(totals.summary.total_debit, p.summary.total_debit);
        assert_eq!(totals.summary.total_credit, p.summary.total_credit);
        assert_eq!(totals.summary.net_amount, p.summary.net_amount);
    }
    let cdrs = decode::<CdrPageLite>(input);
    if let Some(p) = &cdrs {
        any = true;
        for r in &p.data {
            check_str(input, &r.uuid);
            check_row_money(r.total_cost);
        }
        check_money(p.summary.total_cost);
    }

    // Full pages (what extract parses first): wherever one decodes, the lite view decodes too
    // and says the same about every row, so extract checks the same things either way. And
    // `parse` (UTF-8 checked up front) decodes exactly what `from_slice` does.
    let full_ledger = parse::<LedgerPageFull>(input);
    assert_eq!(full_ledger.is_ok(), decode::<LedgerPageFull>(input).is_some());
    if let Ok(full) = &full_ledger {
        let lite = ledger.as_ref().expect("a full ledger page is also a lite one");
        assert_eq!(full.transactions.len(), lite.transactions.len());
        for (f, l) in full.transactions.iter().zip(&lite.transactions) {
            assert_eq!((&f.id, &f.kind, Some(f.amount.0)), (&l.id, &l.kind, l.amount.0));
        }
        assert_eq!((full.total, full.page, full.total_pages), (lite.total, lite.page, lite.total_pages));
    }
    let full_cdrs = parse::<CdrPageFull>(input);
    assert_eq!(full_cdrs.is_ok(), decode::<CdrPageFull>(input).is_some());
    if let Ok(full) = &full_cdrs {
        let lite = cdrs.as_ref().expect("a full CDR page is also a lite one");
        assert_eq!(full.data.len(), lite.data.len());
        for (f, l) in full.data.iter().zip(&lite.data) {
            assert_eq!((&f.uuid, Some(f.total_cost.0)), (&l.uuid, l.total_cost.0));
        }
        assert_eq!(full.count, lite.count);
    }
    // The hand-written reader that extract tries first reads exactly what serde_json reads,
    // or leaves the page to it.
    assert_eq!(ledger_page_full(input).ok(), full_ledger.ok());
    assert_eq!(cdr_page_full(input).ok(), full_cdrs.ok());

    // Full rows (normalize): the generic page, then each row on its own.
    if let Some(p) = decode::<RowsPage>(input) {
        any = true;
        for row in &p.rows {
            let text = row.get();
            check_str(input, &Cow::Borrowed(text));
            assert!(
                serde_json::from_str::<IgnoredAny>(text).is_ok(),
                "a raw row is not JSON: {text:?}"
            );
            check_rows(input, text.as_bytes());
        }
        // With a lite page decoded too, the rows came from the same (only) alias member.
        if let Some(lite) = &accounts {
            assert_eq!(p.rows.len(), lite.accounts.len());
            for (row, a) in p.rows.iter().zip(&lite.accounts) {
                let r: AccountLite = decode(row.get().as_bytes()).expect("row decodes as AccountLite");
                assert_eq!(r.auth_id, a.auth_id);
                assert_eq!(r.auth_token, a.auth_token);
            }
        }
        if let Some(lite) = &ledger {
            assert_eq!(p.rows.len(), lite.transactions.len());
            for (row, t) in p.rows.iter().zip(&lite.transactions) {
                let r: LedgerRowLite = decode(row.get().as_bytes()).expect("row decodes as LedgerRowLite");
                assert_eq!((&r.id, &r.kind, r.amount), (&t.id, &t.kind, t.amount));
            }
        }
        if let Some(lite) = &cdrs {
            assert_eq!(p.rows.len(), lite.data.len());
            for (row, c) in p.rows.iter().zip(&lite.data) {
                let r: CdrLite = decode(row.get().as_bytes()).expect("row decodes as CdrLite");
                assert_eq!((&r.uuid, r.total_cost), (&c.uuid, c.total_cost));
            }
        }
    }
    any |= check_rows(input, input);

    // Single objects.
    if let Some(t) = decode::<LedgerTotalsWire>(input) {
        any = true;
        check_summary(&t.summary);
    }
    if let Some(p) = decode::<ProfileWire>(input) {
        any = true;
        check_str(input, &p.auth_id);
        check_str(input, &p.name);
        check_opt_str(input, &p.company);
        check_opt_str(input, &p.currency);
        check_opt_money(p.balance);
    }
    if let Some(b) = decode::<PartnerBalanceWire>(input) {
        any = true;
        check_str(input, &b.auth_id);
        check_str(input, &b.currency);
        check_str(input, &b.updated_at);
        check_money(b.cash_credits);
    }
    if let Some(w) = decode::<WalletWire>(input) {
        any = true;
        check_str(input, &w.currency);
        check_money(w.balance);
        check_opt_money(w.credit_limit);
        check_opt_money(w.low_balance_threshold);
    }
    if let Some(a) = decode::<AnalyticsWire>(input) {
        any = true;
        check_str(input, &a.currency);
        for d in &a.time_series {
            check_str(input, &d.date);
            check_money(d.total_minutes);
            check_money(d.total_cost);
            check_direction(&d.inbound);
            check_direction(&d.outbound);
        }
    }

    if any {
        assert!(
            serde_json::from_slice::<IgnoredAny>(input).is_ok(),
            "a typed page decoded from input that is not JSON"
        );
    }
}

fuzz_target!(|data: &[u8]| run(data));
