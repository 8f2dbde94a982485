//! Builds the application from its settings; `main` and the tests use the same code.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use actix_web::{middleware, web, App, HttpResponse, HttpServer};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::throttle::LoginThrottle;
use crate::auth::tokens::TokenKeys;
use crate::clock::Clock;
use crate::config::{self, ServeArgs};
use crate::domain::consultation::SlaLimits;
use crate::extract::MAX_BODY_BYTES;
use crate::mail::Mailer;
use crate::ops::headers::SecurityHeaders;
use crate::ops::metrics::Metrics;
use crate::reminders::ReminderSettings;
use crate::scheduler::{self, MailJobs};
use crate::search::SearchService;
use crate::store::Store;
use crate::{openapi, ops, routes, seed};

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
    pub metrics: Arc<Metrics>,
    pub login_throttle: LoginThrottle,
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
    background: Background,
    search: Arc<SearchService>,
    store: Store,
    shutdown_timeout: std::time::Duration,
}

/// The index follower and the scheduler's loops, and the switch that asks
/// them to stop after the batch they are in.
struct Background {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Application {
    /// Connects, migrates, seeds an empty database, and binds the port
    /// (port 0 picks a free one).
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let reminders = settings.serve.reminders.settings()?;
        let mailer = Mailer::new(&settings.serve.mail.settings()?, &settings.data_dir)?;
        let sender = settings.serve.mail.sender()?;
        let login_throttle = LoginThrottle::new(settings.serve.login_throttle()?);
        let cors_origins = settings.serve.cors_origins()?;
        let security_headers = web::Data::new(SecurityHeaders {
            hsts_max_age: settings.serve.hsts_max_age,
        });
        let store = Store::connect_with_timeout(
            &settings.database_url,
            settings.serve.pool_size,
            std::time::Duration::from_millis(settings.serve.db_connect_timeout_ms.max(100)),
        )?;
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
        let (stop, stopped) = watch::channel(false);
        let mut tasks = vec![spawn_follower(
            search.clone(),
            store.clone(),
            settings.serve.index_poll_ms,
            stopped.clone(),
        )];
        let secret = config::jwt_secret(settings.serve.jwt_secret.as_deref(), &settings.data_dir)?;
        let keys = || {
            TokenKeys::new(
                secret.as_bytes(),
                chrono::Duration::seconds(settings.serve.access_token_ttl),
                chrono::Duration::days(settings.serve.refresh_token_days),
            )
        };
        let tokens = keys();
        tasks.extend(scheduler::spawn(
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
            stopped,
        ));
        let state = web::Data::new(AppState {
            store: store.clone(),
            search: search.clone(),
            tokens,
            clock: settings.clock,
            sla: settings.serve.sla.limits(),
            reminders,
            metrics: Arc::new(Metrics::new()),
            login_throttle,
        });
        let listener = TcpListener::bind(settings.serve.bind)?;
        let port = listener.local_addr()?.port();
        let document = openapi::document();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(security_headers.clone())
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .wrap(ops::cors::cors(&cors_origins))
                .wrap(middleware::from_fn(ops::headers::security))
                .wrap(middleware::from_fn(ops::telemetry::telemetry))
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
        .listen(listener)?
        // `run_until_signalled` handles the signals, to stop more than the server.
        .disable_signals()
        .shutdown_timeout(settings.serve.shutdown_timeout);
        if let Some(workers) = settings.serve.workers {
            server = server.workers(workers);
        }
        Ok(Application {
            port,
            server: server.run(),
            background: Background { stop, tasks },
            search,
            store,
            shutdown_timeout: std::time::Duration::from_secs(settings.serve.shutdown_timeout),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    /// Serves until SIGTERM or Ctrl-C, then shuts down in order: stop
    /// accepting, finish the requests in flight and the batch the sender or
    /// the index follower is in, bring the index up to the database, return.
    /// Everything after the signal is bounded by the shutdown timeout.
    pub async fn run_until_signalled(self) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let server = tokio::spawn(self.server);
        shutdown_signal().await?;
        tracing::info!(
            timeout_s = self.shutdown_timeout.as_secs(),
            "shutting down: finishing requests in flight"
        );
        crate::failpoint::shutting_down();
        let Background { stop, tasks } = self.background;
        let _ = stop.send(true);
        let (search, store) = (self.search, self.store);
        let drain = async move {
            // Graceful: waits for in-flight requests up to the server's own
            // shutdown timeout, then drops what is left.
            handle.stop(true).await;
            for task in tasks {
                let _ = task.await;
            }
            match search.catch_up(&store).await {
                Ok(applied) => tracing::info!(applied, "search index committed"),
                Err(e) => {
                    tracing::warn!(error = %e, "the index could not catch up before exit; it will on the next start")
                }
            }
        };
        if tokio::time::timeout(self.shutdown_timeout, drain)
            .await
            .is_err()
        {
            tracing::warn!("shutdown timeout reached; exiting with work left");
        }
        server.await??;
        tracing::info!("stopped");
        Ok(())
    }
}

async fn shutdown_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = term.recv() => Ok(()),
            ctrl_c = tokio::signal::ctrl_c() => ctrl_c,
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await
}

/// Applies changes written by other instances sharing the database, until asked to stop.
fn spawn_follower(
    search: Arc<SearchService>,
    store: Store,
    every_ms: u64,
    mut stopped: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(every_ms.max(50)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopped.changed() => return,
            }
            if let Err(e) = search.catch_up(&store).await {
                tracing::warn!(error = %e, "search index catch-up failed; retrying");
            }
        }
    })
}
