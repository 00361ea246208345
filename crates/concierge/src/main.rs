//! The `concierge` binary: parses the command line, loads the settings, sets up logging and
//! runs one command. Every failure ends here as one line `error: …` on standard error and a
//! non-zero exit code.

mod accounts;
mod assist;
mod cli;
mod commerce;
mod knowledge;
mod serve;

use anyhow::Context;
use cli::{
    AgentCommand, AssistCommand, Command, ImportCommand, KnowledgeCommand, Parsed, SyncCommand,
    TokenCommand,
};
use concierge::{LogFormat, Settings};
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = match cli::parse() {
        Parsed::Run(cli) => cli,
        Parsed::Info(text) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Parsed::Help(text) => {
            eprint!("{text}");
            return ExitCode::from(2);
        }
        Parsed::Usage(line) => {
            eprintln!("error: {line}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` joins the chain of causes with ": " on one line.
            let message = format!("{e:#}").replace(['\n', '\r'], " ");
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => {
            let settings = load_settings(args.config.config.as_deref(), "info")?;
            serve::serve(settings, args.demo).await
        }
        Command::Migrate(args) => {
            let settings = load_settings(args.config.as_deref(), "warn")?;
            let (store, applied) = concierge::open_store(&settings).await?;
            store.close().await;
            println!(
                "applied {applied} migration{}",
                if applied == 1 { "" } else { "s" }
            );
            Ok(())
        }
        Command::Agent(AgentCommand::Create(args)) => {
            let settings = load_settings(args.config.config.as_deref(), "warn")?;
            // Migrating first lets the first agent be made before the service first runs.
            let (store, _) = concierge::open_store(&settings).await?;
            let result = accounts::create_agent(&store, args, std::io::stdin().lock()).await;
            store.close().await;
            result
        }
        Command::Token(TokenCommand::Create(args)) => {
            let settings = load_settings(args.config.config.as_deref(), "warn")?;
            let (store, _) = concierge::open_store(&settings).await?;
            let result = accounts::create_token(&store, args).await;
            store.close().await;
            result
        }
        Command::Knowledge(KnowledgeCommand::Eval(args)) => {
            let settings = load_settings(args.config.config.as_deref(), "warn")?;
            knowledge::eval(&settings, args).await
        }
        Command::Sync(SyncCommand::Shopify(args)) => {
            let settings = load_settings(args.config.config.as_deref(), "warn")?;
            commerce::sync_shopify(&settings, args).await
        }
        Command::Import(ImportCommand::Orders(args)) => {
            let settings = load_settings(args.config.config.as_deref(), "warn")?;
            commerce::import_orders(&settings, args).await
        }
        Command::Assist(command) => {
            init_tracing(LogFormat::Text, "warn")?;
            match command {
                AssistCommand::Classify(args) => assist::classify(&args.text),
                AssistCommand::Eval(args) => assist::eval(&args.file, args.model.as_deref()),
                AssistCommand::Train(args) => assist::train(&args),
            }
        }
    }
}

/// Loads the settings and sets up logging as they say; `default_level` applies when
/// `RUST_LOG` is unset.
fn load_settings(config_file: Option<&Path>, default_level: &str) -> anyhow::Result<Settings> {
    let settings = Settings::load(config_file)?;
    init_tracing(settings.log_format, default_level)?;
    Ok(settings)
}

/// Logs go to standard error, so standard output carries only what a command prints (the
/// demo login, a new token).
fn init_tracing(format: LogFormat, default_level: &str) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::try_new(&spec)
            .with_context(|| format!("RUST_LOG: invalid filter {spec:?}"))?,
        _ => EnvFilter::new(default_level),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("cannot set up logging: {e}"))
}
