//! Delivering the outbox: over SMTP (lettre) when a server is configured,
//! otherwise as `.eml` files under `<data dir>/mail/`, never silently nowhere.

pub mod sender;

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::{Digest, Sha256};

use crate::store::outbox::OutboxRow;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same host or in tests (port 25).
    None,
}

impl SmtpSecurity {
    pub fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        }
    }
}

/// Where mail goes, as configured.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `None`: write files instead.
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The `From:` of every mail.
    pub from: String,
    /// How long to wait for the server before an attempt counts as failed.
    pub timeout: Duration,
}

/// Why an attempt failed, and whether trying again could help.
#[derive(Debug, Clone)]
pub struct Failure {
    pub message: String,
    /// The server refused the message for good (5xx), or it cannot be built.
    pub permanent: bool,
}

impl Failure {
    fn permanent(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            permanent: true,
        }
    }
}

/// Delivers one message at a time.
#[derive(Clone)]
pub enum Mailer {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    Files {
        dir: PathBuf,
        from: Mailbox,
    },
}

impl Mailer {
    pub fn new(settings: &MailSettings, data_dir: &Path) -> anyhow::Result<Mailer> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("the mail sender address `{}`: {e}", settings.from))?;
        let Some(host) = &settings.smtp_host else {
            let dir = data_dir.join("mail");
            tracing::info!(dir = %dir.display(), "no SMTP server configured: mail is written to files");
            return Ok(Mailer::Files { dir, from });
        };
        let port = settings
            .smtp_port
            .unwrap_or_else(|| settings.security.default_port());
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
            .port(port)
            .timeout(Some(settings.timeout))
            // A few connections are plenty for reminders and notifications,
            // and kept short so a restarted server is found again soon.
            .pool_config(
                PoolConfig::new()
                    .max_size(4)
                    .idle_timeout(Duration::from_secs(30)),
            );
        builder = match settings.security {
            SmtpSecurity::None => builder,
            SmtpSecurity::Starttls => builder.tls(Tls::Required(TlsParameters::new(host.clone())?)),
            SmtpSecurity::Tls => builder.tls(Tls::Wrapper(TlsParameters::new(host.clone())?)),
        };
        if let Some(user) = &settings.username {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                settings.password.clone().unwrap_or_default(),
            ));
        }
        Ok(Mailer::Smtp {
            transport: builder.build(),
            from,
        })
    }

    fn from(&self) -> &Mailbox {
        match self {
            Mailer::Smtp { from, .. } | Mailer::Files { from, .. } => from,
        }
    }

    /// Hands one outbox row to the server (or writes its file).
    pub async fn deliver(&self, row: &OutboxRow) -> Result<(), Failure> {
        let message = build(self.from(), row)?;
        match self {
            Mailer::Smtp { transport, .. } => {
                transport
                    .send(message)
                    .await
                    .map(drop)
                    .map_err(|e| Failure {
                        message: e.to_string(),
                        permanent: e.is_permanent(),
                    })
            }
            Mailer::Files { dir, .. } => write_file(dir, row, &message).map_err(|e| Failure {
                message: format!("writing to {}: {e}", dir.display()),
                permanent: false,
            }),
        }
    }
}

/// The `Message-ID` of an outbox row: derived from its idempotency key, so
/// that if a crash makes the sender hand a message over twice, both copies
/// carry the same id and the receiving side can tell them apart from two mails.
pub fn message_id(idempotency_key: &str) -> String {
    let digest = hex::encode(Sha256::digest(idempotency_key.as_bytes()));
    format!("<{}@cin-catalogue>", &digest[..40])
}

fn build(from: &Mailbox, row: &OutboxRow) -> Result<Message, Failure> {
    let to: Mailbox = row
        .recipient_email
        .parse()
        .map_err(|e| Failure::permanent(format!("recipient `{}`: {e}", row.recipient_email)))?;
    let part = |content_type: ContentType, text: &str| -> Result<SinglePart, Failure> {
        // Quoted-printable keeps the ASCII parts (links) readable in the raw mail.
        let body =
            Body::new_with_encoding(text.to_string(), ContentTransferEncoding::QuotedPrintable)
                .map_err(|_| Failure::permanent("the body cannot be encoded"))?;
        Ok(SinglePart::builder().header(content_type).body(body))
    };
    let builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(row.subject.clone())
        .message_id(Some(message_id(&row.idempotency_key)))
        .date(row.created_at.and_utc().into());
    let text = part(ContentType::TEXT_PLAIN, &row.body_text)?;
    let built = match &row.body_html {
        Some(html) => builder.multipart(
            MultiPart::alternative()
                .singlepart(text)
                .singlepart(part(ContentType::TEXT_HTML, html)?),
        ),
        None => builder.singlepart(text),
    };
    built.map_err(|e| Failure::permanent(e.to_string()))
}

/// `<dir>/<outbox id>.eml`, written whole or not at all: a second delivery
/// of the same row replaces the file rather than adding one.
fn write_file(dir: &Path, row: &OutboxRow, message: &Message) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{:08}.eml", row.id));
    let partial = dir.join(format!(".{:08}.eml.partial", row.id));
    std::fs::write(&partial, message.formatted())?;
    std::fs::rename(partial, path)
}
