//! The invoice register under two processes: two periods of one financial year invoiced at
//! the same moment, by two `vobiz-billing invoice` processes, never issue one number twice
//! and never lose an entry of the other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};

use vobiz_billing::layout::Layout;
use vobiz_billing::model::Period;
use vobiz_billing::simulator::{self, DatasetSpec};

use crate::pipeline::options;

const BIN: &str = env!("CARGO_BIN_EXE_vobiz-billing");

/// Extract, normalize and reconcile one month into `out` (the invoices it also issues are
/// removed before each round).
async fn month(out: &Path, period: &str, seed: u64) {
    let period: Period = period.parse().unwrap();
    let sim = simulator::start(
        DatasetSpec::new(seed, 10, 30, period),
        "none".parse().unwrap(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let mut opts = options(&sim.base_url(), out);
    opts.period = period;
    vobiz_billing::pipeline::run(&opts).await.unwrap();
}

fn invoice(out: &Path, config: &Path, period: &str) -> std::process::Child {
    Command::new(BIN)
        .args(["--log-format", "json", "invoice", "--period", period, "--out"])
        .arg(out)
        .arg("--config")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Every entry of the register: number → (period, account).
fn register(layout: &Layout) -> BTreeMap<String, (String, String)> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(layout.invoice_register()).unwrap()).unwrap();
    let mut numbers = BTreeMap::new();
    for e in v["issued"].as_object().unwrap().values() {
        let n = e["number"].as_str().unwrap().to_string();
        let previous = numbers.insert(
            n.clone(),
            (
                e["period"].as_str().unwrap().to_string(),
                e["account"].as_str().unwrap().to_string(),
            ),
        );
        assert!(previous.is_none(), "{n} issued twice");
    }
    numbers
}

fn pdfs(layout: &Layout, period: &str) -> BTreeSet<String> {
    std::fs::read_dir(layout.invoices_dir(period.parse().unwrap()))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".pdf"))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_periods_invoiced_at_once_never_share_a_number_or_lose_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    month(&out, "2026-02", 31).await;
    month(&out, "2026-03", 32).await;
    let layout = Layout::new(&out);
    let config = crate::cli::supplier_config(dir.path());
    for p in ["2026-02", "2026-03"] {
        assert!(!pdfs(&layout, p).is_empty(), "{p} has nothing to invoice");
    }
    let mut both_succeeded = 0;
    for round in 0..20 {
        // A fresh series each round: no register, no documents.
        std::fs::remove_file(layout.invoice_register()).unwrap();
        for p in ["2026-02", "2026-03"] {
            let _ = std::fs::remove_dir_all(layout.invoices_dir(p.parse().unwrap()));
        }
        let (feb, mar) = (invoice(&out, &config, "2026-02"), invoice(&out, &config, "2026-03"));
        let (feb, mar) = (feb.wait_with_output().unwrap(), mar.wait_with_output().unwrap());
        let numbers = register(&layout);
        // Consecutive from 1, each number once (register() panics on a repeat).
        let seq: Vec<u64> = numbers
            .keys()
            .map(|n| n.rsplit('/').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(
            seq,
            (1..=seq.len() as u64).collect::<Vec<_>>(),
            "round {round}: {numbers:?}"
        );
        for (period, run) in [("2026-02", &feb), ("2026-03", &mar)] {
            let mine: BTreeSet<String> = numbers
                .iter()
                .filter(|(_, (p, _))| p == period)
                .map(|(n, _)| format!("{}.pdf", n.replace('/', "_")))
                .collect();
            if run.status.success() {
                // Every document it wrote is in the register, and every entry has its document.
                assert!(!mine.is_empty(), "round {round}: {period} issued nothing");
                assert_eq!(pdfs(&layout, period), mine, "round {round}: {period}");
            } else {
                // The only way to lose: February numbered after March already was, which would put
                // its numbers out of date order. It then issues nothing.
                let err = String::from_utf8_lossy(&run.stderr);
                assert_eq!(period, "2026-02", "round {round}: {err}");
                assert!(err.contains("out of date order"), "round {round}: {err}");
                assert!(mine.is_empty() && pdfs(&layout, period).is_empty(), "round {round}");
            }
        }
        both_succeeded += (feb.status.success() && mar.status.success()) as u32;
    }
    // March waits for February's numbering about as often as the other way round; at least
    // once both must have issued into one series.
    assert!(both_succeeded > 0, "February never numbered first in 20 rounds");
}
