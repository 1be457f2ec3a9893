//! The API's error bodies, in each documented shape, and the JSON response they go out in.
//!
//! Kept below both [`super::server`] (handlers) and [`super::faults`] (the middleware that
//! answers injected 429/500s with the catalogue body), so neither has to import the other.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use super::dataset::Micros;

/// A JSON body with `Content-Type: application/json`.
pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("serialization failed: {e}")).into_response(),
    }
}

/// The error catalogue's shape (`{"status":"error","error":{…},"timestamp","requestId"}`).
/// Timestamp (the dataset's "now") and request id are derived from the dataset and the
/// request, so responses stay byte-for-byte reproducible.
pub fn catalogue_error(
    now: Micros,
    request_key: u64,
    status: StatusCode,
    code: &str,
    message: &str,
    details: serde_json::Value,
) -> Response {
    #[derive(Serialize)]
    struct Body<'a> {
        status: &'static str,
        error: Inner<'a>,
        timestamp: String,
        #[serde(rename = "requestId")]
        request_id: String,
    }
    #[derive(Serialize)]
    struct Inner<'a> {
        code: &'a str,
        message: &'a str,
        details: serde_json::Value,
    }
    let timestamp = super::dataset::to_datetime(now)
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    json_response(
        status,
        &Body {
            status: "error",
            error: Inner { code, message, details },
            timestamp,
            request_id: format!("req_{:012x}", request_key & 0xFFFF_FFFF_FFFF),
        },
    )
}

/// FastAPI's 404 (`{"detail": "… not found"}`).
pub fn not_found(what: &str) -> Response {
    json_response(StatusCode::NOT_FOUND, &json!({"detail": format!("{what} not found")}))
}

/// FastAPI/pydantic-style validation error for one query parameter.
pub fn invalid_query(name: &str, kind: &str, msg: &str, input: &str) -> Response {
    json_response(
        StatusCode::UNPROCESSABLE_ENTITY,
        &json!({"detail": [{"type": kind, "loc": ["query", name], "msg": msg, "input": input}]}),
    )
}

/// The account-level API's shape (`{"error": {"code", "message"}}`).
pub fn account_error(status: StatusCode, message: &str) -> Response {
    json_response(status, &json!({"error": {"code": status.as_u16(), "message": message}}))
}
