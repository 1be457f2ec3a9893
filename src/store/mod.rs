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
