//! The document lifecycle on a simulated month: drafts, finalize, and corrections by credit
//! and debit notes once the API shows late activity. Issued documents never change; the
//! invoice plus its notes equals the month recomputed from the final data, head by head,
//! computed here independently of the invoice code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rust_decimal::{Decimal, RoundingStrategy};
use vobiz_billing::layout::{Layout, Table};
use vobiz_billing::model::Period;
use vobiz_billing::pipeline;
use vobiz_billing::simulator::dataset::LateChange;
use vobiz_billing::simulator::{self, DatasetSpec, RunningSimulator};

use crate::pipeline::{fast_config, options};
use crate::support::*;

fn period() -> Period {
    "2026-03".parse().unwrap()
}

fn day(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

async fn sim(late: bool) -> RunningSimulator {
    let mut spec = DatasetSpec::new(41, 24, 60, period());
    spec.late = late;
    simulator::start(spec, "none".parse().unwrap(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

async fn run(sim: &RunningSimulator, out: &Path, today: &str) -> pipeline::RunSummary {
    let mut opts = options(&sim.base_url(), out);
    opts.today = Some(day(today));
    pipeline::run(&opts).await.unwrap()
}

fn finalize(out: &Path, today: &str) -> vobiz_billing::invoice::Report {
    let mut ctx = pipeline::offline_context(out.to_path_buf(), period(), fast_config());
    ctx.today = day(today);
    pipeline::finalize(&ctx).unwrap()
}

/// Every issued file (name → bytes).
fn issued_files(out: &Path) -> BTreeMap<String, Vec<u8>> {
    let dir = Layout::new(out).invoices_dir(period());
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read(e.path()).unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Heads {
    taxable: Decimal,
    cgst: Decimal,
    sgst: Decimal,
    igst: Decimal,
}

impl Heads {
    fn add(&mut self, o: &Heads, sign: Decimal) {
        self.taxable += sign * o.taxable;
        self.cgst += sign * o.cgst;
        self.sgst += sign * o.sgst;
        self.igst += sign * o.igst;
    }
}

struct Doc {
    number: String,
    kind: String,
    auth_id: String,
    treatment: String,
    date: i32,
    cites: Option<String>,
    heads: Heads,
}

fn documents(out: &Path) -> Vec<Doc> {
    let mut docs = Vec::new();
    for b in read_parquet(&Layout::new(out).parquet_file(Table::Documents, period())) {
        let (n, k, a, t, c) = (
            texts(&b, "number"),
            texts(&b, "kind"),
            texts(&b, "auth_id"),
            texts(&b, "treatment"),
            texts(&b, "cites_number"),
        );
        let dates = b
            .column_by_name("date")
            .unwrap()
            .as_any()
            .downcast_ref::<arrow::array::Date32Array>()
            .unwrap()
            .clone();
        let (tx, cg, sg, ig) = (
            decimals(&b, "taxable"),
            decimals(&b, "cgst"),
            decimals(&b, "sgst"),
            decimals(&b, "igst"),
        );
        for i in 0..b.num_rows() {
            docs.push(Doc {
                number: n[i].clone().unwrap(),
                kind: k[i].clone().unwrap(),
                auth_id: a[i].clone().unwrap(),
                treatment: t[i].clone().unwrap(),
                date: dates.value(i),
                cites: c[i].clone(),
                heads: Heads {
                    taxable: tx[i].unwrap(),
                    cgst: cg[i].unwrap(),
                    sgst: sg[i].unwrap(),
                    igst: ig[i].unwrap(),
                },
            });
        }
    }
    docs
}

fn paise(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// The month per account, per tax head, from the final tables, written here from the rules
/// (lines: calls per product and direction, streaming, each kind of non-call debit; each line
/// rounded to the paisa, then each head at 9% / 18% rounded half-up), at `treatment`.
fn recomputed(out: &Path, treatment: &BTreeMap<String, String>) -> BTreeMap<String, Heads> {
    let layout = Layout::new(out);
    let mut lines: BTreeMap<(String, String), Decimal> = BTreeMap::new();
    for b in read_parquet(&layout.parquet_file(Table::Cdrs, period())) {
        let (acct, ctx, dir, cur) = (
            texts(&b, "account_id"),
            texts(&b, "context"),
            texts(&b, "call_direction"),
            texts(&b, "currency"),
        );
        // A call is billed net of the refunds naming it.
        let (cost, stream, refunded) = (
            decimals(&b, "cost"),
            decimals(&b, "streaming_cost"),
            decimals(&b, "refunded"),
        );
        for i in 0..b.num_rows() {
            if cur[i].as_deref() != Some("INR") {
                continue;
            }
            let a = acct[i].clone().unwrap();
            let product = vobiz_billing::model::product::product_label(ctx[i].as_deref().unwrap_or(""));
            *lines
                .entry((a.clone(), format!("{product}/{}", dir[i].clone().unwrap())))
                .or_default() += cost[i].unwrap() - refunded[i].unwrap();
            *lines.entry((a, "streaming".into())).or_default() += stream[i].unwrap();
        }
    }
    for b in read_parquet(&layout.parquet_file(Table::Transactions, period())) {
        let (acct, kind, rt, cur) = (
            texts(&b, "account_id"),
            texts(&b, "type"),
            texts(&b, "reference_type"),
            texts(&b, "currency"),
        );
        let (amount, refunded, status) = (decimals(&b, "amount"), decimals(&b, "refunded"), texts(&b, "status"));
        for i in 0..b.num_rows() {
            let rt = rt[i].clone().unwrap_or_default();
            if kind[i].as_deref() != Some("debit")
                || ["cdr", "stream_cdr", "ncc"].contains(&rt.as_str())
                || cur[i].as_deref() != Some("INR")
                || status[i].as_deref() != Some("completed")
            {
                continue;
            }
            *lines
                .entry((acct[i].clone().unwrap(), format!("charge/{rt}")))
                .or_default() += amount[i].unwrap() - refunded[i].unwrap();
        }
    }
    let mut due: BTreeMap<String, Heads> = BTreeMap::new();
    for ((account, _), amount) in lines {
        let Some(t) = treatment.get(&account) else { continue };
        let taxable = paise(amount);
        let h = match t.as_str() {
            "intra_state" | "intra_union_territory" => {
                let half = paise(taxable * Decimal::new(9, 2));
                Heads {
                    taxable,
                    cgst: half,
                    sgst: half,
                    igst: Decimal::ZERO,
                }
            }
            "inter_state" => Heads {
                taxable,
                igst: paise(taxable * Decimal::new(18, 2)),
                ..Default::default()
            },
            _ => Heads {
                taxable,
                ..Default::default()
            },
        };
        due.entry(account).or_default().add(&h, Decimal::ONE);
    }
    due
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finalized_invoices_never_change_and_notes_correct_them_to_the_paisa() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let layout = Layout::new(out);
    let month_end = sim(false).await;

    // Day 1 after month end, within the grace days: drafts only, nothing numbered.
    let s = run(&month_end, out, "2026-04-01").await;
    assert_eq!(s.invoice_stage, "drafts");
    assert!(issued_files(out).is_empty());
    let drafts: Vec<_> = std::fs::read_dir(layout.drafts_dir(period()))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(drafts.len(), 2 * s.invoices, "an HTML and a PDF per draft");
    let html = drafts
        .iter()
        .find(|e| e.path().extension().is_some_and(|x| x == "html"))
        .unwrap();
    assert!(
        std::fs::read_to_string(html.path())
            .unwrap()
            .contains("DRAFT — not a tax invoice")
    );
    assert!(!layout.invoice_register().exists() || documents(out).is_empty());

    // Finalize on day 2: numbered, dated the period's last day; drafts gone.
    let f = finalize(out, "2026-04-02");
    assert_eq!(f.issued.len(), s.invoices);
    assert!(!layout.drafts_dir(period()).exists());
    let issued = issued_files(out);
    assert_eq!(issued.len(), 2 * s.invoices);
    let invoices = documents(out);
    let march_31 = vobiz_billing::model::time::date32(day("2026-03-31"));
    assert!(invoices.iter().all(|d| d.kind == "invoice" && d.date == march_31));

    // The same data again: nothing new, nothing rewritten.
    let again = run(&month_end, out, "2026-04-05").await;
    assert_eq!(again.invoice_stage, "final, unchanged");
    assert_eq!(issued_files(out), issued);
    month_end.shutdown().await.unwrap();

    // A week later the API shows late activity.
    let late = sim(true).await;
    let changed: BTreeMap<LateChange, String> = late
        .sim
        .ds
        .accounts
        .iter()
        .filter_map(|a| a.late.map(|c| (c, a.auth_id.clone())))
        .collect();
    assert_eq!(changed.len(), 4, "{changed:?}");
    let corrected = run(&late, out, "2026-04-09").await;
    assert_eq!(corrected.invoice_stage, "final, documents issued");
    assert_eq!(corrected.notes, 4);

    // Every issued file is byte-identical; only notes were added.
    let now = issued_files(out);
    for (name, bytes) in &issued {
        assert!(now.get(name) == Some(bytes), "{name} changed after it was issued");
    }
    let docs = documents(out);
    let notes: Vec<&Doc> = docs.iter().filter(|d| d.kind != "invoice").collect();
    let invoice_of: BTreeMap<&str, &Doc> = docs
        .iter()
        .filter(|d| d.kind == "invoice")
        .map(|d| (d.auth_id.as_str(), d))
        .collect();
    let kinds_of = |account: &str| -> BTreeSet<&str> {
        notes
            .iter()
            .filter(|n| n.auth_id == account)
            .map(|n| n.kind.as_str())
            .collect()
    };
    assert_eq!(kinds_of(&changed[&LateChange::Calls]), BTreeSet::from(["debit_note"]));
    assert_eq!(kinds_of(&changed[&LateChange::Rerate]), BTreeSet::from(["debit_note"]));
    assert_eq!(kinds_of(&changed[&LateChange::Refund]), BTreeSet::from(["credit_note"]));
    assert_eq!(
        kinds_of(&changed[&LateChange::Reversed]),
        BTreeSet::from(["credit_note"])
    );
    assert_eq!(notes.len(), 4, "exactly one note per changed account");
    // A reversed account's invoice is credited in full; it stays issued.
    let reversed = changed[&LateChange::Reversed].as_str();
    let full = notes.iter().find(|n| n.auth_id == reversed).unwrap();
    assert_eq!(full.heads, invoice_of[reversed].heads);
    // Each note cites its invoice, is dated the day of issue, in its own series.
    let april_9 = vobiz_billing::model::time::date32(day("2026-04-09"));
    for n in &notes {
        assert_eq!(n.cites.as_deref(), Some(invoice_of[n.auth_id.as_str()].number.as_str()));
        assert_eq!(n.date, april_9);
        let prefix = if n.kind == "credit_note" {
            "CN/26-27/"
        } else {
            "DN/26-27/"
        };
        assert!(n.number.starts_with(prefix) && n.number.len() <= 16, "{}", n.number);
    }

    // The reconciliation and the report show every note.
    let reconciliation = std::fs::read_to_string(layout.reconciliation_html(period())).unwrap();
    let report = std::fs::read_to_string(layout.report_html(period())).unwrap();
    for n in &notes {
        // Tera's HTML escaping writes '/' as an entity.
        let shown = n.number.replace('/', "&#x2F;");
        assert!(
            reconciliation.contains(&shown),
            "{} not in reconciliation.html",
            n.number
        );
        assert!(report.contains(&shown), "{} not in report.html", n.number);
    }

    // For every account: invoice + debit notes - credit notes = the recomputed month.
    let treatment: BTreeMap<String, String> = invoice_of
        .iter()
        .map(|(a, d)| (a.to_string(), d.treatment.clone()))
        .collect();
    let due = recomputed(out, &treatment);
    let mut billed: BTreeMap<String, Heads> = BTreeMap::new();
    for d in &docs {
        let sign = if d.kind == "credit_note" {
            Decimal::NEGATIVE_ONE
        } else {
            Decimal::ONE
        };
        billed.entry(d.auth_id.clone()).or_default().add(&d.heads, sign);
    }
    for (account, heads) in &billed {
        let expected = due.get(account).cloned().unwrap_or_default();
        assert_eq!(heads, &expected, "{account}");
    }
    assert_eq!(billed[reversed], Heads::default());

    // Re-running the corrected month issues nothing more.
    let files = issued_files(out);
    let rerun = run(&late, out, "2026-04-10").await;
    assert_eq!(rerun.invoice_stage, "final, unchanged");
    assert_eq!(issued_files(out), files);
    let summary = read_parquet(&layout.parquet_file(Table::DocumentSummary, period()));
    assert_eq!(
        summary.iter().map(|b| b.num_rows()).sum::<usize>(),
        1,
        "March dates only invoices"
    );
    gstr1_files_each_document_in_the_month_it_is_dated(out, &docs);
}

/// March's GSTR-1 files the invoices dated 31 March; April's the four notes dated 9 April (a
/// return is of the documents dated in its month, whatever supply they correct): registered
/// customers' notes in `cdnr`, the others netted into `b2cs`, per place of supply, signed.
fn gstr1_files_each_document_in_the_month_it_is_dated(out: &Path, docs: &[Doc]) {
    let money = |v: &serde_json::Value| Decimal::from_str_exact(&v.to_string()).unwrap();
    let april: Period = "2026-04".parse().unwrap();
    let ctx = pipeline::offline_context(out.to_path_buf(), april, fast_config());
    vobiz_billing::export::run_gstr1(&ctx).unwrap();
    let layout = Layout::new(out);
    let read = |p: Period| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(layout.gstr1_json(p)).unwrap()).unwrap()
    };
    let (march, april_return) = (read(period()), read(april));
    assert_eq!(
        (march["fp"].as_str(), april_return["fp"].as_str()),
        (Some("032026"), Some("042026"))
    );

    // Every filed amount of a month, signed (credit notes down), against the documents.
    let filed = |g: &serde_json::Value| -> Decimal {
        let mut t = Decimal::ZERO;
        for party in g["b2b"].as_array().unwrap() {
            for inv in party["inv"].as_array().unwrap() {
                t += money(&inv["itms"][0]["itm_det"]["txval"]);
            }
        }
        for party in g["b2cl"].as_array().unwrap() {
            for inv in party["inv"].as_array().unwrap() {
                t += money(&inv["itms"][0]["itm_det"]["txval"]);
            }
        }
        for row in g["b2cs"].as_array().unwrap() {
            t += money(&row["txval"]);
        }
        for e in g["exp"].as_array().unwrap() {
            for inv in e["inv"].as_array().unwrap() {
                t += money(&inv["itms"][0]["txval"]);
            }
        }
        for party in g["cdnr"].as_array().unwrap() {
            for nt in party["nt"].as_array().unwrap() {
                let sign = if nt["ntty"] == "C" {
                    Decimal::NEGATIVE_ONE
                } else {
                    Decimal::ONE
                };
                t += sign * money(&nt["itms"][0]["itm_det"]["txval"]);
            }
        }
        for nt in g["cdnur"].as_array().unwrap() {
            let sign = if nt["ntty"] == "C" {
                Decimal::NEGATIVE_ONE
            } else {
                Decimal::ONE
            };
            t += sign * money(&nt["itms"][0]["itm_det"]["txval"]);
        }
        t
    };
    let of = |dated_in: &str| -> Decimal {
        docs.iter()
            .filter(|d| {
                vobiz_billing::model::time::from_date32(d.date)
                    .format("%Y-%m")
                    .to_string()
                    == dated_in
            })
            .map(|d| {
                if d.kind == "credit_note" {
                    -d.heads.taxable
                } else {
                    d.heads.taxable
                }
            })
            .sum()
    };
    assert_eq!(filed(&march), of("2026-03"));
    assert_eq!(filed(&april_return), of("2026-04"));
    assert!(march["cdnr"].as_array().unwrap().is_empty() && !march["b2cs"].as_array().unwrap().is_empty());

    // Table 13 of April: one credit-note series and one debit-note series, two each.
    let det = april_return["doc_issue"]["doc_det"].as_array().unwrap();
    let counts: BTreeMap<u64, u64> = det
        .iter()
        .map(|d| (d["doc_num"].as_u64().unwrap(), d["docs"][0]["totnum"].as_u64().unwrap()))
        .collect();
    let notes = |kind: &str| docs.iter().filter(|d| d.kind == kind).count() as u64;
    assert_eq!(
        counts,
        BTreeMap::from([(4, notes("debit_note")), (5, notes("credit_note"))])
    );
}

/// An issued document changed on disk is refused, never overwritten; a deleted one comes back
/// byte for byte from the register.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issued_document_is_never_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let s = sim(false).await;
    run(&s, out, "2026-04-05").await;
    let issued = issued_files(out);
    let (pdf, bytes) = issued.iter().find(|(n, _)| n.ends_with(".pdf")).unwrap();
    let path = Layout::new(out).invoices_dir(period()).join(pdf);
    std::fs::remove_file(&path).unwrap();
    run(&s, out, "2026-04-06").await;
    assert_eq!(&std::fs::read(&path).unwrap(), bytes, "restored as issued");
    std::fs::write(&path, b"%PDF-1.7 tampered").unwrap();
    let mut opts = options(&s.base_url(), out);
    opts.today = Some(day("2026-04-07"));
    let err = pipeline::run(&opts).await.unwrap_err();
    assert!(format!("{err:#}").contains("never rewritten"), "{err:#}");
    assert_eq!(std::fs::read(&path).unwrap(), b"%PDF-1.7 tampered");
}

/// An unfinished month is never finalized, not even when asked.
#[test]
fn finalize_refuses_an_unfinished_month() {
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = pipeline::offline_context(dir.path().to_path_buf(), period(), fast_config());
    ctx.today = day("2026-03-31");
    ctx.finalize = true;
    let err = pipeline::invoice(&ctx).unwrap_err().to_string();
    assert!(err.contains("is not over"), "{err}");
    assert!(!Layout::new(dir.path()).invoice_register().exists());
}
