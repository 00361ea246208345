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
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use concierge_api::audience::{ErrorPages, Refusal};
use concierge_api::auth::Session;
use concierge_api::error::ApiError;
use concierge_api::AppState;
use concierge_store::sessions::AgentSession;
use maud::Markup;
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
                    .map_err(|e| ApiError::from(e).into_response())?;
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
            Err(e) => Err(e.into_response()),
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
            return Err(ApiError::Forbidden(
                "This page is for admins. Ask an admin of your team if you need it.",
            )
            .into_response());
        }
        Ok(AdminAgent(viewer))
    }
}

/// A page's answer, or why there is none: the error leaves as the API's one error type (a
/// storage error mapped by `ApiError::from`), and the API's layer shows it to the agent as a
/// page in the workspace's look ([`WorkspaceErrors`]).
pub(crate) type PageResult = Result<Response, ApiError>;

/// The workspace's paths, beside the route table in [`pages`]: errors there are shown in the
/// workspace's look.
const PATHS: [&str; 6] = [
    "/login",
    "/account",
    "/inbox",
    "/conversations",
    "/admin",
    "/assets",
];

/// How the workspace shows an agent an error: a page of its own look with the error's own
/// words (agents read the API's every day) and the way back to the inbox.
pub struct WorkspaceErrors;

impl ErrorPages for WorkspaceErrors {
    fn page(&self, uri: &Uri, _: &HeaderMap, refusal: &Refusal<'_>) -> Option<Markup> {
        let path = uri.path();
        let ours = path == "/"
            || PATHS.iter().any(|p| {
                path.strip_prefix(p)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            });
        if !ours {
            return None;
        }
        let title = match refusal.status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::TOO_MANY_REQUESTS => "Too many requests",
            _ => "Something went wrong",
        };
        let message = match refusal.error {
            // The fallback's words are for programs.
            None | Some(ApiError::RouteNotFound) => plain_words(refusal),
            Some(e) => e.to_string(),
        };
        Some(layout::bare(title, &message))
    }
}

/// What an error without words of its own (an unknown path, an extractor's refusal) says.
fn plain_words(refusal: &Refusal<'_>) -> String {
    match refusal.status {
        StatusCode::NOT_FOUND => "There is nothing at this address.".to_owned(),
        StatusCode::TOO_MANY_REQUESTS => match refusal.retry_after {
            Some(secs) => format!("Too many requests; try again in {secs} s."),
            None => "Too many requests; try again shortly.".to_owned(),
        },
        s if s.is_server_error() => {
            "Something went wrong on our side. Please try again.".to_owned()
        }
        _ => "This request could not be answered. Go back and try again.".to_owned(),
    }
}
