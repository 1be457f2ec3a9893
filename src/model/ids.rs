//! Validated identifiers.
//!
//! Upstream ids end up in file paths (`raw/<period>/<endpoint>/<account>.jsonl.zst`) and in
//! URLs, so they are checked once, at the edge, and carried as newtypes afterwards. A string that
//! passes these checks contains only `[A-Za-z0-9_]`: no separators, no dots, never empty.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// Why an id was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {value:?}: expected {expected}")]
pub struct InvalidId {
    kind: &'static str,
    value: String,
    expected: &'static str,
}

fn check_prefixed(kind: &'static str, prefixes: &[&str], expected: &'static str, s: &str) -> Result<(), InvalidId> {
    let err = || InvalidId {
        kind,
        // Keep hostile input short and printable in error messages.
        value: s.chars().take(64).collect(),
        expected,
    };
    let rest = prefixes.iter().find_map(|p| s.strip_prefix(p)).ok_or_else(err)?;
    let ok_len = (4..=32).contains(&rest.len());
    if ok_len && rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(err())
    }
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, [$($prefix:literal),+], $expected:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, InvalidId> {
                check_prefixed($kind, &[$($prefix),+], $expected, s)?;
                Ok(Self(s.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                Self::parse(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

prefixed_id!(
    /// A subaccount's `auth_id` (`SA_…`): a file name in the call statements.
    SubaccountId,
    "subaccount id",
    ["SA_"],
    "SA_ followed by 4 to 32 letters or digits"
);

prefixed_id!(
    /// A customer account's `auth_id` (`MA_…`, or `SA_…` for a sub-account).
    AccountId,
    "account id",
    ["MA_", "SA_"],
    "MA_ or SA_ followed by 4-32 letters or digits"
);

prefixed_id!(
    /// The partner's own `auth_id` (`PA_…`).
    PartnerId,
    "partner id",
    ["PA_"],
    "PA_ followed by 4-32 letters or digits"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_documented_shapes() {
        for ok in ["MA_ZKITB8Z2", "MA_48149cf4", "SA_ABCD1234"] {
            assert_eq!(AccountId::parse(ok).unwrap().as_str(), ok);
        }
        assert!(PartnerId::parse("PA_ABC123").is_ok());
    }

    #[test]
    fn rejects_anything_that_could_escape_a_path() {
        for bad in [
            "",
            "MA_",
            "../../etc",
            "/abs",
            "MA_../x",
            "MA_abc/def",
            "MA_abc.def",
            "MA_ab",
            "ma_ABCDEFGH",
            "MA_ABCDEFGH\0",
            "MA_ÄBCDEFGH",
            "PA_ABCDEFGH",
        ] {
            assert!(AccountId::parse(bad).is_err(), "{bad:?} accepted");
        }
        let long = format!("MA_{}", "A".repeat(33));
        assert!(AccountId::parse(&long).is_err());
    }

    #[test]
    fn error_is_one_line_and_bounded() {
        let hostile = format!("../{}\n", "x".repeat(500));
        let msg = AccountId::parse(&hostile).unwrap_err().to_string();
        assert!(msg.len() < 200, "{msg}");
        assert!(!msg.contains('\n'));
    }

    #[test]
    fn deserialize_validates() {
        assert!(serde_json::from_str::<AccountId>("\"MA_ZKITB8Z2\"").is_ok());
        assert!(serde_json::from_str::<AccountId>("\"../../etc\"").is_err());
    }
}
