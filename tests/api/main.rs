//! Black-box tests: each starts the real server on a free port with its own
//! database and speaks HTTP to it. Every test runs on SQLite, and on
//! PostgreSQL when `CIN_TEST_POSTGRES_URL` is set.

/// Runs each named `async fn(Backend)` once per backend.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(backend) = crate::helpers::Backend::postgres() {
                        super::$name(backend).await
                    }
                }
            )*
        }
    };
}

mod auth;
mod browser;
mod consultations;
mod db_proxy;
mod errors;
mod helpers;
mod linked_data;
mod mail;
mod mail_sink;
mod openapi;
mod operations;
mod pages;
mod recovery;
mod registries;
mod reminders;
mod roles;
mod schema;
mod search;
mod survey;
