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

#[cfg(test)]
mod tests {
    use crate::chat::NewChatSession;
    use crate::conversations::NewMessage;
    use crate::Store;
    use concierge_domain::chat::ChatMail;
    use concierge_domain::contact::EmailAddress;
    use concierge_domain::conversation::SenderType;
    use concierge_domain::intents::{Intent, IntentReading};
    use concierge_domain::jobs::JobKind;
    use concierge_domain::text::MessageBody;

    fn text(sender: SenderType, body: &str, private: bool) -> NewMessage {
        NewMessage {
            private,
            ..NewMessage::text(sender, MessageBody::parse(body).unwrap())
        }
    }

    /// A widget that sends one message several times at once (a retry racing the first
    /// send) gets the one message stored back every time, never an error.
    #[tokio::test]
    async fn the_same_chat_message_sent_at_once_is_stored_once_and_answered_every_time() {
        let (store, dir) = crate::sqlite_for_test("chat-once").await;
        let (session, _) = store
            .open_chat_session(NewChatSession::default())
            .await
            .unwrap();
        let sends = (0..16).map(|_| {
            let (store, session) = (store.clone(), session.clone());
            tokio::spawn(async move {
                let said =
                    text(SenderType::Customer, "hello", false).read_with(|_| IntentReading {
                        intent: Intent::Unknown,
                        confidence: 0.0,
                    });
                store
                    .chat_say(&session, session.inbound(said, Some("same")))
                    .await
            })
        });
        let said: Vec<_> = futures::future::join_all(sends)
            .await
            .into_iter()
            .map(|r| r.unwrap().expect("every send is answered"))
            .collect();
        assert_eq!(said.iter().filter(|s| s.new).count(), 1);
        assert!(said.iter().all(|s| s.message.id == said[0].message.id));
        assert_eq!(
            store
                .messages(&session.conversation_id)
                .await
                .unwrap()
                .len(),
            1
        );
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Through the shared path every channel uses: an agent's public answer in a chat takes
    /// it from the assistant and, for a shopper who asked at a proved address, goes by mail
    /// too; a private note does neither.
    #[tokio::test]
    async fn an_agents_answer_in_a_chat_takes_it_from_the_assistant_and_goes_by_mail() {
        let (store, dir) = crate::sqlite_for_test("channels").await;
        let email = EmailAddress::parse("ann@example.com").unwrap();
        let (session, _) = store
            .open_chat_session(NewChatSession {
                email: Some(email.clone()),
                verified: true,
                ..Default::default()
            })
            .await
            .unwrap();
        let asked = text(SenderType::Customer, "hello?", false).read_with(|_| IntentReading {
            intent: Intent::Unknown,
            confidence: 0.0,
        });
        store
            .chat_say(&session, session.inbound(asked, Some("k-1")))
            .await
            .unwrap();
        store
            .ask_for_chat_mail(&session, &email, ChatMail::Replies, "127.0.0.1")
            .await
            .unwrap();
        let mails = |store: Store| async move {
            store
                .claim_jobs(&[JobKind::ChatEmail], "test", 10, chrono::Utc::now())
                .await
                .unwrap()
                .len()
        };
        let id = &session.conversation_id;

        store
            .append_message(id, text(SenderType::Agent, "a note", true))
            .await
            .unwrap();
        assert!(
            store
                .chat_session_by_id(&session.id)
                .await
                .unwrap()
                .assistant
        );
        assert_eq!(
            mails(store.clone()).await,
            0,
            "a private note is not mailed"
        );

        store
            .append_message(id, text(SenderType::Agent, "Hi Ann, Sam here.", false))
            .await
            .unwrap();
        assert!(
            !store
                .chat_session_by_id(&session.id)
                .await
                .unwrap()
                .assistant
        );
        assert_eq!(mails(store.clone()).await, 1, "the answer is mailed");
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
