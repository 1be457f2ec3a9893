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

    mod row_bytes {
        use proptest::prelude::*;
        use rust_decimal::Decimal;

        use crate::model::LedgerKind;
        use crate::store::normalized::TransactionRow;
        use crate::store::schema::{put_row, take_row};

        fn text() -> impl Strategy<Value = String> {
            // Short (inline) and long (over 127 bytes: a two-byte length), any Unicode.
            prop_oneof![".{0,30}", ".{120,300}"]
        }

        fn decimal() -> impl Strategy<Value = Decimal> {
            (any::<i64>(), 0u32..=10).prop_map(|(m, scale)| Decimal::new(m, scale))
        }

        prop_compose! {
            fn transaction()(
                id in text(), balance_id in proptest::option::of(text()), debit in any::<bool>(),
                amount in decimal(), refunded in decimal(), description in proptest::option::of(text()),
                created_at in any::<i64>(), processed_at in proptest::option::of(any::<i64>()),
            ) -> TransactionRow {
                TransactionRow {
                    id: id.into(),
                    balance_id: balance_id.map(Into::into),
                    kind: if debit { LedgerKind::Debit } else { LedgerKind::Credit },
                    amount,
                    signed_amount: -amount,
                    description: description.map(Into::into),
                    refunded,
                    created_at,
                    processed_at,
                    ..Default::default()
                }
            }
        }

        proptest! {
            /// Rows written one after another read back as the same rows, every decimal
            /// with its own scale (`1.50` stays `1.50`, not `1.50000`).
            #[test]
            fn rows_read_back_as_written(rows in proptest::collection::vec(transaction(), 0..20)) {
                let mut bytes = Vec::new();
                for row in &rows {
                    put_row(row, &mut bytes);
                }
                let mut rest = &bytes[..];
                let mut back = Vec::new();
                while !rest.is_empty() {
                    back.push(take_row::<TransactionRow>(&mut rest).unwrap());
                }
                prop_assert_eq!(back.len(), rows.len());
                for (got, row) in back.iter().zip(&rows) {
                    prop_assert_eq!(got, row);
                    prop_assert_eq!(got.amount.scale(), row.amount.scale());
                }
            }

            /// Any decimal reads back bit for bit: all 96 bits of mantissa, every scale, and
            /// the sign of a zero (the same 16 bytes rust_decimal serializes).
            #[test]
            fn every_decimal_reads_back_bit_for_bit(
                lo in any::<u32>(), mid in any::<u32>(), hi in any::<u32>(),
                negative in any::<bool>(), scale in 0u32..=28, zero in any::<bool>(),
            ) {
                let d = if zero {
                    Decimal::from_parts(0, 0, 0, negative, scale)
                } else {
                    Decimal::from_parts(lo, mid, hi, negative, scale)
                };
                let row = TransactionRow { amount: d, ..Default::default() };
                let mut bytes = Vec::new();
                put_row(&row, &mut bytes);
                let back = take_row::<TransactionRow>(&mut &bytes[..]).unwrap();
                prop_assert_eq!(back.amount.serialize(), d.serialize());
            }

            /// A row cut short anywhere is an error, never a row with defaults.
            #[test]
            fn a_row_cut_short_is_an_error(row in transaction(), cut in any::<prop::sample::Index>()) {
                let mut bytes = Vec::new();
                put_row(&row, &mut bytes);
                let short = &bytes[..cut.index(bytes.len())];
                prop_assert!(take_row::<TransactionRow>(&mut &short[..]).is_err());
            }
        }

        #[test]
        fn an_unknown_enum_text_or_a_bad_tag_is_an_error() {
            let row = TransactionRow {
                id: "t1".into(),
                ..Default::default()
            };
            let mut bytes = Vec::new();
            put_row(&row, &mut bytes);
            // id, account_id, balance_id's tag (none), then the kind: "credit".
            let kind_at = 1 + 2 + 1 + 1;
            assert_eq!(&bytes[kind_at..kind_at + 7], b"\x06credit");
            let mut unknown = bytes.clone();
            unknown[kind_at + 1..kind_at + 7].copy_from_slice(b"crodit");
            let e = take_row::<TransactionRow>(&mut &unknown[..]).unwrap_err();
            assert!(format!("{e:#}").contains("unknown value \"crodit\""), "{e:#}");
            let mut tag = bytes.clone();
            tag[1 + 2 + 1] = 7;
            assert!(take_row::<TransactionRow>(&mut &tag[..]).is_err());
        }
    }
}
