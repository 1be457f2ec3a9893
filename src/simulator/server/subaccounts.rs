//! The Subaccount API, with the customer's own credentials (the partner's are refused as on
//! every account endpoint): the list, newest first, `size` 25 by default and at most 100
//! (above, clamped and echoed, *inferred*), `active_only` to leave out disabled ones; and one
//! subaccount by its `SA_…` id. Deleted subaccounts are not shown.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};

use super::auth::require_customer;
use super::params::{param, positive_int};
use super::{Query_, Reply, Simulator, ok};
use crate::simulator::errors::{account_error, invalid_query};
use crate::simulator::subaccounts::SubAccount;
use crate::simulator::wire::{SubAccountObject, SubAccountsPage};

pub(super) async fn subaccounts_list(
    State(sim): State<Arc<Simulator>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query_,
) -> Reply {
    let a = require_customer(&sim, &h, &id)?;
    let page = positive_int(&q, "page", 1)?;
    let size = positive_int(&q, "size", 25)?.min(100);
    let active_only = match param(&q, "active_only") {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(v) => {
            return Err(invalid_query(
                "active_only",
                "bool_parsing",
                "Input should be a valid boolean, unable to interpret input",
                v,
            ));
        }
    };
    let mut shown: Vec<&SubAccount> = a
        .subaccounts
        .iter()
        .filter(|s| s.listed && (!active_only || s.enabled))
        .collect();
    shown.sort_by(|x, y| (y.created_at, &y.auth_id).cmp(&(x.created_at, &x.auth_id)));
    let skip = ((page - 1).saturating_mul(size)).min(shown.len() as u64) as usize;
    let now = sim.ds.now();
    ok(&SubAccountsPage {
        sub_accounts: shown[skip..]
            .iter()
            .take(size as usize)
            .map(|s| SubAccountObject::new(a, s, false, now))
            .collect(),
        total: shown.len(),
        page,
        size,
    })
}

pub(super) async fn subaccount_get(
    State(sim): State<Arc<Simulator>>,
    h: HeaderMap,
    Path((id, sub)): Path<(String, String)>,
) -> Reply {
    let a = require_customer(&sim, &h, &id)?;
    match a.subaccounts.iter().find(|s| s.listed && s.auth_id == sub) {
        Some(s) => ok(&SubAccountObject::new(a, s, true, sim.ds.now())),
        None => Err(account_error(StatusCode::NOT_FOUND, "Sub-account not found")),
    }
}
