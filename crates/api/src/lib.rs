//! Concierge's HTTP API: the `/api/v1` routes of CONTRACT.md, their wire types, Bearer-token
//! auth, the one error format, limits, `/healthz`, `/metrics` and the OpenAPI document
//! (generated from the handlers and wire types by `utoipa`, never written by hand).
//!
//! Architecture invariant: handlers are thin. They parse wire types into domain types (so
//! invalid input is refused here, with the field named), call the [`Store`], and map records
//! back to wire types. No SQL here; every error leaves through [`error::ApiError`].

pub mod auth;
pub mod error;
mod extract;
mod metrics;
mod openapi;
mod rate;
mod routes;
mod wire;

use axum::Router;
use concierge_store::Store;
use std::sync::Arc;

pub use openapi::openapi_json;
pub use routes::render_markdown;

/// Settings the HTTP layer needs.
#[derive(Debug, Clone)]
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
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_body_bytes: 1024 * 1024,
            metrics_public: true,
            rate_limit_per_second: 100,
            secure_cookies: false,
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
}

/// The whole HTTP application, ready to serve.
pub fn router(store: Store, config: ApiConfig) -> Router {
    let state = AppState {
        rate: rate::PerClient::new(config.rate_limit_per_second).map(Arc::new),
        login_throttle: Default::default(),
        store,
        config: Arc::new(config),
        metrics: Arc::new(metrics::Metrics::new()),
    };
    routes::router(state)
}
