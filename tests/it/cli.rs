//! The binary as a user runs it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_vobiz-billing");

pub struct Killed(Child);

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
    let (_child, url) = spawn_sim(&["--seed", "7", "--accounts", "50", "--truth", truth.to_str().unwrap()]);
    let http = crate::support::http();
    let anon = http.get(format!("{url}/api/v1/partner/me")).send().await.unwrap();
    assert_eq!(anon.status(), 401);
    let body: serde_json::Value = serde_json::from_slice(&anon.bytes().await.unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "INVALID_CREDENTIALS");
    let me = http
        .get(format!("{url}/api/v1/partner/me"))
        .header("X-Auth-ID", "PA_DEMO0001")
        .header("X-Auth-Token", "sim-partner-token")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let me: serde_json::Value = serde_json::from_slice(&me).unwrap();
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
        let lines = crate::support::error_lines(&out.stderr);
        assert_eq!(lines.len(), 1, "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// Start `vobiz-billing sim` on a free port; returns the process and its base URL.
pub fn spawn_sim(extra: &[&str]) -> (Killed, String) {
    let mut child = Killed(
        Command::new(BIN)
            .args([
                "--log-format",
                "json",
                "sim",
                "--addr",
                "127.0.0.1:0",
                "--period",
                "2026-03",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().strip_prefix("listening on ").unwrap().to_string();
    (child, url)
}

/// A config with a supplier (a full run issues invoices), written next to the output.
pub fn supplier_config(dir: &std::path::Path) -> std::path::PathBuf {
    let s = vobiz_billing::config::SupplierConfig::demo();
    let path = dir.join("billing.toml");
    let address: Vec<String> = s.address.iter().map(|a| format!("{a:?}")).collect();
    let text = format!(
        "[supplier]\nlegal_name = {:?}\naddress = [{}]\ngstin = {:?}\n\n[api]\ninitial_backoff_ms = 5\n",
        s.legal_name,
        address.join(", "),
        s.gstin
    );
    std::fs::write(&path, text).unwrap();
    path
}

pub fn run_cmd(url: &str, out: &std::path::Path) -> Command {
    cron_run(url, out, out)
}

const TABLES: [&str; 5] = {
    use vobiz_billing::layout::Table;
    let t = Table::NORMALIZED;
    [t[0].name(), t[1].name(), t[2].name(), t[3].name(), t[4].name()]
};

fn table_bytes(out: &std::path::Path) -> Vec<Option<Vec<u8>>> {
    TABLES
        .iter()
        .map(|t| std::fs::read(out.join(format!("parquet/{t}/period=2026-03/part-0.parquet"))).ok())
        .collect()
}

pub fn temporaries(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                found.extend(temporaries(&p));
            } else if e.file_name().to_string_lossy().starts_with(".tmp-") {
                found.push(p);
            }
        }
    }
    found
}

#[test]
fn a_run_killed_anywhere_and_restarted_ends_with_the_same_content() {
    let (_sim, url) = spawn_sim(&["--seed", "3", "--accounts", "12", "--cdrs-per-account", "300"]);
    let reference = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    assert!(run_cmd(&url, reference.path()).status().unwrap().success());
    let full = started.elapsed();
    let expected = table_bytes(reference.path());
    assert!(expected.iter().all(Option::is_some));
    // Kill at evenly spread moments of an uninterrupted run's duration.
    for step in 0..8u32 {
        let out = tempfile::tempdir().unwrap();
        let at = full * step / 8 + std::time::Duration::from_millis(5);
        let mut child = run_cmd(&url, out.path()).spawn().unwrap();
        std::thread::sleep(at);
        let _ = child.kill(); // SIGKILL: no cleanup code runs
        let _ = child.wait();
        // Whatever is visible is a whole file from a complete write, never a torn one.
        for (t, bytes) in TABLES.iter().zip(table_bytes(out.path())) {
            if let Some(b) = bytes {
                assert!(
                    b.starts_with(b"PAR1") && b.ends_with(b"PAR1"),
                    "{t} torn after a kill at {at:?}"
                );
            }
        }
        assert!(
            run_cmd(&url, out.path()).status().unwrap().success(),
            "re-run after a kill at {at:?}"
        );
        assert_eq!(table_bytes(out.path()), expected, "content after a kill at {at:?}");
        assert!(
            temporaries(out.path()).is_empty(),
            "temporaries left after a kill at {at:?}: {:?}",
            temporaries(out.path())
        );
    }
}

/// `demo` on a small month into `out`, with extra arguments; its exit code.
fn demo_exit_code(out: &std::path::Path, extra: &[&str]) -> Option<i32> {
    Command::new(BIN)
        .args([
            "--log-format",
            "json",
            "demo",
            "--period",
            "2026-03",
            "--accounts",
            "20",
            "--cdrs-per-account",
            "40",
            "--clean",
        ])
        .args(extra)
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .code()
}

#[test]
fn planted_discrepancies_exit_3_after_writing_every_report() {
    let out = tempfile::tempdir().unwrap();
    assert_eq!(demo_exit_code(out.path(), &["--anomalies", "all"]), Some(3));
    assert!(out.path().join("2026-03/reconciliation.html").exists());
    for t in TABLES.iter().chain(&["reconciliation", "exceptions"]) {
        assert!(
            out.path()
                .join(format!("parquet/{t}/period=2026-03/part-0.parquet"))
                .exists(),
            "{t}"
        );
    }
    // The same data without planted discrepancies reconciles: exit 0.
    let clean = tempfile::tempdir().unwrap();
    assert_eq!(demo_exit_code(clean.path(), &[]), Some(0));
}

/// `run` as cron starts it, on a config in `config_dir` and output in `out`.
pub fn cron_run(url: &str, config_dir: &std::path::Path, out: &std::path::Path) -> Command {
    let mut c = Command::new(BIN);
    c.args([
        "--log-format",
        "json",
        "run",
        "--period",
        "2026-03",
        "--base-url",
        url,
        "--out",
    ])
    .arg(out)
    .arg("--config")
    .arg(supplier_config(config_dir))
    .env("VOBIZ_AUTH_ID", "PA_DEMO0001")
    .env("VOBIZ_AUTH_TOKEN", "sim-partner-token")
    .env(crate::pipeline::AFTER_MARCH_ENV.0, crate::pipeline::AFTER_MARCH_ENV.1)
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    c
}

/// A sort past its buffer keeps up to 128 runs open per merge, several merges at once; the
/// binary raises its soft limit of open files to the hard one, so a run started under a small
/// soft limit (64 here, the shell's `ulimit -S -n`) still spills and merges every account.
#[test]
fn a_small_soft_limit_of_open_files_does_not_stop_a_spilling_run() {
    let (_sim, url) = spawn_sim(&["--accounts", "2", "--cdrs-per-account", "800"]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = cron_run(&url, dir.path(), &out);
    let config = dir.path().join("billing.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[normalize]\nsort_rows = 3\n");
    std::fs::write(&config, text).unwrap();
    let mut limited = Command::new("sh");
    limited
        .args(["-c", r#"ulimit -S -n 64 && exec "$0" "$@""#])
        .arg(run.get_program())
        .args(run.get_args())
        .envs(run.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .stdout(Stdio::null());
    let done = limited.output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{:?}: {stderr}", done.status);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("2026-03/manifest.json")).unwrap()).unwrap();
    // Two accounts of six sorts each: past 12 x 64 runs in all, one sort merged more than 64.
    let runs = manifest["normalize"]["sort_runs"].as_u64().unwrap();
    assert!(
        runs > 12 * 64,
        "only {runs} sort runs: no merge needed more than 64 files"
    );
}

#[test]
fn a_second_run_of_a_busy_period_exits_saying_it_is_locked() {
    // Slow responses stretch the first run so that the second surely starts during it.
    let (_sim, url) = spawn_sim(&["--seed", "5", "--accounts", "12", "--faults", "slow=0.5,slow-ms=150"]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut first = cron_run(&url, dir.path(), &out).stdout(Stdio::piped()).spawn().unwrap();
    let lock = out.join("state/locks/2026-03.lock");
    let holder = format!("pid {}", first.id());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !std::fs::read_to_string(&lock).is_ok_and(|t| t.contains(&holder)) {
        assert!(
            std::time::Instant::now() < deadline,
            "the first run never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let second = cron_run(&url, dir.path(), &out)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(1));
    let err = crate::support::error_lines(&second.stderr);
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(
        err[0].contains("period 2026-03 is locked") && err[0].contains(&holder),
        "{}",
        err[0]
    );

    let status = first.wait().unwrap();
    let mut summary = String::new();
    std::io::Read::read_to_string(&mut first.stdout.take().unwrap(), &mut summary).unwrap();
    assert!(status.success(), "the first run finishes");
    assert!(
        summary.starts_with("2026-03: 12 accounts, ") && summary.lines().count() == 1,
        "{summary}"
    );
    // Its outputs are those of a run that was never disturbed.
    let alone = tempfile::tempdir().unwrap();
    assert!(
        cron_run(&url, alone.path(), &alone.path().join("out"))
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(table_bytes(&out), table_bytes(&alone.path().join("out")));
    assert!(out.join("2026-03/report.html").exists());
}

#[test]
fn bad_input_is_a_one_line_error_and_writes_nothing() {
    let (_sim, url) = spawn_sim(&["--accounts", "8"]);
    let dir = tempfile::tempdir().unwrap();
    let config = supplier_config(dir.path());
    let unknown_key = dir.path().join("unknown.toml");
    std::fs::write(&unknown_key, "[api]\nconcurency = 4\n").unwrap();
    let quick_fail = dir.path().join("quick.toml");
    let text = std::fs::read_to_string(&config).unwrap() + "max_retries = 1\n";
    std::fs::write(&quick_fail, text).unwrap();
    let out = dir.path().join("out");
    let config = config.to_str().unwrap();
    // Port 9 on loopback: nothing listens there.
    let unreachable = "http://127.0.0.1:9";
    let cases: [(&str, &[&str], bool, i32, &str); 6] = [
        (
            "period format",
            &["--period", "2026-3", "--base-url", &url, "--config", config],
            true,
            2,
            "2026-3",
        ),
        (
            "future period",
            &["--period", "2099-01", "--base-url", &url, "--config", config],
            true,
            2,
            "future",
        ),
        (
            "no credentials",
            &["--period", "2026-03", "--base-url", &url, "--config", config],
            false,
            2,
            "VOBIZ_AUTH_ID",
        ),
        (
            "unknown key",
            &[
                "--period",
                "2026-03",
                "--base-url",
                &url,
                "--config",
                unknown_key.to_str().unwrap(),
            ],
            true,
            2,
            "concurency",
        ),
        (
            "unreachable",
            &[
                "--period",
                "2026-03",
                "--base-url",
                unreachable,
                "--config",
                quick_fail.to_str().unwrap(),
            ],
            true,
            1,
            "127.0.0.1:9",
        ),
        (
            "bad URL",
            &["--period", "2026-03", "--base-url", "ftp://x", "--config", config],
            true,
            2,
            "ftp",
        ),
    ];
    for (case, args, credentials, code, mention) in cases {
        let mut c = Command::new(BIN);
        c.args(["--log-format", "json", "run", "--out"]).arg(&out).args(args);
        c.env_remove("VOBIZ_AUTH_ID")
            .env_remove("VOBIZ_AUTH_TOKEN")
            .env_remove("VOBIZ_BASE_URL");
        if credentials {
            c.env("VOBIZ_AUTH_ID", "PA_DEMO0001")
                .env("VOBIZ_AUTH_TOKEN", "sim-partner-token");
        }
        let o = c.output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        let lines = crate::support::error_lines(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{case}: {err}");
        assert_eq!(lines.len(), 1, "{case}: {err}");
        assert!(lines[0].contains(mention), "{case}: {}", lines[0]);
        assert!(!out.exists(), "{case} wrote {}", out.display());
    }
}

#[test]
fn dry_run_checks_everything_and_writes_nothing() {
    let (_sim, url) = spawn_sim(&["--accounts", "8"]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = cron_run(&url, dir.path(), &out)
        .arg("--dry-run")
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(o.status.success());
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        said.starts_with("dry run: credentials accepted") && said.contains("nothing written"),
        "{said}"
    );
    assert!(!out.exists());
    // Wrong credentials fail the dry run as they would fail the run.
    let o = cron_run(&url, dir.path(), &out)
        .arg("--dry-run")
        .env("VOBIZ_AUTH_TOKEN", "wrong")
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(!out.exists());
}

/// README's usage section is `vobiz-billing --help` verbatim.
#[test]
fn readme_shows_the_current_help() {
    let help = Command::new(BIN).arg("--help").output().unwrap();
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).unwrap();
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let block = format!("```text\n$ vobiz-billing --help\n{help}```");
    assert!(
        readme.contains(&block),
        "README.md must show the current help; replace its block with:\n{block}"
    );
}
