//! Configuration: an optional TOML file plus environment variables.
//!
//! Unknown keys are errors (a typo must not silently fall back to a default). Credentials come
//! only from the environment (`VOBIZ_AUTH_ID`, `VOBIZ_AUTH_TOKEN`), never from files; there is
//! deliberately no option to turn TLS certificate verification off.

use std::path::Path;
use std::time::Duration;

use chrono_tz::Tz;
use serde::Deserialize;

use crate::error::usage;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub api: ApiConfig,
    #[serde(default)]
    pub partner: PartnerConfig,
    #[serde(default)]
    pub reconcile: ReconcileConfig,
    /// The partner as the supplier on its GST invoices; required by the invoice stage.
    #[serde(default)]
    pub supplier: Option<SupplierConfig>,
    #[serde(default)]
    pub invoice: InvoiceConfig,
    #[serde(default)]
    pub exports: ExportsConfig,
    #[serde(default)]
    pub normalize: NormalizeConfig,
}

/// How much of an account normalize holds in memory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NormalizeConfig {
    /// Rows of one table an account's sort holds in memory; a larger account is sorted in
    /// runs spilled to temporary files beside the partition, then merged. Normalize's
    /// peak memory grows by about 3 KiB per unit (its sorts' buffers, their scratch space and
    /// what the allocator keeps of them).
    pub sort_rows: usize,
}

impl Default for NormalizeConfig {
    fn default() -> Self {
        Self { sort_rows: 32_768 }
    }
}

/// What finance files and opens: GSTR-1 JSON, the workbook, CSV, call statements.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportsConfig {
    /// The `version` the GSTR-1 JSON declares: the offline tool's schema version the portal
    /// accepts when it is filed (the portal moves it; set it to what the current tool writes).
    pub gstr1_version: String,
}

impl Default for ExportsConfig {
    fn default() -> Self {
        Self {
            gstr1_version: "GST3.2.3".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SupplierConfig {
    pub legal_name: String,
    #[serde(default)]
    pub trade_name: Option<String>,
    /// Address lines as printed.
    pub address: Vec<String>,
    /// GSTIN of the registration the invoices are issued from; its state is the supplier's.
    pub gstin: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InvoiceConfig {
    /// Invoice numbers are `PREFIX/YY-YY/NNNNNN` (at most 16 characters).
    pub prefix: String,
    /// SAC printed on every line (998412: fixed telephony incl. IP voice).
    pub sac: String,
    /// GST rate in percent (telecom: 18).
    #[serde(deserialize_with = "decimal_string")]
    pub rate_percent: rust_decimal::Decimal,
    /// Kept so that older configs still load: `false` only. A tax invoice bills a supply,
    /// so none is issued for an account without billable usage.
    pub zero_usage: bool,
    /// Credit notes are numbered `PREFIX/YY-YY/NNNNNN` in a series of their own.
    pub credit_note_prefix: String,
    /// Debit notes likewise.
    pub debit_note_prefix: String,
    /// Days after the period's end during which a period's invoices stay drafts for review
    /// unless `finalize` is run; after them `run` (and `invoice`) finalize by themselves.
    pub grace_days: u32,
    /// Customers (auth ids) that are SEZ units or developers supplied with payment of IGST:
    /// IGST even in the supplier's state (IGST Act s.7(5)(b)). The API has no SEZ field.
    pub sez_with_payment: Vec<String>,
    /// SEZ customers supplied under a letter of undertaking: zero-rated (IGST Act s.16).
    pub sez_under_lut: Vec<String>,
}

impl InvoiceConfig {
    /// How the customer `auth_id` is supplied if it is a configured SEZ unit or developer.
    pub fn sez(&self, auth_id: &str) -> Option<crate::model::tax::Treatment> {
        use crate::model::tax::Treatment;
        if self.sez_with_payment.iter().any(|id| id == auth_id) {
            Some(Treatment::SezWithPayment)
        } else if self.sez_under_lut.iter().any(|id| id == auth_id) {
            Some(Treatment::SezUnderLut)
        } else {
            None
        }
    }
}

impl Default for InvoiceConfig {
    fn default() -> Self {
        Self {
            prefix: "INV".into(),
            sac: "998412".into(),
            rate_percent: rust_decimal::Decimal::from(18),
            zero_usage: false,
            credit_note_prefix: "CN".into(),
            debit_note_prefix: "DN".into(),
            grace_days: 3,
            sez_with_payment: Vec::new(),
            sez_under_lut: Vec::new(),
        }
    }
}

impl SupplierConfig {
    /// The demo supplier: a Bengaluru partner with a checksum-valid (fictitious) GSTIN.
    pub fn demo() -> Self {
        let body = "29AAHCD4821K1Z";
        Self {
            legal_name: "Demo Telecom Solutions Private Limited".into(),
            trade_name: Some("Demo Telecom".into()),
            address: vec![
                "4th Floor, 12 Residency Road".into(),
                "Bengaluru, Karnataka 560025".into(),
            ],
            gstin: format!("{body}{}", crate::model::gstin::check_char(body).expect("alphabet")),
            email: Some("billing@demotelecom.example".into()),
            phone: Some("+91 80 4123 4567".into()),
        }
    }
}
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReconcileConfig {
    /// Money differences up to this amount are not exceptions, e.g. "0.00" (the default).
    #[serde(deserialize_with = "decimal_string")]
    pub tolerance: rust_decimal::Decimal,
    /// Low-balance threshold for accounts whose wallet does not report one.
    #[serde(deserialize_with = "decimal_string")]
    pub default_low_balance: rust_decimal::Decimal,
}

impl Default for ReconcileConfig {
    fn default() -> Self {
        Self {
            tolerance: rust_decimal::Decimal::ZERO,
            default_low_balance: rust_decimal::Decimal::from(50),
        }
    }
}

/// Amounts in the config are strings (`"0.01"`), so that no float ever holds them.
fn decimal_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<rust_decimal::Decimal, D::Error> {
    let s = String::deserialize(d)?;
    let v = crate::model::money::parse_exact(&s).map_err(serde::de::Error::custom)?;
    if v.is_sign_negative() {
        return Err(serde::de::Error::custom(format!("{s:?} must not be negative")));
    }
    Ok(v)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Base URL of the Vobiz API; `VOBIZ_BASE_URL` and `--base-url` override it.
    pub base_url: String,
    /// Timeout of one HTTP request, connection to last byte.
    pub timeout_secs: u64,
    /// Retries of one request after the first attempt (429, 5xx, timeouts, broken bodies).
    pub max_retries: u32,
    /// First retry waits up to this long; each further retry doubles the ceiling.
    pub initial_backoff_ms: u64,
    /// Longest single wait between retries (a server's Retry-After is honoured up to this).
    pub max_backoff_secs: u64,
    /// Requests in flight at once (and accounts extracted at once).
    pub concurrency: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            base_url: "https://api.vobiz.ai".into(),
            timeout_secs: 30,
            max_retries: 6,
            initial_backoff_ms: 250,
            max_backoff_secs: 30,
            concurrency: 8,
        }
    }
}

impl ApiConfig {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PartnerConfig {
    /// IANA time zone the partner's billing periods are cut in.
    pub time_zone: String,
    /// Currency the partner bills in; rows in another currency are reconciliation exceptions.
    pub currency: String,
}

impl Default for PartnerConfig {
    fn default() -> Self {
        Self {
            time_zone: "Asia/Kolkata".into(),
            currency: "INR".into(),
        }
    }
}

impl PartnerConfig {
    pub fn tz(&self) -> Tz {
        self.time_zone.parse().expect("validated in Config::validate")
    }
}

impl Config {
    /// Read `path` if given (a missing or invalid file is a usage error), else the defaults.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let cfg = match path {
            None => Config::default(),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| usage(format!("cannot read config {}: {e}", p.display())))?;
                toml::from_str::<Config>(&text).map_err(|e| {
                    // toml's message spans several lines with a caret diagram; keep the gist.
                    let msg = e.message().to_string();
                    let at = e
                        .span()
                        .map(|s| line_of(&text, s.start))
                        .map(|l| format!(" (line {l})"))
                        .unwrap_or_default();
                    usage(format!("invalid config {}{at}: {msg}", p.display()))
                })?
            }
        };
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        self.partner.time_zone.parse::<Tz>().map_err(|_| {
            usage(format!(
                "unknown time zone {:?} in [partner] time_zone",
                self.partner.time_zone
            ))
        })?;
        let c = &self.partner.currency;
        if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(usage(format!(
                "[partner] currency must be an ISO 4217 code like INR, got {c:?}"
            )));
        }
        if self.api.concurrency == 0 || self.api.concurrency > 64 {
            return Err(usage("[api] concurrency must be within 1..=64"));
        }
        if self.normalize.sort_rows == 0 {
            return Err(usage("[normalize] sort_rows must be at least 1"));
        }
        if self.api.timeout_secs == 0 {
            return Err(usage("[api] timeout_secs must be at least 1"));
        }
        let inv = &self.invoice;
        for (key, prefix) in [
            ("prefix", &inv.prefix),
            ("credit_note_prefix", &inv.credit_note_prefix),
            ("debit_note_prefix", &inv.debit_note_prefix),
        ] {
            crate::model::document::check_prefix(prefix).map_err(|e| usage(format!("[invoice] {key}: {e}")))?;
        }
        if inv.prefix == inv.credit_note_prefix
            || inv.prefix == inv.debit_note_prefix
            || inv.credit_note_prefix == inv.debit_note_prefix
        {
            return Err(usage(
                "[invoice] prefix, credit_note_prefix and debit_note_prefix must differ: each series is numbered on its own",
            ));
        }
        if inv.grace_days > crate::model::document::MAX_INVOICE_DELAY_DAYS {
            return Err(usage(format!(
                "[invoice] grace_days must be at most {} (CGST Rule 47: an invoice for services within 30 days of the supply), got {}",
                crate::model::document::MAX_INVOICE_DELAY_DAYS,
                inv.grace_days
            )));
        }
        for (key, ids) in [
            ("sez_with_payment", &inv.sez_with_payment),
            ("sez_under_lut", &inv.sez_under_lut),
        ] {
            for id in ids {
                crate::model::AccountId::parse(id).map_err(|e| usage(format!("[invoice] {key}: {e}")))?;
            }
        }
        if let Some(both) = inv.sez_with_payment.iter().find(|id| inv.sez_under_lut.contains(id)) {
            return Err(usage(format!(
                "[invoice] {both} is in both sez_with_payment and sez_under_lut: a supply is one or the other"
            )));
        }
        if self.invoice.zero_usage {
            return Err(usage(
                "[invoice] zero_usage = true is no longer supported: a tax invoice bills a supply, so accounts without billable usage get none",
            ));
        }
        let sac = &self.invoice.sac;
        if !(sac.len() == 4 || sac.len() == 6) || !sac.bytes().all(|b| b.is_ascii_digit()) || !sac.starts_with("99") {
            return Err(usage(format!(
                "[invoice] sac must be a 4- or 6-digit services code starting with 99, got {sac:?}"
            )));
        }
        if let Some(s) = &self.supplier {
            crate::model::Gstin::parse(&s.gstin).map_err(|e| usage(format!("[supplier] gstin: {e}")))?;
            if s.legal_name.trim().is_empty() || s.address.is_empty() {
                return Err(usage("[supplier] needs legal_name and address"));
            }
        }
        Ok(())
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1
}

/// Partner credentials from the environment.
pub fn credentials_from_env() -> anyhow::Result<(String, String)> {
    let get = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    match (get("VOBIZ_AUTH_ID"), get("VOBIZ_AUTH_TOKEN")) {
        (Some(id), Some(token)) => Ok((id.trim().to_string(), token.trim().to_string())),
        _ => Err(usage(
            "missing credentials: set VOBIZ_AUTH_ID and VOBIZ_AUTH_TOKEN (or run `vobiz-billing demo`)",
        )),
    }
}

/// Validate a base URL: absolute http(s), no credentials or query in it.
pub fn parse_base_url(s: &str) -> anyhow::Result<reqwest::Url> {
    let url = reqwest::Url::parse(s.trim()).map_err(|e| usage(format!("invalid base URL {s:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(usage(format!("invalid base URL {s:?}: expected http(s)://host[:port]")));
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        return Err(usage(format!(
            "invalid base URL {s:?}: no credentials or query string allowed"
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<Config> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, text).unwrap();
        Config::load(Some(&p))
    }

    #[test]
    fn defaults_and_overrides() {
        let c = parse("[api]\nconcurrency = 3\n[partner]\ntime_zone = \"Asia/Dubai\"\n").unwrap();
        assert_eq!(c.api.concurrency, 3);
        assert_eq!(c.api.max_retries, 6);
        assert_eq!(c.partner.tz(), chrono_tz::Asia::Dubai);
        assert!(crate::model::Gstin::parse(&SupplierConfig::demo().gstin).is_ok());
        let c =
            parse("[supplier]\nlegal_name = \"X Ltd\"\naddress = [\"1 Road\"]\ngstin = \"27AAPFU0939F1ZV\"\n").unwrap();
        assert_eq!(c.supplier.unwrap().gstin, "27AAPFU0939F1ZV");
        let c = parse("[reconcile]\ntolerance = \"0.01\"\n").unwrap();
        assert_eq!(c.reconcile.tolerance, rust_decimal::Decimal::new(1, 2));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_one_line_usage_errors() {
        for text in [
            "[api]\nconcurency = 3\n",
            "[api]\ndanger_accept_invalid_certs = true\n",
            "[partner]\ntime_zone = \"Mars/Olympus\"\n",
            "[partner]\ncurrency = \"rupees\"\n",
            "[api]\nconcurrency = 0\n",
            "[reconcile]\ntolerance = 0.01\n",
            "[reconcile]\ntolerance = \"-1\"\n",
            "[invoice]\nprefix = \"0AB\"\n",
            "[invoice]\nprefix = \"inv\"\n",
            "[invoice]\nprefix = \"INVOI\"\n",
            "[invoice]\nzero_usage = true\n",
            "[invoice]\nsac = \"123456\"\n",
            "[supplier]\nlegal_name = \"X\"\naddress = [\"a\"]\ngstin = \"29AAPFU0939F1ZV\"\n",
            "not toml at all = = =",
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.chain().any(|e| e.is::<crate::error::UsageError>()), "{text}");
            let line = crate::error::one_line(&err);
            assert!(!line.contains('\n'), "{line}");
        }
        assert!(crate::error::one_line(&parse("[api]\nconcurency = 3\n").unwrap_err()).contains("concurency"));
    }

    #[test]
    fn base_urls_are_checked() {
        assert!(parse_base_url("http://127.0.0.1:8787").is_ok());
        assert!(parse_base_url("https://api.vobiz.ai").is_ok());
        for bad in ["ftp://x", "api.vobiz.ai", "http://user:pw@host", "http://host/?a=1", ""] {
            assert!(parse_base_url(bad).is_err(), "{bad}");
        }
    }
}
