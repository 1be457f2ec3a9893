//! The partner report's figures, read back from report.html, against sums computed here
//! straight from the period's Parquet.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use vobiz_billing::layout::{Layout, Table};
use vobiz_billing::model::Period;
use vobiz_billing::model::money::indian;
use vobiz_billing::pipeline;
use vobiz_billing::simulator;

use crate::pipeline::options;
use crate::support::*;

/// `data-kpi="key">value<` pairs of the page.
fn kpis(html: &str) -> BTreeMap<String, String> {
    html.split("data-kpi=\"")
        .skip(1)
        .map(|rest| {
            let (key, rest) = rest.split_once('"').unwrap();
            let value = rest.trim_start_matches('>').split('<').next().unwrap();
            (key.to_string(), value.to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_figures_match_the_parquet() {
    let period: Period = "2026-03".parse().unwrap();
    let mut spec = simulator::DatasetSpec::new(33, 16, 120, period);
    spec.hostile_names = true;
    let sim = simulator::start(spec, "none".parse().unwrap(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    pipeline::run(&options(&sim.base_url(), dir.path())).await.unwrap();
    let layout = Layout::new(dir.path());
    let html = std::fs::read_to_string(dir.path().join("2026-03/report.html")).unwrap();
    let k = kpis(&html);

    let accounts: usize = read_parquet(&layout.parquet_file(Table::Accounts, period))
        .iter()
        .map(|b| b.num_rows())
        .sum();
    let (mut calls, mut answered, mut billsec, mut cost) = (0u64, 0u64, 0i64, Decimal::ZERO);
    for b in read_parquet(&layout.parquet_file(Table::Cdrs, period)) {
        let cur = texts(&b, "currency");
        let c = decimals(&b, "total_cost");
        let secs = b.column_by_name("billsec").unwrap();
        let secs = secs.as_any().downcast_ref::<arrow::array::Int32Array>().unwrap();
        let answer = b.column_by_name("answer_time").unwrap();
        for i in 0..b.num_rows() {
            if cur[i].as_deref() == Some("INR") {
                calls += 1;
                answered += arrow::array::Array::is_valid(answer, i) as u64;
                billsec += secs.value(i) as i64;
                cost += c[i].unwrap();
            }
        }
    }
    let closing: Decimal = read_parquet(&layout.parquet_file(Table::Balances, period))
        .iter()
        .flat_map(|b| decimals(b, "closing_balance"))
        .flatten()
        .sum();
    let (mut taxable, mut total, mut invoices) = (Decimal::ZERO, Decimal::ZERO, 0);
    for b in read_parquet(&layout.parquet_file(Table::Invoices, period)) {
        taxable += decimals(&b, "taxable").into_iter().flatten().sum::<Decimal>();
        total += decimals(&b, "total").into_iter().flatten().sum::<Decimal>();
        invoices += b.num_rows();
    }
    assert!(calls > 0 && invoices > 0);
    let minutes = (Decimal::from(billsec) / Decimal::from(60)).round_dp(2);
    assert_eq!(k["customers"], accounts.to_string());
    assert_eq!(k["calls"], calls.to_string());
    assert_eq!(k["answered"], answered.to_string());
    assert_eq!(k["minutes"], minutes.to_string());
    assert_eq!(k["cost"], indian(cost));
    assert_eq!(k["balances"], indian(closing));
    assert_eq!(k["revenue"], indian(taxable));
    assert_eq!(k["revenue_incl_tax"], indian(total));
    // Every invoice is linked (HTML and PDF), every chart is inline SVG, customer text is inert.
    assert_eq!(html.matches("\">PDF</a>").count(), invoices);
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 2);
    assert!(!html.contains("<script") && html.contains("&lt;b&gt;Co&lt;&#x2F;b&gt;"));
}
