//! Concierge's HTTP API: the `/api/v1` routes (README, "API"), their wire types, Bearer-token
//! auth, the one error format, limits, `/healthz`, `/metrics` and the OpenAPI document
//! (generated from the handlers and wire types by `utoipa`, never written by hand).
//!
//! It is also what the other HTTP crates are mounted on ([`router_with`]): pages (the agent
//! workspace, the help center) and channels with routes of their own (the chat widget,
//! `concierge-chat`) share its state, its error type and extractors, the client address,
//! the live event hub and the serving of embedded assets.
//!
//! Architecture invariant: handlers are thin. They parse wire types into domain types (so
//! invalid input is refused here, with the field named), call the [`Store`], and map records
//! back to wire types. No SQL here; every error leaves through [`error::ApiError`].

pub mod audience;
pub mod auth;
pub mod embedded;
pub mod error;
pub mod extract;
mod guesses;
pub mod idempotency;
pub mod live;
mod metrics;
mod openapi;
pub mod rate;
mod routes;
mod suggestion;
mod wire;

pub use wire::{schema, ConversationQuery};

use axum::Router;
use concierge_email::Mailroom;
use concierge_store::files::FileStore;
use concierge_store::Store;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;

pub use routes::{PlatformSecrets, MAX_ARTICLE_FILE_BYTES, MAX_WEBHOOK_BYTES};

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
            worker: None,
            library: None,
            platforms: PlatformSecrets::default(),
            shopify_admin: None,
            public_url: String::new(),
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
}

impl AppState {
    /// One service's state: its store and settings, and what its requests share (the rate
    /// limit, the sign-in throttle, the live event hub, the metrics).
    pub fn new(store: Store, config: ApiConfig) -> AppState {
        AppState {
            rate: rate::PerClient::per_second(config.rate_limit_per_second).map(Arc::new),
            login_throttle: Default::default(),
            live: Arc::new(live::Live::new(
                store.clone(),
                config.max_live_sockets,
                config.shutdown.clone(),
            )),
            store,
            config: Arc::new(config),
            metrics: Arc::new(metrics::Metrics::new()),
        }
    }

    /// The service's live event hub. Channels whose sockets follow conversations as they
    /// change (the chat widget's) subscribe to it, so that one task per process reads the
    /// event log, and tell agents through it when a shopper types.
    pub fn live(&self) -> &Arc<live::Live> {
        &self.live
    }
}

/// The whole HTTP API, ready to serve.
pub fn router(store: Store, config: ApiConfig) -> Router {
    router_with(
        AppState::new(store, config),
        Router::new(),
        OpenApiRouter::default(),
    )
}

/// The HTTP API with more routes beside it, all behind the same layers: rate limit, security
/// headers, body limit, panic guard, metrics, and errors shown to people as pages
/// (`ApiConfig::error_pages`). `pages` are HTML for people (the agent
/// workspace's, the help center's); `channels` are a channel's own HTTP side (the chat
/// widget's), whose operations join the OpenAPI document.
pub fn router_with(
    state: AppState,
    pages: Router<AppState>,
    channels: OpenApiRouter<AppState>,
) -> Router {
    routes::router(state, pages, channels)
}
