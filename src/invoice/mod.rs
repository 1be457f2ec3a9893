//! Invoice: Indian GST documents per customer per month (shared/reference/gst-invoicing.md),
//! and their lifecycle.
//!
//! Place of supply and the tax split ([`tax`]), document assembly from the period's tables
//! ([`build`]), the durable document register and its numbering ([`register`]), credit and
//! debit notes ([`corrections`]), amounts in words ([`words`]), the table rows ([`rows`]),
//! and the document ([`view`]) rendered as HTML through Tera and as PDF through typst
//! ([`pdf`]).
//!
//! A period's invoices are **drafts** (under `YYYY-MM/drafts/`, marked as such, no number)
//! until it is **finalized**: by `finalize`, or by `run`/`invoice` once the period's end plus
//! `[invoice] grace_days` has passed; an unfinished month never is. Finalize numbers and
//! freezes them. Every later run of the period recomputes it and **corrects** the difference
//! with credit and debit notes citing the invoice; an issued document is never rewritten or
//! deleted. Invoice date: the period's last day when finalized within 30 days of it (Rule 47)
//! and in date order with its series, else the day of issue; notes carry the day of issue.

pub mod build;
pub mod corrections;
pub mod pdf;
pub mod register;
pub mod rows;
pub mod tax;
pub mod view;
pub mod words;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, bail};
use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;

use self::build::Invoice;
use self::register::{Entry, Prefixes, Register, file_stem};
use crate::config::SupplierConfig;
use crate::context::RunContext;
use crate::error::usage;
use crate::layout::Table;
use crate::model::document::{DocumentKind, DocumentStatus, MAX_INVOICE_DELAY_DAYS};
use crate::model::tax::Treatment;
use crate::model::{AccountId, Gstin, Period};
use crate::output::write_atomic;
use crate::render::Renderer;
use crate::store::invoices::{DocumentLineRow, DocumentRow, DocumentSummaryRow, InvoiceLineRow, InvoiceRow};
use crate::store::partition::{PartitionWriter, TableStats, sha256_hex};

/// Where the period's documents stand after this run (what the manifest records: the same
/// whether or not an earlier run of the period was interrupted).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Drafts only: the period is not finalized.
    #[default]
    Draft,
    /// Finalized: its invoices are issued; later differences are notes.
    Final,
}

/// What this run did to the period's documents (for the summary line and the log).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Wrote drafts.
    #[default]
    Drafts,
    /// Finalized the period now.
    Finalized,
    /// Issued documents of a period finalized earlier (notes, a late invoice, or documents a
    /// crashed run had numbered).
    Issued,
    /// Recomputed a finalized period: nothing to issue.
    Unchanged,
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub stage: Stage,
    #[serde(skip)]
    pub action: Action,
    /// Invoices of the period (drafts while a draft).
    pub invoices: usize,
    pub b2b: usize,
    pub taxable: Decimal,
    pub tax: Decimal,
    pub total: Decimal,
    /// Every document this run issued (invoices and notes, or those a crashed run had
    /// numbered and this one completed).
    #[serde(skip)]
    pub issued: Vec<String>,
    /// Invoices of the period's supply, issued now or earlier.
    pub numbers: Vec<String>,
    pub credit_notes: Vec<String>,
    pub debit_notes: Vec<String>,
    /// Accounts whose place of supply or SEZ treatment differs now from their invoice's (notes
    /// keep the invoice's; a change of recipient needs a person).
    pub place_of_supply_changed: Vec<String>,
    /// Invoiced accounts missing from the period's accounts now, or whose month can no longer
    /// be decided (a charge of undocumented status, a refund above its charge): not
    /// recomputed, no note.
    pub not_recomputed: Vec<String>,
    /// Accounts with usage but no document: their place of supply, registration or charges
    /// cannot be decided.
    pub withheld: Vec<String>,
    pub tables: BTreeMap<String, TableStats>,
    pub seconds: f64,
}

impl Report {
    /// One word for where the period's documents stand.
    pub fn stage_line(&self) -> &'static str {
        match self.action {
            Action::Drafts => "drafts",
            Action::Finalized => "finalized",
            Action::Issued => "final, documents issued",
            Action::Unchanged => "final, unchanged",
        }
    }
}

/// What renders a document: the Tera and typst renderers and the supplier.
struct Press<'a> {
    supplier: &'a SupplierConfig,
    html: Renderer,
    pdf: pdf::PdfRenderer,
}

impl Press<'_> {
    /// HTML and PDF of `doc`, with the supplier's particulars it was issued with (the
    /// config's for a draft).
    fn render(&self, doc: &Invoice) -> anyhow::Result<(String, Vec<u8>)> {
        let view = view::view(doc.supplier.as_ref().unwrap_or(self.supplier), doc)?;
        let html = self.html.render("invoice.html", &view)?;
        let ident = if doc.draft {
            format!("draft {}", doc.customer.auth_id)
        } else {
            doc.number.clone()
        };
        let pdf = self
            .pdf
            .render(&view, &ident, doc.date)
            .with_context(|| format!("{} {ident}", doc.kind.title()))?;
        Ok((html, pdf))
    }
}

/// The period's month as the tables show it now, and the terms it is billed on.
struct Month<'a> {
    period: Period,
    /// The period's last day.
    end: NaiveDate,
    today: NaiveDate,
    supplier: &'a SupplierConfig,
    /// The `[invoice]` settings, for the SEZ customers as configured now.
    settings: &'a crate::config::InvoiceConfig,
    terms: build::Terms<'a>,
    /// What is due per account (unnumbered; billable accounts only).
    due: BTreeMap<String, Invoice>,
    /// Every account listed for the period, as it reads now.
    current: BTreeMap<String, build::Customer>,
    usage: BTreeMap<String, build::Usage>,
}

pub fn run(ctx: &RunContext) -> anyhow::Result<Report> {
    let started = std::time::Instant::now();
    let (layout, period) = (&ctx.layout, ctx.period);
    let supplier = ctx.config.supplier.as_ref().ok_or_else(|| {
        usage("the invoice stage needs a [supplier] section in the config (legal_name, address, gstin)")
    })?;
    let settings = &ctx.config.invoice;
    let prefixes = Prefixes {
        invoice: settings.prefix.clone(),
        credit_note: settings.credit_note_prefix.clone(),
        debit_note: settings.debit_note_prefix.clone(),
    };
    let (today, end) = (ctx.today, period.last_day());
    if ctx.finalize && today <= end {
        return Err(usage(format!(
            "{period} is not over (today is {today} in the partner's time zone): its invoices cannot be finalized before the supply is complete"
        )));
    }
    let finalize_now = ctx.finalize || today > end + Days::new(settings.grace_days.into());
    let mut report = Report::default();
    let mut month = Month {
        period,
        end,
        today,
        supplier,
        settings,
        terms: build::Terms {
            supplier_state: Gstin::parse(&supplier.gstin).context("[supplier] gstin")?.state(),
            sac: &settings.sac,
            rate_percent: settings.rate_percent,
            currency: &ctx.currency,
        },
        due: BTreeMap::new(),
        current: BTreeMap::new(),
        usage: build::usage(layout, period, &ctx.currency)?,
    };
    what_is_due(ctx, &mut month, &mut report)?;
    let press = Press {
        supplier,
        html: Renderer::new()?,
        pdf: pdf::PdfRenderer::new()?,
    };

    let mut register = Register::open(layout, &supplier.gstin, &prefixes)?;
    if register.finalized(period).is_none() && !finalize_now {
        drop(register);
        return drafts(ctx, &press, month.due, report, started);
    }
    report.stage = Stage::Final;
    if register.finalized(period).is_none() {
        report.action = Action::Finalized;
        finalize(&mut register, month)?;
    } else {
        report.action = Action::Issued;
        correct(&mut register, month, &mut report)?;
    }
    register.save()?;
    let pending: Vec<Entry> = register
        .of_period(period)
        .into_iter()
        .filter(|e| !e.complete)
        .cloned()
        .collect();
    drop(register);
    crate::crashpoint::here("invoice.numbered");

    let dir = layout.invoices_dir(period);
    complete(layout, &press, &prefixes, &dir, &pending)?;
    crate::crashpoint::here("invoice.issued");

    let register = Register::open(layout, &supplier.gstin, &prefixes)?;
    let documents: Vec<Entry> = register.of_period(period).into_iter().cloned().collect();
    let dated_here: Vec<Entry> = register
        .documents()
        .filter(|e| Period::of_date(e.date) == period)
        .cloned()
        .collect();
    drop(register);
    verify_on_disk(&press, &dir, &documents)?;
    let drafts_dir = layout.drafts_dir(period);
    if drafts_dir.exists() {
        std::fs::remove_dir_all(&drafts_dir).with_context(|| format!("cannot remove {}", drafts_dir.display()))?;
    }

    let invoices: Vec<&Invoice> = documents
        .iter()
        .filter(|e| e.kind == DocumentKind::Invoice)
        .map(|e| &e.content)
        .collect();
    write_tables(ctx, &invoices, &documents, &dated_here, &mut report)?;
    crate::crashpoint::here("invoice.tables");
    for e in &documents {
        match e.kind {
            DocumentKind::Invoice => report.numbers.push(e.number.clone()),
            DocumentKind::CreditNote => report.credit_notes.push(e.number.clone()),
            DocumentKind::DebitNote => report.debit_notes.push(e.number.clone()),
        }
    }
    tally(&mut report, invoices.into_iter());
    // Every document numbered now is pending until its files are written, so the pending
    // ones are this run's, with any a crashed run had numbered.
    report.issued = pending.iter().map(|e| e.number.clone()).collect();
    if report.action == Action::Issued && report.issued.is_empty() {
        report.action = Action::Unchanged;
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Fill in what is due per account and every account as listed now.
fn what_is_due(ctx: &RunContext, month: &mut Month, report: &mut Report) -> anyhow::Result<()> {
    let mut customers = build::customers(&ctx.layout, month.period)?;
    customers.sort_by(|a, b| a.auth_id.cmp(&b.auth_id));
    for c in customers {
        // Ids name files: an id that is not one is refused, never used in a path.
        let id = AccountId::parse(&c.auth_id)?;
        month.current.insert(id.to_string(), c.clone());
        let Some(u) = month.usage.get(&c.auth_id) else {
            continue;
        };
        let sez = month.settings.sez(&c.auth_id);
        let inv = match build::invoice(String::new(), month.end, month.period, c, u, sez, &month.terms) {
            Ok(inv) => inv,
            Err(e) => {
                // Never a guessed place of supply: no document until the address is fixed.
                tracing::error!(account = %id, "no invoice: {e:#}");
                report.withheld.push(id.to_string());
                continue;
            }
        };
        // A supply worth nothing once rounded to the paisa is no tax invoice.
        if inv.totals.taxable <= Decimal::ZERO {
            tracing::info!(account = %id, taxable = %inv.totals.taxable, "no invoice: nothing to bill once rounded to the paisa");
            continue;
        }
        month.due.insert(id.to_string(), inv);
    }
    Ok(())
}

/// Number every invoice due, dated by [`invoice_date`], and mark the period finalized.
fn finalize(register: &mut Register, month: Month) -> anyhow::Result<()> {
    let date = invoice_date(
        month.period,
        month.today,
        register.last_date(DocumentKind::Invoice, month.end),
    );
    for mut inv in month.due.into_values() {
        inv.date = date;
        inv.supplier = Some(month.supplier.clone());
        register.issue(inv)?;
    }
    register.set_finalized(month.period, month.today);
    Ok(())
}

/// A finalized period recomputed: per account, the notes that bring what was billed to what
/// is due, or an invoice for a supply found after finalize.
fn correct(register: &mut Register, mut month: Month, report: &mut Report) -> anyhow::Result<()> {
    let nothing = build::Usage::default();
    // Each account's documents of the period, as issued so far (read once).
    let mut issued: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
    for e in register.of_period(month.period) {
        issued.entry(e.account.clone()).or_default().push(e.clone());
    }
    let mut accounts: BTreeSet<String> = month.due.keys().cloned().collect();
    accounts.extend(issued.keys().cloned());
    for account in accounts {
        let docs = issued.remove(&account).unwrap_or_default();
        let Some(invoice) = docs.iter().find(|e| e.kind == DocumentKind::Invoice) else {
            // A supply found after finalize, for an account that had no invoice: a new
            // invoice dated today, next in its series (never a number out of order).
            if let Some(mut inv) = month.due.remove(&account) {
                inv.date = month.today;
                inv.supplier = Some(month.supplier.clone());
                register.issue(inv)?;
            }
            continue;
        };
        let original = &invoice.content;
        // An account the API no longer lists is not recomputed: its absence is no evidence
        // that its usage was reversed, and a full credit note on that ground would be a
        // silent default. A person decides.
        let Some(now) = month.current.get(&account) else {
            tracing::warn!(account = %account, invoice = %invoice.number, "an invoiced account is missing from the period's accounts: not recomputed, no note issued");
            report.not_recomputed.push(account.clone());
            continue;
        };
        let recipient = tax::Recipient::classify(
            now.gstin.as_deref(),
            now.country.as_deref(),
            now.state.as_deref(),
            now.zip_code.as_deref(),
        );
        // SEZ treatment as issued, not as configured today: a customer configured as SEZ (or
        // no longer) since its invoice is a change of recipient for a person, as a changed
        // place of supply is.
        let sez_as_issued = matches!(original.treatment, Treatment::SezWithPayment | Treatment::SezUnderLut)
            .then_some(original.treatment);
        if tax::place_of_supply(month.terms.supplier_state, &recipient).as_ref() != Some(&original.place_of_supply)
            || month.settings.sez(&account) != sez_as_issued
        {
            tracing::warn!(account = %account, invoice = %invoice.number, "the account's place of supply or SEZ treatment changed since its invoice; notes keep the invoice's");
            report.place_of_supply_changed.push(account.clone());
        }
        // Recomputed at the invoice's terms: its recipient as issued, its rate. A month that
        // can no longer be decided (a charge of undocumented status, a refund above its
        // charge) issues no note on a guess; the other accounts are corrected as usual.
        let recomputed = match build::invoice(
            String::new(),
            month.end,
            month.period,
            original.customer.clone(),
            month.usage.get(&account).unwrap_or(&nothing),
            sez_as_issued,
            &build::Terms {
                rate_percent: original.rate_percent,
                ..month.terms
            },
        ) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(account = %account, invoice = %invoice.number, "not recomputed, no note issued: {e:#}");
                report.not_recomputed.push(account.clone());
                continue;
            }
        };
        let billed = corrections::billed(docs.iter().map(|e| &e.content));
        for mut note in corrections::notes(original, &billed, &recomputed, month.today) {
            // A note is issued now, with the supplier's particulars as they are now.
            note.supplier = Some(month.supplier.clone());
            register.issue(note)?;
        }
    }
    Ok(())
}

/// The second phase of issuing: the files of every document not yet complete (this run's,
/// or a crashed run's, from the content recorded), then their hashes in the register.
fn complete(
    layout: &crate::layout::Layout,
    press: &Press,
    prefixes: &Prefixes,
    dir: &std::path::Path,
    pending: &[Entry],
) -> anyhow::Result<()> {
    // Typesetting is nearly all of the stage's time and each document is independent: they
    // are rendered on every core. The register records them in number order afterwards.
    let hashes = on_every_core(pending, |e| {
        let (html, pdf) = press.render(&e.content)?;
        let stem = file_stem(&e.number);
        write_once(&dir.join(format!("{stem}.html")), html.as_bytes())?;
        write_once(&dir.join(format!("{stem}.pdf")), &pdf)?;
        crate::crashpoint::here("invoice.document");
        Ok((e.number.clone(), sha256_hex(html.as_bytes()), sha256_hex(&pdf)))
    })?;
    if hashes.is_empty() {
        return Ok(());
    }
    let mut register = Register::open(layout, &press.supplier.gstin, prefixes)?;
    for (number, html, pdf) in hashes {
        register.complete(&number, html, pdf)?;
    }
    register.save()
}

/// `work` on every item, on every core, the results in the items' order; the error of the
/// first item that failed, if any (no item is started once one has failed).
///
/// Threads of our own, not rayon's: typst parallelises inside a document with rayon, and a
/// rayon worker waiting for that work takes up other queued work meanwhile, on its own stack;
/// documents rendered from rayon workers nested that way until the stack overflowed.
fn on_every_core<T: Sync, R: Send>(
    items: &[T],
    work: impl Fn(&T) -> anyhow::Result<R> + Sync,
) -> anyhow::Result<Vec<R>> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(items.len());
    let (next, failed) = (AtomicUsize::new(0), AtomicBool::new(false));
    let worker = || {
        let mut done = Vec::new();
        while !failed.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { break };
            let r = work(item);
            failed.fetch_or(r.is_err(), Ordering::Relaxed);
            done.push((i, r));
        }
        done
    };
    let mut results: Vec<(usize, anyhow::Result<R>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                std::thread::Builder::new()
                    // What the main thread has: typesetting recurses deeply.
                    .stack_size(8 << 20)
                    .spawn_scoped(s, worker)
                    .expect("spawning a render thread")
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// The invoice date at finalize: the period's last day when finalized within 30 days of it
/// (CGST Rule 47) and no later invoice of its series is dated after it; otherwise the day of
/// issue. Never before the supply is complete: finalize runs only once the period is over.
pub fn invoice_date(period: Period, today: NaiveDate, last_in_series: Option<NaiveDate>) -> NaiveDate {
    let end = period.last_day();
    let in_time = today <= end + Days::new(MAX_INVOICE_DELAY_DAYS.into());
    if in_time && last_in_series.is_none_or(|last| last <= end) {
        end
    } else {
        today
    }
}

/// Write an issued document's file, never over a different one: the same bytes are already
/// there after a crash between the two phases; other bytes mean someone changed an issued
/// document, which only a person may sort out.
fn write_once(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    match std::fs::read(path) {
        Ok(existing) if existing == bytes => Ok(()),
        Ok(_) => bail!(
            "{} differs from the document the register records: an issued document is never rewritten; restore it from a backup",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => write_atomic(path, bytes),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Every issued document of the period is on disk as issued: a changed file is an error; a
/// missing one is written again from its recorded content, if that gives the recorded bytes.
fn verify_on_disk(press: &Press, dir: &std::path::Path, documents: &[Entry]) -> anyhow::Result<()> {
    for e in documents {
        let stem = file_stem(&e.number);
        let recorded = [
            (format!("{stem}.html"), e.html_sha256.as_deref()),
            (format!("{stem}.pdf"), e.pdf_sha256.as_deref()),
        ];
        let mut rendered = None;
        for (i, (name, sha)) in recorded.iter().enumerate() {
            let sha = sha.with_context(|| format!("document {} has no recorded hash", e.number))?;
            let path = dir.join(name);
            match std::fs::read(&path) {
                Ok(bytes) if sha256_hex(&bytes) == sha => {}
                Ok(_) => bail!(
                    "{} was changed after it was issued (its SHA-256 differs from the register's): an issued document is never rewritten; restore it from a backup",
                    path.display()
                ),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                    if rendered.is_none() {
                        rendered = Some(press.render(&e.content)?);
                    }
                    let (html, pdf) = rendered.as_ref().expect("rendered above");
                    let bytes: &[u8] = if i == 0 { html.as_bytes() } else { pdf };
                    if sha256_hex(bytes) != sha {
                        bail!(
                            "{} is missing and its recorded content no longer renders to the same bytes: restore it from a backup",
                            path.display()
                        );
                    }
                    tracing::warn!(path = %path.display(), "an issued document was missing: written again, byte for byte as issued");
                    write_atomic(&path, bytes)?;
                }
                Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
            }
        }
    }
    Ok(())
}

/// A period not yet finalized: its invoices as drafts, replaced on every run.
fn drafts(
    ctx: &RunContext,
    press: &Press,
    due: BTreeMap<String, Invoice>,
    mut report: Report,
    started: std::time::Instant,
) -> anyhow::Result<Report> {
    let dir = ctx.layout.drafts_dir(ctx.period);
    let invoices: Vec<(String, Invoice)> = due
        .into_iter()
        .map(|(account, mut inv)| {
            inv.draft = true;
            (account, inv)
        })
        .collect();
    on_every_core(&invoices, |(account, inv)| {
        let (html, pdf) = press.render(inv)?;
        write_atomic(&dir.join(format!("{account}.html")), html.as_bytes())?;
        write_atomic(&dir.join(format!("{account}.pdf")), &pdf)
    })?;
    let written: BTreeSet<String> = invoices
        .iter()
        .flat_map(|(account, _)| [format!("{account}.html"), format!("{account}.pdf")])
        .collect();
    let invoices: Vec<Invoice> = invoices.into_iter().map(|(_, inv)| inv).collect();
    // Drafts of accounts no longer billable go: a draft is no document.
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if (name.ends_with(".html") || name.ends_with(".pdf")) && !written.contains(&name) {
                std::fs::remove_file(e.path())?;
            }
        }
    }
    let refs: Vec<&Invoice> = invoices.iter().collect();
    write_tables(ctx, &refs, &[], &[], &mut report)?;
    tally(&mut report, refs.into_iter());
    report.seconds = started.elapsed().as_secs_f64();
    tracing::info!(
        period = %ctx.period,
        drafts = report.invoices,
        grace_days = ctx.config.invoice.grace_days,
        "drafts only: the period is not finalized (run `finalize`, or wait for the grace days to pass)"
    );
    Ok(report)
}

fn tally<'a>(report: &mut Report, invoices: impl Iterator<Item = &'a Invoice>) {
    for inv in invoices {
        report.invoices += 1;
        report.b2b += inv.b2b as usize;
        report.taxable += inv.totals.taxable;
        report.tax += inv.totals.tax;
        report.total += inv.totals.total;
    }
}

/// The period's document tables.
fn write_tables(
    ctx: &RunContext,
    invoices: &[&Invoice],
    documents: &[Entry],
    dated_here: &[Entry],
    report: &mut Report,
) -> anyhow::Result<()> {
    let (layout, period) = (&ctx.layout, ctx.period);
    let meta = vec![("vobiz_billing.period".to_string(), period.to_string())];
    let mut w = PartitionWriter::<InvoiceRow>::for_period(layout, period, meta.clone())?;
    let mut wl = PartitionWriter::<InvoiceLineRow>::for_period(layout, period, meta.clone())?;
    for inv in invoices {
        w.push(rows::invoice_row(inv))?;
        for l in rows::line_rows(inv) {
            wl.push(l)?;
        }
    }
    let mut wd = PartitionWriter::<DocumentRow>::for_period(layout, period, meta.clone())?;
    let mut wdl = PartitionWriter::<DocumentLineRow>::for_period(layout, period, meta.clone())?;
    for e in documents {
        wd.push(rows::document_row(e))?;
        for l in rows::document_line_rows(e) {
            wdl.push(l)?;
        }
    }
    let mut ws = PartitionWriter::<DocumentSummaryRow>::for_period(layout, period, meta)?;
    for row in summary(dated_here) {
        ws.push(row)?;
    }
    report.tables.insert(Table::Invoices.name().into(), w.finish()?);
    report.tables.insert(Table::InvoiceLines.name().into(), wl.finish()?);
    report.tables.insert(Table::Documents.name().into(), wd.finish()?);
    report.tables.insert(Table::DocumentLines.name().into(), wdl.finish()?);
    report.tables.insert(Table::DocumentSummary.name().into(), ws.finish()?);
    Ok(())
}

/// GSTR-1 Table 13: per series, the documents dated in the period: first and last number,
/// how many, how many cancelled.
pub fn summary(dated_here: &[Entry]) -> Vec<DocumentSummaryRow> {
    let mut by_series: BTreeMap<(DocumentKind, String), Vec<&Entry>> = BTreeMap::new();
    for e in dated_here {
        let series = e
            .number
            .rsplit_once('/')
            .map_or(e.number.as_str(), |(s, _)| s)
            .to_string();
        by_series.entry((e.kind, series)).or_default().push(e);
    }
    by_series
        .into_iter()
        .map(|((kind, series), mut docs)| {
            docs.sort_by(|a, b| a.number.cmp(&b.number));
            let cancelled = docs.iter().filter(|e| e.status == DocumentStatus::Cancelled).count() as i32;
            let total = docs.len() as i32;
            DocumentSummaryRow {
                kind,
                series,
                first_number: docs.first().map(|e| e.number.clone()).unwrap_or_default(),
                last_number: docs.last().map(|e| e.number.clone()).unwrap_or_default(),
                total,
                cancelled,
                net_issued: total - cancelled,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_on_every_core_keeps_the_items_order_and_reports_the_first_failure() {
        let items: Vec<u32> = (0..500).collect();
        let squares = on_every_core(&items, |&i| Ok(u64::from(i) * u64::from(i))).unwrap();
        assert_eq!(squares, (0..500u64).map(|i| i * i).collect::<Vec<_>>());
        let err = on_every_core(&items, |&i| {
            anyhow::ensure!(i % 100 != 37, "item {i} failed");
            Ok(i)
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "item 37 failed");
        assert!(on_every_core(&[] as &[u32], |&i| Ok(i)).unwrap().is_empty());
    }
}
