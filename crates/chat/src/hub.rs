//! The chat's side of the live hub: which conversations have a widget open, and the limits
//! on sockets and messages.
//!
//! Each conversation with a widget open has a `watch` channel here; one task routes the live
//! event log to them (`concierge_api::live::Live`'s frames), so a socket wakes only for its
//! own conversation, and whatever it missed while busy it reads from the store.

use concierge_api::error::ApiError;
use concierge_api::live::{Frame, Live};
use concierge_domain::conversation::ConversationStatus;
use concierge_store::chat::ChatSession;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, watch, Semaphore};

/// Sockets one chat session may have open at once (its shopper's tabs).
const SOCKETS_PER_SESSION: usize = 5;

/// A shopper may send this many messages at once, then one every two seconds.
const MESSAGE_BURST: u32 = 10;
const MESSAGES_PER_MINUTE: u32 = 30;

/// The chat side of the live hub: which conversations have a widget open, and the limits.
pub(crate) struct Chats {
    watched: Mutex<HashMap<String, watch::Sender<Pulse>>>,
    router: tokio::sync::OnceCell<()>,
    pub(crate) sockets: Arc<Semaphore>,
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
pub(crate) struct SocketPlace {
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
pub(crate) struct Pulse {
    /// The last event that added or changed one of the conversation's messages.
    pub(crate) message: i64,
    /// The status the last event that gave one said.
    pub(crate) status: Option<ConversationStatus>,
    /// Counts the times the router missed events: then every socket reads everything.
    pub(crate) missed: u64,
    pub(crate) agent_typing: bool,
}

impl Chats {
    /// `max_sockets` open at once, `per_address` of them from one client address.
    pub(crate) fn new(max_sockets: usize, per_address: usize) -> Chats {
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
    pub(crate) fn place(
        &self,
        session: &ChatSession,
        address: IpAddr,
    ) -> Result<SocketPlace, ApiError> {
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
    pub(crate) async fn start(self: &Arc<Self>, live: &Arc<Live>) -> Result<(), ApiError> {
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

    pub(crate) fn watch(self: &Arc<Self>, conversation: &str) -> Watching {
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
    pub(crate) fn may_send(&self, session: &ChatSession) -> bool {
        self.messages
            .check_key(&session.id.as_str().to_owned())
            .is_ok()
    }
}

/// A socket's subscription to its conversation; the last one to leave removes the entry.
pub(crate) struct Watching {
    chats: Arc<Chats>,
    conversation: String,
    receiver: Option<watch::Receiver<Pulse>>,
}

impl Watching {
    /// The conversation's pulses, for its socket to wait on.
    pub(crate) fn pulses(&self) -> watch::Receiver<Pulse> {
        self.receiver
            .clone()
            .expect("a subscription keeps its receiver until it is dropped")
    }
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
