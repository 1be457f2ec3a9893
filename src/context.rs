//! The run context: what a run of one period is about, worked out once from the config and
//! the command line, and handed to every stage (each reads what it needs of it). The time
//! zone is parsed and the period's bounds computed here, once; the partner's name is read
//! once (from `/partner/me` in a run, from its raw page offline).

#![warn(missing_docs)]

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::api::client::{ApiClient, Credentials, RetryPolicy, Secret};
use crate::config::Config;
use crate::layout::Layout;
use crate::model::Period;

/// Everything about the run of one period that the stages share.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The period billed.
    pub period: Period,
    /// The partner's time zone, in which the period is cut.
    pub time_zone: Tz,
    /// The period's half-open bounds in UTC: `[start, end)`.
    pub start: DateTime<Utc>,
    /// (the end is exclusive)
    pub end: DateTime<Utc>,
    /// The currency the partner bills in.
    pub currency: String,
    /// Every path under the output root.
    pub layout: Layout,
    /// The configuration (API, partner, reconcile, supplier, invoice sections).
    pub config: Config,
    /// The partner's display name, as its profile gives it (the company, else the name);
    /// empty when no profile is known.
    pub partner: String,
    /// Progress bars for a person watching a terminal.
    pub progress: bool,
    /// Today in the partner's time zone: the date documents issued now carry, and what says
    /// whether the period is over and its grace days have passed.
    pub today: NaiveDate,
    /// Finalize the period's invoices now (the `finalize` command), grace days or not.
    pub finalize: bool,
}

impl RunContext {
    /// The context of `period` with outputs under `out`; the partner's name is filled in later.
    pub fn new(period: Period, out: impl Into<PathBuf>, config: Config) -> Self {
        let time_zone = config.partner.tz();
        let (start, end) = period.bounds(time_zone);
        Self {
            period,
            time_zone,
            start,
            end,
            currency: config.partner.currency.clone(),
            layout: Layout::new(out),
            config,
            partner: String::new(),
            progress: false,
            today: Utc::now().with_timezone(&time_zone).date_naive(),
            finalize: false,
        }
    }

    /// The period's output directory, `<out>/YYYY-MM`.
    pub fn period_dir(&self) -> PathBuf {
        self.layout.period_dir(self.period)
    }
}

/// Where the API is and who we are to it. The token is a [`Secret`]: it never appears in a
/// log line or a `Debug` print.
#[derive(Debug, Clone)]
pub struct ApiAccess {
    /// The API's base URL.
    pub base_url: reqwest::Url,
    /// The partner's `X-Auth-ID`.
    pub auth_id: String,
    /// The partner's `X-Auth-Token`.
    pub token: Secret,
}

impl ApiAccess {
    /// The one client of a run, with the configured retry policy.
    pub fn client(&self, config: &Config) -> anyhow::Result<ApiClient> {
        let api = &config.api;
        let policy = RetryPolicy {
            max_retries: api.max_retries,
            base_delay: std::time::Duration::from_millis(api.initial_backoff_ms),
            max_delay: std::time::Duration::from_secs(api.max_backoff_secs),
            timeout: api.timeout(),
            concurrency: api.concurrency,
            ..RetryPolicy::default()
        };
        let creds = Credentials {
            id: self.auth_id.clone(),
            token: self.token.clone(),
        };
        ApiClient::new(self.base_url.clone(), creds, policy)
    }
}
