//! vobiz-billing: monthly billing for Vobiz partners.
//!
//! Stages talk through files under the output root: extract → normalize → reconcile →
//! invoice → export → report. The [`simulator`] is a faithful, deterministic stand-in for the Vobiz
//! Partner API, used by `demo` and by the tests.

pub mod api;
pub mod cli;
pub mod config;
pub mod context;
pub mod crashpoint;
pub mod error;
pub mod export;
pub mod extract;
pub mod invoice;
pub mod layout;
pub mod lock;
pub mod logging;
pub mod manifest;
pub mod model;
pub mod normalize;
pub mod output;
pub mod pipeline;
pub mod reconcile;
pub mod remote;
pub mod render;
pub mod report;
pub mod resources;
pub mod simulator;
pub mod store;
