//! Builds the application from its settings; `main` and the tests use the same code.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use actix_web::{middleware, web, App, HttpResponse, HttpServer};
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::tokens::TokenKeys;
use crate::clock::Clock;
use crate::config::{self, ServeArgs};
use crate::domain::consultation::SlaLimits;
use crate::extract::MAX_BODY_BYTES;
use crate::mail::Mailer;
use crate::reminders::ReminderSettings;
use crate::scheduler::{self, MailJobs};
use crate::search::SearchService;
use crate::store::Store;
use crate::{openapi, routes, seed};

/// What every handler can reach.
pub struct AppState {
    pub store: Store,
    pub search: Arc<SearchService>,
    pub tokens: TokenKeys,
    pub clock: Arc<dyn Clock>,
    /// Time limits of the consultation desk.
    pub sla: SlaLimits,
    /// The update cycle, for the office's list of due entries.
    pub reminders: ReminderSettings,
}

pub struct Settings {
    pub database_url: String,
    pub data_dir: PathBuf,
    pub serve: ServeArgs,
    pub clock: Arc<dyn Clock>,
}

pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
}

impl Application {
    /// Connects, migrates, seeds an empty database, and binds the port
    /// (port 0 picks a free one).
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let reminders = settings.serve.reminders.settings()?;
        let mailer = Mailer::new(&settings.serve.mail.settings()?, &settings.data_dir)?;
        let sender = settings.serve.mail.sender()?;
        let store = Store::connect(&settings.database_url, settings.serve.pool_size)?;
        let now = settings.clock.now();
        let seed = !settings.serve.no_seed;
        let setup = store.clone();
        let search = Arc::new(
            SearchService::open(&settings.data_dir, cin_search_index::WriterBudget::SERVING)
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        );
        let indexer = search.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            setup.migrate()?;
            if seed {
                if let Some(report) =
                    seed::load_if_empty(&setup, now).map_err(|e| anyhow::anyhow!("{e}"))?
                {
                    tracing::info!(
                        users = report.users_created,
                        registries = report.registries_created,
                        consultations = report.consultations_created,
                        "empty database: loaded the sample catalogue"
                    );
                }
            }
            // Catch up with what was written while this instance was down.
            let applied = indexer
                .catch_up_blocking(&setup)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            tracing::info!(
                applied,
                documents = indexer.index().num_docs(),
                segments = indexer.index().segment_count(),
                "search index ready"
            );
            Ok(())
        })
        .await??;
        spawn_follower(search.clone(), store.clone(), settings.serve.index_poll_ms);
        let secret = config::jwt_secret(settings.serve.jwt_secret.as_deref(), &settings.data_dir)?;
        let keys = || {
            TokenKeys::new(
                secret.as_bytes(),
                chrono::Duration::seconds(settings.serve.access_token_ttl),
                chrono::Duration::days(settings.serve.refresh_token_days),
            )
        };
        let tokens = keys();
        scheduler::spawn(
            Arc::new(MailJobs {
                store: store.clone(),
                clock: settings.clock.clone(),
                keys: keys(),
                reminders: reminders.clone(),
                mailer,
                sender,
            }),
            std::time::Duration::from_secs(settings.serve.send_every_seconds),
            std::time::Duration::from_secs(settings.serve.remind_every_minutes * 60),
        );
        let state = web::Data::new(AppState {
            store,
            search,
            tokens,
            clock: settings.clock,
            sla: settings.serve.sla.limits(),
            reminders,
        });
        let listener = TcpListener::bind(settings.serve.bind)?;
        let port = listener.local_addr()?.port();
        let document = openapi::document();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .wrap(
                    middleware::DefaultHeaders::new()
                        .add(("X-Content-Type-Options", "nosniff"))
                        .add(("X-Frame-Options", "DENY"))
                        .add(("Referrer-Policy", "no-referrer")),
                )
                .wrap(middleware::Logger::new("%a \"%r\" %s %b %Dms"))
                .configure(routes::configure)
                .configure(crate::web::configure)
                .route(
                    "/docs",
                    web::get().to(|| async {
                        HttpResponse::PermanentRedirect()
                            .insert_header(("Location", "/docs/"))
                            .finish()
                    }),
                )
                .service(
                    SwaggerUi::new("/docs/{_:.*}")
                        .external_url_unchecked("/openapi.json", document.clone()),
                )
                .default_service(web::to(routes::fallback))
        })
        .listen(listener)?;
        if let Some(workers) = settings.serve.workers {
            server = server.workers(workers);
        }
        Ok(Application {
            port,
            server: server.run(),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Applies changes written by other instances sharing the database.
fn spawn_follower(search: Arc<SearchService>, store: Store, every_ms: u64) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(every_ms.max(50)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = search.catch_up(&store).await {
                tracing::warn!(error = %e, "search index catch-up failed; retrying");
            }
        }
    });
}
