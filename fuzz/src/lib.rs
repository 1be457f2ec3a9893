//! The parts of `vobiz-billing` that the fuzz targets exercise, compiled from the main crate's
//! own source files.
//!
//! Why not depend on `vobiz-billing`? The main crate pulls polars, typst and arrow: far too much
//! to build with the fuzzer's instrumentation. `src/model/` and `src/api/{wire,redact}.rs`
//! need only std, serde, serde_json, rust_decimal, chrono, chrono-tz and thiserror, so they are
//! compiled here directly through `#[path]` — the same source, not a copy — under the same
//! module paths (`crate::model`, `crate::api::wire`) that they have in the main crate.
//!
//! Path resolution: a `#[path]` in this file is relative to `fuzz/src/`. The `#[path]` on the
//! inline `mod api` makes `../../src/api/` the directory its child modules are read
//! from. (A `#[path]` on each child instead would be taken relative to `fuzz/src/api/`, a
//! directory that does not exist, so its `..` would not resolve.)

#[path = "../../src/model/mod.rs"]
pub mod model;

#[path = "../../src/api"]
pub mod api {
    pub mod redact;
    pub mod wire;
}
