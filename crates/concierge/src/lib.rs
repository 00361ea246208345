//! The Concierge service as a library: its [`Settings`] and [`start`], which wires storage,
//! the HTTP API and the background worker together and returns a [`Running`] service.
//!
//! The `concierge` binary is a thin command line over this; tests and benchmarks call
//! [`start`] directly to run the real service in their own process on `127.0.0.1:0` with a
//! fresh database each.
//!
//! Architecture invariant: configuration is passed in as a value, never read from globals, so
//! one process can run many services side by side.

pub mod config;
pub mod connections;

pub use config::{LogFormat, Secret, Settings};

use anyhow::Context;
use axum::serve::ListenerExt;
use concierge_api::{ApiConfig, AppState, PlatformSecrets};
use concierge_assistant::llm::Rephraser;
use concierge_assistant::Answer;
use concierge_chat::ChatConfig;
use concierge_commerce::notices::{NoticeSettings, OpenDeliveryIssue, SendNotice};
use concierge_commerce::ApplyDelivery;
use concierge_domain::jobs::JobKind;
use concierge_email::outbound::{
    ConfirmChatEmail, Deliver, EmailChatAnswer, Relay, SendTranscript,
};
use concierge_email::smtp::{SmtpConfig, SmtpListener};
use concierge_email::{MailSettings, Mailroom};
use concierge_helpcenter::{HelpCenter, HelpSettings};
use concierge_jobs::{WakeSnoozed, Worker};
use concierge_knowledge::Library;
use concierge_store::files::{FileStore, LocalFiles};
use concierge_store::{PoolOptions, Store};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long [`Running::stop`] waits for requests in flight, and then for the job in flight,
/// before cutting them off.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// How often the search index looks for articles and synonyms other instances wrote.
const KNOWLEDGE_REFRESH: Duration = Duration::from_secs(2);

/// A started service.
///
/// Stop it with [`Running::stop`], which waits for work in flight. Dropping it without
/// stopping also shuts the HTTP server and the worker down, but without waiting for them and
/// without closing the store cleanly.
pub struct Running {
    /// The address the HTTP server actually listens on (the real port when `:0` was asked).
    pub http_addr: SocketAddr,
    /// The address the SMTP listener actually listens on, unless it is `off`.
    pub smtp_addr: Option<SocketAddr>,
    /// The service's store, for tests and tools that look at or seed the data directly.
    pub store: Store,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    smtp: Option<JoinHandle<()>>,
    worker: JoinHandle<()>,
    worker_notify: Arc<tokio::sync::Notify>,
    help: Arc<HelpCenter>,
    help_recorder: JoinHandle<()>,
    library: Arc<Library>,
}

impl Running {
    /// The base URL of the HTTP server, e.g. `http://127.0.0.1:41234`, without a trailing
    /// slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// Has the job worker look at the queue now instead of at its next poll: for tools and
    /// tests that made queued work due.
    pub fn poke_worker(&self) {
        self.worker_notify.notify_one();
    }

    /// Brings the search index up to date with articles and synonyms written straight to the
    /// store (the demo seeder, tests) now, instead of at its next periodic refresh.
    pub async fn refresh_knowledge(&self) -> anyhow::Result<()> {
        self.library
            .refresh()
            .await
            .context("cannot refresh the knowledge index")?;
        Ok(())
    }

    /// Writes the help center's buffered views and searches now (they are otherwise written
    /// every second): for tests and tools that read the figures.
    pub async fn flush_help_center(&self) {
        self.help.flush(&self.store).await;
    }

    /// Stops gracefully: the servers stop accepting connections and finish the requests (and
    /// mails) in flight, the worker finishes the job in flight and claims no more, then the store
    /// closes (on SQLite, folding its write-ahead log back into the database file). Whatever
    /// is still running after a grace period is cut off; a request cut off that way leaves
    /// nothing half-written, since every write is one transaction.
    pub async fn stop(self) {
        let Running {
            store,
            shutdown,
            server,
            smtp,
            worker,
            help_recorder,
            ..
        } = self;
        // Both tasks watch this; sending cannot fail while they hold receivers, and if they
        // have already ended there is nothing to tell.
        let _ = shutdown.send(true);
        finish("HTTP server", server, |result| match result {
            Ok(()) => {}
            Err(e) => tracing::error!(error = %e, "the HTTP server failed"),
        })
        .await;
        if let Some(smtp) = smtp {
            finish("SMTP listener", smtp, |()| {}).await;
        }
        finish("job worker", worker, |()| {}).await;
        finish("help-center recorder", help_recorder, |()| {}).await;
        store.close().await;
    }
}

/// Waits up to [`SHUTDOWN_GRACE`] for a task, then aborts it.
async fn finish<T>(what: &str, mut task: JoinHandle<T>, on_done: impl FnOnce(T)) {
    match tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await {
        Ok(Ok(value)) => on_done(value),
        Ok(Err(e)) => tracing::error!(error = %e, "the {what} ended abnormally"),
        Err(_) => {
            tracing::warn!(
                "the {what} did not stop within {}s; cutting it off",
                SHUTDOWN_GRACE.as_secs()
            );
            task.abort();
        }
    }
}

/// Connects to the database the settings name and applies pending migrations. Returns the
/// store and how many migrations were applied.
pub async fn open_store(settings: &Settings) -> anyhow::Result<(Store, usize)> {
    settings.validate()?;
    let options = PoolOptions {
        max_connections: settings.db_max_connections,
        ..PoolOptions::default()
    };
    let store = Store::connect(&settings.database_url(), &options)
        .await
        .context("cannot open the database")?;
    match store.migrate().await {
        Ok(applied) => Ok((store, applied)),
        Err(e) => {
            store.close().await;
            Err(anyhow::Error::new(e).context("cannot migrate the database"))
        }
    }
}

/// The demo shop's knowledge base in a throwaway SQLite database, indexed for search: what
/// `concierge knowledge eval --demo` and the search-quality test measure.
pub struct DemoKnowledge {
    pub store: Store,
    pub library: Library,
    dir: std::path::PathBuf,
}

impl DemoKnowledge {
    pub async fn open() -> anyhow::Result<DemoKnowledge> {
        let dir = std::env::temp_dir().join(format!(
            "concierge-knowledge-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let url = format!("sqlite://{}", dir.join("demo.db").display());
        let store = Store::connect(&url, &PoolOptions::default())
            .await
            .context("cannot open a database for the demo")?;
        let ready = async {
            store.migrate().await?;
            concierge_demo::seed_knowledge(&store).await?;
            Library::open(store.clone()).await
        };
        match ready.await {
            Ok(library) => Ok(DemoKnowledge {
                store,
                library,
                dir,
            }),
            Err(e) => {
                store.close().await;
                let _ = std::fs::remove_dir_all(&dir);
                Err(anyhow::Error::new(e).context("cannot set up the demo knowledge base"))
            }
        }
    }

    /// Closes the database and deletes it.
    pub async fn close(self) {
        self.store.close().await;
        // A leftover temporary directory is harmless; there is nothing to report.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The settings the admin's read-only settings page shows; secrets only as set or not.
fn settings_view(settings: &Settings, engine: &str) -> concierge_workspace::SettingsView {
    let set = |s: &Option<config::Secret>| if s.is_some() { "set" } else { "not set" }.to_owned();
    concierge_workspace::SettingsView {
        public_url: settings.public_url(),
        facts: vec![
            ("Database".into(), engine.to_owned()),
            (
                "Support address".into(),
                settings.support_address.to_string(),
            ),
            (
                "Inbound SMTP".into(),
                settings
                    .smtp_addr
                    .map_or_else(|| "off".to_owned(), |a| a.to_string()),
            ),
            ("Outbound relay".into(), set(&settings.smtp_relay)),
            ("Public URL".into(), settings.public_url()),
            (
                "Shopify webhook secret".into(),
                set(&settings.shopify_webhook_secret),
            ),
            (
                "WooCommerce webhook secret".into(),
                set(&settings.woocommerce_webhook_secret),
            ),
            (
                "Shopify Admin API".into(),
                settings
                    .shopify_shop
                    .clone()
                    .unwrap_or_else(|| "not connected (order actions are requests)".into()),
            ),
            (
                "AfterShip webhook secret".into(),
                set(&settings.aftership_webhook_secret),
            ),
            (
                "Late after".into(),
                format!("{} days without a scan", settings.shipment_late_after_days),
            ),
            (
                "Rate limit per client".into(),
                match settings.rate_limit_per_second {
                    0 => "off".to_owned(),
                    n => format!("{n} requests/s"),
                },
            ),
        ],
    }
}

/// Starts the service: opens and migrates the store, binds the HTTP listener on
/// `settings.http_addr` and serves the API on it, and starts the background worker. Returns
/// once the listener is bound, so requests to [`Running::http_addr`] are answered as soon as
/// this returns.
pub async fn start(settings: Settings) -> anyhow::Result<Running> {
    start_with(settings, false).await
}

/// [`start`], with the demo shop's storefront at `/demo/store` (the chat widget on a shop
/// page, its shopper signed in). Without a widget identity secret one is made up for this
/// run, so the storefront can vouch for its shopper.
pub async fn start_demo(mut settings: Settings) -> anyhow::Result<Running> {
    if settings.widget_identity_secret.is_none() {
        let secret: [u8; 32] = rand::random();
        settings.widget_identity_secret = Some(Secret::from(hex::encode(secret)));
    }
    start_with(settings, true).await
}

async fn start_with(settings: Settings, demo_store: bool) -> anyhow::Result<Running> {
    // The intent model is read now, so the first shopper's message does not wait for it.
    let intents = concierge_intents::model();
    tracing::info!(classes = intents.classes().len(), "intent model loaded");
    let (store, applied) = open_store(&settings).await?;
    tracing::info!(
        engine = store.engine_name(),
        migrations_applied = applied,
        "database ready"
    );

    let listener = match tokio::net::TcpListener::bind(settings.http_addr).await {
        Ok(listener) => listener,
        Err(e) => {
            store.close().await;
            return Err(anyhow::Error::new(e).context(format!(
                "cannot listen on {} (CONCIERGE_HTTP_ADDR)",
                settings.http_addr
            )));
        }
    };
    let http_addr = listener
        .local_addr()
        .context("cannot read the HTTP listener's address")?;
    let limits = connections::Limits::plan(connections::raise_descriptor_limit(), &settings);
    tracing::info!(
        open_files = limits.descriptors,
        http_connections = limits.http_connections,
        http_per_address = limits.http_per_address,
        widget_sockets = limits.widget_sockets,
        live_sockets = limits.live_sockets,
        "connection limits"
    );
    // Without a public URL, links point at the address actually bound (`:0` picks a port).
    let mut settings = settings;
    if settings.public_url.is_none() {
        settings.public_url = Some(format!("http://{http_addr}"));
    }

    let (shutdown, shutdown_rx) = watch::channel(false);

    let library = match Library::open(store.clone()).await {
        Ok(library) => Arc::new(library),
        Err(e) => {
            store.close().await;
            return Err(anyhow::Error::new(e).context("cannot index the knowledge base"));
        }
    };
    tokio::spawn(Arc::clone(&library).keep_fresh(KNOWLEDGE_REFRESH, shutdown_rx.clone()));

    let help = HelpCenter::new(HelpSettings {
        site_name: settings.support_name.trim().to_owned(),
        public_url: settings.public_url(),
    });
    let help_recorder =
        tokio::spawn(Arc::clone(&help).keep_recording(store.clone(), shutdown_rx.clone()));

    let files: Arc<dyn FileStore> = Arc::new(LocalFiles::new(settings.data_dir.join("files")));
    let mail = MailSettings {
        support_address: settings.support_address.clone(),
        support_name: settings.support_name.trim().to_owned(),
        acknowledgement: settings.acknowledgement().map(str::to_owned),
        max_message_bytes: settings.smtp_max_message_bytes,
    };
    let mut worker = Worker::new(store.clone())
        .with(WakeSnoozed::new(store.clone()))
        .with({
            let answer = Answer::new(
                store.clone(),
                Some(Arc::clone(&library)),
                settings.public_url(),
                settings.support_name.trim().to_owned(),
            );
            match &settings.llm_base_url {
                Some(url) => match Rephraser::new(
                    url,
                    settings.llm_api_key.as_ref().map(|k| k.expose().to_owned()),
                    settings.llm_model.clone(),
                ) {
                    Ok(r) => answer.with_rephraser(r),
                    Err(e) => {
                        store.close().await;
                        anyhow::bail!("CONCIERGE_LLM_BASE_URL: {e}");
                    }
                },
                None => answer,
            }
        })
        .with(ApplyDelivery::new(store.clone()))
        .with(OpenDeliveryIssue::new(store.clone()));
    // Without a relay, outbound mail stays queued (durable) until one is configured.
    if let Some(url) = &settings.smtp_relay {
        let relay = match Relay::from_url(url.expose()) {
            Ok(relay) => relay,
            Err(e) => {
                store.close().await;
                anyhow::bail!("CONCIERGE_SMTP_RELAY: {e}");
            }
        };
        worker = worker
            .with(Deliver::new(
                store.clone(),
                Arc::clone(&files),
                relay.clone(),
                mail.clone(),
            ))
            .with(EmailChatAnswer::new(
                store.clone(),
                Arc::clone(&files),
                relay.clone(),
                mail.clone(),
            ))
            .with(SendTranscript::new(
                store.clone(),
                relay.clone(),
                mail.clone(),
            ))
            .with(ConfirmChatEmail::new(
                relay.clone(),
                mail.clone(),
                settings.public_url(),
            ))
            .with(SendNotice::new(
                store.clone(),
                relay,
                NoticeSettings {
                    public_url: settings.public_url(),
                    mail: mail.clone(),
                },
            ));
    }
    let unhandled = unhandled_jobs(&worker.kinds(), settings.smtp_relay.is_some());
    if !unhandled.is_empty() {
        store.close().await;
        let unhandled: Vec<&str> = unhandled.iter().map(|k| k.as_str()).collect();
        anyhow::bail!(
            "jobs of kind {} would be queued with nothing to run them",
            unhandled.join(", ")
        );
    }
    let notify = worker.notifier();
    let mailroom = Arc::new(
        Mailroom::new(store.clone(), Arc::clone(&files), mail).with_worker(Arc::clone(&notify)),
    );

    let (smtp_addr, smtp) = match settings.smtp_addr {
        None => (None, None),
        Some(addr) => match smtp_listener(&settings, addr, Arc::clone(&mailroom)).await {
            Ok(listener) => {
                let local = listener
                    .local_addr()
                    .context("cannot read the SMTP listener's address")?;
                (
                    Some(local),
                    Some(tokio::spawn(listener.run(shutdown_rx.clone()))),
                )
            }
            Err(e) => {
                store.close().await;
                return Err(e);
            }
        },
    };

    let shopify_admin = match settings.shopify_admin() {
        Ok(admin) => admin.map(Arc::new),
        Err(e) => {
            store.close().await;
            anyhow::bail!("CONCIERGE_SHOPIFY_SHOP: {e}");
        }
    };
    let api = AppState::new(
        store.clone(),
        ApiConfig {
            max_body_bytes: settings.max_body_bytes,
            metrics_public: settings.metrics_public,
            rate_limit_per_second: settings.rate_limit_per_second,
            secure_cookies: settings.public_url().starts_with("https://"),
            max_live_sockets: limits.live_sockets,
            shutdown: Some(shutdown_rx.clone()),
            files: Some(files),
            mailroom: Some(mailroom),
            worker: Some(Arc::clone(&notify)),
            library: Some(Arc::clone(&library)),
            platforms: PlatformSecrets {
                shopify: settings
                    .shopify_webhook_secret
                    .as_ref()
                    .map(|s| s.expose().to_owned()),
                woocommerce: settings
                    .woocommerce_webhook_secret
                    .as_ref()
                    .map(|s| s.expose().to_owned()),
                aftership: settings
                    .aftership_webhook_secret
                    .as_ref()
                    .map(|s| s.expose().to_owned()),
            },
            shopify_admin,
            public_url: settings.public_url(),
            // The workspace takes its own paths; the help center, the shop's public face,
            // every other page.
            error_pages: vec![
                Arc::new(concierge_workspace::WorkspaceErrors),
                Arc::clone(&help) as Arc<dyn concierge_api::audience::ErrorPages>,
            ],
        },
    );
    let chat = concierge_chat::routes(
        &api,
        ChatConfig {
            identity_secret: settings
                .widget_identity_secret
                .as_ref()
                .map(|s| s.expose().to_owned()),
            max_sockets: limits.widget_sockets,
            max_sockets_per_address: settings.widget_max_sockets_per_address,
            outbound_mail: settings.smtp_relay.is_some(),
        },
    );
    let app = concierge_api::router_with(
        api,
        {
            let pages = concierge_workspace::pages(settings_view(&settings, store.engine_name()))
                .merge(concierge_helpcenter::pages(Arc::clone(&help)));
            match (&settings.widget_identity_secret, demo_store) {
                (Some(secret), true) => pages.merge(concierge_demo::store_page::routes(
                    secret.expose().to_owned(),
                )),
                _ => pages,
            }
        },
        chat,
    );
    let mut server_shutdown = shutdown_rx.clone();
    let server = tokio::spawn(async move {
        // Small writes go at once: a chat's echo and the assistant's answer right after it
        // would otherwise wait out the shopper's delayed acknowledgement (Nagle), ~40 ms.
        let listener = connections::CappedListener::new(listener, &limits).tap_io(|c| {
            if let Err(e) = c.stream().set_nodelay(true) {
                tracing::debug!(error = %e, "cannot set TCP_NODELAY on a connection");
            }
        });
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            // Ends on `true`, or when `Running` is dropped and the sender with it.
            let _ = server_shutdown.wait_for(|stop| *stop).await;
        })
        .await
    });

    tokio::spawn(concierge_commerce::notices::keep_checking_late(
        store.clone(),
        Duration::from_secs(settings.shipment_check_seconds),
        chrono::Duration::days(i64::from(settings.shipment_late_after_days)),
        Arc::new(chrono::Utc::now),
        Arc::clone(&notify),
        shutdown_rx.clone(),
    ));
    let worker = tokio::spawn(worker.run(shutdown_rx));

    Ok(Running {
        http_addr,
        smtp_addr,
        store,
        shutdown,
        server,
        smtp,
        worker,
        worker_notify: notify,
        help,
        help_recorder,
        library,
    })
}

/// The kinds of job that no handler of the worker runs: none may be, but for mail when no
/// relay is set up, which waits in the queue until one is.
fn unhandled_jobs(handled: &[JobKind], relay: bool) -> Vec<JobKind> {
    JobKind::ALL
        .iter()
        .filter(|k| !handled.contains(k) && (relay || !k.sends_mail()))
        .copied()
        .collect()
}

/// Binds the SMTP listener the settings describe (with STARTTLS when a certificate is set).
async fn smtp_listener(
    settings: &Settings,
    addr: SocketAddr,
    mailroom: Arc<Mailroom>,
) -> anyhow::Result<SmtpListener> {
    let tls = match (&settings.smtp_tls_cert, &settings.smtp_tls_key) {
        (Some(cert), Some(key)) => Some(
            concierge_email::smtp::tls_config(cert, key)
                .map_err(|e| anyhow::anyhow!("CONCIERGE_SMTP_TLS_CERT: {e}"))?,
        ),
        _ => None,
    };
    let config = SmtpConfig {
        hostname: settings.support_address.domain().to_owned(),
        max_message_bytes: settings.smtp_max_message_bytes,
        max_sessions: settings.smtp_max_sessions,
        max_recipients: 100,
        timeout: Duration::from_secs(settings.smtp_timeout_seconds),
        max_sessions_per_address: settings.smtp_max_sessions_per_address,
        session_limit: Duration::from_secs(settings.smtp_session_seconds),
        data_grace: Duration::from_secs(settings.smtp_data_grace_seconds),
        min_data_rate: settings.smtp_data_min_bytes_per_second,
        tls,
    };
    SmtpListener::bind(addr, config, mailroom)
        .await
        .with_context(|| format!("cannot listen on {addr} (CONCIERGE_SMTP_ADDR)"))
}

#[cfg(test)]
mod tests {
    use super::unhandled_jobs;
    use concierge_domain::jobs::JobKind;

    #[test]
    fn only_mail_may_wait_for_a_handler_and_only_without_a_relay() {
        let none = unhandled_jobs(&[], false);
        assert!(
            none.contains(&JobKind::ConversationWake) && !none.contains(&JobKind::EmailDeliver)
        );
        assert!(unhandled_jobs(&[], true).contains(&JobKind::EmailDeliver));
        assert!(unhandled_jobs(JobKind::ALL, true).is_empty());
    }
}
