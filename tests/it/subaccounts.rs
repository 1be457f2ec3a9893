//! Subaccounts: the Subaccount API as the simulator serves it (paging at the largest size,
//! `active_only` both ways, both base URIs, customer credentials only), and the month billed
//! with them: per subaccount, the stored calls and costs equal the simulator's ground truth
//! exactly, each invoice's annexure adds up to its call lines to the paisa, and the
//! statements, the report and the documents show them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rust_decimal::Decimal;
use serde_json::Value;
use vobiz_billing::layout::Layout;
use vobiz_billing::model::Period;
use vobiz_billing::pipeline;
use vobiz_billing::simulator::dataset::Account;
use vobiz_billing::simulator::subaccounts::RESELLER_SUBACCOUNTS;
use vobiz_billing::simulator::{self, DatasetSpec};
use vobiz_billing::store::normalized::{CdrRow, SubaccountRow, TransactionRow};
use vobiz_billing::store::read;
use vobiz_billing::store::reconciliation::ExceptionRow;

use crate::pipeline::options;

fn period() -> Period {
    "2026-03".parse().unwrap()
}

async fn get(url: &str, auth: (&str, &str)) -> (u16, Value) {
    vobiz_billing::api::client::install_tls_provider();
    let r = reqwest::Client::new()
        .get(url)
        .header("X-Auth-ID", auth.0)
        .header("X-Auth-Token", auth.1)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, serde_json::from_slice(&r.bytes().await.unwrap()).unwrap())
}

fn ids(page: &Value) -> Vec<String> {
    page["sub_accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["auth_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_subaccount_api_pages_at_its_largest_size_filters_and_refuses_the_partner() {
    let sim = simulator::start(
        DatasetSpec::new(7, 30, 40, period()),
        "none".parse().unwrap(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let ds = &sim.sim.ds;
    let reseller: &Account = ds
        .accounts
        .iter()
        .find(|a| a.subaccounts.len() == RESELLER_SUBACCOUNTS as usize)
        .expect("a reseller customer");
    let me = (reseller.auth_id.as_str(), reseller.auth_token.as_str());
    let base = format!("{}/api/v1/accounts/{}/sub-accounts/", sim.base_url(), reseller.auth_id);

    // Every subaccount, over two pages of the largest size, newest first.
    let (mut all, mut page) = (Vec::new(), 1);
    loop {
        let (status, body) = get(&format!("{base}?page={page}&size=100&active_only=false"), me).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!((body["size"].as_u64(), body["page"].as_u64()), (Some(100), Some(page)));
        assert_eq!(body["total"].as_u64(), Some(RESELLER_SUBACCOUNTS as u64));
        let got = ids(&body);
        if got.is_empty() {
            break;
        }
        assert!(got.len() == 100 || page == 2, "page {page} has {}", got.len());
        all.extend(got);
        page += 1;
    }
    assert_eq!(page, 3, "two pages of 100");
    let listed: Vec<&str> = {
        let mut v: Vec<_> = reseller.subaccounts.iter().filter(|s| s.listed).collect();
        v.sort_by(|a, b| (b.created_at, &b.auth_id).cmp(&(a.created_at, &a.auth_id)));
        v.into_iter().map(|s| s.auth_id.as_str()).collect()
    };
    assert_eq!(all, listed, "every listed subaccount once, newest first");

    // active_only both ways: the enabled ones, or all of them.
    let enabled: BTreeSet<&str> = reseller
        .subaccounts
        .iter()
        .filter(|s| s.listed && s.enabled)
        .map(|s| s.auth_id.as_str())
        .collect();
    assert!(
        enabled.len() < listed.len() && enabled.len() > 100,
        "some disabled, still two pages"
    );
    let mut active = Vec::new();
    for page in 1..=2 {
        let (_, body) = get(&format!("{base}?page={page}&size=100&active_only=true"), me).await;
        assert_eq!(body["total"].as_u64(), Some(enabled.len() as u64));
        active.extend(ids(&body));
    }
    assert_eq!(active.iter().map(String::as_str).collect::<BTreeSet<_>>(), enabled);
    assert!(
        ids(&get(&format!("{base}?page=1"), me).await.1).len() == 25,
        "size 25 by default"
    );
    let (_, big) = get(&format!("{base}?size=500"), me).await;
    assert_eq!(big["size"].as_u64(), Some(100), "above 100, clamped");

    // The seed page's base URI serves the same data; one subaccount, its token masked.
    let old = format!("{}/api/v1/Account/{}/Subaccount/", sim.base_url(), reseller.auth_id);
    let (_, first) = get(&format!("{old}?page=1&size=100"), me).await;
    assert_eq!(ids(&first), all[..100].to_vec());
    let one = &reseller.subaccounts[0];
    let (status, body) = get(&format!("{base}{}", one.auth_id), me).await;
    assert_eq!(status, 200);
    assert_eq!(body["name"].as_str(), Some(one.name.as_str()));
    assert_eq!(body["parent_auth_id"].as_str(), Some(reseller.auth_id.as_str()));
    assert!(!body.to_string().contains(&one.auth_token), "masked on retrieve");

    // Customer credentials only: the partner's are refused in the account API's shape, and
    // another customer's are refused too; neither sees a subaccount.
    let partner = (simulator::DEMO_PARTNER_AUTH_ID, simulator::DEMO_PARTNER_AUTH_TOKEN);
    for (url, auth, want) in [
        (base.clone(), partner, 401),
        (format!("{base}{}", one.auth_id), partner, 401),
        (old.clone(), partner, 401),
    ] {
        let (status, body) = get(&url, auth).await;
        assert_eq!(status, want, "{url}: {body}");
        assert!(body["error"]["message"].is_string(), "{body}");
        assert!(body.get("sub_accounts").is_none());
    }
    let other = ds.accounts.iter().find(|a| a.auth_id != reseller.auth_id).unwrap();
    let (status, body) = get(&base, (&other.auth_id, &other.auth_token)).await;
    assert_eq!(status, 403, "{body}");
}

/// Σ of the calls whose `subaccount_id` is `sub` (`None`: the customer's own).
#[derive(Debug, Default, PartialEq)]
struct Calls {
    count: u64,
    cost: Decimal,
    total_cost: Decimal,
}

fn register_documents(out: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(Layout::new(out).invoice_register()).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["documents"].as_object().unwrap().values().cloned().collect()
}

fn dec(v: &Value) -> Decimal {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_with_subaccounts_is_attributed_exactly_and_each_annexure_adds_up_to_its_call_lines() {
    let sim = simulator::start(
        DatasetSpec::new(7, 30, 60, period()),
        "none".parse().unwrap(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let truth = {
        let s = sim.sim.clone();
        tokio::task::spawn_blocking(move || simulator::truth::compute(&s))
            .await
            .unwrap()
    };
    let ds = &sim.sim.ds;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    pipeline::run(&options(&sim.base_url(), out)).await.unwrap();
    let layout = Layout::new(out);

    // The table of subaccounts: every listed one, as listed.
    let stored = read::all::<SubaccountRow>(&layout, period()).unwrap();
    let want: BTreeSet<(String, String, String, bool)> = ds
        .accounts
        .iter()
        .flat_map(|a| {
            a.subaccounts
                .iter()
                .filter(|s| s.listed)
                .map(|s| (a.auth_id.clone(), s.auth_id.clone(), s.name.clone(), s.enabled))
        })
        .collect();
    let got: BTreeSet<(String, String, String, bool)> = stored
        .iter()
        .map(|s| (s.account_id.clone(), s.auth_id.clone(), s.name.clone(), s.enabled))
        .collect();
    assert!(want.len() > RESELLER_SUBACCOUNTS as usize, "{}", want.len());
    assert_eq!(got, want);

    // Per subaccount, calls and costs as the simulator made them, to the last decimal.
    let mut by_sub: BTreeMap<(String, Option<String>), Calls> = BTreeMap::new();
    let calls = read::all::<CdrRow>(&layout, period()).unwrap();
    // Each charge of a call is its subaccount's too.
    let placed_by: BTreeMap<String, Option<String>> = calls
        .iter()
        .map(|c| (c.uuid.to_string(), c.subaccount_id.as_ref().map(|s| s.to_string())))
        .collect();
    let mut charges = 0;
    for t in read::all::<TransactionRow>(&layout, period()).unwrap() {
        assert!(!t.account_id.starts_with("SA_"), "{}", t.id);
        if let Some(by) = t.cdr_uuid.as_ref().and_then(|u| placed_by.get(u.as_str())) {
            assert_eq!(t.subaccount_id.as_ref().map(|s| s.to_string()), *by, "{}", t.id);
            charges += usize::from(by.is_some());
        }
    }
    assert!(charges > 100, "{charges} charges of subaccounts' calls");
    for c in calls {
        let e = by_sub
            .entry((c.account_id.to_string(), c.subaccount_id.map(|s| s.to_string())))
            .or_default();
        e.count += 1;
        e.cost += c.cost;
        e.total_cost += c.total_cost;
    }
    let mut with_calls = 0;
    for t in &truth.accounts {
        for s in &t.subaccounts {
            let got = by_sub
                .get(&(t.auth_id.clone(), Some(s.auth_id.clone())))
                .map_or((0, Decimal::ZERO, Decimal::ZERO), |c| (c.count, c.cost, c.total_cost));
            assert_eq!(
                got,
                (s.calls.count, s.calls.cost, s.calls.total_cost),
                "{} / {}",
                t.auth_id,
                s.name
            );
            with_calls += usize::from(s.calls.count > 0);
        }
        // The customer's own calls are the rest.
        let subs: u64 = t.subaccounts.iter().map(|s| s.calls.count).sum();
        let own = by_sub.get(&(t.auth_id.clone(), None)).map_or(0, |c| c.count);
        assert_eq!(own + subs, t.cdrs.count, "{}", t.auth_id);
    }
    assert!(with_calls >= 20, "{with_calls} subaccounts called");
    // The showcase's lifecycle: Staging (created on the 12th) called, Archive never did,
    // Legacy (disabled before the month) did not, Operations (disabled on the 18th) did
    // before; and nothing of it is an exception in a clean month.
    let showcase = truth
        .accounts
        .iter()
        .find(|t| t.subaccounts.iter().any(|s| s.name == "Archive"))
        .unwrap();
    let calls_of = |name: &str| {
        showcase
            .subaccounts
            .iter()
            .find(|s| s.name == name)
            .unwrap()
            .calls
            .count
    };
    assert!(calls_of("Staging") > 0 && calls_of("Operations") > 0);
    assert_eq!((calls_of("Archive"), calls_of("Legacy")), (0, 0));
    let exceptions = read::all::<ExceptionRow>(&layout, period()).unwrap();
    assert!(
        !exceptions.iter().any(|e| e.kind.as_str().ends_with("_subaccount")),
        "a clean month has no subaccount exception"
    );

    // Each invoice's annexure: its shares add up to the call lines' taxable values to the
    // paisa, its exact amounts are the subaccounts' costs, and its calls are the month's.
    let documents = register_documents(out);
    let mut annexures = 0;
    for d in documents.iter().filter(|d| d["kind"] == "invoice") {
        let content = &d["content"];
        let account = d["account"].as_str().unwrap();
        let t = truth.accounts.iter().find(|t| t.auth_id == account).unwrap();
        let Some(rows) = content["usage_by_subaccount"].as_array() else {
            assert!(
                t.subaccounts.iter().all(|s| s.calls.count == 0),
                "{account} lacks its annexure"
            );
            continue;
        };
        annexures += 1;
        let call_lines: Decimal = content["lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["key"].as_str().unwrap().starts_with("calls/"))
            .map(|l| dec(&l["tax"]["taxable"]))
            .sum();
        let shares: Decimal = rows.iter().map(|r| dec(&r["taxable"])).sum();
        let lines = content["lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["key"].as_str().unwrap().starts_with("calls/"))
            .count();
        assert_eq!(shares, call_lines, "{account}: annexure vs call lines");
        let calls: u64 = rows.iter().map(|r| r["calls"].as_u64().unwrap()).sum();
        assert_eq!(calls, t.cdrs.count, "{account}");
        for r in rows.iter().filter(|r| !r["subaccount"].is_null()) {
            let s = t
                .subaccounts
                .iter()
                .find(|s| Some(s.auth_id.as_str()) == r["subaccount"].as_str())
                .unwrap();
            assert_eq!(
                (r["calls"].as_u64().unwrap(), dec(&r["amount"])),
                (s.calls.count, s.calls.cost)
            );
            // Per call line, a share is its exact cost rounded (half a paisa off at most),
            // give or take the one paisa apportioned.
            let off = (dec(&r["taxable"]) - s.calls.cost).abs();
            assert!(
                off <= Decimal::new(15, 3) * Decimal::from(lines),
                "{account} {}: {off}",
                s.name
            );
        }
        // The documents show it, each subaccount by name.
        let number = d["number"].as_str().unwrap();
        let stem = vobiz_billing::model::document::file_stem(number);
        let html = std::fs::read_to_string(layout.invoices_dir(period()).join(format!("{stem}.html"))).unwrap();
        let pdf = crate::support::readable_text(&layout.invoices_dir(period()).join(format!("{stem}.pdf")));
        for text in [&html, &pdf] {
            assert!(text.contains("Annexure: usage by subaccount"), "{number}");
        }
        for s in t.subaccounts.iter().filter(|s| s.calls.count > 0) {
            assert!(html.contains(&s.auth_id), "{number} names {}", s.auth_id);
        }

        // The statements, split: one per subaccount that called, its rows its calls.
        let statements = layout.statements_dir(period()).join(account);
        for s in t.subaccounts.iter().filter(|s| s.calls.count > 0) {
            let csv = std::fs::read_to_string(statements.join(format!("{}.csv", s.auth_id))).unwrap();
            assert_eq!(csv.lines().count() as u64, s.calls.count + 1, "{}", s.auth_id);
        }
    }
    assert!(annexures >= 3, "{annexures} invoices with an annexure");

    // The report lists each customer's subaccounts.
    let report = std::fs::read_to_string(layout.report_html(period())).unwrap();
    assert!(report.contains("<h2>Subaccounts</h2>"));
    for s in stored.iter().filter(|s| s.name == "Staging" || s.name == "Tenant 007") {
        assert!(report.contains(&s.auth_id), "the report lists {}", s.auth_id);
    }
}
