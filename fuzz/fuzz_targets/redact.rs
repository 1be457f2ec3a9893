//! `api::redact::redact_string_member` on `key \n json`.
//!
//! The input is split at its first newline into the member name and the page (no newline: the
//! whole input is the page and the name is `auth_token`). Names are restricted to what JSON
//! writes without escapes (no `"`, `\` or control characters): the function looks for the
//! literal `"<key>"`, and the only caller passes `auth_token`.
//!
//! Invariants, beyond "never panics":
//! - a page without the literal `"<key>"` comes back byte for byte;
//! - a valid JSON page stays valid JSON, and equals the input with the string value of every
//!   member named `<key>` replaced by `null`, at any depth, and nothing else changed;
//! - so no string value of a member named `<key>` survives;
//! - redacting twice is redacting once.
//!
//! The expected value is built from the input with a `DeserializeSeed`, which also sees whether
//! a member name was written literally or with escapes (`"auth\u005ftoken"`): serde_json hands
//! a borrowed `&str` only for names without escapes. Escaped names must be redacted too (this
//! target found that they were not); `STRICT_ESCAPED_NAMES` = false would tolerate them.

#![no_main]

use std::fmt;

use libfuzzer_sys::fuzz_target;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use vobiz_billing_fuzz::api::redact::redact_string_member;

/// Also require the redaction of members whose name is spelled with escapes.
const STRICT_ESCAPED_NAMES: bool = true;

/// A JSON value, with the string values of members named `key` replaced by `null`.
#[derive(Clone, Copy)]
struct Expected<'k> {
    key: &'k str,
    /// Count of string values left in place because their member name was escaped.
    escaped: &'k std::cell::Cell<usize>,
}

impl<'de> DeserializeSeed<'de> for Expected<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Expected<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some((name, literal)) = map.next_key_seed(Name)? {
            let value = map.next_value_seed(self)?;
            let value = match value {
                Value::String(_) if name == self.key && literal => Value::Null,
                Value::String(s) if name == self.key => {
                    self.escaped.set(self.escaped.get() + 1);
                    if STRICT_ESCAPED_NAMES {
                        Value::Null
                    } else {
                        Value::String(s)
                    }
                }
                v => v,
            };
            out.insert(name, value);
        }
        Ok(Value::Object(out))
    }
}

/// A member name, and whether it was written without escapes.
struct Name;

impl<'de> DeserializeSeed<'de> for Name {
    type Value = (String, bool);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Name {
    type Value = (String, bool);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok((v.to_owned(), true))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok((v.to_owned(), false))
    }
}

fn expected(json: &[u8], key: &str, escaped: &std::cell::Cell<usize>) -> Option<Value> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let v = Expected { key, escaped }.deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(v)
}

/// Walk `v`: no member named `key` has a string value.
fn no_string_member(v: &Value, key: &str) -> bool {
    match v {
        Value::Array(a) => a.iter().all(|x| no_string_member(x, key)),
        Value::Object(m) => m
            .iter()
            .all(|(k, x)| !(k == key && x.is_string()) && no_string_member(x, key)),
        _ => true,
    }
}

fn run(key: &str, json: &[u8]) {
    let out = redact_string_member(json, key);
    let needle = format!("\"{key}\"");
    // Without the name spelled plainly, and without escapes that could spell it, nothing changes.
    if !json.windows(needle.len()).any(|w| w == needle.as_bytes()) && !json.contains(&b'\\') {
        assert_eq!(out, json, "a page without {needle} was changed");
    }

    let escaped = std::cell::Cell::new(0);
    let Some(want) = expected(json, key, &escaped) else {
        return;
    };
    let got: Value = match serde_json::from_slice(&out) {
        Ok(v) => v,
        Err(e) => panic!("valid JSON became invalid ({e}): {:?}", String::from_utf8_lossy(&out)),
    };
    assert_eq!(got, want, "redacted page differs from the expected value");
    if escaped.get() == 0 || STRICT_ESCAPED_NAMES {
        assert!(no_string_member(&got, key), "a string {needle} survived");
    }
    assert_eq!(redact_string_member(&out, key), out, "redaction is not idempotent");
}

fuzz_target!(|data: &[u8]| {
    let (key, json) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&b"auth_token"[..], data),
    };
    let Ok(key) = std::str::from_utf8(key) else {
        return;
    };
    if key.chars().any(|c| c == '"' || c == '\\' || c < ' ') {
        return;
    }
    run(key, json);
});
