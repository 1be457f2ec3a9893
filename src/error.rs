//! Errors and exit codes.
//!
//! Every failure reaches the user as one line on stderr and a documented exit code:
//! 0 ok, 1 error, 2 bad usage or input, 3 reconciliation exceptions above tolerance.

use std::process::ExitCode;

/// Bad usage or input (config, dates, ids, arguments): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

pub const EXIT_ERROR: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_EXCEPTIONS: u8 = 3;

/// The exit code for an error: 2 if anything in its chain is a [`UsageError`], else 1.
pub fn exit_code(err: &anyhow::Error) -> ExitCode {
    if err.chain().any(|e| e.is::<UsageError>()) {
        ExitCode::from(EXIT_USAGE)
    } else {
        ExitCode::from(EXIT_ERROR)
    }
}

/// The error and its causes on one line, control characters removed.
pub fn one_line(err: &anyhow::Error) -> String {
    format!("{err:#}")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
