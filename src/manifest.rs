//! `YYYY-MM/manifest.json`: what a run read and wrote — inputs, per-table row counts, exact
//! sums and SHA-256 hashes, request statistics, rejects and timings. Each stage adds its own
//! section, so the file describes the latest run of every stage for the period.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::layout::Layout;
use crate::model::Period;
use crate::output::write_atomic;

/// Set `section` of the period's manifest to `value`, keeping the other sections.
pub fn update(layout: &Layout, period: Period, section: &str, value: &impl Serialize) -> anyhow::Result<()> {
    let path = layout.manifest(period);
    let mut root: Map<String, Value> = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(_) => Map::new(),
    };
    root.insert("tool".into(), Value::from("vobiz-billing"));
    root.insert("version".into(), Value::from(env!("CARGO_PKG_VERSION")));
    root.insert("period".into(), Value::from(period.to_string()));
    root.insert(section.into(), serde_json::to_value(value)?);
    let mut bytes = serde_json::to_vec_pretty(&Value::Object(root))?;
    bytes.push(b'\n');
    write_atomic(&path, &bytes)
}
