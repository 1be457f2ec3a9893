//! `--out` on object storage: `s3://bucket/prefix`, `gs://bucket/prefix`, `az://container/prefix`.
//!
//! The stages keep working on a local directory (the [`Layout`](crate::layout::Layout) of a
//! private workspace), and this layer moves files between it and the store around one command:
//!
//! 1. [`lease::Lease`]: the period's lease, `state/locks/YYYY-MM.lease`, taken by a
//!    create-if-absent write, so two hosts never run a period at once (the local `flock` only
//!    keeps apart the processes of one host).
//! 2. [`sync::Session::open`]: the workspace receives what the command reads: the invoice
//!    register (its ETag remembered), the period's outputs and issued documents, the document
//!    tables of every period (GSTR-1 files notes dated in a month for any month), and for
//!    `normalize` the period's raw pages.
//! 3. The command runs against the workspace exactly as against a local `--out`.
//! 4. [`sync::Session::publish`], only if the command succeeded: the register by compare-and-
//!    swap on its ETag (a register another host changed meanwhile stops the publish before any
//!    document is visible), issued documents create-if-absent (never overwritten), every other
//!    new or changed file as one object, and the period's manifest last: it is the commit
//!    marker. Objects of the period the run no longer produces are deleted after it.
//!
//! `file://` URLs and plain paths are the local disk, with no workspace in between.

pub mod lease;
pub mod sync;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::path::Path as Key;

use crate::error::usage;

/// Where `--out` points.
#[derive(Debug)]
pub enum Out {
    /// A directory on this machine (a path or a `file://` URL).
    Local(PathBuf),
    /// A prefix in an object store.
    Store(Store),
}

impl Out {
    /// `--out` as given: a path, or a URL with a scheme. Bad URLs are usage errors (exit 2).
    pub fn parse(out: &Path) -> anyhow::Result<Out> {
        let Some(text) = out.to_str().filter(|t| t.contains("://")) else {
            return Ok(Out::Local(out.to_path_buf()));
        };
        let url = reqwest::Url::parse(text).map_err(|e| usage(format!("--out {text:?} is not a valid URL: {e}")))?;
        if url.scheme() == "file" {
            let path = url
                .to_file_path()
                .map_err(|_| usage(format!("--out {text:?} is not a local file:// path")))?;
            return Ok(Out::Local(path));
        }
        Store::open(&url).map(Out::Store)
    }
}

/// One prefix of one bucket (or container), and the client that reaches it.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    prefix: Key,
    url: String,
}

impl Store {
    /// The store of `url`, configured from the environment variables its client reads
    /// (`AWS_*`, `GOOGLE_*`, `AZURE_*`): credentials, region, endpoint.
    pub fn open(url: &reqwest::Url) -> anyhow::Result<Store> {
        use object_store::aws::AmazonS3Builder;
        use object_store::azure::MicrosoftAzureBuilder;
        use object_store::gcp::GoogleCloudStorageBuilder;
        let shown = url.as_str().trim_end_matches('/').to_string();
        if url.host_str().is_none_or(str::is_empty) {
            return Err(usage(format!("--out {shown}: the URL names no bucket")));
        }
        let built: object_store::Result<Arc<dyn ObjectStore>> = match url.scheme() {
            "s3" | "s3a" => AmazonS3Builder::from_env()
                .with_url(url.as_str())
                .build()
                .map(|s| Arc::new(s) as _),
            "gs" => GoogleCloudStorageBuilder::from_env()
                .with_url(url.as_str())
                .build()
                .map(|s| Arc::new(s) as _),
            "az" | "azure" | "abfs" | "abfss" => MicrosoftAzureBuilder::from_env()
                .with_url(url.as_str())
                .build()
                .map(|s| Arc::new(s) as _),
            other => {
                return Err(usage(format!(
                    "--out {shown}: unsupported scheme {other}://; use a directory, file://, s3://, gs:// or az://"
                )));
            }
        };
        let inner = built.map_err(|e| usage(format!("--out {shown}: {e}")))?;
        let prefix = url.path().trim_matches('/');
        let prefix = Key::parse(prefix).map_err(|e| usage(format!("--out {shown}: bad prefix: {e}")))?;
        Ok(Store {
            inner,
            prefix,
            url: shown,
        })
    }

    /// The URL, for messages.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The key of `rel` (a `/`-separated path under the output root).
    fn key(&self, rel: &str) -> Key {
        let mut key = self.prefix.clone();
        for part in rel.split('/') {
            key = key.join(part);
        }
        key
    }

    /// `key` relative to the prefix, `/`-separated; `None` for a key outside it.
    fn relative(&self, key: &Key) -> Option<String> {
        let parts: Vec<String> = key
            .prefix_match(&self.prefix)?
            .map(|p| p.as_ref().to_string())
            .collect();
        (!parts.is_empty()).then(|| parts.join("/"))
    }
}

/// A store key's relative path as a path under the workspace, refused unless every part is a
/// plain name: keys come from the store's listing, and a key such as `../x` must never name a
/// file outside the workspace.
fn workspace_path(root: &Path, rel: &str) -> anyhow::Result<PathBuf> {
    let mut path = root.to_path_buf();
    for part in rel.split('/') {
        let plain = !part.is_empty()
            && part != "."
            && part != ".."
            && !part.contains(['\\', '\0'])
            && !part.starts_with(".tmp-");
        anyhow::ensure!(plain, "the store holds an object with an unexpected name: {rel:?}");
        path.push(part);
    }
    Ok(path)
}

/// What a compare-and-swap on this object names: its ETag (and version, where kept).
fn version_of(meta: &object_store::ObjectMeta) -> object_store::UpdateVersion {
    object_store::UpdateVersion {
        e_tag: meta.e_tag.clone(),
        version: meta.version.clone(),
    }
}

/// A store in memory (object_store's, with ETags and conditional puts), for the unit tests.
#[cfg(test)]
fn memory_store() -> Store {
    Store {
        inner: Arc::new(object_store::memory::InMemory::new()),
        prefix: Key::from("acme"),
        url: "memory://acme".into(),
    }
}

/// The error of a failed store operation, naming the store, on one short line: the client's
/// error repeats its sources in its own text, and an S3 error carries the whole XML reply, of
/// which its code and message say what happened.
fn store_error(store: &Store, what: &str) -> impl FnOnce(object_store::Error) -> anyhow::Error {
    let url = store.url.clone();
    let what = what.to_string();
    move |e| anyhow::anyhow!("{url}: cannot {what}: {}", describe(&e))
}

fn describe(e: &object_store::Error) -> String {
    let text = e.to_string();
    let tag = |t: &str| {
        let start = format!("<{t}>");
        let rest = &text[text.find(&start)? + start.len()..];
        Some(rest[..rest.find('<')?].to_string())
    };
    match (tag("Code"), tag("Message")) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        _ => text,
    }
}

/// Whether the store answers (listing the prefix): what `--dry-run` checks of a store.
pub async fn check_reachable(store: &Store) -> anyhow::Result<()> {
    store
        .inner
        .list_with_delimiter(Some(&store.prefix))
        .await
        .map_err(store_error(store, "list the output prefix"))
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_file_urls_are_local_and_bad_urls_are_refused() {
        match Out::parse(Path::new("reports")).unwrap() {
            Out::Local(p) => assert_eq!(p, Path::new("reports")),
            Out::Store(_) => panic!("a path is local"),
        }
        match Out::parse(Path::new("file:///var/billing")).unwrap() {
            Out::Local(p) => assert_eq!(p, Path::new("/var/billing")),
            Out::Store(_) => panic!("file:// is local"),
        }
        for bad in ["ftp://host/x", "s3://", "s3:///prefix", "not a url://x"] {
            let err = Out::parse(Path::new(bad)).unwrap_err();
            assert_eq!(
                crate::error::exit_code(&err),
                std::process::ExitCode::from(2),
                "{bad}: {err:#}"
            );
        }
    }

    #[test]
    fn keys_live_under_the_prefix_and_come_back_as_relative_paths() {
        let url = reqwest::Url::parse("s3://bucket/billing/acme").unwrap();
        let store = Store::open(&url).unwrap();
        let key = store.key("parquet/cdrs/period=2026-03/part-0.parquet");
        assert_eq!(key.as_ref(), "billing/acme/parquet/cdrs/period=2026-03/part-0.parquet");
        assert_eq!(
            store.relative(&key).as_deref(),
            Some("parquet/cdrs/period=2026-03/part-0.parquet")
        );
        assert_eq!(store.relative(&Key::from("other/x")), None);
    }

    #[test]
    fn an_s3_error_is_told_by_its_code_and_message_not_its_whole_reply() {
        let e = object_store::Error::Generic {
            store: "S3",
            source: "Error performing PUT http://x/b/k - Server returned non-2xx status code: 404 Not Found: <?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><RequestId>r</RequestId></Error>".into(),
        };
        assert_eq!(describe(&e), "NoSuchBucket: The specified bucket does not exist");
        let e = object_store::Error::Generic {
            store: "S3",
            source: "error sending request".into(),
        };
        assert!(describe(&e).contains("error sending request"));
    }

    #[test]
    fn a_key_never_names_a_file_outside_the_workspace() {
        let root = Path::new("/w");
        assert_eq!(
            workspace_path(root, "2026-03/invoices/INV_1.pdf").unwrap(),
            Path::new("/w/2026-03/invoices/INV_1.pdf")
        );
        for bad in ["../etc/passwd", "a//b", "a/./b", "a/..", "/abs", "a\\..\\b", "x/.tmp-1"] {
            assert!(workspace_path(root, bad).is_err(), "{bad}");
        }
    }
}
