//! Reconciliation finds each planted discrepancy on exactly its account, nothing on clean
//! data, compares money exactly, and renders a safe, stable HTML report.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use vobiz_billing::context::RunContext;
use vobiz_billing::layout::{Layout, Table};
use vobiz_billing::model::{LedgerKind, Period};
use vobiz_billing::pipeline;
use vobiz_billing::reconcile::{self, Severity};
use vobiz_billing::simulator::truth;
use vobiz_billing::store::normalized::*;
use vobiz_billing::store::partition::PartitionWriter;

use crate::pipeline::options;
use crate::support::*;

fn period() -> Period {
    "2026-03".parse().unwrap()
}

/// auth_id → kinds of the exceptions of `severity` in the period's exceptions table.
fn exceptions(out: &std::path::Path, severity: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for b in read_parquet(&Layout::new(out).parquet_file(Table::Exceptions, period())) {
        let (ids, sev, kinds) = (texts(&b, "auth_id"), texts(&b, "severity"), texts(&b, "kind"));
        for i in 0..b.num_rows() {
            if sev[i].as_deref() == Some(severity) {
                m.entry(ids[i].clone().unwrap())
                    .or_default()
                    .insert(kinds[i].clone().unwrap());
            }
        }
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_seeds_have_no_discrepancies() {
    for seed in [1, 2, 3, 4, 5] {
        let sim = start_sim(seed, 20, 120, "none").await;
        let dir = tempfile::tempdir().unwrap();
        let summary = pipeline::run(&options(&sim.base_url(), dir.path())).await.unwrap();
        assert_eq!(
            summary.reconciliation_errors,
            0,
            "seed {seed}: {:?}",
            exceptions(dir.path(), "error")
        );
        assert!(exceptions(dir.path(), "error").is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_planted_discrepancy_is_reported_for_exactly_its_account() {
    let spec = DatasetSpecExt::with_anomalies(11, 24, 150, "all");
    let sim = vobiz_billing::simulator::start(spec, "none".parse().unwrap(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let t = truth::compute(&sim.sim);
    let dir = tempfile::tempdir().unwrap();
    let summary = pipeline::run(&options(&sim.base_url(), dir.path())).await.unwrap();
    assert!(summary.reconciliation_errors >= 6);
    let expected_kind = |anomaly: &str| match anomaly {
        "missing-debit" => "missing_debit",
        "duplicate-debit" => "duplicate_debit",
        "paisa" => "debit_amount_mismatch",
        "balance-jump" => "balance_mismatch",
        "currency" => "currency_mismatch",
        "orphan" => "orphan_debit",
        other => panic!("unknown anomaly {other}"),
    };
    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for a in &t.accounts {
        if let Some(x) = &a.anomaly {
            expected
                .entry(a.auth_id.clone())
                .or_default()
                .insert(expected_kind(x).to_string());
        }
    }
    assert_eq!(expected.len(), 6);
    assert_eq!(exceptions(dir.path(), "error"), expected);
    // The simulator's customer with a bad GSTIN check character is flagged (as a warning).
    let bad_gstin: Vec<&str> = t
        .accounts
        .iter()
        .filter(|a| {
            a.gstin
                .as_deref()
                .is_some_and(|g| vobiz_billing::model::Gstin::parse(g).is_err())
        })
        .map(|a| a.auth_id.as_str())
        .collect();
    let warnings = exceptions(dir.path(), "warning");
    let flagged: Vec<&str> = warnings
        .iter()
        .filter(|(_, k)| k.contains("invalid_gstin"))
        .map(|(a, _)| a.as_str())
        .collect();
    assert_eq!(flagged, bad_gstin);
    // The one-paisa case is reported with its exact difference.
    let html = std::fs::read_to_string(dir.path().join("2026-03/reconciliation.html")).unwrap();
    assert!(html.contains("debit_amount_mismatch"));
}

/// Helper: a dataset spec with planted anomalies.
struct DatasetSpecExt;
impl DatasetSpecExt {
    fn with_anomalies(seed: u64, accounts: u32, cdrs: u32, list: &str) -> vobiz_billing::simulator::DatasetSpec {
        let mut spec = vobiz_billing::simulator::DatasetSpec::new(seed, accounts, cdrs, period());
        spec.anomalies = vobiz_billing::simulator::Anomaly::parse_list(list).unwrap();
        spec
    }
}

fn d(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap()
}

fn write<R: 'static>(
    layout: &Layout,
    table: Table,
    cols: &'static [vobiz_billing::store::schema::Column<R>],
    rows: Vec<R>,
) {
    let mut w = PartitionWriter::create(&layout.parquet_file(table, period()), cols, vec![]).unwrap();
    for r in rows {
        w.push(r).unwrap();
    }
    w.finish().unwrap();
}

fn account(id: &str) -> AccountRow {
    AccountRow {
        auth_id: id.into(),
        id: None,
        name: format!("Customer {id}"),
        email: None,
        phone: None,
        company: None,
        address: None,
        city: None,
        state: Some("Karnataka".into()),
        zip_code: None,
        country: Some("IN".into()),
        gstin: Some("29AAGCG6253J1Z8".into()),
        gst_status: None,
        business_type: None,
        tds_enabled: None,
        tds_percentage: None,
        is_active: Some(true),
        kyc_status: None,
        currency: Some("INR".into()),
        pricing_tier_id: None,
        pricing_tier_name: None,
        rate_per_minute: None,
        billing_increment_seconds: None,
        created_at: 0,
        updated_at: None,
    }
}

fn balance(id: &str, balance: Decimal, all_time: Decimal, credit: Decimal) -> BalanceRow {
    BalanceRow {
        auth_id: id.into(),
        currency: "INR".into(),
        balance,
        balance_at: 1_775_000_000_000_000,
        net_after_period: Decimal::ZERO,
        rows_after_period: 0,
        closing_balance: balance,
        opening_balance: balance - credit,
        period_credit: credit,
        period_debit: Decimal::ZERO,
        ledger_rows_all_time: 10,
        ledger_net_all_time: all_time,
        low_balance_threshold: Some(Decimal::ZERO),
        credit_limit: None,
        api_window_credit: Some(credit),
        api_window_debit: Some(Decimal::ZERO),
        window_credit: credit,
        window_debit: Decimal::ZERO,
    }
}

fn credit(account: &str, n: usize, amount: Decimal) -> TransactionRow {
    TransactionRow {
        id: format!("{account}-{n}").into(),
        account_id: account.into(),
        balance_id: None,
        kind: LedgerKind::Credit,
        amount,
        signed_amount: amount,
        currency: "INR".into(),
        description: None,
        reference: None,
        reference_type: "payment".into(),
        cdr_uuid: None,
        cdr_period: None,
        subaccount_id: None,
        status: Some("completed".into()),
        refund_of: None,
        refunded: Decimal::ZERO,
        created_at: 1_773_000_000_000_000,
        processed_at: None,
    }
}

/// Sums and differences that binary floats get wrong: ten credits of 0.1 are exactly 1 (in
/// f64 they are 0.9999999999999999), and two balances 0.00001 apart at 10^13 are different
/// (in f64 they are the same number). Reconciliation must see both exactly.
#[test]
fn money_comparisons_are_exact_decimals() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    let (a, b) = ("MA_AAAAAAAA", "MA_BBBBBBBB");
    write(&layout, Table::Accounts, ACCOUNT_COLUMNS, vec![account(a), account(b)]);
    let big = d("9999999999999.99999");
    write(
        &layout,
        Table::Balances,
        BALANCE_COLUMNS,
        vec![
            balance(a, d("1"), d("1"), d("1")),
            balance(b, big, big - d("0.00001"), Decimal::ZERO),
        ],
    );
    write(
        &layout,
        Table::Transactions,
        TRANSACTION_COLUMNS,
        (0..10).map(|n| credit(a, n, d("0.1"))).collect(),
    );
    write(&layout, Table::Cdrs, CDR_COLUMNS, vec![]);
    write(&layout, Table::AnalyticsDaily, ANALYTICS_COLUMNS, vec![]);
    write(&layout, Table::Subaccounts, SUBACCOUNT_COLUMNS, vec![]);
    let mut config = vobiz_billing::config::Config::default();
    config.reconcile.tolerance = Decimal::ZERO;
    config.reconcile.default_low_balance = Decimal::ZERO;
    let settings = RunContext::new(period(), dir.path(), config);
    let out = reconcile::run(&settings).unwrap();
    let errors: Vec<(&str, &str)> = out
        .exceptions
        .iter()
        .filter(|e| e.severity == Severity::Error)
        .map(|e| (e.auth_id.as_str(), e.kind.as_str()))
        .collect();
    assert_eq!(errors, vec![(b, "balance_mismatch")]);
    let diff = out.exceptions.iter().find(|e| e.auth_id == b).unwrap().difference;
    assert_eq!(diff, Some(d("0.00001")));
    // The outputs keep money as Decimal128(20,5) (checked by `decimals`, which insists on it).
    for t in [Table::Reconciliation, Table::Exceptions] {
        for batch in read_parquet(&layout.parquet_file(t, period())) {
            for f in batch.schema().fields() {
                assert!(
                    !matches!(
                        f.data_type(),
                        arrow::datatypes::DataType::Float32 | arrow::datatypes::DataType::Float64
                    ),
                    "{t}.{}",
                    f.name()
                );
            }
        }
    }
    let b_row = out.checks.iter().find(|c| c.auth_id == b).unwrap();
    assert_eq!(b_row.balance, Some(big));
    // A tolerance of one unit in the fifth place accepts it.
    let mut lenient = settings.clone();
    lenient.config.reconcile.tolerance = d("0.00001");
    let out = reconcile::run(&lenient).unwrap();
    assert!(out.exceptions.iter().all(|e| e.severity != Severity::Error));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_html_report_is_stable_grouped_and_escaped() {
    let mut spec = DatasetSpecExt::with_anomalies(17, 20, 60, "all");
    spec.hostile_names = true;
    let sim = vobiz_billing::simulator::start(spec, "none".parse().unwrap(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    pipeline::run(&options(&sim.base_url(), dir.path())).await.unwrap();
    let html = std::fs::read_to_string(dir.path().join("2026-03/reconciliation.html")).unwrap();
    assert!(!html.contains("<script>alert(1)</script>"), "customer text is escaped");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;"));
    assert!(!html.contains("<img src=x"));
    let errors = html.find(">Errors<").expect("errors group");
    let warnings = html.find(">Warnings<").expect("warnings group");
    assert!(errors < warnings, "errors come first");
    insta::assert_snapshot!("reconciliation_html", html);
}
