//! Storage: every table's schema, written and read through one definition; the atomic
//! Parquet partition writer; the raw page archive. Stages depend on this layer, never on
//! each other. Every path comes from [`crate::layout`].

pub mod invoices;
pub mod normalized;
pub mod partition;
pub mod raw;
pub mod read;
pub mod reconciliation;
pub mod schema;
pub mod sort;

#[cfg(test)]
mod tests {
    use super::schema::{Column, Row, schema};

    /// Every column builds the Arrow type its schema declares (a field whose Rust type does
    /// not fit its declared kind would build another), and its name is `Row::COL`'s.
    fn columns_build_their_declared_types<R: Row>() {
        let rows = [R::default()];
        let schema = schema(R::COLUMNS);
        for (c, field) in R::COLUMNS.iter().zip(schema.fields()) {
            let array = (c.build)(&rows);
            assert_eq!(array.data_type(), field.data_type(), "{}.{}", R::TABLE, c.name);
        }
        let names: Vec<&str> = R::COLUMNS.iter().map(|c: &Column<R>| c.name).collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{}: a column name twice", R::TABLE);
    }

    #[test]
    fn every_table_builds_its_declared_schema() {
        use super::invoices::*;
        use super::normalized::*;
        use super::reconciliation::*;
        columns_build_their_declared_types::<AccountRow>();
        columns_build_their_declared_types::<BalanceRow>();
        columns_build_their_declared_types::<TransactionRow>();
        columns_build_their_declared_types::<CdrRow>();
        columns_build_their_declared_types::<AnalyticsDayRow>();
        columns_build_their_declared_types::<AccountCheck>();
        columns_build_their_declared_types::<ExceptionRow>();
        columns_build_their_declared_types::<InvoiceRow>();
        columns_build_their_declared_types::<InvoiceLineRow>();
    }
}
