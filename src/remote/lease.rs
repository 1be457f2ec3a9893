//! The period's lease on the store, `state/locks/YYYY-MM.lease`: what `flock` is on a local
//! disk, for hosts that share only the store.
//!
//! Taken by a create-if-absent write (S3 `If-None-Match: *`), so of two hosts starting a
//! period at once exactly one succeeds. The holder renews it (compare-and-swap on its ETag)
//! every quarter of its validity while the command runs, and deletes it at the end. A lease
//! whose holder died is taken over, again by compare-and-swap, by the next run on the same
//! host at once (the holder's pid is gone) and by any host once it has expired: a crashed cron
//! host cannot keep a period locked for longer than one validity.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use object_store::path::Path as Key;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::{Store, store_error, version_of};
use crate::lock::Locked;
use crate::model::Period;

/// How long a lease is valid without renewal, unless `VOBIZ_BILLING_LEASE_SECONDS` says.
const DEFAULT_VALIDITY: Duration = Duration::from_secs(120);

/// Overrides [`DEFAULT_VALIDITY`] (seconds): tests, and stores with slow clocks.
pub const VALIDITY_ENV: &str = "VOBIZ_BILLING_LEASE_SECONDS";

/// Overrides the host name a lease records (containers that share a host name).
pub const HOST_ENV: &str = "VOBIZ_BILLING_HOST";

/// What a lease object holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Holder {
    host: String,
    pid: u32,
    started: DateTime<Utc>,
    expires: DateTime<Utc>,
}

impl Holder {
    fn describe(&self) -> String {
        format!(
            "host {}, pid {}, started {}, lease valid until {}",
            self.host,
            self.pid,
            self.started.format("%Y-%m-%dT%H:%M:%SZ"),
            self.expires.format("%Y-%m-%dT%H:%M:%SZ")
        )
    }

    /// Whether the holder can no longer be running: its lease expired, or it was a process
    /// of this host that is gone.
    fn is_stale(&self, now: DateTime<Utc>, host: &str) -> bool {
        self.expires < now || (self.host == host && !process_alive(self.pid))
    }
}

/// Whether a process of this host is running (where `/proc` tells; elsewhere assumed so).
fn process_alive(pid: u32) -> bool {
    let proc = std::path::Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

/// This host's name, as leases record it.
fn host_name() -> String {
    std::env::var(HOST_ENV)
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into())
}

fn validity() -> anyhow::Result<Duration> {
    match std::env::var(VALIDITY_ENV) {
        Ok(v) if !v.is_empty() => match v.parse::<u64>() {
            Ok(s) if s >= 1 => Ok(Duration::from_secs(s)),
            _ => Err(crate::error::usage(format!(
                "{VALIDITY_ENV} must be a whole number of seconds, at least 1, got {v:?}"
            ))),
        },
        _ => Ok(DEFAULT_VALIDITY),
    }
}

/// A held lease: renewed in the background until [`Lease::release`].
pub struct Lease {
    store: Store,
    key: Key,
    holder: Holder,
    version: Arc<Mutex<UpdateVersion>>,
    lost: Arc<AtomicBool>,
    renewer: tokio::task::JoinHandle<()>,
}

impl Lease {
    /// Take the period's lease, or fail with [`Locked`] naming its live holder.
    pub async fn acquire(store: &Store, period: Period) -> anyhow::Result<Lease> {
        let key = store.key(&format!("state/locks/{period}.lease"));
        let validity = validity()?;
        let host = host_name();
        let now = Utc::now();
        let holder = Holder {
            host: host.clone(),
            pid: std::process::id(),
            started: now,
            expires: now + validity,
        };
        // Two rounds: a stale lease is replaced by compare-and-swap, and losing that race to
        // another host means the lease is now that host's (checked on the second round).
        for _ in 0..2 {
            match put(store, &key, &holder, PutMode::Create).await {
                Ok(version) => return Ok(Lease::hold(store, key, holder, version, validity)),
                Err(object_store::Error::AlreadyExists { .. }) => {}
                Err(e) => return Err(store_error(store, "take the period's lease")(e)),
            }
            let got = match store.inner.get(&key).await {
                Ok(got) => got,
                // Released between the two requests: try again.
                Err(object_store::Error::NotFound { .. }) => continue,
                Err(e) => return Err(store_error(store, "read the period's lease")(e)),
            };
            let version = version_of(&got.meta);
            let written = got.meta.last_modified;
            let bytes = got
                .bytes()
                .await
                .map_err(store_error(store, "read the period's lease"))?;
            let current: Option<Holder> = serde_json::from_slice(&bytes).ok();
            let now = Utc::now();
            let stale = match &current {
                Some(h) => h.is_stale(now, &host),
                // Not a lease this program wrote (another version's, or damaged): respected
                // for one validity after it was last written, as a renewed lease would be.
                None => written + validity < now,
            };
            if !stale {
                let holder = match current {
                    Some(h) => h.describe(),
                    None => format!(
                        "a lease this program cannot read, written {}",
                        written.format("%Y-%m-%dT%H:%M:%SZ")
                    ),
                };
                return Err(Locked { period, holder }.into());
            }
            match put(store, &key, &holder, PutMode::Update(version)).await {
                Ok(version) => {
                    tracing::warn!(
                        lease = %key,
                        previous = current.map(|h| h.describe()).unwrap_or_else(|| "unreadable".into()),
                        "took over a lease whose holder is gone"
                    );
                    return Ok(Lease::hold(store, key, holder, version, validity));
                }
                Err(object_store::Error::Precondition { .. } | object_store::Error::AlreadyExists { .. }) => {}
                Err(e) => return Err(store_error(store, "take over the period's lease")(e)),
            }
        }
        Err(Locked {
            period,
            holder: "another host, which took the lease a moment ago".into(),
        }
        .into())
    }

    fn hold(store: &Store, key: Key, holder: Holder, version: UpdateVersion, validity: Duration) -> Lease {
        let version = Arc::new(Mutex::new(version));
        let lost = Arc::new(AtomicBool::new(false));
        let renewer = tokio::spawn(renew_until_aborted(
            store.clone(),
            key.clone(),
            holder.clone(),
            version.clone(),
            lost.clone(),
            validity,
        ));
        Lease {
            store: store.clone(),
            key,
            holder,
            version,
            lost,
            renewer,
        }
    }

    /// Renew now and fail unless the lease is still this run's: called before anything is
    /// published, so a run that lost its lease (it stalled past the validity and another host
    /// took over) publishes nothing.
    pub async fn confirm(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.lost.load(Ordering::SeqCst),
            "the lease on {} was lost: another run took the period over; nothing was published",
            self.key
        );
        let mut version = self.version.lock().await;
        let mut holder = self.holder.clone();
        holder.expires = Utc::now() + validity()?;
        match put(&self.store, &self.key, &holder, PutMode::Update(version.clone())).await {
            Ok(v) => {
                *version = v;
                Ok(())
            }
            Err(object_store::Error::Precondition { .. }) => {
                self.lost.store(true, Ordering::SeqCst);
                anyhow::bail!(
                    "the lease on {} was lost: another run took the period over; nothing was published",
                    self.key
                )
            }
            Err(e) => Err(store_error(&self.store, "renew the period's lease")(e)),
        }
    }

    /// Stop renewing and delete the lease if it is still this run's.
    pub async fn release(self) -> anyhow::Result<()> {
        self.renewer.abort();
        let version = self.version.lock().await;
        // Delete only our own lease: one taken over by another host stays.
        match self.store.inner.head(&self.key).await {
            Ok(meta) if meta.e_tag == version.e_tag => self
                .store
                .inner
                .delete(&self.key)
                .await
                .map_err(store_error(&self.store, "release the period's lease")),
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_error(&self.store, "release the period's lease")(e)),
        }
    }
}

async fn put(store: &Store, key: &Key, holder: &Holder, mode: PutMode) -> object_store::Result<UpdateVersion> {
    let body = serde_json::to_vec_pretty(holder).expect("a lease serializes");
    let opts = PutOptions {
        mode,
        ..PutOptions::default()
    };
    store
        .inner
        .put_opts(key, PutPayload::from(body), opts)
        .await
        .map(UpdateVersion::from)
}

async fn renew_until_aborted(
    store: Store,
    key: Key,
    mut holder: Holder,
    version: Arc<Mutex<UpdateVersion>>,
    lost: Arc<AtomicBool>,
    validity: Duration,
) {
    loop {
        tokio::time::sleep(validity / 4).await;
        let mut current = version.lock().await;
        holder.expires = Utc::now() + validity;
        match put(&store, &key, &holder, PutMode::Update(current.clone())).await {
            Ok(v) => *current = v,
            Err(object_store::Error::Precondition { .. }) => {
                tracing::error!(lease = %key, "the period's lease was taken over by another run; this run will publish nothing");
                lost.store(true, Ordering::SeqCst);
                return;
            }
            // A store that does not answer now may answer at the next renewal; the lease is
            // valid for four of them.
            Err(e) => tracing::warn!(lease = %key, error = %e, "cannot renew the period's lease"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::memory_store;

    #[tokio::test]
    async fn one_lease_per_period_and_an_unreadable_one_is_respected_not_taken() {
        let store = memory_store();
        let march: Period = "2026-03".parse().unwrap();
        let held = Lease::acquire(&store, march).await.unwrap();
        // This process is alive on this host: a second taker is refused, naming it.
        let err = Lease::acquire(&store, march).await.err().unwrap().to_string();
        assert!(
            err.contains("period 2026-03 is locked") && err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        let april = Lease::acquire(&store, "2026-04".parse().unwrap()).await.unwrap();
        held.release().await.unwrap();
        april.release().await.unwrap();

        // A lease another version of the program wrote, just now.
        let key = store.key("state/locks/2026-03.lease");
        store
            .inner
            .put(&key, PutPayload::from_static(b"holder: v9 format"))
            .await
            .unwrap();
        let err = Lease::acquire(&store, march).await.err().unwrap().to_string();
        assert!(err.contains("a lease this program cannot read"), "{err}");
    }

    #[test]
    fn a_holder_is_stale_once_expired_or_when_its_process_on_this_host_is_gone() {
        let now = Utc::now();
        let live = Holder {
            host: "h1".into(),
            pid: std::process::id(),
            started: now,
            expires: now + chrono::Duration::seconds(60),
        };
        assert!(!live.is_stale(now, "h1"));
        assert!(!live.is_stale(now, "h2"));
        let expired = Holder {
            expires: now - chrono::Duration::seconds(1),
            ..live.clone()
        };
        assert!(expired.is_stale(now, "h2"));
        // pid 0 is never a process of ours: gone on this host, unknowable from another.
        let dead = Holder { pid: 0, ..live };
        if std::path::Path::new("/proc").is_dir() {
            assert!(dead.is_stale(now, "h1"));
        }
        assert!(!dead.is_stale(now, "h2"));
    }
}
