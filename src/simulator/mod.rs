//! A faithful, deterministic simulator of the Vobiz Partner API.
//!
//! [`dataset`] seeds the partner and its customers, [`activity`] generates calls and ledger
//! rows on demand, [`server`] serves them over HTTP with each endpoint's documented envelope,
//! paging and errors, [`faults`] injects failures, and [`truth`] writes the exact figures a
//! correct client must arrive at. [`errors`] builds the error bodies both `server` and
//! `faults` answer with, so neither depends on the other.

pub mod activity;
pub mod dataset;
pub mod errors;
pub mod fast_json;
pub mod faults;
pub mod messy;
pub mod rng;
pub mod server;
pub mod subaccounts;
pub mod truth;
pub mod wire;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use dataset::{Anomalies, Anomaly, DEMO_PARTNER_AUTH_ID, DEMO_PARTNER_AUTH_TOKEN, DatasetSpec, LateChange, Messy};
pub use faults::FaultSpec;
pub use server::Simulator;

/// Account indices kept in memory at once (each is ~60 bytes per call).
pub const DEFAULT_CACHED_ACCOUNTS: usize = 64;

/// A simulator serving on a local port until dropped or shut down.
pub struct RunningSimulator {
    pub addr: SocketAddr,
    pub sim: Arc<Simulator>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningSimulator {
    /// Base URL to give a client, e.g. `http://127.0.0.1:40123`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop accepting connections and wait for the server task.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        self.stop().await
    }

    async fn stop(&mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(t) => t.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }

    /// Serve until the server fails (used by `vobiz-billing sim`).
    pub async fn wait(mut self) -> std::io::Result<()> {
        match self.task.take() {
            Some(t) => t.await.map_err(std::io::Error::other)?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningSimulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Generate the dataset and serve it on `addr` (use port 0 for any free port).
pub async fn start(spec: DatasetSpec, faults: FaultSpec, addr: SocketAddr) -> std::io::Result<RunningSimulator> {
    let mut spec = spec;
    spec.drift_per_mille = faults.drift_per_mille;
    let sim = Arc::new(Simulator::new(
        dataset::Dataset::generate(spec),
        faults,
        DEFAULT_CACHED_ACCOUNTS,
    ));
    let warming = sim.clone();
    tokio::task::spawn_blocking(move || warming.warm())
        .await
        .map_err(std::io::Error::other)?;
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    let app = server::router(sim.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
    });
    Ok(RunningSimulator {
        addr,
        sim,
        shutdown: Some(tx),
        task: Some(task),
    })
}
