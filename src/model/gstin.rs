//! GSTIN: format, state code and check character (CGST rules; GSTN's published regexes).
//!
//! Check character: Luhn mod 36 over the first 14 characters with alternate weights 1, 2
//! (from the left); each product p contributes ⌊p/36⌋ + p mod 36.

use std::fmt;

const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// GST state and union-territory codes. `utgst` marks UTs without a legislature, where
/// UTGST replaces SGST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    pub code: u8,
    pub name: &'static str,
    pub utgst: bool,
}

const fn st(code: u8, name: &'static str, utgst: bool) -> State {
    State { code, name, utgst }
}

pub const STATES: &[State] = &[
    st(1, "Jammu and Kashmir", false),
    st(2, "Himachal Pradesh", false),
    st(3, "Punjab", false),
    st(4, "Chandigarh", true),
    st(5, "Uttarakhand", false),
    st(6, "Haryana", false),
    st(7, "Delhi", false),
    st(8, "Rajasthan", false),
    st(9, "Uttar Pradesh", false),
    st(10, "Bihar", false),
    st(11, "Sikkim", false),
    st(12, "Arunachal Pradesh", false),
    st(13, "Nagaland", false),
    st(14, "Manipur", false),
    st(15, "Mizoram", false),
    st(16, "Tripura", false),
    st(17, "Meghalaya", false),
    st(18, "Assam", false),
    st(19, "West Bengal", false),
    st(20, "Jharkhand", false),
    st(21, "Odisha", false),
    st(22, "Chhattisgarh", false),
    st(23, "Madhya Pradesh", false),
    st(24, "Gujarat", false),
    st(25, "Daman and Diu", true),
    st(26, "Dadra and Nagar Haveli and Daman and Diu", true),
    st(27, "Maharashtra", false),
    st(28, "Andhra Pradesh (before division)", false),
    st(29, "Karnataka", false),
    st(30, "Goa", false),
    st(31, "Lakshadweep", true),
    st(32, "Kerala", false),
    st(33, "Tamil Nadu", false),
    st(34, "Puducherry", false),
    st(35, "Andaman and Nicobar Islands", true),
    st(36, "Telangana", false),
    st(37, "Andhra Pradesh", false),
    st(38, "Ladakh", true),
    st(97, "Other Territory", true),
    st(99, "Centre Jurisdiction", false),
];

/// Look a state up by its two-digit code.
pub fn state_by_code(code: u8) -> Option<&'static State> {
    STATES.iter().find(|s| s.code == code)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GstinError {
    #[error("GSTIN must be 15 characters, got {0}")]
    Length(usize),
    #[error("GSTIN {0:?} does not match any GSTIN format")]
    Format(String),
    #[error("GSTIN {0:?} has an unknown state code")]
    StateCode(String),
    #[error("GSTIN {gstin:?} has a wrong check character (expected {expected})")]
    Checksum { gstin: String, expected: char },
}

/// A GSTIN whose format, state code and check character are valid. Checksum-valid is not the
/// same as currently registered; only the GST portal can tell that.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Gstin(String);

/// GSTN's families, one character class per position:
/// `9` digit, `A` letter, `*` letter or digit, `n` 1-9 or letter, anything else literal,
/// `[..]` a set.
const FAMILIES: &[&str] = &[
    "99AAAAA9999An[Z]*",  // regular taxpayer
    "99AAAA*9999AnD*",    // tax deductor (TDS)
    "99AAAAA9999AnC*",    // tax collector (TCS, e-commerce operators)
    "9999AAA99999[UO]N*", // UN bodies, embassies (UIN)
    "9999AAA99999NR*",    // non-resident taxable person
    "9999AAA99999OS*",    // OIDAR
    "99AAAA99999A9Z9",    // government department
];

fn matches_family(s: &[u8], pattern: &str) -> bool {
    let p = pattern.as_bytes();
    let (mut i, mut j) = (0, 0);
    while j < p.len() {
        let Some(&c) = s.get(i) else { return false };
        let ok = match p[j] {
            b'9' => c.is_ascii_digit(),
            b'A' => c.is_ascii_uppercase(),
            b'*' => c.is_ascii_digit() || c.is_ascii_uppercase(),
            b'n' => (b'1'..=b'9').contains(&c) || c.is_ascii_uppercase(),
            b'[' => {
                let close = j + p[j..].iter().position(|&b| b == b']').expect("closed set");
                let hit = p[j + 1..close].contains(&c);
                j = close;
                hit
            }
            lit => c == lit,
        };
        if !ok {
            return false;
        }
        i += 1;
        j += 1;
    }
    i == s.len()
}

/// The check character for the first 14 characters, or `None` if they are not all in the
/// GSTIN alphabet.
pub fn check_char(first14: &str) -> Option<char> {
    let mut sum = 0u32;
    for (i, b) in first14.bytes().enumerate() {
        let v = ALPHABET.iter().position(|&a| a == b)? as u32;
        let p = v * if i % 2 == 1 { 2 } else { 1 };
        sum += p / 36 + p % 36;
    }
    Some(ALPHABET[((36 - sum % 36) % 36) as usize] as char)
}

impl Gstin {
    /// Validate a GSTIN. Spaces (as people group it when they type it) are dropped and
    /// letters are upper-cased (as the GST portal does); nothing else is forgiven. The
    /// result is the canonical form documents print.
    pub fn parse(s: &str) -> Result<Self, GstinError> {
        let s: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let n = s.chars().count();
        if n != 15 {
            return Err(GstinError::Length(n));
        }
        let b = s.as_bytes();
        if !FAMILIES.iter().any(|f| matches_family(b, f)) {
            return Err(GstinError::Format(s));
        }
        let code: u8 = s[..2].parse().map_err(|_| GstinError::Format(s.clone()))?;
        if state_by_code(code).is_none() {
            return Err(GstinError::StateCode(s));
        }
        let expected = check_char(&s[..14]).ok_or_else(|| GstinError::Format(s.clone()))?;
        if b[14] as char != expected {
            return Err(GstinError::Checksum { gstin: s, expected });
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The state the GSTIN is registered in.
    pub fn state(&self) -> &'static State {
        let code: u8 = self.0[..2].parse().expect("validated");
        state_by_code(code).expect("validated")
    }

    /// The PAN embedded in a regular GSTIN (characters 3–12).
    pub fn pan(&self) -> &str {
        &self.0[2..12]
    }
}

impl fmt::Display for Gstin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Checksum-valid GSTINs from public sources (see shared/reference/gst-invoicing.md §3.3).
    const VALID: &[&str] = &[
        "27AAPFU0939F1ZV",
        "29AAGCG6253J1Z8",
        "36AAACB2100P1ZY",
        "24AAQCA8719H1ZC",
        "05AAACG2115R1ZN",
        "05AAACG2140A1ZL",
        "29AABCR1718E1ZL",
        "24AANFA2641L1ZF",
        "24AABCR6898M1ZN",
        "01AAAAP1208Q1ZS",
        "29AAHCM7727Q1ZI",
        "33AAAAR6720M1ZG",
        "36AASFP8573D2ZN",
        "29AABCF8078M2ZW",
        "27AAJCS5738D1Z6",
        "29AABCF8078M1C8",
        "27AAFT56212B1DO",
        "06DELI09652G1DA",
        "0717UNO00157UNO",
        "0717UNO00154UNU",
        "9917SGP29001OST",
    ];

    #[test]
    fn published_valid_numbers_pass() {
        for g in VALID {
            let parsed = Gstin::parse(g).unwrap_or_else(|e| panic!("{g}: {e}"));
            assert_eq!(parsed.as_str(), *g);
        }
        assert_eq!(Gstin::parse("27AAPFU0939F1ZV").unwrap().state().name, "Maharashtra");
        assert_eq!(Gstin::parse(" 27aapfu0939f1zv ").unwrap().as_str(), "27AAPFU0939F1ZV");
        // Grouped with spaces as people type it: the canonical form.
        assert_eq!(Gstin::parse("27 aapfu 0939 f1zv").unwrap().as_str(), "27AAPFU0939F1ZV");
        // Nothing else is forgiven.
        assert!(Gstin::parse("27-AAPFU0939F1ZV").is_err());
    }

    #[test]
    fn wrong_check_character_is_caught_and_explained() {
        let err = Gstin::parse("29AAPFU0939F1ZV").unwrap_err();
        assert_eq!(
            err,
            GstinError::Checksum {
                gstin: "29AAPFU0939F1ZV".into(),
                expected: 'R'
            }
        );
        assert!(Gstin::parse("29AAPFU0939F1ZR").is_ok());
    }

    #[test]
    fn published_invalid_numbers_fail() {
        for g in [
            "29AAPFU0939F1ZV",
            "27AAPFU0939F1ZO",
            "27AAPFU0939F1Z",
            "369296450896540",
            "24AANFA2641L1ZK",
            "29AAFCA7488L1Z0",
            "01AABCE2207R1Z5",
            "00AABCE2207R1Z5",
            "27AAPFU0939F1Z-",
            "27AAPFU 939F1ZV",
            "",
            "27AAPFU0939F1ZVX",
        ] {
            assert!(Gstin::parse(g).is_err(), "{g} accepted");
        }
    }

    #[test]
    fn state_and_entity_codes_are_checked_even_with_a_good_check_char() {
        for (state, entity) in [("39", '1'), ("96", '1'), ("27", '0')] {
            let body = format!("{state}AAPFU0939F{entity}Z");
            let g = format!("{body}{}", check_char(&body).unwrap());
            assert!(Gstin::parse(&g).is_err(), "{g} accepted");
        }
    }

    #[test]
    fn check_char_matches_known_values() {
        assert_eq!(check_char("27AAPFU0939F1Z"), Some('V'));
        assert_eq!(check_char("29AAPFU0939F1Z"), Some('R'));
        assert_eq!(check_char("27aapfu0939f1z"), None);
    }

    /// Names are read in `model::place`, with the ways people write them.
    #[test]
    fn states_resolve_by_code() {
        assert_eq!(state_by_code(37).unwrap().name, "Andhra Pradesh");
        assert!(state_by_code(4).unwrap().utgst);
        assert!(!state_by_code(7).unwrap().utgst);
        assert!(state_by_code(0).is_none());
    }
}
