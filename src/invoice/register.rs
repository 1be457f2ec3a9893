//! The document register: every GST document ever issued (invoices, credit notes, debit
//! notes), its number, date, totals, its canonical content and the hashes of its files, kept
//! durably under `state/`. It is the source of truth of what was issued: documents on disk are
//! checked against it and never rewritten; a correction is a new document.
//!
//! Numbers are `PREFIX/YY-YY/000042`, at most 16 characters of `[A-Z0-9/-]` (CGST Rule 46(b)),
//! consecutive per supplier GSTIN, kind and financial year of the document's date, and in
//! date order: a document is never dated before the last one of its series.
//!
//! The register is read, changed and saved under an OS lock (`state/locks/register.lock`)
//! that every process numbering documents takes, whatever its period: two periods invoiced
//! at once cannot issue one number twice or drop each other's entries. A missing register
//! while documents exist is an error, never a new series.
//!
//! Issuing is two-phase, so that a crash anywhere loses nothing and issues nothing twice: a
//! document is first recorded with its number and content (`complete: false`) and the
//! register saved; then its HTML and PDF are written; then their hashes are recorded. A run
//! that finds an incomplete document writes its files from the recorded content (the same
//! bytes) before anything else.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::build::{Citation, Invoice};
use super::tax::Totals;
use crate::error::usage;
use crate::layout::Layout;
use crate::lock::RegisterLock;
use crate::model::Period;
use crate::model::document::{DocumentKind, DocumentStatus, financial_year};
use crate::output::write_atomic;
use crate::store::partition::sha256_hex;

pub use crate::model::document::{MAX_LEN, file_stem, valid_number};

/// The register's format: 3 records each document's content and hashes.
const VERSION: u32 = 3;

/// The prefixes of the three series.
#[derive(Debug, Clone)]
pub struct Prefixes {
    pub invoice: String,
    pub credit_note: String,
    pub debit_note: String,
}

impl Prefixes {
    fn of(&self, kind: DocumentKind) -> &str {
        match kind {
            DocumentKind::Invoice => &self.invoice,
            DocumentKind::CreditNote => &self.credit_note,
            DocumentKind::DebitNote => &self.debit_note,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct Data {
    version: u32,
    /// Series ("<supplier GSTIN> <kind> <financial year>") → the last sequence number issued.
    last: BTreeMap<String, u64>,
    /// "<supplier GSTIN> <period>" → the day the period's invoices were finalized.
    finalized: BTreeMap<String, NaiveDate>,
    /// "<supplier GSTIN> <number>" → the document.
    documents: BTreeMap<String, Entry>,
}

/// One issued document.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub number: String,
    pub kind: DocumentKind,
    pub status: DocumentStatus,
    /// Its HTML and PDF are on disk and hashed below (false only between the two phases of
    /// issuing, i.e. after a crash).
    pub complete: bool,
    pub date: NaiveDate,
    pub supplier_gstin: String,
    pub financial_year: String,
    /// The supply billed or corrected.
    pub period: String,
    pub account: String,
    pub cites: Option<Citation>,
    pub totals: Totals,
    /// SHA-256 of `content` as canonical JSON.
    pub content_sha256: String,
    pub html_sha256: Option<String>,
    pub pdf_sha256: Option<String>,
    /// The document exactly as issued: the HTML and PDF are rendered from it.
    pub content: Invoice,
}

pub struct Register {
    path: PathBuf,
    prefixes: Prefixes,
    supplier_gstin: String,
    data: Data,
    /// Held from `open` until the register is dropped.
    _lock: RegisterLock,
}

/// SHA-256 of a document's canonical content.
pub fn content_sha256(content: &Invoice) -> String {
    sha256_hex(&serde_json::to_vec(content).expect("a document serializes"))
}

impl Register {
    /// Take the register lock (waiting for another process's numbering to finish), then read
    /// the register.
    pub fn open(layout: &Layout, supplier_gstin: &str, prefixes: &Prefixes) -> anyhow::Result<Self> {
        for p in [&prefixes.invoice, &prefixes.credit_note, &prefixes.debit_note] {
            crate::model::document::check_prefix(p).map_err(|e| usage(e.to_string()))?;
        }
        let lock = RegisterLock::acquire(layout)?;
        let path = layout.invoice_register();
        let data = match read(&path)? {
            Some(data) => data,
            None => {
                refuse_if_documents_exist(layout, &path)?;
                Data {
                    version: VERSION,
                    ..Default::default()
                }
            }
        };
        Ok(Self {
            path,
            prefixes: prefixes.clone(),
            supplier_gstin: supplier_gstin.to_string(),
            data,
            _lock: lock,
        })
    }

    /// The day `period` was finalized, if it was.
    pub fn finalized(&self, period: Period) -> Option<NaiveDate> {
        self.data
            .finalized
            .get(&period_key(&self.supplier_gstin, period))
            .copied()
    }

    /// Record that `period`'s invoices were finalized on `day`.
    pub fn set_finalized(&mut self, period: Period, day: NaiveDate) {
        let key = period_key(&self.supplier_gstin, period);
        self.data.finalized.entry(key).or_insert(day);
    }

    /// This supplier's documents, in number order within each series.
    pub fn documents(&self) -> impl Iterator<Item = &Entry> {
        let gstin = self.supplier_gstin.clone();
        self.data.documents.values().filter(move |e| e.supplier_gstin == gstin)
    }

    /// This supplier's documents for `period`'s supply, in issue order (date, then number).
    pub fn of_period(&self, period: Period) -> Vec<&Entry> {
        let p = period.to_string();
        let mut v: Vec<&Entry> = self.documents().filter(|e| e.period == p).collect();
        v.sort_by(|a, b| (a.date, a.kind, &a.number).cmp(&(b.date, b.kind, &b.number)));
        v
    }

    /// The date of the last document of `kind` in the financial year of `date`.
    pub fn last_date(&self, kind: DocumentKind, date: NaiveDate) -> Option<NaiveDate> {
        let fy = financial_year(date).0;
        self.documents()
            .filter(|e| e.kind == kind && e.financial_year == fy)
            .map(|e| e.date)
            .max()
    }

    /// Number and record `doc` (its kind and date set), not yet complete. Its number is the
    /// next of its series in the financial year of its date; a date before the series' last
    /// would put numbers out of date order, so it is refused.
    pub fn issue(&mut self, mut doc: Invoice) -> anyhow::Result<&Entry> {
        anyhow::ensure!(!doc.draft, "a draft is never numbered");
        let gstin = self.supplier_gstin.clone();
        let (fy, fy_short) = financial_year(doc.date);
        if let Some(last) = self.last_date(doc.kind, doc.date)
            && doc.date < last
        {
            bail!(
                "a {} dated {} for account {} would be numbered after one dated {last}: out of date order (CGST Rule 46(b))",
                doc.kind.title(),
                doc.date,
                doc.customer.auth_id
            );
        }
        let head = format!("{}/{fy_short}/", self.prefixes.of(doc.kind));
        let width = MAX_LEN - head.len();
        let series = format!("{gstin} {} {fy}", doc.kind.as_str());
        let next = self.data.last.get(&series).copied().unwrap_or(0) + 1;
        if next >= 10u64.pow(width as u32) {
            bail!("document series {head} is exhausted at {} numbers", next - 1);
        }
        let number = format!("{head}{next:0width$}");
        debug_assert!(valid_number(&number));
        doc.number = number.clone();
        let entry = Entry {
            number: number.clone(),
            kind: doc.kind,
            status: DocumentStatus::Issued,
            complete: false,
            date: doc.date,
            supplier_gstin: gstin.clone(),
            financial_year: fy,
            period: doc.period.clone(),
            account: doc.customer.auth_id.clone(),
            cites: doc.cites.clone(),
            totals: doc.totals,
            content_sha256: content_sha256(&doc),
            html_sha256: None,
            pdf_sha256: None,
            content: doc,
        };
        self.data.last.insert(series, next);
        let key = format!("{gstin} {number}");
        Ok(self.data.documents.entry(key).or_insert(entry))
    }

    /// Record that `number`'s files are on disk with these hashes.
    pub fn complete(&mut self, number: &str, html_sha256: String, pdf_sha256: String) -> anyhow::Result<()> {
        let key = format!("{} {number}", self.supplier_gstin);
        let e = self
            .data
            .documents
            .get_mut(&key)
            .with_context(|| format!("document {number} is not in the register"))?;
        e.html_sha256 = Some(html_sha256);
        e.pdf_sha256 = Some(pdf_sha256);
        e.complete = true;
        Ok(())
    }

    /// Write the register atomically.
    pub fn save(&self) -> anyhow::Result<()> {
        let mut bytes = serde_json::to_vec_pretty(&self.data)?;
        bytes.push(b'\n');
        write_atomic(&self.path, &bytes)
    }
}

/// Whether `period` is finalized for `supplier_gstin` under `layout` (a read without the lock:
/// for deciding what to show, never for numbering).
pub fn is_finalized(layout: &Layout, supplier_gstin: &str, period: Period) -> anyhow::Result<bool> {
    Ok(read(&layout.invoice_register())?
        .is_some_and(|data| data.finalized.contains_key(&period_key(supplier_gstin, period))))
}

/// The key of a period's finalize date: "<supplier GSTIN> <period>".
fn period_key(supplier_gstin: &str, period: Period) -> String {
    format!("{supplier_gstin} {period}")
}

/// The register at `path` (`None` if there is none), refused if its version is not this
/// program's.
fn read(path: &Path) -> anyhow::Result<Option<Data>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let corrupt = || format!("corrupt invoice register {}", path.display());
    let version = serde_json::from_slice::<serde_json::Value>(&bytes)
        .with_context(corrupt)?
        .get("version")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    match version {
        v if v == u64::from(VERSION) => Ok(Some(serde_json::from_slice(&bytes).with_context(corrupt)?)),
        1 | 2 => bail!(
            "invoice register {} has version {version}: it records numbers but not what each document said, so its invoices can be neither verified nor corrected by notes; keep it as the record of those numbers, and start this version on a new output root with [invoice] prefixes that differ from the old series",
            path.display()
        ),
        v => bail!(
            "invoice register {} has version {v}, which this program does not know",
            path.display()
        ),
    }
}

/// A register that is missing while documents exist would start the series again and issue
/// their numbers a second time: name them instead.
fn refuse_if_documents_exist(layout: &Layout, register: &Path) -> anyhow::Result<()> {
    let mut found = Vec::new();
    let periods = std::fs::read_dir(layout.root()).into_iter().flatten().flatten();
    for entry in periods {
        let Ok(period) = entry.file_name().to_string_lossy().parse::<Period>() else {
            continue;
        };
        let docs = std::fs::read_dir(layout.invoices_dir(period))
            .into_iter()
            .flatten()
            .flatten();
        for doc in docs {
            let name = doc.file_name().to_string_lossy().into_owned();
            if name.ends_with(".pdf") {
                found.push(format!("{period}/invoices/{name}"));
            }
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    found.sort();
    let shown: Vec<&str> = found.iter().take(3).map(String::as_str).collect();
    bail!(
        "the invoice register {} is missing, but {} document(s) were issued ({}{}): restore it from a backup; a new register would issue their numbers again",
        register.display(),
        found.len(),
        shown.join(", "),
        if found.len() > shown.len() { ", …" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::document::check_prefix;

    const GSTIN: &str = "29AAHCD4821K1ZE";

    fn prefixes() -> Prefixes {
        Prefixes {
            invoice: "VBZ".into(),
            credit_note: "CN".into(),
            debit_note: "DN".into(),
        }
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// A document of `kind` for `account`'s `period`, dated `date`.
    fn doc(kind: DocumentKind, account: &str, period: &str, date: &str) -> Invoice {
        crate::invoice::build::test_document(kind, account, period, day(date))
    }

    fn issue(r: &mut Register, kind: DocumentKind, account: &str, period: &str, date: &str) -> anyhow::Result<String> {
        r.issue(doc(kind, account, period, date)).map(|e| e.number.clone())
    }

    #[test]
    fn each_kind_is_consecutive_per_financial_year_of_its_date() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        let mut r = Register::open(&layout, GSTIN, &prefixes()).unwrap();
        let inv = DocumentKind::Invoice;
        assert_eq!(
            issue(&mut r, inv, "MA_A", "2026-03", "2026-03-31").unwrap(),
            "VBZ/25-26/000001"
        );
        assert_eq!(
            issue(&mut r, inv, "MA_B", "2026-03", "2026-03-31").unwrap(),
            "VBZ/25-26/000002"
        );
        // A note of March's supply dated in April belongs to the new financial year.
        assert_eq!(
            issue(&mut r, DocumentKind::CreditNote, "MA_A", "2026-03", "2026-04-09").unwrap(),
            "CN/26-27/0000001"
        );
        assert_eq!(
            issue(&mut r, DocumentKind::DebitNote, "MA_B", "2026-03", "2026-04-09").unwrap(),
            "DN/26-27/0000001"
        );
        assert_eq!(
            issue(&mut r, inv, "MA_A", "2026-04", "2026-04-30").unwrap(),
            "VBZ/26-27/000001"
        );
        r.save().unwrap();
        drop(r);
        let r = Register::open(&layout, GSTIN, &prefixes()).unwrap();
        let march: Vec<&str> = r
            .of_period("2026-03".parse().unwrap())
            .iter()
            .map(|e| e.number.as_str())
            .collect();
        assert_eq!(
            march,
            [
                "VBZ/25-26/000001",
                "VBZ/25-26/000002",
                "CN/26-27/0000001",
                "DN/26-27/0000001"
            ]
        );
        assert!(
            r.documents()
                .all(|e| !e.complete && e.content_sha256 == content_sha256(&e.content))
        );
        assert_eq!(file_stem("VBZ/25-26/000001"), "VBZ_25-26_000001");
    }

    #[test]
    fn prefixes_are_checked() {
        for bad in ["", "0AB", "-X", "TOOLONGX", "A/B", "A B", "inv", "INVOI", "Inv"] {
            assert!(check_prefix(bad).is_err(), "{bad:?}");
        }
        for good in ["INV", "VBZ", "IN-1", "A"] {
            assert!(check_prefix(good).is_ok(), "{good:?}");
        }
    }

    /// The longest prefix still leaves five digits in a 16-character number.
    #[test]
    fn the_longest_prefix_leaves_five_digits() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = prefixes();
        p.invoice = "ABCD".into();
        let mut r = Register::open(&Layout::new(dir.path()), GSTIN, &p).unwrap();
        let n = issue(&mut r, DocumentKind::Invoice, "MA_A", "2026-03", "2026-03-31").unwrap();
        assert_eq!(n, "ABCD/25-26/00001");
        assert_eq!(n.len(), 16);
    }

    #[test]
    fn each_supplier_gstin_has_its_own_series() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        let mut r = Register::open(&layout, GSTIN, &prefixes()).unwrap();
        assert_eq!(
            issue(&mut r, DocumentKind::Invoice, "MA_A", "2026-03", "2026-03-31").unwrap(),
            "VBZ/25-26/000001"
        );
        r.set_finalized("2026-03".parse().unwrap(), day("2026-04-02"));
        r.save().unwrap();
        drop(r);
        let mut other = Register::open(&layout, "27AAPFU0939F1ZV", &prefixes()).unwrap();
        assert_eq!(
            issue(&mut other, DocumentKind::Invoice, "MA_A", "2026-03", "2026-03-31").unwrap(),
            "VBZ/25-26/000001"
        );
        assert_eq!(other.documents().count(), 1);
        assert_eq!(other.finalized("2026-03".parse().unwrap()), None);
        assert!(is_finalized(&layout, GSTIN, "2026-03".parse().unwrap()).unwrap());
    }

    #[test]
    fn a_document_dated_before_the_last_of_its_series_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = Register::open(&Layout::new(dir.path()), GSTIN, &prefixes()).unwrap();
        issue(&mut r, DocumentKind::Invoice, "MA_A", "2026-02", "2026-03-05").unwrap();
        let err = issue(&mut r, DocumentKind::Invoice, "MA_B", "2026-02", "2026-02-28")
            .unwrap_err()
            .to_string();
        assert!(err.contains("out of date order") && err.contains("MA_B"), "{err}");
        // Another series is not held back by it.
        issue(&mut r, DocumentKind::CreditNote, "MA_A", "2026-02", "2026-03-01").unwrap();
    }

    #[test]
    fn a_missing_register_while_documents_exist_is_an_error_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        let docs = layout.invoices_dir("2026-03".parse().unwrap());
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::write(docs.join("VBZ_25-26_000001.pdf"), b"%PDF").unwrap();
        let err = Register::open(&layout, GSTIN, &prefixes()).err().unwrap().to_string();
        assert!(
            err.contains("is missing") && err.contains("2026-03/invoices/VBZ_25-26_000001.pdf"),
            "{err}"
        );
        assert!(!layout.invoice_register().exists());
    }

    #[test]
    fn an_older_register_without_document_content_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        std::fs::create_dir_all(layout.state_dir()).unwrap();
        std::fs::write(layout.invoice_register(), r#"{"version":2,"last":{},"issued":{}}"#).unwrap();
        let err = Register::open(&layout, GSTIN, &prefixes()).err().unwrap().to_string();
        assert!(err.contains("version 2") && err.contains("neither verified"), "{err}");
    }

    /// A second register of the same output root waits for the first to be dropped.
    #[test]
    fn the_register_is_held_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        let first = Register::open(&layout, GSTIN, &prefixes()).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let l2 = layout.clone();
        let waiter = std::thread::spawn(move || {
            let _second = Register::open(&l2, GSTIN, &prefixes()).unwrap();
            tx.send(()).unwrap();
        });
        assert!(
            rx.recv_timeout(std::time::Duration::from_millis(300)).is_err(),
            "opened while held"
        );
        drop(first);
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("opened once released");
        waiter.join().unwrap();
    }
}
