//! A command's workspace: filled from the store before the command, published after it.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path as Key;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion, WriteMultipart};
use sha2::{Digest, Sha256};

use super::lease::Lease;
use super::{Store, store_error, version_of, workspace_path};
use crate::model::Period;
use crate::store::partition::{hex, sha256_hex, sha256_of};

/// Objects moved at once each way (at most 4 x 24 MiB of file parts in memory).
const CONCURRENCY: usize = 4;

/// Files up to this size go up in one PUT; larger ones as one multipart upload (also
/// invisible until complete), read in parts of [`PART_BYTES`] so memory stays bounded.
const SINGLE_PUT_BYTES: u64 = 16 << 20;
const PART_BYTES: usize = 8 << 20;

/// The register's place under the output root (as `Layout::invoice_register`).
const REGISTER: &str = "state/invoice-register.json";

/// What else a command reads from the store besides the period's outputs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    /// All of the period's raw pages (`normalize` alone reads them; the others read only the
    /// partner's profile page).
    pub raw: bool,
}

/// A file the workspace received from the store.
#[derive(Debug, Clone)]
struct Pulled {
    /// In hex, as `store::partition::sha256_of` gives a file's.
    sha256: String,
    version: UpdateVersion,
}

/// What a publish did.
#[derive(Debug, Default)]
pub struct Published {
    pub uploaded: usize,
    pub bytes: u64,
    pub deleted: usize,
}

/// The lease, the workspace and what it received.
pub struct Session {
    store: Store,
    period: Period,
    lease: Option<Lease>,
    workspace: tempfile::TempDir,
    pulled: BTreeMap<String, Pulled>,
}

impl Session {
    /// Take the period's lease and fill a new workspace with what the command reads.
    pub async fn open(store: Store, period: Period, needs: Needs) -> anyhow::Result<Session> {
        let lease = Lease::acquire(&store, period).await?;
        let workspace = tempfile::Builder::new()
            .prefix("vobiz-billing-workspace-")
            .tempdir()
            .context("cannot create a local workspace")?;
        let mut session = Session {
            store,
            period,
            lease: Some(lease),
            workspace,
            pulled: BTreeMap::new(),
        };
        match session.pull(needs).await {
            Ok(()) => Ok(session),
            Err(e) => {
                session.close().await;
                Err(e)
            }
        }
    }

    /// The workspace: the command's output root.
    pub fn root(&self) -> &Path {
        self.workspace.path()
    }

    /// Whether `rel` is one the command's outputs for this period (what a publish may delete
    /// when the command no longer produces it).
    fn of_period(&self, rel: &str) -> bool {
        let p = self.period.to_string();
        rel.starts_with(&format!("{p}/"))
            || rel.starts_with(&format!("raw/{p}/"))
            || (rel.starts_with("parquet/") && rel.contains(&format!("/period={p}/")))
    }

    async fn pull(&mut self, needs: Needs) -> anyhow::Result<()> {
        let p = self.period.to_string();
        let mut wanted = Vec::new();
        for dir in ["state", &p, "parquet"] {
            let prefix = self.store.key(dir);
            let mut listing = self.store.inner.list(Some(&prefix));
            while let Some(meta) = listing
                .try_next()
                .await
                .map_err(store_error(&self.store, "list the outputs"))?
            {
                let Some(rel) = self.store.relative(&meta.location) else {
                    continue;
                };
                let keep = match dir {
                    "state" => rel == REGISTER,
                    "parquet" => {
                        rel.contains(&format!("/period={p}/"))
                            || rel.starts_with("parquet/documents/")
                            || rel.starts_with("parquet/document_lines/")
                    }
                    _ => true,
                };
                if keep {
                    wanted.push((rel, meta));
                }
            }
        }
        {
            // Every offline stage names the partner from its profile page; normalize reads all.
            let raw = if needs.raw {
                format!("raw/{p}")
            } else {
                format!("raw/{p}/profile")
            };
            let prefix = self.store.key(&raw);
            let listed: Vec<_> = self
                .store
                .inner
                .list(Some(&prefix))
                .try_collect()
                .await
                .map_err(store_error(&self.store, "list the raw pages"))?;
            wanted.extend(
                listed
                    .into_iter()
                    .filter_map(|m| Some((self.store.relative(&m.location)?, m))),
            );
        }
        if !wanted.iter().any(|(rel, _)| rel == REGISTER) {
            self.refuse_if_documents_exist().await?;
        }
        let root = self.root().to_path_buf();
        let pulled: Vec<(String, Pulled)> = futures_util::stream::iter(wanted)
            .map(|(rel, meta)| {
                let store = self.store.clone();
                let root = root.clone();
                async move {
                    let path = workspace_path(&root, &rel)?;
                    let pulled = download(&store, &meta.location, &path).await?;
                    anyhow::Ok((rel, pulled))
                }
            })
            .buffer_unordered(CONCURRENCY)
            .try_collect()
            .await?;
        tracing::info!(store = %self.store.url, files = pulled.len(), "workspace filled from the store");
        self.pulled = pulled.into_iter().collect();
        Ok(())
    }

    /// A store without a register but with issued documents would number them again from 1:
    /// name them instead (as a local output root does).
    async fn refuse_if_documents_exist(&self) -> anyhow::Result<()> {
        let top = self
            .store
            .inner
            .list_with_delimiter(Some(&self.store.prefix))
            .await
            .map_err(store_error(&self.store, "list the outputs"))?;
        for dir in top.common_prefixes {
            let Some(rel) = self.store.relative(&dir) else { continue };
            if rel.parse::<Period>().is_err() {
                continue;
            }
            let docs = self.store.key(&format!("{rel}/invoices"));
            if let Some(doc) = self.store.inner.list(Some(&docs)).next().await {
                let doc = doc.map_err(store_error(&self.store, "list the issued documents"))?;
                anyhow::bail!(
                    "{} has issued documents ({}) but no invoice register ({REGISTER}): numbering again would issue their numbers twice; restore the register first",
                    self.store.url,
                    doc.location
                );
            }
        }
        Ok(())
    }

    /// Publish what the command wrote; see the module docs of [`super`] for the order.
    pub async fn publish(&mut self) -> anyhow::Result<Published> {
        let root = self.root().to_path_buf();
        let present = files_under(&root)?;
        let mut changed = Vec::new();
        for (rel, path) in &present {
            let sha = sha256_of(path).with_context(|| format!("cannot read {}", path.display()))?;
            if self.pulled.get(rel).is_none_or(|p| p.sha256 != sha) {
                changed.push(rel.clone());
            }
        }
        let deleted: Vec<String> = self
            .pulled
            .keys()
            .filter(|rel| !present.contains_key(*rel) && self.of_period(rel) && !is_issued_document(rel))
            .cloned()
            .collect();
        let lease = self
            .lease
            .as_ref()
            .expect("a session publishes while it holds its lease");
        lease.confirm().await?;
        let mut published = Published::default();

        // 1. The register, by compare-and-swap: the numbers this run issued are reserved here,
        //    or nothing at all is published.
        if changed.iter().any(|r| r == REGISTER) {
            let mode = match self.pulled.get(REGISTER) {
                Some(p) => PutMode::Update(p.version.clone()),
                None => PutMode::Create,
            };
            let bytes = std::fs::read(root.join(REGISTER)).context("cannot read the register")?;
            published.bytes += bytes.len() as u64;
            let opts = PutOptions {
                mode,
                ..PutOptions::default()
            };
            match self
                .store
                .inner
                .put_opts(&self.store.key(REGISTER), PutPayload::from(bytes), opts)
                .await
            {
                Ok(_) => published.uploaded += 1,
                Err(object_store::Error::Precondition { .. } | object_store::Error::AlreadyExists { .. }) => {
                    anyhow::bail!(
                        "the invoice register on {} changed while this run numbered documents (another run issued documents meanwhile); nothing was published: run again to number after them",
                        self.store.url
                    )
                }
                Err(e) => return Err(store_error(&self.store, "replace the invoice register")(e)),
            }
        }

        // 2. Issued documents, never overwritten; 3. everything else but the manifest.
        let (documents, rest): (Vec<String>, Vec<String>) = changed
            .into_iter()
            .filter(|r| r != REGISTER)
            .partition(|r| is_issued_document(r));
        let manifest = format!("{}/manifest.json", self.period);
        let (manifests, others): (Vec<String>, Vec<String>) = rest.into_iter().partition(|r| *r == manifest);
        for (batch, create) in [(documents, true), (others, false)] {
            let sizes: Vec<u64> = futures_util::stream::iter(batch)
                .map(|rel| {
                    let store = self.store.clone();
                    let path = root.join(&rel);
                    async move {
                        let n = upload(&store, &rel, &path, create).await?;
                        crate::crashpoint::here("publish.object");
                        anyhow::Ok(n)
                    }
                })
                .buffer_unordered(CONCURRENCY)
                .try_collect()
                .await?;
            published.uploaded += sizes.len();
            published.bytes += sizes.iter().sum::<u64>();
        }

        // 4. The manifest: the commit marker of the period, only while the lease is still this
        //    run's (a run that stalled past its validity may have been taken over meanwhile).
        lease.confirm().await?;
        for rel in manifests {
            published.bytes += upload(&self.store, &rel, &root.join(&rel), false).await?;
            published.uploaded += 1;
        }

        // 5. What the period no longer has.
        for rel in &deleted {
            self.store
                .inner
                .delete(&self.store.key(rel))
                .await
                .map_err(store_error(&self.store, "delete an output the run no longer produces"))?;
        }
        published.deleted = deleted.len();
        tracing::info!(
            store = %self.store.url,
            uploaded = published.uploaded,
            bytes = published.bytes,
            deleted = published.deleted,
            "published"
        );
        Ok(published)
    }

    /// Release the lease and remove the workspace. Errors are logged: the command's own
    /// outcome is what the caller reports (a lease left behind expires on its own).
    pub async fn close(mut self) {
        if let Some(lease) = self.lease.take()
            && let Err(e) = lease.release().await
        {
            tracing::warn!(error = %format!("{e:#}"), "cannot release the period's lease; it expires on its own");
        }
    }
}

/// Issued documents (`YYYY-MM/invoices/…`): written once, never replaced or deleted.
fn is_issued_document(rel: &str) -> bool {
    let mut parts = rel.split('/');
    parts.next().is_some_and(|p| p.parse::<Period>().is_ok()) && parts.next() == Some("invoices")
}

/// Every file under the workspace, by relative `/`-path: what the command's outputs are.
/// Temporaries and the local locks (the store has its own lease) are not outputs.
fn files_under(root: &Path) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let mut files = BTreeMap::new();
    let mut dirs = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, rel)) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let child = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if name.starts_with(".tmp-") || child == "state/locks" {
                continue;
            }
            if entry.file_type()?.is_dir() {
                dirs.push((entry.path(), child));
            } else {
                files.insert(child, entry.path());
            }
        }
    }
    Ok(files)
}

/// One object into `path`, streamed, hashed on the way.
async fn download(store: &Store, key: &Key, path: &Path) -> anyhow::Result<Pulled> {
    let got = store
        .inner
        .get(key)
        .await
        .map_err(store_error(store, "download an output"))?;
    let version = version_of(&got.meta);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut file = std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut sha = Sha256::new();
    let mut stream = got.into_stream();
    while let Some(chunk) = stream
        .try_next()
        .await
        .map_err(store_error(store, "download an output"))?
    {
        sha.update(&chunk);
        file.write_all(&chunk)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(Pulled {
        sha256: hex(&sha.finalize()),
        version,
    })
}

/// One file as one object. `create`: the object must not exist, unless with these very bytes
/// (a publish interrupted after it); an issued document is never replaced.
async fn upload(store: &Store, rel: &str, path: &Path, create: bool) -> anyhow::Result<u64> {
    let key = store.key(rel);
    let size = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if size <= SINGLE_PUT_BYTES || create {
        let bytes = tokio::fs::read(path)
            .await
            .with_context(|| format!("cannot read {}", path.display()))?;
        let sha = sha256_hex(&bytes);
        let mode = if create { PutMode::Create } else { PutMode::Overwrite };
        let opts = PutOptions {
            mode,
            ..PutOptions::default()
        };
        match store.inner.put_opts(&key, PutPayload::from(bytes), opts).await {
            Ok(_) => {}
            Err(object_store::Error::AlreadyExists { .. }) => {
                let there = store
                    .inner
                    .get(&key)
                    .await
                    .map_err(store_error(store, "read an issued document"))?
                    .bytes()
                    .await
                    .map_err(store_error(store, "read an issued document"))?;
                anyhow::ensure!(
                    sha256_hex(&there) == sha,
                    "{}: issued document {rel} is already on the store with other content; an issued document is never replaced",
                    store.url
                );
            }
            Err(e) => return Err(store_error(store, &format!("upload {rel}"))(e)),
        }
        return Ok(size);
    }
    let upload = store
        .inner
        .put_multipart(&key)
        .await
        .map_err(store_error(store, &format!("upload {rel}")))?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
    let mut file = tokio::fs::File::open(path)
        .await
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut buf = vec![0; PART_BYTES];
    loop {
        use tokio::io::AsyncReadExt;
        let n = file.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        writer
            .wait_for_capacity(2)
            .await
            .map_err(store_error(store, &format!("upload {rel}")))?;
        writer.write(&buf[..n]);
    }
    writer
        .finish()
        .await
        .map_err(store_error(store, &format!("upload {rel}")))?;
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::memory_store;

    #[test]
    fn only_the_invoices_of_a_period_are_issued_documents() {
        assert!(is_issued_document("2026-03/invoices/INV_2025-26_0001.pdf"));
        assert!(!is_issued_document("2026-03/drafts/x.pdf"));
        assert!(!is_issued_document("parquet/invoices/period=2026-03/part-0.parquet"));
    }

    async fn put(store: &Store, rel: &str, bytes: &[u8]) {
        store
            .inner
            .put(&store.key(rel), PutPayload::from(bytes.to_vec()))
            .await
            .unwrap();
    }

    async fn object(store: &Store, rel: &str) -> Option<Vec<u8>> {
        let got = store.inner.get(&store.key(rel)).await.ok()?;
        Some(got.bytes().await.unwrap().to_vec())
    }

    fn write(root: &Path, rel: &str, bytes: &[u8]) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    /// Two hosts number documents of two periods from the same register: the one that
    /// publishes second finds the register changed and publishes nothing, so no number is
    /// issued twice; run again, it starts from the other's register.
    #[tokio::test]
    async fn a_register_changed_by_another_run_stops_the_publish_before_any_document() {
        let store = memory_store();
        put(&store, REGISTER, b"{\"issued\": 1}").await;
        let march: Period = "2026-03".parse().unwrap();
        let april: Period = "2026-04".parse().unwrap();
        let mut a = Session::open(store.clone(), march, Needs::default()).await.unwrap();
        let mut b = Session::open(store.clone(), april, Needs::default()).await.unwrap();
        assert!(a.root().join(REGISTER).exists() && b.root().join(REGISTER).exists());

        write(b.root(), REGISTER, b"{\"issued\": 2, \"by\": \"april\"}");
        write(b.root(), "2026-04/invoices/INV_2.pdf", b"april's document");
        b.publish().await.unwrap();

        write(a.root(), REGISTER, b"{\"issued\": 2, \"by\": \"march\"}");
        write(a.root(), "2026-03/invoices/INV_2.pdf", b"march's document");
        write(a.root(), "2026-03/manifest.json", b"{}");
        let err = a.publish().await.unwrap_err().to_string();
        assert!(err.contains("changed while this run numbered documents"), "{err}");
        assert_eq!(
            object(&store, REGISTER).await.unwrap(),
            b"{\"issued\": 2, \"by\": \"april\"}"
        );
        assert_eq!(object(&store, "2026-03/invoices/INV_2.pdf").await, None);
        assert_eq!(object(&store, "2026-03/manifest.json").await, None);
        a.close().await;
        b.close().await;

        let again = Session::open(store.clone(), march, Needs::default()).await.unwrap();
        assert_eq!(
            std::fs::read(again.root().join(REGISTER)).unwrap(),
            b"{\"issued\": 2, \"by\": \"april\"}"
        );
        again.close().await;
    }

    /// An issued document on the store is never replaced, even by a run whose workspace holds
    /// other bytes under its name; the same bytes again (a publish repeated) are accepted.
    #[tokio::test]
    async fn an_issued_document_is_never_replaced() {
        let store = memory_store();
        // (With no register, the session refuses to open: see the next test.)
        put(&store, REGISTER, b"{}").await;
        put(&store, "2026-03/invoices/INV_1.pdf", b"issued").await;
        let march: Period = "2026-03".parse().unwrap();
        let mut s = Session::open(store.clone(), march, Needs::default()).await.unwrap();
        assert_eq!(
            std::fs::read(s.root().join("2026-03/invoices/INV_1.pdf")).unwrap(),
            b"issued"
        );
        write(s.root(), "2026-03/invoices/INV_1.pdf", b"rewritten");
        let err = s.publish().await.unwrap_err().to_string();
        assert!(err.contains("never replaced"), "{err}");
        assert_eq!(object(&store, "2026-03/invoices/INV_1.pdf").await.unwrap(), b"issued");

        std::fs::remove_file(s.root().join("2026-03/invoices/INV_1.pdf")).unwrap();
        s.publish().await.unwrap();
        assert_eq!(
            object(&store, "2026-03/invoices/INV_1.pdf").await.unwrap(),
            b"issued",
            "a document missing from the workspace is not deleted"
        );
        s.close().await;
    }

    #[tokio::test]
    async fn issued_documents_without_a_register_are_refused_before_anything_is_numbered() {
        let store = memory_store();
        put(&store, "2026-02/invoices/INV_1.pdf", b"issued").await;
        let march: Period = "2026-03".parse().unwrap();
        let err = Session::open(store.clone(), march, Needs::default())
            .await
            .err()
            .unwrap();
        let err = format!("{err:#}");
        assert!(
            err.contains("2026-02/invoices/INV_1.pdf") && err.contains("no invoice register"),
            "{err}"
        );
        assert!(
            object(&store, "state/locks/2026-03.lease").await.is_none(),
            "the lease is released"
        );
    }

    /// What the command no longer writes for its period is removed after the manifest; other
    /// periods' objects and the register are not.
    #[tokio::test]
    async fn objects_the_period_no_longer_has_are_removed_and_others_kept() {
        let store = memory_store();
        put(&store, "2026-03/drafts/x.pdf", b"old draft").await;
        put(&store, "2026-03/manifest.json", b"{}").await;
        put(&store, "2026-02/report.html", b"february").await;
        put(&store, "parquet/cdrs/period=2026-02/part-0.parquet", b"february").await;
        let march: Period = "2026-03".parse().unwrap();
        let mut s = Session::open(store.clone(), march, Needs::default()).await.unwrap();
        assert!(
            !s.root().join("2026-02").exists(),
            "other periods' outputs stay on the store"
        );
        std::fs::remove_dir_all(s.root().join("2026-03/drafts")).unwrap();
        write(s.root(), "2026-03/manifest.json", b"{\"new\": true}");
        let published = s.publish().await.unwrap();
        assert_eq!((published.uploaded, published.deleted), (1, 1));
        assert_eq!(object(&store, "2026-03/drafts/x.pdf").await, None);
        assert!(object(&store, "2026-02/report.html").await.is_some());
        assert!(
            object(&store, "parquet/cdrs/period=2026-02/part-0.parquet")
                .await
                .is_some()
        );
        s.close().await;
        assert!(
            object(&store, "state/locks/2026-03.lease").await.is_none(),
            "the lease is released"
        );
    }

    #[test]
    fn the_workspace_lists_its_outputs_but_not_temporaries_or_local_locks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in [
            "2026-03/manifest.json",
            "parquet/cdrs/period=2026-03/part-0.parquet",
            "parquet/cdrs/period=2026-03/.tmp-x.parquet",
            "state/invoice-register.json",
            "state/locks/2026-03.lock",
        ] {
            std::fs::create_dir_all(root.join(f).parent().unwrap()).unwrap();
            std::fs::write(root.join(f), b"x").unwrap();
        }
        let files: Vec<String> = files_under(root).unwrap().into_keys().collect();
        assert_eq!(
            files,
            [
                "2026-03/manifest.json",
                "parquet/cdrs/period=2026-03/part-0.parquet",
                "state/invoice-register.json"
            ]
        );
    }
}
