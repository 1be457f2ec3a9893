//! Invoice numbers: consecutive per supplier GSTIN and financial year (April–March), at
//! most 16 characters of `[A-Z0-9/-]` (CGST Rule 46(b)), kept in a durable register under
//! `state/`.
//!
//! `PREFIX/YY-YY/000042`: the sequence is zero-padded to fill 16 characters. Re-running a
//! month gives each account the number it already has; a new financial year starts a new
//! series; a number once issued is never given to anything else.
//!
//! The register is read, numbered and saved under an OS lock (`state/locks/register.lock`)
//! that every process numbering invoices takes, whatever its period: two periods invoiced at
//! once cannot issue one number twice or drop each other's entries. A missing register while
//! invoices exist is an error, never a new series.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::error::usage;
use crate::layout::Layout;
use crate::lock::RegisterLock;
use crate::model::{AccountId, Period};
use crate::output::write_atomic;

pub use crate::model::document::{MAX_LEN, file_stem, valid_number};

/// The register's format: 2 keys every series by the supplier's GSTIN.
const VERSION: u32 = 2;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct Data {
    version: u32,
    /// Series ("<supplier GSTIN> <financial year>", e.g. "29AAHCD4821K1ZE 2025-26") → the
    /// last sequence number issued in it.
    last: BTreeMap<String, u64>,
    /// Every number issued, keyed by "<supplier GSTIN> <period> <account>".
    issued: BTreeMap<String, Issued>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Issued {
    pub number: String,
    pub financial_year: String,
    pub period: String,
    pub account: String,
    /// The registration the invoice was issued under (absent in a version 1 register, whose
    /// entries are all the supplier's that migrated it).
    #[serde(default)]
    pub supplier_gstin: String,
}

pub struct Register {
    path: PathBuf,
    prefix: String,
    supplier_gstin: String,
    data: Data,
    /// Held from `open` until the register is dropped.
    _lock: RegisterLock,
}

impl Register {
    /// Take the register lock (waiting for another process's numbering to finish), then read
    /// the register.
    pub fn open(layout: &Layout, supplier_gstin: &str, prefix: &str) -> anyhow::Result<Self> {
        crate::model::document::check_prefix(prefix).map_err(|e| usage(e.to_string()))?;
        let lock = RegisterLock::acquire(layout)?;
        let path = layout.invoice_register();
        let mut data: Data = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("corrupt invoice register {}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                refuse_if_invoices_exist(layout, &path)?;
                Data {
                    version: VERSION,
                    ..Default::default()
                }
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        match data.version {
            VERSION => {}
            1 => {
                tracing::warn!(
                    register = %path.display(),
                    gstin = supplier_gstin,
                    "invoice register of version 1 (one series per financial year): its numbers become the series of this supplier GSTIN"
                );
                data = migrate_v1(data, supplier_gstin);
            }
            v => bail!(
                "invoice register {} has version {v}, newer than this program knows",
                path.display()
            ),
        }
        Ok(Self {
            path,
            prefix: prefix.to_string(),
            supplier_gstin: supplier_gstin.to_string(),
            data,
            _lock: lock,
        })
    }

    /// The number of `account`'s invoice for `period`: the one already issued, or the next
    /// in the financial year of the invoice date (the period's last day). A new number for a
    /// period before one already invoiced in the series would put numbers out of date order,
    /// so it is refused.
    pub fn number_for(&mut self, period: Period, account: &AccountId) -> anyhow::Result<String> {
        let gstin = &self.supplier_gstin;
        let key = format!("{gstin} {period} {account}");
        if let Some(i) = self.data.issued.get(&key) {
            return Ok(i.number.clone());
        }
        let fy = period.financial_year();
        if let Some(later) = self
            .data
            .issued
            .values()
            .filter(|i| &i.supplier_gstin == gstin && i.financial_year == fy)
            .filter_map(|i| i.period.parse::<Period>().ok())
            .filter(|p| *p > period)
            .max()
        {
            bail!(
                "account {account} has no invoice for {period}, but {later} is already invoiced: a new number now would be out of date order (CGST Rule 46(b)); bill the supply on a later document instead"
            );
        }
        let head = format!("{}/{}/", self.prefix, period.financial_year_short());
        let width = MAX_LEN - head.len();
        let series = format!("{gstin} {fy}");
        let next = self.data.last.get(&series).copied().unwrap_or(0) + 1;
        if next >= 10u64.pow(width as u32) {
            bail!("invoice series {head} is exhausted at {} numbers", next - 1);
        }
        let number = format!("{head}{next:0width$}");
        debug_assert!(valid_number(&number));
        self.data.last.insert(series, next);
        self.data.issued.insert(
            key,
            Issued {
                number: number.clone(),
                financial_year: fy,
                period: period.to_string(),
                account: account.to_string(),
                supplier_gstin: gstin.clone(),
            },
        );
        Ok(number)
    }

    /// Every number issued so far.
    pub fn issued(&self) -> impl Iterator<Item = &Issued> {
        self.data.issued.values()
    }

    /// Write the register atomically (call after the invoices that use it are safe on disk,
    /// and before any are shown as issued).
    pub fn save(&self) -> anyhow::Result<()> {
        let mut bytes = serde_json::to_vec_pretty(&self.data)?;
        bytes.push(b'\n');
        write_atomic(&self.path, &bytes)
    }
}

/// A register that is missing while invoices exist would start the series again and issue
/// their numbers a second time: name them instead.
fn refuse_if_invoices_exist(layout: &Layout, register: &Path) -> anyhow::Result<()> {
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
        "the invoice register {} is missing, but {} invoice(s) were issued ({}{}): restore it from a backup; a new register would issue their numbers again",
        register.display(),
        found.len(),
        shown.join(", "),
        if found.len() > shown.len() { ", …" } else { "" }
    )
}

/// A version 1 register (series per financial year) as the series of one supplier GSTIN.
fn migrate_v1(old: Data, gstin: &str) -> Data {
    Data {
        version: VERSION,
        last: old
            .last
            .into_iter()
            .map(|(fy, n)| (format!("{gstin} {fy}"), n))
            .collect(),
        issued: old
            .issued
            .into_values()
            .map(|mut i| {
                i.supplier_gstin = gstin.to_string();
                (format!("{gstin} {} {}", i.period, i.account), i)
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::document::check_prefix;

    const GSTIN: &str = "29AAHCD4821K1ZE";

    fn id(s: &str) -> AccountId {
        AccountId::parse(s).unwrap()
    }

    #[test]
    fn consecutive_stable_and_per_financial_year() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        let (mar, apr): (Period, Period) = ("2026-03".parse().unwrap(), "2026-04".parse().unwrap());
        let mut r = Register::open(&layout, GSTIN, "VBZ").unwrap();
        let a = r.number_for(mar, &id("MA_AAAAAAAA")).unwrap();
        let b = r.number_for(mar, &id("MA_BBBBBBBB")).unwrap();
        assert_eq!((a.as_str(), b.as_str()), ("VBZ/25-26/000001", "VBZ/25-26/000002"));
        assert!(valid_number(&a) && a.len() <= 16);
        r.save().unwrap();
        drop(r);
        // Re-running the month reuses the numbers; a new FY starts again at 1.
        let mut r = Register::open(&layout, GSTIN, "VBZ").unwrap();
        assert_eq!(r.number_for(mar, &id("MA_BBBBBBBB")).unwrap(), b);
        assert_eq!(r.number_for(mar, &id("MA_CCCCCCCC")).unwrap(), "VBZ/25-26/000003");
        assert_eq!(r.number_for(apr, &id("MA_AAAAAAAA")).unwrap(), "VBZ/26-27/000001");
        assert_eq!(file_stem(&a), "VBZ_25-26_000001");
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
        let mut r = Register::open(&Layout::new(dir.path()), GSTIN, "ABCD").unwrap();
        let n = r.number_for("2026-03".parse().unwrap(), &id("MA_AAAAAAAA")).unwrap();
        assert_eq!(n, "ABCD/25-26/00001");
        assert_eq!(n.len(), 16);
    }

    #[test]
    fn each_supplier_gstin_has_its_own_series() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        let mar: Period = "2026-03".parse().unwrap();
        let mut r = Register::open(&layout, GSTIN, "VBZ").unwrap();
        assert_eq!(r.number_for(mar, &id("MA_AAAAAAAA")).unwrap(), "VBZ/25-26/000001");
        r.save().unwrap();
        drop(r);
        let mut other = Register::open(&layout, "27AAPFU0939F1ZV", "VBZ").unwrap();
        assert_eq!(other.number_for(mar, &id("MA_AAAAAAAA")).unwrap(), "VBZ/25-26/000001");
        assert_eq!(other.issued().count(), 2);
    }

    #[test]
    fn a_new_number_for_an_earlier_period_than_one_invoiced_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = Register::open(&Layout::new(dir.path()), GSTIN, "VBZ").unwrap();
        let (jan, feb): (Period, Period) = ("2026-01".parse().unwrap(), "2026-02".parse().unwrap());
        r.number_for(jan, &id("MA_AAAAAAAA")).unwrap();
        r.number_for(feb, &id("MA_AAAAAAAA")).unwrap();
        // January's own number is still January's…
        assert_eq!(r.number_for(jan, &id("MA_AAAAAAAA")).unwrap(), "VBZ/25-26/000001");
        // …but a new January invoice would be numbered after February's.
        let err = r.number_for(jan, &id("MA_BBBBBBBB")).unwrap_err().to_string();
        assert!(
            err.contains("2026-02 is already invoiced") && err.contains("MA_BBBBBBBB"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_register_while_invoices_exist_is_an_error_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        let docs = layout.invoices_dir("2026-03".parse().unwrap());
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::write(docs.join("VBZ_25-26_000001.pdf"), b"%PDF").unwrap();
        let err = Register::open(&layout, GSTIN, "VBZ").err().unwrap().to_string();
        assert!(
            err.contains("is missing") && err.contains("2026-03/invoices/VBZ_25-26_000001.pdf"),
            "{err}"
        );
        assert!(!layout.invoice_register().exists());
    }

    #[test]
    fn a_version_1_register_becomes_the_series_of_the_supplier() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        std::fs::create_dir_all(layout.state_dir()).unwrap();
        std::fs::write(
            layout.invoice_register(),
            r#"{"version":1,"last":{"2025-26":2},"issued":{
                "2026-03/MA_AAAAAAAA":{"number":"VBZ/25-26/000001","financial_year":"2025-26","period":"2026-03","account":"MA_AAAAAAAA"},
                "2026-03/MA_BBBBBBBB":{"number":"VBZ/25-26/000002","financial_year":"2025-26","period":"2026-03","account":"MA_BBBBBBBB"}}}"#,
        )
        .unwrap();
        let mut r = Register::open(&layout, GSTIN, "VBZ").unwrap();
        let mar: Period = "2026-03".parse().unwrap();
        assert_eq!(r.number_for(mar, &id("MA_BBBBBBBB")).unwrap(), "VBZ/25-26/000002");
        assert_eq!(r.number_for(mar, &id("MA_CCCCCCCC")).unwrap(), "VBZ/25-26/000003");
        assert!(r.issued().all(|i| i.supplier_gstin == GSTIN));
    }

    /// A second register of the same output root waits for the first to be dropped.
    #[test]
    fn the_register_is_held_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        let first = Register::open(&layout, GSTIN, "VBZ").unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let l2 = layout.clone();
        let waiter = std::thread::spawn(move || {
            let _second = Register::open(&l2, GSTIN, "VBZ").unwrap();
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
