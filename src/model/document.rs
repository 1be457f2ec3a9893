//! Document numbers as GST wants them: at most 16 characters of `[A-Za-z0-9/-]` (CGST Rule
//! 46(b)), a prefix the invoice portal accepts, and the file name a number is stored under.
//! The numbering itself (the durable register) belongs to the invoice stage.

/// The longest document number Rule 46(b) allows.
pub const MAX_LEN: usize = 16;

/// A configured prefix that cannot start a series.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "document number prefix {0:?} must be 1-4 upper-case letters, digits or '-', not starting with 0 or '-' (so that a 16-character number keeps at least 5 digits of sequence)"
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

/// CGST Rule 47: a tax invoice for services is issued within 30 days of the supply.
pub const MAX_INVOICE_DELAY_DAYS: u32 = 30;

/// What a GST document is. Each kind is numbered in a series of its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// A tax invoice (CGST s.31, Rule 46).
    #[default]
    Invoice,
    /// Lowers the value of an invoice (s.34(1), Rule 53(1A)).
    CreditNote,
    /// Raises it (s.34(3)).
    DebitNote,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 3] = [DocumentKind::Invoice, DocumentKind::CreditNote, DocumentKind::DebitNote];

    /// The text the document tables store.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Invoice => "invoice",
            DocumentKind::CreditNote => "credit_note",
            DocumentKind::DebitNote => "debit_note",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The title the document carries.
    pub fn title(self) -> &'static str {
        match self {
            DocumentKind::Invoice => "Tax Invoice",
            DocumentKind::CreditNote => "Credit Note",
            DocumentKind::DebitNote => "Debit Note",
        }
    }

    /// +1 for what adds to the value billed, -1 for what takes from it.
    pub fn sign(self) -> rust_decimal::Decimal {
        match self {
            DocumentKind::CreditNote => rust_decimal::Decimal::NEGATIVE_ONE,
            _ => rust_decimal::Decimal::ONE,
        }
    }
}

/// The financial year (April–March) a document dated `date` belongs to: `("2025-26", "25-26")`.
pub fn financial_year(date: chrono::NaiveDate) -> (String, String) {
    use chrono::Datelike;
    let start = if date.month() >= 4 {
        date.year()
    } else {
        date.year() - 1
    };
    (
        format!("{start}-{:02}", (start + 1) % 100),
        format!("{:02}-{:02}", start % 100, (start + 1) % 100),
    )
}

/// Whether a document kind is in the state a document's life allows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentStatus {
    /// Issued: its number, date, amounts and bytes never change.
    #[default]
    Issued,
    /// Cancelled before it was issued to anyone (counted in GSTR-1 Table 13, never reused).
    Cancelled,
}

impl DocumentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentStatus::Issued => "issued",
            DocumentStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [DocumentStatus::Issued, DocumentStatus::Cancelled]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}
