//! The live chat widget's side of the API (CONTRACT.md, "Live chat widget"): sessions, the
//! WebSocket, and the same without a socket. The widget runs on the shop's pages, another
//! origin, so these routes answer CORS requests; they take a chat session's token, never an
//! agent's credentials.
//!
//! Client frames: `{"type": "message", "body", "client_id"?}` (`client_id`, any string up to
//! 64 characters, makes a resend after a lost acknowledgement harmless), `{"type":
//! "typing"}`. Server frames: `{"type": "message", "id", "sender_type", "body",
//! "created_at", "client_id"?}` — a shopper's message is echoed with its id once stored —,
//! `{"type": "typing", "sender_type": "agent", "active"}`, `{"type": "status", "status"}`,
//! and `{"type": "error", "code", "message"}` for a frame that was refused (the socket stays
//! open).
//!
//! Each conversation with a widget open has a `watch` channel here; one task routes the live
//! event log to them, so a socket wakes only for its own conversation, and whatever it
//! missed while busy it reads from the store (messages after the last it sent).

use crate::embedded::Embedded;
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::live::{Frame, Live};
use crate::rate::ClientAddress;
use crate::wire::{
    ChatAfter, ChatFileQuery, ChatMessageOut, ChatSessionOut, ChatSocketQuery, ChatStatus,
    ChatTeamOut, ChatTranscript, OpenChatSession, RepliesByEmail, RepliesByEmailOut, SayInChat,
    TranscriptMailOut, TranscriptMailStatus,
};
use crate::AppState;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message as WsMessage, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use concierge_domain::contact::EmailAddress;
use concierge_domain::conversation::ConversationStatus;
use concierge_domain::dates::Language;
use concierge_domain::ids::{AttachmentId, MessageId};
use concierge_domain::text::{MessageBody, PersonName};
use concierge_store::chat::{ChatMail, ChatMailOutcome, ChatSession, NewChatSession};
use concierge_store::conversations::{Message, NewAttachment, NewMessage};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, watch, OwnedSemaphorePermit, Semaphore};
use tower_http::cors::{Any, CorsLayer};

/// The longest chat message, in characters: chat is for short messages; longer text is
/// refused with a clear error rather than cut.
pub const MAX_CHAT_CHARS: usize = 4_000;
/// The largest frame a widget may send; a larger one closes its socket.
const MAX_FRAME_BYTES: usize = 16 * 1024;
/// A socket whose shopper's browser stops reading is dropped after this long, so a stuck
/// client holds nothing for long.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest file a shopper may send in a chat.
pub const MAX_CHAT_FILE_BYTES: usize = 10 * 1024 * 1024;

/// What a shopper may send in a chat: photos and PDFs (a damaged parcel, a receipt). The
/// bytes must be what the type says; no SVG (it can carry script).
const CHAT_FILE_TYPES: [&str; 5] = [
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
];

/// Sockets one chat session may have open at once (its shopper's tabs).
const SOCKETS_PER_SESSION: usize = 5;

/// A shopper may send this many messages at once, then one every two seconds.
const MESSAGE_BURST: u32 = 10;
const MESSAGES_PER_MINUTE: u32 = 30;

pub(crate) fn routes() -> Router<AppState> {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(3600));
    Router::new()
        .route("/widget.js", get(script))
        // `OPTIONS` is routed so that the CORS layer answers browsers' preflight requests
        // (the router's own 405 would otherwise come first).
        .route(
            "/api/widget/v1/sessions",
            post(open_session).options(preflight),
        )
        .route(
            "/api/widget/v1/messages",
            get(transcript).post(say).options(preflight),
        )
        .route("/api/widget/v1/team", get(team).options(preflight))
        .route(
            "/api/widget/v1/files",
            post(send_file)
                .options(preflight)
                .layer(DefaultBodyLimit::max(MAX_CHAT_FILE_BYTES)),
        )
        .route(
            "/api/widget/v1/email",
            post(replies_by_email).options(preflight),
        )
        .route(
            "/api/widget/v1/transcript",
            post(send_transcript).options(preflight),
        )
        .route("/api/widget/v1/ws", get(socket))
        .layer(cors)
}

/// Never reached: the CORS layer answers preflight requests itself.
async fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// The widget's script, built into the binary (`assets/widget.js`).
static SCRIPT: std::sync::LazyLock<Embedded> = std::sync::LazyLock::new(|| {
    Embedded::new(
        "/",
        crate::embedded_files!("widget.js": "text/javascript; charset=utf-8",),
    )
});

/// `GET /widget.js`: the one script a shop puts on its pages.
async fn script(headers: HeaderMap) -> Response {
    SCRIPT.serve("widget.js", &headers)
}

/// The chat side of the live hub: which conversations have a widget open, and the limits.
pub struct Chats {
    watched: Mutex<HashMap<String, watch::Sender<Pulse>>>,
    router: tokio::sync::OnceCell<()>,
    sockets: Arc<Semaphore>,
    open: Arc<Mutex<OpenSockets>>,
    messages: DefaultKeyedRateLimiter<String>,
}

/// Sockets open per chat session and per client address.
#[derive(Default)]
struct OpenSockets {
    per_address_max: usize,
    sessions: HashMap<String, usize>,
    addresses: HashMap<IpAddr, usize>,
}

/// A socket's place under the per-session and per-address caps, given back when dropped.
struct SocketPlace {
    open: Arc<Mutex<OpenSockets>>,
    session: String,
    address: IpAddr,
}

impl Drop for SocketPlace {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        fn give_back<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: &K) {
            if let Some(n) = map.get_mut(key) {
                *n -= 1;
                if *n == 0 {
                    map.remove(key);
                }
            }
        }
        give_back(&mut open.sessions, &self.session);
        give_back(&mut open.addresses, &self.address);
    }
}

/// What changed in a conversation since a socket last looked. Sockets read the store only
/// for what a pulse says may have changed: at a thousand chat messages a second, each read
/// saved is a trip to a database thread saved for every socket of the conversation.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Pulse {
    /// The last event that added or changed one of the conversation's messages.
    message: i64,
    /// The status the last event that gave one said.
    status: Option<ConversationStatus>,
    /// Counts the times the router missed events: then every socket reads everything.
    missed: u64,
    agent_typing: bool,
}

impl Chats {
    /// `max_sockets` open at once, `per_address` of them from one client address.
    pub fn new(max_sockets: usize, per_address: usize) -> Chats {
        let quota = Quota::per_minute(NonZeroU32::new(MESSAGES_PER_MINUTE).expect("not zero"))
            .allow_burst(NonZeroU32::new(MESSAGE_BURST).expect("not zero"));
        Chats {
            watched: Mutex::default(),
            router: Default::default(),
            sockets: Arc::new(Semaphore::new(max_sockets)),
            open: Arc::new(Mutex::new(OpenSockets {
                per_address_max: per_address,
                ..Default::default()
            })),
            messages: RateLimiter::keyed(quota),
        }
    }

    /// Takes a place for a socket of `session` from `address`, unless either has its share
    /// open (429).
    fn place(&self, session: &ChatSession, address: IpAddr) -> Result<SocketPlace, ApiError> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let session_id = session.id.as_str().to_owned();
        let of_session = open.sessions.get(&session_id).copied().unwrap_or(0);
        let of_address = open.addresses.get(&address).copied().unwrap_or(0);
        if of_session >= SOCKETS_PER_SESSION || of_address >= open.per_address_max {
            return Err(ApiError::RateLimited(1));
        }
        *open.sessions.entry(session_id.clone()).or_insert(0) += 1;
        *open.addresses.entry(address).or_insert(0) += 1;
        Ok(SocketPlace {
            open: Arc::clone(&self.open),
            session: session_id,
            address,
        })
    }

    /// Starts the task that routes the live event log to the conversations' sockets (once).
    async fn start(self: &Arc<Self>, live: &Arc<Live>) -> Result<(), ApiError> {
        let chats = Arc::clone(self);
        let live = Arc::clone(live);
        self.router
            .get_or_try_init(|| async move {
                live.start().await?;
                let mut frames = live.subscribe();
                tokio::spawn(async move {
                    loop {
                        match frames.recv().await {
                            Ok(Frame::Event {
                                seq,
                                conversation,
                                message,
                                status,
                                ..
                            }) => {
                                chats.pulse(conversation.as_str(), |p| {
                                    if message {
                                        p.message = seq;
                                    }
                                    p.status = status.or(p.status);
                                });
                            }
                            Ok(Frame::Presence(_, conversation, typing)) => {
                                chats.pulse(&conversation, |p| p.agent_typing = typing);
                            }
                            Ok(Frame::Shopper(_)) => {}
                            Err(broadcast::error::RecvError::Lagged(_)) => {
                                // Some events went by unseen: every socket looks again.
                                let watched =
                                    chats.watched.lock().unwrap_or_else(|e| e.into_inner());
                                for sender in watched.values() {
                                    sender.send_modify(|p| p.missed += 1);
                                }
                            }
                            Err(broadcast::error::RecvError::Closed) => return,
                        }
                    }
                });
                Ok::<(), ApiError>(())
            })
            .await?;
        Ok(())
    }

    fn pulse(&self, conversation: &str, change: impl FnOnce(&mut Pulse)) {
        let watched = self.watched.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sender) = watched.get(conversation) {
            sender.send_modify(change);
        }
    }

    fn watch(self: &Arc<Self>, conversation: &str) -> Watching {
        let mut watched = self.watched.lock().unwrap_or_else(|e| e.into_inner());
        let receiver = watched
            .entry(conversation.to_owned())
            .or_insert_with(|| watch::channel(Pulse::default()).0)
            .subscribe();
        Watching {
            chats: Arc::clone(self),
            conversation: conversation.to_owned(),
            receiver: Some(receiver),
        }
    }

    /// Whether the session may send another message now.
    fn may_send(&self, session: &ChatSession) -> bool {
        self.messages
            .check_key(&session.id.as_str().to_owned())
            .is_ok()
    }
}

/// A socket's subscription to its conversation; the last one to leave removes the entry.
struct Watching {
    chats: Arc<Chats>,
    conversation: String,
    receiver: Option<watch::Receiver<Pulse>>,
}

impl Drop for Watching {
    fn drop(&mut self) {
        drop(self.receiver.take());
        let mut watched = self.chats.watched.lock().unwrap_or_else(|e| e.into_inner());
        if watched
            .get(&self.conversation)
            .is_some_and(|s| s.receiver_count() == 0)
        {
            watched.remove(&self.conversation);
        }
    }
}

/// The chat session a request's token opens: `Authorization: Bearer TOKEN`, or `?token=`
/// on the socket (browsers cannot set headers on a WebSocket).
pub(crate) struct Shopper(ChatSession);

impl FromRequestParts<AppState> for Shopper {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
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
        match state.store.chat_session(token.trim()).await? {
            Some(session) => Ok(Shopper(session)),
            None => Err(ApiError::Unauthenticated),
        }
    }
}

/// Opens a chat: a session whose token the widget keeps, and the id its conversation will
/// have once the shopper writes. `identity` is the shop's word for a logged-in customer
/// (401 when its signature does not match; 422 when no secret is set up).
#[utoipa::path(post, path = "/api/widget/v1/sessions", tag = "chat widget", request_body = OpenChatSession,
    responses((status = 201, body = ChatSessionOut), (status = 401, body = crate::error::ErrorBody)))]
pub(crate) async fn open_session(
    State(state): State<AppState>,
    ClientAddress(source): ClientAddress,
    Json(req): Json<OpenChatSession>,
) -> Result<(StatusCode, axum::Json<ChatSessionOut>), ApiError> {
    let name = optional("name", req.name.as_deref(), PersonName::parse)?;
    let (email, verified) = match req.identity {
        Some(identity) => {
            let Some(secret) = state.config.widget_identity_secret.as_deref() else {
                return Err(ApiError::Validation {
                    field: "identity".into(),
                    message: "identity verification is not set up on this service \
                              (CONCIERGE_WIDGET_IDENTITY_SECRET)"
                        .into(),
                });
            };
            let email =
                crate::error::parse("identity.email", &identity.email, EmailAddress::parse)?;
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
            .map_err(|e| crate::error::invalid(field, e)),
        None => Ok(None),
    }
}

/// The chat's public messages (after `after`), oldest first, and where it stands: the
/// widget's way to read without a socket.
#[utoipa::path(get, path = "/api/widget/v1/messages", tag = "chat widget", params(ChatAfter),
    responses((status = 200, body = ChatTranscript)), security(("widget_session" = [])))]
pub(crate) async fn transcript(
    State(state): State<AppState>,
    Shopper(session): Shopper,
    Query(q): Query<ChatAfter>,
) -> Result<axum::Json<ChatTranscript>, ApiError> {
    let after = match q.after.as_deref().and_then(|a| MessageId::parse(a).ok()) {
        Some(a) => state
            .store
            .message_number(&session.conversation_id, &a)
            .await?
            .unwrap_or(0),
        None => 0,
    };
    let messages = state
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

/// `GET /api/widget/v1/team`: whether anyone on the team can answer now (within business
/// hours, with an agent online), when it is next in while closed — the instant, and `opens`,
/// the words the widget shows: the shop's time, written as the assistant writes it in our
/// (English) wording, so the panel and the chat never give two times — and the usual wait
/// for a first answer, so the widget can say so (and offer email when nobody can).
#[utoipa::path(get, path = "/api/widget/v1/team", tag = "chat widget",
    responses((status = 200, body = ChatTeamOut)))]
pub(crate) async fn team(
    State(state): State<AppState>,
) -> Result<axum::Json<ChatTeamOut>, ApiError> {
    let staffing = state.store.chat_staffing().await?;
    let opens = match &staffing.opening {
        Some(o) => Some(
            state
                .store
                .calendar(Language::English)
                .await?
                .day_time(o.at),
        ),
        None => None,
    };
    Ok(axum::Json(ChatTeamOut {
        online: staffing.answering(),
        open: staffing.open,
        opens_at: staffing.opening.as_ref().map(|o| o.at),
        opens,
        typical_wait_minutes: staffing.typical_wait.map(|w| w.num_minutes().max(1)),
    }))
}

/// `POST /api/widget/v1/email`: "reply to me by email too, at this address". The team's
/// answers in the chat are then mailed there as well, and a reply to that mail comes back
/// to the chat's conversation. An address the shop did not vouch for is first sent a link
/// to prove it is the shopper's (202); the replies follow the click.
#[utoipa::path(post, path = "/api/widget/v1/email", tag = "chat widget", request_body = RepliesByEmail,
    responses((status = 200, body = RepliesByEmailOut, description = "answers are mailed from now on"),
        (status = 202, body = RepliesByEmailOut, description = "a link was mailed to prove the address first"),
        (status = 429, body = crate::error::ErrorBody, description = "`mail_limit`: the address, or this client, had its share of mail from chats today (or `rate_limited`)"),
        (status = 503, body = crate::error::ErrorBody, description = "`mail_unavailable`: this shop sends no email (or `service_unavailable`)")),
    security(("widget_session" = [])))]
pub(crate) async fn replies_by_email(
    State(state): State<AppState>,
    Shopper(session): Shopper,
    ClientAddress(source): ClientAddress,
    Json(req): Json<RepliesByEmail>,
) -> Result<(StatusCode, axum::Json<RepliesByEmailOut>), ApiError> {
    let email = if session.verified {
        // A vouched-for shopper's address is the shop's word; it is not replaced.
        session.email.clone().ok_or(ApiError::Unauthenticated)?
    } else {
        crate::error::parse("email", req.email.trim(), EmailAddress::parse)?
    };
    let outcome = ask_for_mail(&state, &session, &email, ChatMail::Replies, source).await?;
    let confirming = outcome == ChatMailOutcome::ConfirmationSent;
    Ok((
        if confirming {
            StatusCode::ACCEPTED
        } else {
            StatusCode::OK
        },
        axum::Json(RepliesByEmailOut {
            email: email.as_str().to_owned(),
            replies_by_email: !confirming,
            confirmation_sent: confirming,
        }),
    ))
}

/// `POST /api/widget/v1/transcript`: mails the shopper the chat so far, at the session's
/// address (given at the start, or with `/email`). `status` says what happened: `queued`,
/// or `confirmation_sent` when the address must first be proved the shopper's by the link
/// mailed to it (the chat follows the click).
#[utoipa::path(post, path = "/api/widget/v1/transcript", tag = "chat widget",
    responses((status = 202, body = TranscriptMailOut),
        (status = 422, body = crate::error::ErrorBody, description = "`validation_failed`: no address yet (`email`), or nothing said yet (`messages`)"),
        (status = 429, body = crate::error::ErrorBody, description = "`mail_limit`: the address, or this client, had its share of mail from chats today (or `rate_limited`)"),
        (status = 503, body = crate::error::ErrorBody, description = "`mail_unavailable`: this shop sends no email (or `service_unavailable`)")),
    security(("widget_session" = [])))]
pub(crate) async fn send_transcript(
    State(state): State<AppState>,
    Shopper(session): Shopper,
    ClientAddress(source): ClientAddress,
) -> Result<(StatusCode, axum::Json<TranscriptMailOut>), ApiError> {
    let Some(email) = session.email.clone() else {
        return Err(ApiError::Validation {
            field: "email".into(),
            message: "leave an email address first (POST /api/widget/v1/email)".into(),
        });
    };
    let status = match ask_for_mail(&state, &session, &email, ChatMail::Transcript, source).await {
        Ok(ChatMailOutcome::ConfirmationSent) => TranscriptMailStatus::ConfirmationSent,
        Ok(_) => TranscriptMailStatus::Queued,
        Err(ApiError::NotFound(_)) => {
            return Err(ApiError::Validation {
                field: "messages".into(),
                message: "nothing has been said in this chat yet".into(),
            })
        }
        Err(e) => return Err(e),
    };
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(TranscriptMailOut {
            email: email.as_str().to_owned(),
            status,
        }),
    ))
}

/// Asks the store for mail from a chat, when this service can send mail at all.
async fn ask_for_mail(
    state: &AppState,
    session: &ChatSession,
    email: &EmailAddress,
    what: ChatMail,
    source: IpAddr,
) -> Result<ChatMailOutcome, ApiError> {
    if !state.config.outbound_mail {
        return Err(ApiError::NoOutboundMail);
    }
    let outcome = state
        .store
        .ask_for_chat_mail(session, email, what, &source.to_string())
        .await?;
    if outcome == ChatMailOutcome::TooMuchMail {
        return Err(ApiError::MailLimit);
    }
    poke_worker(state);
    Ok(outcome)
}

/// `POST /api/widget/v1/files?filename=…&client_id=…`: a photo or PDF the shopper sends,
/// as the raw body with its `Content-Type`. Stored as a message named for the file, which
/// the team sees with the file attached.
#[utoipa::path(post, path = "/api/widget/v1/files", tag = "chat widget", params(ChatFileQuery),
    request_body(description = "the file's bytes (at most 10 MiB), with its type",
        content((Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/gif"), (Vec<u8> = "image/webp"), (Vec<u8> = "application/pdf"))),
    responses((status = 201, body = ChatMessageOut, description = "stored"),
        (status = 200, body = ChatMessageOut, description = "stored before under this `client_id`"),
        (status = 422, body = crate::error::ErrorBody, description = "`validation_failed`: not a photo or PDF, or not what its type says (`content_type`), or a bad `filename`"),
        (status = 429, body = crate::error::ErrorBody, description = "`rate_limited`: the chat's messages come too fast (10 at once, then one every two seconds), or the address's requests")),
    security(("widget_session" = [])))]
pub(crate) async fn send_file(
    State(state): State<AppState>,
    Shopper(session): Shopper,
    Query(q): Query<ChatFileQuery>,
    headers: HeaderMap,
    bytes: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, axum::Json<ChatMessageOut>), ApiError> {
    if !state.chats.may_send(&session) {
        return Err(ApiError::RateLimited(2));
    }
    let bytes = crate::routes::raw_body(bytes, MAX_CHAT_FILE_BYTES)?;
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
    let filename = crate::routes::articles::file_name(&q.filename)?;
    let (_, client_id) = chat_message(&filename, q.client_id.as_deref())?;
    let files = state.config.files.clone().ok_or(ApiError::Unavailable)?;
    let size_bytes = bytes.len() as i64;
    let storage_key = files.put(bytes.to_vec()).await?;
    let intent = concierge_intents::read(&filename);
    let said = state
        .store
        .chat_send_file(
            &session,
            NewAttachment {
                id: AttachmentId::generate(),
                filename,
                content_type: content_type.to_owned(),
                size_bytes,
                storage_key,
            },
            intent,
            client_id,
        )
        .await?;
    let status = if said.new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        axum::Json(ChatMessageOut::new(&said.message, client_id)),
    ))
}

/// A shopper's message, without a socket: the same as the socket's `message` frame.
#[utoipa::path(post, path = "/api/widget/v1/messages", tag = "chat widget", request_body = SayInChat,
    responses((status = 201, body = ChatMessageOut, description = "stored"),
        (status = 200, body = ChatMessageOut, description = "stored before under this `client_id`"),
        (status = 429, body = crate::error::ErrorBody, description = "`rate_limited`: the chat's messages come too fast (10 at once, then one every two seconds), or the address's requests")),
    security(("widget_session" = [])))]
pub(crate) async fn say(
    State(state): State<AppState>,
    Shopper(session): Shopper,
    Json(req): Json<SayInChat>,
) -> Result<(StatusCode, axum::Json<ChatMessageOut>), ApiError> {
    if !state.chats.may_send(&session) {
        return Err(ApiError::RateLimited(2));
    }
    let (body, client_id) = chat_message(&req.body, req.client_id.as_deref())?;
    let said = state
        .store
        .chat_say(&session, shoppers(body), client_id)
        .await?;
    poke_worker(&state);
    let status = if said.new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        axum::Json(ChatMessageOut::new(&said.message, client_id)),
    ))
}

/// A chat message and its client id, checked.
fn chat_message<'a>(
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
    let body = crate::error::parse("body", body, MessageBody::parse)?;
    let client_id = client_id.map(str::trim).filter(|c| !c.is_empty());
    if client_id.is_some_and(|c| c.chars().count() > 64) {
        return Err(ApiError::Validation {
            field: "client_id".into(),
            message: "client_id is at most 64 characters".into(),
        });
    }
    Ok((body, client_id))
}

/// Work a message queued (the assistant's answer) is due now: the worker need not wait for
/// its next look at the queue.
fn poke_worker(state: &AppState) {
    if let Some(worker) = &state.config.worker {
        worker.notify_one();
    }
}

async fn status_of(state: &AppState, session: &ChatSession) -> Result<ChatStatus, ApiError> {
    match state.store.conversation(&session.conversation_id).await {
        Ok(c) => Ok(c.lifecycle.status.into()),
        // No message yet, so no conversation yet.
        Err(concierge_store::StoreError::NotFound(_)) => Ok(ChatStatus::New),
        Err(e) => Err(e.into()),
    }
}

/// A message as the socket's `message` frame.
fn message_frame(m: &Message, client_id: Option<&str>) -> Value {
    serde_json::to_value(ChatMessageOut::new(m, client_id)).unwrap_or_else(|_| json!({}))
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientFrame {
    Message {
        body: String,
        client_id: Option<String>,
    },
    Typing,
}

/// The chat's WebSocket (see the module's comment for its frames): every message of the
/// chat as it is stored, the status as it changes, agents typing. 426 without the upgrade
/// handshake; 429 past 5 sockets for a session or the address's share; 503 when the
/// service's sockets are all taken.
#[utoipa::path(get, path = "/api/widget/v1/ws", tag = "chat widget", params(ChatSocketQuery),
    responses((status = 101, description = "switched to the WebSocket protocol"),
        (status = 426, body = crate::error::ErrorBody, description = "`upgrade_required`: not a WebSocket handshake"),
        (status = 429, body = crate::error::ErrorBody, description = "`rate_limited`: this session or address has its share of sockets open, or the address's requests")),
    security(("widget_session" = [])))]
pub(crate) async fn socket(
    State(state): State<AppState>,
    Shopper(session): Shopper,
    ClientAddress(address): ClientAddress,
    Query(q): Query<ChatSocketQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let upgrade = upgrade.map_err(|_| ApiError::UpgradeRequired)?;
    let place = state.chats.place(&session, address)?;
    let permit = Arc::clone(&state.chats.sockets)
        .try_acquire_owned()
        .map_err(|_| ApiError::Busy)?;
    state.chats.start(&state.live).await?;
    let after = q.after.as_deref().and_then(|a| MessageId::parse(a).ok());
    // Small buffers: a widget's frames are small, and thousands of sockets stay open at once.
    Ok(upgrade
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .on_upgrade(move |ws| serve(state, session, ws, after, (permit, place))))
}

/// What one socket has told its widget so far.
struct Told {
    /// The number of the last message sent from the store.
    last: i64,
    /// Messages echoed on receipt, not to be sent again when the store read reaches them.
    echoed: HashSet<MessageId>,
    status: Option<ChatStatus>,
    /// What of the last pulse was looked at.
    pulse: Pulse,
    agent_typing: bool,
    /// When agents were last told the shopper is typing (at most every two seconds).
    typing_told: Option<tokio::time::Instant>,
}

async fn serve(
    state: AppState,
    session: ChatSession,
    mut ws: WebSocket,
    after: Option<MessageId>,
    _places: (OwnedSemaphorePermit, SocketPlace),
) {
    let mut watching = state.chats.watch(session.conversation_id.as_str());
    let mut pulses = watching.receiver.take().expect("just made");
    watching.receiver = Some(pulses.clone());
    let mut shutdown = state.config.shutdown.clone();
    let stopping = async move {
        match shutdown.as_mut() {
            Some(s) => drop(s.wait_for(|stop| *stop).await),
            None => std::future::pending().await,
        }
    };
    tokio::pin!(stopping);
    let result: Result<(), ()> = async {
        // Subscribed first, then read: nothing committed from here on is missed.
        let last = match &after {
            Some(a) => state
                .store
                .message_number(&session.conversation_id, a)
                .await
                .map_err(drop)?
                .unwrap_or(0),
            None => 0,
        };
        let mut told = Told {
            last,
            echoed: HashSet::new(),
            status: None,
            pulse: *pulses.borrow_and_update(),
            agent_typing: false,
            typing_told: None,
        };
        catch_up(&state, &session, &mut ws, &mut told, Look::EVERYTHING).await?;
        loop {
            tokio::select! {
                () = &mut stopping => return Ok(()),
                changed = pulses.changed() => {
                    if changed.is_err() {
                        return Err(());
                    }
                    let pulse = *pulses.borrow_and_update();
                    if pulse.agent_typing != told.agent_typing {
                        told.agent_typing = pulse.agent_typing;
                        send(&mut ws, json!({"type": "typing", "sender_type": "agent", "active": pulse.agent_typing})).await?;
                    }
                    let look = Look {
                        messages: pulse.missed != told.pulse.missed || pulse.message != told.pulse.message,
                        // A status is read from the store, never taken from the pulse: a
                        // pulse may carry an event older than the socket's first read.
                        status: pulse.missed != told.pulse.missed
                            || pulse.status.is_some_and(|s| Some(ChatStatus::from(s)) != told.status),
                    };
                    told.pulse = pulse;
                    catch_up(&state, &session, &mut ws, &mut told, look).await?;
                }
                incoming = ws.recv() => {
                    let Some(Ok(message)) = incoming else { return Ok(()) };
                    let text = match message {
                        WsMessage::Text(text) => text,
                        WsMessage::Close(_) => return Ok(()),
                        _ => continue,
                    };
                    received(&state, &session, &mut ws, &mut told, &text).await?;
                }
            }
        }
    }
    .await;
    if result.is_ok() {
        let _ = ws.send(WsMessage::Close(None)).await;
    }
}

/// Handles one frame from the widget. A bad frame is answered with an error frame; only a
/// broken socket ends the loop.
async fn received(
    state: &AppState,
    session: &ChatSession,
    ws: &mut WebSocket,
    told: &mut Told,
    text: &Utf8Bytes,
) -> Result<(), ()> {
    let frame = match serde_json::from_str::<ClientFrame>(text) {
        Ok(frame) => frame,
        Err(_) => {
            return send(
                ws,
                error_frame("invalid_frame", "not a frame this socket understands"),
            )
            .await;
        }
    };
    match frame {
        ClientFrame::Typing => {
            let now = tokio::time::Instant::now();
            if told
                .typing_told
                .is_none_or(|t| now - t >= Duration::from_secs(2))
            {
                told.typing_told = Some(now);
                state.live.shopper_typing(&session.conversation_id);
            }
            Ok(())
        }
        ClientFrame::Message { body, client_id } => {
            if !state.chats.may_send(session) {
                return send(
                    ws,
                    error_frame("rate_limited", "too many messages; wait a moment"),
                )
                .await;
            }
            let (body, client_id) = match chat_message(&body, client_id.as_deref()) {
                Ok(checked) => checked,
                Err(e) => return send(ws, error_frame("validation_failed", &e.to_string())).await,
            };
            match state
                .store
                .chat_say(session, shoppers(body), client_id)
                .await
            {
                Ok(said) => {
                    poke_worker(state);
                    told.echoed.insert(said.message.id.clone());
                    send(ws, message_frame(&said.message, client_id)).await
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a chat message could not be stored");
                    send(
                        ws,
                        error_frame("not_stored", "the message was not stored; send it again"),
                    )
                    .await
                }
            }
        }
    }
}

/// What a socket reads again.
#[derive(Clone, Copy)]
struct Look {
    messages: bool,
    status: bool,
}

impl Look {
    const EVERYTHING: Look = Look {
        messages: true,
        status: true,
    };
}

/// Sends what the store holds that this widget has not seen, and the status if it changed.
async fn catch_up(
    state: &AppState,
    session: &ChatSession,
    ws: &mut WebSocket,
    told: &mut Told,
    look: Look,
) -> Result<(), ()> {
    if look.messages {
        let fresh = state
            .store
            .messages_after(&session.conversation_id, told.last, true)
            .await
            .map_err(drop)?;
        for (seq, m) in fresh {
            told.last = seq;
            if !told.echoed.remove(&m.id) {
                send(ws, message_frame(&m, None)).await?;
            }
        }
    }
    if !look.status {
        return Ok(());
    }
    let status = status_of(state, session).await.map_err(drop)?;
    if Some(status) != told.status {
        told.status = Some(status);
        send(ws, json!({"type": "status", "status": status.as_str()})).await?;
    }
    Ok(())
}

fn error_frame(code: &str, message: &str) -> Value {
    json!({"type": "error", "code": code, "message": message})
}

async fn send(ws: &mut WebSocket, frame: Value) -> Result<(), ()> {
    let text = WsMessage::Text(frame.to_string().into());
    match tokio::time::timeout(SEND_TIMEOUT, ws.send(text)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

/// A shopper's chat message, read for its intent before it reaches the store.
fn shoppers(body: MessageBody) -> NewMessage {
    let intent = concierge_intents::read(body.as_str());
    NewMessage::from_shopper(body, intent)
}
