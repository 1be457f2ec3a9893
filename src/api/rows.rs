//! Rows of the API's list pages, typed for the tables: one function per row type, each row
//! parsed or rejected on its own with (key, reason). Extract uses the same functions on the
//! pages it fetches, so a page is parsed once per run (see `pipeline::run`); normalize uses
//! them on the raw pages when it re-runs offline. Both paths give the same rows.

use std::borrow::Cow;

use anyhow::Context;
use rust_decimal::Decimal;

use crate::api::wire::{self, RowsPage};
use crate::model::time::parse_timestamp_micros;
use crate::model::{LedgerKind, LedgerStatus};

use crate::store::normalized::{CdrRow, Text, TransactionRow};

/// One account's ledger and call rows, in the order their pages were fetched, and the
/// figures of its single-page endpoints.
#[derive(Debug, Default)]
pub struct AccountRows {
    pub ledger: PageRows<TransactionRow>,
    pub calls: PageRows<CdrRow>,
    /// Parsed by extract from the pages it kept (`None`: read them from `raw/`). Boxed: the
    /// hand-off events stay small.
    pub figures: Option<Box<AccountFigures>>,
    /// The last ledger page read from `raw/` (its summary is the window's), when `figures`
    /// must be read from there.
    pub last_ledger_page: Option<Vec<u8>>,
}

/// The rows of one page as parsed, in arrival order: each a row, or the key and reason it did
/// not parse.
pub type PageRows<R> = Vec<Result<R, RowError>>;

/// One account's rows sent page by page as extract accepts its pages, for an account too
/// large to hold whole (`extract::HANDOFF_MAX_ROWS`): so that normalize sorts it while it is
/// fetched, and parses no page twice. The channels are bounded: extract waits for room.
///
/// The ledger closes once it is complete (before the calls begin); the calls close when the
/// account is done; `figures` come last, and only if the account was extracted whole. A list
/// that closes without them is an account extract gave up.
#[derive(Debug)]
pub struct AccountStream {
    pub ledger: tokio::sync::mpsc::Receiver<PageRows<TransactionRow>>,
    pub calls: tokio::sync::mpsc::Receiver<PageRows<CdrRow>>,
    pub figures: tokio::sync::oneshot::Receiver<AccountFigures>,
}

/// An account's balance snapshot, all-time ledger totals and wallet thresholds, as the
/// `balances` row needs them: from `/balance`, the ledger summary and the account wallet.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountFigures {
    pub balance: Balance,
    /// All time, completed rows only.
    pub totals: LedgerTotals,
    /// The API's summary of the window paged, every status (`None` from raw pages written
    /// before it was kept).
    pub window: Option<LedgerTotals>,
    /// `None` when the account has no wallet in its currency (or no token to read it).
    pub wallet: Option<Wallet>,
}

/// `GET /partner/accounts/{id}/balance`.
#[derive(Debug, Clone, PartialEq)]
pub struct Balance {
    pub auth_id: String,
    pub currency: String,
    pub cash_credits: Decimal,
    /// As sent; normalize parses it (a bad timestamp fails the account there, as offline).
    pub updated_at: String,
}

impl From<wire::PartnerBalanceWire<'_>> for Balance {
    fn from(w: wire::PartnerBalanceWire<'_>) -> Self {
        Self {
            auth_id: w.auth_id.into_owned(),
            currency: w.currency.into_owned(),
            cash_credits: w.cash_credits.0,
            updated_at: w.updated_at.into_owned(),
        }
    }
}

/// A ledger summary (`per_page=1` of the transactions endpoint): all time, or the window.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerTotals {
    pub rows: u64,
    pub credit: Decimal,
    pub debit: Decimal,
}

impl From<wire::LedgerTotalsWire> for LedgerTotals {
    fn from(w: wire::LedgerTotalsWire) -> Self {
        Self {
            rows: w.total,
            credit: w.summary.total_credit.0,
            debit: w.summary.total_debit.0,
        }
    }
}

/// `GET /Account/{id}/balance/{currency}`: the thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct Wallet {
    pub low_balance_threshold: Option<Decimal>,
    pub credit_limit: Option<Decimal>,
}

impl From<wire::WalletWire<'_>> for Wallet {
    fn from(w: wire::WalletWire<'_>) -> Self {
        Self {
            low_balance_threshold: w.low_balance_threshold.map(|m| m.0),
            credit_limit: w.credit_limit.map(|m| m.0),
        }
    }
}

impl AccountFigures {
    /// The figures from the raw pages of the three endpoints and the last ledger page paged
    /// (normalize offline): its summary is the window's, as the final pass saw it.
    pub fn from_pages(
        balance: &[u8],
        totals: &[u8],
        last_ledger_page: Option<&[u8]>,
        wallet: Option<&[u8]>,
    ) -> anyhow::Result<Self> {
        let balance: wire::PartnerBalanceWire = serde_json::from_slice(balance).context("corrupt balance page")?;
        let totals: wire::LedgerTotalsWire = serde_json::from_slice(totals).context("corrupt ledger totals page")?;
        let wallet = wallet
            .map(|page| serde_json::from_slice::<wire::WalletWire>(page).context("corrupt wallet page"))
            .transpose()?;
        let window = last_ledger_page
            .map(|page| serde_json::from_slice::<wire::LedgerTotalsWire>(page).context("corrupt ledger page"))
            .transpose()?;
        Ok(Self {
            balance: balance.into(),
            totals: totals.into(),
            window: window.map(LedgerTotals::from),
            wallet: wallet.map(Wallet::from),
        })
    }
}

/// The rows of one raw ledger page.
pub fn ledger_page(page: &[u8]) -> anyhow::Result<Vec<Result<TransactionRow, RowError>>> {
    let rows = page_rows::<wire::LedgerRowWire>(page, "id")?;
    Ok(rows.into_iter().map(|r| r.and_then(ledger_row)).collect())
}

/// The rows of one raw CDR page.
pub fn cdr_page(page: &[u8]) -> anyhow::Result<Vec<Result<CdrRow, RowError>>> {
    let rows = page_rows::<wire::CdrWire>(page, "uuid")?;
    Ok(rows.into_iter().map(|r| r.and_then(cdr_row)).collect())
}

pub(crate) fn opt(s: Option<std::borrow::Cow<'_, str>>) -> Option<String> {
    s.map(|c| c.into_owned())
}

/// The key of a row that failed to parse, if it has one (a string or a number), so that the
/// reject names the row. Reads the row loosely: whatever made it fail must not hide its key.
fn key_of(raw: &serde_json::value::RawValue, field: &str) -> Option<String> {
    let row: serde_json::Map<String, serde_json::Value> = serde_json::from_str(raw.get()).ok()?;
    match row.get(field)? {
        serde_json::Value::String(s) => short_key(s),
        serde_json::Value::Number(n) => short_key(&n.to_string()),
        _ => None,
    }
}

/// A row that failed to parse: its key (if readable) and why.
pub type RowError = (Option<String>, String);

/// The rows of a list page, each parsed or rejected with (key, reason). One typed pass over
/// the page in the common case; only a page with a bad row is re-read row by row.
pub(crate) fn page_rows<'a, W: serde::Deserialize<'a>>(
    page: &'a [u8],
    key: &str,
) -> anyhow::Result<Vec<Result<W, RowError>>> {
    #[derive(serde::Deserialize)]
    #[serde(bound(deserialize = "W: serde::Deserialize<'de>"))]
    struct Page<W> {
        #[serde(alias = "accounts", alias = "transactions", alias = "data", alias = "sub_accounts")]
        rows: Vec<W>,
    }
    if let Ok(p) = wire::parse::<Page<W>>(page) {
        return Ok(p.rows.into_iter().map(Ok).collect());
    }
    let p: RowsPage = wire::parse(page).context("corrupt raw page")?;
    Ok(p.rows
        .into_iter()
        .map(|raw| serde_json::from_str::<W>(raw.get()).map_err(|e| (key_of(raw, key), e.to_string())))
        .collect())
}

/// The call a ledger reference points at (`cdr_<uuid>` today, `cdr:<uuid>` in older docs).
fn cdr_reference(reference: Option<&str>) -> Option<Text> {
    let r = reference?;
    let uuid = r.strip_prefix("cdr_").or_else(|| r.strip_prefix("cdr:"))?;
    let u = uuid::Uuid::parse_str(uuid).ok()?;
    Some(Text::from(
        u.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()) as &str,
    ))
}

/// The partner ledger omits `reference_type`; derive it from the row's type, reference and
/// description the way the account ledger classifies the same rows. A credit naming a call or
/// a transaction, or described as a refund, is a refund: calls and charges are only debited.
fn derive_reference_type(kind: LedgerKind, reference: Option<&str>, description: Option<&str>) -> &'static str {
    let r = reference.unwrap_or("");
    let d = description.unwrap_or("");
    let names_a_charge = cdr_reference(Some(r)).is_some() || crate::model::ledger::refunded_debit_id(r).is_some();
    if kind == LedgerKind::Credit && (names_a_charge || r.starts_with("rfd_") || d.starts_with("Refund")) {
        "refund"
    } else if cdr_reference(Some(r)).is_some() {
        if d.starts_with("Stream session") {
            "stream_cdr"
        } else if d.starts_with("Non-connected") {
            "ncc"
        } else {
            "cdr"
        }
    } else if r.starts_with("ptc:") {
        "unknown"
    } else if r.starts_with("pay_") {
        "payment"
    } else if r.starts_with("did_") {
        "did_rental"
    } else if r.starts_with("adj_") {
        "manual_adjustment"
    } else if d.starts_with("Call recording") {
        "recording"
    } else {
        "unknown"
    }
}

/// A row's key as a reject names it (keys are short; a hostile one is cut).
pub(crate) fn short_key(key: &str) -> Option<String> {
    Some(key.chars().take(64).collect())
}

fn text(s: Cow<'_, str>) -> Text {
    Text::from(s.as_ref())
}

fn opt_text(s: Option<Cow<'_, str>>) -> Option<Text> {
    s.map(text)
}

pub fn ledger_row(r: wire::LedgerRowWire) -> Result<TransactionRow, RowError> {
    let reject = |reason: String| (short_key(&r.id), reason);
    let Some(kind) = LedgerKind::parse(&r.kind) else {
        return Err(reject(format!(
            "unknown transaction type {:?}",
            r.kind.chars().take(20).collect::<String>()
        )));
    };
    let signed = kind.signed(r.amount.0);
    if r.amount.0.is_sign_negative() {
        return Err(reject(format!("negative amount {}", r.amount)));
    }
    let created_at = parse_timestamp_micros(&r.created_at).map_err(|e| reject(e.to_string()))?;
    let processed_at = r
        .processed_at
        .as_deref()
        .map(parse_timestamp_micros)
        .transpose()
        .map_err(|e| reject(e.to_string()))?;
    let reference_type = match r.reference_type.as_deref() {
        Some(t) if !t.is_empty() => Text::from(t),
        _ => Text::const_new(derive_reference_type(
            kind,
            r.reference.as_deref(),
            r.description.as_deref(),
        )),
    };
    Ok(TransactionRow {
        cdr_uuid: cdr_reference(r.reference.as_deref()),
        id: text(r.id),
        account_id: text(r.account_id),
        balance_id: opt_text(r.balance_id),
        kind,
        amount: r.amount.0,
        signed_amount: signed,
        currency: text(r.currency),
        description: opt_text(r.description),
        reference: opt_text(r.reference),
        reference_type,
        cdr_period: None,
        subaccount_id: None,
        // A documented status is stored as its word; anything else as sent, for reconcile to
        // report (it is not guessed).
        status: match LedgerStatus::parse(r.status.as_deref()) {
            Some(known) => Some(Text::const_new(known.as_str())),
            None => opt_text(r.status),
        },
        refund_of: None,
        refunded: Decimal::ZERO,
        created_at,
        processed_at,
    })
}

pub fn cdr_row(c: wire::CdrWire) -> Result<CdrRow, RowError> {
    let reject = |reason: String| (short_key(&c.uuid), reason);
    let ts = |s: &str| parse_timestamp_micros(s).map_err(|e| reject(e.to_string()));
    let streaming = c.streaming_cost.map(|m| m.0).unwrap_or_default();
    // A call never costs less than nothing (a refund is a ledger credit): a negative cost
    // would print a tax invoice for a negative amount.
    if c.cost.0.is_sign_negative() || streaming.is_sign_negative() {
        return Err(reject(format!("negative cost {} (streaming_cost {streaming})", c.cost)));
    }
    if c.cost.0 + streaming != c.total_cost.0 {
        return Err(reject(format!(
            "total_cost {} is not cost {} + streaming_cost {streaming}",
            c.total_cost, c.cost
        )));
    }
    let start_time = ts(&c.start_time)?;
    let answer_time = c.answer_time.as_deref().map(ts).transpose()?;
    let end_time = c.end_time.as_deref().map(ts).transpose()?;
    Ok(CdrRow {
        id: c.id.map(|i| i as i64),
        account_id: text(c.account_id),
        call_direction: text(c.call_direction),
        context: opt_text(c.context),
        caller_id_number: opt_text(c.caller_id_number),
        destination_number: opt_text(c.destination_number),
        duration: c.duration as i32,
        billsec: c.billsec as i32,
        ring_time: c.ring_time.map(|r| r as i32),
        start_time,
        answer_time,
        end_time,
        hangup_cause: opt_text(c.hangup_cause),
        hangup_cause_code: c.hangup_cause_code.map(|x| x as i32),
        cost: c.cost.0,
        streaming_cost: streaming,
        total_cost: c.total_cost.0,
        currency: text(c.currency),
        trunk_id: opt_text(c.trunk_id),
        codec: opt_text(c.codec),
        subaccount_id: None,
        uuid: text(c.uuid),
        debit_amount: Decimal::ZERO,
        debit_count: 0,
        refunded: Decimal::ZERO,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_types() {
        let u = "6d2ff92a-4d37-47fc-bf52-6bcca3be30a8";
        assert_eq!(cdr_reference(Some(&format!("cdr_{u}"))).as_deref(), Some(u));
        assert_eq!(cdr_reference(Some(&format!("cdr:{u}"))).as_deref(), Some(u));
        assert_eq!(cdr_reference(Some("cdr_not-a-uuid")), None);
        use LedgerKind::{Credit, Debit};
        let call = format!("cdr_{u}");
        for (kind, reference, description, want) in [
            (Debit, Some(call.as_str()), Some("Stream session (70s)"), "stream_cdr"),
            (Debit, Some(call.as_str()), Some("Call to 9198 (3s)"), "cdr"),
            (Debit, Some(call.as_str()), Some("Non-connected call fee"), "ncc"),
            // A credit naming a call or a transaction reverses it.
            (Credit, Some(call.as_str()), Some("Refund for call"), "refund"),
            (Credit, Some("txn_9f48"), None, "refund"),
            (Credit, Some("rfd_ABC"), None, "refund"),
            (Credit, None, Some("Refund for dropped calls"), "refund"),
            (Credit, Some("pay_X"), Some("Wallet recharge"), "payment"),
            (Debit, Some("did_918000000001"), None, "did_rental"),
            (Debit, Some("adj_X"), Some("Manual adjustment"), "manual_adjustment"),
            (Debit, None, Some("Call recording storage"), "recording"),
            (Credit, Some("ptc:x:y:1"), None, "unknown"),
            (Debit, None, None, "unknown"),
        ] {
            assert_eq!(
                derive_reference_type(kind, reference, description),
                want,
                "{reference:?} {description:?}"
            );
        }
    }

    #[test]
    fn bad_rows_are_rejected_with_a_reason() {
        let row = |amount: &str| {
            format!(
                r#"{{"id":"t1","account_id":"MA_AAAA1111","type":"debit","amount":{amount},"currency":"INR","created_at":"2026-03-02T00:00:00Z"}}"#
            )
        };
        let page = format!(
            r#"{{"transactions":[{},{},{},{}],"total":4}}"#,
            row("0.12345"),
            row("0.123456"),
            row("\"abc\""),
            row("-1")
        );
        let rows: Vec<Result<TransactionRow, RowError>> = page_rows::<wire::LedgerRowWire>(page.as_bytes(), "id")
            .unwrap()
            .into_iter()
            .map(|r| r.and_then(ledger_row))
            .collect();
        assert!(rows[0].is_ok(), "the good row survives its bad neighbours");
        let err = |i: usize| rows[i].as_ref().unwrap_err().clone();
        assert!(err(1).1.contains("more than 5 decimal places"), "{:?}", err(1));
        assert_eq!(err(1).0.as_deref(), Some("t1"), "rejects name the row");
        assert!(err(2).1.contains("not a decimal"), "{:?}", err(2));
        assert!(err(3).1.contains("negative"), "{:?}", err(3));
    }

    #[test]
    fn a_call_with_a_negative_cost_is_rejected() {
        let row = |uuid: &str, cost: &str, total: &str| {
            format!(
                r#"{{"uuid":"{uuid}","account_id":"MA_AAAA1111","call_direction":"outbound","duration":61,"billsec":60,"start_time":"2026-03-02T00:00:00Z","cost":{cost},"total_cost":{total},"currency":"INR"}}"#
            )
        };
        let page = format!(
            r#"{{"data":[{},{}]}}"#,
            row("c1", "0.9", "0.9"),
            row("c2", "-0.9", "-0.9")
        );
        let rows: Vec<Result<CdrRow, RowError>> = page_rows::<wire::CdrWire>(page.as_bytes(), "uuid")
            .unwrap()
            .into_iter()
            .map(|r| r.and_then(cdr_row))
            .collect();
        assert!(rows[0].is_ok(), "{:?}", rows[0]);
        let err = rows[1].as_ref().unwrap_err();
        assert_eq!(err.0.as_deref(), Some("c2"));
        assert!(err.1.contains("negative cost -0.9"), "{err:?}");
    }
}
