//! Invoice numbers: consecutive per financial year (April–March), at most 16 characters of
//! `[A-Za-z0-9/-]` (CGST Rule 46(b)), kept in a durable register under `state/`.
//!
//! `PREFIX/YY-YY/000042`: the sequence is zero-padded to fill 16 characters. Re-running a
//! month gives each account the number it already has; a new financial year starts a new
//! series; a number once issued is never given to anything else.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::error::usage;
use crate::model::{AccountId, Period};
use crate::output::write_atomic;

pub use crate::model::document::{MAX_LEN, file_stem, valid_number};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct Data {
    version: u32,
    /// Financial year ("2025-26") → the last sequence number issued in it.
    last: BTreeMap<String, u64>,
    /// Every number issued, keyed by "<period>/<account>".
    issued: BTreeMap<String, Issued>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Issued {
    pub number: String,
    pub financial_year: String,
    pub period: String,
    pub account: String,
}

pub struct Register {
    path: PathBuf,
    prefix: String,
    data: Data,
}

impl Register {
    pub fn open(path: &Path, prefix: &str) -> anyhow::Result<Self> {
        crate::model::document::check_prefix(prefix).map_err(|e| usage(e.to_string()))?;
        let data = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("corrupt invoice register {}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Data {
                version: 1,
                ..Default::default()
            },
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Ok(Self {
            path: path.to_path_buf(),
            prefix: prefix.to_string(),
            data,
        })
    }

    /// The number of `account`'s invoice for `period`: the one already issued, or the next
    /// in the financial year of the invoice date (the period's last day).
    pub fn number_for(&mut self, period: Period, account: &AccountId) -> anyhow::Result<String> {
        let key = format!("{period}/{account}");
        if let Some(i) = self.data.issued.get(&key) {
            return Ok(i.number.clone());
        }
        let fy = period.financial_year();
        let head = format!("{}/{}/", self.prefix, period.financial_year_short());
        let width = MAX_LEN - head.len();
        let next = self.data.last.get(&fy).copied().unwrap_or(0) + 1;
        if next >= 10u64.pow(width as u32) {
            bail!("invoice series {head} is exhausted at {} numbers", next - 1);
        }
        let number = format!("{head}{next:0width$}");
        debug_assert!(valid_number(&number));
        self.data.last.insert(fy.clone(), next);
        self.data.issued.insert(
            key,
            Issued {
                number: number.clone(),
                financial_year: fy,
                period: period.to_string(),
                account: account.to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::document::check_prefix;

    fn id(s: &str) -> AccountId {
        AccountId::parse(s).unwrap()
    }

    #[test]
    fn consecutive_stable_and_per_financial_year() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/invoice-register.json");
        let (mar, apr): (Period, Period) = ("2026-03".parse().unwrap(), "2026-04".parse().unwrap());
        let mut r = Register::open(&path, "VBZ").unwrap();
        let a = r.number_for(mar, &id("MA_AAAAAAAA")).unwrap();
        let b = r.number_for(mar, &id("MA_BBBBBBBB")).unwrap();
        assert_eq!((a.as_str(), b.as_str()), ("VBZ/25-26/000001", "VBZ/25-26/000002"));
        assert!(valid_number(&a) && a.len() <= 16);
        r.save().unwrap();
        // Re-running the month reuses the numbers; a new FY starts again at 1.
        let mut r = Register::open(&path, "VBZ").unwrap();
        assert_eq!(r.number_for(mar, &id("MA_BBBBBBBB")).unwrap(), b);
        assert_eq!(r.number_for(apr, &id("MA_AAAAAAAA")).unwrap(), "VBZ/26-27/000001");
        assert_eq!(r.number_for(mar, &id("MA_CCCCCCCC")).unwrap(), "VBZ/25-26/000003");
        assert_eq!(file_stem(&a), "VBZ_25-26_000001");
    }

    #[test]
    fn prefixes_are_checked() {
        for bad in ["", "0AB", "-X", "TOOLONGX", "A/B", "A B"] {
            assert!(check_prefix(bad).is_err(), "{bad:?}");
        }
        assert!(check_prefix("INV").is_ok());
    }
}
