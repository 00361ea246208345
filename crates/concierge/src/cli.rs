//! The command line: exactly the commands of the README's "Commands". Arguments are parsed into domain
//! types here, so a bad email address or name is refused before anything is opened.

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use concierge::config::settings_help;
use concierge_domain::access::Role;
use concierge_domain::contact::EmailAddress;
use concierge_domain::knowledge::Locale;
use concierge_domain::text::{Label, PersonName};
use std::path::PathBuf;

/// Concierge: a self-hosted customer-service desk for online shops.
///
/// One binary runs everything: the HTTP API and help center, inbound email and the background
/// jobs, over an SQLite file (the default) or PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "concierge", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service: HTTP API, help center, inbound SMTP and background jobs.
    ///
    /// Applies pending migrations first. Logs one line `listening http=ADDR smtp=ADDR` with
    /// the real addresses once the listeners are bound, then serves until SIGINT or SIGTERM,
    /// when it stops accepting connections and finishes the requests and jobs in flight.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(ConfigArg),
    /// Manage agents, the people who answer customers.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Work with the knowledge base.
    #[command(subcommand)]
    Knowledge(KnowledgeCommand),
    /// Bring a store platform's existing customers and orders in.
    #[command(subcommand)]
    Sync(SyncCommand),
    /// Import data from files.
    #[command(subcommand)]
    Import(ImportCommand),
    /// The virtual assistant's intent model: classify a message, measure, train.
    #[command(subcommand)]
    Assist(AssistCommand),
}

#[derive(Debug, Subcommand)]
pub enum AssistCommand {
    /// Print the intent of a message as one JSON line:
    /// `{"intent": "...", "category": "...", "confidence": 0.0-1.0}`.
    ///
    /// The intent is one of the 27 customer-service intents, or `unknown` when the model is
    /// not confident enough to name one.
    ///
    ///   concierge assist classify "where is my order?"
    Classify(ClassifyArgs),
    /// Measure the intent model on a labelled CSV (columns `utterance` and `intent`, the
    /// Bitext layout).
    ///
    /// Prints a line per intent (total, correct, what misses were taken for), the time one
    /// classification took (median and 99th percentile) and, last, `accuracy: 0.NNNN`.
    ///
    ///   concierge assist eval crates/intents/data/bitext/Bitext_Sample_Customer_Service_Validation_Dataset.csv
    ///   concierge assist eval crates/intents/eval/shoppers.csv
    Eval(AssistEvalArgs),
    /// Train the intent model from the Bitext data and write the artefact the binary embeds
    /// (crates/intents/model/intents.bin); rebuild to use it.
    ///
    /// The validation split's utterances are left out of training. The same data gives the
    /// same model.
    Train(TrainArgs),
}

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// The message.
    #[arg(value_name = "TEXT")]
    pub text: String,
}

#[derive(Debug, Args)]
pub struct AssistEvalArgs {
    /// The labelled CSV.
    #[arg(value_name = "FILE.csv")]
    pub file: PathBuf,
    /// Measure this model file (from `assist train --out`) instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The folder holding the Bitext CSV files.
    #[arg(long, value_name = "DIR", default_value = "crates/intents/data/bitext")]
    pub bitext: PathBuf,
    /// Where the model goes.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "crates/intents/model/intents.bin"
    )]
    pub out: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// Backfill a Shopify shop's customers and orders (with fulfillments and refunds) through
    /// the Admin REST API, page by page, respecting its rate limits. Safe to run again.
    ///
    ///   concierge sync shopify --shop acme.myshopify.com --token shpat_…
    Shopify(SyncShopifyArgs),
}

#[derive(Debug, Args)]
pub struct SyncShopifyArgs {
    /// The shop's domain, e.g. acme.myshopify.com.
    #[arg(long, value_name = "DOMAIN")]
    pub shop: String,
    /// An Admin API access token (read_customers, read_orders).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "CONCIERGE_SHOPIFY_ACCESS_TOKEN",
        hide_env_values = true
    )]
    pub token: String,
    /// The Admin API's base URL (default https://DOMAIN).
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,
    #[command(flatten)]
    pub config: ConfigArg,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import orders from a CSV file: one row per line item, the rows of an order together.
    ///
    /// Columns (header row; any order): external_id, number, email, name, phone, status,
    /// financial_status, fulfillment_status, currency, total, placed_at, sku, title,
    /// quantity, price, carrier, tracking_number, tracking_url. Required: external_id,
    /// number, email or phone, currency, total (a decimal such as 49.90), placed_at
    /// (RFC 3339). Orders are upserted by (source, external_id), so a file can be imported
    /// again. Prints a summary; rows that were rejected are written, with the reason, to
    /// FILE.rejected.csv (or --rejects).
    Orders(ImportOrdersArgs),
}

#[derive(Debug, Args)]
pub struct ImportOrdersArgs {
    /// The CSV file.
    #[arg(value_name = "FILE.csv")]
    pub file: PathBuf,
    /// Where rejected rows go (default: next to the file, FILE.rejected.csv).
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
    /// The platform the orders come from (their `source`).
    #[arg(long, default_value = "csv")]
    pub source: String,
    #[command(flatten)]
    pub config: ConfigArg,
}

#[derive(Debug, Subcommand)]
pub enum KnowledgeCommand {
    /// Measure how well help-center search finds the answer.
    ///
    /// Runs each question of a CSV file (columns `question,article`; `article` is the slug of
    /// the article that answers it) through the search of published articles and prints the
    /// questions whose article was not in the first three, then `questions: N`,
    /// `top-1: 0.NNNN` and, last, `top-3: 0.NNNN`. Without a file it uses the evaluation set
    /// for the demo shop (crates/knowledge/eval/questions.csv).
    ///
    ///   concierge knowledge eval --demo
    Eval(EvalArgs),
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The questions (CSV); defaults to the demo shop's evaluation set.
    #[arg(value_name = "FILE")]
    pub questions: Option<PathBuf>,
    /// Search the demo shop's knowledge base (in a throwaway database) instead of the
    /// configured database's.
    #[arg(long)]
    pub demo: bool,
    /// The locale of the articles to search.
    #[arg(long, default_value = "en", value_parser = parse_locale)]
    pub locale: Locale,
    #[command(flatten)]
    pub config: ConfigArg,
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// A TOML file of settings (see `concierge --help`); the environment overrides it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Fill an empty database with a demo shop (customers, orders, shipments, articles,
    /// conversations on several channels) and print an agent login on standard output.
    /// A database that already holds data is left as it is.
    #[arg(long)]
    pub demo: bool,
    #[command(flatten)]
    pub config: ConfigArg,
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Create an agent who can sign in to the web UI.
    ///
    /// The password is read from the first line of standard input, so it appears neither in
    /// the process list nor in the shell history:
    ///
    ///   printf '%s\n' "$PASSWORD" | concierge agent create --email ann@shop.example --name Ann --role admin --password-stdin
    Create(AgentCreateArgs),
}

#[derive(Debug, Args)]
pub struct AgentCreateArgs {
    /// The agent's email address, which they sign in with.
    #[arg(long, value_name = "E", value_parser = parse_email)]
    pub email: EmailAddress,
    /// The agent's name, as customers and colleagues see it.
    #[arg(long, value_name = "N", value_parser = parse_person_name)]
    pub name: PersonName,
    /// What the agent may do: `admin` also manages agents, tokens and settings.
    #[arg(long, value_enum)]
    pub role: RoleArg,
    /// Read the password from the first line of standard input (required; at least 10
    /// characters).
    #[arg(long, required = true)]
    pub password_stdin: bool,
    #[command(flatten)]
    pub config: ConfigArg,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for `Authorization: Bearer TOKEN`.
    ///
    /// The token is shown once: it is the last line of standard output, alone, so scripts
    /// can take it with `tail -n 1`. Only its digest is stored.
    Create(TokenCreateArgs),
}

#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// A name that says what the token is for, e.g. "shopify-sync".
    #[arg(long, value_name = "NAME", value_parser = parse_label)]
    pub name: Label,
    /// What the token may do.
    #[arg(long, value_enum, default_value_t = RoleArg::Admin)]
    pub role: RoleArg,
    #[command(flatten)]
    pub config: ConfigArg,
}

/// [`Role`] as the command line spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Manages agents, tokens and settings, and does everything an agent does.
    Admin,
    /// Works conversations.
    Agent,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::Admin => Role::Admin,
            RoleArg::Agent => Role::Agent,
        }
    }
}

fn parse_email(s: &str) -> Result<EmailAddress, String> {
    EmailAddress::parse(s).map_err(|e| e.to_string())
}

fn parse_person_name(s: &str) -> Result<PersonName, String> {
    PersonName::parse(s).map_err(|e| e.to_string())
}

fn parse_locale(s: &str) -> Result<Locale, String> {
    Locale::parse(s).map_err(|e| e.to_string())
}

fn parse_label(s: &str) -> Result<Label, String> {
    Label::parse(s).map_err(|e| e.to_string())
}

/// What parsing the command line came to.
pub enum Parsed {
    Run(Cli),
    /// `--help` or `--version`: print this on standard output and exit 0.
    Info(String),
    /// No command given: print this help on standard error and fail.
    Help(String),
    /// A usage error, as one line.
    Usage(String),
}

/// Parses the process's arguments. Usage errors come back as one line, so every failure of
/// the binary reads the same way.
pub fn parse() -> Parsed {
    let command = Cli::command().after_help(settings_help());
    let matches = match command.try_get_matches() {
        Ok(m) => m,
        Err(e) => return from_clap_error(e),
    };
    match Cli::from_arg_matches(&matches) {
        Ok(cli) => Parsed::Run(cli),
        Err(e) => from_clap_error(e),
    }
}

fn from_clap_error(e: clap::Error) -> Parsed {
    use clap::error::ErrorKind;
    let text = e.render().to_string();
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => Parsed::Info(text),
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => Parsed::Help(text),
        _ => {
            // clap writes the error, a blank line, the usage and a hint; keep the error and
            // any detail lines, and point at --help instead of repeating the usage.
            let line = text
                .lines()
                .map(str::trim)
                .filter(|l| {
                    !l.is_empty()
                        && !l.starts_with("Usage:")
                        && !l.starts_with("For more information")
                })
                .collect::<Vec<_>>()
                .join(" ");
            let line = line.strip_prefix("error: ").unwrap_or(&line).to_owned();
            Parsed::Usage(format!("{line} (see --help)"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn usage_errors_are_one_line() {
        let e = Cli::command()
            .try_get_matches_from([
                "concierge",
                "token",
                "create",
                "--name",
                "x",
                "--role",
                "boss",
            ])
            .unwrap_err();
        match from_clap_error(e) {
            Parsed::Usage(line) => {
                assert!(!line.contains('\n'), "{line}");
                assert!(line.contains("boss"), "{line}");
            }
            _ => panic!("expected a usage error"),
        }
    }

    #[test]
    fn agent_create_needs_password_stdin() {
        let r = Cli::command().try_get_matches_from([
            "concierge",
            "agent",
            "create",
            "--email",
            "a@b.example",
            "--name",
            "A",
            "--role",
            "admin",
        ]);
        assert!(r.is_err());
    }
}
