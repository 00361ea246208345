//! A chat's messages without a socket: the transcript, a shopper's message, a file sent into
//! the chat; and the checks a message passes on every path, the socket's too.

use crate::session::Shopper;
use crate::wire::{
    ChatAfter, ChatFileQuery, ChatMessageOut, ChatStatus, ChatTranscript, SayInChat,
};
use crate::{ChatState, MAX_CHAT_CHARS, MAX_CHAT_FILE_BYTES};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use concierge_api::error::ApiError;
use concierge_api::extract::{file_name, raw_body, Json, Query};
use concierge_domain::ids::{AttachmentId, MessageId};
use concierge_domain::text::MessageBody;
use concierge_store::chat::{ChatSession, Said};
use concierge_store::conversations::{NewAttachment, NewMessage};

/// What a shopper may send in a chat: photos and PDFs (a damaged parcel, a receipt). The
/// bytes must be what the type says; no SVG (it can carry script).
const CHAT_FILE_TYPES: [&str; 5] = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
];

/// The chat's public messages (after `after`), oldest first, and where it stands: the
/// widget's way to read without a socket.
#[utoipa::path(get, path = "/api/widget/v1/messages", tag = "chat widget", params(ChatAfter),
    responses((status = 200, body = ChatTranscript)), security(("widget_session" = [])))]
pub(crate) async fn transcript(
    State(state): State<ChatState>,
    Shopper(session): Shopper,
    Query(q): Query<ChatAfter>,
) -> Result<axum::Json<ChatTranscript>, ApiError> {
    let after = match q.after.as_deref().and_then(|a| MessageId::parse(a).ok()) {
        Some(a) => state
            .service
            .store
            .message_number(&session.conversation_id, &a)
            .await?
            .unwrap_or(0),
        None => 0,
    };
    let messages = state
        .service
        .store
        .messages_after(&session.conversation_id, after, true)
        .await?;
    let items = messages
        .iter()
        .map(|(_, m)| ChatMessageOut::new(m, None))
        .collect();
    let status = status_of(&state, &session).await?;
    Ok(axum::Json(ChatTranscript { items, status }))
}

/// `POST /api/widget/v1/files?filename=…&client_id=…`: a photo or PDF the shopper sends,
/// as the raw body with its `Content-Type`. Stored as a message named for the file, which
/// the team sees with the file attached.
#[utoipa::path(post, path = "/api/widget/v1/files", tag = "chat widget", params(ChatFileQuery),
    request_body(description = "the file's bytes (at most 10 MiB), with its type",
        content((Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/gif"), (Vec<u8> = "image/webp"), (Vec<u8> = "application/pdf"))),
    responses((status = 201, body = ChatMessageOut, description = "stored"),
        (status = 200, body = ChatMessageOut, description = "stored before under this `client_id`"),
        (status = 422, body = concierge_api::error::ErrorBody, description = "`validation_failed`: not a photo or PDF, or not what its type says (`content_type`), or a bad `filename`"),
        (status = 429, body = concierge_api::error::ErrorBody, description = "`rate_limited`: the chat's messages come too fast (10 at once, then one every two seconds), or the address's requests")),
    security(("widget_session" = [])))]
pub(crate) async fn send_file(
    State(state): State<ChatState>,
    Shopper(session): Shopper,
    Query(q): Query<ChatFileQuery>,
    headers: HeaderMap,
    bytes: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, axum::Json<ChatMessageOut>), ApiError> {
    if !state.chats.may_send(&session) {
        return Err(ApiError::RateLimited(2));
    }
    let bytes = raw_body(bytes, MAX_CHAT_FILE_BYTES)?;
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    // The bytes decide, not the label: a page renamed `.png` is not a photo.
    let sniffed = infer::get(&bytes).map(|t| t.mime_type());
    let content_type = match sniffed {
        Some(t) if CHAT_FILE_TYPES.contains(&t) && (declared.is_empty() || declared == t) => t,
        _ => {
            return Err(ApiError::Validation {
                field: "content_type".into(),
                message: format!(
                    "a chat takes photos and PDFs ({}); this file is {}",
                    CHAT_FILE_TYPES.join(", "),
                    sniffed.unwrap_or("of another kind")
                ),
            })
        }
    };
    let filename = file_name(&q.filename)?;
    let (body, client_id) = chat_message(&filename, q.client_id.as_deref())?;
    let files = state
        .service
        .config
        .files
        .clone()
        .ok_or(ApiError::Unavailable)?;
    let size_bytes = bytes.len() as i64;
    let storage_key = files.put(bytes.to_vec()).await?;
    // A file is a message named for it, read for its intent like the shopper's words.
    let mut message = shoppers(body);
    message.attachments.push(NewAttachment {
        id: AttachmentId::generate(),
        filename,
        content_type: content_type.to_owned(),
        size_bytes,
        storage_key,
    });
    let said = state
        .service
        .store
        .chat_say(&session, session.inbound(message, client_id))
        .await?;
    Ok(stored(&said, client_id))
}

/// A shopper's message, without a socket: the same as the socket's `message` frame.
#[utoipa::path(post, path = "/api/widget/v1/messages", tag = "chat widget", request_body = SayInChat,
    responses((status = 201, body = ChatMessageOut, description = "stored"),
        (status = 200, body = ChatMessageOut, description = "stored before under this `client_id`"),
        (status = 429, body = concierge_api::error::ErrorBody, description = "`rate_limited`: the chat's messages come too fast (10 at once, then one every two seconds), or the address's requests")),
    security(("widget_session" = [])))]
pub(crate) async fn say(
    State(state): State<ChatState>,
    Shopper(session): Shopper,
    Json(req): Json<SayInChat>,
) -> Result<(StatusCode, axum::Json<ChatMessageOut>), ApiError> {
    if !state.chats.may_send(&session) {
        return Err(ApiError::RateLimited(2));
    }
    let (body, client_id) = chat_message(&req.body, req.client_id.as_deref())?;
    let said = state
        .service
        .store
        .chat_say(&session, session.inbound(shoppers(body), client_id))
        .await?;
    state.poke_worker();
    Ok(stored(&said, client_id))
}

/// The answer to a message sent over HTTP: 201 with it when stored now, 200 when it was
/// stored before under the same client id.
fn stored(said: &Said, client_id: Option<&str>) -> (StatusCode, axum::Json<ChatMessageOut>) {
    let status = if said.new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (
        status,
        axum::Json(ChatMessageOut::new(&said.message, client_id)),
    )
}

/// A shopper's chat message, read for its intent before it reaches the store.
pub(crate) fn shoppers(body: MessageBody) -> NewMessage {
    let intent = concierge_intents::read(body.as_str());
    NewMessage::from_shopper(body, intent)
}

/// A chat message and its client id, checked.
pub(crate) fn chat_message<'a>(
    body: &str,
    client_id: Option<&'a str>,
) -> Result<(MessageBody, Option<&'a str>), ApiError> {
    let body = body.trim();
    if body.chars().count() > MAX_CHAT_CHARS {
        return Err(ApiError::Validation {
            field: "body".into(),
            message: format!("a chat message is at most {MAX_CHAT_CHARS} characters"),
        });
    }
    let body = concierge_api::error::parse("body", body, MessageBody::parse)?;
    let client_id = client_id.map(str::trim).filter(|c| !c.is_empty());
    if client_id.is_some_and(|c| c.chars().count() > 64) {
        return Err(ApiError::Validation {
            field: "client_id".into(),
            message: "client_id is at most 64 characters".into(),
        });
    }
    Ok((body, client_id))
}

/// Where the chat stands: `new` until its first message made it a conversation.
pub(crate) async fn status_of(
    state: &ChatState,
    session: &ChatSession,
) -> Result<ChatStatus, ApiError> {
    match state
        .service
        .store
        .conversation(&session.conversation_id)
        .await
    {
        Ok(c) => Ok(c.lifecycle.status.into()),
        // No message yet, so no conversation yet.
        Err(concierge_store::StoreError::NotFound(_)) => Ok(ChatStatus::New),
        Err(e) => Err(e.into()),
    }
}
