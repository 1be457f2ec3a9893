//! Partner CDR endpoints (`/accounts/{id}/cdrs`, `/accounts/{id}/cdrs/{uuid}`, `/cdrs`):
//! filters, the selection's summary and newest-first pages.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use rust_decimal::Decimal;

use super::auth::{partner_account, require_partner};
use super::params::{date_param, date_window, newest_first_page, one_of, pages, param, positive_int};
use super::state::View;
use super::{Query_, Reply, Simulator, ok, ok_bytes};
use crate::simulator::activity::{AccountIndex, CallStatus, CdrKey, cdr};
use crate::simulator::dataset::{Account, Micros};
use crate::simulator::errors::{invalid_query, not_found};
use crate::simulator::fast_json;
use crate::simulator::wire::*;

pub(super) struct CdrQuery<'q> {
    page: u64,
    per_page: u64,
    pub(super) window: (Micros, Micros),
    direction: Option<&'q str>,
    status: Option<&'q str>,
    hangup_cause: Option<&'q str>,
    min_duration: Option<u32>,
}

pub(super) fn cdr_query(q: &[(String, String)]) -> Result<CdrQuery<'_>, Response> {
    let min_duration = match param(q, "min_duration") {
        None | Some("") => None,
        Some(v) => Some(
            v.parse::<u32>()
                .map_err(|_| invalid_query("min_duration", "int_parsing", "Input should be a valid integer", v))?,
        ),
    };
    Ok(CdrQuery {
        page: positive_int(q, "page", 1)?,
        per_page: positive_int(q, "per_page", 20)?.min(100),
        window: date_window(date_param(q, "start_date")?, date_param(q, "end_date")?),
        direction: one_of(q, "call_direction", &["inbound", "outbound"])?,
        status: one_of(q, "status", &["answered", "failed", "busy", "no_answer"])?,
        hangup_cause: param(q, "hangup_cause").filter(|v| !v.is_empty()),
        min_duration,
    })
}

impl CdrQuery<'_> {
    fn keeps(&self, c: &CdrKey) -> bool {
        self.direction.is_none_or(|d| d == c.direction.as_str())
            && self.status.is_none_or(|s| s == c.status.filter_name())
            && self.hangup_cause.is_none_or(|h| h == c.status.hangup().0)
            && self.min_duration.is_none_or(|m| c.duration >= m)
    }
}

fn cdr_summary(keys: &[&CdrKey]) -> CdrSummary {
    let total = keys.len() as u64;
    let answered = keys.iter().filter(|c| c.status == CallStatus::Answered).count() as u64;
    let duration: u64 = keys.iter().map(|c| c.duration as u64).sum();
    let rate = if total == 0 {
        Decimal::ZERO
    } else {
        (Decimal::from(answered * 100) / Decimal::from(total)).round_dp(1)
    };
    CdrSummary {
        answer_rate: rate,
        answered_calls: answered,
        avg_call_duration: format!("{}s", (duration + total / 2).checked_div(total).unwrap_or(0)),
        last_call_at: keys.iter().map(|c| c.start).max().map(ts_seconds_z),
        total_calls: total,
        total_billable_seconds: keys.iter().map(|c| c.billsec as u64).sum(),
        total_cost: keys.iter().map(|c| c.total_cost).sum(),
        total_duration_seconds: duration,
    }
}

/// One page of CDRs over `accounts`, newest first, with pagination and the selection's view.
pub(super) fn cdr_page<'a>(
    sim: &'a Simulator,
    accounts: &[&'a Account],
    cq: &CdrQuery,
) -> (Vec<CdrObject<'a>>, Pagination, Arc<View<CdrSummary>>) {
    let key = format!(
        "cdrs|{}|{:?}|{:?}|{:?}|{:?}|{:?}",
        sim.selection_key(accounts),
        cq.window,
        cq.direction,
        cq.status,
        cq.hangup_cause,
        cq.min_duration
    );
    let view = sim.cdr_views.get_or_build(key, || {
        let indices: Vec<Arc<AccountIndex>> = accounts.iter().map(|a| sim.index(a)).collect();
        let mut rows: Vec<(Micros, u32, u32)> = Vec::new();
        for (a, idx) in accounts.iter().zip(&indices) {
            let range = idx.cdr_range(cq.window.0, cq.window.1);
            rows.extend(
                range
                    .filter(|&i| cq.keeps(&idx.cdrs[i]))
                    .map(|i| (idx.cdrs[i].start, a.index, i as u32)),
            );
        }
        rows.sort_unstable();
        let keys: Vec<&CdrKey> = rows
            .iter()
            .map(|&(_, ai, i)| {
                let pos = accounts.iter().position(|a| a.index == ai).expect("selected account");
                &indices[pos].cdrs[i as usize]
            })
            .collect();
        let summary = cdr_summary(&keys);
        // Rows name each call by its CDR index (positions were only for the keys above).
        let rows = rows.into_iter().zip(&keys).map(|((_, a, _), k)| (a, k.index)).collect();
        View { rows, summary }
    });
    let total = view.rows.len() as u64;
    let data: Vec<CdrObject> = newest_first_page(view.rows.len(), cq.page, cq.per_page)
        .map(|p| {
            let (ai, i) = view.rows[p];
            let a = &sim.ds.accounts[ai as usize];
            CdrObject::new(a, cdr(&sim.ds, a, i))
        })
        .collect();
    let n_pages = pages(total, cq.per_page);
    let pagination = Pagination {
        page: cq.page,
        per_page: cq.per_page,
        total,
        pages: n_pages,
        has_next: cq.page < n_pages,
        has_prev: cq.page > 1,
    };
    (data, pagination, view)
}

pub(super) async fn account_cdrs(
    State(sim): State<Arc<Simulator>>,
    h: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    Query(q): Query_,
) -> Reply {
    require_partner(&sim, &h, &uri)?;
    let a = partner_account(&sim, &id)?;
    let cq = cdr_query(&q)?;
    let (data, pagination, view) = cdr_page(&sim, &[a], &cq);
    ok_bytes(fast_json::cdr_page(&PartnerCdrPage {
        success: true,
        account_id: Some(&a.id),
        account_auth_id: Some(&a.auth_id),
        count: data.len(),
        data,
        pagination,
        summary: &view.summary,
    }))
}

pub(super) async fn all_cdrs(State(sim): State<Arc<Simulator>>, h: HeaderMap, uri: Uri, Query(q): Query_) -> Reply {
    require_partner(&sim, &h, &uri)?;
    let cq = cdr_query(&q)?;
    let accounts: Vec<&Account> = sim.ds.accounts.iter().collect();
    let (data, pagination, view) = cdr_page(&sim, &accounts, &cq);
    ok_bytes(fast_json::cdr_page(&PartnerCdrPage {
        success: true,
        account_id: None,
        account_auth_id: None,
        count: data.len(),
        data,
        pagination,
        summary: &view.summary,
    }))
}

pub(super) async fn account_cdr(
    State(sim): State<Arc<Simulator>>,
    h: HeaderMap,
    uri: Uri,
    Path((id, call_uuid)): Path<(String, String)>,
) -> Reply {
    require_partner(&sim, &h, &uri)?;
    let a = partner_account(&sim, &id)?;
    let Ok(wanted) = uuid::Uuid::parse_str(&call_uuid) else {
        return Err(not_found("CDR"));
    };
    match (0..sim.ds.call_count(a))
        .map(|i| cdr(&sim.ds, a, i))
        .find(|c| c.uuid == wanted)
    {
        Some(c) => ok(&CdrObject::new(a, c)),
        None => Err(not_found("CDR")),
    }
}
