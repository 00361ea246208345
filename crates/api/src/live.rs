//! Live updates for agents' browsers: `GET /api/v1/live` upgrades to a WebSocket that pushes
//! every committed change from the event log, and who else is viewing or typing in a
//! conversation (collision detection).
//!
//! One task per process reads the log as it grows and broadcasts each event to every socket;
//! a socket that connects with `?after=N`, or falls behind the broadcast, reads what it
//! missed from the log itself, so a reconnecting browser loses nothing. Presence is kept in
//! memory: it describes who is here now, and is worthless after a restart.
//!
//! Server frames (JSON text):
//! - `{"type": "hello", "last_event_id"}` once, first;
//! - `{"type": "event", "id", "kind", "conversation_id", "data", "at"}` for each change, in
//!   order (`kind`: `conversation.created`, `conversation.updated`, `message.created`);
//! - `{"type": "presence", "conversation_id", "agents": [{"id", "name", "typing"}]}`;
//! - `{"type": "reset"}` when more was missed than is worth replaying: reload the page.
//!
//! Client frames: `{"type": "viewing", "conversation_id"}`, `{"type": "typing",
//! "conversation_id", "active"?}`, `{"type": "left"}`.

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Query;
use crate::AppState;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::Response;
use concierge_domain::access::Actor;
use concierge_domain::conversation::ConversationStatus;
use concierge_domain::ids::{AgentId, ConversationId};
use concierge_store::events::Event;
use concierge_store::Store;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, OwnedSemaphorePermit, Semaphore};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Events read from the log at a time.
const READ_BATCH: u32 = 500;
/// Past this many missed events a socket is told to reload instead of replaying them.
const MAX_REPLAY: usize = 5_000;
/// How long the event log keeps events, and how often older ones are deleted.
const KEEP_EVENTS: chrono::Duration = chrono::Duration::days(2);
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);
/// Frames the broadcast holds for slow sockets before they must catch up from the log.
const BROADCAST_CAPACITY: usize = 4_096;
/// How often an agent's open workspace marks them online; well inside the store's online
/// window (`concierge_store::chat::ONLINE_WINDOW_SECONDS`).
const SEEN_EVERY: std::time::Duration = std::time::Duration::from_secs(60);
/// One socket changes what it shows of its agent (where it views, whether it types) at most
/// this often; changes asked for sooner are folded into the next, so a socket sending
/// thousands of frames costs every other agent a handful.
const PRESENCE_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(socket))
}

/// A frame for every socket, with what the chat hub (`concierge-chat`) needs to route it.
#[derive(Clone, Debug)]
pub enum Frame {
    /// An event from the log, with what a chat widget's socket needs of it.
    Event {
        seq: i64,
        frame: Utf8Bytes,
        conversation: ConversationId,
        /// Whether messages were added or changed.
        message: bool,
        /// The conversation's status after the event, when the event gives it.
        status: Option<ConversationStatus>,
    },
    /// Who is viewing a conversation: the frame, the conversation, and whether an agent
    /// is typing there.
    Presence(Utf8Bytes, String, bool),
    /// A shopper is typing in a chat (for agents' sockets only).
    Shopper(Utf8Bytes),
}

#[derive(Clone)]
struct Viewer {
    socket: u64,
    agent_id: String,
    name: String,
    typing: bool,
}

/// The live hub of one process.
pub struct Live {
    store: Store,
    frames: broadcast::Sender<Frame>,
    presence: Mutex<HashMap<String, Vec<Viewer>>>,
    sockets: Arc<Semaphore>,
    next_socket: AtomicU64,
    reader: tokio::sync::OnceCell<()>,
    shutdown: Option<tokio::sync::watch::Receiver<bool>>,
}

impl Live {
    pub fn new(
        store: Store,
        max_sockets: usize,
        shutdown: Option<tokio::sync::watch::Receiver<bool>>,
    ) -> Live {
        Live {
            store,
            frames: broadcast::channel(BROADCAST_CAPACITY).0,
            presence: Mutex::default(),
            sockets: Arc::new(Semaphore::new(max_sockets)),
            next_socket: AtomicU64::new(1),
            reader: Default::default(),
            shutdown,
        }
    }

    /// Every frame from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Frame> {
        self.frames.subscribe()
    }

    /// Starts the task that broadcasts the log as it grows (once per process).
    pub async fn start(self: &Arc<Self>) -> Result<(), ApiError> {
        let live = Arc::clone(self);
        self.reader
            .get_or_try_init(|| async move {
                let mut signal = live.store.event_signal().await?;
                let mut last = live.store.last_event_seq().await?;
                let pruner = live.store.clone();
                tokio::spawn(async move {
                    let mut hourly = tokio::time::interval(PRUNE_EVERY);
                    loop {
                        hourly.tick().await;
                        let before = chrono::Utc::now() - KEEP_EVENTS;
                        if let Err(e) = pruner.prune_events(before).await {
                            tracing::warn!(error = %e, "pruning the event log failed");
                        }
                    }
                });
                tokio::spawn(async move {
                    loop {
                        signal.borrow_and_update();
                        loop {
                            let events = match live.store.events_after(last, READ_BATCH).await {
                                Ok(events) => events,
                                Err(e) => {
                                    tracing::warn!(error = %e, "reading the event log failed");
                                    break;
                                }
                            };
                            for e in &events {
                                last = e.seq;
                                // No receivers is fine: nobody is watching.
                                let _ = live.frames.send(Frame::Event {
                                    seq: e.seq,
                                    frame: event_frame(e),
                                    conversation: e.conversation_id.clone(),
                                    message: e.touches_messages(),
                                    status: e.status(),
                                });
                            }
                            if events.len() < READ_BATCH as usize {
                                break;
                            }
                        }
                        if signal.changed().await.is_err() {
                            return;
                        }
                    }
                });
                Ok::<(), ApiError>(())
            })
            .await?;
        Ok(())
    }

    fn set_presence(&self, conversation: &str, viewer: Option<Viewer>, socket: u64) {
        let frame = {
            let mut map = self.presence.lock().unwrap_or_else(|e| e.into_inner());
            let viewers = map.entry(conversation.to_owned()).or_default();
            viewers.retain(|v| v.socket != socket);
            if let Some(v) = viewer {
                viewers.push(v);
            }
            let frame = presence_frame(conversation, viewers);
            let typing = viewers.iter().any(|v| v.typing);
            if viewers.is_empty() {
                map.remove(conversation);
            }
            (frame, typing)
        };
        let (frame, typing) = frame;
        let _ = self
            .frames
            .send(Frame::Presence(frame, conversation.to_owned(), typing));
    }

    /// Tells agents' sockets that the shopper is typing in a chat:
    /// `{"type": "typing", "conversation_id", "sender_type": "customer"}`.
    pub fn shopper_typing(&self, conversation: &ConversationId) {
        let frame = json!({ "type": "typing", "conversation_id": conversation.as_str(), "sender_type": "customer" });
        let _ = self.frames.send(Frame::Shopper(frame.to_string().into()));
    }

    fn presence_of(&self, conversation: &str) -> Utf8Bytes {
        let map = self.presence.lock().unwrap_or_else(|e| e.into_inner());
        presence_frame(conversation, map.get(conversation).map_or(&[][..], |v| v))
    }
}

fn event_frame(e: &Event) -> Utf8Bytes {
    json!({
        "type": "event",
        "id": e.seq,
        "kind": e.kind.as_str(),
        "conversation_id": e.conversation_id.as_str(),
        "data": e.data,
        "at": e.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    })
    .to_string()
    .into()
}

fn presence_frame(conversation: &str, viewers: &[Viewer]) -> Utf8Bytes {
    let agents: Vec<_> = viewers
        .iter()
        .map(|v| json!({ "id": v.agent_id, "name": v.name, "typing": v.typing }))
        .collect();
    json!({ "type": "presence", "conversation_id": conversation, "agents": agents })
        .to_string()
        .into()
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LiveQuery {
    /// The last event id the client saw; events after it are replayed.
    after: Option<i64>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientFrame {
    Viewing {
        conversation_id: String,
    },
    Typing {
        conversation_id: String,
        #[serde(default = "yes")]
        active: bool,
    },
    Left,
}

fn yes() -> bool {
    true
}

/// Whether a browser's `Origin` is this service's own host. Cookies ride along with
/// WebSocket handshakes from any page, so a cookie-authenticated socket must come from ours.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        // Not a browser: no cookie was forged into this.
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

/// Live updates over a WebSocket: every change to conversations as it commits (resume with
/// `after`, the last event id seen), and who is viewing or typing where. Frames are described
/// in the README.
#[utoipa::path(get, path = "/api/v1/live", tag = "live", params(LiveQuery),
    responses((status = 101, description = "switching to the WebSocket protocol"), (status = 401, body = crate::error::ErrorBody),
        (status = 426, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)), security(("bearer" = [])))]
pub(crate) async fn socket(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(q): Query<LiveQuery>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let upgrade = upgrade.map_err(|_| ApiError::UpgradeRequired)?;
    let cookie_auth = !headers.contains_key(header::AUTHORIZATION);
    if cookie_auth && !same_origin(&headers) {
        return Err(ApiError::Forbidden(
            "live updates are only served to this site's own pages",
        ));
    }
    let permit = Arc::clone(&state.live.sockets)
        .try_acquire_owned()
        .map_err(|_| ApiError::Busy)?;
    state.live.start().await?;
    let who = match &caller.actor {
        Actor::Agent(id) => {
            let agent = state.store.agent(id).await?;
            Some((agent.id, agent.name))
        }
        _ => None,
    };
    let live = Arc::clone(&state.live);
    Ok(upgrade
        .max_message_size(4096)
        .on_upgrade(move |ws| serve(live, ws, q.after, who, permit)))
}

async fn serve(
    live: Arc<Live>,
    mut ws: WebSocket,
    after: Option<i64>,
    who: Option<(AgentId, String)>,
    _permit: OwnedSemaphorePermit,
) {
    let socket = live.next_socket.fetch_add(1, Ordering::Relaxed);
    // Subscribed before reading the log, so nothing committed from here on is missed.
    let mut frames = live.frames.subscribe();
    let mut presence = Presence {
        socket,
        who,
        shown: None,
        wanted: None,
        next_change: tokio::time::Instant::now(),
    };
    let mut shutdown = live.shutdown.clone();
    let stopping = async move {
        match shutdown.as_mut() {
            Some(s) => drop(s.wait_for(|stop| *stop).await),
            None => std::future::pending().await,
        }
    };
    tokio::pin!(stopping);
    let result = async {
        let head = live.store.last_event_seq().await.map_err(drop)?;
        let hello = json!({ "type": "hello", "last_event_id": head }).to_string();
        send(&mut ws, hello.into()).await?;
        let mut sent = after.unwrap_or(head);
        sent = replay(&live, &mut ws, sent).await?;
        // An agent with the workspace open is online: the assistant tells shoppers so.
        let mut seen = tokio::time::interval(SEEN_EVERY);
        loop {
            tokio::select! {
                () = &mut stopping => return Ok(()),
                _ = seen.tick(), if presence.who.is_some() => {
                    if let Some((agent_id, _)) = &presence.who {
                        if let Err(e) = live.store.agent_seen(agent_id).await {
                            tracing::warn!(error = %e, "cannot mark the agent online");
                        }
                    }
                }
                () = tokio::time::sleep_until(presence.next_change), if presence.waiting() => {
                    presence.show(&live, &mut ws).await?;
                }
                frame = frames.recv() => match frame {
                    Ok(Frame::Event { seq, frame, .. }) => {
                        if seq > sent {
                            send(&mut ws, frame).await?;
                            sent = seq;
                        }
                    }
                    Ok(Frame::Presence(text, _, _) | Frame::Shopper(text)) => send(&mut ws, text).await?,
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        sent = replay(&live, &mut ws, sent).await?;
                    }
                    Err(broadcast::error::RecvError::Closed) => return Err(()),
                },
                incoming = ws.recv() => {
                    let Some(Ok(message)) = incoming else { return Ok(()) };
                    let Message::Text(text) = message else { continue };
                    let Ok(frame) = serde_json::from_str::<ClientFrame>(&text) else { continue };
                    if presence.who.is_none() {
                        continue;
                    }
                    let wanted = match frame {
                        ClientFrame::Viewing { conversation_id } => Some((conversation_id, false)),
                        ClientFrame::Typing { conversation_id, active } => Some((conversation_id, active)),
                        ClientFrame::Left => None,
                    };
                    presence.wanted = Some(wanted.filter(|(c, _)| ConversationId::parse(c).is_ok()));
                    if presence.waiting() && tokio::time::Instant::now() >= presence.next_change {
                        presence.show(&live, &mut ws).await?;
                    }
                }
            }
        }
    }
    .await;
    if let Some((c, _)) = presence.shown {
        live.set_presence(&c, None, socket);
    }
    if result.is_ok() {
        let _ = ws.send(Message::Close(None)).await;
    }
}

/// What one agent's socket shows others of it: the conversation it views and whether it
/// types there.
struct Presence {
    socket: u64,
    /// The agent, for sockets opened by one (a token's socket shows nothing).
    who: Option<(AgentId, String)>,
    /// What others were last told.
    shown: Option<(String, bool)>,
    /// What the agent's latest frame asked to show, not shown yet.
    wanted: Option<Option<(String, bool)>>,
    /// When it may next be changed.
    next_change: tokio::time::Instant,
}

impl Presence {
    /// Whether a change is waiting to be shown (asking to show what is shown is none).
    fn waiting(&self) -> bool {
        self.wanted.as_ref().is_some_and(|w| *w != self.shown)
    }

    /// Shows what was asked for to every socket, and to this one who else is there.
    async fn show(&mut self, live: &Live, ws: &mut WebSocket) -> Result<(), ()> {
        let (Some(wanted), Some((agent_id, name))) = (self.wanted.take(), &self.who) else {
            return Ok(());
        };
        self.next_change = tokio::time::Instant::now() + PRESENCE_EVERY;
        if let Some((previous, _)) = &self.shown {
            if wanted.as_ref().map(|(c, _)| c) != Some(previous) {
                live.set_presence(previous, None, self.socket);
            }
        }
        if let Some((c, typing)) = &wanted {
            let viewer = Viewer {
                socket: self.socket,
                agent_id: agent_id.to_string(),
                name: name.clone(),
                typing: *typing,
            };
            live.set_presence(c, Some(viewer), self.socket);
        }
        let here = wanted.as_ref().map(|(c, _)| live.presence_of(c));
        self.shown = wanted;
        match here {
            Some(frame) => send(ws, frame).await,
            None => Ok(()),
        }
    }
}

/// Sends the events after `sent` from the log; returns the last one sent.
async fn replay(live: &Live, ws: &mut WebSocket, mut sent: i64) -> Result<i64, ()> {
    let mut replayed = 0;
    loop {
        let events = live
            .store
            .events_after(sent, READ_BATCH)
            .await
            .map_err(drop)?;
        for e in &events {
            send(ws, event_frame(e)).await?;
            sent = e.seq;
        }
        replayed += events.len();
        if events.len() < READ_BATCH as usize {
            return Ok(sent);
        }
        if replayed >= MAX_REPLAY {
            send(ws, json!({ "type": "reset" }).to_string().into()).await?;
            return live.store.last_event_seq().await.map_err(drop);
        }
    }
}

async fn send(ws: &mut WebSocket, text: Utf8Bytes) -> Result<(), ()> {
    ws.send(Message::Text(text)).await.map_err(drop)
}
