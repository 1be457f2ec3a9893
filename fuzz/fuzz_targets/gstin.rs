//! `model::Gstin::parse` on arbitrary UTF-8.
//!
//! Invariants, beyond "never panics":
//! - an accepted GSTIN is its input trimmed and upper-cased: 15 characters from the GSTIN
//!   alphabet, with a known state code and the right check character;
//! - its `Display`/`as_str` re-parses to an equal value, and so does its lower-case spelling;
//! - replacing the check character with any other character is rejected (with the expected
//!   check character in the error, when the error is about the checksum);
//! - the first 14 characters of any input, completed with their computed check character, are
//!   never rejected for the checksum.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vobiz_billing_fuzz::model::Gstin;
use vobiz_billing_fuzz::model::gstin::{GstinError, STATES, check_char};

const ALPHABET: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn accepted(input: &str, g: &Gstin) {
    let s = g.as_str();
    assert_eq!(
        s,
        input.trim().to_ascii_uppercase(),
        "accepted text is the input normalized"
    );
    assert_eq!(s.len(), 15);
    assert!(
        s.chars().all(|c| ALPHABET.contains(c)),
        "{s} has a character outside the alphabet"
    );
    assert_eq!(g.to_string(), s);
    assert_eq!(
        Gstin::parse(&g.to_string()).as_ref(),
        Ok(g),
        "Display does not re-parse"
    );
    assert_eq!(
        Gstin::parse(&s.to_ascii_lowercase()).as_ref(),
        Ok(g),
        "lower case differs"
    );

    let code: u8 = s[..2].parse().expect("two digits");
    let state = g.state();
    assert_eq!(state.code, code);
    assert!(STATES.iter().any(|st| st == state));
    assert!(
        (1..=38).contains(&code) || code == 97 || code == 99,
        "state code {code}"
    );
    assert_eq!(g.pan().len(), 10);

    let check = s.as_bytes()[14] as char;
    assert_eq!(check_char(&s[..14]), Some(check));
    for c in ALPHABET.chars().chain(['a', 'z', '0', ' ', '-', '*', 'é', '\u{0}']) {
        if c.to_ascii_uppercase() == check {
            continue;
        }
        let mutated = format!("{}{c}", &s[..14]);
        match Gstin::parse(&mutated) {
            Ok(other) => panic!("{mutated:?} accepted as {other} with a wrong check character"),
            Err(GstinError::Checksum { expected, .. }) => assert_eq!(expected, check),
            Err(_) => {}
        }
    }
}

fn run(input: &str) {
    let result = Gstin::parse(input);
    if let Ok(g) = &result {
        accepted(input, g);
    }
    if let Err(e) = &result {
        let _ = e.to_string();
    }

    // Complete the first 14 characters with their check character: whatever is wrong with
    // the result, it is not the checksum.
    let upper = input.trim().to_ascii_uppercase();
    if let Some((i, _)) = upper.char_indices().nth(14) {
        let first14 = &upper[..i];
        if let Some(c) = check_char(first14) {
            let candidate = format!("{first14}{c}");
            match Gstin::parse(&candidate) {
                Ok(g) => accepted(&candidate, &g),
                Err(GstinError::Checksum { .. }) => panic!("{candidate:?} rejected for its checksum"),
                Err(_) => {}
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        run(text);
    }
});
