//! Command line and `CIN_*` environment.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "cin-catalogue",
    version,
    about = "The CIN Registry Catalogue: registries of Japan's Clinical Innovation Network, searchable, kept current, with a consultation desk"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Where the SQLite file, the signing secret and mail files live.
    #[arg(long, env = "CIN_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,
    /// `postgres://user@host/db` for PostgreSQL; a file path for SQLite.
    /// Default: `<data dir>/catalogue.sqlite3`.
    #[arg(long, env = "CIN_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// `text` for people, `json` (one object a line) for log collectors.
    #[arg(
        long,
        env = "CIN_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl CommonArgs {
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            self.data_dir
                .join("catalogue.sqlite3")
                .to_string_lossy()
                .into_owned()
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service (the default).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load the sample registries and demo users; existing ones are kept as they are.
    Seed,
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Rebuild this instance's search index from the database.
    Reindex,
    /// Copy the SQLite database, consistently, while the service runs
    /// (for PostgreSQL use `pg_dump`; see the README).
    Backup {
        /// The file to write; it must not exist.
        #[arg(long)]
        output: PathBuf,
    },
    /// Replace the SQLite database with a backup, with the service stopped.
    /// The search index is rebuilt from it on the next start.
    Restore {
        /// A file written by `backup`.
        #[arg(long)]
        input: PathBuf,
    },
    /// Load a CIN survey round from its spreadsheet (CSV in UTF-8 or Shift_JIS, or XLSX).
    Import(ImportArgs),
    /// Print the OpenAPI document (or write it to a file).
    Openapi {
        /// Write here instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// The consultation desk.
    #[command(subcommand)]
    Consultations(ConsultationsCommand),
    /// Periodic update reminders.
    #[command(subcommand)]
    Reminders(RemindersCommand),
}

#[derive(Debug, Subcommand)]
pub enum RemindersCommand {
    /// One pass: refresh every registry's update status, write the reminders
    /// that are due (each only once), and deliver what the outbox holds.
    /// For cron, when the service's own scheduler is turned off.
    Run(RemindersRunArgs),
}

#[derive(Debug, Clone, Args)]
pub struct RemindersRunArgs {
    /// Signs the confirmation links: the same secret as the service's.
    #[arg(long, env = "CIN_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    #[command(flatten)]
    pub reminders: ReminderArgs,
    #[command(flatten)]
    pub mail: MailArgs,
}

/// The update cycle and its reminders.
#[derive(Debug, Clone, Args)]
pub struct ReminderArgs {
    /// Months a confirmation holds.
    #[arg(long, env = "CIN_UPDATE_CYCLE_MONTHS", default_value_t = 12)]
    pub update_cycle_months: u32,
    /// Days before the due date of the first reminder.
    #[arg(long, env = "CIN_REMIND_BEFORE_DAYS", default_value_t = 30)]
    pub remind_before_days: u32,
    /// Days between reminders while overdue.
    #[arg(long, env = "CIN_REMIND_OVERDUE_EVERY_DAYS", default_value_t = 14)]
    pub remind_overdue_every_days: u32,
    /// Days overdue before the office is told.
    #[arg(long, env = "CIN_ESCALATE_AFTER_DAYS", default_value_t = 60)]
    pub escalate_after_days: u32,
    /// Days a confirmation link in a reminder stays valid.
    #[arg(long, env = "CIN_CONFIRM_LINK_DAYS", default_value_t = 30)]
    pub confirm_link_days: u32,
    /// Where people reach this service: the base of the links in mails.
    #[arg(long, env = "CIN_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
    pub public_url: String,
}

impl ReminderArgs {
    pub fn settings(&self) -> anyhow::Result<crate::reminders::ReminderSettings> {
        let policy = crate::domain::update_cycle::ReminderPolicy {
            cycle_months: self.update_cycle_months,
            before_days: self.remind_before_days,
            overdue_every_days: self.remind_overdue_every_days,
            escalate_after_days: self.escalate_after_days,
        };
        policy.check().map_err(|e| anyhow::anyhow!(e))?;
        if self.confirm_link_days == 0 {
            anyhow::bail!("confirmation links must be valid for at least a day");
        }
        url::Url::parse(&self.public_url)
            .map_err(|e| anyhow::anyhow!("CIN_PUBLIC_URL `{}`: {e}", self.public_url))?;
        Ok(crate::reminders::ReminderSettings {
            policy,
            public_url: self.public_url.trim_end_matches('/').to_string(),
            link_validity: chrono::Duration::days(self.confirm_link_days.into()),
        })
    }
}

/// The mail server and the sender's retries. Without `--smtp-host` mail is
/// written to `<data dir>/mail/` as `.eml` files.
#[derive(Debug, Clone, Args)]
pub struct MailArgs {
    /// The SMTP server; unset, mail goes to files.
    #[arg(long, env = "CIN_SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// Default: 587 with STARTTLS, 465 with TLS, 25 with none.
    #[arg(long, env = "CIN_SMTP_PORT")]
    pub smtp_port: Option<u16>,
    #[arg(
        long,
        env = "CIN_SMTP_SECURITY",
        value_enum,
        default_value = "starttls"
    )]
    pub smtp_security: crate::mail::SmtpSecurity,
    #[arg(long, env = "CIN_SMTP_USERNAME")]
    pub smtp_username: Option<String>,
    #[arg(long, env = "CIN_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,
    /// The From: of every mail.
    #[arg(
        long,
        env = "CIN_MAIL_FROM",
        default_value = "CIN Registry Catalogue <no-reply@cin-catalogue.invalid>"
    )]
    pub mail_from: String,
    /// Seconds to wait for the SMTP server.
    #[arg(long, env = "CIN_SMTP_TIMEOUT", default_value_t = 30)]
    pub smtp_timeout: u64,
    /// Attempts before a message is dead-lettered.
    #[arg(long, env = "CIN_MAIL_MAX_ATTEMPTS", default_value_t = 8)]
    pub mail_max_attempts: i32,
    /// Seconds before the first retry; each further retry waits twice as long.
    #[arg(long, env = "CIN_MAIL_RETRY_SECONDS", default_value_t = 60)]
    pub mail_retry_seconds: i64,
    /// Seconds a sender holds a message it claimed before another may take it
    /// over; longer than the SMTP timeout.
    #[arg(long, env = "CIN_MAIL_LEASE_SECONDS", default_value_t = 300)]
    pub mail_lease_seconds: i64,
}

impl MailArgs {
    pub fn settings(&self) -> anyhow::Result<crate::mail::MailSettings> {
        Ok(crate::mail::MailSettings {
            smtp_host: self.smtp_host.clone().filter(|h| !h.is_empty()),
            smtp_port: self.smtp_port,
            security: self.smtp_security,
            username: self.smtp_username.clone().filter(|u| !u.is_empty()),
            password: self.smtp_password.clone(),
            from: self.mail_from.clone(),
            timeout: std::time::Duration::from_secs(self.smtp_timeout.max(1)),
        })
    }

    pub fn sender(&self) -> anyhow::Result<crate::mail::sender::SenderSettings> {
        if self.mail_max_attempts < 1 || self.mail_retry_seconds < 1 {
            anyhow::bail!("mail needs at least one attempt and a retry wait of at least a second");
        }
        if self.mail_lease_seconds <= self.smtp_timeout as i64 {
            anyhow::bail!("CIN_MAIL_LEASE_SECONDS must be longer than CIN_SMTP_TIMEOUT");
        }
        Ok(crate::mail::sender::SenderSettings {
            batch: 50,
            max_attempts: self.mail_max_attempts,
            first_retry: chrono::Duration::seconds(self.mail_retry_seconds),
            lease: chrono::Duration::seconds(self.mail_lease_seconds),
        })
    }
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The survey spreadsheet: `.csv` or `.xlsx`, with the survey's Japanese column headers.
    pub file: PathBuf,
    /// The survey round (year) the answers belong to; changed registries get a revision in it.
    #[arg(long)]
    pub round: i32,
    /// Report every problem and what would change, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConsultationsCommand {
    /// Write the reminders that are due now to the outbox (each only once;
    /// run it as often as you like, for example hourly from cron).
    Remind(SlaArgs),
}

/// Time limits of the consultation desk, in Japanese business days
/// (weekends, national holidays and 12/29-1/3 excluded).
#[derive(Debug, Clone, Args)]
pub struct SlaArgs {
    /// The office takes a submitted inquiry into triage within this many days.
    #[arg(long, env = "CIN_SLA_SUBMITTED_DAYS", default_value_t = 2)]
    pub sla_submitted_days: u32,
    /// The office moves an inquiry in triage on (or decides once every registry answered).
    #[arg(long, env = "CIN_SLA_OFFICE_DAYS", default_value_t = 5)]
    pub sla_office_days: u32,
    /// The requester answers a question or a holder's conditions.
    #[arg(long, env = "CIN_SLA_REQUESTER_DAYS", default_value_t = 10)]
    pub sla_requester_days: u32,
    /// A holder writes or moves their registry's answer.
    #[arg(long, env = "CIN_SLA_HOLDER_DAYS", default_value_t = 5)]
    pub sla_holder_days: u32,
    /// Past a limit by this many more days, the office is told.
    #[arg(long, env = "CIN_SLA_ESCALATION_DAYS", default_value_t = 5)]
    pub sla_escalation_days: u32,
}

impl SlaArgs {
    pub fn limits(&self) -> crate::domain::consultation::SlaLimits {
        crate::domain::consultation::SlaLimits {
            submitted_days: self.sla_submitted_days,
            office_days: self.sla_office_days,
            requester_days: self.sla_requester_days,
            holder_days: self.sla_holder_days,
            escalation_days: self.sla_escalation_days,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. The password comes from --password, CIN_USER_PASSWORD, or standard input.
    Create(UserCreateArgs),
}

#[derive(Debug, Args)]
pub struct UserCreateArgs {
    #[arg(long)]
    pub email: String,
    /// company, holder, office or admin
    #[arg(long)]
    pub role: String,
    #[arg(long)]
    pub display_name: String,
    #[arg(long)]
    pub organisation: Option<String>,
    /// ja or en: the language of the mail this user receives
    #[arg(long, default_value = "ja")]
    pub language: String,
    #[arg(long, env = "CIN_USER_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[arg(long, env = "CIN_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Secret for signing access tokens. Without it, one is generated once and
    /// kept in `<data dir>/jwt-secret`. Every instance sharing a database needs the same.
    #[arg(long, env = "CIN_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Lifetime of an access token, in seconds.
    #[arg(long, env = "CIN_ACCESS_TOKEN_TTL", default_value_t = 900)]
    pub access_token_ttl: i64,
    /// Lifetime of a refresh token, in days.
    #[arg(long, env = "CIN_REFRESH_TOKEN_DAYS", default_value_t = 30)]
    pub refresh_token_days: i64,
    /// Do not load the sample data into an empty database.
    // Falsey parsing so that `CIN_NO_SEED=1` works as the README says
    // (a plain flag's environment value must be `true` or `false`).
    #[arg(long, env = "CIN_NO_SEED", value_parser = clap::builder::FalseyValueParser::new())]
    pub no_seed: bool,
    /// Database connections in the pool.
    #[arg(long, env = "CIN_DB_POOL_SIZE", default_value_t = 10)]
    pub pool_size: u32,
    /// Milliseconds a request waits for a database connection before it is
    /// answered 503 `database_unavailable`.
    #[arg(long, env = "CIN_DB_CONNECT_TIMEOUT_MS", default_value_t = 3000)]
    pub db_connect_timeout_ms: u64,
    /// Seconds to finish in-flight requests, the current mail batch and the
    /// index after SIGTERM or Ctrl-C before exiting anyway.
    #[arg(long, env = "CIN_SHUTDOWN_TIMEOUT", default_value_t = 30)]
    pub shutdown_timeout: u64,
    /// Sign-in attempts per account in a row before it is throttled (429).
    #[arg(long, env = "CIN_LOGIN_ATTEMPTS_PER_ACCOUNT", default_value_t = 5)]
    pub login_attempts_per_account: u32,
    /// Sign-in attempts per client address in a row before it is throttled.
    #[arg(long, env = "CIN_LOGIN_ATTEMPTS_PER_ADDRESS", default_value_t = 30)]
    pub login_attempts_per_address: u32,
    /// Seconds in which a throttled account or address earns back its full
    /// number of attempts (one at a time, evenly).
    #[arg(long, env = "CIN_LOGIN_WINDOW_SECONDS", default_value_t = 900)]
    pub login_window_seconds: u64,
    /// `Strict-Transport-Security` max-age in seconds; unset, no HSTS header
    /// (set it only when clients reach the service over HTTPS).
    #[arg(long, env = "CIN_HSTS_MAX_AGE")]
    pub hsts_max_age: Option<u64>,
    /// Origins allowed to call the API from a browser
    /// (`https://a.example.org,https://b.example.org`); unset, CORS is off.
    #[arg(long, env = "CIN_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// How often to apply changes made by other instances, in milliseconds.
    #[arg(long, env = "CIN_INDEX_POLL_MS", default_value_t = 500)]
    pub index_poll_ms: u64,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "CIN_WORKERS")]
    pub workers: Option<usize>,
    /// Time limits of the consultation desk (for its figures).
    #[command(flatten)]
    pub sla: SlaArgs,
    /// Seconds between runs of the mail sender; 0 turns it off.
    #[arg(long, env = "CIN_SEND_EVERY_SECONDS", default_value_t = 30)]
    pub send_every_seconds: u64,
    /// Minutes between reminder passes; 0 turns them off (then run
    /// `reminders run` from cron).
    #[arg(long, env = "CIN_REMIND_EVERY_MINUTES", default_value_t = 60)]
    pub remind_every_minutes: u64,
    #[command(flatten)]
    pub reminders: ReminderArgs,
    #[command(flatten)]
    pub mail: MailArgs,
}

impl ServeArgs {
    pub fn login_throttle(&self) -> anyhow::Result<crate::auth::throttle::ThrottleSettings> {
        let positive = |n: u32, name: &str| {
            std::num::NonZeroU32::new(n).ok_or_else(|| anyhow::anyhow!("{name} must be at least 1"))
        };
        if self.login_window_seconds == 0 {
            anyhow::bail!("CIN_LOGIN_WINDOW_SECONDS must be at least 1");
        }
        Ok(crate::auth::throttle::ThrottleSettings {
            per_account: positive(
                self.login_attempts_per_account,
                "CIN_LOGIN_ATTEMPTS_PER_ACCOUNT",
            )?,
            per_address: positive(
                self.login_attempts_per_address,
                "CIN_LOGIN_ATTEMPTS_PER_ADDRESS",
            )?,
            window: std::time::Duration::from_secs(self.login_window_seconds),
        })
    }

    /// The CORS origins, each a bare `scheme://host[:port]` (a path or a
    /// trailing slash would never match a browser's `Origin`).
    pub fn cors_origins(&self) -> anyhow::Result<Vec<String>> {
        self.cors_origins
            .iter()
            .map(|o| o.trim())
            .filter(|o| !o.is_empty())
            .map(|origin| {
                let url = url::Url::parse(origin)
                    .map_err(|e| anyhow::anyhow!("CIN_CORS_ORIGINS `{origin}`: {e}"))?;
                if url.origin().ascii_serialization() != origin {
                    anyhow::bail!(
                        "CIN_CORS_ORIGINS `{origin}`: name only the origin, as `{}`",
                        url.origin().ascii_serialization()
                    );
                }
                Ok(origin.to_string())
            })
            .collect()
    }
}

/// The defaults (and `CIN_*` environment) as `serve` would take them.
impl Default for ServeArgs {
    fn default() -> Self {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            serve: ServeArgs,
        }
        Only::parse_from(["cin-catalogue"]).serve
    }
}

/// The signing secret: given, or read from the data dir, or made once and kept there.
pub fn jwt_secret(given: Option<&str>, data_dir: &Path) -> std::io::Result<String> {
    if let Some(secret) = given {
        return Ok(secret.to_string());
    }
    let path = data_dir.join("jwt-secret");
    match std::fs::read_to_string(&path) {
        Ok(secret) if !secret.trim().is_empty() => Ok(secret.trim().to_string()),
        _ => {
            std::fs::create_dir_all(data_dir)?;
            let secret = crate::auth::tokens::new_secret();
            write_private(&path, &secret)?;
            tracing::warn!(
                path = %path.display(),
                "no CIN_JWT_SECRET given: generated one and kept it in the data dir; \
                 set CIN_JWT_SECRET to share it between instances"
            );
            Ok(secret)
        }
    }
}

#[cfg(unix)]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(content.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    std::fs::write(path, content)
}
