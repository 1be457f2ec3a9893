//! `YYYY-MM/reconciliation.html`: exceptions first, grouped by severity, then every account,
//! then what was billed for the period: each invoice with the credit and debit notes that
//! corrected it.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use super::{AccountCheck, ExceptionRow, Severity};
use crate::context::RunContext;
use crate::model::document::DocumentKind;
use crate::model::money::indian;
use crate::render::Renderer;
use crate::store::invoices::DocumentRow;

#[derive(Serialize)]
struct View<'a> {
    period: String,
    partner: &'a str,
    time_zone: &'a str,
    currency: &'a str,
    tolerance: String,
    accounts: usize,
    accounts_ok: usize,
    errors: usize,
    warnings: usize,
    notes: usize,
    groups: Vec<Group<'a>>,
    rows: Vec<Row<'a>>,
    billed: Vec<Billed<'a>>,
}

/// One account's documents for the period's supply.
#[derive(Serialize)]
struct Billed<'a> {
    auth_id: &'a str,
    name: &'a str,
    invoice: &'a str,
    invoice_total: String,
    notes: Vec<&'a str>,
    /// Invoice + debit notes - credit notes, incl. tax.
    net: String,
}

#[derive(Serialize)]
struct Group<'a> {
    severity: &'static str,
    label: &'static str,
    rows: Vec<ExceptionView<'a>>,
}

#[derive(Serialize)]
struct ExceptionView<'a> {
    auth_id: &'a str,
    name: &'a str,
    kind: &'a str,
    reference: &'a str,
    expected: String,
    actual: String,
    difference: String,
    detail: &'a str,
}

#[derive(Serialize)]
struct Row<'a> {
    status: &'static str,
    auth_id: &'a str,
    name: &'a str,
    opening: String,
    credits: String,
    debits: String,
    closing: String,
    expected_closing: String,
    calls: i64,
    call_cost: String,
    call_debits: String,
    gstin_status: &'a str,
}

fn amount(d: Option<Decimal>) -> String {
    d.map(indian).unwrap_or_default()
}

/// Amounts that may carry sub-paisa precision are shown with all their places.
fn exact(d: Option<Decimal>) -> String {
    d.map(|d| {
        if d.round_dp(2) == d {
            indian(d)
        } else {
            d.normalize().to_string()
        }
    })
    .unwrap_or_default()
}

pub fn render(
    renderer: &Renderer,
    s: &RunContext,
    checks: &[AccountCheck],
    exceptions: &[ExceptionRow],
    documents: &[DocumentRow],
) -> anyhow::Result<String> {
    let count = |sev| exceptions.iter().filter(|e| e.severity == sev).count();
    let groups = [
        (Severity::Error, "Errors"),
        (Severity::Warning, "Warnings"),
        (Severity::Note, "Notes"),
    ]
    .into_iter()
    .filter_map(|(sev, label)| {
        let rows: Vec<ExceptionView> = exceptions
            .iter()
            .filter(|e| e.severity == sev)
            .map(|e| ExceptionView {
                auth_id: &e.auth_id,
                name: &e.name,
                kind: e.kind.as_str(),
                reference: e.reference.as_deref().unwrap_or(""),
                expected: exact(e.expected),
                actual: exact(e.actual),
                difference: exact(e.difference),
                detail: &e.detail,
            })
            .collect();
        (!rows.is_empty()).then_some(Group {
            severity: sev.as_str(),
            label,
            rows,
        })
    })
    .collect();
    let mut ordered: Vec<&AccountCheck> = checks.iter().collect();
    ordered.sort_by(|a, b| (std::cmp::Reverse(a.status), &a.auth_id).cmp(&(std::cmp::Reverse(b.status), &b.auth_id)));
    let rows = ordered
        .into_iter()
        .map(|c| Row {
            status: c.status.as_str(),
            auth_id: &c.auth_id,
            name: &c.name,
            opening: amount(c.opening_balance),
            credits: indian(c.credits),
            debits: indian(c.debits),
            closing: amount(c.closing_balance),
            expected_closing: amount(c.expected_closing),
            calls: c.calls,
            call_cost: exact(Some(c.call_cost)),
            call_debits: exact(Some(c.call_debits)),
            gstin_status: &c.gstin_status,
        })
        .collect();
    let mut notes: BTreeMap<&str, Vec<&DocumentRow>> = BTreeMap::new();
    for n in documents.iter().filter(|n| n.kind != DocumentKind::Invoice) {
        notes.entry(n.auth_id.as_str()).or_default().push(n);
    }
    let billed: Vec<Billed> = documents
        .iter()
        .filter(|d| d.kind == DocumentKind::Invoice)
        .map(|d| {
            let mine = notes.get(d.auth_id.as_str()).map_or(&[][..], Vec::as_slice);
            Billed {
                auth_id: &d.auth_id,
                name: &d.customer_name,
                invoice: &d.number,
                invoice_total: indian(d.total),
                notes: mine.iter().map(|n| n.number.as_str()).collect(),
                net: indian(d.total + mine.iter().map(|n| n.kind.sign() * n.total).sum::<Decimal>()),
            }
        })
        .collect();
    let view = View {
        period: s.period.to_string(),
        partner: &s.partner,
        time_zone: s.time_zone.name(),
        currency: &s.currency,
        tolerance: s.config.reconcile.tolerance.to_string(),
        accounts: checks.len(),
        accounts_ok: checks.iter().filter(|c| c.status <= Severity::Note).count(),
        errors: count(Severity::Error),
        warnings: count(Severity::Warning),
        notes: count(Severity::Note),
        groups,
        rows,
        billed,
    };
    renderer.render("reconciliation.html", &view)
}
