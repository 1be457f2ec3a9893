//! Secrets stay secret: every customer's `auth_token` (a canary, unique per account) is used by
//! extract to read the wallet, and must appear in no log line, raw page, Parquet value, HTML
//! page or PDF text.

use std::path::Path;
use std::process::{Command, Stdio};

use vobiz_billing::model::Period;
use vobiz_billing::simulator;

const BIN: &str = env!("CARGO_BIN_EXE_vobiz-billing");

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
    let mut tokens: Vec<String> = sim.sim.ds.accounts.iter().map(|a| a.auth_token.clone()).collect();
    // Subaccounts' tokens too: the list endpoint sends them in full.
    let subaccount_tokens: Vec<String> = sim
        .sim
        .ds
        .accounts
        .iter()
        .flat_map(|a| a.subaccounts.iter().map(|s| s.auth_token.clone()))
        .collect();
    assert!(!subaccount_tokens.is_empty(), "a customer with subaccounts");
    tokens.extend(subaccount_tokens);
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
            .env(crate::pipeline::AFTER_MARCH_ENV.0, crate::pipeline::AFTER_MARCH_ENV.1)
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
    for f in crate::support::files(&dir.path().join("out")) {
        searched.push((f.display().to_string(), crate::support::readable_text(&f)));
    }
    assert!(
        searched.iter().any(|(n, _)| n.ends_with(".pdf"))
            && searched.iter().any(|(n, _)| n.contains("/wallet/"))
            && searched.iter().any(|(n, _)| n.contains("/subaccounts/")),
        "the wallet and the subaccount list were read"
    );
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

/// A TLS server on a free port presenting a self-signed certificate (tests/fixtures/tls, made
/// with openssl, valid until 2126). Returns its port and a receiver of one line per connection:
/// how its handshake ended and how many request bytes arrived after it.
fn untrusted_tls_server() -> (u16, std::sync::mpsc::Receiver<String>) {
    use std::io::Read;
    vobiz_billing::api::client::install_tls_provider();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls");
    let cert = rustls::pki_types::CertificateDer::from(std::fs::read(dir.join("cert.der")).unwrap());
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(std::fs::read(dir.join("key.der")).unwrap().into());
    let config = std::sync::Arc::new(
        rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap(),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(mut sock) = sock else { return };
            let mut conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let line = match conn.complete_io(&mut sock) {
                Err(e) => format!("handshake failed: {e}"),
                Ok(_) => {
                    let mut buf = [0u8; 4096];
                    let n = rustls::Stream::new(&mut conn, &mut sock).read(&mut buf).unwrap_or(0);
                    format!("handshake completed; {n} request bytes")
                }
            };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (port, rx)
}

#[tokio::test]
async fn an_untrusted_certificate_fails_the_run_at_once_and_sends_no_credentials() {
    let (port, connections) = untrusted_tls_server();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let opts = crate::pipeline::options(&format!("https://127.0.0.1:{port}"), &out);
    let err = vobiz_billing::pipeline::run(&opts).await.unwrap_err();
    let why = format!("{err:#}");
    assert!(
        why.contains(&format!(
            "the TLS certificate of https://127.0.0.1:{port}/ is not trusted"
        )) && why.contains("invalid peer certificate")
            && why.contains("cannot be turned off")
            && !why.contains('\n'),
        "{why}"
    );
    // One connection, refused by the client during the handshake: not retried, and no
    // request (so no X-Auth-Token) was ever sent.
    let first = connections.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let seen: Vec<String> = std::iter::once(first).chain(connections.try_iter()).collect();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].starts_with("handshake failed"), "{seen:?}");
    assert!(!out.exists(), "nothing written");
}

#[test]
fn no_setting_turns_certificate_verification_off() {
    use vobiz_billing::config::Config;
    // Config files reject unknown keys, so the usual spellings of such a switch are errors.
    for key in [
        "danger_accept_invalid_certs",
        "accept_invalid_certs",
        "insecure",
        "verify_tls",
        "tls_verify",
        "ssl_verify",
    ] {
        let text = format!("[api]\n{key} = false\n");
        let err = toml::from_str::<Config>(&text).unwrap_err().to_string();
        assert!(err.contains("unknown field"), "{key}: {err}");
    }
    // And the binary has no such flag.
    let help = Command::new(BIN).args(["run", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout).to_lowercase();
    assert!(
        !help.contains("insecure") && !help.contains("certificate") && !help.contains("verify"),
        "{help}"
    );
}
