//! Unauthenticated service routes: `/healthz`, `/metrics`, `/api/openapi.json`, and the
//! site's icon at `/favicon.ico`.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::openapi::Document;
use crate::wire::Health;
use crate::AppState;
use axum::extract::State;
use axum::http::{header, request::Parts};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Router};

/// The service's routes; `document` is the OpenAPI document of the router they join.
pub(super) fn routes(document: Document) -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(openapi).layer(Extension(document)))
        .route("/favicon.ico", get(favicon))
}

/// The icon browsers show in tabs and bookmarks for every page we serve (the workspace, the
/// help center, tracking pages): a blue rounded square with a white speech bubble, 32×32,
/// one PNG inside an ICO file, so that the path browsers ask for by themselves answers too.
const FAVICON: &[u8] = include_bytes!("../../assets/favicon.ico");

async fn favicon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/x-icon"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        FAVICON,
    )
}

/// Whether the service and its database answer: 200 `{"status": "ok"}`, 503 when the
/// database does not.
#[utoipa::path(get, path = "/healthz", tag = "service",
    responses((status = 200, body = Health)))]
pub(crate) async fn health(State(state): State<AppState>) -> Result<axum::Json<Health>, ApiError> {
    state.store.health().await.map_err(|e| {
        tracing::warn!(error = %e, "health check failed");
        ApiError::Unavailable
    })?;
    Ok(axum::Json(Health { status: "ok" }))
}

/// The service's metrics in the OpenMetrics text format. Needs a token unless
/// `CONCIERGE_METRICS_PUBLIC` is set.
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, description = "OpenMetrics text",
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8", body = String)),
    security(("bearer" = [])))]
pub(crate) async fn metrics(
    State(state): State<AppState>,
    mut parts: Parts,
) -> Result<impl IntoResponse, ApiError> {
    if !state.config.metrics_public {
        use axum::extract::FromRequestParts;
        Caller::from_request_parts(&mut parts, &state).await?;
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    ))
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "service",
    responses((status = 200, description = "the OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
pub(crate) async fn openapi(Extension(document): Extension<Document>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document.json().to_owned(),
    )
}
