//! The account-level billing API (`/Account/{id}/transactions`, `/balance/{currency}`,
//! `/cdr`), called with the customer's own credentials. Its conventions differ from the
//! partner endpoints: lenient integers, 500 on a bad ledger date, `{"error": {…}}` bodies.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

use super::auth::require_customer;
use super::cdrs::{cdr_page, cdr_query};
use super::ledger::{reference_type, summarize};
use super::params::{newest_first_page, pages, param, v3_instant};
use super::state::View;
use super::{Query_, Reply, Simulator, ok};
use crate::simulator::activity::ledger_row;
use crate::simulator::dataset::Micros;
use crate::simulator::errors::{account_error, json_response};
use crate::simulator::wire::*;

pub(super) async fn ledger_v3(
    State(sim): State<Arc<Simulator>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query_,
) -> Reply {
    let a = require_customer(&sim, &h, &id)?;
    let failed = || {
        json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"error": "Failed to retrieve transactions"}),
        )
    };
    // Go-style lenient integers: anything unparsable is the default. limit/offset are ignored.
    let page = param(&q, "page")
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&p| p >= 1)
        .unwrap_or(1);
    let per_page = param(&q, "per_page")
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&p| (1..=1000).contains(&p))
        .unwrap_or(50);
    let from = match param(&q, "from_date").filter(|v| !v.is_empty()) {
        Some(v) => match v3_instant(v, false) {
            Some(t) => t,
            None => return Err(failed()),
        },
        None => Micros::MIN,
    };
    let to_inclusive = match param(&q, "to_date").filter(|v| !v.is_empty()) {
        Some(v) => match v3_instant(v, true) {
            Some(t) => t,
            None => return Err(failed()),
        },
        None => Micros::MAX,
    };
    let lower = |name: &str| param(&q, name).filter(|v| !v.is_empty()).map(str::to_lowercase);
    let (kind, status, currency) = (
        lower("type"),
        lower("status"),
        param(&q, "currency").map(str::to_uppercase),
    );
    let (rtype, desc, reference, txn) = (
        lower("reference_type"),
        lower("description"),
        lower("reference"),
        lower("transaction_id"),
    );

    let key = format!(
        "account-ledger|{}|{from}|{to_inclusive}|{kind:?}|{status:?}|{currency:?}|{rtype:?}|{desc:?}|{reference:?}|{txn:?}",
        sim.selection_key(&[a])
    );
    let view = sim.ledger_views.get_or_build(key, || {
        let idx = sim.index(a);
        let visible = idx.visible_ledger(sim.drift_visible(a));
        let lo = visible.partition_point(|k| k.at < from);
        let hi = visible.partition_point(|k| k.at <= to_inclusive);
        let needs_rows = desc.is_some() || reference.is_some() || txn.is_some();
        let rows: Vec<(u32, u32)> = (lo..hi)
            .filter(|&p| {
                let k = &visible[p];
                kind.as_deref().is_none_or(|t| t == k.side.as_str())
                    && status.as_deref().is_none_or(|s| s == k.status.as_str())
                    && currency.as_deref().is_none_or(|c| c == a.currency)
                    && rtype.as_deref().is_none_or(|t| reference_type(a, k) == Some(t))
                    && (!needs_rows || {
                        let r = ledger_row(&sim.ds, a, k);
                        desc.as_deref().is_none_or(|d| r.description.to_lowercase().contains(d))
                            && reference
                                .as_deref()
                                .is_none_or(|x| r.reference.as_deref().is_some_and(|rf| rf.to_lowercase().contains(x)))
                            && txn.as_deref().is_none_or(|t| r.id.to_string() == t)
                    })
            })
            .map(|p| (a.index, p as u32))
            .collect();
        let summary = summarize(&sim, &rows);
        View { rows, summary }
    });
    let total = view.rows.len() as u64;
    let idx = sim.index(a);
    let transactions = newest_first_page(view.rows.len(), page, per_page)
        .map(|p| LedgerObject::new(a, ledger_row(&sim.ds, a, &idx.ledger[view.rows[p].1 as usize]), true))
        .collect();
    let resp = ok(&AccountLedgerPage {
        transactions,
        summary: &view.summary,
        total,
        page,
        per_page,
        total_pages: pages(total, per_page),
    });
    sim.touch_ledger(a);
    resp
}

pub(super) async fn balance_v3(
    State(sim): State<Arc<Simulator>>,
    h: HeaderMap,
    Path((id, currency)): Path<(String, String)>,
) -> Reply {
    let a = require_customer(&sim, &h, &id)?;
    if !currency.eq_ignore_ascii_case(a.currency) {
        return Err(account_error(StatusCode::NOT_FOUND, "Balance not found for currency"));
    }
    let balance = sim.balance(a);
    ok(&AccountBalance {
        id: a.balance_id,
        account_id: &a.auth_id,
        currency: a.currency,
        balance,
        reserved_funds: 0,
        promotional_balance: 0,
        promotional_reserved_balance: 0,
        available_balance: balance,
        credit_limit: a.credit_limit,
        is_postpaid: false,
        credit_limit_type: "soft",
        low_balance_threshold: a.low_balance_threshold,
        status: "active",
        created_at: ts_micros_z(a.created_at),
        updated_at: ts_micros_z(sim.ds.now()),
    })
}

/// `GET /Account/{id}/cdr`: `start_date` and `end_date` apply only together (a lone date is
/// ignored, as documented).
pub(super) async fn cdr_list_v3(
    State(sim): State<Arc<Simulator>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query_,
) -> Reply {
    let a = require_customer(&sim, &h, &id)?;
    let mut cq = match cdr_query(&q) {
        Ok(v) => v,
        Err(r) => return Err(r),
    };
    if param(&q, "start_date").is_none() || param(&q, "end_date").is_none() {
        cq.window = (Micros::MIN, Micros::MAX);
    }
    let (data, pagination, view) = cdr_page(&sim, &[a], &cq);
    ok(&PartnerCdrPage {
        success: true,
        account_id: Some(&a.auth_id),
        account_auth_id: None,
        count: data.len(),
        data,
        pagination,
        summary: &view.summary,
    })
}
