//! The one value every channel hands the store for a message that arrives on it, and the one
//! step every channel stores it with.
//!
//! A channel parses its wire into an [`Inbound`] (purely: the email crate from a mail's
//! bytes, the chat crate from a widget's frame); its records module here finds where the
//! message goes — email threads it (`mail.rs`), a chat has its session's conversation
//! (`chat.rs`) — and keeps the provider's key so a retried delivery is stored once; then
//! [`receive`] adds it to that conversation or opens one for the customer it names, in the
//! channel's transaction.

use crate::args::Batch;
use crate::conversations::{self, Conversation, Message, NewConversation, NewMessage};
use crate::customers::CustomerRef;
use crate::{StoreError, Tx};
use chrono::{DateTime, Utc};
use concierge_domain::access::Actor;
use concierge_domain::conversation::{Channel, Priority};
use concierge_domain::ids::ConversationId;
use concierge_domain::text::{Label, Subject};

/// A message that arrived on a channel, as its channel read it.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub channel: Channel,
    /// Who sent it, by the identities they came with (an email address, a chat session, a
    /// phone number): the customer a new conversation is opened for.
    pub from: CustomerRef,
    /// The provider's id for the message (a mail's Message-ID, the widget's client id):
    /// the message is stored once under it, however often it is delivered.
    pub key: Option<String>,
    /// What a new conversation is titled, on channels whose messages carry one.
    pub subject: Option<Subject>,
    /// The message, read for its intent when the shopper wrote it.
    pub message: NewMessage,
}

/// Where the channel's records found an inbound message goes.
pub(crate) enum Destination {
    /// Into this conversation.
    Thread(ConversationId),
    /// Into a new conversation under `id`, tagged `tags`, with `rest` after the message
    /// (an email's acknowledgement).
    New {
        id: ConversationId,
        tags: Vec<Label>,
        rest: Vec<NewMessage>,
    },
}

/// Stores an inbound message where its channel found it goes; returns the conversation and
/// the messages written, the inbound one first.
pub(crate) async fn receive(
    tx: &mut Tx,
    batch: &mut Batch,
    inbound: Inbound,
    into: Destination,
    now: DateTime<Utc>,
) -> Result<(Conversation, Vec<Message>), StoreError> {
    match into {
        Destination::Thread(id) => {
            let (c, m) = conversations::append(tx, batch, &id, inbound.message, now).await?;
            Ok((c, vec![m]))
        }
        Destination::New { id, tags, rest } => {
            let new = NewConversation {
                channel: inbound.channel,
                customer: inbound.from,
                subject: inbound.subject,
                priority: Priority::Normal,
                tags,
                message: inbound.message,
            };
            conversations::open_as(tx, batch, id, new, rest, &Actor::System, now).await
        }
    }
}
