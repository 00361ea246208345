//! Every setting of the service, declared once in [`Settings`]: its name, its type, its
//! default and what it means. The environment variable is the name in upper case behind
//! `CONCIERGE_`; a `--config` TOML file uses the bare name. The environment wins over the
//! file, and the file over the defaults, which work on a laptop with nothing set.
//!
//! `--help` and the README table are generated from the same declaration ([`SETTINGS`]).

use concierge_domain::contact::EmailAddress;
use concierge_store::DatabaseUrl;
use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Value};
use figment::Figment;
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// What every environment variable starts with.
pub const ENV_PREFIX: &str = "CONCIERGE_";

/// One setting as `--help` and the README describe it.
#[derive(Debug, Clone, Copy)]
pub struct SettingDoc {
    /// The key in a `--config` file, and the field of [`Settings`].
    pub key: &'static str,
    /// The default, as a person reads it.
    pub default: &'static str,
    /// What the setting means.
    pub doc: &'static str,
}

impl SettingDoc {
    /// The environment variable that sets it: `CONCIERGE_` and the key in upper case.
    pub fn env_var(&self) -> String {
        format!("{ENV_PREFIX}{}", self.key.to_ascii_uppercase())
    }
}

/// Declares [`Settings`], its `Default` and the [`SETTINGS`] table from one list, so a
/// setting cannot exist in one place and be missing from another.
macro_rules! settings {
    ($(
        $(#[doc = $doc:literal])+
        $(#[serde($($serde:tt)*)])?
        $field:ident: $ty:ty = $default:expr, shown as $shown:literal;
    )+) => {
        /// The service's configuration. Build it with [`Settings::load`] (file and
        /// environment) or in code from [`Settings::default`], overriding fields.
        #[derive(Debug, Clone, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct Settings {
            $(
                $(#[doc = $doc])+
                $(#[serde($($serde)*)])?
                pub $field: $ty,
            )+
        }

        impl Default for Settings {
            fn default() -> Self {
                Settings { $($field: $default,)+ }
            }
        }

        /// Every setting, in declaration order.
        pub const SETTINGS: &[SettingDoc] = &[
            $(SettingDoc {
                key: stringify!($field),
                default: $shown,
                doc: concat!($($doc, "\n"),+),
            },)+
        ];
    };
}

settings! {
    /// Where the SQLite database, attachments and keys live.
    data_dir: PathBuf = PathBuf::from("./concierge-data"), shown as "./concierge-data";

    /// The database: `sqlite://PATH` or `postgres://USER:PASSWORD@HOST/DB`. Unset means the
    /// SQLite file `concierge.db` in the data folder.
    database_url: Option<String> = None, shown as "sqlite://$CONCIERGE_DATA_DIR/concierge.db";

    /// The HTTP listener, `IP:PORT`; port 0 picks a free port (the `listening` log line
    /// tells which).
    #[serde(deserialize_with = "socket_addr")]
    http_addr: SocketAddr = SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)), shown as "127.0.0.1:8080";

    /// The inbound SMTP listener, `IP:PORT`, or `off` for none.
    #[serde(deserialize_with = "addr_or_off")]
    smtp_addr: Option<SocketAddr> = Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 2525))), shown as "127.0.0.1:2525";

    /// The outbound mail relay, `smtp://host:port` or `smtps://user:pass@host:port`. Unset,
    /// outbound mail stays queued.
    smtp_relay: Option<Secret> = None, shown as "unset (outbound mail stays queued)";

    /// The shop's support address: inbound mail to it opens conversations, outbound mail
    /// comes from it.
    #[serde(deserialize_with = "email_address")]
    support_address: EmailAddress = default_support_address(), shown as "support@localhost";

    /// The display name on mail sent from the support address.
    support_name: String = "Customer Support".to_owned(), shown as "Customer Support";

    /// The largest inbound mail accepted, in bytes, over SMTP (advertised as SIZE; larger
    /// ones get 552) and through `POST /webhooks/email` (413).
    smtp_max_message_bytes: usize = 25 * 1024 * 1024, shown as "26214400 (25 MiB)";

    /// Inbound SMTP sessions served at once; more are told 421 (try again later).
    smtp_max_sessions: usize = 100, shown as "100";

    /// How long the SMTP listener waits for a client's next line, in seconds, before it
    /// closes the session (421); a mail not finished by then is not stored.
    smtp_timeout_seconds: u64 = 300, shown as "300";

    /// Inbound SMTP sessions one client address (an IPv6 client's /64 network) may hold at
    /// once; more are told 421 and closed, so one sender cannot take every session.
    smtp_max_sessions_per_address: usize = 5, shown as "5";

    /// How long one SMTP session may last in all, in seconds, however busy the client keeps
    /// it; then it is told 421 and closed, and a mail not finished by then is not stored.
    smtp_session_seconds: u64 = 600, shown as "600 (10 minutes)";

    /// How long any mail's DATA transfer may take before the minimum rate applies, in
    /// seconds.
    smtp_data_grace_seconds: u64 = 30, shown as "30";

    /// The least rate a DATA transfer must keep after its grace, in bytes a second: a mail
    /// must be in by the grace plus its bytes so far at this rate, or the session is told
    /// 421 and closed, and nothing it sent is kept.
    smtp_data_min_bytes_per_second: u64 = 1024, shown as "1024 (1 KiB/s)";

    /// A PEM certificate chain for STARTTLS on the SMTP listener (with
    /// `CONCIERGE_SMTP_TLS_KEY`). Unset, STARTTLS is not offered.
    smtp_tls_cert: Option<PathBuf> = None, shown as "unset (no STARTTLS)";

    /// The PEM private key for `CONCIERGE_SMTP_TLS_CERT`.
    smtp_tls_key: Option<PathBuf> = None, shown as "unset";

    /// The automatic acknowledgement sent to a new email conversation, with variables such
    /// as `{{customer.first_name}}` and `{{shop.name}}`; `off` sends none. Never sent to
    /// automatic mail, mailer daemons or the support address, and at most once an hour to
    /// one sender.
    email_acknowledgement: String = concierge_email::DEFAULT_ACKNOWLEDGEMENT.to_owned(), shown as "a short thank-you (see README); off sends none";

    /// The base of links sent to customers. Unset means `http://` and the HTTP address.
    public_url: Option<String> = None, shown as "http://$CONCIERGE_HTTP_ADDR";

    /// The Shopify app secret that signs webhooks. Unset, `/webhooks/shopify` answers 404.
    shopify_webhook_secret: Option<Secret> = None, shown as "unset (the endpoint answers 404)";

    /// The WooCommerce webhook secret. Unset, `/webhooks/woocommerce` answers 404.
    woocommerce_webhook_secret: Option<Secret> = None, shown as "unset (the endpoint answers 404)";

    /// The secret the shop signs a logged-in customer's email with (hex HMAC-SHA256) so a
    /// chat widget session is verified and may see that customer's orders. Unset, sessions
    /// are never verified.
    widget_identity_secret: Option<Secret> = None, shown as "unset (widget sessions are not verified)";

    /// An OpenAI-compatible API (`https://api.openai.com/v1`, or a local server's) whose
    /// model rewords the chat assistant's answers — from the order's data or the article
    /// only, keeping every link and number, else the answer goes out as made. Unset, the
    /// assistant answers in its own (the shop's) wording; nothing else changes.
    llm_base_url: Option<String> = None, shown as "unset (answers in the shop's wording)";

    /// The key for `CONCIERGE_LLM_BASE_URL`, sent as a bearer token.
    llm_api_key: Option<Secret> = None, shown as "unset";

    /// The model `CONCIERGE_LLM_BASE_URL` is asked for.
    llm_model: String = "gpt-4o-mini".to_owned(), shown as "gpt-4o-mini";

    /// The shop's Shopify domain (`acme.myshopify.com`), for order actions from the inbox
    /// (with `CONCIERGE_SHOPIFY_ACCESS_TOKEN`). Unset, actions on Shopify orders are recorded
    /// as requests.
    shopify_shop: Option<String> = None, shown as "unset (order actions are recorded as requests)";

    /// An Admin API access token of the shop's Shopify app (scopes: orders, customers,
    /// fulfillments).
    shopify_access_token: Option<Secret> = None, shown as "unset";

    /// The base URL of the Shopify Admin API; unset means `https://$CONCIERGE_SHOPIFY_SHOP`.
    shopify_api_url: Option<String> = None, shown as "https://$CONCIERGE_SHOPIFY_SHOP";

    /// The AfterShip webhook secret that signs tracking updates. Unset,
    /// `/webhooks/aftership` answers 404.
    aftership_webhook_secret: Option<Secret> = None, shown as "unset (the endpoint answers 404)";

    /// Days without a carrier scan after which a parcel counts as late (it is also late once
    /// its expected delivery has passed): the shopper gets the "late" notice and the team a
    /// `delivery-issue` conversation.
    shipment_late_after_days: u32 = 4, shown as "4";

    /// How often the service looks for late parcels, in seconds.
    shipment_check_seconds: u64 = 900, shown as "900 (15 minutes)";

    /// The largest request body accepted, in bytes; larger ones are refused with 413.
    max_body_bytes: usize = 1024 * 1024, shown as "1048576 (1 MiB)";

    /// Whether `GET /metrics` answers without a token. Off, a scraper sends any API token as
    /// `Authorization: Bearer`.
    metrics_public: bool = false, shown as "false";

    /// Requests a second one client address may make, with bursts of twice that; past it
    /// requests are refused with 429 and `Retry-After`. `0` turns the limit off.
    rate_limit_per_second: u32 = 100, shown as "100 (0 turns it off)";

    /// The most live-update sockets (agents' open browser tabs) served at once; more are
    /// refused with 503. Lowered at start when the open-file limit would not hold them.
    live_max_sockets: usize = 2_000, shown as "2000";

    /// Chat widget sockets (shoppers) open at once; more are refused with 503. Lowered at
    /// start when the process's open-file limit would not hold them.
    widget_max_sockets: usize = 20_000, shown as "20000";

    /// Chat widget sockets open at once from one client address; more are refused with 429.
    /// (One chat session may have 5 open, for its shopper's tabs.)
    widget_max_sockets_per_address: usize = 50, shown as "50";

    /// HTTP connections open at once from one client address; more are closed as they
    /// come. All connections together are capped by the open-file limit, keeping a reserve
    /// for the database, SMTP and ordinary requests.
    http_max_connections_per_address: usize = 256, shown as "256";

    /// How logs are written to standard error: `text` or `json` (one object per line).
    /// `RUST_LOG` picks what is logged.
    log_format: LogFormat = LogFormat::Text, shown as "text";

    /// The most database connections the service opens (for readers on SQLite).
    db_max_connections: u32 = 8, shown as "8";
}

fn default_support_address() -> EmailAddress {
    EmailAddress::parse("support@localhost")
        .expect("invariant: the default support address is a valid email address")
}

/// The format of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// A setting whose value must not appear in logs or `Debug` output (webhook secrets, a relay
/// URL with a password).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

fn socket_addr<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    let text = String::deserialize(d)?;
    text.trim()
        .parse()
        .map_err(|_| serde::de::Error::custom(format!("{text:?} is not IP:PORT")))
}

fn addr_or_off<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    let text = String::deserialize(d)?;
    if text.trim().eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    text.trim()
        .parse()
        .map(Some)
        .map_err(|_| serde::de::Error::custom(format!("{text:?} is neither IP:PORT nor off")))
}

fn email_address<'de, D: Deserializer<'de>>(d: D) -> Result<EmailAddress, D::Error> {
    let text = String::deserialize(d)?;
    EmailAddress::parse(&text).map_err(|e| serde::de::Error::custom(format!("{text:?}: {e}")))
}

/// A setting with a value that cannot work. Its message is one line naming the setting as
/// the user set it (the environment variable, or the key and file).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}", path.display())]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
}

impl Settings {
    /// Loads the settings: the defaults, then the TOML file if given, then every
    /// `CONCIERGE_*` environment variable of this process. Validates the result.
    pub fn load(config_file: Option<&Path>) -> Result<Settings, ConfigError> {
        let file = match config_file {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::File {
                    path: path.to_owned(),
                    source,
                })?;
                Some((path, text))
            }
        };
        let mut env = Vec::new();
        for setting in SETTINGS {
            let var = setting.env_var();
            match std::env::var(&var) {
                Ok(value) => env.push((var, value)),
                Err(std::env::VarError::NotPresent) => {}
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(ConfigError::Invalid {
                        origin: var,
                        message: "value is not valid UTF-8".into(),
                    })
                }
            }
        }
        Settings::from_sources(file.as_ref().map(|(p, t)| (*p, t.as_str())), env)
    }

    /// Like [`Settings::load`] with the file's text and the environment passed in, for tests
    /// that must not touch the process environment. `env` holds `(CONCIERGE_NAME, value)`
    /// pairs; other variables are ignored, and so are empty values (an empty variable is the
    /// same as an unset one).
    pub fn from_sources(
        file: Option<(&Path, &str)>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let mut figment = Figment::new();
        if let Some((_, text)) = file {
            figment = figment.merge(Toml::string(text));
        }
        // Every value from the environment is text; `extract_lossy` turns it into a number
        // or a boolean where the setting wants one. (Letting figment guess types up front
        // would turn a secret made of digits into a number and then refuse it as text.)
        let mut from_env = Dict::new();
        let mut env_set = Vec::new();
        for (var, value) in env {
            let Some(setting) = SETTINGS.iter().find(|s| s.env_var() == var) else {
                continue;
            };
            if value.trim().is_empty() {
                continue;
            }
            from_env.insert(setting.key.to_owned(), Value::from(value));
            env_set.push(setting.key);
        }
        figment = figment.merge(Serialized::defaults(from_env));
        let settings: Settings = figment
            .extract_lossy()
            .map_err(|e| describe_figment_error(e, file.map(|(p, _)| p), &env_set))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what the types alone cannot: URLs' schemes and non-zero limits.
    /// [`crate::start`] calls it too, for settings built in code.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            origin: format!("{ENV_PREFIX}{}", key.to_ascii_uppercase()),
            message,
        };
        DatabaseUrl::parse(&self.database_url()).map_err(|e| match e {
            concierge_store::StoreError::Config(message) => invalid("database_url", message),
            other => invalid("database_url", other.to_string()),
        })?;
        if let Some(relay) = &self.smtp_relay {
            let relay = relay.expose();
            let rest = relay
                .strip_prefix("smtp://")
                .or_else(|| relay.strip_prefix("smtps://"));
            if rest.is_none_or(|r| r.is_empty()) {
                return Err(invalid(
                    "smtp_relay",
                    "use smtp://host:port or smtps://user:pass@host:port".into(),
                ));
            }
        }
        if let Some(url) = &self.public_url {
            let rest = url
                .strip_prefix("http://")
                .or_else(|| url.strip_prefix("https://"));
            if rest.is_none_or(|r| r.is_empty()) {
                return Err(invalid(
                    "public_url",
                    format!("{url:?} must start with http:// or https://"),
                ));
            }
        }
        for (key, value) in [
            ("shopify_webhook_secret", &self.shopify_webhook_secret),
            (
                "woocommerce_webhook_secret",
                &self.woocommerce_webhook_secret,
            ),
            ("aftership_webhook_secret", &self.aftership_webhook_secret),
            ("widget_identity_secret", &self.widget_identity_secret),
        ] {
            if value.as_ref().is_some_and(|s| s.expose().trim().is_empty()) {
                return Err(invalid(
                    key,
                    "must not be blank; unset it to disable the endpoint".into(),
                ));
            }
        }
        if self.shopify_shop.is_some() != self.shopify_access_token.is_some() {
            return Err(invalid(
                "shopify_shop",
                "CONCIERGE_SHOPIFY_SHOP and CONCIERGE_SHOPIFY_ACCESS_TOKEN go together".into(),
            ));
        }
        match (&self.smtp_tls_cert, &self.smtp_tls_key) {
            (Some(_), None) => {
                return Err(invalid(
                    "smtp_tls_cert",
                    "needs CONCIERGE_SMTP_TLS_KEY, the certificate's private key".into(),
                ))
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "smtp_tls_key",
                    "needs CONCIERGE_SMTP_TLS_CERT, the certificate it belongs to".into(),
                ))
            }
            _ => {}
        }
        if let Some(template) = self.acknowledgement() {
            concierge_email::check_acknowledgement(template)
                .map_err(|e| invalid("email_acknowledgement", e.to_string()))?;
        }
        if self.support_name.trim().is_empty() {
            return Err(invalid("support_name", "must not be blank".into()));
        }
        for (key, value) in [
            ("smtp_max_message_bytes", self.smtp_max_message_bytes as u64),
            ("smtp_max_sessions", self.smtp_max_sessions as u64),
            ("smtp_timeout_seconds", self.smtp_timeout_seconds),
            (
                "smtp_max_sessions_per_address",
                self.smtp_max_sessions_per_address as u64,
            ),
            ("smtp_session_seconds", self.smtp_session_seconds),
            ("smtp_data_grace_seconds", self.smtp_data_grace_seconds),
            (
                "smtp_data_min_bytes_per_second",
                self.smtp_data_min_bytes_per_second,
            ),
            (
                "shipment_late_after_days",
                u64::from(self.shipment_late_after_days),
            ),
            ("shipment_check_seconds", self.shipment_check_seconds),
        ] {
            if value == 0 {
                return Err(invalid(key, "must be at least 1".into()));
            }
        }
        if self.max_body_bytes == 0 {
            return Err(invalid("max_body_bytes", "must be at least 1".into()));
        }
        if self.db_max_connections == 0 {
            return Err(invalid("db_max_connections", "must be at least 1".into()));
        }
        Ok(())
    }

    /// The database URL: the `database_url` setting when set, else the SQLite file
    /// `concierge.db` in `data_dir`.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("concierge.db").display()),
        }
    }

    /// The acknowledgement template, or `None` when it is `off`.
    pub fn acknowledgement(&self) -> Option<&str> {
        let text = self.email_acknowledgement.trim();
        (!text.eq_ignore_ascii_case("off") && !text.is_empty()).then_some(text)
    }

    /// The shop's Shopify Admin API, when it is configured.
    pub fn shopify_admin(&self) -> Result<Option<concierge_commerce::admin::ShopifyAdmin>, String> {
        match (&self.shopify_shop, &self.shopify_access_token) {
            (Some(shop), Some(token)) => concierge_commerce::admin::ShopifyAdmin::new(
                shop,
                token.expose(),
                self.shopify_api_url.as_deref(),
            )
            .map(Some),
            _ => Ok(None),
        }
    }

    /// The base of links sent to customers, without a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.http_addr),
        }
    }
}

/// Turns figment's error into one line naming the setting as the user spelled it: the
/// environment variable when the value came from there, else the key in the file.
fn describe_figment_error(
    error: figment::Error,
    file: Option<&Path>,
    env_set: &[&str],
) -> ConfigError {
    let key = match &error.kind {
        figment::error::Kind::UnknownField(field, _) => Some(field.clone()),
        _ => error.path.last().cloned(),
    };
    let origin = match (key.as_deref(), file) {
        (Some(key), _) if env_set.contains(&key) => {
            format!("{ENV_PREFIX}{}", key.to_ascii_uppercase())
        }
        (Some(key), Some(file)) => format!("{key} in {}", file.display()),
        (Some(key), None) => format!("{ENV_PREFIX}{}", key.to_ascii_uppercase()),
        (None, Some(file)) => file.display().to_string(),
        (None, None) => "configuration".to_owned(),
    };
    let message = match &error.kind {
        figment::error::Kind::UnknownField(field, _) => format!("unknown setting {field:?}"),
        kind => kind.to_string(),
    };
    // Parse errors come with a drawing of the line across several lines; keep one line.
    ConfigError::Invalid {
        origin,
        message: message.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// The settings table for `--help`: each variable, its default and its meaning.
pub fn settings_help() -> String {
    let mut out = String::from(
        "Settings (environment variables; a --config TOML file takes the same names in lower case \
         without CONCIERGE_, and the environment wins):\n",
    );
    for s in SETTINGS {
        out += &format!("  {}  [default: {}]\n", s.env_var(), s.default);
        let doc = s
            .doc
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        out += &format!("      {doc}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_work_with_nothing_set() {
        let s = Settings::from_sources(None, vec![]).unwrap();
        assert_eq!(s.http_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(s.smtp_addr.unwrap().to_string(), "127.0.0.1:2525");
        assert_eq!(s.database_url(), "sqlite://./concierge-data/concierge.db");
        assert_eq!(s.public_url(), "http://127.0.0.1:8080");
        assert_eq!(s.support_address.as_str(), "support@localhost");
        assert_eq!(s.max_body_bytes, 1 << 20);
        assert!(!s.metrics_public, "metrics need a token unless opened");
        assert_eq!(s.log_format, LogFormat::Text);
        assert!(Settings::default().validate().is_ok());
    }

    #[test]
    fn the_environment_wins_over_the_file() {
        let file = "http_addr = \"127.0.0.1:9000\"\ndata_dir = \"/srv/c\"\nmax_body_bytes = 10\n";
        let s = Settings::from_sources(
            Some((Path::new("c.toml"), file)),
            env(&[
                ("CONCIERGE_HTTP_ADDR", "127.0.0.1:0"),
                ("CONCIERGE_METRICS_PUBLIC", "true"),
                ("CONCIERGE_SMTP_ADDR", "off"),
            ]),
        )
        .unwrap();
        assert_eq!(s.http_addr.port(), 0);
        assert_eq!(s.database_url(), "sqlite:///srv/c/concierge.db");
        assert_eq!(s.max_body_bytes, 10);
        assert!(s.metrics_public);
        assert_eq!(s.smtp_addr, None);
    }

    #[test]
    fn secrets_made_of_digits_stay_text_and_never_print() {
        let s =
            Settings::from_sources(None, env(&[("CONCIERGE_SHOPIFY_WEBHOOK_SECRET", "123456")]))
                .unwrap();
        assert_eq!(
            s.shopify_webhook_secret.as_ref().unwrap().expose(),
            "123456"
        );
        assert!(!format!("{s:?}").contains("123456"));
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let s = Settings::from_sources(
            None,
            env(&[("CONCIERGE_SMTP_RELAY", ""), ("CONCIERGE_UNRELATED", "x")]),
        )
        .unwrap();
        assert!(s.smtp_relay.is_none());
    }

    #[test]
    fn invalid_values_name_the_variable_on_one_line() {
        let cases = [
            ("CONCIERGE_HTTP_ADDR", "localhost"),
            ("CONCIERGE_MAX_BODY_BYTES", "lots"),
            ("CONCIERGE_SUPPORT_ADDRESS", "nobody"),
            ("CONCIERGE_LOG_FORMAT", "xml"),
            ("CONCIERGE_DATABASE_URL", "mysql://x"),
            ("CONCIERGE_SMTP_RELAY", "http://relay"),
            ("CONCIERGE_SMTP_ADDR", "on"),
            ("CONCIERGE_DB_MAX_CONNECTIONS", "0"),
            ("CONCIERGE_SMTP_TLS_CERT", "/tmp/cert.pem"),
            ("CONCIERGE_EMAIL_ACKNOWLEDGEMENT", "Hi {{order.number}}"),
            ("CONCIERGE_SMTP_MAX_SESSIONS", "0"),
        ];
        for (var, value) in cases {
            let err = Settings::from_sources(None, env(&[(var, value)]))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(var), "{var}={value}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn unknown_keys_in_the_file_are_refused() {
        let err = Settings::from_sources(Some((Path::new("c.toml"), "htp_addr = \"x\"\n")), vec![])
            .unwrap_err()
            .to_string();
        assert!(err.contains("htp_addr") && err.contains("c.toml"), "{err}");
    }

    #[test]
    fn every_setting_is_documented() {
        assert_eq!(SETTINGS.len(), 39);
        let readme = include_str!("../../../README.md");
        for s in SETTINGS {
            assert!(!s.doc.trim().is_empty(), "{} has no doc", s.key);
            assert!(settings_help().contains(&s.env_var()));
            assert!(
                readme.contains(&format!("`{}`", s.env_var())),
                "README.md does not list {}",
                s.env_var()
            );
        }
    }
}
