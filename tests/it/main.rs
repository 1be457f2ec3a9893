//! The one integration-test binary (one link step keeps builds fast on small machines).

mod architecture;
mod cli;
mod crash;
mod hostile;
mod invoice;
mod lifecycle;
mod messy;
mod objstore;
mod pipeline;
mod reconcile;
mod register;
mod report;
mod security;
mod simulator;
mod store;
mod subaccounts;
mod support;
mod sweep;
