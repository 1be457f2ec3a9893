//! Every path the pipeline reads or writes, in one place.
//!
//! ```text
//! <out>/parquet/<table>/period=YYYY-MM/part-0.parquet
//! <out>/raw/YYYY-MM/<endpoint>/<account or "partner">.jsonl.zst
//! <out>/YYYY-MM/{manifest.json, reconciliation.html, report.html, invoices/…}
//! <out>/YYYY-MM/{gstr1.json, finance.xlsx, csv/<table>.csv, statements/<account>.csv}
//! <out>/state/{invoice-register.json, locks/YYYY-MM.lock}
//! ```
//! File names built from upstream ids only ever use validated [`AccountId`]s.

#![warn(missing_docs)]

use std::fmt;
use std::path::{Path, PathBuf};

use crate::model::{AccountId, Period};

/// Every table the pipeline writes, one Parquet partition per period each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// Customer accounts as listed.
    Accounts,
    /// Balance snapshots and the ledger figures that tie them to the period.
    Balances,
    /// Wallet transactions booked in the period.
    Transactions,
    /// Calls that started in the period.
    Cdrs,
    /// The partner's analytics per UTC day.
    AnalyticsDaily,
    /// Customers' subaccounts as listed.
    Subaccounts,
    /// One reconciliation row per account.
    Reconciliation,
    /// Reconciliation findings.
    Exceptions,
    /// Tax invoices.
    Invoices,
    /// Their lines.
    InvoiceLines,
    /// Every issued document of the period's supply: invoices, credit and debit notes.
    Documents,
    /// Their lines (a note's lines are the per-line corrections).
    DocumentLines,
    /// Documents dated in the period, per series (GSTR-1 Table 13).
    DocumentSummary,
}

impl Table {
    /// The tables normalize writes, in the order it writes them.
    pub const NORMALIZED: [Table; 6] = [
        Table::Accounts,
        Table::Balances,
        Table::Transactions,
        Table::Cdrs,
        Table::AnalyticsDaily,
        Table::Subaccounts,
    ];

    /// The table's directory name under `parquet/`.
    pub const fn name(self) -> &'static str {
        match self {
            Table::Accounts => "accounts",
            Table::Balances => "balances",
            Table::Transactions => "transactions",
            Table::Cdrs => "cdrs",
            Table::AnalyticsDaily => "analytics_daily",
            Table::Subaccounts => "subaccounts",
            Table::Reconciliation => "reconciliation",
            Table::Exceptions => "exceptions",
            Table::Invoices => "invoices",
            Table::InvoiceLines => "invoice_lines",
            Table::Documents => "documents",
            Table::DocumentLines => "document_lines",
            Table::DocumentSummary => "document_summary",
        }
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a raw page file holds: which endpoint, for the partner or one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RawEndpoint {
    /// `GET /partner/me`
    Profile,
    /// `GET /partner/accounts` pages (customer tokens redacted)
    Accounts,
    /// `GET /partner/analytics` for the period's UTC days
    Analytics,
    /// `GET /partner/dashboard`
    Dashboard,
    /// `GET /partner/accounts/{id}/transactions` pages from the period start to now
    Transactions,
    /// `GET /partner/accounts/{id}/transactions?per_page=1`: all-time summary
    LedgerTotals,
    /// `GET /partner/accounts/{id}/balance`
    Balance,
    /// `GET /Account/{id}/balance/{currency}` (thresholds, credit limit)
    Wallet,
    /// `GET /partner/accounts/{id}/cdrs` pages
    Cdrs,
    /// `GET /accounts/{id}/sub-accounts/` pages (subaccount tokens redacted)
    Subaccounts,
}

impl RawEndpoint {
    /// The endpoint's directory name under `raw/YYYY-MM/`.
    pub fn dir(self) -> &'static str {
        match self {
            RawEndpoint::Profile => "profile",
            RawEndpoint::Accounts => "accounts",
            RawEndpoint::Analytics => "analytics",
            RawEndpoint::Dashboard => "dashboard",
            RawEndpoint::Transactions => "transactions",
            RawEndpoint::LedgerTotals => "ledger_totals",
            RawEndpoint::Balance => "balance",
            RawEndpoint::Wallet => "wallet",
            RawEndpoint::Cdrs => "cdrs",
            RawEndpoint::Subaccounts => "subaccounts",
        }
    }
}

/// The paths under one output root.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// The layout under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The output root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `parquet/<table>`: every period's partition of a table.
    pub fn table_dir(&self, table: Table) -> PathBuf {
        self.root.join("parquet").join(table.name())
    }

    /// `parquet/<table>/period=YYYY-MM` (Hive-style).
    pub fn partition_dir(&self, table: Table, period: Period) -> PathBuf {
        self.table_dir(table).join(format!("period={period}"))
    }

    /// The one file of a partition.
    pub fn parquet_file(&self, table: Table, period: Period) -> PathBuf {
        self.partition_dir(table, period).join("part-0.parquet")
    }

    /// `raw/YYYY-MM`: every page fetched for a period.
    pub fn raw_period_dir(&self, period: Period) -> PathBuf {
        self.root.join("raw").join(period.to_string())
    }

    /// Raw pages of a partner-level endpoint.
    pub fn raw_partner(&self, period: Period, endpoint: RawEndpoint) -> PathBuf {
        self.raw_period_dir(period)
            .join(endpoint.dir())
            .join("partner.jsonl.zst")
    }

    /// Raw pages of one account's endpoint.
    pub fn raw_account(&self, period: Period, endpoint: RawEndpoint, account: &AccountId) -> PathBuf {
        self.raw_period_dir(period)
            .join(endpoint.dir())
            .join(format!("{account}.jsonl.zst"))
    }

    /// Human-facing outputs of a period.
    pub fn period_dir(&self, period: Period) -> PathBuf {
        self.root.join(period.to_string())
    }

    /// The period's manifest: inputs, row counts, sums, hashes, timings.
    pub fn manifest(&self, period: Period) -> PathBuf {
        self.period_dir(period).join("manifest.json")
    }

    /// The reconciliation's HTML page.
    pub fn reconciliation_html(&self, period: Period) -> PathBuf {
        self.period_dir(period).join("reconciliation.html")
    }

    /// The partner's monthly report.
    pub fn report_html(&self, period: Period) -> PathBuf {
        self.period_dir(period).join("report.html")
    }

    /// A period's invoice documents, `<number with / → _>.html|.pdf`.
    pub fn invoices_dir(&self, period: Period) -> PathBuf {
        self.period_dir(period).join("invoices")
    }

    /// Draft invoices of a period not yet finalized (not tax invoices; replaced on every run).
    pub fn drafts_dir(&self, period: Period) -> PathBuf {
        self.period_dir(period).join("drafts")
    }

    /// The period's GSTR-1 in the offline tool's JSON shape (documents dated in the period).
    pub fn gstr1_json(&self, period: Period) -> PathBuf {
        self.period_dir(period).join("gstr1.json")
    }

    /// The finance workbook.
    pub fn finance_xlsx(&self, period: Period) -> PathBuf {
        self.period_dir(period).join("finance.xlsx")
    }

    /// `csv/<table>.csv`: every table of the period as CSV.
    pub fn csv_dir(&self, period: Period) -> PathBuf {
        self.period_dir(period).join("csv")
    }

    /// `statements/<account>.csv`: each customer's billed calls.
    pub fn statements_dir(&self, period: Period) -> PathBuf {
        self.period_dir(period).join("statements")
    }

    /// One customer's call statement (a validated id, never raw upstream text).
    pub fn statement(&self, period: Period, account: &AccountId) -> PathBuf {
        self.statements_dir(period).join(format!("{account}.csv"))
    }

    /// `state/`: what outlives a period (the invoice register, the locks).
    pub fn state_dir(&self) -> PathBuf {
        self.root.join("state")
    }

    /// Every invoice number ever issued.
    pub fn invoice_register(&self) -> PathBuf {
        self.state_dir().join("invoice-register.json")
    }

    /// The OS locks that keep two runs of a period apart.
    pub fn locks_dir(&self) -> PathBuf {
        self.state_dir().join("locks")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_design() {
        let l = Layout::new("reports");
        let p: Period = "2026-03".parse().unwrap();
        assert_eq!(
            l.parquet_file(Table::Cdrs, p),
            Path::new("reports/parquet/cdrs/period=2026-03/part-0.parquet")
        );
        let a = AccountId::parse("MA_ZKITB8Z2").unwrap();
        assert_eq!(
            l.raw_account(p, RawEndpoint::Transactions, &a),
            Path::new("reports/raw/2026-03/transactions/MA_ZKITB8Z2.jsonl.zst")
        );
        assert_eq!(l.manifest(p), Path::new("reports/2026-03/manifest.json"));
        assert_eq!(
            l.reconciliation_html(p),
            Path::new("reports/2026-03/reconciliation.html")
        );
        assert_eq!(l.report_html(p), Path::new("reports/2026-03/report.html"));
        assert_eq!(l.invoices_dir(p), Path::new("reports/2026-03/invoices"));
        assert_eq!(l.invoice_register(), Path::new("reports/state/invoice-register.json"));
        assert_eq!(l.locks_dir(), Path::new("reports/state/locks"));
    }
}
