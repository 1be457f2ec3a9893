//! Invoice: Indian GST tax invoices per customer per month (shared/reference/gst-invoicing.md).
//!
//! Place of supply and the tax split ([`tax`]), FY-consecutive numbering in a durable register
//! ([`numbering`]), amounts in words ([`words`]), invoice assembly from the period's tables
//! ([`build`]), the `invoices` and `invoice_lines` tables ([`tables`]), and the document
//! ([`view`]) rendered as HTML through Tera and as PDF through typst ([`pdf`]).
//! The invoice date is the period's last day, so a month's invoices belong to that month's
//! financial year and a re-run produces the same documents.

pub mod build;
pub mod numbering;
pub mod pdf;
pub mod rows;
pub mod tax;
pub mod view;
pub mod words;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::context::RunContext;
use crate::error::usage;
use crate::model::{AccountId, Gstin};
use crate::output::write_atomic;
use crate::render::Renderer;
use crate::store::invoices::{InvoiceLineRow, InvoiceRow};
use crate::store::partition::{PartitionWriter, TableStats};

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub invoices: usize,
    pub b2b: usize,
    pub taxable: Decimal,
    pub tax: Decimal,
    pub total: Decimal,
    pub numbers: Vec<String>,
    pub tables: BTreeMap<String, TableStats>,
    pub seconds: f64,
}

pub fn run(ctx: &RunContext) -> anyhow::Result<Report> {
    let started = std::time::Instant::now();
    let (layout, period, currency) = (&ctx.layout, ctx.period, &ctx.currency);
    let supplier = ctx.config.supplier.as_ref().ok_or_else(|| {
        usage("the invoice stage needs a [supplier] section in the config (legal_name, address, gstin)")
    })?;
    let settings = &ctx.config.invoice;
    let supplier_state = Gstin::parse(&supplier.gstin).context("[supplier] gstin")?.state();
    let terms = build::Terms {
        supplier_state,
        sac: &settings.sac,
        rate_percent: settings.rate_percent,
        currency,
    };
    let mut customers = build::customers(layout, period)?;
    customers.sort_by(|a, b| a.auth_id.cmp(&b.auth_id));
    let usage = build::usage(layout, period, currency)?;
    let mut register = numbering::Register::open(layout, &supplier.gstin, &settings.prefix)?;
    let date = period.last_day();
    let mut invoices = Vec::new();
    for c in customers {
        let Some(u) = usage.get(&c.auth_id) else {
            continue;
        };
        let id = AccountId::parse(&c.auth_id)?;
        // Built before it is numbered: a supply worth nothing once rounded to the paisa (a
        // few sub-paisa calls) is no tax invoice and must not consume a number.
        let mut inv = build::invoice(String::new(), date, period, c, u, &terms);
        if inv.totals.taxable <= rust_decimal::Decimal::ZERO {
            tracing::info!(account = %id, taxable = %inv.totals.taxable, "no invoice: nothing to bill once rounded to the paisa");
            continue;
        }
        inv.number = register.number_for(period, &id)?;
        invoices.push(inv);
    }
    // Numbers are durable before any document shows them; other processes may number
    // theirs as soon as this one's are saved.
    register.save()?;
    drop(register);
    crate::crashpoint::here("invoice.numbered");

    let meta = vec![("vobiz_billing.period".to_string(), period.to_string())];
    let mut report = Report::default();
    let mut w = PartitionWriter::<InvoiceRow>::for_period(layout, period, meta.clone())?;
    let mut wl = PartitionWriter::<InvoiceLineRow>::for_period(layout, period, meta)?;
    let renderer = Renderer::new()?;
    let typesetter = pdf::PdfRenderer::new()?;
    let dir = layout.invoices_dir(period);
    let mut written = BTreeSet::new();
    for inv in &invoices {
        w.push(rows::invoice_row(inv))?;
        for l in rows::line_rows(inv) {
            wl.push(l)?;
        }
        anyhow::ensure!(
            numbering::valid_number(&inv.number),
            "invalid invoice number {:?}",
            inv.number
        );
        let stem = numbering::file_stem(&inv.number);
        let view = view::view(supplier, inv)?;
        let html = renderer.render("invoice.html", &view)?;
        let pdf = typesetter
            .render(&view, &inv.number, inv.date)
            .with_context(|| format!("invoice {}", inv.number))?;
        for (name, bytes) in [
            (format!("{stem}.html"), html.as_bytes()),
            (format!("{stem}.pdf"), &pdf[..]),
        ] {
            write_atomic(&dir.join(&name), bytes)?;
            written.insert(name);
        }
        crate::crashpoint::here("invoice.document");
        report.b2b += inv.b2b as usize;
        report.taxable += inv.totals.taxable;
        report.tax += inv.totals.tax;
        report.total += inv.totals.total;
        report.numbers.push(inv.number.clone());
    }
    report.tables.insert("invoices".into(), w.finish()?);
    report.tables.insert("invoice_lines".into(), wl.finish()?);
    crate::crashpoint::here("invoice.tables");
    // Documents of accounts no longer billable this period are withdrawn (their numbers stay
    // in the register and are never reused).
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if (name.ends_with(".html") || name.ends_with(".pdf")) && !written.contains(&name) {
                std::fs::remove_file(e.path())?;
            }
        }
    }
    report.invoices = invoices.len();
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}
