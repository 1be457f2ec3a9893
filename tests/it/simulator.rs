//! The simulator behaves as the Vobiz docs say the real API does (envelopes, paging, limits,
//! auth, quirks), agrees with its own ground truth, injects faults, and is deterministic.

use std::collections::HashSet;

use rust_decimal::Decimal;
use serde_json::Value;
use vobiz_billing::model::money::parse_exact;
use vobiz_billing::simulator::truth;

use crate::support::*;

fn dec(v: &Value) -> Decimal {
    match v {
        Value::String(s) => parse_exact(s).unwrap(),
        Value::Number(n) => parse_exact(&n.to_string()).unwrap(),
        other => panic!("not money: {other}"),
    }
}

fn is_fixed(v: &Value, places: usize) -> bool {
    v.as_str()
        .is_some_and(|s| s.split_once('.').is_some_and(|(_, f)| f.len() == places))
}

async fn first_active(api: &Api) -> (String, Value) {
    let list = api.partner("/api/v1/partner/accounts?per_page=100").await;
    let a = list["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["is_active"] == true)
        .unwrap()
        .clone();
    (a["auth_id"].as_str().unwrap().to_string(), a)
}

#[tokio::test]
async fn profile_has_the_documented_shape() {
    let sim = start_sim(7, 8, 20, "none").await;
    let me = Api::new(&sim).partner("/api/v1/partner/me").await;
    assert_eq!(
        keys(&me),
        sorted(&[
            "id",
            "account_id",
            "name",
            "slug",
            "company",
            "auth_id",
            "email",
            "phone",
            "billing_model",
            "is_active",
            "is_verified",
            "max_accounts",
            "can_create_accounts",
            "can_create_pricing_tiers",
            "can_view_cdrs",
            "can_transfer_balance",
            "default_pricing_tier_id",
            "account_count",
            "balance",
            "currency",
            "created_at",
            "updated_at",
        ])
    );
    assert!(
        is_fixed(&me["balance"], 5),
        "balance is a 5-place string: {}",
        me["balance"]
    );
    assert!(me["account_id"].is_u64());
    assert_eq!(me["account_count"], 8);
    assert!(me["created_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn authentication_failures_use_the_documented_bodies() {
    let sim = start_sim(7, 8, 20, "none").await;
    let api = Api::new(&sim);
    for creds in [
        None,
        Some(("PA_DEMO0001", "wrong")),
        Some(("PA_NOBODY1", "sim-partner-token")),
    ] {
        let r = api.get_as("/api/v1/partner/me", creds).await;
        assert_eq!(r.status, 401);
        let b = r.json();
        assert_eq!(keys(&b), sorted(&["status", "error", "timestamp", "requestId"]));
        assert_eq!(b["status"], "error");
        assert_eq!(b["error"]["code"], "INVALID_CREDENTIALS");
        assert!(b["requestId"].as_str().unwrap().starts_with("req_"));
    }
    // Customer credentials are valid, but not on partner paths.
    let (id, acct) = first_active(&api).await;
    let token = acct["auth_token"].as_str().unwrap();
    let r = api.get_as("/api/v1/partner/me", Some((&id, token))).await;
    assert_eq!(r.status, 403);
    // Account endpoints: only the account's own credentials.
    let path = format!("/api/v1/Account/{id}/transactions");
    let r = api.get_as(&path, Some(PARTNER)).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json(),
        serde_json::json!({"error": {"code": 401, "message": "Invalid token"}})
    );
    let list = api.partner("/api/v1/partner/accounts?per_page=100").await;
    let other = list["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["auth_id"] != id.as_str())
        .unwrap();
    let r = api
        .get_as(
            &path,
            Some((
                other["auth_id"].as_str().unwrap(),
                other["auth_token"].as_str().unwrap(),
            )),
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["error"]["message"], "Access denied: account ID mismatch");
    assert_eq!(api.get_as(&path, Some((&id, token))).await.status, 200);
    // HTTP Basic works on account endpoints too.
    let basic = api
        .http
        .get(format!("{}{path}", api.base))
        .basic_auth(&id, Some(token))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 200);
    // Unknown customer and wrong base path.
    assert_eq!(
        api.get_as("/api/v1/partner/accounts/MA_UNKNOWN1", Some(PARTNER))
            .await
            .status,
        404
    );
    let wrong = api.get_as("/partner/v1/me", Some(PARTNER)).await;
    assert_eq!(wrong.status, 404);
    assert_eq!(wrong.json(), serde_json::json!({"detail": "Not Found"}));
}

#[tokio::test]
async fn accounts_list_pages_by_page_and_per_page_echoed_as_size() {
    let sim = start_sim(7, 12, 10, "none").await;
    let api = Api::new(&sim);
    let first = api.partner("/api/v1/partner/accounts?page=1&per_page=7").await;
    assert_eq!(keys(&first), sorted(&["accounts", "total", "page", "size"]));
    assert_eq!(
        (first["total"].as_u64(), first["page"].as_u64(), first["size"].as_u64()),
        (Some(12), Some(1), Some(7))
    );
    let second = api.partner("/api/v1/partner/accounts?page=2&per_page=7").await;
    let third = api.partner("/api/v1/partner/accounts?page=3&per_page=7").await;
    assert_eq!(first["accounts"].as_array().unwrap().len(), 7);
    assert_eq!(second["accounts"].as_array().unwrap().len(), 5, "last page is partial");
    assert!(
        third["accounts"].as_array().unwrap().is_empty(),
        "past the end is empty"
    );
    let ids: HashSet<&str> = first["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["accounts"].as_array().unwrap())
        .map(|a| a["auth_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 12);
    // Newest account first.
    let created: Vec<&str> = first["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["created_at"].as_str().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]));
    // Old parameter name, default size, clamping, exactly one page.
    assert_eq!(api.partner("/api/v1/partner/accounts?size=5").await["size"], 5);
    assert_eq!(api.partner("/api/v1/partner/accounts").await["size"], 20);
    let clamped = api.partner("/api/v1/partner/accounts?per_page=500").await;
    assert_eq!(clamped["size"], 100);
    assert_eq!(clamped["accounts"].as_array().unwrap().len(), 12);
    let exact = api.partner("/api/v1/partner/accounts?per_page=12").await;
    assert_eq!(exact["accounts"].as_array().unwrap().len(), 12);
    assert!(
        api.partner("/api/v1/partner/accounts?per_page=12&page=2").await["accounts"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Validation errors are FastAPI-style 422s.
    for bad in ["page=0", "per_page=0", "page=abc", "per_page=-3"] {
        let r = api
            .get_as(&format!("/api/v1/partner/accounts?{bad}"), Some(PARTNER))
            .await;
        assert_eq!(r.status, 422, "{bad}");
        assert_eq!(r.json()["detail"][0]["loc"][0], "query");
    }
    // Search matches name or email, case-insensitively.
    let some = &first["accounts"][0];
    let needle = some["name"].as_str().unwrap().split(' ').next().unwrap().to_uppercase();
    let found = api.partner(&format!("/api/v1/partner/accounts?search={needle}")).await;
    assert!(
        found["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["auth_id"] == some["auth_id"])
    );
    assert!(found["total"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn account_objects_carry_tokens_and_balances_agree_with_truth() {
    let sim = start_sim(9, 10, 30, "none").await;
    let api = Api::new(&sim);
    let truth = truth::compute(&sim.sim);
    let list = api.partner("/api/v1/partner/accounts?per_page=100").await;
    let mut tokens = HashSet::new();
    for a in list["accounts"].as_array().unwrap() {
        let id = a["auth_id"].as_str().unwrap();
        let one = api.partner(&format!("/api/v1/partner/accounts/{id}")).await;
        assert_eq!(&one, a, "list row and single get agree");
        for k in [
            "auth_token",
            "cash_credits",
            "pricing_tier",
            "gstin",
            "state",
            "country",
            "resource_uri",
        ] {
            assert!(one.get(k).is_some(), "{k} missing");
        }
        assert!(is_fixed(&one["cash_credits"], 5));
        tokens.insert(one["auth_token"].as_str().unwrap().to_string());
        let bal = api.partner(&format!("/api/v1/partner/accounts/{id}/balance")).await;
        assert_eq!(
            keys(&bal),
            sorted(&["auth_id", "name", "cash_credits", "currency", "updated_at"])
        );
        let t = truth.accounts.iter().find(|t| t.auth_id == id).unwrap();
        assert_eq!(dec(&bal["cash_credits"]), t.balance_now);
    }
    assert_eq!(tokens.len(), 10, "every account has its own token");
}

/// Page through a partner list endpoint until `stop` says so; returns all rows.
async fn crawl(api: &Api, path: &str, per_page: u32, rows_key: &str) -> (Vec<Value>, Vec<Value>) {
    let mut rows = Vec::new();
    let mut envelopes = Vec::new();
    for page in 1.. {
        let sep = if path.contains('?') { '&' } else { '?' };
        let env = api
            .partner(&format!("{path}{sep}page={page}&per_page={per_page}"))
            .await;
        let got = env[rows_key].as_array().unwrap().clone();
        let done = got.is_empty();
        rows.extend(got);
        envelopes.push(env);
        if done {
            break;
        }
    }
    (rows, envelopes)
}

#[tokio::test]
async fn partner_ledger_pages_to_the_truth() {
    let sim = start_sim(21, 9, 150, "none").await;
    let api = Api::new(&sim);
    let truth = truth::compute(&sim.sim);
    let (start, end) = (truth.period_start.clone(), truth.period_end.clone());
    for t in truth.accounts.iter().filter(|t| t.is_active) {
        let path = format!("/api/v1/partner/accounts/{}/transactions", t.auth_id);
        let (rows, envs) = crawl(&api, &path, 37, "transactions").await;
        let env = &envs[0];
        assert_eq!(
            keys(env),
            sorted(&[
                "transactions",
                "summary",
                "total",
                "page",
                "per_page",
                "total_pages",
                "account_auth_id"
            ])
        );
        assert_eq!(
            keys(&env["summary"]),
            sorted(&[
                "total_transactions",
                "total_debit",
                "total_credit",
                "net_amount",
                "by_reference_type"
            ])
        );
        let total = env["total"].as_u64().unwrap();
        assert_eq!(total, t.ledger_rows);
        assert_eq!(env["total_pages"].as_u64().unwrap(), total.div_ceil(37));
        assert_eq!(rows.len() as u64, total, "pages cover every row once");
        let last_full = envs[envs.len() - 2]["transactions"].as_array().unwrap().len() as u64;
        assert_eq!(
            last_full,
            if total % 37 == 0 { 37 } else { total % 37 },
            "last page is partial"
        );
        let ids: HashSet<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), rows.len());
        let created: Vec<&str> = rows.iter().map(|r| r["created_at"].as_str().unwrap()).collect();
        assert!(created.windows(2).all(|w| w[0] >= w[1]), "newest first");
        let row = &rows[0];
        assert_eq!(
            keys(row),
            sorted(&[
                "id",
                "account_id",
                "balance_id",
                "type",
                "amount",
                "currency",
                "description",
                "reference",
                "status",
                "processed_at",
                "created_at",
                "updated_at"
            ])
        );
        assert!(row["amount"].is_number(), "partner ledger amounts are numbers");
        // Summary covers the whole filtered set.
        let (mut credit, mut debit) = (Decimal::ZERO, Decimal::ZERO);
        let (mut p_credit, mut p_debit, mut p_count) = (Decimal::ZERO, Decimal::ZERO, 0);
        for r in &rows {
            let amount = dec(&r["amount"]);
            let in_period =
                r["created_at"].as_str().unwrap() >= start.as_str() && r["created_at"].as_str().unwrap() < end.as_str();
            match r["type"].as_str().unwrap() {
                "credit" => {
                    credit += amount;
                    if in_period {
                        p_credit += amount;
                    }
                }
                _ => {
                    debit += amount;
                    if in_period {
                        p_debit += amount;
                    }
                }
            }
            p_count += in_period as u64;
        }
        assert_eq!(dec(&env["summary"]["total_credit"]), credit);
        assert_eq!(dec(&env["summary"]["total_debit"]), debit);
        assert_eq!(dec(&env["summary"]["net_amount"]), credit - debit);
        assert_eq!(
            (p_count, p_credit, p_debit),
            (t.ledger.count, t.ledger.credit_total, t.ledger.debit_total)
        );
        assert_eq!(t.opening_balance + p_credit - p_debit, t.closing_balance);
    }
}

#[tokio::test]
async fn partner_ledger_limits_filters_and_boundaries() {
    let sim = start_sim(5, 4, 60, "none").await;
    let api = Api::new(&sim);
    let (id, _) = first_active(&api).await;
    let path = format!("/api/v1/partner/accounts/{id}/transactions");
    let r = api.get_as(&format!("{path}?per_page=201"), Some(PARTNER)).await;
    assert_eq!(r.status, 422, "over the documented maximum");
    let detail = &r.json()["detail"][0];
    assert_eq!(detail["loc"], serde_json::json!(["query", "per_page"]));
    let max = api.partner(&format!("{path}?per_page=200")).await;
    assert_eq!(max["per_page"], 200);
    let total = max["total"].as_u64().unwrap();
    assert!(total <= 200);
    assert_eq!(
        max["transactions"].as_array().unwrap().len() as u64,
        total,
        "exactly one page"
    );
    assert_eq!(max["total_pages"], 1);
    let empty = api
        .partner(&format!("{path}?from_date=2030-01-01&to_date=2030-01-31"))
        .await;
    assert_eq!(
        (empty["total"].as_u64(), empty["total_pages"].as_u64()),
        (Some(0), Some(0))
    );
    assert!(empty["transactions"].as_array().unwrap().is_empty());
    assert_eq!(dec(&empty["summary"]["total_debit"]), Decimal::ZERO);
    // Filter vocabulary (recharge|debit|refund|transfer) differs from the row's type (credit|debit).
    let debits = api
        .partner(&format!("{path}?transaction_type=debit&per_page=200"))
        .await;
    assert!(
        debits["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["type"] == "debit")
    );
    let bad = api
        .get_as(&format!("{path}?transaction_type=credit"), Some(PARTNER))
        .await;
    assert_eq!(bad.status, 422);
    let bad_date = api.get_as(&format!("{path}?from_date=2026-3-1"), Some(PARTNER)).await;
    assert_eq!(bad_date.status, 422);
    // Date filters are inclusive UTC days.
    let day = api
        .partner(&format!("{path}?from_date=2026-03-10&to_date=2026-03-10&per_page=200"))
        .await;
    assert!(
        day["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["created_at"].as_str().unwrap().starts_with("2026-03-10"))
    );
}

#[tokio::test]
async fn cdr_pages_match_the_truth_and_the_envelope() {
    let sim = start_sim(33, 8, 120, "none").await;
    let api = Api::new(&sim);
    let truth = truth::compute(&sim.sim);
    for t in truth.accounts.iter().filter(|t| t.is_active) {
        let path = format!("/api/v1/partner/accounts/{}/cdrs", t.auth_id);
        let (rows, envs) = crawl(&api, &path, 50, "data").await;
        let env = &envs[0];
        assert_eq!(
            keys(env),
            sorted(&[
                "success",
                "account_id",
                "account_auth_id",
                "count",
                "data",
                "pagination",
                "summary"
            ])
        );
        assert_eq!(
            keys(&env["pagination"]),
            sorted(&["page", "per_page", "total", "pages", "has_next", "has_prev"])
        );
        assert_eq!(
            keys(&env["summary"]),
            sorted(&[
                "answerRate",
                "answeredCalls",
                "avgCallDuration",
                "last_call_at",
                "totalCalls",
                "total_billable_seconds",
                "total_cost",
                "total_duration_seconds"
            ])
        );
        assert_eq!(env["count"], 50, "count is the rows in this page");
        assert_eq!(env["pagination"]["has_next"], true);
        assert_eq!(env["pagination"]["has_prev"], false);
        let last = &envs[envs.len() - 2];
        assert_eq!(last["pagination"]["has_next"], false, "has_next ends the crawl");
        assert_eq!(last["count"].as_u64().unwrap(), 120 - 100, "last page is partial");
        assert_eq!(rows.len() as u64, t.window_cdrs);
        let uuids: HashSet<&str> = rows.iter().map(|r| r["uuid"].as_str().unwrap()).collect();
        assert_eq!(uuids.len(), rows.len());
        assert_eq!(keys(&rows[0]).len(), 43, "the 43-field CDR object");
        let starts: Vec<&str> = rows.iter().map(|r| r["start_time"].as_str().unwrap()).collect();
        assert!(starts.windows(2).all(|w| w[0] >= w[1]), "newest first");
        let mut cost = Decimal::ZERO;
        let mut count = 0;
        for r in &rows {
            assert_eq!(dec(&r["total_cost"]), dec(&r["cost"]) + dec(&r["streaming_cost"]));
            let st = r["start_time"].as_str().unwrap().replace('Z', ".000000Z");
            if st >= truth.period_start && st < truth.period_end {
                cost += dec(&r["total_cost"]);
                count += 1;
            }
        }
        assert_eq!((count, cost), (t.cdrs.count, t.cdrs.total_cost));
        assert_eq!(
            dec(&env["summary"]["total_cost"]),
            rows.iter().map(|r| dec(&r["total_cost"])).sum::<Decimal>()
        );
        // One exact page, an empty range, and the clamp at 100.
        let one = api
            .partner(&format!(
                "{path}?per_page=100&start_date=2026-03-05&end_date=2026-03-08"
            ))
            .await;
        let n = one["pagination"]["total"].as_u64().unwrap();
        assert!(n > 0 && n <= 100);
        let exact = api
            .partner(&format!(
                "{path}?per_page={n}&start_date=2026-03-05&end_date=2026-03-08"
            ))
            .await;
        assert_eq!(
            (exact["count"].as_u64(), exact["pagination"]["pages"].as_u64()),
            (Some(n), Some(1))
        );
        assert_eq!(exact["pagination"]["has_next"], false);
        let empty = api
            .partner(&format!("{path}?start_date=2031-01-01&end_date=2031-01-02"))
            .await;
        assert_eq!(
            (empty["count"].as_u64(), empty["pagination"]["pages"].as_u64()),
            (Some(0), Some(0))
        );
        assert_eq!(empty["summary"]["totalCalls"], 0);
        assert!(empty["summary"]["last_call_at"].is_null());
        let clamped = api.partner(&format!("{path}?per_page=1000")).await;
        assert_eq!(clamped["pagination"]["per_page"], 100);
        assert_eq!(clamped["count"], 100);
    }
}

#[tokio::test]
async fn cdr_filters_and_single_lookup() {
    let sim = start_sim(4, 3, 80, "none").await;
    let api = Api::new(&sim);
    let (id, _) = first_active(&api).await;
    let path = format!("/api/v1/partner/accounts/{id}/cdrs");
    let answered = api.partner(&format!("{path}?status=answered&per_page=100")).await;
    assert!(
        answered["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["billsec"].as_u64().unwrap() > 0)
    );
    let inbound = api
        .partner(&format!("{path}?call_direction=inbound&per_page=100"))
        .await;
    assert!(
        inbound["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["call_direction"] == "inbound")
    );
    assert_eq!(
        api.get_as(&format!("{path}?status=no-answer"), Some(PARTNER))
            .await
            .status,
        422
    );
    let first = &api.partner(&format!("{path}?per_page=1")).await["data"][0];
    let uuid = first["uuid"].as_str().unwrap();
    let one = api.partner(&format!("{path}/{uuid}")).await;
    assert_eq!(&one, first, "bare CDR object, no envelope");
    let missing = api
        .get_as(&format!("{path}/00000000-0000-4000-8000-000000000000"), Some(PARTNER))
        .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn account_ledger_has_the_current_generation_quirks() {
    let sim = start_sim(8, 4, 70, "none").await;
    let api = Api::new(&sim);
    let (id, acct) = first_active(&api).await;
    let creds = Some((id.as_str(), acct["auth_token"].as_str().unwrap()));
    let path = format!("/api/v1/Account/{id}/transactions");
    let total = api.get_as(&path, creds).await.json()["total"].as_u64().unwrap();
    assert!(total > 50, "need more than one default page, got {total}");
    // limit/offset are silently ignored: page 1 of 50, whatever the offset.
    let a = api.get_as(&format!("{path}?limit=100&offset=0"), creds).await.json();
    let b = api.get_as(&format!("{path}?limit=100&offset=100"), creds).await.json();
    assert_eq!(a["per_page"], 50);
    assert_eq!(a["transactions"], b["transactions"]);
    assert_eq!(
        keys(&a),
        sorted(&["transactions", "summary", "total", "page", "per_page", "total_pages"])
    );
    assert!(a["transactions"][0].get("reference_type").is_some());
    // Above 1000 falls back to 50 silently; 1000 is honoured.
    assert_eq!(
        api.get_as(&format!("{path}?per_page=1001"), creds).await.json()["per_page"],
        50
    );
    assert_eq!(
        api.get_as(&format!("{path}?per_page=1000"), creds).await.json()["per_page"],
        1000
    );
    // Bad dates, and a raw '+' in an offset (decoded as a space), are 500s.
    let failed = serde_json::json!({"error": "Failed to retrieve transactions"});
    let r = api.get_as(&format!("{path}?from_date=03/01/2026"), creds).await;
    assert_eq!((r.status.as_u16(), r.json()), (500, failed.clone()));
    let r = api
        .get_as(&format!("{path}?from_date=2026-03-01T00:00:00+05:30"), creds)
        .await;
    assert_eq!((r.status.as_u16(), r.json()), (500, failed));
    let r = api
        .get_as(
            &format!("{path}?from_date=2026-03-01T00:00:00%2B05:30&to_date=2026-03-31"),
            creds,
        )
        .await;
    assert_eq!(r.status, 200);
    // Both casings of the path work.
    assert_eq!(
        api.get_as(&format!("/api/v1/account/{id}/transactions"), creds)
            .await
            .status,
        200
    );
    // Balance by currency.
    let bal = api.get_as(&format!("/api/v1/Account/{id}/balance/INR"), creds).await;
    assert_eq!(bal.status, 200);
    let bal = bal.json();
    for k in [
        "balance",
        "available_balance",
        "credit_limit",
        "low_balance_threshold",
        "is_postpaid",
        "credit_limit_type",
    ] {
        assert!(bal.get(k).is_some(), "{k}");
    }
    assert!(bal["balance"].is_number());
    assert_eq!(
        api.get_as(&format!("/api/v1/Account/{id}/balance/USD"), creds)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn dashboard_and_analytics_agree_with_the_cdrs() {
    let sim = start_sim(12, 6, 100, "none").await;
    let api = Api::new(&sim);
    let dash = api.partner("/api/v1/partner/dashboard").await;
    assert_eq!(
        keys(&dash),
        sorted(&[
            "partner",
            "period",
            "accounts",
            "total_balance",
            "currency",
            "calls",
            "traffic",
            "by_product",
            "time_series"
        ])
    );
    assert!(
        dash["partner"]["balance"].is_null(),
        "partner.balance is null on the dashboard"
    );
    assert!(is_fixed(&dash["total_balance"], 5));
    assert!(is_fixed(&dash["calls"]["total_cost"], 2));
    assert_eq!(dash["time_series"].as_array().unwrap().len(), 31);
    let an = api
        .partner("/api/v1/partner/analytics?from_date=2026-03-01&to_date=2026-03-31")
        .await;
    assert_eq!(
        an["period"],
        serde_json::json!({"from": "2026-03-01", "to": "2026-03-31"})
    );
    assert_eq!(an["time_series"].as_array().unwrap().len(), 31);
    // The same UTC window through the CDR endpoints.
    let (mut calls, mut cost) = (0u64, Decimal::ZERO);
    let list = api.partner("/api/v1/partner/accounts?per_page=100").await;
    for a in list["accounts"].as_array().unwrap() {
        let s = api
            .partner(&format!(
                "/api/v1/partner/accounts/{}/cdrs?start_date=2026-03-01&end_date=2026-03-31&per_page=1",
                a["auth_id"].as_str().unwrap()
            ))
            .await;
        calls += s["summary"]["totalCalls"].as_u64().unwrap();
        cost += dec(&s["summary"]["total_cost"]);
    }
    assert_eq!(an["calls"]["total_calls"].as_u64().unwrap(), calls);
    assert_eq!(
        dec(&an["calls"]["total_cost"]),
        vobiz_billing::model::money::round_paise(cost)
    );
    let series_calls: u64 = an["time_series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["total_calls"].as_u64().unwrap())
        .sum();
    assert_eq!(series_calls, calls);
    let split = an["traffic"]["inbound"]["total_calls"].as_u64().unwrap()
        + an["traffic"]["outbound"]["total_calls"].as_u64().unwrap();
    assert_eq!(split, calls);
    assert_eq!(
        api.get_as("/api/v1/partner/analytics?from_date=2026-13-01", Some(PARTNER))
            .await
            .status,
        422
    );
}

#[tokio::test]
async fn global_lists_cover_every_account() {
    let sim = start_sim(14, 5, 40, "none").await;
    let api = Api::new(&sim);
    let truth = truth::compute(&sim.sim);
    let tx = api.partner("/api/v1/partner/transactions?per_page=1").await;
    assert_eq!(
        tx["total"].as_u64().unwrap(),
        truth.accounts.iter().map(|t| t.ledger_rows).sum::<u64>()
    );
    let cdrs = api.partner("/api/v1/partner/cdrs?per_page=1").await;
    assert_eq!(
        cdrs["pagination"]["total"].as_u64().unwrap(),
        truth.accounts.iter().map(|t| t.window_cdrs).sum::<u64>()
    );
    let one = &truth.accounts[0];
    let filtered = api
        .partner(&format!(
            "/api/v1/partner/transactions?account={}&per_page=1",
            one.auth_id
        ))
        .await;
    assert_eq!(filtered["total"].as_u64().unwrap(), one.ledger_rows);
}

#[tokio::test]
async fn same_seed_gives_byte_identical_responses_and_truth() {
    let (a, b, c) = (
        start_sim(77, 6, 50, "none").await,
        start_sim(77, 6, 50, "none").await,
        start_sim(78, 6, 50, "none").await,
    );
    let (api_a, api_b, api_c) = (Api::new(&a), Api::new(&b), Api::new(&c));
    let list = api_a.partner("/api/v1/partner/accounts").await;
    let id = list["accounts"][0]["auth_id"].as_str().unwrap().to_string();
    let paths = [
        "/api/v1/partner/me".to_string(),
        "/api/v1/partner/dashboard".into(),
        "/api/v1/partner/analytics?from_date=2026-03-01&to_date=2026-03-31".into(),
        "/api/v1/partner/accounts?per_page=100".into(),
        format!("/api/v1/partner/accounts/{id}/transactions?page=2&per_page=10"),
        format!("/api/v1/partner/accounts/{id}/cdrs?page=2&per_page=10"),
        "/api/v1/partner/cdrs?per_page=30".into(),
    ];
    let mut differs = 0;
    for p in &paths {
        let (ra, rb) = (
            api_a.get_as(p, Some(PARTNER)).await,
            api_b.get_as(p, Some(PARTNER)).await,
        );
        assert_eq!(ra.body, rb.body, "{p}");
        differs += (api_c.get_as(p, Some(PARTNER)).await.body != ra.body) as usize;
    }
    assert_eq!(differs, paths.len(), "another seed gives other data");
    let ta = serde_json::to_vec(&truth::compute(&a.sim)).unwrap();
    let tb = serde_json::to_vec(&truth::compute(&b.sim)).unwrap();
    assert_eq!(ta, tb);
}

#[tokio::test]
async fn each_fault_kind_is_injected_then_clears() {
    // Probability 1 with the default streak cap of 2: two faulted attempts, then a clean one.
    let cases: &[(&str, u16)] = &[("429=1", 429), ("500=1", 500), ("502=1", 502), ("503=1", 503)];
    for (spec, status) in cases {
        let sim = start_sim(1, 3, 10, spec).await;
        let api = Api::new(&sim);
        let r = api.get_as("/api/v1/partner/me", Some(PARTNER)).await;
        assert_eq!(r.status.as_u16(), *status, "{spec}");
        match status {
            429 => {
                assert_eq!(r.headers["retry-after"], "1");
                assert_eq!(r.json()["error"]["code"], "RATE_LIMIT_EXCEEDED");
            }
            502 => assert!(String::from_utf8_lossy(&r.body).contains("502 Bad Gateway")),
            _ => {}
        }
        assert_eq!(
            api.get_as("/api/v1/partner/me", Some(PARTNER)).await.status.as_u16(),
            *status
        );
        assert_eq!(
            api.get_as("/api/v1/partner/me", Some(PARTNER)).await.status,
            200,
            "{spec}: clears after the streak"
        );
    }
    let sim = start_sim(1, 3, 10, "truncate=1").await;
    let r = Api::new(&sim).get_as("/api/v1/partner/me", Some(PARTNER)).await;
    assert_eq!(r.status, 200);
    assert!(serde_json::from_slice::<Value>(&r.body).is_err(), "truncated JSON");
    let sim = start_sim(1, 3, 10, "reset=1").await;
    let api = Api::new(&sim);
    let resp = api
        .http
        .get(format!("{}/api/v1/partner/me", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "headers arrive");
    assert!(resp.bytes().await.is_err(), "connection dropped mid-body");
    let sim = start_sim(1, 3, 10, "slow=1,slow-ms=300").await;
    let t = std::time::Instant::now();
    assert_eq!(
        Api::new(&sim).get_as("/api/v1/partner/me", Some(PARTNER)).await.status,
        200
    );
    assert!(t.elapsed() >= std::time::Duration::from_millis(300));
}

#[tokio::test]
async fn page_drift_adds_rows_while_a_client_pages() {
    let sim = start_sim(3, 6, 40, "drift=1").await;
    let api = Api::new(&sim);
    let truth = truth::compute(&sim.sim);
    let t = truth.accounts.iter().find(|t| t.is_active).unwrap();
    let path = format!("/api/v1/partner/accounts/{}/transactions?per_page=10", t.auth_id);
    let before = api.partner(&path).await;
    let after = api.partner(&format!("{path}&page=2")).await;
    let grew = after["total"].as_u64().unwrap() - before["total"].as_u64().unwrap();
    assert!(grew >= 1, "new rows appeared");
    // The shift repeats rows across pages: a client must dedupe by id.
    let first: HashSet<&str> = before["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let repeated = after["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| first.contains(r["id"].as_str().unwrap()))
        .count();
    assert_eq!(repeated as u64, grew);
    // The truth (the period) is unaffected; the live balance includes the new rows.
    let bal = api
        .partner(&format!("/api/v1/partner/accounts/{}/balance", t.auth_id))
        .await;
    assert!(dec(&bal["cash_credits"]) > t.balance_now);
}

async fn start_late_sim(late: bool) -> vobiz_billing::simulator::RunningSimulator {
    use vobiz_billing::simulator::{self, DatasetSpec, FaultSpec};
    let mut spec = DatasetSpec::new(7, 30, 40, "2026-03".parse().unwrap());
    spec.late = late;
    simulator::start(spec, FaultSpec::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// A week after month end, every endpoint still agrees with the truth and with itself: ledger
/// pages, the balance chain, balances, CDR pages and summaries, analytics.
#[tokio::test]
async fn late_period_reads_consistently_over_http() {
    let sim = start_late_sim(true).await;
    let api = Api::new(&sim);
    let truth = truth::compute(&sim.sim);
    assert_eq!(truth.accounts.iter().filter(|t| t.late_change.is_some()).count(), 4);
    let (start, end) = (truth.period_start.clone(), truth.period_end.clone());
    let (mut calls, mut cost) = (0u64, Decimal::ZERO);
    for t in truth.accounts.iter().filter(|t| t.is_active) {
        let path = format!("/api/v1/partner/accounts/{}/transactions", t.auth_id);
        let (rows, envs) = crawl(&api, &path, 200, "transactions").await;
        assert_eq!(envs[0]["total"].as_u64().unwrap(), t.ledger_rows);
        assert_eq!(rows.len() as u64, t.ledger_rows, "pages cover every row once");
        let ids: HashSet<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), rows.len());
        let (mut net, mut p_credit, mut p_debit, mut p_count) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, 0);
        for r in &rows {
            let amount = dec(&r["amount"]);
            let at = r["created_at"].as_str().unwrap();
            let in_period = at >= start.as_str() && at < end.as_str();
            p_count += in_period as u64;
            if r["type"] == "credit" {
                net += amount;
                p_credit += if in_period { amount } else { Decimal::ZERO };
            } else {
                net -= amount;
                p_debit += if in_period { amount } else { Decimal::ZERO };
            }
        }
        assert_eq!(
            (p_count, p_credit, p_debit),
            (t.ledger.count, t.ledger.credit_total, t.ledger.debit_total),
            "{}",
            t.auth_id
        );
        assert_eq!(t.opening_balance + p_credit - p_debit, t.closing_balance);
        assert_eq!(net, t.balance_now, "the ledger explains the balance");
        let bal = api
            .partner(&format!("/api/v1/partner/accounts/{}/balance", t.auth_id))
            .await;
        assert_eq!(dec(&bal["cash_credits"]), t.balance_now);

        let path = format!("/api/v1/partner/accounts/{}/cdrs", t.auth_id);
        let (rows, envs) = crawl(&api, &path, 100, "data").await;
        assert_eq!(envs[0]["pagination"]["total"].as_u64().unwrap(), t.window_cdrs);
        assert_eq!(rows.len() as u64, t.window_cdrs);
        let uuids: HashSet<&str> = rows.iter().map(|r| r["uuid"].as_str().unwrap()).collect();
        assert_eq!(uuids.len(), rows.len());
        let starts: Vec<&str> = rows.iter().map(|r| r["start_time"].as_str().unwrap()).collect();
        assert!(starts.windows(2).all(|w| w[0] >= w[1]), "newest first");
        assert_eq!(
            dec(&envs[0]["summary"]["total_cost"]),
            rows.iter().map(|r| dec(&r["total_cost"])).sum::<Decimal>()
        );
        let (mut count, mut period_cost) = (0, Decimal::ZERO);
        for r in &rows {
            let st = r["start_time"].as_str().unwrap().replace('Z', ".000000Z");
            if st >= truth.period_start && st < truth.period_end {
                count += 1;
                period_cost += dec(&r["total_cost"]);
            }
        }
        assert_eq!((count, period_cost), (t.cdrs.count, t.cdrs.total_cost), "{}", t.auth_id);
        let march = api
            .partner(&format!("{path}?start_date=2026-03-01&end_date=2026-03-31&per_page=1"))
            .await;
        calls += march["summary"]["totalCalls"].as_u64().unwrap();
        cost += dec(&march["summary"]["total_cost"]);
    }
    let an = api
        .partner("/api/v1/partner/analytics?from_date=2026-03-01&to_date=2026-03-31")
        .await;
    assert_eq!(an["calls"]["total_calls"].as_u64().unwrap(), calls);
    assert_eq!(
        dec(&an["calls"]["total_cost"]),
        vobiz_billing::model::money::round_paise(cost)
    );
    let all = api.partner("/api/v1/partner/cdrs?per_page=1").await;
    assert_eq!(
        all["pagination"]["total"].as_u64().unwrap(),
        truth.accounts.iter().map(|t| t.window_cdrs).sum::<u64>()
    );
    let tx = api.partner("/api/v1/partner/transactions?per_page=1").await;
    assert_eq!(
        tx["total"].as_u64().unwrap(),
        truth.accounts.iter().map(|t| t.ledger_rows).sum::<u64>()
    );
}

async fn march_cdrs(api: &Api, auth_id: &str) -> u64 {
    let path = format!("/api/v1/partner/accounts/{auth_id}/cdrs?per_page=1&start_date=2026-03-01&end_date=2026-03-31");
    api.partner(&path).await["pagination"]["total"].as_u64().unwrap()
}

/// The late calls and the refund exist only in the late state, and read as documented.
#[tokio::test]
async fn late_calls_and_refund_show_only_when_late() {
    use vobiz_billing::simulator::LateChange;
    use vobiz_billing::simulator::activity::cdr;
    let (late, before) = (start_late_sim(true).await, start_late_sim(false).await);
    let (api, api0) = (Api::new(&late), Api::new(&before));
    let ds = &late.sim.ds;
    let a = ds.late_account(LateChange::Calls).unwrap();
    assert!((2..=5).contains(&a.late_calls.len()));
    for &i in &a.late_calls {
        let c = cdr(ds, a, i);
        let path = format!("/api/v1/partner/accounts/{}/cdrs/{}", a.auth_id, c.uuid);
        let one = api.partner(&path).await;
        assert_eq!(one["uuid"], c.uuid.to_string());
        assert_eq!(
            api0.get_as(&path, Some(PARTNER)).await.status,
            404,
            "absent at month end"
        );
    }
    assert_eq!(
        march_cdrs(&api, &a.auth_id).await,
        march_cdrs(&api0, &a.auth_id).await + a.late_calls.len() as u64
    );

    let r = ds.late_account(LateChange::Refund).unwrap();
    let voided = cdr(ds, r, r.late_calls[0]);
    let path = format!(
        "/api/v1/partner/accounts/{}/transactions?transaction_type=refund&per_page=200",
        r.auth_id
    );
    let refunds = api.partner(&path).await;
    let row = refunds["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["description"] == format!("Refund for call {}", voided.uuid))
        .expect("the refund row")
        .clone();
    assert_eq!(row["type"], "credit");
    assert_eq!(
        row["reference"],
        format!("cdr_{}", voided.uuid),
        "names the call it refunds"
    );
    assert!(row["created_at"].as_str().unwrap() >= "2026-03-31T18:30:00.000000Z");
    let summary = &refunds["summary"]["by_reference_type"];
    assert!(
        summary
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["reference_type"] == "refund")
    );
    let one = api
        .partner(&format!("/api/v1/partner/accounts/{}/cdrs/{}", r.auth_id, voided.uuid))
        .await;
    let one0 = api0
        .partner(&format!("/api/v1/partner/accounts/{}/cdrs/{}", r.auth_id, voided.uuid))
        .await;
    assert_eq!(one, one0, "the refunded call stays as it was billed");
    assert_eq!(dec(&row["amount"]), dec(&one0["total_cost"]), "refunds what was billed");
    assert!(
        !api0.partner(&path).await["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["description"] == row["description"]),
        "no refund at month end"
    );
}

#[test]
fn sim_takes_a_late_flag() {
    use clap::Parser;
    use vobiz_billing::cli::{Cli, Command};
    let parse = |args: &[&str]| match Cli::try_parse_from(args).unwrap().command {
        Command::Sim(s) => s.late,
        other => panic!("{other:?}"),
    };
    assert!(parse(&["vobiz-billing", "sim", "--late"]));
    assert!(!parse(&["vobiz-billing", "sim"]));
}
