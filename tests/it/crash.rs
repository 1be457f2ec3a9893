//! Crash matrix: a run SIGKILLed at every named step (`vobiz_billing::crashpoint`), then run
//! again, ends with exactly what an uninterrupted run writes: every Parquet table, the invoice
//! register, every invoice (HTML bytes, PDF bytes and PDF text), the reports and the manifest.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;

use vobiz_billing::crashpoint;
use vobiz_billing::store::partition::sha256_of;

use crate::cli::{run_cmd, spawn_sim, temporaries};
use crate::support::{files, readable_text};

/// What a reader of the output directory can see, file by file (relative path → content).
pub fn snapshot(out: &Path) -> BTreeMap<String, String> {
    let mut seen = BTreeMap::new();
    for f in files(out) {
        let name = f.strip_prefix(out).unwrap().to_string_lossy().into_owned();
        if name.ends_with(".pdf") {
            seen.insert(format!("{name} (text)"), readable_text(&f));
        }
        let content = if name.starts_with("state/locks/") {
            // Who held the lock (pid, start time) differs by design.
            "a lock file".to_string()
        } else if name.ends_with("manifest.json") {
            let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
            strip_measurements(&mut m);
            serde_json::to_string_pretty(&m).unwrap()
        } else {
            // Digest, so that a difference prints as one short line.
            let len = std::fs::metadata(&f).unwrap().len();
            format!("{len} bytes, sha256 {}", sha256_of(&f).unwrap())
        };
        seen.insert(name, content);
    }
    seen
}

/// Timings and memory differ between any two runs; everything else in the manifest must not.
fn strip_measurements(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.retain(|k, _| {
                !matches!(
                    k.as_str(),
                    "seconds" | "rows_per_second" | "peak_rss_mib" | "cpu_seconds"
                )
            });
            m.values_mut().for_each(strip_measurements);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(strip_measurements),
        _ => {}
    }
}

/// `got` holds the same files (or objects) as `expected`, each with the same content; a
/// difference in names is shown as the names only, not two listings of hundreds.
pub fn assert_same(got: &BTreeMap<String, String>, expected: &BTreeMap<String, String>, when: &str) {
    let extra: Vec<&String> = got.keys().filter(|k| !expected.contains_key(*k)).collect();
    let missing: Vec<&String> = expected.keys().filter(|k| !got.contains_key(*k)).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "files {when}: {extra:?} should not be there, {missing:?} are missing"
    );
    for (name, content) in expected {
        assert_eq!(&got[name], content, "{name} {when}");
    }
}

/// The matrices run on the messy month (its ledger statuses, refunds, rejected rows and
/// withheld invoices), whose complete runs exit 3: its planted reconciliation errors.
pub const MESSY: [&str; 7] = [
    "--messy",
    "--seed",
    "11",
    "--accounts",
    "40",
    "--cdrs-per-account",
    "15",
];

pub fn complete(status: std::process::ExitStatus) -> bool {
    status.code() == Some(3)
}

#[test]
fn a_run_killed_at_any_step_is_repaired_by_the_next_run() {
    let (_sim, url) = spawn_sim(&MESSY);
    let reference = tempfile::tempdir().unwrap();
    assert!(complete(run_cmd(&url, reference.path()).status().unwrap()));
    let expected = snapshot(reference.path());
    assert!(
        expected.keys().any(|k| k.ends_with(".pdf (text)")) && expected.contains_key("state/invoice-register.json"),
        "the reference run issued invoices: {:?}",
        expected.keys()
    );

    // Every step at its first pass, and some at a later one (mid-way through a stage).
    // (Publishing is for `--out` on a store: tests/it/objstore.rs kills a run there.)
    let mut points: Vec<String> = crashpoint::STEPS
        .iter()
        .filter(|s| !s.starts_with("publish."))
        .map(|s| s.to_string())
        .collect();
    points.extend(
        [
            "extract.account#4",
            "raw.before-rename#9",
            "parquet.before-rename#4",
            "normalize.partition#3",
            "invoice.document#3",
            "file.before-rename#4",
            "file.before-rename#9",
        ]
        .map(String::from),
    );
    for point in &points {
        let out = tempfile::tempdir().unwrap();
        let crashed = run_cmd(&url, out.path()).env(crashpoint::ENV, point).status().unwrap();
        assert_eq!(
            crashed.signal(),
            Some(9),
            "the run never reached {point} (it ended with {crashed})"
        );
        let rerun = run_cmd(&url, out.path()).status().unwrap();
        assert!(complete(rerun), "re-run after a crash at {point}: {rerun}");
        assert!(
            temporaries(out.path()).is_empty(),
            "temporaries left after a crash at {point}: {:?}",
            temporaries(out.path())
        );
        assert_same(
            &snapshot(out.path()),
            &expected,
            &format!("after a crash at {point} and a re-run"),
        );
    }
}

/// The correction run: a month finalized, then the API shows late activity and a run issues
/// credit and debit notes. Killed at every step of issuing them and run again, it ends with
/// exactly what an uninterrupted correction writes: no note issued twice, none lost, no
/// issued document touched.
#[test]
fn a_correction_killed_at_any_step_is_repaired_by_the_next_run() {
    let sim = MESSY;
    let (_month_end, url) = spawn_sim(&sim);
    let (_late, late_url) = spawn_sim(&[&sim[..], &["--late"]].concat());
    let correction = |out: &Path| {
        let mut c = run_cmd(&late_url, out);
        c.env("VOBIZ_BILLING_TODAY", "2026-04-09");
        c
    };
    let reference = tempfile::tempdir().unwrap();
    assert!(complete(run_cmd(&url, reference.path()).status().unwrap()));
    let finalized = snapshot(reference.path());
    assert!(complete(correction(reference.path()).status().unwrap()));
    let expected = snapshot(reference.path());
    let notes: Vec<&String> = expected
        .keys()
        .filter(|k| k.starts_with("2026-03/invoices/CN_") || k.starts_with("2026-03/invoices/DN_"))
        .collect();
    assert!(notes.len() >= 4, "the correction issued notes: {notes:?}");
    for (name, content) in finalized.iter().filter(|(k, _)| k.starts_with("2026-03/invoices/")) {
        assert_eq!(&expected[name], content, "{name} changed by the correction");
    }

    let points = [
        "invoice.numbered",
        "invoice.document",
        "invoice.document#2",
        "invoice.issued",
        "invoice.tables",
        "report.written",
        "run.finished",
    ];
    for point in points {
        let out = tempfile::tempdir().unwrap();
        assert!(complete(run_cmd(&url, out.path()).status().unwrap()));
        let crashed = correction(out.path()).env(crashpoint::ENV, point).status().unwrap();
        assert_eq!(
            crashed.signal(),
            Some(9),
            "the correction never reached {point} (it ended with {crashed})"
        );
        let rerun = correction(out.path()).status().unwrap();
        assert!(complete(rerun), "re-run after a crash at {point}: {rerun}");
        assert!(temporaries(out.path()).is_empty(), "temporaries after {point}");
        assert_same(
            &snapshot(out.path()),
            &expected,
            &format!("after a crash at {point} and a re-run"),
        );
    }
}
