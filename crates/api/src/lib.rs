//! Concierge's HTTP API: the `/api/v1` routes of CONTRACT.md, their wire types, Bearer-token
//! auth, the one error format, limits, `/healthz`, `/metrics` and the OpenAPI document
//! (generated from the handlers and wire types by `utoipa`, never written by hand).
//!
//! Architecture invariant: handlers are thin. They parse wire types into domain types (so
//! invalid input is refused here, with the field named), call the [`Store`], and map records
//! back to wire types. No SQL here; every error leaves through [`error::ApiError`].

pub mod audience;
pub mod auth;
pub mod embedded;
pub mod error;
mod extract;
mod guesses;
pub mod idempotency;
pub mod live;
mod metrics;
mod openapi;
pub mod rate;
mod routes;
mod suggestion;
pub mod widget;
mod wire;

pub use wire::ConversationQuery;

use axum::Router;
use concierge_email::Mailroom;
use concierge_store::files::FileStore;
use concierge_store::Store;
use std::sync::Arc;

pub use openapi::openapi_json;
pub use routes::{PlatformSecrets, MAX_ARTICLE_FILE_BYTES, MAX_WEBHOOK_BYTES};
pub use widget::MAX_CHAT_FILE_BYTES;

/// Settings the HTTP layer needs, and the services beside the store it hands requests to.
#[derive(Clone)]
pub struct ApiConfig {
    /// Largest request body accepted, in bytes; larger ones get 413.
    pub max_body_bytes: usize,
    /// Whether `/metrics` needs no token.
    pub metrics_public: bool,
    /// Requests a second one client address may make, with bursts of twice that; `0` turns
    /// the limit off. Past it, requests get 429 with `Retry-After`.
    pub rate_limit_per_second: u32,
    /// Whether the session cookie is marked `Secure` (the service is reached over https).
    pub secure_cookies: bool,
    /// Live-update sockets open at once; more are refused with 503.
    pub max_live_sockets: usize,
    /// Becomes `true` when the service stops: live sockets close so the server can drain.
    pub shutdown: Option<tokio::sync::watch::Receiver<bool>>,
    /// Where attachments and original mails are kept; without it they cannot be fetched.
    pub files: Option<Arc<dyn FileStore>>,
    /// The intake for `POST /webhooks/email`; without it the endpoint answers 404.
    pub mailroom: Option<Arc<Mailroom>>,
    /// Whether outbound mail can be sent (a relay is set up); without it, mail a shopper asks
    /// for from a chat is refused with 503 rather than queued for ever.
    pub outbound_mail: bool,
    /// Pokes the job worker after a request queued work that is due now (an outbound
    /// message), so it goes out without waiting for the worker's next look at the queue.
    pub worker: Option<Arc<tokio::sync::Notify>>,
    /// The knowledge base's search index; without it article search answers 503.
    pub library: Option<Arc<concierge_knowledge::Library>>,
    /// The secrets that sign store platforms' and tracking services' webhooks.
    pub platforms: PlatformSecrets,
    /// The shop's Shopify Admin API, for order actions; without it actions on Shopify orders
    /// are recorded as requests.
    pub shopify_admin: Option<Arc<concierge_commerce::admin::ShopifyAdmin>>,
    /// The base of links to our own pages (tracking pages in canned replies), without a
    /// trailing slash.
    pub public_url: String,
    /// The secret a shop signs its logged-in customers' emails with for the chat widget;
    /// without it, widget sessions cannot be verified.
    pub widget_identity_secret: Option<String>,
    /// Chat widget sockets open at once; more are refused with 503.
    pub max_widget_sockets: usize,
    /// Chat widget sockets open at once from one client address; more are refused with 429.
    pub max_widget_sockets_per_address: usize,
    /// How the pages served beside the API show people an error, asked in order (the first
    /// that takes a path writes the page). Without any (the API alone), errors are JSON for
    /// everyone.
    pub error_pages: Vec<Arc<dyn audience::ErrorPages>>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_body_bytes: 1024 * 1024,
            metrics_public: false,
            rate_limit_per_second: 100,
            secure_cookies: false,
            max_live_sockets: 2_000,
            shutdown: None,
            files: None,
            mailroom: None,
            outbound_mail: false,
            worker: None,
            library: None,
            platforms: PlatformSecrets::default(),
            shopify_admin: None,
            public_url: String::new(),
            widget_identity_secret: None,
            max_widget_sockets: 20_000,
            max_widget_sockets_per_address: 50,
            error_pages: Vec::new(),
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<ApiConfig>,
    pub(crate) metrics: Arc<metrics::Metrics>,
    pub(crate) rate: Option<Arc<rate::PerClient>>,
    pub(crate) login_throttle: Arc<routes::LoginThrottle>,
    pub(crate) live: Arc<live::Live>,
    pub(crate) chats: Arc<widget::Chats>,
}

/// The whole HTTP API, ready to serve.
pub fn router(store: Store, config: ApiConfig) -> Router {
    router_with(store, config, Router::new())
}

/// The HTTP API with more routes beside it (the agent workspace's pages), all behind the same
/// layers: rate limit, security headers, body limit, panic guard, metrics, and errors shown
/// to people as pages (`ApiConfig::error_pages`).
pub fn router_with(store: Store, config: ApiConfig, pages: Router<AppState>) -> Router {
    let state = AppState {
        rate: rate::PerClient::per_second(config.rate_limit_per_second).map(Arc::new),
        login_throttle: Default::default(),
        live: Arc::new(live::Live::new(
            store.clone(),
            config.max_live_sockets,
            config.shutdown.clone(),
        )),
        chats: Arc::new(widget::Chats::new(
            config.max_widget_sockets,
            config.max_widget_sockets_per_address,
        )),
        store,
        config: Arc::new(config),
        metrics: Arc::new(metrics::Metrics::new()),
    };
    routes::router(state, pages)
}
