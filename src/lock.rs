//! One run per period at a time. Cron may start a month while last night's run of it is still
//! going; two writers of one period would race on its partitions and its invoice numbers.
//!
//! The lock is an OS advisory lock (`flock`) on `state/locks/YYYY-MM.lock`, held for the whole
//! run. The kernel releases it when the process ends, however it ends, so a killed run leaves
//! no stale lock behind; the file's text (pid, start time) only makes the message useful.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::PathBuf;

use anyhow::Context;

use crate::layout::Layout;
use crate::model::Period;

/// Another run holds the period: exit code 1 with this message.
#[derive(Debug, thiserror::Error)]
#[error("period {period} is locked: another run ({holder}) is working on it; try again when it has finished")]
pub struct Locked {
    pub period: Period,
    pub holder: String,
}

/// Held for as long as it lives.
#[derive(Debug)]
pub struct PeriodLock {
    _file: File,
    pub path: PathBuf,
}

/// `state/locks/<name>`, opened (created if need be) for locking.
fn open_lock_file(layout: &Layout, name: &str) -> anyhow::Result<(File, PathBuf)> {
    let dir = layout.locks_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(name);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    Ok((file, path))
}

/// The invoice register's lock, `state/locks/register.lock`: every process that numbers
/// documents holds it from reading the register to saving it, whatever its period, so two
/// periods numbered at once see each other's numbers. Waits for the holder (numbering takes
/// a moment, not a run); held for as long as it lives.
#[derive(Debug)]
pub struct RegisterLock {
    _file: File,
}

impl RegisterLock {
    pub fn acquire(layout: &Layout) -> anyhow::Result<Self> {
        let (file, path) = open_lock_file(layout, "register.lock")?;
        if file.try_lock().is_err() {
            tracing::info!(lock = %path.display(), "another process is numbering invoices; waiting for it");
            file.lock().with_context(|| format!("cannot lock {}", path.display()))?;
        }
        Ok(Self { _file: file })
    }
}

impl PeriodLock {
    pub fn acquire(layout: &Layout, period: Period) -> anyhow::Result<Self> {
        let (mut file, path) = open_lock_file(layout, &format!("{period}.lock"))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(Locked {
                    period,
                    holder: if holder.is_empty() {
                        "unknown process".into()
                    } else {
                        holder.into()
                    },
                }
                .into());
            }
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
        file.set_len(0)?;
        file.rewind()?;
        write!(
            file,
            "pid {}, started {}",
            std::process::id(),
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
        )?;
        Ok(Self { _file: file, path })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        let p: Period = "2026-03".parse().unwrap();
        let first = PeriodLock::acquire(&layout, p).unwrap();
        let err = PeriodLock::acquire(&layout, p).unwrap_err();
        let msg = format!("{err}");
        assert!(
            msg.contains("period 2026-03 is locked") && msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        // Other periods are independent.
        let other = PeriodLock::acquire(&layout, "2026-04".parse().unwrap()).unwrap();
        drop(first);
        PeriodLock::acquire(&layout, p).unwrap();
        drop(other);
    }
}
