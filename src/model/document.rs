//! Document numbers as GST wants them: at most 16 characters of `[A-Za-z0-9/-]` (CGST Rule
//! 46(b)), a prefix the invoice portal accepts, and the file name a number is stored under.
//! The numbering itself (the durable register) belongs to the invoice stage.

/// The longest document number Rule 46(b) allows.
pub const MAX_LEN: usize = 16;

/// A configured prefix that cannot start a series.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invoice prefix {0:?} must be 1-6 letters, digits or '-', not starting with 0 or '-'")]
pub struct InvalidPrefix(pub String);

/// Check a configured prefix: letters, digits and `-`, not starting with `0` or `-` (IRP rule),
/// short enough to leave at least four digits of sequence.
pub fn check_prefix(prefix: &str) -> Result<(), InvalidPrefix> {
    let ok = !prefix.is_empty()
        && prefix.len() <= 6
        && prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !prefix.starts_with(['0', '-']);
    if ok {
        Ok(())
    } else {
        Err(InvalidPrefix(prefix.to_string()))
    }
}

/// Whether a number has the shape Rule 46(b) allows.
pub fn valid_number(n: &str) -> bool {
    !n.is_empty() && n.len() <= MAX_LEN && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'/')
}

/// The file name of a document: its number with `/` → `_`.
pub fn file_stem(number: &str) -> String {
    number.replace('/', "_")
}
