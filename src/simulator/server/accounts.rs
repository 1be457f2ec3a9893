//! Customer accounts as the partner sees them: the list (with search), one account, and its
//! balance.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};

use super::auth::{partner_account, require_partner};
use super::params::{param, positive_int};
use super::{Query_, Reply, Simulator, ok};
use crate::simulator::dataset::Account;
use crate::simulator::wire::*;

pub(super) async fn accounts_list(
    State(sim): State<Arc<Simulator>>,
    h: HeaderMap,
    uri: Uri,
    Query(q): Query_,
) -> Reply {
    require_partner(&sim, &h, &uri)?;
    let page = positive_int(&q, "page", 1)?;
    // `size` is the older name of `per_page`.
    let size_name = if param(&q, "per_page").is_some() {
        "per_page"
    } else {
        "size"
    };
    let per_page = match positive_int(&q, size_name, 20) {
        Ok(v) => v.min(100),
        Err(r) => return Err(r),
    };
    let search = param(&q, "search").map(str::to_lowercase).filter(|s| !s.is_empty());
    let ds = &sim.ds;
    let matching: Vec<&Account> = ds
        .accounts_newest_first
        .iter()
        .map(|&i| &ds.accounts[i as usize])
        .filter(|a| {
            search
                .as_ref()
                .is_none_or(|s| a.name.to_lowercase().contains(s) || a.email.to_lowercase().contains(s))
        })
        .collect();
    let skip = ((page - 1).saturating_mul(per_page)).min(matching.len() as u64) as usize;
    let accounts = matching[skip..]
        .iter()
        .take(per_page as usize)
        .map(|a| AccountObject::new(ds, a, sim.balance(a)))
        .collect();
    ok(&AccountsPage {
        accounts,
        total: matching.len(),
        page,
        size: per_page,
    })
}

pub(super) async fn account_get(
    State(sim): State<Arc<Simulator>>,
    h: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Reply {
    require_partner(&sim, &h, &uri)?;
    match partner_account(&sim, &id) {
        Ok(a) => ok(&AccountObject::new(&sim.ds, a, sim.balance(a))),
        Err(r) => Err(r),
    }
}

pub(super) async fn account_balance(
    State(sim): State<Arc<Simulator>>,
    h: HeaderMap,
    uri: Uri,
    Path(id): Path<String>,
) -> Reply {
    require_partner(&sim, &h, &uri)?;
    let a = partner_account(&sim, &id)?;
    ok(&PartnerBalance {
        auth_id: &a.auth_id,
        name: &a.name,
        cash_credits: sim.balance(a),
        currency: a.currency,
        updated_at: ts_micros_offset(sim.ds.now()),
    })
}
