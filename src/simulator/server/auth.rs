//! Who is calling: partner or customer credentials (`X-Auth-ID`/`X-Auth-Token` or HTTP
//! Basic), and the documented error each endpoint family answers a wrong caller with.

use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde_json::json;

use super::Simulator;
use crate::simulator::dataset::Account;
use crate::simulator::errors::{account_error, catalogue_error, not_found};
use crate::simulator::faults;

enum Caller<'a> {
    Partner,
    Customer(&'a Account),
}

fn header_str<'h>(h: &'h HeaderMap, name: &str) -> Option<&'h str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Identify the caller from `X-Auth-ID`/`X-Auth-Token` or HTTP Basic credentials.
fn caller<'a>(sim: &'a Simulator, h: &HeaderMap) -> Option<Caller<'a>> {
    let (id, token) = match (header_str(h, "x-auth-id"), header_str(h, "x-auth-token")) {
        (Some(i), Some(t)) => (i.to_owned(), t.to_owned()),
        _ => {
            use base64_lite::decode;
            let basic = header_str(h, "authorization")?.strip_prefix("Basic ")?;
            let text = String::from_utf8(decode(basic.trim())?).ok()?;
            let (i, t) = text.split_once(':')?;
            (i.to_owned(), t.to_owned())
        }
    };
    let p = &sim.ds.partner;
    if constant_time_eq(&id, &p.auth_id) && constant_time_eq(&token, &p.auth_token) {
        return Some(Caller::Partner);
    }
    let a = sim.ds.account(&id)?;
    constant_time_eq(&token, &a.auth_token).then_some(Caller::Customer(a))
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Minimal base64 decoding for HTTP Basic auth (standard alphabet, padding optional).
mod base64_lite {
    pub fn decode(s: &str) -> Option<Vec<u8>> {
        let val = |c: u8| -> Option<u32> {
            Some(match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                _ => return None,
            } as u32)
        };
        let bytes: Vec<u8> = s.bytes().filter(|&b| b != b'=').collect();
        let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
        for chunk in bytes.chunks(4) {
            let mut acc = 0u32;
            for (i, &b) in chunk.iter().enumerate() {
                acc |= val(b)? << (18 - 6 * i);
            }
            let n = match chunk.len() {
                4 => 3,
                3 => 2,
                2 => 1,
                _ => return None,
            };
            out.extend_from_slice(&acc.to_be_bytes()[1..1 + n]);
        }
        Some(out)
    }
}

/// Partner endpoints: partner credentials only.
pub(super) fn require_partner(sim: &Simulator, h: &HeaderMap, uri: &Uri) -> Result<(), Response> {
    let rk = faults::request_key("GET", uri.path_and_query().map(|p| p.as_str()).unwrap_or(""));
    match caller(sim, h) {
        Some(Caller::Partner) => Ok(()),
        Some(Caller::Customer(_)) => Err(catalogue_error(
            sim.ds.now(),
            rk,
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "Customer credentials cannot access partner endpoints",
            json!({}),
        )),
        None => Err(catalogue_error(
            sim.ds.now(),
            rk,
            StatusCode::UNAUTHORIZED,
            "INVALID_CREDENTIALS",
            "Invalid or missing X-Auth-ID / X-Auth-Token",
            json!({}),
        )),
    }
}

/// Account endpoints: the customer's own credentials, for its own `{auth_id}` only.
pub(super) fn require_customer<'a>(sim: &'a Simulator, h: &HeaderMap, path_id: &str) -> Result<&'a Account, Response> {
    match caller(sim, h) {
        Some(Caller::Customer(a)) if a.auth_id == path_id => Ok(a),
        Some(Caller::Customer(_)) => Err(account_error(
            StatusCode::FORBIDDEN,
            "Access denied: account ID mismatch",
        )),
        _ => Err(account_error(StatusCode::UNAUTHORIZED, "Invalid token")),
    }
}

pub(super) fn partner_account<'a>(sim: &'a Simulator, id: &str) -> Result<&'a Account, Response> {
    sim.ds.account(id).ok_or_else(|| not_found("Customer account"))
}
