//! Where a customer is, from the free text of its account: whether it is in India, and which
//! GST state or union territory its address names. One reading for reconcile and invoice.
//!
//! People write states many ways ("Tamilnadu", "TN", "Orissa", "Pondicherry", "New Delhi",
//! "Jammu & Kashmir"): names are compared without case, spaces or punctuation ("&" reads
//! "and"), then against a table of the common old names and postal abbreviations. Text that is
//! none of these is [`StateText::Unknown`]: the caller must not guess a place of supply from it.

use super::gstin::{STATES, State, state_by_code};

/// Whether a country field says India: empty or missing (Indian accounts often leave it
/// blank), or "IN"/"India" in any case.
pub fn in_india(country: Option<&str>) -> bool {
    match country.map(str::trim) {
        None | Some("") => true,
        Some(c) => c.eq_ignore_ascii_case("IN") || c.eq_ignore_ascii_case("India"),
    }
}

/// What an address's state field says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateText<'a> {
    /// Empty or missing.
    Missing,
    /// A state or union territory.
    Known(&'static State),
    /// Text that names no state this program knows.
    Unknown(&'a str),
}

/// Common other names and abbreviations (postal and vehicle codes), normalized as [`key`]
/// does, with their GST state code.
const ALIASES: &[(&str, u8)] = &[
    ("jk", 1),
    ("jammukashmir", 1),
    ("hp", 2),
    ("pb", 3),
    ("ch", 4),
    ("ut", 5),
    ("uttaranchal", 5),
    ("hr", 6),
    ("dl", 7),
    ("newdelhi", 7),
    ("nctofdelhi", 7),
    ("nationalcapitalterritoryofdelhi", 7),
    ("rj", 8),
    ("up", 9),
    ("br", 10),
    ("sk", 11),
    ("ar", 12),
    ("nl", 13),
    ("mn", 14),
    ("mz", 15),
    ("tr", 16),
    ("ml", 17),
    ("as", 18),
    ("wb", 19),
    ("jh", 20),
    ("od", 21),
    ("or", 21),
    ("orissa", 21),
    ("cg", 22),
    ("ct", 22),
    ("chattisgarh", 22),
    ("mp", 23),
    ("gj", 24),
    // Daman and Diu merged with Dadra and Nagar Haveli in 2020 (code 26).
    ("damananddiu", 26),
    ("dd", 26),
    ("dn", 26),
    ("dadraandnagarhaveli", 26),
    ("dnhdd", 26),
    ("mh", 27),
    ("ka", 29),
    ("ga", 30),
    ("ld", 31),
    ("kl", 32),
    ("tn", 33),
    ("tamilnadu", 33),
    ("py", 34),
    ("pondicherry", 34),
    ("pondy", 34),
    ("an", 35),
    ("andamanandnicobar", 35),
    ("ts", 36),
    ("tg", 36),
    ("ap", 37),
    ("la", 38),
];

/// Lower-case letters and digits only, "&" read as "and".
fn key(text: &str) -> String {
    text.replace('&', " and ")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Read a state field.
pub fn state(text: Option<&str>) -> StateText<'_> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return StateText::Missing;
    };
    let k = key(text);
    let by_name = STATES
        .iter()
        // Legacy codes never win a name lookup.
        .filter(|s| s.code != 28 && s.code != 25)
        .find(|s| key(s.name) == k);
    let by_alias = || {
        ALIASES
            .iter()
            .find(|(alias, _)| *alias == k)
            .and_then(|(_, code)| state_by_code(*code))
    };
    match by_name.or_else(by_alias) {
        Some(s) => StateText::Known(s),
        None => StateText::Unknown(text),
    }
}

/// What an account's `gst_status` says of its registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration<'a> {
    /// "active", or not given (the GSTIN alone decides).
    Active,
    /// "inactive": invoiced as unregistered.
    Inactive,
    /// Anything else.
    Unknown(&'a str),
}

/// Read a `gst_status` (case and surrounding space ignored).
pub fn registration(status: Option<&str>) -> Registration<'_> {
    match status.map(str::trim) {
        None | Some("") => Registration::Active,
        Some(s) if s.eq_ignore_ascii_case("active") => Registration::Active,
        Some(s) if s.eq_ignore_ascii_case("inactive") => Registration::Inactive,
        Some(s) => Registration::Unknown(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> Option<u8> {
        match state(Some(text)) {
            StateText::Known(s) => Some(s.code),
            _ => None,
        }
    }

    #[test]
    fn the_ways_people_write_states() {
        for (text, want) in [
            ("Karnataka", 29),
            ("  karnataka ", 29),
            ("Tamilnadu", 33),
            ("TAMIL NADU", 33),
            ("TN", 33),
            ("Orissa", 21),
            ("Odisha", 21),
            ("Pondicherry", 34),
            ("New Delhi", 7),
            ("Delhi", 7),
            ("Jammu & Kashmir", 1),
            ("Jammu and Kashmir", 1),
            ("Daman and Diu", 26),
            ("Dadra & Nagar Haveli and Daman & Diu", 26),
            ("Uttaranchal", 5),
            ("Telangana", 36),
            ("Andhra Pradesh", 37),
        ] {
            assert_eq!(code(text), Some(want), "{text:?}");
        }
    }

    #[test]
    fn what_is_not_a_state_is_unknown_never_a_guess() {
        for text in ["Bangalore", "Karnatka", "XX", "California", "560025"] {
            assert_eq!(state(Some(text)), StateText::Unknown(text), "{text:?}");
        }
        assert_eq!(state(None), StateText::Missing);
        assert_eq!(state(Some("  ")), StateText::Missing);
    }

    #[test]
    fn india_however_written() {
        for c in [None, Some(""), Some("IN"), Some("in"), Some(" India ")] {
            assert!(in_india(c), "{c:?}");
        }
        for c in [Some("US"), Some("GB"), Some("Indonesia")] {
            assert!(!in_india(c), "{c:?}");
        }
    }
}
