//! The agent workspace: the pages agents work in all day — sign-in, the inbox, a
//! conversation with the customer's orders beside it, and the admin pages — rendered on the
//! server with `maud` (which escapes every value it is given), plus the small ES modules and
//! the stylesheet they load, all embedded in the binary.
//!
//! Pages read through the [`Store`](concierge_store::Store) directly; every write a page makes
//! goes through the JSON API with the session cookie and its CSRF token, so there is one
//! implementation of each action. Live changes arrive over `/api/v1/live`; the scripts then
//! ask for the changed part of the page again (`?fragment=…`), so HTML is only ever made here.
//!
//! Architecture invariant: no inline script or style (the Content-Security-Policy forbids
//! them), nothing fetched from another origin, and no untrusted text reaches the page except
//! through maud's escaping (or, for sanitised email HTML, through `ammonia` again).

mod account;
mod admin;
mod assets;
mod conversation;
mod inbox;
mod knowledge;
mod layout;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use concierge_api::auth::Session;
use concierge_api::error::ApiError;
use concierge_api::AppState;
use concierge_store::sessions::AgentSession;
use std::sync::Arc;

/// What the pages need of the service's settings.
#[derive(Debug, Clone, Default)]
pub struct SettingsView {
    /// Where shoppers reach the service (for links to help articles in replies), without a
    /// trailing slash.
    pub public_url: String,
    /// What the read-only settings page shows: channel and integration settings as
    /// (name, value), secrets already reduced to "set" or "not set".
    pub facts: Vec<(String, String)>,
}

/// The workspace's pages and assets, to serve beside the API
/// ([`concierge_api::router_with`]).
pub fn pages(settings: SettingsView) -> Router<AppState> {
    let settings = Arc::new(settings);
    Router::new()
        .route("/", get(|| async { Redirect::to("/inbox") }))
        .route("/login", get(account::login_page))
        .route("/account", get(account::account_page))
        .route("/inbox", get(inbox::inbox_page))
        .route("/conversations/{id}", get(conversation::conversation_page))
        .merge(admin::routes())
        .merge(knowledge::routes())
        .route("/assets/{name}", get(assets::asset))
        .layer(axum::Extension(settings))
}

/// A signed-in agent, for a page. Without a valid session the browser is sent to sign in,
/// and back here afterwards.
pub(crate) struct Agent(pub Viewer);

/// Who a page is for, and the number of the newest live event when it was made: read before
/// anything the page shows, so the page's socket resumes after it and misses nothing.
pub(crate) struct Viewer {
    pub session: AgentSession,
    pub last_event: i64,
}

impl FromRequestParts<AppState> for Agent {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match Session::from_request_parts(parts, state).await {
            Ok(Session(session)) => {
                let last_event = state
                    .store
                    .last_event_seq()
                    .await
                    .map_err(|e| PageError::from(e).into_response())?;
                Ok(Agent(Viewer {
                    session,
                    last_event,
                }))
            }
            Err(ApiError::Unauthenticated) => {
                let back = parts.uri.path_and_query().map_or("/inbox", |p| p.as_str());
                let next = layout::encode_component(back);
                Err(Redirect::to(&format!("/login?next={next}")).into_response())
            }
            Err(e) => Err(PageError::from(e).into_response()),
        }
    }
}

/// A signed-in admin, for an admin page. Agents get a 403 page, whatever the URL.
pub(crate) struct AdminAgent(pub Viewer);

impl FromRequestParts<AppState> for AdminAgent {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Agent(viewer) = Agent::from_request_parts(parts, state).await?;
        if !viewer.session.agent.role.is_admin() {
            return Err(PageError {
                status: StatusCode::FORBIDDEN,
                message: "This page is for admins. Ask an admin of your team if you need it."
                    .into(),
            }
            .into_response());
        }
        Ok(AdminAgent(viewer))
    }
}

/// A page that could not be shown, as an HTML page with the reason.
#[derive(Debug)]
pub(crate) struct PageError {
    status: StatusCode,
    message: String,
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        PageError {
            status: e.status(),
            message: e.detail().message,
        }
    }
}

impl From<concierge_store::StoreError> for PageError {
    fn from(e: concierge_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let title = match self.status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::FORBIDDEN => "Not allowed",
            _ => "Something went wrong",
        };
        (self.status, layout::bare(title, &self.message)).into_response()
    }
}

pub(crate) type PageResult = Result<Response, PageError>;
