//! The Vobiz API as the pipeline sees it: the HTTP client (auth, retries, rate limits), the
//! pagers (pure state machines), the wire types of every endpoint with the fast page reader,
//! and the conversion of list-page rows into table rows.
//!
//! Extract uses all of it; normalize uses the wire types and the row conversion to read raw
//! pages back offline. Depends only on `model` and `store` (for the row types it produces).

pub mod client;
pub mod paging;
pub mod redact;
pub mod rows;
pub mod wire;
