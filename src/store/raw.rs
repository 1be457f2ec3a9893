//! Raw pages, kept for audit and so that normalize can re-run offline: one response body per
//! line, zstd-compressed, one file per (period, endpoint, account), written atomically.
//!
//! Extract redacts customer `auth_token`s (`api::redact`) before it hands a page here.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// zstd's fast negative level: raw JSON still shrinks ~6x, at a fraction of the CPU of level
/// 3 (which took half of extract's CPU time in `make bench`).
const RAW_ZSTD_LEVEL: i32 = -3;

pub struct RawWriter {
    path: PathBuf,
    file: std::io::BufWriter<tempfile::NamedTempFile>,
    compressor: zstd::bulk::Compressor<'static>,
    /// A frame holding just the newline that ends each page's line.
    newline: Vec<u8>,
    /// A page with newlines in it, flattened (reused between pages).
    line: Vec<u8>,
    /// Its compressed frame (reused between pages).
    frame: Vec<u8>,
    pages: u64,
}

impl RawWriter {
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        let dir = path.parent().expect("raw files live in a directory");
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let tmp = crate::output::temporary_in(dir, "")?;
        let mut compressor = zstd::bulk::Compressor::new(RAW_ZSTD_LEVEL)?;
        // Matches of 7 bytes or more: JSON's repeats are whole keys and values, and the
        // shorter matches cost more time to find than they save (measured on our pages: 4%
        // faster and 1% smaller than the level's default of 5).
        compressor.set_parameter(zstd::zstd_safe::CParameter::MinMatch(7))?;
        Ok(Self {
            path: path.to_path_buf(),
            file: std::io::BufWriter::with_capacity(256 << 10, tmp),
            newline: compressor.compress(b"\n")?,
            compressor,
            line: Vec::new(),
            frame: Vec::new(),
            pages: 0,
        })
    }

    /// Append one response body as one line. Newlines in valid JSON can only be whitespace
    /// (strings escape them), so they become spaces.
    ///
    /// Each page is compressed on its own as one zstd frame, followed by the newline's frame
    /// (a file is a concatenation of frames, which any zstd reader reads as one stream):
    /// one-shot compression of a whole page costs about half of what the streaming encoder
    /// spends on the same bytes, and the body is compressed where it lies, not copied first.
    pub fn append(&mut self, body: &[u8]) -> anyhow::Result<()> {
        let line = if memchr::memchr2(b'\n', b'\r', body).is_some() {
            self.line.clear();
            self.line
                .extend(body.iter().map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b }));
            &self.line
        } else {
            body
        };
        self.frame.clear();
        self.frame.reserve(zstd::zstd_safe::compress_bound(line.len()));
        self.compressor.compress_to_buffer(line, &mut self.frame)?;
        self.file.write_all(&self.frame)?;
        self.file.write_all(&self.newline)?;
        self.pages += 1;
        Ok(())
    }

    /// Flush, sync and move into place; until then the target is untouched.
    pub fn finish(self) -> anyhow::Result<u64> {
        let tmp = self.file.into_inner().map_err(|e| e.into_error())?;
        tmp.as_file().sync_all()?;
        crate::crashpoint::here("raw.before-rename");
        tmp.persist(&self.path)
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        Ok(self.pages)
    }
}

/// The pages of a raw file, decompressed into one buffer (one page per line).
pub struct RawPages {
    text: Vec<u8>,
}

impl RawPages {
    /// Every page, in the order fetched.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.text.split(|&b| b == b'\n').filter(|l| !l.is_empty())
    }

    /// The page fetched last (for single-page endpoints).
    pub fn last(&self) -> Option<&[u8]> {
        self.iter().last()
    }
}

/// Read a raw file: every page, in the order fetched.
pub fn read_pages(path: &Path) -> anyhow::Result<RawPages> {
    let file = std::fs::File::open(path).with_context(|| format!("missing raw pages {}", path.display()))?;
    let mut text = Vec::with_capacity(file.metadata().map_or(0, |m| m.len() as usize * 6));
    zstd::Decoder::new(file)?
        .read_to_end(&mut text)
        .with_context(|| format!("corrupt raw pages {}", path.display()))?;
    Ok(RawPages { text })
}

/// Every page of a raw file, in the order fetched, handed to `f` one at a time: memory holds
/// one page, not the file (a call centre's CDR file is gigabytes once decompressed).
pub fn for_each_page(path: &Path, mut f: impl FnMut(&[u8]) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let file = std::fs::File::open(path).with_context(|| format!("missing raw pages {}", path.display()))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, zstd::Decoder::new(file)?);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("corrupt raw pages {}", path.display()))?;
        if n == 0 {
            return Ok(());
        }
        let page = line.strip_suffix(b"\n").unwrap_or(&line);
        if !page.is_empty() {
            f(page)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_pages_and_flattens_newlines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x/y.jsonl.zst");
        let mut w = RawWriter::create(&p).unwrap();
        w.append(b"{\"a\":1}").unwrap();
        w.append(b"{\n  \"b\": \"two\"\r\n}").unwrap();
        assert!(!p.exists(), "nothing visible before finish");
        assert_eq!(w.finish().unwrap(), 2);
        // One line per page, for any zstd reader.
        let text = zstd::decode_all(std::fs::File::open(&p).unwrap()).unwrap();
        assert_eq!(text, b"{\"a\":1}\n{   \"b\": \"two\"  }\n");
        let pages = read_pages(&p).unwrap();
        let pages: Vec<&[u8]> = pages.iter().collect();
        assert_eq!(pages.len(), 2);
        let mut streamed = Vec::new();
        for_each_page(&p, |page| {
            streamed.push(page.to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(streamed, pages, "one page at a time, the same pages");
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(pages[1]).unwrap()["b"],
            "two"
        );
    }
}
