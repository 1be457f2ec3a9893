//! Partner ledgers (`/accounts/{id}/transactions`, `/transactions`): filters, summaries and
//! newest-first pages over one account or all of them. A served page makes the account's
//! drift rows visible from the next page on.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;

use super::auth::{partner_account, require_partner};
use super::params::{date_param, date_window, newest_first_page, one_of, pages, param, positive_int};
use super::state::View;
use super::{Query_, Reply, Simulator, ok_bytes};
use crate::simulator::activity::{AccountIndex, LedgerKey, LedgerSource, ledger_row};
use crate::simulator::dataset::{Account, Micros, Side};
use crate::simulator::errors::invalid_query;
use crate::simulator::fast_json;
use crate::simulator::wire::*;

fn filter_kind(a: &Account, k: &LedgerKey) -> &'static str {
    match k.source {
        LedgerSource::Call(_)
        | LedgerSource::CallRetry(_)
        | LedgerSource::Stream(_)
        | LedgerSource::NonConnected(_)
        | LedgerSource::DuplicateOf(_)
        | LedgerSource::Orphan
        | LedgerSource::ForeignCurrency => "debit",
        LedgerSource::Opening => "recharge",
        LedgerSource::LateRefund(_) => "refund",
        LedgerSource::Other(j) => a.others[j as usize].filter_kind,
        LedgerSource::Drift(j) => a.drift[j as usize].filter_kind,
    }
}

pub(super) fn reference_type(a: &Account, k: &LedgerKey) -> Option<&'static str> {
    match k.source {
        LedgerSource::Call(_) | LedgerSource::CallRetry(_) | LedgerSource::DuplicateOf(_) | LedgerSource::Orphan => {
            Some("cdr")
        }
        LedgerSource::ForeignCurrency => Some("did_rental"),
        LedgerSource::Stream(_) => Some("stream_cdr"),
        LedgerSource::NonConnected(_) => Some("ncc"),
        LedgerSource::Opening => Some("payment"),
        LedgerSource::LateRefund(_) => Some("refund"),
        LedgerSource::Other(j) => a.others[j as usize].reference_type,
        LedgerSource::Drift(j) => a.drift[j as usize].reference_type,
    }
}

pub(super) fn summarize(sim: &Simulator, rows: &[(u32, u32)]) -> LedgerSummary {
    let mut s = LedgerSummary::default();
    let mut by: BTreeMap<&'static str, ReferenceTypeTotals> = BTreeMap::new();
    let mut current: Option<(u32, Arc<AccountIndex>)> = None;
    for &(ai, pos) in rows {
        let a = &sim.ds.accounts[ai as usize];
        if current.as_ref().is_none_or(|(i, _)| *i != ai) {
            current = Some((ai, sim.index(a)));
        }
        let k = &current.as_ref().expect("set above").1.ledger[pos as usize];
        let rt = reference_type(a, k).unwrap_or("unknown");
        let e = by.entry(rt).or_insert_with(|| ReferenceTypeTotals {
            reference_type: rt.into(),
            ..Default::default()
        });
        s.total_transactions += 1;
        e.count += 1;
        match k.side {
            Side::Credit => {
                s.total_credit += k.amount;
                e.total_credit += k.amount;
            }
            Side::Debit => {
                s.total_debit += k.amount;
                e.total_debit += k.amount;
            }
        }
    }
    s.net_amount = s.total_credit - s.total_debit;
    s.by_reference_type = by.into_values().collect();
    s
}

pub(super) struct PartnerLedgerQuery<'q> {
    page: u64,
    per_page: u64,
    window: (Micros, Micros),
    kind: Option<&'q str>,
    /// A row `status` to select exactly (lower-cased), if given.
    status: Option<String>,
}

pub(super) fn partner_ledger_query(q: &[(String, String)]) -> Result<PartnerLedgerQuery<'_>, Response> {
    let page = positive_int(q, "page", 1)?;
    let per_page = positive_int(q, "per_page", 20)?;
    if per_page > 200 {
        return Err(invalid_query(
            "per_page",
            "less_than_equal",
            "Input should be less than or equal to 200",
            &per_page.to_string(),
        ));
    }
    let window = date_window(date_param(q, "from_date")?, date_param(q, "to_date")?);
    let kind = one_of(q, "transaction_type", &["recharge", "debit", "refund", "transfer"])?;
    let status = param(q, "status").filter(|s| !s.is_empty()).map(str::to_lowercase);
    Ok(PartnerLedgerQuery {
        page,
        per_page,
        window,
        kind,
        status,
    })
}

pub(super) async fn account_transactions(
    State(sim): State<Arc<Simulator>>,
    h: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
    Query(q): Query_,
) -> Reply {
    require_partner(&sim, &h, &uri)?;
    let a = partner_account(&sim, &id)?;
    let pq = partner_ledger_query(&q)?;
    let resp = partner_ledger_page(&sim, &[a], &pq, Some(&a.auth_id));
    sim.touch_ledger(a);
    resp
}

pub(super) async fn all_transactions(
    State(sim): State<Arc<Simulator>>,
    h: HeaderMap,
    uri: Uri,
    Query(q): Query_,
) -> Reply {
    require_partner(&sim, &h, &uri)?;
    let pq = partner_ledger_query(&q)?;
    let accounts: Vec<&Account> = match param(&q, "account").filter(|s| !s.is_empty()) {
        Some(id) => match partner_account(&sim, id) {
            Ok(a) => vec![a],
            Err(r) => return Err(r),
        },
        None => sim.ds.accounts.iter().collect(),
    };
    let resp = partner_ledger_page(&sim, &accounts, &pq, None);
    for a in accounts {
        sim.touch_ledger(a);
    }
    resp
}

/// One page of the partner ledger over `accounts`, newest first.
fn partner_ledger_page(
    sim: &Simulator,
    accounts: &[&Account],
    pq: &PartnerLedgerQuery,
    account_auth_id: Option<&str>,
) -> Reply {
    with_partner_ledger_page(sim, accounts, pq, account_auth_id, |page| {
        ok_bytes(fast_json::ledger_page(page))
    })
}

pub(super) fn with_partner_ledger_page<R>(
    sim: &Simulator,
    accounts: &[&Account],
    pq: &PartnerLedgerQuery,
    account_auth_id: Option<&str>,
    render: impl FnOnce(&PartnerLedgerPage) -> R,
) -> R {
    let key = format!(
        "partner-ledger|{}|{:?}|{:?}|{:?}",
        sim.selection_key(accounts),
        pq.window,
        pq.kind,
        pq.status
    );
    let view = sim.ledger_views.get_or_build(key, || {
        let mut rows: Vec<(Micros, u32, u32)> = Vec::new();
        for a in accounts {
            let idx = sim.index(a);
            let visible = idx.visible_ledger(sim.drift_visible(a));
            let lo = visible.partition_point(|k| k.at < pq.window.0);
            let hi = visible.partition_point(|k| k.at < pq.window.1);
            rows.extend(
                (lo..hi)
                    .filter(|&p| pq.kind.is_none_or(|want| filter_kind(a, &visible[p]) == want))
                    .filter(|&p| {
                        pq.status
                            .as_deref()
                            .is_none_or(|want| visible[p].status.as_str() == want)
                    })
                    .map(|p| (visible[p].at, a.index, p as u32)),
            );
        }
        // Positions are oldest first within an account; merge accounts by time.
        rows.sort_unstable();
        let rows: Vec<(u32, u32)> = rows.into_iter().map(|(_, a, p)| (a, p)).collect();
        let summary = summarize(sim, &rows);
        View { rows, summary }
    });
    let total = view.rows.len() as u64;
    let transactions = newest_first_page(view.rows.len(), pq.page, pq.per_page)
        .map(|p| {
            let (ai, pos) = view.rows[p];
            let a = &sim.ds.accounts[ai as usize];
            let k = sim.index(a).ledger[pos as usize];
            LedgerObject::new(a, ledger_row(&sim.ds, a, &k), false)
        })
        .collect();
    render(&PartnerLedgerPage {
        transactions,
        summary: &view.summary,
        total,
        page: pq.page,
        per_page: pq.per_page,
        total_pages: pages(total, pq.per_page),
        account_auth_id,
    })
}
