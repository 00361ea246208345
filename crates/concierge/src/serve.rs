//! `concierge serve`: starts the service, announces where it listens, and stops it gracefully
//! on SIGINT or SIGTERM.

use anyhow::Context;
use concierge::{Running, Settings};
use concierge_store::Store;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// Runs the service until SIGINT or SIGTERM, then stops it gracefully. A second signal while
/// stopping exits at once.
pub async fn serve(settings: Settings, demo: bool) -> anyhow::Result<()> {
    // Installed before anything starts, so a signal that arrives during start-up stops the
    // service gracefully instead of killing the process.
    let mut signals = Signals::install()?;

    let running = if demo {
        concierge::start_demo(settings).await?
    } else {
        concierge::start(settings).await?
    };

    if demo {
        match seed_demo(&running.store).await {
            Ok(Some(login)) => {
                // Searchable at once, not at the index's next periodic look.
                if let Err(e) = running.refresh_knowledge().await {
                    tracing::warn!(error = %e, "the demo articles become searchable at the next refresh");
                }
                println!(
                    "demo shop ready: sign in as {} with password {}; the storefront with the chat is {}/demo/store",
                    login.email,
                    login.password,
                    running.base_url()
                );
            }
            Ok(None) => tracing::info!("the database already holds data; --demo added nothing"),
            Err(e) => {
                running.stop().await;
                return Err(e.context("cannot fill the demo shop"));
            }
        }
    }

    // The one line scripts and tests read to find the real addresses (`:0` picks a port).
    tracing::info!(
        "listening http={} smtp={}",
        running.http_addr,
        running
            .smtp_addr
            .map_or_else(|| "off".to_owned(), |a| a.to_string())
    );

    let name = signals.next().await;
    tracing::info!(
        signal = name,
        "shutting down: finishing requests and jobs in flight"
    );
    stop_or_exit_on_second_signal(running, &mut signals).await;
    tracing::info!("stopped");
    Ok(())
}

async fn stop_or_exit_on_second_signal(running: Running, signals: &mut Signals) {
    tokio::select! {
        () = running.stop() => {}
        name = signals.next() => {
            tracing::warn!(signal = name, "second signal: exiting without waiting");
            std::process::exit(130);
        }
    }
}

/// Fills an empty database with the demo shop; `None` when it already held data.
async fn seed_demo(store: &Store) -> anyhow::Result<Option<concierge_demo::DemoLogin>> {
    concierge_demo::seed_if_empty(store)
        .await
        .context("cannot seed the demo shop")
}

/// SIGINT and SIGTERM, whichever comes first.
struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Signals> {
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt()).context("cannot handle SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("cannot handle SIGTERM")?,
        })
    }

    /// Waits for the next signal and names it.
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}
