//! Email over HTTP: `POST /webhooks/email` (one raw RFC 5322 message, for shops whose mail
//! arrives elsewhere and is forwarded by Mailgun, SendGrid, Postmark and the like), the files
//! attached to messages, a mail's original bytes, and sending a failed delivery again.

use super::conversations::path_id;
use super::{file_response, Audience};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::wire::{MailReceipt, MessageOut};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use concierge_domain::ids::{AttachmentId, MessageId};
use concierge_email::Envelope;
use concierge_store::mail::Receipt;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(attachment))
        .routes(routes!(original))
        .routes(routes!(retry_delivery))
}

/// The webhook, with a body limit of its own: a mail may be as large as the SMTP listener
/// takes, far past the API's limit for JSON.
pub(super) fn webhook(state: &AppState) -> axum::Router<AppState> {
    let limit = state
        .config
        .mailroom
        .as_ref()
        .map_or(0, |m| m.settings().max_message_bytes);
    axum::Router::new().route(
        "/webhooks/email",
        axum::routing::post(receive).layer(DefaultBodyLimit::max(limit.max(1))),
    )
}

/// Receives one raw RFC 5322 message (any content type: `message/rfc822` is usual). 201 when
/// it was stored, 200 when it had been stored before (a retried delivery, recognised by its
/// Message-ID), 422 when it is not a mail, 413 past the size limit, 503 when it could not be
/// stored (retry later). The answer comes only after the mail is stored.
#[utoipa::path(post, path = "/webhooks/email", tag = "email",
    request_body(description = "one raw RFC 5322 message, of any content type (`message/rfc822` is usual); at most the SMTP listener's size limit",
        content((String = "message/rfc822"), (String = "text/plain"))),
    responses((status = 201, body = MailReceipt), (status = 200, body = MailReceipt),
        (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn receive(
    State(state): State<AppState>,
    _caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, axum::Json<MailReceipt>), ApiError> {
    let mailroom = state
        .config
        .mailroom
        .clone()
        .ok_or(ApiError::RouteNotFound)?;
    let limit = mailroom.settings().max_message_bytes;
    let body = crate::extract::raw_body(body, limit)?;
    let receipt = mailroom
        .receive(body.to_vec(), &Envelope::default())
        .await?;
    let (status, outcome) = match &receipt {
        Receipt::Opened { .. } => (StatusCode::CREATED, "opened"),
        Receipt::Threaded { .. } => (StatusCode::CREATED, "threaded"),
        Receipt::Bounced { .. } => (StatusCode::CREATED, "bounced"),
        Receipt::Duplicate { .. } => (StatusCode::OK, "duplicate"),
    };
    Ok((
        status,
        axum::Json(MailReceipt {
            conversation_id: receipt.conversation_id().to_string(),
            message_id: receipt.message_id().to_string(),
            outcome,
        }),
    ))
}

/// A file attached to a message. Plain images are shown inline; every other type is a
/// download.
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "conversations", params(("id" = String, Path)),
    responses((status = 200, description = "the file"), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
async fn attachment(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id("attachment", &id, AttachmentId::parse)?;
    let files = state
        .config
        .files
        .clone()
        .ok_or(ApiError::NotFound("attachment"))?;
    let (a, _) = state.store.attachment(&id).await?;
    let bytes = files.get(&a.storage_key).await?;
    Ok(file_response(
        bytes,
        &a.content_type,
        &a.filename,
        Audience::Agents,
    ))
}

/// The whole mail a message came from or went out as, exactly as it was received or sent
/// (`message/rfc822`, as a download).
#[utoipa::path(get, path = "/api/v1/messages/{id}/original", tag = "conversations", params(("id" = String, Path)),
    responses((status = 200, description = "the raw mail"), (status = 404, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
async fn original(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id("message", &id, MessageId::parse)?;
    let files = state
        .config
        .files
        .clone()
        .ok_or(ApiError::NotFound("original"))?;
    let key = state
        .store
        .email_original(&id)
        .await?
        .ok_or(ApiError::NotFound("original"))?;
    let bytes = files.get(&key).await?;
    Ok(file_response(
        bytes,
        "message/rfc822",
        &format!("{id}.eml"),
        Audience::Agents,
    ))
}

/// Sends a message whose delivery failed again (after the agent fixed what was wrong, or
/// once the relay is back): it goes back to `pending` with a fresh delivery job.
#[utoipa::path(post, path = "/api/v1/messages/{id}/retry", tag = "conversations", params(("id" = String, Path)),
    responses((status = 202, body = MessageOut), (status = 409, body = crate::error::ErrorBody)),
    security(("bearer" = [])))]
async fn retry_delivery(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, axum::Json<MessageOut>), ApiError> {
    let id = path_id("message", &id, MessageId::parse)?;
    let message = state.store.retry_delivery(&id, &caller.actor).await?;
    if let Some(worker) = &state.config.worker {
        worker.notify_one();
    }
    Ok((StatusCode::ACCEPTED, axum::Json(message.into())))
}
