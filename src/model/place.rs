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
    match read_state(text) {
        Read::Missing => StateText::Missing,
        Read::Name(s) | Read::Alias(s) => StateText::Known(s),
        Read::Unknown(text) => StateText::Unknown(text),
    }
}

enum Read<'a> {
    Missing,
    Name(&'static State),
    Alias(&'static State),
    Unknown(&'a str),
}

fn read_state(text: Option<&str>) -> Read<'_> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Read::Missing;
    };
    let k = key(text);
    let by_name = STATES
        .iter()
        // Legacy codes never win a name lookup.
        .filter(|s| s.code != 28 && s.code != 25)
        .find(|s| key(s.name) == k);
    if let Some(s) = by_name {
        // Spelled otherwise than the law names it ("Tamilnadu", "Jammu & Kashmir"): an alias.
        return if text.eq_ignore_ascii_case(s.name) {
            Read::Name(s)
        } else {
            Read::Alias(s)
        };
    }
    match ALIASES
        .iter()
        .find(|(alias, _)| *alias == k)
        .and_then(|(_, code)| state_by_code(*code))
    {
        Some(s) => Read::Alias(s),
        None => Read::Unknown(text),
    }
}

/// How an address's state was found: the state field, read by name or through the alias
/// table, else (the field empty) the PIN code's prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressState<'a> {
    /// The state's own name (case aside).
    Named(&'static State),
    /// Another way people write it ("Tamilnadu", "TN", "Orissa", "Jammu & Kashmir"), as written.
    Alias(&'static State, &'a str),
    /// No state written; the PIN code names one, as written.
    FromPin(&'static State, &'a str),
    /// No state written, and no PIN code that names exactly one.
    Missing,
    /// Text that names no state or union territory: never guessed.
    Unknown(&'a str),
}

impl AddressState<'_> {
    /// The state found, if one was.
    pub fn state(&self) -> Option<&'static State> {
        match self {
            AddressState::Named(s) | AddressState::Alias(s, _) | AddressState::FromPin(s, _) => Some(s),
            AddressState::Missing | AddressState::Unknown(_) => None,
        }
    }
}

/// The state of an Indian address from its state field and, when that is empty, its PIN code.
/// A state field that is written but names nothing stays [`AddressState::Unknown`] even when
/// the PIN would name a state: the two disagree about what was meant.
pub fn address_state<'a>(state: Option<&'a str>, zip: Option<&'a str>) -> AddressState<'a> {
    match read_state(state) {
        Read::Name(s) => AddressState::Named(s),
        Read::Alias(s) => AddressState::Alias(s, state.unwrap_or_default().trim()),
        Read::Unknown(text) => AddressState::Unknown(text),
        Read::Missing => match zip.map(|z| (z, super::pin::state_of_pin(z))) {
            Some((z, super::pin::PinState::Known(s))) => AddressState::FromPin(s, z.trim()),
            _ => AddressState::Missing,
        },
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
    fn an_address_state_by_name_by_alias_or_by_pin_and_never_a_guess() {
        let code = |a: AddressState| a.state().map(|s| s.code);
        assert!(matches!(address_state(Some("Karnataka"), Some("400001")), AddressState::Named(s) if s.code == 29));
        assert!(matches!(address_state(Some(" TN "), None), AddressState::Alias(s, "TN") if s.code == 33));
        assert!(matches!(address_state(Some("Tamilnadu"), None), AddressState::Alias(s, _) if s.code == 33));
        assert!(matches!(address_state(Some("tamil nadu"), None), AddressState::Named(s) if s.code == 33));
        assert!(matches!(address_state(Some(""), Some("560034")), AddressState::FromPin(s, "560034") if s.code == 29));
        assert_eq!(code(address_state(None, Some("110001"))), Some(7));
        assert_eq!(address_state(None, Some("not a pin")), AddressState::Missing);
        assert_eq!(address_state(None, None), AddressState::Missing);
        // Written but not understood: the PIN does not overrule it.
        assert_eq!(
            address_state(Some("Select State"), Some("560034")),
            AddressState::Unknown("Select State")
        );
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
