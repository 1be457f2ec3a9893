//! `--out s3://…` against a real S3 server on loopback: moto's, from the interop virtualenv
//! (`make test` installs it with the Python readers). Each test starts its own server.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::cli::{cron_run, spawn_sim};
use crate::crash::{MESSY, assert_same, complete as exit3, snapshot};
use crate::support::error_lines;

const BUCKET: &str = "billing-test";
const URL: &str = "s3://billing-test/acme/billing";
const PREFIX: &str = "acme/billing";

fn venv_bin(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin").join(name)
}

/// A moto S3 server with one empty bucket; killed when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto() -> Moto {
    let server = venv_bin("moto_server");
    assert!(
        server.exists(),
        "the S3 tests need moto's server at {}: run `make .venv/ok` (make test does)",
        server.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let moto = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    // Create the bucket (moto checks no signature), waiting for the server to listen.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(status) = http_put(port, &format!("/{BUCKET}")) {
            assert!(status.contains(" 200 "), "cannot create the bucket: {status}");
            return moto;
        }
        assert!(Instant::now() < deadline, "moto never listened on port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `PUT path` with no body; the response's status line.
fn http_put(port: u16, path: &str) -> std::io::Result<String> {
    use std::io::{BufRead, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    write!(
        stream,
        "PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut status = String::new();
    std::io::BufReader::new(stream).read_line(&mut status)?;
    Ok(status)
}

impl Moto {
    /// `cmd` pointed at this server, as an operator's environment would point it at S3.
    fn env<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        cmd.env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ALLOW_HTTP", "true")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
    }

    /// The test's own client of the bucket (not the binary's session code).
    fn client(&self) -> AmazonS3 {
        AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_bucket_name(BUCKET)
            .with_region("us-east-1")
            .with_access_key_id("test")
            .with_secret_access_key("test")
            .build()
            .unwrap()
    }

    /// Every object under the prefix, by relative key.
    fn objects(&self) -> BTreeMap<String, Vec<u8>> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            use futures_util::TryStreamExt;
            let s3 = self.client();
            let listed: Vec<_> = s3.list(Some(&Key::from(PREFIX))).try_collect().await.unwrap();
            let mut all = BTreeMap::new();
            for meta in listed {
                let bytes = s3.get(&meta.location).await.unwrap().bytes().await.unwrap();
                let rel = meta
                    .location
                    .as_ref()
                    .strip_prefix(&format!("{PREFIX}/"))
                    .unwrap()
                    .to_string();
                all.insert(rel, bytes.to_vec());
            }
            all
        })
    }

    /// The bucket's objects as files under a new directory.
    fn download(&self) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (rel, bytes) in self.objects() {
            let path = dir.path().join(&rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
        dir
    }
}

/// A run of March into the bucket from `host` (the config written under `config_dir`).
fn s3_run(moto: &Moto, url: &str, config_dir: &Path, host: &str) -> Command {
    let mut cmd = cron_run(url, config_dir, Path::new(URL));
    moto.env(&mut cmd).env("VOBIZ_BILLING_HOST", host);
    cmd
}

/// The output of a run that must fail (exit 1), its stderr kept for the reason.
fn failing(cmd: &mut Command) -> std::process::Output {
    let out = cmd.stderr(Stdio::piped()).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    out
}

/// What a reader sees, without the local run's lock files (the store's lease is released).
fn seen(dir: &Path) -> BTreeMap<String, String> {
    snapshot(dir)
        .into_iter()
        .filter(|(k, _)| !k.starts_with("state/locks/"))
        .collect()
}

#[test]
fn a_run_to_s3_writes_what_a_local_run_writes_and_pyarrow_reads_it_back() {
    let moto = moto();
    let (_sim, url) = spawn_sim(&MESSY);
    let (_late, late_url) = spawn_sim(&[&MESSY[..], &["--late"]].concat());
    let config = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();

    // Month end: invoices issued. Then a week later: credit and debit notes that cite them,
    // numbered from the register the store holds.
    assert!(exit3(cron_run(&url, config.path(), local.path()).status().unwrap()));
    assert!(exit3(s3_run(&moto, &url, config.path(), "host-a").status().unwrap()));
    let issued = seen(moto.download().path());
    assert_same(&issued, &seen(local.path()), "after the month-end run");
    assert!(
        issued
            .keys()
            .any(|k| k.starts_with("2026-03/invoices/") && k.ends_with(".pdf"))
    );
    assert!(
        !issued.keys().any(|k| k.starts_with("state/locks/")),
        "the lease was released"
    );

    let late = |mut cmd: Command| {
        cmd.env("VOBIZ_BILLING_TODAY", "2026-04-09");
        exit3(cmd.status().unwrap())
    };
    assert!(late(cron_run(&late_url, config.path(), local.path())));
    assert!(late(s3_run(&moto, &late_url, config.path(), "host-a")));
    let corrected = seen(moto.download().path());
    assert_same(&corrected, &seen(local.path()), "after the correction run");
    assert!(
        corrected.keys().any(|k| k.starts_with("2026-03/invoices/CN_")),
        "notes were issued"
    );
    for (name, content) in issued.iter().filter(|(k, _)| k.starts_with("2026-03/invoices/")) {
        assert_eq!(&corrected[name], content, "{name} changed by the correction");
    }

    // An independent reader: pyarrow's own S3 client and Hive discovery.
    let check = moto
        .env(&mut Command::new(venv_bin("python")))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check_s3.py"))
        .args(["--endpoint", &moto.endpoint, "--url", URL, "--local"])
        .arg(local.path())
        .args(["--period", "2026-03"])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "check_s3.py: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn a_second_host_cannot_run_a_period_another_host_is_running() {
    let moto = moto();
    // Slow responses stretch the first run well past its lease's validity (4 s here): the
    // second host, starting after that, finds it renewed, not expired.
    let (_sim, url) = spawn_sim(&["--seed", "5", "--accounts", "24", "--faults", "slow=1.0,slow-ms=300"]);
    let config = tempfile::tempdir().unwrap();
    let mut first = s3_run(&moto, &url, config.path(), "host-a")
        .env("VOBIZ_BILLING_LEASE_SECONDS", "4")
        .spawn()
        .unwrap();
    let lease = Key::from(format!("{PREFIX}/state/locks/2026-03.lease"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while rt.block_on(moto.client().head(&lease)).is_err() {
        assert!(Instant::now() < deadline, "the first run never took the lease");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first run outlived its lease's validity"
    );
    let second = failing(&mut s3_run(&moto, &url, config.path(), "host-b"));
    let err = error_lines(&second.stderr);
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(
        err[0].contains("period 2026-03 is locked")
            && err[0].contains("host host-a")
            && err[0].contains(&format!("pid {}", first.id())),
        "{}",
        err[0]
    );
    assert!(first.wait().unwrap().success(), "the first run finishes");
    assert!(
        rt.block_on(moto.client().head(&lease)).is_err(),
        "and releases the lease"
    );
    assert!(moto.objects().contains_key("2026-03/manifest.json"));
}

#[test]
fn a_run_killed_while_publishing_shows_no_partial_period_and_the_next_run_completes_it() {
    let moto = moto();
    let (_sim, url) = spawn_sim(&MESSY);
    let config = tempfile::tempdir().unwrap();
    let reference = tempfile::tempdir().unwrap();
    assert!(exit3(cron_run(&url, config.path(), reference.path()).status().unwrap()));
    let expected = seen(reference.path());

    // Killed once every object but the manifest is up (the register is not counted: it goes
    // first, alone): the period has no commit marker, and every object visible is whole (a
    // PUT is atomic), byte for byte what the finished run writes there.
    let files = crate::support::files(reference.path());
    let last = files
        .iter()
        .filter(|f| !f.starts_with(reference.path().join("state/locks")))
        .count()
        - 2;
    let crashed = s3_run(&moto, &url, config.path(), "host-a")
        .env("VOBIZ_BILLING_LEASE_SECONDS", "10")
        .env(vobiz_billing::crashpoint::ENV, format!("publish.object#{last}"))
        .status()
        .unwrap();
    let died = Instant::now();
    assert_eq!(
        crashed.signal(),
        Some(9),
        "the run never reached its object {last}: {crashed}"
    );

    // Its lease outlives it: another host is refused until it expires (at most 10 s after
    // its last renewal, before it died).
    let refused = failing(&mut s3_run(&moto, &url, config.path(), "host-b"));
    assert!(
        died.elapsed() < Duration::from_secs(8),
        "the check came too late to mean anything"
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("period 2026-03 is locked"));

    let visible = seen(moto.download().path());
    let mut uncommitted = expected.clone();
    uncommitted.remove("2026-03/manifest.json");
    assert_same(&visible, &uncommitted, "when killed before the commit marker");

    // Once it has expired, the other host completes the period.
    std::thread::sleep(Duration::from_secs(11).saturating_sub(died.elapsed()));
    assert!(exit3(s3_run(&moto, &url, config.path(), "host-b").status().unwrap()));
    assert_same(&seen(moto.download().path()), &expected, "after the re-run");

    // On the host where it died, the next run takes its lease over at once: its pid is gone.
    // (Killed before it publishes: a run of a complete period would publish only its new
    // manifest, which passes no crash point.)
    let crashed = s3_run(&moto, &url, config.path(), "host-a")
        .env(vobiz_billing::crashpoint::ENV, "run.finished")
        .status()
        .unwrap();
    assert_eq!(crashed.signal(), Some(9));
    assert!(exit3(s3_run(&moto, &url, config.path(), "host-a").status().unwrap()));
    assert_same(&seen(moto.download().path()), &expected, "after a same-host re-run");
}

/// A run that fails after it has written into its workspace (raw pages, the manifest's
/// extract section) publishes none of it: the store keeps the last good run, and no lease.
#[test]
fn a_run_that_fails_changes_nothing_on_the_store_and_releases_the_lease() {
    let moto = moto();
    let config = tempfile::tempdir().unwrap();
    let (_good, url) = spawn_sim(&["--seed", "4", "--accounts", "6"]);
    assert!(s3_run(&moto, &url, config.path(), "host-a").status().unwrap().success());
    let before = moto.objects();
    assert!(before.contains_key("2026-03/manifest.json"));

    // The same month, served with half the requests failing for longer than the client
    // retries: the profile and the account list come through, some accounts do not.
    let (_failing, url) = spawn_sim(&[
        "--seed",
        "4",
        "--accounts",
        "6",
        "--faults",
        "500=0.5,max-streak=100,seed=3",
    ]);
    let failed = failing(&mut s3_run(&moto, &url, config.path(), "host-a"));
    let lines = error_lines(&failed.stderr);
    assert!(
        lines.len() == 1 && lines[0].contains("could not be extracted"),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );
    assert!(
        moto.objects() == before,
        "the store holds the last good run, and no lease"
    );
}

#[test]
fn an_output_url_the_program_cannot_use_is_a_one_line_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    for out in ["ftp://host/billing", "s3:///no-bucket", "gopher://x"] {
        let got = cron_run("http://127.0.0.1:9", dir.path(), Path::new(out))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(got.status.code(), Some(2), "{out}");
        let lines = error_lines(&got.stderr);
        assert!(
            lines.len() == 1 && lines[0].contains(out.split("//").next().unwrap()),
            "{out}: {}",
            String::from_utf8_lossy(&got.stderr)
        );
    }
}
