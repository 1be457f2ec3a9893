//! Redaction of raw pages before they are written.
//!
//! `/partner/accounts` lists every customer together with the customer's `auth_token`. Raw pages
//! are kept on disk for audit and offline re-runs, so those secrets are removed first. The
//! redaction works on the bytes rather than on a parsed `serde_json::Value`, so everything else
//! in the page, numbers above all, keeps its exact text.
//!
//! Kept free of the rest of `extract` (std and serde_json only) so that the fuzz crate can
//! compile this file on its own.

/// Replace the value of every `"<key>": "<string>"` member with `null`. Works on the bytes,
/// so numbers elsewhere in the page keep their exact text.
pub fn redact_string_member(json: &[u8], key: &str) -> Vec<u8> {
    let needle = format!("\"{key}\"");
    let n = needle.as_bytes();
    let mut out = Vec::with_capacity(json.len());
    let mut i = 0;
    let mut in_string = false;
    while i < json.len() {
        let b = json[i];
        if in_string {
            out.push(b);
            if b == b'\\' && i + 1 < json.len() {
                out.push(json[i + 1]);
                i += 2;
                continue;
            }
            if b == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            let name_end = string_end(json, i);
            if names_key(&json[i..name_end], n, key) {
                // A member name is followed by a colon; then the value.
                let mut j = name_end;
                while j < json.len() && json[j].is_ascii_whitespace() {
                    j += 1;
                }
                if j < json.len() && json[j] == b':' {
                    let mut v = j + 1;
                    while v < json.len() && json[v].is_ascii_whitespace() {
                        v += 1;
                    }
                    if v < json.len() && json[v] == b'"' {
                        let end = string_end(json, v);
                        out.extend_from_slice(&json[i..v]);
                        out.extend_from_slice(b"null");
                        i = end;
                        continue;
                    }
                }
            }
            in_string = true;
        }
        out.push(b);
        i += 1;
    }
    out
}

/// Whether a string token (quotes included) spells `key`, plainly or with escapes such as
/// `"auth\u005ftoken"`, which a JSON decoder reads as the same name (found by `make fuzz`).
fn names_key(token: &[u8], plain: &[u8], key: &str) -> bool {
    token == plain || (token.contains(&b'\\') && serde_json::from_slice::<String>(token).is_ok_and(|s| s == key))
}

/// Index just past the JSON string starting at `start` (a `"`).
fn string_end(json: &[u8], start: usize) -> usize {
    let mut k = start + 1;
    while k < json.len() {
        match json[k] {
            b'\\' => k += 2,
            b'"' => return k + 1,
            _ => k += 1,
        }
    }
    json.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_only_the_member_values() {
        let page = br#"{"accounts":[{"auth_id":"MA_1","auth_token":"s3cr\"et","note":"the \"auth_token\": \"x\" text","rate":0.4500},{"auth_token" : "tok2"}]}"#;
        let out = String::from_utf8(redact_string_member(page, "auth_token")).unwrap();
        assert!(!out.contains("s3cr") && !out.contains("tok2"), "{out}");
        assert!(
            out.contains(r#"the \"auth_token\": \"x\" text"#),
            "strings are left alone: {out}"
        );
        assert!(out.contains("0.4500"), "numbers keep their text");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(v["accounts"][0]["auth_token"].is_null());
    }

    #[test]
    fn redacts_a_member_whose_name_is_written_with_escapes() {
        let page = br#"{"auth_token":"s3cret","auth_id":"MA_1"}"#;
        let out = String::from_utf8(redact_string_member(page, "auth_token")).unwrap();
        assert!(!out.contains("s3cret"), "{out}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(v["auth_token"].is_null() && v["auth_id"] == "MA_1");
    }
}
