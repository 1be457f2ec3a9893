//! Domain types shared by every stage: validated ids, money, billing periods, GSTINs.
//!
//! Nothing in here does I/O; everything that crosses a stage boundary is one of these types.

pub mod document;
pub mod gstin;
pub mod ids;
pub mod ledger;
pub mod money;
pub mod period;
pub mod pin;
pub mod place;
pub mod product;
pub mod tax;
pub mod time;

pub use gstin::Gstin;
pub use ids::{AccountId, PartnerId, SubaccountId};
pub use ledger::{LedgerKind, LedgerStatus};
pub use money::Money;
pub use period::Period;
