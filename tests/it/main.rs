//! The one integration-test binary (one link step keeps builds fast on small machines).

mod cli;
mod pipeline;
mod reconcile;
mod simulator;
mod support;
