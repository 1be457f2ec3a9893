//! Shared helpers: a simulator on a free port and a small HTTP client.

use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::StatusCode;
use serde_json::Value;
use vobiz_billing::simulator::{self, DatasetSpec, FaultSpec, RunningSimulator};

pub const PARTNER: (&str, &str) = (simulator::DEMO_PARTNER_AUTH_ID, simulator::DEMO_PARTNER_AUTH_TOKEN);

pub async fn start_sim(seed: u64, accounts: u32, cdrs: u32, faults: &str) -> RunningSimulator {
    let spec = DatasetSpec::new(seed, accounts, cdrs, "2026-03".parse().unwrap());
    let faults: FaultSpec = faults.parse().unwrap();
    simulator::start(spec, faults, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// A plain HTTP client for talking to the simulator directly.
pub fn http() -> reqwest::Client {
    vobiz_billing::api::client::install_tls_provider();
    reqwest::Client::new()
}

pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

impl Api {
    pub fn new(sim: &RunningSimulator) -> Self {
        // reqwest panics without a crypto provider, unless another test installed it first.
        vobiz_billing::api::client::install_tls_provider();
        Self {
            base: sim.base_url(),
            http: reqwest::Client::new(),
        }
    }

    pub async fn get_as(&self, path: &str, creds: Option<(&str, &str)>) -> Reply {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some((id, token)) = creds {
            req = req.header("X-Auth-ID", id).header("X-Auth-Token", token);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.unwrap().to_vec();
        Reply { status, headers, body }
    }

    /// GET with partner credentials, expecting 200 and JSON.
    pub async fn partner(&self, path: &str) -> Value {
        let r = self.get_as(path, Some(PARTNER)).await;
        assert_eq!(r.status, 200, "{path}: {}", String::from_utf8_lossy(&r.body));
        r.json()
    }
}

/// Keys of a JSON object, sorted.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

pub fn sorted(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// Every record batch of a Parquet file.
pub fn read_parquet(path: &std::path::Path) -> Vec<arrow::record_batch::RecordBatch> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap()
        .map(|b| b.unwrap())
        .collect()
}

/// A text column of a batch.
pub fn texts(b: &arrow::record_batch::RecordBatch, name: &str) -> Vec<Option<String>> {
    use arrow::array::{Array, StringArray};
    let col = b.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"));
    let a = col.as_any().downcast_ref::<StringArray>().unwrap();
    (0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i).to_string()))
        .collect()
}

/// A Decimal128 column of a batch, as exact decimals.
pub fn decimals(b: &arrow::record_batch::RecordBatch, name: &str) -> Vec<Option<rust_decimal::Decimal>> {
    use arrow::array::{Array, Decimal128Array};
    let col = b.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"));
    let a = col
        .as_any()
        .downcast_ref::<Decimal128Array>()
        .unwrap_or_else(|| panic!("{name} is not Decimal128"));
    assert_eq!((a.precision(), a.scale()), (20, 5), "{name}");
    (0..a.len())
        .map(|i| {
            a.is_valid(i)
                .then(|| rust_decimal::Decimal::from_i128_with_scale(a.value(i), 5))
        })
        .collect()
}

/// Every file under `dir`, recursively.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            found.extend(files(&p));
        } else {
            found.push(p);
        }
    }
    found
}

/// Every text a file holds, decoded the way a reader of it would see it.
pub fn readable_text(path: &Path) -> String {
    let name = path.to_string_lossy();
    if name.ends_with(".zst") {
        let bytes = zstd::decode_all(std::fs::File::open(path).unwrap()).unwrap();
        String::from_utf8_lossy(&bytes).into_owned()
    } else if name.ends_with(".parquet") {
        let mut text = String::new();
        for b in crate::support::read_parquet(path) {
            for c in b.columns() {
                if let Some(s) = c.as_any().downcast_ref::<arrow::array::StringArray>() {
                    s.iter().flatten().for_each(|v| {
                        text.push_str(v);
                        text.push('\n');
                    });
                }
            }
        }
        text
    } else if name.ends_with(".pdf") {
        let out = Command::new("pdftotext")
            .arg(path)
            .arg("-")
            .output()
            .expect("pdftotext (poppler-utils)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned()
    }
}

/// The lines of a command's stderr that report an error (`error: …`): a failure is one.
pub fn error_lines(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| l.starts_with("error"))
        .map(str::to_string)
        .collect()
}
