use std::io::BufRead;
use std::sync::Arc;

use clap::Parser;

use cin_catalogue::accounts::{self, Language, NewUser};
use cin_catalogue::clock::{Clock, SystemClock};
use cin_catalogue::config::{
    Cli, Command, ConsultationsCommand, ImportArgs, LogFormat, RemindersCommand, ServeArgs,
    UserCommand,
};
use cin_catalogue::domain::role::Role;
use cin_catalogue::startup::{Application, Settings};
use cin_catalogue::store::Store;
use cin_catalogue::{consultations, openapi, seed};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let common = cli.common;
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CIN_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr);
    match common.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match cli
        .command
        .unwrap_or_else(|| Command::Serve(ServeArgs::default()))
    {
        Command::Serve(serve) => {
            let app = Application::build(Settings {
                database_url: common.database_url(),
                data_dir: common.data_dir.clone(),
                serve: serve.clone(),
                clock,
            })
            .await?;
            tracing::info!(
                "listening on http://{}:{} (API docs at /docs)",
                serve.bind.ip(),
                app.port()
            );
            app.run_until_signalled().await?;
        }
        Command::Backup { output } => {
            cin_catalogue::backup::backup(&store(&common.database_url())?, &output)?;
            println!("backed up to {}", output.display());
        }
        Command::Restore { input } => {
            cin_catalogue::backup::restore(&common.database_url(), &common.data_dir, &input)?;
            println!(
                "restored from {}; the search index is rebuilt on the next start",
                input.display()
            );
        }
        Command::Migrate => {
            let applied = store(&common.database_url())?.migrate()?;
            println!("{} migration(s) applied", applied.len());
        }
        Command::Seed => {
            let report = seed::load(&store(&common.database_url())?, clock.now())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "{} user(s), {} registr{} and {} inquiry(ies) added",
                report.users_created,
                report.registries_created,
                if report.registries_created == 1 {
                    "y"
                } else {
                    "ies"
                },
                report.consultations_created
            );
        }
        Command::User(UserCommand::Create(args)) => {
            let role = Role::parse(&args.role).ok_or_else(|| {
                anyhow::anyhow!("--role must be company, holder, office or admin")
            })?;
            let password = match args.password {
                Some(p) => p,
                None => {
                    eprintln!("password:");
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let new = NewUser {
                email: args.email,
                password,
                role,
                display_name: args.display_name,
                organisation: args.organisation,
                language: match args.language.as_str() {
                    "ja" => Language::Ja,
                    "en" => Language::En,
                    _ => anyhow::bail!("--language must be ja or en"),
                },
            };
            let store = store(&common.database_url())?;
            let now = clock.now();
            let user = store
                .write_blocking(|conn| accounts::create_user(conn, &new, None, now))
                .map_err(|e| anyhow::anyhow!("{e}{}", field_list(&e)))?;
            println!("created {} ({}) id {}", user.email, user.role, user.id);
        }
        Command::Reindex => {
            let store = store(&common.database_url())?;
            let search = cin_catalogue::search::SearchService::open(
                &common.data_dir,
                cin_search_index::WriterBudget::bulk(),
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            let total = store.read_blocking(|conn| {
                cin_catalogue::store::registries::count_published(conn)
                    .map_err(cin_catalogue::store::StoreError::from)
            })?;
            let bar = indicatif::ProgressBar::new(total as u64).with_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} registries ({per_sec}, {eta} left)",
                )?,
            );
            let indexed = search
                .rebuild_blocking(&store, |n| bar.set_position(n))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            bar.finish();
            println!("indexed {indexed} published registries");
        }
        Command::Import(args) => {
            let succeeded = import(&common.database_url(), &args, clock.now())?;
            if !succeeded {
                std::process::exit(1);
            }
        }
        Command::Consultations(ConsultationsCommand::Remind(sla)) => {
            let report = consultations::sla::run_sla_pass(
                &store(&common.database_url())?,
                sla.limits(),
                clock.now(),
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "{} overdue duty(ies); {} reminder(s) and {} note(s) to the office written",
                report.overdue, report.reminders, report.escalations
            );
        }
        Command::Reminders(RemindersCommand::Run(args)) => {
            let secret =
                cin_catalogue::config::jwt_secret(args.jwt_secret.as_deref(), &common.data_dir)?;
            let jobs = Arc::new(cin_catalogue::scheduler::MailJobs {
                store: store(&common.database_url())?,
                clock,
                // Only confirmation links are signed here: no access or
                // refresh token is issued, so their lifetimes do not matter.
                keys: cin_catalogue::auth::tokens::TokenKeys::new(
                    secret.as_bytes(),
                    chrono::Duration::zero(),
                    chrono::Duration::zero(),
                ),
                reminders: args.reminders.settings()?,
                mailer: cin_catalogue::mail::Mailer::new(&args.mail.settings()?, &common.data_dir)?,
                sender: args.mail.sender()?,
            });
            let reminded = jobs.remind().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let sent = jobs.send().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "{} registries checked, {} update status change(s); {} reminder(s) and {} note(s) to the office written; \
                 {} mail(s) sent, {} to retry, {} dead-lettered",
                reminded.registries,
                reminded.status_changes,
                reminded.reminders,
                reminded.escalations,
                sent.sent,
                sent.retrying,
                sent.dead
            );
        }
        Command::Openapi { output } => {
            let json = openapi::to_pretty_json();
            match output {
                Some(path) => std::fs::write(&path, json)?,
                None => print!("{json}"),
            }
        }
    }
    Ok(())
}

/// Runs an import with progress bars and prints its report. False when the
/// file has problems.
fn import(
    database_url: &str,
    args: &ImportArgs,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<bool> {
    use cin_catalogue::survey::{self, ImportOptions};
    survey::check_round(args.round, now).map_err(|e| anyhow::anyhow!("--round: {e}"))?;
    let bytes =
        std::fs::read(&args.file).map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    let sheet =
        survey::sheet::read(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    drop(bytes);
    let store = store(database_url)?;
    let mut progress = ImportProgress::new(sheet.rows.len())?;
    let options = ImportOptions {
        survey_round: args.round,
        dry_run: args.dry_run,
        actor_id: None,
        now,
    };
    let run = |conn: &mut cin_catalogue::store::DbConnection| {
        survey::run(conn, &sheet, &options, &mut progress)
    };
    let report = if args.dry_run {
        store.read_blocking(run)
    } else {
        store.write_blocking(run)
    }
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    progress.bar.finish_and_clear();
    print!("{}", survey::describe(&report));
    Ok(report.problems.is_empty())
}

/// One bar over the rows while checking, then over the registries written.
struct ImportProgress {
    bar: indicatif::ProgressBar,
}

impl ImportProgress {
    fn new(rows: usize) -> anyhow::Result<Self> {
        let bar = indicatif::ProgressBar::new(rows as u64).with_style(
            indicatif::ProgressStyle::with_template(
                "{msg:9} {bar:40} {pos}/{len} ({per_sec}, {eta} left)",
            )?,
        );
        bar.set_message("checking");
        Ok(ImportProgress { bar })
    }
}

impl cin_catalogue::survey::Progress for ImportProgress {
    fn checked(&mut self, rows: usize) {
        self.bar.set_position(rows as u64);
    }

    fn writing(&mut self, done: usize, of: usize) {
        if done == 1 {
            self.bar.set_message("writing");
            self.bar.set_length(of as u64);
        }
        self.bar.set_position(done as u64);
    }
}

fn store(url: &str) -> anyhow::Result<Store> {
    let store = Store::connect(url, 2)?;
    store.migrate()?;
    Ok(store)
}

fn field_list(err: &cin_catalogue::error::ApiError) -> String {
    err.errors
        .iter()
        .map(|f| format!("\n  {}: {}", f.field, f.message))
        .collect()
}
