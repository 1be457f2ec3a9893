//! The document register under two processes: two periods of one financial year finalized
//! at the same moment, by two `vobiz-billing finalize` processes, never issue one number
//! twice, never lose an entry of the other, and keep numbers consecutive and in date order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};

use vobiz_billing::layout::Layout;
use vobiz_billing::model::Period;
use vobiz_billing::simulator::{self, DatasetSpec};

use crate::pipeline::options;

const BIN: &str = env!("CARGO_BIN_EXE_vobiz-billing");

/// The day both finalizes run: within 30 days of January's end, after February's.
const TODAY: &str = "2026-03-02";

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
    opts.today = Some(TODAY.parse().unwrap());
    vobiz_billing::pipeline::run(&opts).await.unwrap();
}

fn finalize(out: &Path, config: &Path, period: &str) -> std::process::Child {
    Command::new(BIN)
        .env("VOBIZ_BILLING_TODAY", TODAY)
        .args(["--log-format", "json", "finalize", "--period", period, "--out"])
        .arg(out)
        .arg("--config")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Every document of the register: number → (period, account, date), each complete.
fn register(layout: &Layout) -> BTreeMap<String, (String, String, String)> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(layout.invoice_register()).unwrap()).unwrap();
    let mut numbers = BTreeMap::new();
    for e in v["documents"].as_object().unwrap().values() {
        let n = e["number"].as_str().unwrap().to_string();
        assert_eq!(e["complete"], true, "{n} is not complete");
        let previous = numbers.insert(
            n.clone(),
            (
                e["period"].as_str().unwrap().to_string(),
                e["account"].as_str().unwrap().to_string(),
                e["date"].as_str().unwrap().to_string(),
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
    month(&out, "2026-01", 31).await;
    month(&out, "2026-02", 32).await;
    let layout = Layout::new(&out);
    let config = crate::cli::supplier_config(dir.path());
    let mut first_wins = BTreeMap::new();
    for round in 0..20 {
        // A fresh series each round: no register, no documents.
        let _ = std::fs::remove_file(layout.invoice_register());
        for p in ["2026-01", "2026-02"] {
            let _ = std::fs::remove_dir_all(layout.invoices_dir(p.parse().unwrap()));
        }
        let (jan, feb) = (finalize(&out, &config, "2026-01"), finalize(&out, &config, "2026-02"));
        let (jan, feb) = (jan.wait_with_output().unwrap(), feb.wait_with_output().unwrap());
        let numbers = register(&layout);
        // Consecutive from 1, each number once (register() panics on a repeat).
        for (period, run) in [("2026-01", &jan), ("2026-02", &feb)] {
            assert!(
                run.status.success(),
                "round {round}: {period}: {}",
                String::from_utf8_lossy(&run.stderr)
            );
        }
        let seq: Vec<u64> = numbers
            .keys()
            .map(|n| {
                assert!(n.starts_with("INV/25-26/"), "round {round}: {n}");
                n.rsplit('/').next().unwrap().parse().unwrap()
            })
            .collect();
        assert_eq!(
            seq,
            (1..=seq.len() as u64).collect::<Vec<_>>(),
            "round {round}: {numbers:?}"
        );
        // In number order, dates never go back.
        let dates: Vec<&str> = numbers.values().map(|(_, _, d)| d.as_str()).collect();
        assert!(dates.is_sorted(), "round {round}: {numbers:?}");
        for period in ["2026-01", "2026-02"] {
            // Every document it wrote is in the register, and every entry has its document.
            let mine: BTreeSet<String> = numbers
                .iter()
                .filter(|(_, (p, _, _))| p == period)
                .map(|(n, _)| format!("{}.pdf", n.replace('/', "_")))
                .collect();
            assert!(!mine.is_empty(), "round {round}: {period} issued nothing");
            assert_eq!(pdfs(&layout, period), mine, "round {round}: {period}");
        }
        // Who numbered first: January's invoices keep their month's last day only then.
        let jan_date = numbers.values().find(|(p, _, _)| p == "2026-01").unwrap().2.clone();
        *first_wins.entry(jan_date).or_insert(0) += 1;
    }
    eprintln!("January's invoice dates over 20 rounds: {first_wins:?}");
}
