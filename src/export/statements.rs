//! A call statement per customer, `statements/<account>.csv`: every call of the period in
//! the billing currency, the time in the partner's zone, what it cost, what was refunded and
//! what was billed. Summed per product and direction, `billed` is the invoice's call line
//! to the paisa-fraction (the invoice bills the same exact sum, rounded once).
//!
//! A customer whose subaccounts placed calls also gets one statement per subaccount,
//! `statements/<account>/<subaccount>.csv`, the same rows split by the `subaccount` column
//! (the customer's own calls are the rows with none).
//!
//! The `cdrs` partition is read one record batch at a time, and each customer's calls are
//! contiguous in it (normalize writes them account by account), so only one customer's files
//! are open at a time; a file seen again is appended to, never truncated.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use chrono_tz::Tz;
use rust_decimal::Decimal;

use super::csv::{decimal_text, end_row, text_field};
use crate::layout::Layout;
use crate::model::Period;
use crate::model::product::product_label;
use crate::model::time::from_micros;
use crate::model::{AccountId, SubaccountId};
use crate::store::normalized::CdrRow;
use crate::store::read;

/// The statement's columns.
pub const HEADER: [&str; 13] = [
    "start_local",
    "uuid",
    "product",
    "direction",
    "from",
    "to",
    "billed_seconds",
    "rate_per_minute",
    "cost",
    "refunded",
    "billed",
    "streaming_cost",
    "subaccount",
];

/// What was written.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Written {
    pub statements: u64,
    /// Of which one per subaccount that placed calls.
    pub subaccount_statements: u64,
    pub calls: u64,
}

struct Open {
    account: String,
    file: std::io::BufWriter<std::fs::File>,
    /// Its subaccounts' statements opened so far.
    subaccounts: HashMap<String, std::io::BufWriter<std::fs::File>>,
}

/// Open `path` for appending, writing the header if it is new (`seen` says which are not).
fn open_statement(
    path: &Path,
    seen: &mut HashSet<std::path::PathBuf>,
    zone: &str,
) -> anyhow::Result<(std::io::BufWriter<std::fs::File>, bool)> {
    let new = seen.insert(path.to_path_buf());
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    let mut file = std::io::BufWriter::new(file);
    if new {
        let mut buf = Vec::new();
        for h in HEADER {
            let h = if h == "start_local" {
                format!("start ({zone})")
            } else {
                h.to_string()
            };
            text_field(&mut buf, &h);
            buf.push(b',');
        }
        end_row(&mut buf);
        file.write_all(&buf)?;
    }
    Ok((file, new))
}

/// Write every customer's statement under `dir` (a fresh directory).
pub fn write(layout: &Layout, period: Period, tz: Tz, currency: &str, dir: &Path) -> anyhow::Result<Written> {
    let c = CdrRow::COL;
    let columns = [
        c.account_id,
        c.uuid,
        c.start_time,
        c.context,
        c.call_direction,
        c.caller_id_number,
        c.destination_number,
        c.billsec,
        c.cost,
        c.streaming_cost,
        c.refunded,
        c.currency,
        c.subaccount_id,
    ];
    let mut written = Written::default();
    let mut seen: HashSet<std::path::PathBuf> = HashSet::new();
    let mut open: Option<Open> = None;
    let mut buf = Vec::with_capacity(1 << 16);
    let zone = tz.name();
    for calls in read::partition_columns::<CdrRow>(layout, period, &columns)? {
        for call in calls? {
            if call.currency != currency {
                continue;
            }
            if open.as_ref().is_none_or(|o| o.account != call.account_id.as_str()) {
                if let Some(o) = open.take() {
                    finish(o, &mut buf)?;
                }
                // The file name comes from a validated id, never from upstream text as is.
                let id = AccountId::parse(&call.account_id)
                    .map_err(|e| anyhow::anyhow!("cdrs: account {:?}: {e}", call.account_id.as_str()))?;
                let path = dir.join(format!("{id}.csv"));
                let (file, new) = open_statement(&path, &mut seen, zone)?;
                written.statements += u64::from(new);
                open = Some(Open {
                    account: id.to_string(),
                    file,
                    subaccounts: HashMap::new(),
                });
            }
            let o = open.as_mut().expect("opened above");
            let line_start = buf.len();
            let local = from_micros(call.start_time).with_timezone(&tz);
            buf.extend_from_slice(local.format("%Y-%m-%d %H:%M:%S").to_string().as_bytes());
            buf.push(b',');
            text_field(&mut buf, &call.uuid);
            buf.push(b',');
            text_field(&mut buf, product_label(call.context.as_deref().unwrap_or("")));
            buf.push(b',');
            text_field(&mut buf, &call.call_direction);
            buf.push(b',');
            text_field(&mut buf, call.caller_id_number.as_deref().unwrap_or(""));
            buf.push(b',');
            text_field(&mut buf, call.destination_number.as_deref().unwrap_or(""));
            buf.push(b',');
            buf.extend_from_slice(itoa::Buffer::new().format(call.billsec).as_bytes());
            buf.push(b',');
            if call.billsec > 0 {
                let rate = (call.cost * Decimal::from(60) / Decimal::from(call.billsec)).round_dp(4);
                buf.extend_from_slice(decimal_text(rate).as_bytes());
            }
            buf.push(b',');
            for d in [call.cost, call.refunded, call.cost - call.refunded, call.streaming_cost] {
                buf.extend_from_slice(decimal_text(d).as_bytes());
                buf.push(b',');
            }
            if let Some(sub) = call.subaccount_id.as_deref() {
                text_field(&mut buf, sub);
            }
            buf.push(b',');
            end_row(&mut buf);
            written.calls += 1;
            if let Some(sub) = call.subaccount_id.as_deref() {
                // The row again, in the subaccount's own statement.
                let file = match o.subaccounts.get_mut(sub) {
                    Some(f) => f,
                    None => {
                        let id = SubaccountId::parse(sub)
                            .map_err(|e| anyhow::anyhow!("cdrs: subaccount of {}: {e}", o.account))?;
                        let folder = dir.join(&o.account);
                        std::fs::create_dir_all(&folder)
                            .with_context(|| format!("cannot create {}", folder.display()))?;
                        let (file, new) = open_statement(&folder.join(format!("{id}.csv")), &mut seen, zone)?;
                        written.subaccount_statements += u64::from(new);
                        o.subaccounts.entry(sub.to_string()).or_insert(file)
                    }
                };
                file.write_all(&buf[line_start..])?;
            }
            if buf.len() > 1 << 16 {
                o.file.write_all(&buf)?;
                buf.clear();
            }
        }
    }
    if let Some(o) = open.take() {
        finish(o, &mut buf)?;
    }
    Ok(written)
}

fn finish(mut o: Open, buf: &mut Vec<u8>) -> anyhow::Result<()> {
    o.file.write_all(buf)?;
    buf.clear();
    // Flushed, not synced one by one: a thousand fsyncs would cost seconds, and the directory
    // is only put in place once every statement is written (a crash leaves the old one).
    for (sub, mut f) in o.subaccounts {
        f.flush()
            .with_context(|| format!("cannot write the statement of {}'s subaccount {sub}", o.account))?;
    }
    o.file
        .flush()
        .with_context(|| format!("cannot write the statement of {}", o.account))
}
