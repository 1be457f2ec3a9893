//! The binary as a user runs it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_vobiz-billing");

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn sim_serves_the_partner_api_and_writes_truth() {
    let dir = tempfile::tempdir().unwrap();
    let truth = dir.path().join("truth.json");
    let mut child = Killed(
        Command::new(BIN)
            .args([
                "sim",
                "--addr",
                "127.0.0.1:0",
                "--seed",
                "7",
                "--accounts",
                "50",
                "--period",
                "2026-03",
                "--truth",
            ])
            .arg(&truth)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected: {line:?}"))
        .to_string();
    let http = reqwest::Client::new();
    let anon = http.get(format!("{url}/api/v1/partner/me")).send().await.unwrap();
    assert_eq!(anon.status(), 401);
    let body: serde_json::Value = anon.json().await.unwrap();
    assert_eq!(body["error"]["code"], "INVALID_CREDENTIALS");
    let me: serde_json::Value = http
        .get(format!("{url}/api/v1/partner/me"))
        .header("X-Auth-ID", "PA_DEMO0001")
        .header("X-Auth-Token", "sim-partner-token")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["auth_id"], "PA_DEMO0001");
    let t: serde_json::Value = serde_json::from_slice(&std::fs::read(&truth).unwrap()).unwrap();
    assert_eq!(t["accounts"].as_array().unwrap().len(), 50);
    assert_eq!(t["period"], "2026-03");
    assert!(
        t["accounts"][0]["cdrs"]["total_cost"].is_string(),
        "money in the truth is an exact string"
    );
}

#[test]
fn bad_arguments_are_one_line_errors_with_exit_code_2() {
    for args in [
        &["sim", "--period", "2026-13"][..],
        &["sim", "--faults", "explode"],
        &["sim", "--accounts", "0", "--addr", "127.0.0.1:0"],
        &["sim", "--addr", "not-an-address"],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error")).collect();
        assert_eq!(lines.len(), 1, "{args:?}: {err}");
    }
}
