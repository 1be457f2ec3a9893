//! Partner profile, dashboard and analytics (`/me`, `/dashboard`, `/analytics`): daily
//! traffic aggregated over every account.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;

use super::auth::require_partner;
use super::params::{date_param, day_start};
use super::state::{DayAgg, day_number};
use super::{Query_, Reply, Simulator, ok};
use crate::simulator::dataset;
use crate::simulator::errors::invalid_query;
use crate::simulator::wire::*;

pub(super) async fn me(State(sim): State<Arc<Simulator>>, h: HeaderMap, uri: Uri) -> Reply {
    require_partner(&sim, &h, &uri)?;
    ok(&PartnerProfile::new(&sim.ds, true))
}

pub(super) async fn dashboard(State(sim): State<Arc<Simulator>>, h: HeaderMap, uri: Uri) -> Reply {
    require_partner(&sim, &h, &uri)?;
    let to = dataset::to_datetime(sim.ds.now()).date_naive();
    let from = to - Duration::days(30);
    tokio::task::spawn_blocking(move || analytics_body(&sim, from, to))
        .await
        .unwrap_or_else(|e| Err((StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()))
}

pub(super) async fn analytics(State(sim): State<Arc<Simulator>>, h: HeaderMap, uri: Uri, Query(q): Query_) -> Reply {
    require_partner(&sim, &h, &uri)?;
    let today = dataset::to_datetime(sim.ds.now()).date_naive();
    let from = date_param(&q, "from_date")?.unwrap_or(today - Duration::days(30));
    let to = date_param(&q, "to_date")?.unwrap_or(today);
    if from > to {
        let msg = "from_date must not be after to_date";
        return Err(invalid_query("from_date", "value_error", msg, &from.to_string()));
    }
    if (to - from).num_days() > 366 {
        let msg = "date range must not exceed 366 days";
        return Err(invalid_query("to_date", "value_error", msg, &to.to_string()));
    }
    tokio::task::spawn_blocking(move || analytics_body(&sim, from, to))
        .await
        .unwrap_or_else(|e| Err((StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()))
}

fn analytics_body(sim: &Simulator, from: NaiveDate, to: NaiveDate) -> Reply {
    let ds = &sim.ds;
    let day0 = day_number(ds.window_start);
    let first = day_number(day_start(from)) - day0;
    let last = day_number(day_start(to)) - day0;
    let mut series: BTreeMap<i64, DayAgg> = (first..=last).map(|d| (d, DayAgg::default())).collect();
    let mut total_balance = Decimal::ZERO;
    for a in &ds.accounts {
        let t = sim.totals(a);
        total_balance += sim.balance(a);
        for (d, agg) in t.days.range(first..=last) {
            let s = series.get_mut(d).expect("pre-filled");
            s.inbound.merge(&agg.inbound);
            s.outbound.merge(&agg.outbound);
            s.voice_api.merge(&agg.voice_api);
            s.sip_trunking.merge(&agg.sip_trunking);
        }
    }
    let mut all = DayAgg::default();
    let mut time_series = Vec::with_capacity(series.len());
    for (d, agg) in &series {
        all.inbound.merge(&agg.inbound);
        all.outbound.merge(&agg.outbound);
        all.voice_api.merge(&agg.voice_api);
        all.sip_trunking.merge(&agg.sip_trunking);
        let mut both = agg.inbound;
        both.merge(&agg.outbound);
        let day = chrono::DateTime::from_timestamp((day0 + d) * 86_400, 0)
            .expect("in range")
            .date_naive();
        time_series.push(DayPoint {
            date: day.to_string(),
            total_calls: both.calls,
            answered_calls: both.answered,
            total_minutes: both.minutes(),
            total_cost: both.cost,
            inbound: agg.inbound.counts(),
            outbound: agg.outbound.counts(),
        });
    }
    let mut calls = all.inbound;
    calls.merge(&all.outbound);
    let customers = ds
        .accounts_newest_first
        .iter()
        .map(|&i| {
            let a = &ds.accounts[i as usize];
            CustomerBrief {
                auth_id: &a.auth_id,
                name: &a.name,
                email: &a.email,
                phone: &a.phone,
                is_active: a.is_active,
                created_at: ts_micros_offset(a.created_at),
            }
        })
        .collect();
    ok(&Analytics {
        partner: PartnerProfile::new(ds, false),
        period: DatePeriod {
            from: from.to_string(),
            to: to.to_string(),
        },
        accounts: AccountsBlock {
            total: ds.accounts.len(),
            active: ds.accounts.iter().filter(|a| a.is_active).count(),
            customers,
        },
        total_balance,
        currency: ds.partner.currency,
        calls: calls.totals(),
        traffic: Traffic {
            inbound: all.inbound.totals(),
            outbound: all.outbound.totals(),
        },
        by_product: ByProduct {
            sip_trunking: all.sip_trunking.totals(),
            voice_api: all.voice_api.totals(),
        },
        time_series,
    })
}
