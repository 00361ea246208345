//! The widget's WebSocket: every message of the chat as it is stored, the status as it
//! changes, agents typing; and the shopper's messages and typing the other way.
//!
//! Client frames ([`ClientFrame`]): `{"type": "message", "body", "client_id"?}` (`client_id`,
//! any string up to 64 characters, makes a resend after a lost acknowledgement harmless),
//! `{"type": "typing"}`. Server frames: `{"type": "message", "id", "sender_type", "body",
//! "created_at", "client_id"?}` ([`ChatMessageOut`]) — a shopper's message is echoed with its
//! id once stored —, and ([`ChatFrame`]) `{"type": "typing", "sender_type": "agent",
//! "active"}`, `{"type": "status", "status"}`, and `{"type": "error", "code", "message"}` for
//! a frame that was refused (the socket stays open).
//!
//! A socket sleeps until the hub ([`crate::hub`]) pulses its conversation, then reads from
//! the store what the pulse says may have changed (messages after the last it sent).

use crate::hub::{Pulse, SocketPlace};
use crate::messages::{chat_message, shoppers, status_of};
use crate::session::Shopper;
use crate::wire::{
    ChatFrame, ChatMessageOut, ChatSocketQuery, ChatStatus, ClientFrame, FrameRefusal, SenderKind,
};
use crate::ChatState;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message as WsMessage, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use concierge_api::error::ApiError;
use concierge_api::extract::Query;
use concierge_api::rate::ClientAddress;
use concierge_domain::ids::MessageId;
use concierge_store::chat::ChatSession;
use serde::Serialize;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;

/// The largest frame a widget may send; a larger one closes its socket.
const MAX_FRAME_BYTES: usize = 16 * 1024;
/// A socket whose shopper's browser stops reading is dropped after this long, so a stuck
/// client holds nothing for long.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The chat's WebSocket (see the module's comment for its frames): every message of the
/// chat as it is stored, the status as it changes, agents typing. 426 without the upgrade
/// handshake; 429 past 5 sockets for a session or the address's share; 503 when the
/// service's sockets are all taken.
#[utoipa::path(get, path = "/api/widget/v1/ws", tag = "chat widget", params(ChatSocketQuery),
    responses((status = 101, description = "switched to the WebSocket protocol"),
        (status = 426, body = concierge_api::error::ErrorBody, description = "`upgrade_required`: not a WebSocket handshake"),
        (status = 429, body = concierge_api::error::ErrorBody, description = "`rate_limited`: this session or address has its share of sockets open, or the address's requests")),
    security(("widget_session" = [])))]
pub(crate) async fn socket(
    State(state): State<ChatState>,
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
    state.chats.start(state.service.live()).await?;
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
    state: ChatState,
    session: ChatSession,
    mut ws: WebSocket,
    after: Option<MessageId>,
    _places: (OwnedSemaphorePermit, SocketPlace),
) {
    let watching = state.chats.watch(session.conversation_id.as_str());
    let mut pulses = watching.pulses();
    let mut shutdown = state.service.config.shutdown.clone();
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
                .service
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
        Box::pin(catch_up(&state, &session, &mut ws, &mut told, Look::EVERYTHING)).await?;
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
                        send(&mut ws, &ChatFrame::Typing { sender_type: SenderKind::Agent, active: pulse.agent_typing }).await?;
                    }
                    let look = Look {
                        messages: pulse.missed != told.pulse.missed || pulse.message != told.pulse.message,
                        // A status is read from the store, never taken from the pulse: a
                        // pulse may carry an event older than the socket's first read.
                        status: pulse.missed != told.pulse.missed
                            || pulse.status.is_some_and(|s| Some(ChatStatus::from(s)) != told.status),
                    };
                    told.pulse = pulse;
                    Box::pin(catch_up(&state, &session, &mut ws, &mut told, look)).await?;
                }
                incoming = ws.recv() => {
                    let Some(Ok(message)) = incoming else { return Ok(()) };
                    let text = match message {
                        WsMessage::Text(text) => text,
                        WsMessage::Close(_) => return Ok(()),
                        _ => continue,
                    };
                    // Boxed, like the catch-ups: the futures that read and write the store are
                    // large, and an idle socket's task should not carry their room.
                    Box::pin(received(&state, &session, &mut ws, &mut told, &text)).await?;
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
    state: &ChatState,
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
                &refusal(
                    FrameRefusal::InvalidFrame,
                    "not a frame this socket understands",
                ),
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
                state
                    .service
                    .live()
                    .shopper_typing(&session.conversation_id);
            }
            Ok(())
        }
        ClientFrame::Message { body, client_id } => {
            if !state.chats.may_send(session) {
                return send(
                    ws,
                    &refusal(
                        FrameRefusal::RateLimited,
                        "too many messages; wait a moment",
                    ),
                )
                .await;
            }
            let (body, client_id) = match chat_message(&body, client_id.as_deref()) {
                Ok(checked) => checked,
                Err(e) => {
                    return send(ws, &refusal(FrameRefusal::ValidationFailed, &e.to_string())).await
                }
            };
            match state
                .service
                .store
                .chat_say(session, session.inbound(shoppers(body), client_id))
                .await
            {
                Ok(said) => {
                    state.poke_worker();
                    told.echoed.insert(said.message.id.clone());
                    send(ws, &ChatMessageOut::new(&said.message, client_id)).await
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a chat message could not be stored");
                    send(
                        ws,
                        &refusal(
                            FrameRefusal::NotStored,
                            "the message was not stored; send it again",
                        ),
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
    state: &ChatState,
    session: &ChatSession,
    ws: &mut WebSocket,
    told: &mut Told,
    look: Look,
) -> Result<(), ()> {
    if look.messages {
        let fresh = state
            .service
            .store
            .messages_after(&session.conversation_id, told.last, true)
            .await
            .map_err(drop)?;
        for (seq, m) in fresh {
            told.last = seq;
            if !told.echoed.remove(&m.id) {
                send(ws, &ChatMessageOut::new(&m, None)).await?;
            }
        }
    }
    if !look.status {
        return Ok(());
    }
    let status = status_of(state, session).await.map_err(drop)?;
    if Some(status) != told.status {
        told.status = Some(status);
        send(ws, &ChatFrame::Status { status }).await?;
    }
    Ok(())
}

/// The error frame refusing a frame from the widget.
fn refusal(code: FrameRefusal, message: &str) -> ChatFrame {
    ChatFrame::Error {
        code,
        message: message.to_owned(),
    }
}

/// Sends one frame; an error ends the socket (its widget connects again and catches up).
async fn send(ws: &mut WebSocket, frame: &impl Serialize) -> Result<(), ()> {
    let text = serde_json::to_string(frame).map_err(|e| {
        tracing::error!(error = %e, "a chat frame could not be written as JSON");
    })?;
    match tokio::time::timeout(SEND_TIMEOUT, ws.send(WsMessage::Text(text.into()))).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}
