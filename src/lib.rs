//! vobiz-billing: monthly billing for Vobiz partners.
//!
//! Stages talk through files under the output root: extract → normalize → reconcile →
//! invoice → report. The [`simulator`] is a faithful, deterministic stand-in for the Vobiz
//! Partner API, used by `demo` and by the tests.

pub mod cli;
pub mod error;
pub mod logging;
pub mod model;
pub mod output;
pub mod simulator;
