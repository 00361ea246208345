//! The OpenAPI document, assembled from the `#[utoipa::path]` annotations on the handlers and
//! the wire types' schemas (never written by hand), and served at `/api/openapi.json`.

use std::sync::OnceLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Concierge API", description = "Self-hosted customer service for online shops. Errors: `{\"error\": {\"code\", \"message\", \"field\"?}}`. Lists: `{\"items\", \"next_cursor\"}` with `?limit=` (1-200, default 50) and `?cursor=`. Every route is rate limited per client address (`CONCIERGE_RATE_LIMIT_PER_SECOND`); past the limit it answers 429 `rate_limited` with `Retry-After` in seconds."),
    paths(crate::routes::mail::receive),
    components(schemas(crate::error::ErrorBody)),
    tags((name = "conversations"), (name = "email"), (name = "customers"), (name = "orders"), (name = "articles"), (name = "access"), (name = "jobs"), (name = "assistant"), (name = "settings"))
)]
struct Base;

pub(crate) fn base() -> utoipa::openapi::OpenApi {
    let mut doc = Base::openapi();
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    doc
}

static DOCUMENT: OnceLock<String> = OnceLock::new();

/// Keeps the document built with the first router. Every router has the same routes, so any
/// one of them describes them all.
pub(crate) fn publish(doc: utoipa::openapi::OpenApi) {
    DOCUMENT.get_or_init(|| doc.to_json().unwrap_or_else(|_| "{}".to_owned()));
}

/// The OpenAPI document as JSON.
pub fn openapi_json() -> String {
    match DOCUMENT.get() {
        Some(doc) => doc.clone(),
        None => {
            // Built on demand when no router was made (e.g. a docs command).
            let (_, doc) =
                utoipa_axum::router::OpenApiRouter::<crate::AppState>::with_openapi(base())
                    .split_for_parts();
            doc.to_json().unwrap_or_else(|_| "{}".to_owned())
        }
    }
}
