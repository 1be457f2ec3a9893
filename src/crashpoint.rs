//! Named crash points, so that a test can kill a run at an exact step and check that the next
//! run repairs everything (`tests/it/crash.rs`).
//!
//! `VOBIZ_BILLING_CRASH_AT=<step>[#<n>]` makes the process SIGKILL itself the `n`-th time
//! (default: the first) it passes [`here`]`(<step>)`. SIGKILL, not a panic or an exit: no
//! destructor, flush or cleanup runs, exactly as when cron's machine is rebooted or the OOM
//! killer strikes. Unset (always, outside tests), a crash point costs one atomic load.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

pub const ENV: &str = "VOBIZ_BILLING_CRASH_AT";

/// Every crash point, in the order a run passes them.
pub const STEPS: &[&str] = &[
    // extract: partner pages and the account list are on disk
    "extract.listed",
    // extract: a raw file is complete in its temporary, not yet renamed into place
    "raw.before-rename",
    // extract: every raw page of an account is on disk
    "extract.account",
    // normalize: a Parquet temporary is complete, not yet renamed over its partition
    "parquet.before-rename",
    // normalize: one more table's partition has been replaced
    "normalize.partition",
    // any atomic file write (manifest, HTML, PDF, register): temporary synced, not renamed
    "file.before-rename",
    // reconcile: reconciliation.html written, manifest not updated
    "reconcile.written",
    // invoice: documents (invoices at finalize, notes later) numbered and recorded in the
    // register with their content, no file written yet
    "invoice.numbered",
    // invoice: one more document's HTML and PDF written, its hashes not yet recorded
    "invoice.document",
    // invoice: the hashes of every document written are recorded; tables not yet replaced
    "invoice.issued",
    // invoice: document tables replaced
    "invoice.tables",
    // report: report.html written, manifest not updated
    "report.written",
    // run: every output written, summary not printed
    "run.finished",
    // --out on a store: one more object published (the register first, the manifest last)
    "publish.object",
];

struct Target {
    step: String,
    nth: u64,
    seen: AtomicU64,
}

static TARGET: OnceLock<Option<Target>> = OnceLock::new();

fn target() -> Option<&'static Target> {
    TARGET
        .get_or_init(|| {
            let spec = std::env::var(ENV).ok()?;
            let (step, nth) = match spec.split_once('#') {
                Some((s, n)) => (s, n.parse().ok()?),
                None => (spec.as_str(), 1),
            };
            Some(Target {
                step: step.to_string(),
                nth,
                seen: AtomicU64::new(0),
            })
        })
        .as_ref()
}

/// A named step of a run; see the module docs.
pub fn here(step: &'static str) {
    debug_assert!(STEPS.contains(&step), "unlisted crash point {step}");
    let Some(t) = target() else { return };
    if t.step == step && t.seen.fetch_add(1, Ordering::SeqCst) + 1 == t.nth {
        // SAFETY: kill(2) on our own pid has no memory-safety preconditions.
        #[allow(unsafe_code, reason = "the crash matrix kills the run with SIGKILL, through libc")]
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
        // SIGKILL to oneself is delivered before kill returns; never reached.
        std::process::abort();
    }
}
