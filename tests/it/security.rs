//! Secrets stay secret: every customer's `auth_token` (a canary, unique per account) is used by
//! extract to read the wallet, and must appear in no log line, raw page, Parquet value, HTML
//! page or PDF text.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use vobiz_billing::model::Period;
use vobiz_billing::simulator;

const BIN: &str = env!("CARGO_BIN_EXE_vobiz-billing");

fn files(dir: &Path) -> Vec<PathBuf> {
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
fn readable_text(path: &Path) -> String {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_customer_token_is_written_anywhere() {
    let period: Period = "2026-03".parse().unwrap();
    let sim = simulator::start(
        simulator::DatasetSpec::new(41, 12, 60, period),
        "none".parse().unwrap(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let tokens: Vec<String> = sim.sim.ds.accounts.iter().map(|a| a.auth_token.clone()).collect();
    assert!(tokens.iter().all(|t| t.len() >= 20));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let config = crate::cli::supplier_config(dir.path());
    let url = sim.base_url();
    let run = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args([
                "--log-format",
                "json",
                "-vv",
                "run",
                "--period",
                "2026-03",
                "--base-url",
                &url,
            ])
            .arg("--out")
            .arg(&out)
            .arg("--config")
            .arg(config)
            .env("VOBIZ_AUTH_ID", simulator::DEMO_PARTNER_AUTH_ID)
            .env("VOBIZ_AUTH_TOKEN", simulator::DEMO_PARTNER_AUTH_TOKEN)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let logs = String::from_utf8_lossy(&run.stderr).into_owned() + &String::from_utf8_lossy(&run.stdout);
    let lines = logs.lines().count();
    assert!(
        lines > 50 && logs.contains("/balance/INR"),
        "trace logs name every request ({lines} lines)"
    );
    let mut searched = vec![("logs".to_string(), logs)];
    for f in files(&dir.path().join("out")) {
        searched.push((f.display().to_string(), readable_text(&f)));
    }
    assert!(searched.iter().any(|(n, _)| n.ends_with(".pdf")) && searched.iter().any(|(n, _)| n.contains("/wallet/")));
    for (name, text) in &searched {
        for t in &tokens {
            assert!(!text.contains(t.as_str()), "a customer token leaked into {name}");
        }
        assert!(
            !text.contains(simulator::DEMO_PARTNER_AUTH_TOKEN),
            "the partner token leaked into {name}"
        );
    }
}
