//! Report: the partner's monthly report, `YYYY-MM/report.html`, from the period's Parquet.
//!
//! KPIs (customers, balances held, calls, minutes, cost, revenue incl. tax), the split by
//! direction and product, daily charts (inline SVG, [`chart`]), top customers, low balances,
//! the reconciliation exceptions and a link to every invoice. Figures are exact decimals
//! summed here; only the chart geometry uses floating point.

pub mod chart;

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::context::RunContext;
use crate::model::document::DocumentKind;
use crate::model::document::file_stem;
use crate::model::money::indian;
use crate::model::product::product_label;
use crate::output::write_atomic;
use crate::render::Renderer;
use crate::store::invoices::{DocumentRow, DocumentSummaryRow, InvoiceRow};
use crate::store::normalized::{AccountRow, BalanceRow, CdrRow, SubaccountRow};
use crate::store::read;
use crate::store::reconciliation::{ExceptionKind, ExceptionRow};

/// Calls, answered calls, billed seconds and cost of a slice of the traffic.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize)]
pub struct Traffic {
    pub calls: i64,
    pub answered: i64,
    pub billsec: i64,
    pub cost: Decimal,
}

impl Traffic {
    fn add(&mut self, answered: bool, billsec: i64, cost: Decimal) {
        self.calls += 1;
        self.answered += answered as i64;
        self.billsec += billsec;
        self.cost += cost;
    }

    /// Billed minutes, to the hundredth.
    pub fn minutes(&self) -> Decimal {
        (Decimal::from(self.billsec) / Decimal::from(60)).round_dp(2)
    }
}

#[derive(Debug, Default, Clone)]
pub struct Customer {
    pub auth_id: String,
    pub name: String,
    pub active: bool,
    pub closing_balance: Option<Decimal>,
    pub traffic: Traffic,
    pub invoice: Option<InvoiceRef>,
    /// Its subaccounts as listed, and any unlisted one that placed calls, by `auth_id`.
    pub subaccounts: BTreeMap<String, Subaccount>,
}

#[derive(Debug, Default, Clone)]
pub struct Subaccount {
    /// Empty when the list does not show it.
    pub name: String,
    /// `None` when the list does not show it.
    pub enabled: Option<bool>,
    /// Microseconds since the epoch.
    pub created_at: Option<i64>,
    pub traffic: Traffic,
}

#[derive(Debug, Clone)]
pub struct InvoiceRef {
    /// Empty for a draft.
    pub number: String,
    pub draft: bool,
    pub taxable: Decimal,
    pub total: Decimal,
}

#[derive(Debug, Clone)]
pub struct ExceptionLine {
    pub auth_id: String,
    pub name: String,
    pub severity: String,
    pub kind: ExceptionKind,
    pub expected: Option<Decimal>,
    pub actual: Option<Decimal>,
}

/// Everything the report shows, exact.
#[derive(Debug, Default)]
pub struct Figures {
    pub customers: Vec<Customer>,
    pub traffic: Traffic,
    /// Calls in another currency than the partner's (left out of the money figures).
    pub foreign_currency_calls: i64,
    pub by_direction: BTreeMap<String, Traffic>,
    pub by_product: BTreeMap<String, Traffic>,
    /// Partner-time-zone day → (direction → traffic); every day of the period is present.
    pub days: BTreeMap<NaiveDate, BTreeMap<String, Traffic>>,
    pub exceptions: Vec<ExceptionLine>,
    /// Credit and debit notes of the period's supply.
    pub notes: Vec<DocumentRow>,
    /// Documents dated in the period, per series (GSTR-1 Table 13).
    pub document_summary: Vec<DocumentSummaryRow>,
}

impl Figures {
    pub fn balances_held(&self) -> Decimal {
        self.customers.iter().filter_map(|c| c.closing_balance).sum()
    }

    pub fn revenue(&self) -> (Decimal, Decimal) {
        let inv = self.customers.iter().filter_map(|c| c.invoice.as_ref());
        inv.fold((Decimal::ZERO, Decimal::ZERO), |(t, g), i| (t + i.taxable, g + i.total))
    }
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub customers: usize,
    pub calls: i64,
    pub cost: Decimal,
    pub revenue_incl_tax: Decimal,
    pub seconds: f64,
}

/// How many customers the "top customers" table lists.
const TOP_CUSTOMERS: usize = 10;

pub fn run(ctx: &RunContext) -> anyhow::Result<Report> {
    let started = std::time::Instant::now();
    let figures = figures(ctx)?;
    let html = render(&Renderer::new()?, ctx, &figures)?;
    write_atomic(&ctx.layout.report_html(ctx.period), html.as_bytes())?;
    Ok(Report {
        customers: figures.customers.len(),
        calls: figures.traffic.calls,
        cost: figures.traffic.cost,
        revenue_incl_tax: figures.revenue().1,
        seconds: started.elapsed().as_secs_f64(),
    })
}

pub fn figures(ctx: &RunContext) -> anyhow::Result<Figures> {
    let (layout, s, p) = (&ctx.layout, ctx, ctx.period);
    let mut f = Figures::default();
    let mut index: HashMap<String, usize> = HashMap::new();
    for a in read::all::<AccountRow>(layout, p)? {
        index.insert(a.auth_id.clone(), f.customers.len());
        f.customers.push(Customer {
            auth_id: a.auth_id,
            name: a.company.unwrap_or(a.name),
            active: a.is_active.unwrap_or(false),
            ..Default::default()
        });
    }
    for b in read::all::<BalanceRow>(layout, p)? {
        if let Some(&k) = index.get(&b.auth_id)
            && b.currency == s.currency
        {
            f.customers[k].closing_balance = Some(b.closing_balance);
        }
    }
    for sub in read::all::<SubaccountRow>(layout, p)? {
        if let Some(&k) = index.get(&sub.account_id) {
            f.customers[k].subaccounts.insert(
                sub.auth_id,
                Subaccount {
                    name: sub.name,
                    enabled: Some(sub.enabled),
                    created_at: Some(sub.created_at),
                    traffic: Traffic::default(),
                },
            );
        }
    }
    for day in p.first_day().iter_days().take_while(|d| *d <= p.last_day()) {
        f.days.entry(day).or_default();
    }
    // Only the columns the report shows: the others of the widest table are never decoded.
    let k = CdrRow::COL;
    let columns = [
        k.account_id,
        k.currency,
        k.answer_time,
        k.billsec,
        k.total_cost,
        k.call_direction,
        k.context,
        k.start_time,
        k.subaccount_id,
    ];
    for calls in read::partition_columns::<CdrRow>(layout, p, &columns)? {
        for c in calls? {
            if c.currency != s.currency {
                f.foreign_currency_calls += 1;
                continue;
            }
            let (answered, secs, cost) = (c.answer_time.is_some(), c.billsec as i64, c.total_cost);
            let direction = c.call_direction.to_string();
            f.traffic.add(answered, secs, cost);
            f.by_direction
                .entry(direction.clone())
                .or_default()
                .add(answered, secs, cost);
            f.by_product
                .entry(product_label(c.context.as_deref().unwrap_or("")).into())
                .or_default()
                .add(answered, secs, cost);
            if let Some(k) = index.get(c.account_id.as_str()) {
                let customer = &mut f.customers[*k];
                customer.traffic.add(answered, secs, cost);
                if let Some(sub) = c.subaccount_id.as_deref() {
                    customer
                        .subaccounts
                        .entry(sub.to_string())
                        .or_default()
                        .traffic
                        .add(answered, secs, cost);
                }
            }
            if let Some(t) = chrono::DateTime::from_timestamp_micros(c.start_time) {
                // Calls are in the period (normalize kept them so), so their day is one of its days.
                let d = t.with_timezone(&s.time_zone).date_naive();
                f.days
                    .entry(d)
                    .or_default()
                    .entry(direction)
                    .or_default()
                    .add(answered, secs, cost);
            }
        }
    }
    for i in read::all::<InvoiceRow>(layout, p)? {
        if let Some(&k) = index.get(&i.auth_id) {
            f.customers[k].invoice = Some(InvoiceRef {
                number: i.number,
                draft: i.draft,
                taxable: i.taxable,
                total: i.total,
            });
        }
    }
    f.notes = read::all::<DocumentRow>(layout, p)?
        .into_iter()
        .filter(|d| d.kind != DocumentKind::Invoice)
        .collect();
    f.document_summary = read::all::<DocumentSummaryRow>(layout, p)?;
    for e in read::all::<ExceptionRow>(layout, p)? {
        f.exceptions.push(ExceptionLine {
            auth_id: e.auth_id,
            name: e.name,
            severity: e.severity.as_str().to_string(),
            kind: e.kind,
            expected: e.expected,
            actual: e.actual,
        });
    }
    Ok(f)
}

#[derive(Serialize)]
struct View {
    period: String,
    partner: String,
    time_zone: String,
    currency: String,
    kpis: Vec<Kpi>,
    directions: Vec<SliceView>,
    products: Vec<SliceView>,
    calls_chart: String,
    cost_chart: String,
    top: Vec<CustomerView>,
    low_balances: Vec<LowBalanceView>,
    exception_kinds: Vec<KindView>,
    invoices: Vec<InvoiceView>,
    /// The invoices are drafts: the period is not finalized.
    drafts: bool,
    notes: Vec<NoteView>,
    /// Invoices plus debit notes minus credit notes, incl. tax.
    net_billed: String,
    document_summary: Vec<SummaryView>,
    foreign_currency_calls: i64,
    files: Vec<FileView>,
    subaccounts: Vec<SubaccountsView>,
}

/// One customer's subaccounts.
#[derive(Serialize)]
struct SubaccountsView {
    auth_id: String,
    name: String,
    count: usize,
    enabled: usize,
    /// Shown unfolded (a short list).
    open: bool,
    rows: Vec<SubaccountView>,
}

#[derive(Serialize)]
struct SubaccountView {
    auth_id: String,
    name: String,
    /// "enabled", "disabled" or "not listed".
    status: &'static str,
    created: String,
    calls: i64,
    minutes: String,
    cost: String,
}

#[derive(Serialize)]
struct NoteView {
    number: String,
    title: &'static str,
    file: String,
    auth_id: String,
    name: String,
    cites: String,
    date: String,
    total: String,
    reason: String,
}

#[derive(Serialize)]
struct SummaryView {
    title: &'static str,
    series: String,
    first: String,
    last: String,
    total: i32,
    cancelled: i32,
    net: i32,
}

#[derive(Serialize)]
struct Kpi {
    key: &'static str,
    label: &'static str,
    value: String,
}

#[derive(Serialize)]
struct SliceView {
    name: String,
    calls: i64,
    answered: i64,
    minutes: String,
    cost: String,
}

#[derive(Serialize)]
struct CustomerView {
    auth_id: String,
    name: String,
    calls: i64,
    minutes: String,
    spend: String,
    invoice_total: String,
}

#[derive(Serialize)]
struct LowBalanceView {
    auth_id: String,
    name: String,
    balance: String,
    threshold: String,
}

#[derive(Serialize)]
struct KindView {
    severity: String,
    kind: String,
    count: usize,
}

#[derive(Serialize)]
struct InvoiceView {
    number: String,
    draft: bool,
    file: String,
    auth_id: String,
    name: String,
    total: String,
    /// `statements/<auth_id>.csv` exists.
    statement: bool,
}

/// A file finance opens, linked when the export stage wrote it.
#[derive(Serialize)]
struct FileView {
    href: &'static str,
    label: &'static str,
    what: &'static str,
}

fn slice(name: &str, t: &Traffic) -> SliceView {
    SliceView {
        name: name.to_string(),
        calls: t.calls,
        answered: t.answered,
        minutes: t.minutes().to_string(),
        cost: indian(t.cost),
    }
}

/// The export stage's files that exist, relative to the report.
fn finance_files(s: &RunContext) -> Vec<FileView> {
    let (l, p) = (&s.layout, s.period);
    [
        (
            l.finance_xlsx(p),
            "finance.xlsx",
            "finance.xlsx",
            "invoices, lines, notes, HSN summary, reconciliation, exceptions, balances, documents",
        ),
        (
            l.gstr1_json(p),
            "gstr1.json",
            "gstr1.json",
            "GSTR-1 for the offline tool: every document dated in the month",
        ),
        (l.csv_dir(p), "csv/", "csv/", "every table as CSV, exact decimals"),
        (
            l.statements_dir(p),
            "statements/",
            "statements/",
            "each customer's calls, one CSV per account",
        ),
    ]
    .into_iter()
    .filter(|(path, ..)| path.exists())
    .map(|(_, href, label, what)| FileView { href, label, what })
    .collect()
}

pub fn render(renderer: &Renderer, s: &RunContext, f: &Figures) -> anyhow::Result<String> {
    let (taxable, revenue) = f.revenue();
    let kpi = |key, label, value| Kpi { key, label, value };
    let t = &f.traffic;
    let kpis = vec![
        kpi("customers", "customers", f.customers.len().to_string()),
        kpi(
            "active",
            "active",
            f.customers.iter().filter(|c| c.active).count().to_string(),
        ),
        kpi("balances", "balances held", indian(f.balances_held())),
        kpi("calls", "calls", t.calls.to_string()),
        kpi("answered", "answered", t.answered.to_string()),
        kpi("minutes", "minutes billed", t.minutes().to_string()),
        kpi("cost", "call cost", indian(t.cost)),
        kpi("revenue", "invoiced excl. tax", indian(taxable)),
        kpi("revenue_incl_tax", "invoiced incl. tax", indian(revenue)),
    ];
    let to_f64 = |d: Decimal| d.round_dp(2).to_string().parse::<f64>().unwrap_or(0.0);
    let bars: Vec<chart::Bar> = f
        .days
        .iter()
        .map(|(d, by)| chart::Bar {
            label: d.format("%d").to_string(),
            values: ["inbound", "outbound"]
                .iter()
                .map(|k| by.get(*k).map_or(0.0, |t| t.calls as f64))
                .collect(),
        })
        .collect();
    let costs: Vec<chart::Bar> = f
        .days
        .iter()
        .map(|(d, by)| chart::Bar {
            label: d.format("%d").to_string(),
            values: vec![to_f64(by.values().map(|t| t.cost).sum())],
        })
        .collect();
    let mut top: Vec<&Customer> = f
        .customers
        .iter()
        .filter(|c| c.invoice.is_some() || c.traffic.calls > 0)
        .collect();
    let spend = |c: &Customer| c.invoice.as_ref().map_or(c.traffic.cost, |i| i.taxable);
    top.sort_by(|a, b| spend(b).cmp(&spend(a)).then_with(|| a.auth_id.cmp(&b.auth_id)));
    let mut kinds: BTreeMap<(u8, &str, &str), usize> = BTreeMap::new();
    for e in &f.exceptions {
        let rank = match e.severity.as_str() {
            "error" => 0,
            "warning" => 1,
            _ => 2,
        };
        *kinds.entry((rank, &e.severity, e.kind.as_str())).or_default() += 1;
    }
    let statements = s.layout.statements_dir(s.period);
    let mut invoices: Vec<InvoiceView> = f
        .customers
        .iter()
        .filter_map(|c| {
            c.invoice.as_ref().map(|i| InvoiceView {
                number: if i.draft { "DRAFT".to_string() } else { i.number.clone() },
                draft: i.draft,
                file: if i.draft {
                    c.auth_id.clone()
                } else {
                    file_stem(&i.number)
                },
                auth_id: c.auth_id.clone(),
                name: c.name.clone(),
                total: indian(i.total),
                statement: statements.join(format!("{}.csv", c.auth_id)).is_file(),
            })
        })
        .collect();
    invoices.sort_by(|a, b| (&a.number, &a.auth_id).cmp(&(&b.number, &b.auth_id)));
    let drafts = invoices.iter().any(|i| i.draft);
    let net_billed = revenue + f.notes.iter().map(|n| n.kind.sign() * n.total).sum::<Decimal>();
    let notes = f
        .notes
        .iter()
        .map(|n| NoteView {
            number: n.number.clone(),
            title: n.kind.title(),
            file: file_stem(&n.number),
            auth_id: n.auth_id.clone(),
            name: n.customer_name.clone(),
            cites: n.cites_number.clone().unwrap_or_default(),
            date: crate::model::time::from_date32(n.date).to_string(),
            total: indian(n.total),
            reason: n.reason.clone().unwrap_or_default(),
        })
        .collect();
    let document_summary = f
        .document_summary
        .iter()
        .map(|r| SummaryView {
            title: r.kind.title(),
            series: r.series.clone(),
            first: r.first_number.clone(),
            last: r.last_number.clone(),
            total: r.total,
            cancelled: r.cancelled,
            net: r.net_issued,
        })
        .collect();
    let view = View {
        period: s.period.to_string(),
        partner: s.partner.clone(),
        time_zone: s.time_zone.name().to_string(),
        currency: s.currency.clone(),
        kpis,
        directions: f.by_direction.iter().map(|(k, t)| slice(k, t)).collect(),
        products: f.by_product.iter().map(|(k, t)| slice(k, t)).collect(),
        calls_chart: chart::stacked_bars(
            "Calls per day, inbound and outbound",
            &bars,
            &[("inbound", "#175cd3"), ("outbound", "#f79009")],
            "calls",
        ),
        cost_chart: chart::line("Call cost per day", &costs, "#067647", &s.currency),
        top: top
            .into_iter()
            .take(TOP_CUSTOMERS)
            .map(|c| CustomerView {
                auth_id: c.auth_id.clone(),
                name: c.name.clone(),
                calls: c.traffic.calls,
                minutes: c.traffic.minutes().to_string(),
                spend: indian(spend(c)),
                invoice_total: c.invoice.as_ref().map_or_else(String::new, |i| indian(i.total)),
            })
            .collect(),
        low_balances: f
            .exceptions
            .iter()
            .filter(|e| e.kind == ExceptionKind::LowBalance)
            .map(|e| LowBalanceView {
                auth_id: e.auth_id.clone(),
                name: e.name.clone(),
                balance: e.actual.map(indian).unwrap_or_default(),
                threshold: e.expected.map(indian).unwrap_or_default(),
            })
            .collect(),
        exception_kinds: kinds
            .into_iter()
            .map(|((_, severity, kind), count)| KindView {
                severity: severity.to_string(),
                kind: kind.to_string(),
                count,
            })
            .collect(),
        invoices,
        drafts,
        notes,
        net_billed: indian(net_billed),
        document_summary,
        foreign_currency_calls: f.foreign_currency_calls,
        files: finance_files(s),
        subaccounts: f
            .customers
            .iter()
            .filter(|c| !c.subaccounts.is_empty())
            .map(|c| SubaccountsView {
                auth_id: c.auth_id.clone(),
                name: c.name.clone(),
                count: c.subaccounts.len(),
                enabled: c.subaccounts.values().filter(|x| x.enabled == Some(true)).count(),
                open: c.subaccounts.len() <= 10,
                rows: {
                    // By name; those the list does not show last.
                    let mut subs: Vec<(&String, &Subaccount)> = c.subaccounts.iter().collect();
                    subs.sort_by(|a, b| {
                        (a.1.enabled.is_none(), &a.1.name, a.0).cmp(&(b.1.enabled.is_none(), &b.1.name, b.0))
                    });
                    subs
                }
                .into_iter()
                .map(|(id, x)| SubaccountView {
                    auth_id: id.clone(),
                    name: if x.enabled.is_none() {
                        "(not in the subaccount list)".to_string()
                    } else {
                        x.name.clone()
                    },
                    status: match x.enabled {
                        Some(true) => "enabled",
                        Some(false) => "disabled",
                        None => "not listed",
                    },
                    created: x
                        .created_at
                        .map(|t| {
                            crate::model::time::from_micros(t)
                                .with_timezone(&s.time_zone)
                                .date_naive()
                                .to_string()
                        })
                        .unwrap_or_default(),
                    calls: x.traffic.calls,
                    minutes: x.traffic.minutes().to_string(),
                    cost: indian(x.traffic.cost),
                })
                .collect(),
            })
            .collect(),
    };
    renderer.render("report.html", &view)
}
