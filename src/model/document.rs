//! Document numbers as GST wants them: at most 16 characters of `[A-Za-z0-9/-]` (CGST Rule
//! 46(b)), a prefix the invoice portal accepts, and the file name a number is stored under.
//! The numbering itself (the durable register) belongs to the invoice stage.

/// The longest document number Rule 46(b) allows.
pub const MAX_LEN: usize = 16;

/// A configured prefix that cannot start a series.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invoice prefix {0:?} must be 1-4 upper-case letters, digits or '-', not starting with 0 or '-' (so that a 16-character number keeps at least 5 digits of sequence)"
)]
pub struct InvalidPrefix(pub String);

/// The shortest sequence a series may have: `PREFIX/YY-YY/` takes 7 characters and the
/// prefix, so a prefix of at most 4 leaves 5 digits (99,999 documents a year).
pub const MIN_SEQUENCE_DIGITS: usize = 5;

/// Check a configured prefix: upper-case letters, digits and `-` (the e-invoice portal wants
/// numbers in upper case), not starting with `0` or `-` (IRP rule), short enough to leave
/// [`MIN_SEQUENCE_DIGITS`] digits of sequence.
pub fn check_prefix(prefix: &str) -> Result<(), InvalidPrefix> {
    let ok = !prefix.is_empty()
        && prefix.len() + "/YY-YY/".len() + MIN_SEQUENCE_DIGITS <= MAX_LEN
        && prefix
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
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
