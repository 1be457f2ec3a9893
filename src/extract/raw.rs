//! Raw pages, kept for audit and so that normalize can re-run offline: one response body per
//! line, zstd-compressed, one file per (period, endpoint, account), written atomically.
//!
//! Customer `auth_token`s are redacted before a page is written.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// zstd's fast negative level: raw JSON still shrinks ~6x, at a fraction of the CPU of level
/// 3 (which took half of extract's CPU time in `make bench`).
const RAW_ZSTD_LEVEL: i32 = -3;

pub struct RawWriter {
    path: PathBuf,
    encoder: zstd::Encoder<'static, tempfile::NamedTempFile>,
    pages: u64,
}

impl RawWriter {
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        let dir = path.parent().expect("raw files live in a directory");
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
        let encoder = zstd::Encoder::new(tmp, RAW_ZSTD_LEVEL)?;
        Ok(Self {
            path: path.to_path_buf(),
            encoder,
            pages: 0,
        })
    }

    /// Append one response body as one line. Newlines in valid JSON can only be whitespace
    /// (strings escape them), so they become spaces.
    pub fn append(&mut self, body: &[u8]) -> anyhow::Result<()> {
        if body.contains(&b'\n') {
            let flat: Vec<u8> = body
                .iter()
                .map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b })
                .collect();
            self.encoder.write_all(&flat)?;
        } else {
            self.encoder.write_all(body)?;
        }
        self.encoder.write_all(b"\n")?;
        self.pages += 1;
        Ok(())
    }

    /// Flush, sync and move into place; until then the target is untouched.
    pub fn finish(self) -> anyhow::Result<u64> {
        let tmp = self.encoder.finish()?;
        tmp.as_file().sync_all()?;
        crate::crashpoint::here("raw.before-rename");
        tmp.persist(&self.path)
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        Ok(self.pages)
    }
}

/// Every page of a raw file, in the order fetched.
pub fn read_pages(path: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let file = std::fs::File::open(path).with_context(|| format!("missing raw pages {}", path.display()))?;
    let reader = BufReader::new(zstd::Decoder::new(file)?);
    let mut pages = Vec::new();
    for line in reader.split(b'\n') {
        let line = line.with_context(|| format!("corrupt raw pages {}", path.display()))?;
        if !line.is_empty() {
            pages.push(line);
        }
    }
    Ok(pages)
}

pub use super::redact::redact_string_member;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_pages_and_flattens_newlines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x/y.jsonl.zst");
        let mut w = RawWriter::create(&p).unwrap();
        w.append(b"{\"a\":1}").unwrap();
        w.append(b"{\n  \"b\": \"two\"\n}").unwrap();
        assert!(!p.exists(), "nothing visible before finish");
        assert_eq!(w.finish().unwrap(), 2);
        let pages = read_pages(&p).unwrap();
        assert_eq!(pages.len(), 2);
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&pages[1]).unwrap()["b"],
            "two"
        );
    }
}
