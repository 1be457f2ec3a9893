//! Hostile upstream data. A proxy in front of the simulator rewrites chosen responses, so the
//! pipeline meets account ids that are paths, malformed, deeply nested and oversized pages,
//! and money with more decimals than can be stored, each in an otherwise valid month.

use std::path::Path;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use vobiz_billing::layout::{Layout, Table};
use vobiz_billing::pipeline;
use vobiz_billing::simulator::RunningSimulator;

use crate::pipeline::options;
use crate::support::{decimals, files, read_parquet, start_sim, texts};

/// Given the request's path and query and the simulator's (successful) body, a replacement
/// response, or `None` to pass the body through.
type Rewrite = dyn Fn(&str, &[u8]) -> Option<Response> + Send + Sync;

struct Proxy {
    upstream: String,
    http: reqwest::Client,
    rewrite: Box<Rewrite>,
}

async fn forward(State(p): State<Arc<Proxy>>, req: Request) -> Response {
    let target = req.uri().path_and_query().map_or("/", |x| x.as_str()).to_string();
    let mut up = p.http.get(format!("{}{target}", p.upstream));
    for h in ["x-auth-id", "x-auth-token"] {
        if let Some(v) = req.headers().get(h) {
            up = up.header(h, v.as_bytes());
        }
    }
    let resp = up.send().await.unwrap();
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
    let body = resp.bytes().await.unwrap();
    if status.is_success()
        && let Some(r) = (p.rewrite)(&target, &body)
    {
        return r;
    }
    (status, body).into_response()
}

/// A proxy to `sim` on a free port; returns its base URL.
async fn proxy(sim: &RunningSimulator, rewrite: Box<Rewrite>) -> String {
    let state = Arc::new(Proxy {
        upstream: sim.base_url(),
        http: crate::support::http(),
        rewrite,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().fallback(forward).with_state(state);
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn json_response(v: &Value) -> Option<Response> {
    Some((StatusCode::OK, [("content-type", "application/json")], v.to_string()).into_response())
}

fn edit(body: &[u8], f: impl FnOnce(&mut Value)) -> Option<Response> {
    let mut v: Value = serde_json::from_slice(body).unwrap();
    f(&mut v);
    json_response(&v)
}

fn relative_names(dir: &Path) -> Vec<String> {
    files(dir)
        .iter()
        .map(|f| f.strip_prefix(dir).unwrap().to_string_lossy().into_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_ids_that_are_paths_are_rejected_before_any_path_is_built() {
    let sim = start_sim(21, 5, 20, "none").await;
    let url = proxy(
        &sim,
        Box::new(|target, body| {
            target.starts_with("/api/v1/partner/accounts?").then(|| {
                edit(body, |v| {
                    v["accounts"][0]["auth_id"] = "../../etc".into();
                    v["accounts"][1]["auth_id"] = "/abs".into();
                })
            })?
        }),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a/b/out");
    let err = pipeline::run(&options(&url, &out)).await.unwrap_err();
    let why = format!("{err:#}");
    assert!(
        why.contains("2 account(s) could not be extracted")
            && why.contains(r#"invalid account id "../../etc""#)
            && why.contains(r#"invalid account id "/abs""#),
        "{why}"
    );
    // The three valid accounts were fetched; no file anywhere is named after the hostile ids.
    let names = relative_names(dir.path());
    assert!(
        names.iter().filter(|n| n.contains("/cdrs/MA_")).count() == 3,
        "{names:?}"
    );
    for n in &names {
        assert!(
            n.starts_with("a/b/out/") && !n.contains("etc") && !n.contains("abs"),
            "{n}"
        );
    }
    assert!(!Path::new("/abs.jsonl.zst").exists());
    assert!(
        !names.iter().any(|n| n.contains("parquet/")),
        "no tables for an incomplete month"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_nested_and_oversized_pages_are_clear_errors_naming_the_account() {
    let sim = start_sim(22, 5, 20, "none").await;
    let ids: Vec<String> = sim.sim.ds.accounts.iter().map(|a| a.auth_id.clone()).collect();
    let (truncated, wrong_shape, nested, oversized) = (ids[0].clone(), ids[1].clone(), ids[2].clone(), ids[3].clone());
    let targets = (
        truncated.clone(),
        wrong_shape.clone(),
        nested.clone(),
        oversized.clone(),
    );
    let url = proxy(
        &sim,
        Box::new(move |target, _| {
            let (truncated, wrong_shape, nested, oversized) = &targets;
            let account =
                |id: &str, endpoint: &str| target.starts_with(&format!("/api/v1/partner/accounts/{id}/{endpoint}"));
            if account(truncated, "cdrs") {
                Some((StatusCode::OK, r#"{"count": 1, "data": [{"uuid": "#).into_response())
            } else if account(wrong_shape, "transactions?from_date") {
                json_response(&serde_json::json!({"transactions": "none today", "total": 3}))
            } else if account(nested, "balance") {
                // Valid JSON nested 200,000 deep, in a member the decoder skips.
                let deep = format!(r#"{{"ignored": {}{}}}"#, "[".repeat(200_000), "]".repeat(200_000));
                Some((StatusCode::OK, deep).into_response())
            } else if account(oversized, "cdrs") {
                // 65 MiB of whitespace, streamed without a Content-Length.
                let chunks = (0..65).map(|_| Ok::<_, std::convert::Infallible>(Bytes::from(vec![b' '; 1 << 20])));
                Some(Body::from_stream(futures_util::stream::iter(chunks)).into_response())
            } else {
                None
            }
        }),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(&url, dir.path());
    opts.config.api.max_retries = 2;
    let err = pipeline::run(&opts).await.unwrap_err();
    let why = format!("{err:#}");
    assert!(why.starts_with("4 account(s) could not be extracted"), "{why}");
    for (id, reason) in [
        (&truncated, "malformed or truncated JSON (EOF while parsing"),
        (&wrong_shape, "invalid type: string \"none today\""),
        (&nested, "unexpected response: missing field"),
        (&oversized, "response larger than 64 MiB"),
    ] {
        let part = why
            .trim_start_matches("4 account(s) could not be extracted: ")
            .split("); ")
            .find(|p| p.starts_with(id.as_str()))
            .unwrap_or_else(|| panic!("{id} not named: {why}"));
        assert!(part.contains(reason), "{id}: expected {reason:?} in {part:?}");
    }
    assert!(
        !relative_names(dir.path()).iter().any(|n| n.starts_with("parquet/")),
        "no tables for an incomplete month"
    );
}

/// Extract hands accounts over through a few slots while normalize takes them in order. An
/// account that fails, or one whose account row normalize rejects, must not leave the others
/// waiting for a slot forever: the run ends (failing, or complete) instead of hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_normalize_cannot_take_never_stall_the_hand_off() {
    let sim = start_sim(23, 9, 10, "none").await;
    let mut ids: Vec<String> = sim.sim.ds.accounts.iter().map(|a| a.auth_id.clone()).collect();
    ids.sort();
    // The first account in order fails; the next two have account rows normalize rejects.
    let (failing, unreadable) = (ids[0].clone(), [ids[1].clone(), ids[2].clone()]);
    let rewrite = |failing: String, unreadable: [String; 2]| -> Box<Rewrite> {
        Box::new(move |target, body| {
            if target.starts_with(&format!("/api/v1/partner/accounts/{failing}/transactions")) {
                json_response(&serde_json::json!({"transactions": "none today", "total": 3}))
            } else if target.starts_with("/api/v1/partner/accounts?") {
                edit(body, |v| {
                    for a in v["accounts"].as_array_mut().unwrap() {
                        if unreadable.iter().any(|u| a["auth_id"] == u.as_str()) {
                            a.as_object_mut().unwrap().remove("created_at");
                        }
                    }
                })
            } else {
                None
            }
        })
    };
    let run = |url: String, dir: std::path::PathBuf| async move {
        let mut opts = options(&url, &dir);
        // One account at a time: two hand-off slots, fewer than the accounts after the first.
        opts.config.api.concurrency = 1;
        opts.config.api.max_retries = 1;
        tokio::time::timeout(std::time::Duration::from_secs(60), pipeline::run(&opts))
            .await
            .expect("the run stalled")
    };

    let dir = tempfile::tempdir().unwrap();
    let url = proxy(&sim, rewrite(failing.clone(), unreadable.clone())).await;
    let err = run(url, dir.path().to_path_buf()).await.unwrap_err();
    assert!(format!("{err:#}").contains(failing.as_str()), "{err:#}");

    // Without the failure, the run completes; the unreadable account rows are rejects.
    let dir = tempfile::tempdir().unwrap();
    let url = proxy(&sim, rewrite("none".into(), unreadable.clone())).await;
    run(url, dir.path().to_path_buf()).await.unwrap();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("2026-03/manifest.json")).unwrap()).unwrap();
    let mut rejected: Vec<&str> = manifest["normalize"]["rejects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["table"] == "accounts")
        .filter_map(|r| r["key"].as_str())
        .collect();
    rejected.sort();
    assert_eq!(rejected, unreadable.iter().map(String::as_str).collect::<Vec<_>>());
}

/// An account too large to hand over whole is streamed to normalize while it is fetched. If
/// it fails part way, the run fails naming it (normalize, which was sorting its rows as they
/// came, stops with it) instead of hanging or writing the part that came.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_account_that_fails_part_way_fails_the_run_naming_it() {
    let calls = vobiz_billing::extract::HANDOFF_MAX_ROWS as u32 + 2_000;
    let sim = start_sim(24, 1, calls, "none").await;
    let id = sim.sim.ds.accounts[0].auth_id.clone();
    let cdrs = format!("/api/v1/partner/accounts/{id}/cdrs");
    // Page 300 of the calls: long after the ledger (as many rows again) started the stream.
    let url = proxy(
        &sim,
        Box::new(move |target, _| {
            (target.starts_with(&cdrs) && target.contains("&page=300&"))
                .then(|| (StatusCode::OK, r#"{"count": 1, "data": [{"uuid": "#).into_response())
        }),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(&url, dir.path());
    opts.config.api.max_retries = 1;
    let err = tokio::time::timeout(std::time::Duration::from_secs(300), pipeline::run(&opts))
        .await
        .expect("the run stalled")
        .unwrap_err();
    let why = format!("{err:#}");
    assert!(
        why.starts_with("1 account(s) could not be extracted") && why.contains(&format!("{id} (")),
        "{why}"
    );
    assert!(why.contains("malformed or truncated JSON"), "{why}");
    assert!(
        !relative_names(dir.path()).iter().any(|n| n.starts_with("parquet/")),
        "no tables for an incomplete month"
    );
}

/// The first row of a page that is surely inside the period (not in the margin days extract
/// also fetches), so that its loss shows in the period's tables.
fn mid_month(rows: &Value, time_field: &str) -> Option<usize> {
    rows.as_array()?
        .iter()
        .position(|r| r[time_field].as_str().is_some_and(|t| t.starts_with("2026-03-1")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn money_with_more_than_five_decimals_is_rejected_per_row_with_a_reason() {
    let sim = start_sim(23, 4, 30, "none").await;
    let truth = vobiz_billing::simulator::truth::compute(&sim.sim);
    let ids: Vec<String> = sim.sim.ds.accounts.iter().map(|a| a.auth_id.clone()).collect();
    let (cdr_account, ledger_account) = (ids[0].clone(), ids[1].clone());
    let bad_call = std::sync::Mutex::new(None::<String>);
    let bad_call = Arc::new(bad_call);
    let seen = bad_call.clone();
    let url = proxy(
        &sim,
        Box::new(move |target, body| {
            let first_page = target.contains("page=1&");
            if target.starts_with(&format!("/api/v1/partner/accounts/{cdr_account}/cdrs?")) && first_page {
                edit(body, |v| {
                    if let Some(i) = mid_month(&v["data"], "start_time") {
                        v["data"][i]["total_cost"] = "0.123456".into();
                        *seen.lock().unwrap() = v["data"][i]["uuid"].as_str().map(String::from);
                    }
                })
            } else if target.starts_with(&format!(
                "/api/v1/partner/accounts/{ledger_account}/transactions?from_date"
            )) && first_page
            {
                edit(body, |v| {
                    if let Some(i) = mid_month(&v["transactions"], "created_at") {
                        v["transactions"][i]["amount"] = Value::from(12.3456789);
                    }
                })
            } else {
                None
            }
        }),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    // The month completes: one bad row is not a reason to lose the others.
    pipeline::run(&options(&url, dir.path())).await.unwrap();
    // The rows parsed while fetching, and the raw pages re-read offline, reject the same rows.
    crate::pipeline::assert_offline_normalize_agrees(dir.path(), 3).await;
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("2026-03/manifest.json")).unwrap()).unwrap();
    let rejects = manifest["normalize"]["rejects"].as_array().unwrap();
    assert_eq!(rejects.len(), 2, "{rejects:#?}");
    let reject = |table: &str| {
        rejects
            .iter()
            .find(|r| r["table"] == table)
            .unwrap_or_else(|| panic!("no {table} reject: {rejects:#?}"))
    };
    let bad_call = bad_call.lock().unwrap().clone().unwrap();
    let (call, payment) = (reject("cdrs"), reject("transactions"));
    assert_eq!(
        (call["account"].as_str(), call["key"].as_str()),
        (Some(ids[0].as_str()), Some(bad_call.as_str()))
    );
    assert!(
        call["reason"]
            .as_str()
            .unwrap()
            .contains("0.123456 has more than 5 decimal places"),
        "{call}"
    );
    assert_eq!(payment["account"], ids[1].as_str());
    assert!(payment["key"].is_string(), "{payment}");
    assert!(
        payment["reason"]
            .as_str()
            .unwrap()
            .contains("12.3456789 has more than 5 decimal places"),
        "{payment}"
    );

    // Reconciliation names both rows as errors of their accounts.
    let period = "2026-03".parse().unwrap();
    let flagged: Vec<(Option<String>, Option<String>)> =
        read_parquet(&Layout::new(dir.path()).parquet_file(Table::Exceptions, period))
            .iter()
            .flat_map(|b| texts(b, "kind").into_iter().zip(texts(b, "auth_id")))
            .filter(|(kind, _)| kind.as_deref() == Some("rejected_row"))
            .collect();
    assert_eq!(flagged.len(), 2, "{flagged:?}");
    assert!(flagged.iter().any(|(_, a)| a.as_deref() == Some(ids[0].as_str())));
    assert!(flagged.iter().any(|(_, a)| a.as_deref() == Some(ids[1].as_str())));

    // Every other row is there, exactly.
    let count = |table: Table, account: &str| -> u64 {
        read_parquet(&Layout::new(dir.path()).parquet_file(table, period))
            .iter()
            .map(|b| {
                texts(b, "account_id")
                    .iter()
                    .filter(|a| a.as_deref() == Some(account))
                    .count() as u64
            })
            .sum()
    };
    for t in &truth.accounts {
        let (mut calls, mut ledger) = (t.cdrs.count, t.ledger.count);
        calls -= u64::from(t.auth_id == ids[0]);
        ledger -= u64::from(t.auth_id == ids[1]);
        assert_eq!(count(Table::Cdrs, &t.auth_id), calls, "calls of {}", t.auth_id);
        assert_eq!(
            count(Table::Transactions, &t.auth_id),
            ledger,
            "ledger of {}",
            t.auth_id
        );
    }
    let costs: Vec<_> = read_parquet(&Layout::new(dir.path()).parquet_file(Table::Cdrs, period))
        .iter()
        .flat_map(|b| decimals(b, "total_cost"))
        .collect();
    assert!(costs.iter().all(|c| c.unwrap().scale() <= 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_customer_text_is_inert_in_every_output() {
    use vobiz_billing::simulator::{self, dataset::HOSTILE_INDEX};
    let mut spec = simulator::DatasetSpec::new(24, 10, 30, "2026-03".parse().unwrap());
    spec.hostile_names = true;
    let sim = simulator::start(spec, "none".parse().unwrap(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let hostile = sim.sim.ds.accounts[HOSTILE_INDEX].clone();
    assert!(hostile.company.contains("=HYPERLINK(") && hostile.name.contains("<script>"));
    let dir = tempfile::tempdir().unwrap();
    pipeline::run(&options(&sim.base_url(), dir.path())).await.unwrap();

    // HTML: shown escaped, never markup, never a link.
    let mut pages_showing_it = 0;
    for f in files(dir.path())
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "html"))
    {
        let page = std::fs::read_to_string(f).unwrap();
        for raw in [
            "<script>alert(1)",
            "<b>Co</b>",
            "href=\"http://evil.example",
            "href=\"http://x",
        ] {
            assert!(!page.contains(raw), "{raw} is live markup in {}", f.display());
        }
        // Its company or its name (each carries a formula), escaped.
        pages_showing_it += usize::from(page.contains("=HYPERLINK(&quot;http:&#x2F;&#x2F;"));
    }
    // The invoice, the partner report and the reconciliation report all name the customer.
    assert!(
        pages_showing_it >= 3,
        "{pages_showing_it} pages show the hostile company escaped"
    );

    // PDF: the text is printed as written; typst markup is not run and nothing becomes a link.
    let pdfs: Vec<_> = files(dir.path())
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "pdf"))
        .collect();
    let mut printed = 0;
    for f in &pdfs {
        let bytes = std::fs::read(f).unwrap();
        assert!(!bytes.windows(4).any(|w| w == b"/URI"), "a link in {}", f.display());
        let text = crate::support::readable_text(f);
        if text.contains("=HYPERLINK(") {
            for verbatim in ["#emph[x]", "$x$", "<b>Co</b>"] {
                assert!(
                    text.contains(verbatim),
                    "{verbatim} not printed verbatim in {}",
                    f.display()
                );
            }
            printed += 1;
        }
    }
    assert_eq!(
        printed, 1,
        "the hostile customer's invoice prints its company as written"
    );

    // Parquet keeps the data exactly as the API sent it: escaping is the renderer's job.
    let period = "2026-03".parse().unwrap();
    let accounts = read_parquet(&Layout::new(dir.path()).parquet_file(Table::Accounts, period));
    let (ids, names, companies) = (
        texts(&accounts[0], "auth_id"),
        texts(&accounts[0], "name"),
        texts(&accounts[0], "company"),
    );
    let i = ids
        .iter()
        .position(|id| id.as_deref() == Some(hostile.auth_id.as_str()))
        .unwrap();
    assert_eq!(names[i].as_deref(), Some(hostile.name.as_str()));
    assert_eq!(companies[i].as_deref(), Some(hostile.company.as_str()));

    // CSV: every cell holding the formula starts with the apostrophe that keeps a spreadsheet
    // from running it (quoted, since it holds quotes and commas).
    let csvs: Vec<_> = files(dir.path())
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "csv"))
        .collect();
    // A subaccount's name is customer text too: inert in the table's CSV copy.
    let subaccounts = std::fs::read_to_string(dir.path().join("2026-03/csv/subaccounts.csv")).unwrap();
    assert!(
        subaccounts.contains("'=1+2 <script>") && !subaccounts.contains(",=1+2"),
        "{subaccounts}"
    );
    let mut cells = 0;
    for f in &csvs {
        let text = std::fs::read_to_string(f).unwrap();
        for live in [",=HYPERLINK(", ",\"=HYPERLINK(", "\n=HYPERLINK(", "\n\"=HYPERLINK("] {
            assert!(!text.contains(live), "a cell starting a formula in {}", f.display());
        }
        cells += text.matches("\"'=HYPERLINK(").count();
    }
    assert!(
        cells >= 2,
        "the hostile company in accounts.csv and more, neutralised: {cells}"
    );
}

/// A call listed under one customer but naming another account is not that customer's to
/// bill: rejected with a reason, an error of the customer it was listed under. One naming a
/// subaccount id that is a path (`SA_../x`) is rejected the same way, never a file name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_naming_another_account_or_a_path_as_subaccount_are_rejected() {
    let sim = start_sim(25, 4, 30, "none").await;
    let ids: Vec<String> = sim.sim.ds.accounts.iter().map(|a| a.auth_id.clone()).collect();
    let (listed_under, other) = (ids[0].clone(), ids[1].clone());
    let url = proxy(
        &sim,
        Box::new(move |target, body| {
            (target.starts_with(&format!("/api/v1/partner/accounts/{listed_under}/cdrs?"))
                && target.contains("page=1&"))
            .then(|| {
                edit(body, |v| {
                    let i = mid_month(&v["data"], "start_time").unwrap();
                    v["data"][i]["account_id"] = other.clone().into();
                    v["data"][i + 1]["account_id"] = "SA_../x".into();
                })
            })?
        }),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    pipeline::run(&options(&url, dir.path())).await.unwrap();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("2026-03/manifest.json")).unwrap()).unwrap();
    let reasons: Vec<String> = manifest["normalize"]["rejects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["account"] == ids[0].as_str() && r["table"] == "cdrs")
        .map(|r| r["reason"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.contains(&format!("its account_id is \"{}\"", ids[1]))),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|r| r.contains("\"SA_../x\"")), "{reasons:?}");
    let names = relative_names(dir.path());
    assert!(
        !names.iter().any(|n| n.contains("SA_..") || n.ends_with("/x.csv")),
        "{names:?}"
    );
}
