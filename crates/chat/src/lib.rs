//! The live chat channel (README, "Live chat"): the script a shop puts on its
//! pages (`/widget.js`), the routes it calls under `/api/widget/v1/…` (sessions, messages,
//! files, the team's availability, mail from a chat) and its WebSocket, with the hub that
//! tells each socket when its conversation changed.
//!
//! The widget runs on the shop's pages, another origin, so these routes answer CORS requests;
//! they take a chat session's token, never an agent's credentials. The binary mounts them
//! beside the API ([`routes`] into `concierge_api::router_with`): behind the API's layers (rate
//! limit, security headers, body limits), answering in its error format, and following its
//! live event hub.
//!
//! Architecture invariant: what a shopper's browser sends and is sent is typed in [`wire`],
//! and every route is in the OpenAPI document (its router carries its part); the chat
//! reads and writes conversations only through the store's chat commands.

mod hub;
mod mail;
mod messages;
mod session;
mod socket;
mod team;
pub mod wire;

use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use concierge_api::embedded::Embedded;
use concierge_api::AppState;
use hub::Chats;
use std::sync::Arc;
use std::time::Duration;
use tower_http::cors::{Any, CorsLayer};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

/// The longest chat message, in characters: chat is for short messages; longer text is
/// refused with a clear error rather than cut.
pub const MAX_CHAT_CHARS: usize = 4_000;
/// The largest file a shopper may send in a chat.
pub const MAX_CHAT_FILE_BYTES: usize = 10 * 1024 * 1024;

/// The chat's settings, from the service's configuration.
#[derive(Clone)]
pub struct ChatConfig {
    /// The secret a shop signs its logged-in customers' emails with; without it, widget
    /// sessions cannot be verified.
    pub identity_secret: Option<String>,
    /// Widget sockets open at once; more are refused with 503.
    pub max_sockets: usize,
    /// Widget sockets open at once from one client address; more are refused with 429.
    pub max_sockets_per_address: usize,
    /// Whether outbound mail can be sent (a relay is set up); without it, mail a shopper asks
    /// for from a chat is refused with 503 rather than queued for ever.
    pub outbound_mail: bool,
}

/// What the chat's handlers reach: the service's state (its store, files, job worker and
/// live event hub), the chat's settings and its hub.
#[derive(Clone)]
struct ChatState {
    service: AppState,
    config: Arc<ChatConfig>,
    chats: Arc<Chats>,
}

impl ChatState {
    /// Work a message queued (the assistant's answer, mail) is due now: the worker need not
    /// wait for its next look at the queue.
    fn poke_worker(&self) {
        if let Some(worker) = &self.service.config.worker {
            worker.notify_one();
        }
    }
}

/// The chat's routes, with their part of the OpenAPI document, to mount beside the API
/// (`concierge_api::router_with`) on `service`, whose live event hub the chat's sockets
/// follow.
pub fn routes(service: &AppState, config: ChatConfig) -> OpenApiRouter<AppState> {
    let state = ChatState {
        chats: Arc::new(Chats::new(
            config.max_sockets,
            config.max_sockets_per_address,
        )),
        service: service.clone(),
        config: Arc::new(config),
    };
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(3600));
    OpenApiRouter::with_openapi(ChatApi::openapi())
        .route("/widget.js", get(script))
        // `OPTIONS` is routed so that the CORS layer answers browsers' preflight requests
        // (the router's own 405 would otherwise come first).
        .route(
            "/api/widget/v1/sessions",
            post(session::open_session).options(preflight),
        )
        .route(
            "/api/widget/v1/messages",
            get(messages::transcript)
                .post(messages::say)
                .options(preflight),
        )
        .route("/api/widget/v1/team", get(team::team).options(preflight))
        .route(
            "/api/widget/v1/files",
            post(messages::send_file)
                .options(preflight)
                .layer(axum::extract::DefaultBodyLimit::max(MAX_CHAT_FILE_BYTES)),
        )
        .route(
            "/api/widget/v1/email",
            post(mail::replies_by_email).options(preflight),
        )
        .route(
            "/api/widget/v1/transcript",
            post(mail::send_transcript).options(preflight),
        )
        .route("/api/widget/v1/ws", get(socket::socket))
        .layer(cors)
        .with_state(state)
}

/// The chat's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        session::open_session,
        messages::transcript,
        messages::say,
        team::team,
        messages::send_file,
        mail::replies_by_email,
        mail::send_transcript,
        socket::socket,
    ),
    components(schemas(wire::ClientFrame, wire::ChatFrame)),
    tags((name = "chat widget", description = "The chat widget's side, called from the shop's pages (CORS) with a chat session's token, never an agent's credentials.")),
    modifiers(&WidgetSession)
)]
struct ChatApi;

/// The chat session's token, the credential of the widget's routes.
struct WidgetSession;

impl Modify for WidgetSession {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        doc.components.get_or_insert_with(Default::default).add_security_scheme(
            "widget_session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A chat session's token (`session_token` of `POST /api/widget/v1/sessions`); on the WebSocket, `?token=` instead.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Never reached: the CORS layer answers preflight requests itself.
async fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// The widget's script, built into the binary (`assets/widget.js`).
static SCRIPT: std::sync::LazyLock<Embedded> = std::sync::LazyLock::new(|| {
    Embedded::new(
        "/",
        concierge_api::embedded_files!("widget.js": "text/javascript; charset=utf-8",),
    )
});

/// `GET /widget.js`: the one script a shop puts on its pages.
async fn script(headers: HeaderMap) -> Response {
    SCRIPT.serve("widget.js", &headers)
}
