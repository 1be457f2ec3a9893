//! The typed readers: every table a run writes, read back through `store::read` into its row
//! type and written again through the same column list, gives the same file, byte for byte.
//! So no column is lost, retyped, re-scaled or re-ordered on the way back, and the reader and
//! the writer agree on every table's schema.

use std::fmt::Debug;
use std::path::Path;

use vobiz_billing::layout::{Layout, Table};
use vobiz_billing::model::Period;
use vobiz_billing::store::invoices::{DocumentLineRow, DocumentRow, DocumentSummaryRow, InvoiceLineRow, InvoiceRow};
use vobiz_billing::store::normalized::{AccountRow, AnalyticsDayRow, BalanceRow, CdrRow, TransactionRow};
use vobiz_billing::store::partition::PartitionWriter;
use vobiz_billing::store::read;
use vobiz_billing::store::reconciliation::{AccountCheck, ExceptionRow};
use vobiz_billing::store::schema::Row;

use crate::pipeline::options;

/// Read `R`'s partition back into rows, write them again beside it, compare the bytes.
fn rewrites_identically<R: Row + Debug>(layout: &Layout, period: Period, scratch: &Path) -> usize {
    let original = layout.parquet_file(R::TABLE, period);
    let metadata: Vec<(String, String)> = {
        let file = std::fs::File::open(&original).unwrap();
        let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
        parquet::file::reader::FileReader::metadata(&reader)
            .file_metadata()
            .key_value_metadata()
            .map(|kv| {
                kv.iter()
                    .map(|k| (k.key.clone(), k.value.clone().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let copy = scratch.join(format!("{}.parquet", R::TABLE));
    let mut w = PartitionWriter::create(&copy, R::COLUMNS, metadata).unwrap();
    let mut rows = 0;
    for batch in read::file::<R>(&original).unwrap() {
        for row in batch.unwrap() {
            w.push(row).unwrap();
            rows += 1;
        }
    }
    w.finish().unwrap();
    assert!(
        std::fs::read(&original).unwrap() == std::fs::read(&copy).unwrap(),
        "{}: read back and written again, the file differs",
        R::TABLE
    );
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_table_reads_back_into_its_rows_and_writes_the_same_bytes() {
    // Anomalies and hostile names: nulls, negative and sub-paisa amounts, foreign currencies,
    // markup and non-ASCII text in the tables.
    let mut spec = vobiz_billing::simulator::DatasetSpec::new(23, 24, 80, "2026-03".parse().unwrap());
    spec.anomalies = vobiz_billing::simulator::Anomaly::parse_list("all").unwrap();
    spec.hostile_names = true;
    let sim = vobiz_billing::simulator::start(spec, "none".parse().unwrap(), "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    vobiz_billing::pipeline::run(&options(&sim.base_url(), dir.path()))
        .await
        .unwrap();
    let (layout, period) = (Layout::new(dir.path()), "2026-03".parse().unwrap());
    let s = scratch.path();
    let counts = [
        (Table::Accounts, rewrites_identically::<AccountRow>(&layout, period, s)),
        (Table::Balances, rewrites_identically::<BalanceRow>(&layout, period, s)),
        (
            Table::Transactions,
            rewrites_identically::<TransactionRow>(&layout, period, s),
        ),
        (Table::Cdrs, rewrites_identically::<CdrRow>(&layout, period, s)),
        (
            Table::AnalyticsDaily,
            rewrites_identically::<AnalyticsDayRow>(&layout, period, s),
        ),
        (
            Table::Reconciliation,
            rewrites_identically::<AccountCheck>(&layout, period, s),
        ),
        (
            Table::Exceptions,
            rewrites_identically::<ExceptionRow>(&layout, period, s),
        ),
        (Table::Invoices, rewrites_identically::<InvoiceRow>(&layout, period, s)),
        (
            Table::InvoiceLines,
            rewrites_identically::<InvoiceLineRow>(&layout, period, s),
        ),
        (
            Table::Documents,
            rewrites_identically::<DocumentRow>(&layout, period, s),
        ),
        (
            Table::DocumentLines,
            rewrites_identically::<DocumentLineRow>(&layout, period, s),
        ),
        (
            Table::DocumentSummary,
            rewrites_identically::<DocumentSummaryRow>(&layout, period, s),
        ),
    ];
    // A projected read fills exactly the columns it names, as the full read does.
    let c = CdrRow::COL;
    let full = read::all::<CdrRow>(&layout, period).unwrap();
    let mut projected = Vec::new();
    for rows in read::partition_columns::<CdrRow>(&layout, period, &[c.uuid, c.cost]).unwrap() {
        projected.extend(rows.unwrap());
    }
    assert_eq!(projected.len(), full.len());
    for (p, f) in projected.iter().zip(&full) {
        assert_eq!((&p.uuid, p.cost), (&f.uuid, f.cost));
        assert_eq!(p.billsec, 0, "a column not named is not read");
    }
    let err = read::partition_columns::<CdrRow>(&layout, period, &["no_such_column"])
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("no column no_such_column"), "{err}");
    // Every table had rows to compare.
    for (table, rows) in counts {
        assert!(rows > 0, "{table} is empty");
    }
}

/// A file whose column has another type than the schema says is refused, naming the table
/// and the column, never read with a default.
#[test]
fn a_column_of_the_wrong_type_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exceptions.parquet");
    // An `exceptions` file whose `auth_id` column holds integers.
    let schema = std::sync::Arc::new(arrow::datatypes::Schema::new(vec![arrow::datatypes::Field::new(
        "auth_id",
        arrow::datatypes::DataType::Int32,
        false,
    )]));
    let batch = arrow::record_batch::RecordBatch::try_new(
        schema.clone(),
        vec![std::sync::Arc::new(arrow::array::Int32Array::from(vec![1]))],
    )
    .unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let err = read::file::<ExceptionRow>(&path).unwrap().next().unwrap().unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("table exceptions: column auth_id is Int32, expected Utf8"),
        "{msg}"
    );
}
