//! Exports: what finance files and opens, from the period's tables (offline, after invoice).
//!
//! - `gstr1.json`: the month's GSTR-1 in the offline tool's JSON shape ([`gstr1`]);
//! - `finance.xlsx`: the tables as filterable sheets ([`xlsx`]);
//! - `csv/<table>.csv`: every table of the period, exact, formula-safe ([`csv`]);
//! - `statements/<account>.csv`: each customer's calls ([`statements`]).
//!
//! Everything is written under a temporary directory beside the outputs and moved into place
//! once complete: a failed or killed export leaves the previous outputs, never half of new
//! ones. Tables are read a record batch at a time; nothing holds a whole table of calls.

pub mod cell;
pub mod csv;
pub mod gstr1;
pub mod statements;
pub mod xlsx;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;

use crate::context::RunContext;
use crate::error::usage;
use crate::layout::{Layout, Table};
use crate::model::Period;
use crate::model::time::from_date32;
use crate::store::invoices::{DocumentLineRow, DocumentRow};
use crate::store::read;

/// What the exports wrote (the manifest's `export` entry).
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// Documents the GSTR-1 files, per table.
    pub gstr1: BTreeMap<String, usize>,
    /// Rows per CSV file.
    pub csv: BTreeMap<String, u64>,
    pub statements: u64,
    pub statement_calls: u64,
    /// Rows per sheet of the workbook.
    pub sheets: Vec<(String, u64)>,
    pub seconds: f64,
    /// The process's peak resident memory so far (the export's own when run alone).
    pub peak_rss_mib: Option<u64>,
}

/// Every issued document of every period's supply, and their lines.
fn every_document(layout: &Layout) -> anyhow::Result<(Vec<DocumentRow>, Vec<DocumentLineRow>)> {
    let mut docs = Vec::new();
    let mut lines = Vec::new();
    for period in periods_of(layout, Table::Documents)? {
        for batch in read::file::<DocumentRow>(&layout.parquet_file(Table::Documents, period))? {
            docs.extend(batch?);
        }
        let path = layout.parquet_file(Table::DocumentLines, period);
        for batch in read::file::<DocumentLineRow>(&path)? {
            lines.extend(batch?);
        }
    }
    Ok((docs, lines))
}

/// The periods a table has a partition of (directory names validated as periods).
fn periods_of(layout: &Layout, table: Table) -> anyhow::Result<Vec<Period>> {
    let dir = layout.table_dir(table);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut periods = BTreeSet::new();
    for entry in entries {
        let name = entry?.file_name();
        let Some(p) = name.to_str().and_then(|n| n.strip_prefix("period=")) else {
            continue;
        };
        let period: Period = p
            .parse()
            .with_context(|| format!("unexpected partition {} under {}", p, dir.display()))?;
        if layout.parquet_file(table, period).exists() {
            periods.insert(period);
        }
    }
    Ok(periods.into_iter().collect())
}

/// The month's GSTR-1 from every issued document (notes dated in it may correct any month).
fn gstr1(ctx: &RunContext) -> anyhow::Result<gstr1::Gstr1> {
    let supplier = ctx
        .config
        .supplier
        .as_ref()
        .ok_or_else(|| usage("GSTR-1 is the supplier's return: add a [supplier] section to the config (gstin)"))?;
    let (docs, lines) = every_document(&ctx.layout)?;
    let dated: BTreeSet<&str> = docs
        .iter()
        .filter(|d| Period::of_date(from_date32(d.date)) == ctx.period)
        .map(|d| d.number.as_str())
        .collect();
    let lines: Vec<DocumentLineRow> = lines
        .into_iter()
        .filter(|l| dated.contains(l.number.as_str()))
        .collect();
    let header = gstr1::Header {
        gstin: &supplier.gstin,
        version: &ctx.config.exports.gstr1_version,
        currency: &ctx.currency,
    };
    gstr1::build(&header, ctx.period, &docs, &lines)
}

fn gstr1_counts(g: &gstr1::Gstr1) -> BTreeMap<String, usize> {
    BTreeMap::from([
        ("b2b".into(), g.b2b.iter().map(|b| b.inv.len()).sum()),
        ("b2cl".into(), g.b2cl.iter().map(|b| b.inv.len()).sum()),
        ("b2cs".into(), g.b2cs.len()),
        ("exp".into(), g.exp.iter().map(|e| e.inv.len()).sum()),
        ("cdnr".into(), g.cdnr.iter().map(|c| c.nt.len()).sum()),
        ("cdnur".into(), g.cdnur.len()),
        ("hsn".into(), g.hsn.hsn_b2b.len() + g.hsn.hsn_b2c.len()),
        (
            "doc_issue".into(),
            g.doc_issue.doc_det.iter().map(|d| d.docs.len()).sum(),
        ),
    ])
}

fn gstr1_bytes(g: &gstr1::Gstr1) -> anyhow::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(g)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// `gstr1.json` alone (the `gstr1` command).
pub fn run_gstr1(ctx: &RunContext) -> anyhow::Result<BTreeMap<String, usize>> {
    let g = gstr1(ctx)?;
    crate::output::write_atomic(&ctx.layout.gstr1_json(ctx.period), &gstr1_bytes(&g)?)?;
    Ok(gstr1_counts(&g))
}

/// Every export of the period.
pub fn run(ctx: &RunContext) -> anyhow::Result<Report> {
    let started = Instant::now();
    let (layout, period) = (&ctx.layout, ctx.period);
    let out = layout.period_dir(period);
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".tmp-exports-")
        .tempdir_in(&out)
        .with_context(|| format!("cannot create a temporary directory in {}", out.display()))?;
    let stage = |p: PathBuf| staging.path().join(p.file_name().expect("a file name"));
    let mut report = Report::default();

    let g = gstr1(ctx)?;
    std::fs::write(stage(layout.gstr1_json(period)), gstr1_bytes(&g)?)?;
    report.gstr1 = gstr1_counts(&g);

    let csv_dir = stage(layout.csv_dir(period));
    std::fs::create_dir(&csv_dir)?;
    for table in ALL_TABLES {
        let src = layout.parquet_file(table, period);
        if src.exists() {
            let rows = csv::table(&src, &csv_dir.join(format!("{}.csv", table.name())))?;
            report.csv.insert(table.name().into(), rows);
        }
    }

    let statements_dir = stage(layout.statements_dir(period));
    std::fs::create_dir(&statements_dir)?;
    let written = statements::write(layout, period, ctx.time_zone, &ctx.currency, &statements_dir)?;
    report.statements = written.statements;
    report.statement_calls = written.calls;

    let title = format!("{} billing {period}", ctx.partner);
    let mut book = xlsx::Book::new(staging.path(), title.trim(), period.last_day())?;
    let file = |t| layout.parquet_file(t, period);
    book.table_sheet("Invoices", &file(Table::Invoices), None)?;
    book.table_sheet("Lines", &file(Table::InvoiceLines), None)?;
    let notes = xlsx::Only {
        column: "kind",
        values: &["credit_note", "debit_note"],
    };
    book.table_sheet("Notes", &file(Table::Documents), Some(notes))?;
    book.hsn_sheet(&g.hsn.hsn_b2b, &g.hsn.hsn_b2c)?;
    book.table_sheet("Reconciliation", &file(Table::Reconciliation), None)?;
    book.table_sheet("Exceptions", &file(Table::Exceptions), None)?;
    book.table_sheet("Balances", &file(Table::Balances), None)?;
    book.table_sheet("Subaccounts", &file(Table::Subaccounts), None)?;
    book.table_sheet("Documents", &file(Table::Documents), None)?;
    report.sheets = book.save(&stage(layout.finance_xlsx(period)))?;

    for target in [
        layout.gstr1_json(period),
        layout.finance_xlsx(period),
        layout.csv_dir(period),
        layout.statements_dir(period),
    ] {
        install(&stage(target.clone()), &target)?;
    }
    report.seconds = started.elapsed().as_secs_f64();
    report.peak_rss_mib = crate::resources::peak_rss_mib();
    Ok(report)
}

/// Every table, for the CSV copies.
const ALL_TABLES: [Table; 13] = [
    Table::Accounts,
    Table::Subaccounts,
    Table::Balances,
    Table::Transactions,
    Table::Cdrs,
    Table::AnalyticsDaily,
    Table::Reconciliation,
    Table::Exceptions,
    Table::Invoices,
    Table::InvoiceLines,
    Table::Documents,
    Table::DocumentLines,
    Table::DocumentSummary,
];

/// Move a staged file or directory over `target`. A directory cannot be renamed over a full
/// one, so the old one is first moved aside (a `.tmp-` name a later run removes), then
/// deleted.
fn install(staged: &Path, target: &Path) -> anyhow::Result<()> {
    if staged.is_dir() && target.exists() {
        let parent = target.parent().expect("outputs live in a period directory");
        let aside = tempfile::Builder::new().prefix(".tmp-old-").tempdir_in(parent)?.keep();
        let old = aside.join("old");
        std::fs::rename(target, &old).with_context(|| format!("cannot move {} aside", target.display()))?;
        std::fs::rename(staged, target).with_context(|| format!("cannot put {} in place", target.display()))?;
        std::fs::remove_dir_all(&aside).with_context(|| format!("cannot remove {}", aside.display()))?;
    } else {
        std::fs::rename(staged, target).with_context(|| format!("cannot put {} in place", target.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_staged_directory_replaces_the_old_one_whole() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("statements");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("MA_GONE0001.csv"), b"old").unwrap();
        let staged = dir.path().join(".tmp-exports-x");
        std::fs::create_dir(&staged).unwrap();
        std::fs::write(staged.join("MA_NEW00001.csv"), b"new").unwrap();
        install(&staged, &target).unwrap();
        let names: Vec<_> = std::fs::read_dir(&target)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["MA_NEW00001.csv"]);
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["statements"], "nothing moved aside is left behind");
    }
}
