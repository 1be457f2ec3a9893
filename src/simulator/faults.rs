//! Fault injection: seeded, per request, so a run with the same spec and the same requests
//! sees the same faults whatever the interleaving.
//!
//! The fault for a request is drawn from (fault seed, method + path + query, attempt number of
//! that exact request). A retry is a new attempt and gets a new draw; after `max_streak`
//! consecutive faults on one request the next attempt is served cleanly, so a client that
//! retries enough always completes (real outages are not modelled).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::dataset::Micros;
use super::errors::catalogue_error;
use super::rng::{Rng, key};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// 429 with `Retry-After` and the catalogue error body.
    RateLimited,
    /// 500 with a JSON error body.
    Internal,
    /// 502 with a proxy's HTML page.
    BadGateway,
    /// 503 with a plain-text body and sometimes `Retry-After`.
    Unavailable,
    /// The response is delayed by `slow_ms`.
    Slow,
    /// Headers are sent, then the connection is dropped mid-body.
    Reset,
    /// 200 with only the first half of the JSON body.
    Truncated,
}

const PER_REQUEST: &[(FaultKind, &str)] = &[
    (FaultKind::RateLimited, "429"),
    (FaultKind::Internal, "500"),
    (FaultKind::BadGateway, "502"),
    (FaultKind::Unavailable, "503"),
    (FaultKind::Slow, "slow"),
    (FaultKind::Reset, "reset"),
    (FaultKind::Truncated, "truncate"),
];

/// Parsed `--faults` value, e.g. `all`, `none`, or
/// `429=0.05,502=0.02,truncate=0.01,drift=0.3,seed=9,slow-ms=1500,retry-after=1,max-streak=2`.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// Probability of each per-request fault, in parts per million.
    pub rates: Vec<(FaultKind, u64)>,
    /// Share of accounts whose ledger grows while a client pages it, per mille.
    pub drift_per_mille: u64,
    pub seed: u64,
    pub slow_ms: u64,
    pub retry_after_s: u64,
    pub max_streak: u32,
}

impl Default for FaultSpec {
    fn default() -> Self {
        Self {
            rates: Vec::new(),
            drift_per_mille: 0,
            seed: 0,
            slow_ms: 1_500,
            retry_after_s: 1,
            max_streak: 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid --faults {0}")]
pub struct InvalidFaultSpec(String);

fn rate(name: &str, v: &str) -> Result<u64, InvalidFaultSpec> {
    let p: f64 = v
        .parse()
        .map_err(|_| InvalidFaultSpec(format!("{name}={v:?}: expected a probability like 0.05")))?;
    if !(0.0..=1.0).contains(&p) {
        return Err(InvalidFaultSpec(format!("{name}={v}: probability must be within 0..1")));
    }
    Ok((p * 1_000_000.0).round() as u64)
}

impl std::str::FromStr for FaultSpec {
    type Err = InvalidFaultSpec;

    fn from_str(s: &str) -> Result<Self, InvalidFaultSpec> {
        let mut spec = FaultSpec::default();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (name, value) = item.split_once('=').unwrap_or((item, ""));
            let int = |v: &str| {
                v.parse::<u64>()
                    .map_err(|_| InvalidFaultSpec(format!("{name}={v:?}: expected a whole number")))
            };
            match name {
                "none" => spec.rates.clear(),
                "all" => {
                    spec.rates = PER_REQUEST
                        .iter()
                        .map(|&(k, _)| (k, if k == FaultKind::RateLimited { 30_000 } else { 20_000 }))
                        .collect();
                    spec.drift_per_mille = 300;
                }
                "drift" => spec.drift_per_mille = rate(name, if value.is_empty() { "0.3" } else { value })? / 1_000,
                "seed" => spec.seed = int(value)?,
                "slow-ms" => spec.slow_ms = int(value)?,
                "retry-after" => spec.retry_after_s = int(value)?,
                "max-streak" => spec.max_streak = int(value)? as u32,
                _ => {
                    let kind = PER_REQUEST
                        .iter()
                        .find(|(_, n)| *n == name)
                        .map(|(k, _)| *k)
                        .ok_or_else(|| {
                            InvalidFaultSpec(format!(
                                "{name:?}: unknown fault; known: all, none, 429, 500, 502, 503, slow, reset, truncate, drift, seed, slow-ms, retry-after, max-streak"
                            ))
                        })?;
                    let r = rate(name, if value.is_empty() { "0.05" } else { value })?;
                    spec.rates.retain(|(k, _)| *k != kind);
                    spec.rates.push((kind, r));
                }
            }
        }
        let total: u64 = spec.rates.iter().map(|(_, r)| r).sum();
        if total > 1_000_000 {
            return Err(InvalidFaultSpec(format!(
                "{s:?}: fault probabilities add up to more than 1"
            )));
        }
        Ok(spec)
    }
}

/// Per-request bookkeeping: attempts and consecutive faults of each distinct request.
#[derive(Default)]
pub struct FaultState {
    requests: Mutex<HashMap<u64, (u32, u32)>>,
}

impl FaultState {
    /// Decide the fault (if any) for this attempt of request `request_key`.
    fn draw(&self, spec: &FaultSpec, request_key: u64) -> Option<FaultKind> {
        if spec.rates.is_empty() {
            return None;
        }
        let mut map = self.requests.lock().expect("fault lock");
        let (attempt, streak) = map.entry(request_key).or_default();
        let mut rng = Rng::new(key(&[spec.seed, request_key, *attempt as u64]));
        *attempt += 1;
        let roll = rng.below(1_000_000);
        let mut acc = 0;
        let fault = spec.rates.iter().find_map(|&(k, r)| {
            acc += r;
            (roll < acc).then_some(k)
        });
        match fault {
            Some(_) if *streak < spec.max_streak => {
                *streak += 1;
                fault
            }
            _ => {
                *streak = 0;
                None
            }
        }
    }
}

/// Everything the fault middleware reads, held apart from the simulator so that this module
/// needs nothing from the HTTP layer: the spec, the per-request bookkeeping, and the instant
/// injected catalogue errors are stamped with (the dataset's "now").
pub struct FaultInjector {
    pub spec: FaultSpec,
    pub state: FaultState,
    pub now: Micros,
}

impl FaultInjector {
    pub fn new(spec: FaultSpec, now: Micros) -> Self {
        Self {
            spec,
            state: FaultState::default(),
            now,
        }
    }
}

pub fn request_key(method: &str, path_and_query: &str) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for b in method.bytes().chain([b' ']).chain(path_and_query.bytes()) {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01B3);
    }
    h
}

pub async fn inject(State(injector): State<Arc<FaultInjector>>, req: Request, next: Next) -> Response {
    let pq = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let rk = request_key(req.method().as_str(), pq);
    let spec = &injector.spec;
    match injector.state.draw(spec, rk) {
        None => next.run(req).await,
        Some(FaultKind::RateLimited) => {
            let mut resp = catalogue_error(
                injector.now,
                rk,
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMIT_EXCEEDED",
                "Rate limit exceeded. Please retry after the indicated time.",
                serde_json::json!({"limitType": "requests", "retryAfter": spec.retry_after_s}),
            );
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(spec.retry_after_s));
            resp
        }
        Some(FaultKind::Internal) => catalogue_error(
            injector.now,
            rk,
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "An unexpected error occurred.",
            serde_json::json!({}),
        ),
        Some(FaultKind::BadGateway) => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html")],
            "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
        )
            .into_response(),
        Some(FaultKind::Unavailable) => {
            let mut resp = (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/plain")],
                "upstream connect error or disconnect/reset before headers. reset reason: overflow",
            )
                .into_response();
            if rk.is_multiple_of(2) {
                resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(spec.retry_after_s));
            }
            resp
        }
        Some(FaultKind::Slow) => {
            tokio::time::sleep(Duration::from_millis(spec.slow_ms)).await;
            next.run(req).await
        }
        Some(FaultKind::Reset) => {
            // Some bytes first, so the status line and headers are on the wire, then the drop.
            use futures_util::StreamExt;
            let failing = futures_util::stream::iter([
                Ok(axum::body::Bytes::from_static(b"{\"data\": [")),
                Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected reset")),
            ])
            .then(|item| async move {
                if item.is_err() {
                    // Let the first chunk reach the client before the connection drops.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                item
            });
            Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from_stream(failing))
                .expect("static response")
        }
        Some(FaultKind::Truncated) => {
            let resp = next.run(req).await;
            let (mut parts, body) = resp.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
            let cut = bytes.slice(..bytes.len() / 2);
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(cut))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        let s: FaultSpec = "429=0.1,truncate,seed=9,slow-ms=10,max-streak=3,drift=0.5"
            .parse()
            .unwrap();
        assert_eq!(
            s.rates,
            vec![(FaultKind::RateLimited, 100_000), (FaultKind::Truncated, 50_000)]
        );
        assert_eq!((s.seed, s.slow_ms, s.max_streak, s.drift_per_mille), (9, 10, 3, 500));
        let all: FaultSpec = "all".parse().unwrap();
        assert_eq!(all.rates.len(), PER_REQUEST.len());
        assert!(all.drift_per_mille > 0);
        assert_eq!("none".parse::<FaultSpec>().unwrap(), FaultSpec::default());
        for bad in ["explode", "429=2", "429=abc", "seed=x", "429=0.6,500=0.6"] {
            assert!(bad.parse::<FaultSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn streaks_are_capped_and_draws_repeat() {
        let spec: FaultSpec = "500=1,max-streak=2".parse().unwrap();
        let st = FaultState::default();
        let seq: Vec<_> = (0..6).map(|_| st.draw(&spec, 42)).collect();
        assert_eq!(seq[..3], [Some(FaultKind::Internal), Some(FaultKind::Internal), None]);
        let again = FaultState::default();
        assert_eq!(seq, (0..6).map(|_| again.draw(&spec, 42)).collect::<Vec<_>>());
    }
}
