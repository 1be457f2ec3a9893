//! GST invoices from a simulated month: one per billable account, the right tax treatment per
//! place of supply, stable numbers across re-runs, escaped customer text.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use vobiz_billing::layout::{Layout, Table};
use vobiz_billing::model::Period;
use vobiz_billing::model::money::indian;
use vobiz_billing::pipeline;
use vobiz_billing::simulator::{self, truth};

use crate::pipeline::options;
use crate::support::*;

fn period() -> Period {
    "2026-03".parse().unwrap()
}

struct Row {
    number: String,
    auth_id: String,
    treatment: String,
    taxable: Decimal,
    cgst: Decimal,
    sgst: Decimal,
    igst: Decimal,
    total: Decimal,
}

fn invoices(out: &std::path::Path) -> Vec<Row> {
    let mut rows = Vec::new();
    for b in read_parquet(&Layout::new(out).parquet_file(Table::Invoices, period())) {
        let (n, a, t) = (texts(&b, "number"), texts(&b, "auth_id"), texts(&b, "treatment"));
        let (tx, c, s, i, tot) = (
            decimals(&b, "taxable"),
            decimals(&b, "cgst"),
            decimals(&b, "sgst"),
            decimals(&b, "igst"),
            decimals(&b, "total"),
        );
        for k in 0..b.num_rows() {
            rows.push(Row {
                number: n[k].clone().unwrap(),
                auth_id: a[k].clone().unwrap(),
                treatment: t[k].clone().unwrap(),
                taxable: tx[k].unwrap(),
                cgst: c[k].unwrap(),
                sgst: s[k].unwrap(),
                igst: i[k].unwrap(),
                total: tot[k].unwrap(),
            });
        }
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_invoice_per_billable_account_with_the_right_tax() {
    let mut spec = simulator::DatasetSpec::new(21, 14, 80, period());
    spec.hostile_names = true;
    let sim = simulator::start(spec, "none".parse().unwrap(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let t = truth::compute(&sim.sim);
    let dir = tempfile::tempdir().unwrap();
    pipeline::run(&options(&sim.base_url(), dir.path())).await.unwrap();
    let rows = invoices(dir.path());
    // Billable: calls or non-call debits in the period (the dormant account has neither).
    let billable: Vec<&str> = t
        .accounts
        .iter()
        .filter(|a| a.cdrs.count > 0 || a.ledger.debit_count > 0)
        .map(|a| a.auth_id.as_str())
        .collect();
    let mut invoiced: Vec<&str> = rows.iter().map(|r| r.auth_id.as_str()).collect();
    invoiced.sort();
    let mut expected = billable.clone();
    expected.sort();
    assert_eq!(invoiced, expected);
    let documents = |ext: &str| {
        std::fs::read_dir(dir.path().join("2026-03/invoices"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == ext))
            .count()
    };
    assert_eq!(documents("html"), rows.len(), "one HTML per invoice");
    assert_eq!(documents("pdf"), rows.len(), "one PDF per invoice");
    let by_account: BTreeMap<&str, &Row> = rows.iter().map(|r| (r.auth_id.as_str(), r)).collect();
    // The simulator's first accounts: Karnataka (intra-state), Maharashtra (inter-state),
    // unregistered Tamil Nadu (inter-state B2C), bad GSTIN in Karnataka (intra-state B2C),
    // overseas (export under LUT). The demo supplier is in Karnataka.
    let role = |i: usize| by_account[t.accounts[i].auth_id.as_str()];
    assert_eq!(role(0).treatment, "intra_state");
    assert_eq!(role(1).treatment, "inter_state");
    assert_eq!(role(2).treatment, "inter_state");
    assert_eq!(role(3).treatment, "intra_state");
    assert_eq!(role(4).treatment, "export_under_lut");
    for r in &rows {
        assert_eq!(r.cgst, r.sgst, "{}", r.number);
        assert_eq!(r.total, r.taxable + r.cgst + r.sgst + r.igst, "{}", r.number);
        match r.treatment.as_str() {
            "intra_state" | "intra_union_territory" => assert!(r.igst.is_zero()),
            "inter_state" => assert!(r.cgst.is_zero()),
            _ => assert!((r.cgst + r.sgst + r.igst).is_zero()),
        }
        assert!(
            r.number.len() <= 16
                && r.number
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'-')
        );
    }
    // Line totals add up to the invoice.
    let mut line_sum: BTreeMap<String, Decimal> = BTreeMap::new();
    for b in read_parquet(&Layout::new(dir.path()).parquet_file(Table::InvoiceLines, period())) {
        let (n, tx) = (texts(&b, "number"), decimals(&b, "taxable"));
        for k in 0..b.num_rows() {
            *line_sum.entry(n[k].clone().unwrap()).or_default() += tx[k].unwrap();
        }
    }
    for r in &rows {
        assert_eq!(line_sum[&r.number], r.taxable);
    }
    // The export invoice carries the LUT endorsement; customer text is escaped everywhere.
    let html_of = |r: &Row| {
        std::fs::read_to_string(
            dir.path()
                .join(format!("2026-03/invoices/{}.html", r.number.replace('/', "_"))),
        )
        .unwrap()
    };
    assert!(html_of(role(4)).contains("LETTER OF UNDERTAKING"));
    assert!(html_of(role(0)).contains("CGST 9%") && html_of(role(0)).contains("SGST 9%"));
    let hostile = by_account[t.accounts[simulator::dataset::HOSTILE_INDEX].auth_id.as_str()];
    let page = html_of(hostile);
    assert!(
        page.contains("&lt;b&gt;Co&lt;&#x2F;b&gt;") || page.contains("&lt;script&gt;"),
        "hostile text is shown escaped"
    );
    assert!(!page.contains("<script>") && !page.contains("<b>Co</b>") && !page.contains("<img src=x"));

    // The PDF, read back as text, states the Rule 46 essentials and the same figures.
    let pdf_of = |r: &Row| {
        pdf_text(
            &dir.path()
                .join(format!("2026-03/invoices/{}.pdf", r.number.replace('/', "_"))),
        )
    };
    let supplier_gstin = vobiz_billing::config::SupplierConfig::demo().gstin;
    for (r, heads) in [(role(0), &["CGST 9%", "SGST 9%"][..]), (role(1), &["IGST 18%"][..])] {
        let text = pdf_of(r);
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let recipient_gstin = t
            .accounts
            .iter()
            .find(|a| a.auth_id == r.auth_id)
            .unwrap()
            .gstin
            .clone()
            .unwrap();
        for needle in [
            &r.number,
            &supplier_gstin,
            &recipient_gstin,
            &format!("₹ {}", indian(r.total)),
        ] {
            assert!(
                flat.contains(needle.as_str()),
                "{needle} missing from the PDF of {}:\n{text}",
                r.number
            );
        }
        for (head, amount) in heads.iter().zip([r.cgst + r.igst, r.sgst]) {
            assert!(flat.contains(head), "{head} missing from the PDF of {}", r.number);
            assert!(
                flat.contains(&indian(amount)),
                "{amount} missing from the PDF of {}",
                r.number
            );
        }
    }
    // Typst markup in customer text is printed, not run.
    let text = pdf_of(hostile);
    for verbatim in ["<b>Co</b>", "#emph[x]", "$x$", "#import"] {
        assert!(
            text.contains(verbatim),
            "{verbatim} not shown verbatim in the PDF:\n{text}"
        );
    }

    // A re-run of the month reuses every number.
    let before: Vec<(String, String)> = rows.iter().map(|r| (r.auth_id.clone(), r.number.clone())).collect();
    pipeline::run(&options(&sim.base_url(), dir.path())).await.unwrap();
    let after: Vec<(String, String)> = invoices(dir.path())
        .iter()
        .map(|r| (r.auth_id.clone(), r.number.clone()))
        .collect();
    assert_eq!(before, after);
}

/// The PDF's text as `pdftotext` extracts it (poppler-utils; `make test` installs it).
fn pdf_text(pdf: &std::path::Path) -> String {
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) must be installed: `make test` installs it");
    assert!(out.status.success(), "pdftotext failed on {}", pdf.display());
    String::from_utf8(out.stdout).unwrap()
}
