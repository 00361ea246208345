//! Where the shared conversation path meets a channel's own records, in the same transaction
//! as the message: the job that hands a team message to the channel's transport, and what a
//! channel keeps in step when a message joins one of its conversations. The rules are the
//! domain's (`concierge_domain::chat`); a new channel with records of its own adds its arm
//! here, and the shared path stays the same for all.

use crate::args::Batch;
use crate::jobs::{self, payloads, NewJob};
use crate::{on_tx, StoreError, Tx};
use chrono::{DateTime, Utc};
use concierge_domain::chat;
use concierge_domain::conversation::{Channel, Delivery, SenderType};
use concierge_domain::ids::{ConversationId, MessageId};

/// The job that hands an outbound message on `channel` to its transport, for the channels
/// whose messages wait in the outbox (`Delivery::Outbox`: email). The channel registers a
/// handler for its kind; until one is set up (no relay yet) the messages stay queued,
/// durable.
pub(crate) fn deliver_job(
    channel: Channel,
    message_id: &MessageId,
    conversation_id: &ConversationId,
) -> Option<NewJob> {
    match (channel, channel.delivery()) {
        (Channel::Email, Delivery::Outbox) => Some(NewJob::now(payloads::EmailDeliver {
            message_id: message_id.clone(),
            conversation_id: conversation_id.clone(),
        })),
        _ => None,
    }
}

/// A message that just joined a conversation, as its channel's records see it.
pub(crate) struct Joined<'a> {
    pub channel: Channel,
    pub conversation_id: &'a ConversationId,
    pub message_id: &'a MessageId,
    pub sender: SenderType,
    pub private: bool,
}

/// Keeps the channel's own records in step with a message that joined one of its
/// conversations.
pub(crate) async fn message_joined(
    tx: &mut Tx,
    batch: &mut Batch,
    m: Joined<'_>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    match m.channel {
        Channel::Chat => chat_message_joined(tx, batch, m, now).await,
        _ => Ok(()),
    }
}

async fn chat_message_joined(
    tx: &mut Tx,
    batch: &mut Batch,
    m: Joined<'_>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if !chat::takes_chat_from_assistant(m.sender, m.private) {
        return Ok(());
    }
    batch
        .add(
            "UPDATE chat_sessions SET assistant = FALSE, misses = 0, awaiting = NULL WHERE conversation_id = $1",
        )
        .text(m.conversation_id.as_str());
    let asked: Option<(bool, bool)> = on_tx!(read tx, |conn, pg| sqlx::query_as(
        "SELECT email_replies, email_confirmed FROM chat_sessions WHERE conversation_id = $1"
    )
    .bind(m.conversation_id.as_str())
    .fetch_optional(conn)
    .await?);
    let (asked, proved) = asked.unwrap_or((false, false));
    if chat::copied_by_email(m.sender, m.private, asked, proved) {
        jobs::enqueue(
            batch,
            NewJob::now(payloads::ChatEmail {
                message_id: m.message_id.clone(),
            })
            .dedupe(format!("chat-email:{}", m.message_id)),
            now,
        );
    }
    Ok(())
}
