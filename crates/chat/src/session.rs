//! Who is chatting: the session a widget opens, and the [`Shopper`] extractor that finds it
//! again from its token.

use crate::wire::{ChatSessionOut, OpenChatSession};
use crate::ChatState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use concierge_api::error::ApiError;
use concierge_api::extract::Json;
use concierge_api::rate::ClientAddress;
use concierge_domain::contact::EmailAddress;
use concierge_domain::text::PersonName;
use concierge_store::chat::{ChatSession, NewChatSession};

/// The chat session a request's token opens: `Authorization: Bearer TOKEN`, or `?token=`
/// on the socket (browsers cannot set headers on a WebSocket).
pub(crate) struct Shopper(pub(crate) ChatSession);

impl FromRequestParts<ChatState> for Shopper {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ChatState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned);
        let query = || {
            parts.uri.query().and_then(|q| {
                q.split('&')
                    .find_map(|pair| pair.strip_prefix("token="))
                    .map(str::to_owned)
            })
        };
        let token = header.or_else(query).ok_or(ApiError::Unauthenticated)?;
        match state.service.store.chat_session(token.trim()).await? {
            Some(session) => Ok(Shopper(session)),
            None => Err(ApiError::Unauthenticated),
        }
    }
}

/// Opens a chat: a session whose token the widget keeps, and the id its conversation will
/// have once the shopper writes. `identity` is the shop's word for a logged-in customer
/// (401 when its signature does not match; 422 when no secret is set up).
#[utoipa::path(post, path = "/api/widget/v1/sessions", tag = "chat widget", request_body = OpenChatSession,
    responses((status = 201, body = ChatSessionOut), (status = 401, body = concierge_api::error::ErrorBody)))]
pub(crate) async fn open_session(
    State(state): State<ChatState>,
    ClientAddress(source): ClientAddress,
    Json(req): Json<OpenChatSession>,
) -> Result<(StatusCode, axum::Json<ChatSessionOut>), ApiError> {
    let name = optional("name", req.name.as_deref(), PersonName::parse)?;
    let (email, verified) = match req.identity {
        Some(identity) => {
            let Some(secret) = state.config.identity_secret.as_deref() else {
                return Err(ApiError::Validation {
                    field: "identity".into(),
                    message: "identity verification is not set up on this service \
                              (CONCIERGE_WIDGET_IDENTITY_SECRET)"
                        .into(),
                });
            };
            let email = concierge_api::error::parse(
                "identity.email",
                &identity.email,
                EmailAddress::parse,
            )?;
            // Signed over the address as the shop has it, before our normalisation.
            let signed = identity.email.trim().as_bytes();
            if !concierge_commerce::signature::verify_hex(
                secret.as_bytes(),
                signed,
                &identity.signature,
            ) {
                return Err(ApiError::BadSignature);
            }
            (Some(email), true)
        }
        None => (
            optional("email", req.email.as_deref(), EmailAddress::parse)?,
            false,
        ),
    };
    let (session, token) = state
        .service
        .store
        .open_chat_session(NewChatSession {
            name,
            email,
            verified,
            source: Some(source.to_string()),
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(ChatSessionOut {
            session_token: token,
            conversation_id: session.conversation_id.as_str().to_owned(),
            verified: session.verified,
        }),
    ))
}

fn optional<T>(
    field: &'static str,
    value: Option<&str>,
    parse: impl Fn(&str) -> Result<T, concierge_domain::Invalid>,
) -> Result<Option<T>, ApiError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => parse(v)
            .map(Some)
            .map_err(|e| concierge_api::error::invalid(field, e)),
        None => Ok(None),
    }
}
