//! HTTP client for the Vobiz API: authentication, timeouts, retries with capped jittered
//! backoff (honouring `Retry-After`), a body-size cap, and request statistics.
//!
//! Secrets live in [`Secret`], which never prints. Nothing in this module logs a header.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{StatusCode, Url};

/// A credential that must never reach logs, files or reports.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// An `X-Auth-ID` / `X-Auth-Token` pair.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub id: String,
    pub token: Secret,
}

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    pub timeout: Duration,
    /// Largest response body accepted.
    pub max_body_bytes: usize,
    /// Requests in flight at once, over every account and page of the run.
    pub concurrency: usize,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 6,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            timeout: Duration::from_secs(30),
            concurrency: 8,
            max_body_bytes: 64 << 20,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The API refused the request (4xx other than 408/429): retrying cannot help.
    #[error("{what}: HTTP {status}{}", detail(.body))]
    Refused { what: String, status: u16, body: String },
    /// Every attempt failed with a transient error.
    #[error("{what}: gave up after {attempts} attempts; last error: {last}")]
    Exhausted { what: String, attempts: u32, last: String },
    /// The response parsed as JSON but not as the documented shape.
    #[error("{what}: unexpected response: {reason}")]
    Unexpected { what: String, reason: String },
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The server's TLS certificate did not verify. Never retried, and verification has no
    /// switch to turn it off: a billing run must not send credentials to an impostor.
    #[error(
        "the TLS certificate of {url} is not trusted ({reason}); certificate verification cannot be turned off: add the issuing CA to the system's trust store if the server is genuine"
    )]
    Untrusted { url: String, reason: String },
}

fn detail(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(" ({body})")
    }
}

/// A short, printable excerpt of an error body (no control characters, bounded length).
fn excerpt(body: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(body)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let t = text.trim();
    if t.chars().count() > 160 {
        format!("{}…", t.chars().take(160).collect::<String>())
    } else {
        t.to_string()
    }
}

#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub bytes: AtomicU64,
}

impl Stats {
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.retries.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }
}

pub struct ApiClient {
    http: reqwest::Client,
    base: Url,
    partner: Credentials,
    policy: RetryPolicy,
    /// One permit per request in flight: accounts and the pages of one large account all
    /// draw from it, so the server sees at most `concurrency` requests however work is split.
    in_flight: tokio::sync::Semaphore,
    pub stats: Stats,
}

/// Which credentials a request uses.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    Partner,
    Customer(&'a Credentials),
}

enum Attempt {
    Retry { why: String, wait: Option<Duration> },
    Fail(FetchError),
}

impl ApiClient {
    pub fn new(base: Url, partner: Credentials, policy: RetryPolicy) -> anyhow::Result<Self> {
        install_tls_provider();
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("vobiz-billing/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(policy.timeout.min(Duration::from_secs(10)))
            .timeout(policy.timeout)
            .https_only(base.scheme() == "https")
            .build()?;
        Ok(Self {
            http,
            base,
            partner,
            in_flight: tokio::sync::Semaphore::new(policy.concurrency.max(1)),
            policy,
            stats: Stats::default(),
        })
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// GET `path` with `query`, retrying transient failures, and hand the body to `parse`
    /// (which must fully validate it: a syntax error counts as a broken body and is retried).
    pub async fn get<T>(
        &self,
        path: &str,
        query: &[(&str, String)],
        auth: Auth<'_>,
        parse: impl Fn(&[u8]) -> Result<T, serde_json::Error>,
    ) -> Result<(Vec<u8>, T), FetchError> {
        let what = describe(path, query);
        let mut url = self
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|e| FetchError::Unexpected {
                what: what.clone(),
                reason: format!("bad path: {e}"),
            })?;
        url.query_pairs_mut()
            .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        let creds = match auth {
            Auth::Partner => &self.partner,
            Auth::Customer(c) => c,
        };
        let mut last = String::new();
        let attempts = self.policy.max_retries + 1;
        for attempt in 0..attempts {
            if attempt > 0 {
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
            }
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            match self.attempt(&url, creds, &what, &parse).await {
                Ok(v) => {
                    // Request and size only: headers (credentials) are never logged.
                    tracing::trace!(request = %what, bytes = v.0.len(), attempt = attempt + 1, "fetched");
                    return Ok(v);
                }
                Err(Attempt::Fail(e)) => return Err(e),
                Err(Attempt::Retry { why, wait }) => {
                    tracing::debug!(request = %what, attempt = attempt + 1, reason = %why, "retrying");
                    if attempt + 1 == attempts
                        && is_connect_failure(&why)
                        && self.stats.bytes.load(Ordering::Relaxed) == 0
                    {
                        return Err(FetchError::Unreachable {
                            url: self.base.to_string(),
                            reason: why,
                        });
                    }
                    last = why;
                    if attempt + 1 < attempts {
                        tokio::time::sleep(self.backoff(attempt, wait)).await;
                    }
                }
            }
        }
        Err(FetchError::Exhausted { what, attempts, last })
    }

    async fn attempt<T>(
        &self,
        url: &Url,
        creds: &Credentials,
        what: &str,
        parse: &impl Fn(&[u8]) -> Result<T, serde_json::Error>,
    ) -> Result<(Vec<u8>, T), Attempt> {
        // Held for the request and its body: not while the body is parsed, nor for a backoff
        // wait between attempts.
        let permit = self.in_flight.acquire().await.expect("the semaphore is never closed");
        let resp = self
            .http
            .get(url.clone())
            .header("X-Auth-ID", &creds.id)
            .header("X-Auth-Token", creds.token.expose())
            .send()
            .await
            .map_err(|e| match certificate_error(&e) {
                Some(reason) => Attempt::Fail(FetchError::Untrusted {
                    url: self.base.to_string(),
                    reason,
                }),
                None => Attempt::Retry {
                    why: transport_reason(&e),
                    wait: None,
                },
            })?;
        let status = resp.status();
        let wait = retry_after(resp.headers());
        let body = self.read_body(resp, what).await?;
        drop(permit);
        if status.is_success() {
            return match parse(&body) {
                Ok(v) => Ok((body, v)),
                Err(e) if e.is_eof() || e.is_syntax() => Err(Attempt::Retry {
                    why: format!("malformed or truncated JSON ({e})"),
                    wait: None,
                }),
                Err(e) => Err(Attempt::Fail(FetchError::Unexpected {
                    what: what.to_string(),
                    reason: e.to_string(),
                })),
            };
        }
        if is_transient(status) {
            return Err(Attempt::Retry {
                why: format!("HTTP {}", status.as_u16()),
                wait,
            });
        }
        Err(Attempt::Fail(FetchError::Refused {
            what: what.to_string(),
            status: status.as_u16(),
            body: excerpt(&body),
        }))
    }

    async fn read_body(&self, mut resp: reqwest::Response, what: &str) -> Result<Vec<u8>, Attempt> {
        let cap = self.policy.max_body_bytes;
        if resp.content_length().is_some_and(|n| n as usize > cap) {
            return Err(Attempt::Fail(FetchError::Unexpected {
                what: what.to_string(),
                reason: format!("response larger than {} MiB", cap >> 20),
            }));
        }
        let mut body = Vec::with_capacity(resp.content_length().unwrap_or(16 << 10) as usize);
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > cap {
                        return Err(Attempt::Fail(FetchError::Unexpected {
                            what: what.to_string(),
                            reason: format!("response larger than {} MiB", cap >> 20),
                        }));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(Attempt::Retry {
                        why: format!("body interrupted: {}", transport_reason(&e)),
                        wait: None,
                    });
                }
            }
        }
        self.stats.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
        Ok(body)
    }

    /// Full jitter over an exponential ceiling; a server's `Retry-After` is a floor.
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let ceiling = self
            .policy
            .base_delay
            .saturating_mul(1 << attempt.min(16))
            .min(self.policy.max_delay);
        let jitter = random_u64() % (ceiling.as_millis() as u64 + 1);
        let jittered = Duration::from_millis(jitter);
        match retry_after {
            Some(ra) => ra.min(self.policy.max_delay).max(jittered),
            None => jittered,
        }
    }
}

/// reqwest is built without a default TLS provider; ring is small and audited. Call before
/// building any `reqwest::Client` (idempotent).
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn is_transient(s: StatusCode) -> bool {
    matches!(s.as_u16(), 408 | 425 | 429 | 500 | 502 | 503 | 504)
}

fn is_connect_failure(why: &str) -> bool {
    why.starts_with("connect")
}

/// The certificate problem behind a failed request, if that is what failed. rustls's error
/// arrives wrapped in an `io::Error`, whose `source()` skips it, hence `get_ref`.
fn certificate_error(e: &reqwest::Error) -> Option<String> {
    let is_certificate = |r: &rustls::Error| {
        matches!(
            r,
            rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
        )
        .then(|| r.to_string())
    };
    // Each io::Error may wrap another (hyper-rustls wraps tokio-rustls's), so look inside
    // every one as well as following `source()`.
    let mut pending: Vec<&(dyn std::error::Error + 'static)> = vec![e];
    while let Some(err) = pending.pop() {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return is_certificate(r);
        }
        if let Some(inner) = err.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            pending.push(inner);
        }
        pending.extend(err.source());
    }
    None
}

fn transport_reason(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        // The innermost cause names the problem (refused, DNS, certificate).
        let mut src: &dyn std::error::Error = e;
        while let Some(s) = src.source() {
            src = s;
        }
        format!("connect: {src}")
    } else {
        let mut src: &dyn std::error::Error = e;
        while let Some(s) = src.source() {
            src = s;
        }
        src.to_string()
    }
}

/// `Retry-After` as delay-seconds or an HTTP date.
fn retry_after(h: &HeaderMap) -> Option<Duration> {
    let v = h.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    (when.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std().ok()
}

/// `GET /path?a=1` for messages (query values are not secret).
fn describe(path: &str, query: &[(&str, String)]) -> String {
    let q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    if q.is_empty() {
        format!("GET {path}")
    } else {
        format!("GET {path}?{}", q.join("&"))
    }
}

fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let c = Credentials {
            id: "MA_X".into(),
            token: Secret::new("canary-123"),
        };
        assert!(!format!("{c:?}").contains("canary-123"));
    }

    #[test]
    fn retry_after_accepts_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"));
        assert_eq!(retry_after(&h), None, "a date in the past means no wait");
    }

    #[test]
    fn backoff_is_capped_and_honours_retry_after() {
        let policy = RetryPolicy {
            max_delay: Duration::from_secs(2),
            ..Default::default()
        };
        let c = ApiClient::new(
            "http://127.0.0.1:1".parse().unwrap(),
            Credentials {
                id: "PA_X".into(),
                token: Secret::new("t"),
            },
            policy,
        )
        .unwrap();
        for attempt in 0..20 {
            assert!(c.backoff(attempt, None) <= Duration::from_secs(2));
        }
        assert!(c.backoff(0, Some(Duration::from_secs(1))) >= Duration::from_secs(1));
        assert_eq!(c.backoff(0, Some(Duration::from_secs(600))), Duration::from_secs(2));
    }

    #[test]
    fn error_excerpts_are_short_single_lines() {
        let body = format!("<html>\n{}</html>", "x".repeat(1000));
        let e = excerpt(body.as_bytes());
        assert!(!e.contains('\n') && e.chars().count() <= 161);
    }
}
