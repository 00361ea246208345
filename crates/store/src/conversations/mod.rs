//! Conversations and their messages: the records and how they are read back (here), the
//! commands that open, append to and change them (`commands`), and the inbox list with its
//! full-text search and counts (`inbox`).

use crate::args::{bind_args, Args, Batch, Bind};
use crate::audit::{self, AuditEntry};
pub use crate::customers::CustomerSummary;
use crate::customers::{self, CustomerRef};
use crate::events;
use crate::jobs::{self, payloads, NewJob};
use crate::{on_engine, on_tx, search, At, Cursor, Page, PageRequest, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use concierge_domain::access::Actor;
use concierge_domain::conversation::{
    Channel, ConversationStatus, DeliveryStatus, EventKind, Lifecycle, LifecycleError, Priority,
    SenderType,
};
use concierge_domain::ids::{AgentId, AttachmentId, ConversationId, CustomerId, MessageId, TeamId};
use concierge_domain::intents::{Intent, IntentReading};
use concierge_domain::mail::ReplyToken;
use concierge_domain::notes;
use concierge_domain::text::{Label, MessageBody, Subject};
use serde_json::json;

mod commands;
mod inbox;

pub(crate) use commands::{append, open, open_as, record_delivery};

/// How much of the latest message an inbox row shows (`substr(…, 1, 160)` in the queries).
const PREVIEW_CHARS: usize = 160;

/// A conversation as the inbox shows it (without its messages).
#[derive(Debug, Clone)]
pub struct Conversation {
    pub id: ConversationId,
    pub customer: CustomerSummary,
    pub channel: Channel,
    pub priority: Priority,
    pub assignee_id: Option<AgentId>,
    pub team_id: Option<TeamId>,
    pub subject: Option<String>,
    pub intent: Option<Intent>,
    pub intent_confidence: Option<f64>,
    pub lifecycle: Lifecycle,
    pub message_count: i64,
    pub tags: Vec<String>,
    /// Set when this conversation was merged into another, which holds its messages now.
    pub merged_into_id: Option<ConversationId>,
    /// The start of the latest message the shopper can see, for inbox rows.
    pub preview: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub sender_type: SenderType,
    pub agent_id: Option<AgentId>,
    pub body: String,
    pub body_html: Option<String>,
    pub private: bool,
    pub delivery_status: Option<DeliveryStatus>,
    /// Why the last delivery attempt failed, when it did.
    pub delivery_error: Option<String>,
    /// What the channel cut from `body` as not new (an email's quoted history and signature).
    pub quoted: Option<String>,
    /// The address the message came from, when the channel has one (an email's From).
    pub sender_address: Option<String>,
    /// What the intent model read in a shopper's message; `None` for everyone else's.
    pub intent: Option<IntentReading>,
    pub attachments: Vec<Attachment>,
    pub created_at: DateTime<Utc>,
}

/// An intent as stored: a word the model no longer has (a model retrained with fewer
/// intents) reads as `unknown` rather than making the conversation unreadable.
pub(crate) fn stored_intent(word: &str) -> Intent {
    Intent::parse(word).unwrap_or(Intent::Unknown)
}

/// What we know of a file attached to a message; the bytes live in attachment storage under
/// `storage_key`.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub id: AttachmentId,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub storage_key: String,
}

/// A file to attach. Its id is chosen by the caller, so content that refers to it (an email's
/// inline image) can link to it before it is stored.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub id: AttachmentId,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub storage_key: String,
}

/// A message to add. `body_html`, when present, must already be sanitised by the channel
/// that produced it.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub body: MessageBody,
    pub body_html: Option<String>,
    pub sender: SenderType,
    pub agent_id: Option<AgentId>,
    pub private: bool,
    pub attachments: Vec<NewAttachment>,
    /// When it was written; `None` means now. Imports and the demo set it.
    pub at: Option<DateTime<Utc>>,
    /// What the channel cut from the body as not new (quoted history, signature).
    pub quoted: Option<String>,
    /// The address it came from, when the channel has one.
    pub sender_address: Option<String>,
    /// What the intent model read in it. A shopper's public message must come with it: the
    /// channel reads it (`concierge_intents::read`) before it calls the store, outside the
    /// write, and the store keeps what it is given.
    pub intent: Option<IntentReading>,
}

impl NewMessage {
    pub fn text(sender: SenderType, body: MessageBody) -> Self {
        NewMessage {
            body,
            body_html: None,
            sender,
            agent_id: None,
            private: false,
            attachments: vec![],
            at: None,
            quoted: None,
            sender_address: None,
            intent: None,
        }
    }

    /// A shopper's public words, with what the intent model read in them.
    pub fn from_shopper(body: MessageBody, intent: IntentReading) -> Self {
        NewMessage {
            intent: Some(intent),
            ..NewMessage::text(SenderType::Customer, body)
        }
    }

    /// The message with a shopper's public words read for their intent by `read` (the
    /// intent model's `concierge_intents::read`, passed in by the channel: the store runs no
    /// model); anyone else's, or words already read, are left as they are.
    pub fn read_with(mut self, read: impl FnOnce(&str) -> IntentReading) -> Self {
        if self.has_intent() && self.intent.is_none() {
            self.intent = Some(read(self.body.as_str()));
        }
        self
    }

    /// Whether the intent model reads this message: a shopper's public words.
    fn has_intent(&self) -> bool {
        self.sender == SenderType::Customer && !self.private
    }
}

#[derive(Debug, Clone)]
pub struct NewConversation {
    pub channel: Channel,
    pub customer: CustomerRef,
    pub subject: Option<Subject>,
    pub priority: Priority,
    pub tags: Vec<Label>,
    pub message: NewMessage,
}

/// A change to a conversation; `None` leaves a field as it is. For the optional references,
/// `Some(None)` clears them.
#[derive(Debug, Clone, Default)]
pub struct ConversationPatch {
    pub status: Option<ConversationStatus>,
    pub snooze_until: Option<DateTime<Utc>>,
    pub priority: Option<Priority>,
    pub assignee_id: Option<Option<AgentId>>,
    pub team_id: Option<Option<TeamId>>,
    pub tags: Option<Vec<Label>>,
    /// Tags to add to the ones the conversation has (applied after `tags`).
    pub add_tags: Vec<Label>,
}

/// Inbox filters; all optional and combined with AND.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    pub status: Option<ConversationStatus>,
    /// `Some(None)` lists unassigned conversations.
    pub assignee_id: Option<Option<AgentId>>,
    pub customer_id: Option<CustomerId>,
    pub channel: Option<Channel>,
    pub tag: Option<String>,
    pub team_id: Option<TeamId>,
    pub priority: Option<Priority>,
    pub intent: Option<String>,
    /// Full-text search over subjects and message bodies.
    pub q: Option<String>,
    pub order: InboxOrder,
}

/// How the inbox is sorted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InboxOrder {
    /// Newest activity first.
    #[default]
    Newest,
    /// The shopper who has waited longest for an answer first; only conversations awaiting
    /// one are listed.
    WaitingLongest,
}

/// How many conversations each inbox view holds, for one agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboxCounts {
    /// Open and assigned to the agent.
    pub mine: i64,
    /// Open and assigned to nobody.
    pub unassigned: i64,
    pub open: i64,
    pub pending: i64,
    pub snoozed: i64,
    pub resolved: i64,
}

#[derive(sqlx::FromRow)]
struct ConversationRow {
    id: String,
    customer_id: String,
    customer_name: Option<String>,
    customer_email: Option<String>,
    customer_phone: Option<String>,
    channel: String,
    status: String,
    priority: String,
    assignee_id: Option<String>,
    team_id: Option<String>,
    subject: Option<String>,
    intent: Option<String>,
    intent_confidence: Option<f64>,
    snooze_until: Option<At>,
    first_response_at: Option<At>,
    resolved_at: Option<At>,
    waiting_since: Option<At>,
    last_activity_at: At,
    message_count: i64,
    merged_into_id: Option<String>,
    preview: Option<String>,
    created_at: At,
    updated_at: At,
    tags: Option<String>,
}

/// A conversation's columns with its customer's, and its tags folded into one text: sorted,
/// joined by U+001F, which labels never contain (so a page of conversations is one query).
macro_rules! conversation_columns {
    ($tags:literal) => {
        concat!(
            "c.id, c.customer_id, cu.name AS customer_name, cu.email AS customer_email, \
             cu.phone AS customer_phone, c.channel, c.status, c.priority, c.assignee_id, c.team_id, c.subject, c.intent, \
             c.intent_confidence, c.snooze_until, c.first_response_at, c.resolved_at, c.waiting_since, c.last_activity_at, \
             c.message_count, c.merged_into_id, (SELECT substr(m.body, 1, 160) FROM messages m \
             WHERE m.conversation_id = c.id AND m.private = false ORDER BY m.seq DESC LIMIT 1) AS preview, \
             c.created_at, c.updated_at, ",
            $tags,
            " AS tags"
        )
    };
}
const SQLITE_COLUMNS: &str = conversation_columns!(
    "(SELECT group_concat(t.tag, char(31) ORDER BY t.tag) FROM conversation_tags t WHERE t.conversation_id = c.id)"
);
const POSTGRES_COLUMNS: &str = conversation_columns!(
    "(SELECT string_agg(t.tag, chr(31) ORDER BY t.tag) FROM conversation_tags t WHERE t.conversation_id = c.id)"
);

fn conversation_columns(pg: bool) -> &'static str {
    if pg {
        POSTGRES_COLUMNS
    } else {
        SQLITE_COLUMNS
    }
}

impl ConversationRow {
    fn into_conversation(self) -> Result<Conversation, StoreError> {
        let corrupt = StoreError::corrupt;
        let tags = self
            .tags
            .map(|t| t.split('\u{1f}').map(str::to_owned).collect())
            .unwrap_or_default();
        Ok(Conversation {
            id: ConversationId::from_trusted(self.id),
            customer: CustomerSummary {
                id: CustomerId::from_trusted(self.customer_id),
                name: self.customer_name,
                email: self.customer_email,
                phone: self.customer_phone,
            },
            channel: Channel::parse(&self.channel).map_err(corrupt)?,
            priority: Priority::parse(&self.priority).map_err(corrupt)?,
            assignee_id: self.assignee_id.map(AgentId::from_trusted),
            team_id: self.team_id.map(TeamId::from_trusted),
            subject: self.subject,
            intent: self.intent.as_deref().map(stored_intent),
            intent_confidence: self.intent_confidence,
            lifecycle: Lifecycle {
                status: ConversationStatus::parse(&self.status).map_err(corrupt)?,
                snooze_until: self.snooze_until.map(|t| t.0),
                first_response_at: self.first_response_at.map(|t| t.0),
                resolved_at: self.resolved_at.map(|t| t.0),
                waiting_since: self.waiting_since.map(|t| t.0),
                last_activity_at: self.last_activity_at.0,
            },
            message_count: self.message_count,
            merged_into_id: self.merged_into_id.map(ConversationId::from_trusted),
            preview: self.preview,
            tags,
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: String,
    conversation_id: String,
    sender_type: String,
    agent_id: Option<String>,
    body: String,
    body_html: Option<String>,
    private: bool,
    delivery_status: Option<String>,
    delivery_error: Option<String>,
    quoted: Option<String>,
    sender_address: Option<String>,
    intent: Option<String>,
    intent_confidence: Option<f64>,
    created_at: At,
}

/// How many files a message carries, as a column of a query on `messages`: the files are
/// read only for messages that have some, and most have none.
const ATTACHMENT_COUNT: &str =
    "(SELECT count(*) FROM attachments a WHERE a.message_id = messages.id) AS attachment_count";

const MESSAGE_COLUMNS: &str =
    "id, conversation_id, sender_type, agent_id, body, body_html, private, \
     delivery_status, delivery_error, quoted, sender_address, intent, intent_confidence, created_at";

impl MessageRow {
    fn into_message(self, attachments: Vec<Attachment>) -> Result<Message, StoreError> {
        Ok(Message {
            id: MessageId::from_trusted(self.id),
            conversation_id: ConversationId::from_trusted(self.conversation_id),
            sender_type: SenderType::parse(&self.sender_type).map_err(StoreError::corrupt)?,
            agent_id: self.agent_id.map(AgentId::from_trusted),
            body: self.body,
            body_html: self.body_html,
            private: self.private,
            delivery_status: self
                .delivery_status
                .map(|s| DeliveryStatus::parse(&s))
                .transpose()
                .map_err(StoreError::corrupt)?,
            delivery_error: self.delivery_error,
            quoted: self.quoted,
            sender_address: self.sender_address,
            intent: self.intent.map(|name| IntentReading {
                intent: stored_intent(&name),
                confidence: self.intent_confidence.unwrap_or(0.0),
            }),
            attachments,
            created_at: self.created_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
struct NumberedMessageRow {
    seq: i64,
    /// See [`ATTACHMENT_COUNT`].
    attachment_count: i64,
    #[sqlx(flatten)]
    message: MessageRow,
}

#[derive(sqlx::FromRow)]
struct AttachmentRow {
    id: String,
    message_id: String,
    filename: String,
    content_type: String,
    size_bytes: i64,
    storage_key: String,
}

/// Where a conversation counts among the inbox views: its status and assignee.
type Place = (ConversationStatus, Option<AgentId>);

impl Store {
    pub async fn conversation(&self, id: &ConversationId) -> Result<Conversation, StoreError> {
        let row: Option<ConversationRow> = on_engine!(self, |pool, pg| {
            let sql = format!(
                "SELECT {} FROM conversations c JOIN customers cu ON cu.id = c.customer_id WHERE c.id = $1",
                conversation_columns(pg)
            );
            sqlx::query_as(&sql)
                .bind(id.as_str())
                .fetch_optional(pool)
                .await?
        });
        row.ok_or(StoreError::NotFound("conversation"))?
            .into_conversation()
    }

    /// A conversation's messages, oldest first.
    pub async fn messages(&self, id: &ConversationId) -> Result<Vec<Message>, StoreError> {
        let numbered = self.messages_after(id, 0, false).await?;
        Ok(numbered.into_iter().map(|(_, m)| m).collect())
    }

    /// A conversation's messages after the one numbered `after` (0: from the start), in
    /// order, each with its number; with `public_only`, without private notes.
    pub async fn messages_after(
        &self,
        id: &ConversationId,
        after: i64,
        public_only: bool,
    ) -> Result<Vec<(i64, Message)>, StoreError> {
        let private = if public_only { " AND NOT private" } else { "" };
        let sql = format!(
            "SELECT seq, {ATTACHMENT_COUNT}, {MESSAGE_COLUMNS} FROM messages \
             WHERE conversation_id = $1 AND seq > $2{private} ORDER BY seq"
        );
        let rows: Vec<NumberedMessageRow> = on_engine!(self, |pool, pg| sqlx::query_as(&sql)
            .bind(id.as_str())
            .bind(after)
            .fetch_all(pool)
            .await?);
        if rows.is_empty() {
            return Ok(vec![]);
        }
        let attachment_rows: Vec<AttachmentRow> = if rows.iter().all(|r| r.attachment_count == 0) {
            vec![]
        } else {
            on_engine!(self, |pool, pg| {
                sqlx::query_as(
                "SELECT a.id, a.message_id, a.filename, a.content_type, a.size_bytes, a.storage_key FROM attachments a \
                 JOIN messages m ON m.id = a.message_id WHERE m.conversation_id = $1 AND m.seq > $2 ORDER BY a.id",
            )
            .bind(id.as_str())
            .bind(after)
            .fetch_all(pool)
            .await?
            })
        };
        let mut by_message: std::collections::HashMap<String, Vec<Attachment>> =
            std::collections::HashMap::new();
        for a in attachment_rows {
            by_message
                .entry(a.message_id)
                .or_default()
                .push(Attachment {
                    id: AttachmentId::from_trusted(a.id),
                    filename: a.filename,
                    content_type: a.content_type,
                    size_bytes: a.size_bytes,
                    storage_key: a.storage_key,
                });
        }
        rows.into_iter()
            .map(|r| {
                let attachments = by_message.remove(&r.message.id).unwrap_or_default();
                Ok((r.seq, r.message.into_message(attachments)?))
            })
            .collect()
    }

    /// One message, with its attachments.
    pub async fn message(&self, id: &MessageId) -> Result<Message, StoreError> {
        let sql = format!(
            "SELECT seq, {ATTACHMENT_COUNT}, {MESSAGE_COLUMNS} FROM messages WHERE id = $1"
        );
        let row: Option<NumberedMessageRow> = on_engine!(self, |pool, pg| sqlx::query_as(&sql)
            .bind(id.as_str())
            .fetch_optional(pool)
            .await?);
        let row = row.ok_or(StoreError::NotFound("message"))?;
        let attachments = match row.attachment_count {
            0 => vec![],
            _ => self.message_attachments(id).await?,
        };
        row.message.into_message(attachments)
    }
}

#[cfg(test)]
mod tests {
    /// What the intent model would say of a test's words, without the model (the store
    /// runs none): nothing clear.
    fn unread(_: &str) -> IntentReading {
        IntentReading {
            intent: Intent::Unknown,
            confidence: 0.0,
        }
    }
    use super::*;
    use concierge_domain::contact::EmailAddress;

    #[tokio::test]
    async fn both_search_plans_find_the_same_pages() {
        let (store, dir) = crate::sqlite_for_test("search-plans").await;
        let start = chrono::Utc::now() - chrono::Duration::days(30);
        for n in 0..40i64 {
            let at = |k: i64| Some(start + chrono::Duration::minutes(n * 37 % 29 * 60 + k));
            let body = |s: &str| MessageBody::parse(s).unwrap();
            let word = if n % 3 == 0 { "parcel" } else { "sizing" };
            store
                .import_conversation(
                    NewConversation {
                        channel: Channel::Email,
                        customer: CustomerRef {
                            email: Some(EmailAddress::parse(&format!("s{n}@example.com")).unwrap()),
                            ..Default::default()
                        },
                        subject: Some(Subject::parse(&format!("Question {n}")).unwrap()),
                        priority: Priority::Normal,
                        tags: vec![],
                        message: NewMessage {
                            at: at(0),
                            ..NewMessage::text(SenderType::Customer, body("Hello there"))
                        }
                        .read_with(unread),
                    },
                    vec![NewMessage {
                        at: at(1),
                        ..NewMessage::text(SenderType::Customer, body(&format!("about my {word}")))
                    }
                    .read_with(unread)],
                    &Actor::System,
                )
                .await
                .unwrap();
        }
        let filter = ConversationFilter {
            q: Some("parcels hello".into()),
            ..Default::default()
        };
        let mut pages = Vec::new();
        for walk in [true, false] {
            let mut ids = Vec::new();
            let mut cursor = None;
            loop {
                let page = PageRequest {
                    limit: Some(5),
                    cursor: cursor.clone(),
                };
                let p = store
                    .conversations_by(&filter, &page, Some(walk))
                    .await
                    .unwrap();
                ids.extend(p.items.iter().map(|c| c.id.to_string()));
                match p.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            pages.push(ids);
        }
        assert_eq!(
            pages[0].len(),
            14,
            "every conversation with both words, once"
        );
        assert_eq!(pages[0], pages[1]);
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The kept view counts agree with counting the conversations, through every command that
    /// moves one: open, reply, reopen, assign, snooze, wake, resolve, merge.
    #[tokio::test]
    async fn kept_counts_match_a_recount() {
        let (store, dir) = crate::sqlite_for_test("counts").await;
        let body = |s: &str| MessageBody::parse(s).unwrap();
        let open = |email: &str| NewConversation {
            channel: Channel::Email,
            customer: CustomerRef {
                email: Some(EmailAddress::parse(email).unwrap()),
                ..Default::default()
            },
            subject: None,
            priority: Priority::Normal,
            tags: vec![],
            message: NewMessage::text(SenderType::Customer, body("hello")).read_with(unread),
        };
        let agent = store
            .create_agent(
                crate::access::NewAgent {
                    email: EmailAddress::parse("a@shop.example").unwrap(),
                    name: concierge_domain::text::PersonName::parse("A").unwrap(),
                    role: concierge_domain::access::Role::Agent,
                    password_hash: "x".into(),
                },
                &Actor::System,
            )
            .await
            .unwrap();
        let (a, _) = store
            .create_conversation(open("x@example.com"), &Actor::System)
            .await
            .unwrap();
        let (b, _) = store
            .create_conversation(open("x@example.com"), &Actor::System)
            .await
            .unwrap();
        let (c, _) = store
            .create_conversation(open("y@example.com"), &Actor::System)
            .await
            .unwrap();
        let patch = |p: ConversationPatch| p;
        store
            .update_conversation(
                &a.id,
                patch(ConversationPatch {
                    assignee_id: Some(Some(agent.id.clone())),
                    ..Default::default()
                }),
                &Actor::System,
            )
            .await
            .unwrap();
        store
            .update_conversation(
                &b.id,
                patch(ConversationPatch {
                    status: Some(ConversationStatus::Resolved),
                    ..Default::default()
                }),
                &Actor::System,
            )
            .await
            .unwrap();
        // A customer message reopens the resolved one.
        store
            .append_message(
                &b.id,
                NewMessage::text(SenderType::Customer, body("still broken")).read_with(unread),
            )
            .await
            .unwrap();
        let soon = chrono::Utc::now() + chrono::Duration::milliseconds(1);
        store
            .update_conversation(
                &c.id,
                patch(ConversationPatch {
                    snooze_until: Some(soon + chrono::Duration::hours(1)),
                    status: Some(ConversationStatus::Snoozed),
                    ..Default::default()
                }),
                &Actor::System,
            )
            .await
            .unwrap();
        assert!(store
            .wake_conversation(&c.id, soon + chrono::Duration::hours(2))
            .await
            .unwrap());
        store
            .update_conversation(
                &c.id,
                patch(ConversationPatch {
                    status: Some(ConversationStatus::Pending),
                    ..Default::default()
                }),
                &Actor::System,
            )
            .await
            .unwrap();
        store
            .merge_conversations(&b.id, &a.id, &Actor::System)
            .await
            .unwrap();

        let kept = store.inbox_counts(&agent.id).await.unwrap();
        let recount: Vec<(String, Option<String>, i64)> = on_engine!(store, |pool, pg| {
            sqlx::query_as(
            "SELECT status, assignee_id, count(*) FROM conversations GROUP BY status, assignee_id"
        )
        .fetch_all(pool)
        .await
        .unwrap()
        });
        let n = |status: &str, who: Option<Option<&str>>| -> i64 {
            recount
                .iter()
                .filter(|(s, a, _)| s == status && who.is_none_or(|w| a.as_deref() == w))
                .map(|r| r.2)
                .sum()
        };
        assert_eq!(
            kept,
            InboxCounts {
                mine: n("open", Some(Some(agent.id.as_str()))),
                unassigned: n("open", Some(None)),
                open: n("open", None),
                pending: n("pending", None),
                snoozed: n("snoozed", None),
                resolved: n("resolved", None),
            }
        );
        assert_eq!((kept.mine, kept.open, kept.pending), (1, 1, 1), "{kept:?}");
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Reports on a delivery can come late or twice (a job run again after a bounce): the
    /// status only moves forward, to failed, or from failed back to pending when sent again.
    #[tokio::test]
    async fn a_late_delivery_report_does_not_move_a_status_back() {
        let (store, dir) = crate::sqlite_for_test("delivery").await;
        let body = |s: &str| MessageBody::parse(s).unwrap();
        let (c, _) = store
            .create_conversation(
                NewConversation {
                    channel: Channel::Email,
                    customer: CustomerRef {
                        email: Some(EmailAddress::parse("d@example.com").unwrap()),
                        ..Default::default()
                    },
                    subject: None,
                    priority: Priority::Normal,
                    tags: vec![],
                    message: NewMessage::text(SenderType::Customer, body("hello"))
                        .read_with(unread),
                },
                &Actor::System,
            )
            .await
            .unwrap();
        let (_, reply) = store
            .append_message(&c.id, NewMessage::text(SenderType::Agent, body("Hi!")))
            .await
            .unwrap();
        assert_eq!(reply.delivery_status, Some(DeliveryStatus::Pending));
        let status = |store: Store, id: MessageId| async move {
            store.message(&id).await.unwrap().delivery_status
        };
        let id = reply.id.clone();
        assert!(store
            .record_delivery(&id, DeliveryStatus::Failed, Some("550 no such user"))
            .await
            .unwrap());
        assert!(
            !store
                .record_delivery(&id, DeliveryStatus::Sent, None)
                .await
                .unwrap(),
            "a late 'sent' does not undo a bounce"
        );
        assert_eq!(
            status(store.clone(), id.clone()).await,
            Some(DeliveryStatus::Failed)
        );
        assert!(store
            .record_delivery(&id, DeliveryStatus::Pending, None)
            .await
            .unwrap());
        assert!(store
            .record_delivery(&id, DeliveryStatus::Sent, None)
            .await
            .unwrap());
        assert!(!store
            .record_delivery(&id, DeliveryStatus::Pending, None)
            .await
            .unwrap());
        assert_eq!(
            status(store.clone(), id.clone()).await,
            Some(DeliveryStatus::Sent)
        );
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
