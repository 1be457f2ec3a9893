//! Fault sweep: 220 runs, each against a simulator with its own seeded mix of faults (429,
//! 5xx, resets, truncated bodies, slow responses, ledgers growing while paged, and in some
//! runs outages longer than the client's retries). Every run either writes exactly what a
//! fault-free run writes, or fails naming what it could not complete and leaves no partial
//! partition: a fresh output stays without tables, an earlier complete month stays intact.
//!
//! Ledger drift (rows appearing while a client pages) changes the data itself, so a run with
//! drift is held to the simulator's ground truth for that data instead, account by account.
//! A fifth dataset is the messy month; its runs with drift are held to a fault-free run of
//! the same drifting data, byte for byte.

use std::collections::BTreeMap;
use std::path::Path;

use vobiz_billing::pipeline;
use vobiz_billing::simulator::{self, DatasetSpec, truth};

use crate::crash::snapshot;
use crate::pipeline::options;
use crate::support::start_sim;

const DATASETS: u64 = 4;
const FAULT_SEEDS_PER_DATASET: u64 = 50;
/// And the messy month (ledger statuses, refunds, rejected rows, withheld invoices). Its runs
/// with drift are held to a fault-free run of the same drifting data.
const MESSY_FAULT_SEEDS: u64 = 20;

fn mix(seed: u64, salt: u64) -> u64 {
    // splitmix64: a different, reproducible draw per (seed, salt).
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(salt.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The simulator's `--faults` for one fault seed: each fault kind at one of four rates, drift
/// in a third of the runs, and in every fourth run outages of up to 12 failures in a row (the client
/// here gives up after 5 attempts, so those runs may fail, as they would against a real
/// outage).
fn mixed_faults(seed: u64) -> (String, bool) {
    const RATES: [&str; 4] = ["0", "0.02", "0.05", "0.15"];
    let kinds = ["429", "500", "502", "503", "reset", "truncate", "slow"];
    let mut spec: Vec<String> = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{k}={}", RATES[(mix(seed, i as u64) % 4) as usize]))
        .collect();
    let drift = ["0", "0", "0.5"][(mix(seed, 99) % 3) as usize];
    spec.push(format!("drift={drift}"));
    let streak = if seed.is_multiple_of(4) { 12 } else { 2 };
    spec.push(format!("max-streak={streak},seed={seed},slow-ms=5,retry-after=0"));
    (spec.join(","), drift != "0")
}

/// What must not change with faults: tables, invoices, register and reports.
fn outputs(out: &Path) -> BTreeMap<String, String> {
    snapshot(out)
        .into_iter()
        .filter(|(name, _)| !name.starts_with("raw/") && !name.ends_with("manifest.json"))
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    for f in crate::support::files(from) {
        let target = to.join(f.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&f, target).unwrap();
    }
}

#[derive(Default, Debug)]
struct Tally {
    matched: u32,
    matched_with_drift: u32,
    failed_naming_an_account: u32,
    failed_naming_a_partner_request: u32,
}

async fn sweep_dataset(dataset: u64) -> Tally {
    sweep(dataset, false, FAULT_SEEDS_PER_DATASET).await
}

async fn sweep(dataset: u64, messy: bool, fault_seeds: u64) -> Tally {
    let (accounts, calls) = if messy { (40, 6) } else { (3, 40) };
    let start = |faults: String| async move {
        if messy {
            let mut spec = DatasetSpec::new(dataset, accounts, calls, "2026-03".parse().unwrap());
            spec.messy = true;
            simulator::start(spec, faults.parse().unwrap(), "127.0.0.1:0".parse().unwrap())
                .await
                .unwrap()
        } else {
            start_sim(dataset, accounts, calls, &faults).await
        }
    };
    let clean = start("none".to_string()).await;
    let ids: Vec<String> = clean.sim.ds.accounts.iter().map(|a| a.auth_id.clone()).collect();
    let reference = tempfile::tempdir().unwrap();
    pipeline::run(&options(&clean.base_url(), reference.path()))
        .await
        .unwrap();
    let expected = outputs(reference.path());
    assert!(expected.keys().any(|k| k.starts_with("parquet/cdrs/")));
    // The messy month's drift runs: what a fault-free run writes once the same rows appeared.
    let drifted = if messy {
        let sim = start("drift=0.5".to_string()).await;
        let dir = tempfile::tempdir().unwrap();
        pipeline::run(&options(&sim.base_url(), dir.path())).await.unwrap();
        outputs(dir.path())
    } else {
        BTreeMap::new()
    };

    let mut tally = Tally::default();
    for n in 0..fault_seeds {
        let seed = dataset * 1_000 + n;
        let (faults, drift) = mixed_faults(seed);
        let sim = start(faults.clone()).await;
        let dir = tempfile::tempdir().unwrap();
        // Half the runs start empty, half over last run's complete output of the month.
        let over_earlier = n % 2 == 1;
        if over_earlier {
            copy_dir(reference.path(), dir.path());
        }
        let mut opts = options(&sim.base_url(), dir.path());
        opts.config.api.max_retries = 4;
        opts.config.api.initial_backoff_ms = 1;
        let result = pipeline::run(&opts).await;
        let context = format!("fault seed {seed} ({faults})");
        assert!(
            crate::cli::temporaries(dir.path()).is_empty(),
            "{context}: temporaries left"
        );
        match result {
            Ok(_) if drift && !messy => {
                crate::pipeline::assert_matches_truth(dir.path(), &truth::compute(&sim.sim));
                crate::pipeline::assert_offline_normalize_agrees(dir.path(), 3).await;
                tally.matched_with_drift += 1;
            }
            Ok(_) => {
                let expected = if drift { &drifted } else { &expected };
                let got = outputs(dir.path());
                assert_eq!(
                    got.keys().collect::<Vec<_>>(),
                    expected.keys().collect::<Vec<_>>(),
                    "{context}"
                );
                for (name, content) in expected {
                    assert_eq!(&got[name], content, "{context}: {name}");
                }
                if drift {
                    tally.matched_with_drift += 1;
                } else {
                    tally.matched += 1;
                }
            }
            Err(e) => {
                let why = format!("{e:#}");
                eprintln!("{context}: failed: {why}");
                assert!(!why.contains('\n'), "{context}: a one-line reason, got {why}");
                if ids.iter().any(|id| why.contains(id.as_str())) {
                    tally.failed_naming_an_account += 1;
                } else {
                    assert!(
                        why.contains("/api/v1/partner/"),
                        "{context}: the error names no account and no request: {why}"
                    );
                    tally.failed_naming_a_partner_request += 1;
                }
                // No partial partition: the earlier month as it was, or no tables at all.
                let tables: BTreeMap<String, String> = outputs(dir.path())
                    .into_iter()
                    .filter(|(name, _)| name.starts_with("parquet/"))
                    .collect();
                let earlier: BTreeMap<String, String> = if over_earlier {
                    expected
                        .iter()
                        .filter(|(n, _)| n.starts_with("parquet/"))
                        .map(|(n, c)| (n.clone(), c.clone()))
                        .collect()
                } else {
                    BTreeMap::new()
                };
                assert_eq!(tables, earlier, "{context}: tables after a failed run ({why})");
            }
        }
    }
    tally
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_and_twenty_fault_seeds_either_match_or_fail_naming_the_account() {
    let (mut tallies, messy) = futures_util::future::join(
        futures_util::future::join_all((1..=DATASETS).map(sweep_dataset)),
        sweep(DATASETS + 1, true, MESSY_FAULT_SEEDS),
    )
    .await;
    tallies.push(messy);
    let runs = DATASETS * FAULT_SEEDS_PER_DATASET + MESSY_FAULT_SEEDS;
    let matched: u32 = tallies.iter().map(|t| t.matched + t.matched_with_drift).sum();
    let failed: u32 = tallies
        .iter()
        .map(|t| t.failed_naming_an_account + t.failed_naming_a_partner_request)
        .sum();
    assert_eq!(u64::from(matched + failed), runs);
    // Both outcomes really occur, or the sweep proves less than it claims.
    assert!(matched as u64 >= runs / 2, "{tallies:?}");
    assert!(tallies.iter().map(|t| t.matched).sum::<u32>() >= 50, "{tallies:?}");
    assert!(failed >= 3, "outages never outlasted the retries: {tallies:?}");
    eprintln!(
        "fault sweep: {runs} runs, {matched} matched the fault-free output, {failed} failed cleanly: {tallies:?}"
    );
}
