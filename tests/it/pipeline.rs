//! Extract + normalize against the simulator: every table agrees with the generator's ground
//! truth exactly, with and without faults, and re-runs are reproducible.

use std::collections::BTreeMap;
use std::path::Path;

use rust_decimal::Decimal;
use vobiz_billing::config::Config;
use vobiz_billing::layout::{Layout, Table};
use vobiz_billing::model::Period;
use vobiz_billing::pipeline::{self, RunOptions};
use vobiz_billing::simulator::truth::{self, Truth};

use crate::support::*;

pub fn fast_config() -> Config {
    let mut c = Config::default();
    c.api.initial_backoff_ms = 5;
    c.api.max_backoff_secs = 1;
    c.api.timeout_secs = 5;
    c.api.max_retries = 8;
    c.supplier = Some(vobiz_billing::config::SupplierConfig::demo());
    c
}

/// The day the tests run "as of" (`VOBIZ_BILLING_TODAY` for the binary).
pub const AFTER_MARCH: chrono::NaiveDate = chrono::NaiveDate::from_ymd_opt(2026, 4, 5).expect("a date");
pub const AFTER_MARCH_ENV: (&str, &str) = ("VOBIZ_BILLING_TODAY", "2026-04-05");

pub fn options(base_url: &str, out: &Path) -> RunOptions {
    RunOptions {
        period: "2026-03".parse().unwrap(),
        out: out.to_path_buf(),
        config: fast_config(),
        base_url: base_url.parse().unwrap(),
        auth_id: PARTNER.0.into(),
        auth_token: PARTNER.1.into(),
        progress: false,
        // Past March's grace days, within Rule 47's 30 days: runs finalize, dated 31 March.
        today: Some(AFTER_MARCH),
    }
}

#[derive(Debug, Default, PartialEq)]
struct Sums {
    rows: u64,
    a: Decimal,
    b: Decimal,
}

fn per_account(
    out: &Path,
    table: Table,
    account_col: &str,
    f: impl Fn(&arrow::record_batch::RecordBatch, usize) -> (Decimal, Decimal),
) -> BTreeMap<String, Sums> {
    let period: Period = "2026-03".parse().unwrap();
    let mut m: BTreeMap<String, Sums> = BTreeMap::new();
    for b in read_parquet(&Layout::new(out).parquet_file(table, period)) {
        let ids = texts(&b, account_col);
        for (i, id) in ids.iter().enumerate() {
            let (x, y) = f(&b, i);
            let e = m.entry(id.clone().unwrap()).or_default();
            e.rows += 1;
            e.a += x;
            e.b += y;
        }
    }
    m
}

/// `run` normalizes from the rows extract parsed while fetching; normalize re-run offline reads
/// the raw pages. Both must write the same Parquet, byte for byte.
/// Normalize `out`'s raw pages again offline, in memory and then in sorted runs of `sort_rows`
/// spilled to disk: both give the run's tables and the same report.
pub async fn assert_offline_normalize_agrees(out: &Path, sort_rows: usize) {
    let tables = |out: &Path| -> BTreeMap<String, String> {
        crate::crash::snapshot(out)
            .into_iter()
            .filter(|(name, _)| name.starts_with("parquet/"))
            .collect()
    };
    let from_run = tables(out);
    assert!(from_run.keys().any(|k| k.starts_with("parquet/cdrs/")), "{from_run:?}");
    let period: Period = "2026-03".parse().unwrap();
    let normalize = |config| async move {
        let report = pipeline::normalize(&pipeline::offline_context(out.to_path_buf(), period, config))
            .await
            .unwrap();
        let runs = report.sort_runs;
        let mut report = serde_json::to_value(report).unwrap();
        report["seconds"] = 0.into();
        report["sort_runs"] = 0.into();
        (report, runs)
    };
    let mut whole = fast_config();
    whole.normalize.sort_rows = usize::MAX;
    let (in_memory, runs) = normalize(whole).await;
    assert_eq!(runs, 0, "every account sorted in memory");
    assert_eq!(
        tables(out),
        from_run,
        "normalize from raw/ differs from the run's tables"
    );
    // Every account sorted in runs spilled to disk and merged: the same tables, byte for
    // byte, and the same rejects (in the same order) and duplicates.
    let mut spilling = fast_config();
    spilling.normalize.sort_rows = sort_rows;
    let (spilled, runs) = normalize(spilling).await;
    assert!(runs > 20, "only {runs} runs spilled");
    assert_eq!(tables(out), from_run, "normalize in spilled runs differs");
    assert_eq!(spilled, in_memory, "normalize in spilled runs reports otherwise");
}

/// Compare every normalized table with the truth, account by account.
pub fn assert_matches_truth(out: &Path, truth: &Truth) {
    let cdrs = per_account(out, Table::Cdrs, "account_id", |b, i| {
        (
            decimals(b, "total_cost")[i].unwrap(),
            decimals(b, "streaming_cost")[i].unwrap(),
        )
    });
    let ledger = per_account(out, Table::Transactions, "account_id", |b, i| {
        let amount = decimals(b, "amount")[i].unwrap();
        match texts(b, "type")[i].as_deref() {
            Some("credit") => (amount, Decimal::ZERO),
            _ => (Decimal::ZERO, amount),
        }
    });
    let period: Period = "2026-03".parse().unwrap();
    let mut balances = BTreeMap::new();
    for b in read_parquet(&Layout::new(out).parquet_file(Table::Balances, period)) {
        let (ids, open, close) = (
            texts(&b, "auth_id"),
            decimals(&b, "opening_balance"),
            decimals(&b, "closing_balance"),
        );
        for i in 0..ids.len() {
            balances.insert(ids[i].clone().unwrap(), (open[i].unwrap(), close[i].unwrap()));
        }
    }
    let accounts: usize = read_parquet(&Layout::new(out).parquet_file(Table::Accounts, period))
        .iter()
        .map(|b| b.num_rows())
        .sum();
    assert_eq!(accounts, truth.accounts.len());
    assert_eq!(balances.len(), truth.accounts.len());
    for t in &truth.accounts {
        let c = cdrs.get(&t.auth_id).map(|s| (s.rows, s.a, s.b)).unwrap_or_default();
        assert_eq!(
            c,
            (t.cdrs.count, t.cdrs.total_cost, t.cdrs.streaming_cost),
            "CDRs of {}",
            t.auth_id
        );
        let l = ledger.get(&t.auth_id).map(|s| (s.rows, s.a, s.b)).unwrap_or_default();
        assert_eq!(
            l,
            (t.ledger.count, t.ledger.credit_total, t.ledger.debit_total),
            "ledger of {}",
            t.auth_id
        );
        assert_eq!(
            balances[&t.auth_id],
            (t.opening_balance, t.closing_balance),
            "balances of {}",
            t.auth_id
        );
    }
}

async fn run_seed(seed: u64, faults: &str) -> (tempfile::TempDir, Truth) {
    let sim = start_sim(seed, 7, 80, faults).await;
    let truth = truth::compute(&sim.sim);
    let dir = tempfile::tempdir().unwrap();
    pipeline::run(&options(&sim.base_url(), dir.path()))
        .await
        .unwrap_or_else(|e| panic!("seed {seed} with faults {faults:?}: {e:#}"));
    (dir, truth)
}

/// An account with more rows than extract hands over whole is streamed to normalize page by
/// page while it is fetched, with the same result as normalizing its raw pages offline. Its
/// ledger grows while it is paged (drift), so the stream carries every pass, repeats and all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_too_large_to_hand_over_whole_are_streamed() {
    let calls = vobiz_billing::extract::HANDOFF_MAX_ROWS as u32 + 2_000;
    let sim = start_sim(5, 1, calls, "drift=0.5,seed=5").await;
    let truth = truth::compute(&sim.sim);
    let dir = tempfile::tempdir().unwrap();
    pipeline::run(&options(&sim.base_url(), dir.path())).await.unwrap();
    assert_matches_truth(dir.path(), &truth);
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("2026-03/manifest.json")).unwrap()).unwrap();
    let streamed = m["extract"]["accounts_streamed"].as_u64().unwrap();
    assert!(streamed >= 1, "no account was streamed: {}", m["extract"]);
    assert!(
        m["extract"]["ledger_repasses"].as_u64().unwrap() >= 1,
        "no ledger grew while paged: {}",
        m["extract"]
    );
    // 250 rows a run: more runs than one merge takes, so runs are merged into runs first.
    assert_offline_normalize_agrees(dir.path(), 250).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_seeds_match_the_truth_without_faults() {
    let runs = futures_util::future::join_all((1..=20).map(|seed| run_seed(seed, "none"))).await;
    for (dir, truth) in &runs {
        assert_matches_truth(dir.path(), truth);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_seeds_match_the_truth_with_every_fault_at_once() {
    let runs = futures_util::future::join_all((1..=20).map(|seed| async move {
        let spec = format!("all,seed={seed},retry-after=0,slow-ms=50");
        run_seed(seed, &spec).await
    }))
    .await;
    let (mut retries, mut repasses) = (0, 0);
    for (dir, truth) in &runs {
        assert_matches_truth(dir.path(), truth);
        assert_offline_normalize_agrees(dir.path(), 3).await;
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("2026-03/manifest.json")).unwrap()).unwrap();
        retries += m["extract"]["retries"].as_u64().unwrap();
        repasses += m["extract"]["ledger_repasses"].as_u64().unwrap();
    }
    // The faults really happened: requests were retried and ledgers grew while being paged.
    assert!(retries >= 20, "only {retries} retries over 20 seeds");
    assert!(repasses >= 5, "only {repasses} ledger re-passes over 20 seeds");
}

#[tokio::test]
async fn the_same_input_gives_byte_identical_tables() {
    let sim = start_sim(5, 5, 60, "none").await;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    pipeline::run(&options(&sim.base_url(), a.path())).await.unwrap();
    pipeline::run(&options(&sim.base_url(), b.path())).await.unwrap();
    let period: Period = "2026-03".parse().unwrap();
    for t in Table::NORMALIZED {
        let (x, y) = (
            Layout::new(a.path()).parquet_file(t, period),
            Layout::new(b.path()).parquet_file(t, period),
        );
        assert_eq!(std::fs::read(&x).unwrap(), std::fs::read(&y).unwrap(), "{t}");
    }
}
