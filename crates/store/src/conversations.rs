//! Conversations and their messages: opening a thread, appending to it, changing its status,
//! assignment and tags, waking snoozed ones, and the inbox list with full-text search.

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
    Channel, ConversationStatus, Delivery, DeliveryStatus, Lifecycle, LifecycleError, Priority,
    SenderType,
};
use concierge_domain::ids::{AgentId, AttachmentId, ConversationId, CustomerId, MessageId, TeamId};
use concierge_domain::intents::{Intent, IntentReading};
use concierge_domain::mail::ReplyToken;
use concierge_domain::notes;
use concierge_domain::text::{Label, MessageBody, Subject};
use serde_json::json;

/// The job that hands an outbound message on `channel` to its transport, for the channels
/// whose messages wait in the outbox (`Delivery::Outbox`: email). The channel registers a
/// handler for its kind; until one is set up (no relay yet) the messages stay queued,
/// durable.
fn deliver_job(
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

fn place(c: &Conversation) -> Place {
    (c.lifecycle.status, c.assignee_id.clone())
}

/// Moves a conversation between the view counts (`inbox_counts`). Call it after
/// `events::record`: on PostgreSQL the counters are then written under the event-order lock,
/// so concurrent writers take their row locks in one order and never deadlock.
fn tally(batch: &mut Batch, from: Option<&Place>, to: &Place) {
    if from == Some(to) {
        return;
    }
    let key = |p: &Place| {
        p.1.as_ref()
            .map_or(String::new(), |a| a.as_str().to_owned())
    };
    if let Some(f) = from {
        batch
            .add("UPDATE inbox_counts SET n = n - 1 WHERE status = $1 AND assignee_id = $2")
            .text(f.0.as_str())
            .text(key(f));
    }
    batch
        .add(
            "INSERT INTO inbox_counts (status, assignee_id, n) VALUES ($1, $2, 1) \
             ON CONFLICT (status, assignee_id) DO UPDATE SET n = inbox_counts.n + 1",
        )
        .text(to.0.as_str())
        .text(key(to));
}

/// What a live view needs to know of a conversation's state after a change, without asking.
fn state(c: &Conversation) -> serde_json::Value {
    json!({
        "status": c.lifecycle.status.as_str(),
        "priority": c.priority.as_str(),
        "assignee_id": c.assignee_id.as_ref().map(|a| a.as_str()),
        "team_id": c.team_id.as_ref().map(|t| t.as_str()),
        "tags": c.tags,
    })
}

fn lifecycle_refused(e: LifecycleError) -> StoreError {
    let field = match e {
        LifecycleError::Closed => "status",
        _ => "snooze_until",
    };
    StoreError::conflict(field, e.to_string())
}

/// Loads a conversation inside a transaction, locking its row on PostgreSQL so concurrent
/// writers to one conversation take turns (SQLite's single writer already does).
async fn load_for_update(tx: &mut Tx, id: &ConversationId) -> Result<Conversation, StoreError> {
    let pg = tx.is_postgres();
    let sql = format!(
        "SELECT {} FROM conversations c JOIN customers cu ON cu.id = c.customer_id WHERE c.id = $1{}",
        conversation_columns(pg),
        if pg { " FOR UPDATE OF c" } else { "" }
    );
    let row: Option<ConversationRow> = on_tx!(read tx, |conn, pg| sqlx::query_as(&sql)
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?);
    row.ok_or(StoreError::NotFound("conversation"))?
        .into_conversation()
}

/// Binds a lifecycle's columns, in the order both statements that write it list them:
/// status, snooze_until, first_response_at, resolved_at, waiting_since, last_activity_at.
fn bind_lifecycle<'a>(b: Bind<'a>, l: &Lifecycle) -> Bind<'a> {
    b.text(l.status.as_str())
        .opt_time(l.snooze_until)
        .opt_time(l.first_response_at)
        .opt_time(l.resolved_at)
        .opt_time(l.waiting_since)
        .time(l.last_activity_at)
}

/// Writes a conversation's lifecycle, priority and references back.
fn save(batch: &mut Batch, c: &Conversation, now: DateTime<Utc>) {
    let b = batch
        .add(
            "UPDATE conversations SET status = $2, snooze_until = $3, first_response_at = $4, resolved_at = $5, \
             waiting_since = $6, last_activity_at = $7, priority = $8, assignee_id = $9, team_id = $10, \
             message_count = $11, updated_at = $12, intent = $13, intent_confidence = $14 WHERE id = $1",
        )
        .text(c.id.as_str());
    bind_lifecycle(b, &c.lifecycle)
        .text(c.priority.as_str())
        .opt_text(c.assignee_id.as_ref().map(|a| a.as_str()))
        .opt_text(c.team_id.as_ref().map(|t| t.as_str()))
        .int(c.message_count)
        .time(now)
        .opt_text(c.intent.map(Intent::as_str))
        .opt_float(c.intent_confidence);
}

/// Adds a message to a loaded conversation: applies the lifecycle rules to it in memory and
/// adds the message's rows — and its delivery, when it goes out to the shopper — to `batch`.
/// The caller writes the conversation itself back.
fn add_message(
    batch: &mut Batch,
    c: &mut Conversation,
    m: NewMessage,
    now: DateTime<Utc>,
) -> Result<Message, StoreError> {
    let at = m.at.unwrap_or(now);
    let recorded = c
        .lifecycle
        .record_message(c.channel, m.sender, m.private, at)
        .map_err(lifecycle_refused)?;
    c.message_count += 1;
    // A message written in the past (an import, the demo) went out in the past.
    let historical = m.at.is_some();
    let delivery = match recorded.delivery {
        Some(_) if historical => Some(DeliveryStatus::Sent),
        d => d,
    };
    // Every message from the shopper comes read for its intent (by its channel, before the
    // write); the conversation keeps the latest clear one, so a closing "thanks!" does not
    // erase what it was about.
    debug_assert!(
        !m.has_intent() || m.intent.is_some(),
        "a shopper's message reaches the store with its intent read"
    );
    let mut m = m;
    let intent = m.intent.take();
    if let Some(i) = intent
        .as_ref()
        .filter(|i| i.intent.is_known() || c.intent.is_none())
    {
        c.intent = Some(i.intent);
        c.intent_confidence = Some(i.confidence);
    }
    let id = MessageId::generate();
    let delivery_error =
        (delivery == Some(DeliveryStatus::Failed)).then(|| notes::undeliverable(c.channel));
    batch
        .add(
            "INSERT INTO messages (id, conversation_id, sender_type, agent_id, body, body_html, private, delivery_status, \
             quoted, sender_address, intent, intent_confidence, created_at, delivery_error) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .text(id.as_str())
        .text(c.id.as_str())
        .text(m.sender.as_str())
        .opt_text(m.agent_id.as_ref().map(|a| a.as_str()))
        .text(m.body.as_str())
        .opt_text(m.body_html.as_deref())
        .bool(m.private)
        .opt_text(delivery.map(|d| d.as_str()))
        .opt_text(m.quoted.as_deref())
        .opt_text(m.sender_address.as_deref())
        .opt_text(intent.as_ref().map(|i| i.intent.as_str()))
        .opt_float(intent.as_ref().map(|i| i.confidence))
        .time(at)
        .opt_text(delivery_error.as_deref());
    let attachments = m
        .attachments
        .into_iter()
        .map(|a| {
            let aid = a.id;
            batch
                .add(
                    "INSERT INTO attachments (id, message_id, filename, content_type, size_bytes, storage_key, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .text(aid.as_str())
                .text(id.as_str())
                .text(a.filename.as_str())
                .text(a.content_type.as_str())
                .int(a.size_bytes)
                .text(a.storage_key.as_str())
                .time(now);
            Attachment {
                id: aid,
                filename: a.filename,
                content_type: a.content_type,
                size_bytes: a.size_bytes,
                storage_key: a.storage_key,
            }
        })
        .collect();
    if let Some(job) =
        deliver_job(c.channel, &id, &c.id).filter(|_| recorded.needs_delivery && !historical)
    {
        jobs::enqueue(batch, job.dedupe(format!("deliver:{id}")), now);
    }
    if !m.private {
        c.preview = Some(m.body.as_str().chars().take(PREVIEW_CHARS).collect());
    }
    Ok(Message {
        id,
        conversation_id: c.id.clone(),
        sender_type: m.sender,
        agent_id: m.agent_id,
        body: m.body.into_string(),
        body_html: m.body_html,
        private: m.private,
        delivery_status: delivery,
        delivery_error,
        quoted: m.quoted,
        sender_address: m.sender_address,
        intent,
        attachments,
        created_at: at,
    })
}

/// Rewrites a conversation's search document from its subject and messages, after the
/// statements that changed them.
fn reindex(batch: &mut Batch, pg: bool, id: &ConversationId) {
    if pg {
        batch
            .add(
                "UPDATE conversations c SET search = setweight(to_tsvector('english', coalesce(c.subject, '')), 'A') \
                 || to_tsvector('english', coalesce((SELECT string_agg(m.body, chr(10)) FROM messages m \
                 WHERE m.conversation_id = c.id), '')) WHERE c.id = $1",
            )
            .text(id.as_str());
    } else {
        batch
            .add(
                "DELETE FROM conversation_search WHERE rowid = (SELECT seq FROM conversations WHERE id = $1)",
            )
            .text(id.as_str());
        batch
            .add(
                "INSERT INTO conversation_search (rowid, subject, body) SELECT c.seq, coalesce(c.subject, ''), \
                 coalesce((SELECT group_concat(m.body, char(10)) FROM messages m WHERE m.conversation_id = c.id), '') \
                 FROM conversations c WHERE c.id = $1",
            )
            .text(id.as_str());
    }
}

/// Replaces a conversation's tags; returns them normalised (lower case, sorted, no repeats).
fn set_tags(
    batch: &mut Batch,
    id: &ConversationId,
    tags: &[Label],
    replace: bool,
    now: DateTime<Utc>,
) -> Vec<String> {
    let mut names: Vec<String> = tags.iter().map(|t| t.as_str().to_lowercase()).collect();
    names.sort();
    names.dedup();
    if replace {
        batch
            .add("DELETE FROM conversation_tags WHERE conversation_id = $1")
            .text(id.as_str());
    }
    for name in &names {
        batch
            .add(
                "INSERT INTO tags (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            )
            .text(name.as_str())
            .time(now);
        batch
            .add("INSERT INTO conversation_tags (conversation_id, tag) VALUES ($1, $2)")
            .text(id.as_str())
            .text(name.as_str());
    }
    names
}

/// Opens a conversation inside `tx`: finds or creates the customer (the one write that may
/// happen at once) and adds the conversation, its messages, tags, search document, audit
/// entry, event and view count to `batch`. The caller commits, then calls
/// `events_committed`.
pub(crate) async fn open(
    tx: &mut Tx,
    batch: &mut Batch,
    new: NewConversation,
    rest: Vec<NewMessage>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(Conversation, Vec<Message>), StoreError> {
    open_as(tx, batch, ConversationId::generate(), new, rest, actor, now).await
}

/// [`open`] under an id chosen before (a chat session reserves its conversation's id when
/// the widget opens, and the conversation is made with the first message).
pub(crate) async fn open_as(
    tx: &mut Tx,
    batch: &mut Batch,
    id: ConversationId,
    new: NewConversation,
    rest: Vec<NewMessage>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(Conversation, Vec<Message>), StoreError> {
    let opened_at = new.message.at.unwrap_or(now);
    let customer = customers::resolve(tx, &new.customer, now, batch).await?;
    let mut c = Conversation {
        id: id.clone(),
        customer,
        channel: new.channel,
        priority: new.priority,
        assignee_id: None,
        team_id: None,
        subject: new.subject.map(Subject::into_string),
        intent: None,
        intent_confidence: None,
        lifecycle: Lifecycle::start(new.message.sender, opened_at),
        message_count: 0,
        tags: vec![],
        merged_into_id: None,
        preview: None,
        created_at: opened_at,
        updated_at: opened_at.max(now),
    };
    // The message is recorded first so the conversation row goes in once, in its final
    // state; its statements follow the conversation's in the batch.
    let mut message_rows = Batch::default();
    let mut messages = vec![add_message(&mut message_rows, &mut c, new.message, now)?];
    for m in rest {
        messages.push(add_message(&mut message_rows, &mut c, m, now)?);
    }
    let b = batch
        .add(
            "INSERT INTO conversations (id, customer_id, channel, status, snooze_until, first_response_at, \
             resolved_at, waiting_since, last_activity_at, priority, subject, message_count, created_at, updated_at, \
             reply_token, intent, intent_confidence) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .text(id.as_str())
        .text(c.customer.id.as_str())
        .text(c.channel.as_str());
    bind_lifecycle(b, &c.lifecycle)
        .text(c.priority.as_str())
        .opt_text(c.subject.as_deref())
        .int(c.message_count)
        .time(c.created_at)
        .time(c.updated_at)
        .text(ReplyToken::generate().as_str())
        .opt_text(c.intent.map(Intent::as_str))
        .opt_float(c.intent_confidence);
    c.tags = set_tags(batch, &id, &new.tags, false, now);
    batch.extend(message_rows);
    let pg = tx.is_postgres();
    reindex(batch, pg, &id);
    audit::record(
        batch,
        AuditEntry::new(
            actor,
            "conversation.created",
            "conversation",
            id.as_str(),
            json!({ "channel": c.channel.as_str() }),
        ),
        now,
    );
    events::record(batch, pg, "conversation.created", &id, state(&c), now);
    tally(batch, None, &place(&c));
    Ok((c, messages))
}

/// Adds a message to a conversation inside `tx`: loads it (locked on PostgreSQL), applies
/// the lifecycle rules, and adds the message, the conversation's new state, its search
/// document, the event and the view counts to `batch`.
pub(crate) async fn append(
    tx: &mut Tx,
    batch: &mut Batch,
    id: &ConversationId,
    new: NewMessage,
    now: DateTime<Utc>,
) -> Result<(Conversation, Message), StoreError> {
    let mut c = load_for_update(tx, id).await?;
    let before = place(&c);
    let message = add_message(batch, &mut c, new, now)?;
    save(batch, &c, now);
    if c.channel == Channel::Chat && message.sender_type == SenderType::Agent && !message.private {
        // An agent who answers a chat takes it from the virtual assistant.
        batch
            .add(
                "UPDATE chat_sessions SET assistant = FALSE, misses = 0, awaiting = NULL WHERE conversation_id = $1",
            )
            .text(id.as_str());
        // A shopper who asked for answers by email, at an address proved theirs, gets this
        // one there too.
        let by_email: Option<String> = on_tx!(read tx, |conn, pg| sqlx::query_scalar(
            "SELECT id FROM chat_sessions WHERE conversation_id = $1 AND email_replies AND email_confirmed"
        )
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?);
        if by_email.is_some() {
            jobs::enqueue(
                batch,
                NewJob::now(payloads::ChatEmail {
                    message_id: message.id.clone(),
                })
                .dedupe(format!("chat-email:{}", message.id)),
                now,
            );
        }
    }
    let pg = tx.is_postgres();
    reindex(batch, pg, id);
    let mut data = state(&c);
    data["message_id"] = json!(message.id.as_str());
    data["sender_type"] = json!(message.sender_type.as_str());
    data["private"] = json!(message.private);
    events::record(batch, pg, "message.created", id, data, now);
    tally(batch, Some(&before), &place(&c));
    Ok((c, message))
}

async fn require_exists(
    tx: &mut Tx,
    table: &str,
    id: &str,
    field: &'static str,
) -> Result<(), StoreError> {
    let sql = format!("SELECT count(*) FROM {table} WHERE id = $1");
    let n: i64 = on_tx!(tx, |conn, pg| sqlx::query_scalar(&sql)
        .bind(id)
        .fetch_one(conn)
        .await?);
    if n == 0 {
        return Err(StoreError::reference(
            field,
            format!("{field} does not name an existing record"),
        ));
    }
    Ok(())
}

impl Store {
    /// Opens a conversation with its first message, finding or creating the customer, in one
    /// transaction.
    pub async fn create_conversation(
        &self,
        new: NewConversation,
        actor: &Actor,
    ) -> Result<(Conversation, Message), StoreError> {
        let (c, mut messages) = self.import_conversation(new, vec![], actor).await?;
        Ok((c, messages.remove(0)))
    }

    /// Opens a conversation with its first message and the `rest` after it, in one
    /// transaction, applying the lifecycle rules to each message in turn: how a thread from
    /// another help desk (or the demo, or a benchmark's data) comes in at once. Messages dated
    /// in the past are taken as delivered then.
    pub async fn import_conversation(
        &self,
        new: NewConversation,
        rest: Vec<NewMessage>,
        actor: &Actor,
    ) -> Result<(Conversation, Vec<Message>), StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let mut batch = Batch::default();
        let opened = open(&mut tx, &mut batch, new, rest, actor, now).await?;
        tx.commit_with(batch).await?;
        self.events_committed();
        Ok(opened)
    }

    /// Adds a message to a conversation.
    pub async fn append_message(
        &self,
        id: &ConversationId,
        new: NewMessage,
    ) -> Result<(Conversation, Message), StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let mut batch = Batch::default();
        let (mut c, message) = append(&mut tx, &mut batch, id, new, now).await?;
        tx.commit_with(batch).await?;
        self.events_committed();
        c.updated_at = now;
        Ok((c, message))
    }

    /// Applies a change to status, snooze, priority, assignment, team or tags, recording each
    /// change in the audit log. Snoozing queues the wake-up.
    pub async fn update_conversation(
        &self,
        id: &ConversationId,
        patch: ConversationPatch,
        actor: &Actor,
    ) -> Result<Conversation, StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let mut c = load_for_update(&mut tx, id).await?;
        let before = place(&c);
        let mut batch = Batch::default();
        let mut changes = serde_json::Map::new();
        if patch.status.is_some() || patch.snooze_until.is_some() {
            let to = patch.status.unwrap_or(c.lifecycle.status);
            let from = c.lifecycle.status;
            c.lifecycle
                .change_status(to, patch.snooze_until, now)
                .map_err(lifecycle_refused)?;
            changes.insert(
                "status".into(),
                json!({ "from": from.as_str(), "to": to.as_str() }),
            );
            if let (ConversationStatus::Snoozed, Some(until)) = (to, c.lifecycle.snooze_until) {
                changes.insert("snooze_until".into(), json!(until.to_rfc3339()));
                jobs::enqueue(
                    &mut batch,
                    NewJob::at(
                        payloads::ConversationWake {
                            conversation_id: id.clone(),
                        },
                        until,
                    )
                    .dedupe(format!("wake:{id}:{}", until.timestamp_micros())),
                    now,
                );
            }
        }
        if let Some(p) = patch.priority {
            changes.insert(
                "priority".into(),
                json!({ "from": c.priority.as_str(), "to": p.as_str() }),
            );
            c.priority = p;
        }
        if let Some(assignee) = patch.assignee_id {
            if let Some(a) = &assignee {
                require_exists(&mut tx, "agents", a.as_str(), "assignee_id").await?;
            }
            changes.insert("assignee_id".into(), json!({ "from": c.assignee_id.as_ref().map(|a| a.as_str()), "to": assignee.as_ref().map(|a| a.as_str()) }));
            c.assignee_id = assignee;
        }
        if let Some(team) = patch.team_id {
            if let Some(t) = &team {
                require_exists(&mut tx, "teams", t.as_str(), "team_id").await?;
            }
            changes.insert("team_id".into(), json!({ "from": c.team_id.as_ref().map(|t| t.as_str()), "to": team.as_ref().map(|t| t.as_str()) }));
            c.team_id = team;
        }
        let replaced = patch.tags.is_some() || !patch.add_tags.is_empty();
        let tags = patch.tags.as_ref().map_or_else(
            || c.tags.iter().filter_map(|t| Label::parse(t).ok()).collect(),
            Clone::clone,
        );
        if replaced {
            let tags: Vec<Label> = tags
                .into_iter()
                .chain(patch.add_tags.iter().cloned())
                .collect();
            let names = set_tags(&mut batch, id, &tags, true, now);
            changes.insert("tags".into(), json!({ "from": c.tags, "to": names }));
            c.tags = names;
        }
        save(&mut batch, &c, now);
        if !changes.is_empty() {
            audit::record(
                &mut batch,
                AuditEntry::new(
                    actor,
                    "conversation.updated",
                    "conversation",
                    id.as_str(),
                    serde_json::Value::Object(changes),
                ),
                now,
            );
            let pg = tx.is_postgres();
            events::record(&mut batch, pg, "conversation.updated", id, state(&c), now);
            tally(&mut batch, Some(&before), &place(&c));
        }
        tx.commit_with(batch).await?;
        self.events_committed();
        c.updated_at = now;
        Ok(c)
    }

    /// Merges `source` into `target`, two conversations of one customer: the source's
    /// messages move to the target (a system note there says so), and the source is closed,
    /// pointing at the target. Returns the target.
    pub async fn merge_conversations(
        &self,
        source: &ConversationId,
        target: &ConversationId,
        actor: &Actor,
    ) -> Result<Conversation, StoreError> {
        if source == target {
            return Err(StoreError::conflict(
                "into",
                "a conversation cannot be merged into itself",
            ));
        }
        let now = At::now();
        let mut tx = self.begin().await?;
        let mut from = load_for_update(&mut tx, source).await?;
        let mut into = match load_for_update(&mut tx, target).await {
            Err(StoreError::NotFound(_)) => {
                return Err(StoreError::reference(
                    "into",
                    "into does not name an existing conversation",
                ))
            }
            other => other?,
        };
        if from.customer.id != into.customer.id {
            return Err(StoreError::conflict(
                "into",
                "only conversations of the same customer can be merged",
            ));
        }
        if from.merged_into_id.is_some() || into.merged_into_id.is_some() {
            return Err(StoreError::conflict(
                "into",
                "a merged conversation cannot be merged again",
            ));
        }
        let (from_before, into_before) = (place(&from), place(&into));
        let mut batch = Batch::default();
        batch
            .add("UPDATE messages SET conversation_id = $2 WHERE conversation_id = $1")
            .text(source.as_str())
            .text(target.as_str());
        into.message_count += from.message_count;
        into.lifecycle.last_activity_at = into
            .lifecycle
            .last_activity_at
            .max(from.lifecycle.last_activity_at);
        let note = notes::merged(from.subject.as_deref(), source.as_str());
        let message = add_message(
            &mut batch,
            &mut into,
            NewMessage {
                private: true,
                ..NewMessage::text(SenderType::System, note)
            },
            now,
        )?;
        from.lifecycle
            .change_status(ConversationStatus::Closed, None, now)
            .map_err(lifecycle_refused)?;
        from.message_count = 0;
        from.merged_into_id = Some(target.clone());
        save(&mut batch, &from, now);
        batch
            .add("UPDATE conversations SET merged_into_id = $2 WHERE id = $1")
            .text(source.as_str())
            .text(target.as_str());
        save(&mut batch, &into, now);
        let pg = tx.is_postgres();
        reindex(&mut batch, pg, source);
        reindex(&mut batch, pg, target);
        audit::record(
            &mut batch,
            AuditEntry::new(
                actor,
                "conversation.merged",
                "conversation",
                source.as_str(),
                json!({ "into": target.as_str() }),
            ),
            now,
        );
        let mut data = state(&from);
        data["merged_into_id"] = json!(target.as_str());
        events::record(&mut batch, pg, "conversation.updated", source, data, now);
        let mut data = state(&into);
        data["message_id"] = json!(message.id.as_str());
        data["sender_type"] = json!(message.sender_type.as_str());
        data["private"] = json!(true);
        events::record(&mut batch, pg, "message.created", target, data, now);
        tally(&mut batch, Some(&from_before), &place(&from));
        tally(&mut batch, Some(&into_before), &place(&into));
        tx.commit_with(batch).await?;
        self.events_committed();
        into.updated_at = now;
        Ok(into)
    }

    /// Reopens a snoozed conversation whose time has come. Returns whether it woke; a
    /// conversation that was re-snoozed later or reopened meanwhile is left alone, so a stale
    /// or repeated wake-up job does nothing.
    pub async fn wake_conversation(
        &self,
        id: &ConversationId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let mut c = match load_for_update(&mut tx, id).await {
            Err(StoreError::NotFound(_)) => return Ok(false),
            other => other?,
        };
        let before = place(&c);
        let woke = c.lifecycle.wake(now);
        if woke {
            let mut batch = Batch::default();
            save(&mut batch, &c, now);
            audit::record(
                &mut batch,
                AuditEntry::new(
                    &Actor::System,
                    "conversation.woke",
                    "conversation",
                    id.as_str(),
                    json!({}),
                ),
                now,
            );
            let pg = tx.is_postgres();
            events::record(&mut batch, pg, "conversation.updated", id, state(&c), now);
            tally(&mut batch, Some(&before), &place(&c));
            batch.run(&mut tx).await?;
        }
        tx.commit().await?;
        if woke {
            self.events_committed();
        }
        Ok(woke)
    }

    /// Records the detected intent of the latest inbound message.
    pub async fn set_intent(
        &self,
        id: &ConversationId,
        reading: IntentReading,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let n = on_tx!(&mut tx, |conn, pg| {
            sqlx::query(
                "UPDATE conversations SET intent = $2, intent_confidence = $3 WHERE id = $1",
            )
            .bind(id.as_str())
            .bind(reading.intent.as_str())
            .bind(reading.confidence)
            .execute(conn)
            .await?
            .rows_affected()
        });
        tx.commit().await?;
        if n == 0 {
            return Err(StoreError::NotFound("conversation"));
        }
        Ok(())
    }

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

    /// The inbox: conversations matching the filter, newest activity first.
    pub async fn conversations(
        &self,
        filter: &ConversationFilter,
        page: &PageRequest,
    ) -> Result<Page<Conversation>, StoreError> {
        self.conversations_by(filter, page, None).await
    }

    /// [`Store::conversations`], with the SQLite search plan chosen by the caller (`Some(true)`
    /// walks the inbox, `Some(false)` sorts the matches) or by the counts (`None`).
    async fn conversations_by(
        &self,
        filter: &ConversationFilter,
        page: &PageRequest,
        walk: Option<bool>,
    ) -> Result<Page<Conversation>, StoreError> {
        let empty = || Page {
            items: vec![],
            next_cursor: None,
        };
        let limit = page.limit();
        let pg = matches!(self.engine, crate::Engine::Postgres(_));
        let mut args = Args::default();
        let mut filters = String::new();
        if let Some(s) = filter.status {
            filters += &format!(" AND c.status = {}", args.text(s.as_str()));
        }
        match &filter.assignee_id {
            Some(Some(a)) => filters += &format!(" AND c.assignee_id = {}", args.text(a.as_str())),
            Some(None) => filters += " AND c.assignee_id IS NULL",
            None => {}
        }
        if let Some(cid) = &filter.customer_id {
            filters += &format!(" AND c.customer_id = {}", args.text(cid.as_str()));
        }
        if let Some(ch) = filter.channel {
            filters += &format!(" AND c.channel = {}", args.text(ch.as_str()));
        }
        if let Some(t) = &filter.team_id {
            filters += &format!(" AND c.team_id = {}", args.text(t.as_str()));
        }
        if let Some(p) = filter.priority {
            filters += &format!(" AND c.priority = {}", args.text(p.as_str()));
        }
        if let Some(i) = &filter.intent {
            filters += &format!(" AND c.intent = {}", args.text(i.as_str()));
        }
        let waiting = filter.order == InboxOrder::WaitingLongest;
        if waiting {
            filters += " AND c.waiting_since IS NOT NULL";
        }
        if let Some(tag) = &filter.tag {
            filters += &format!(
                " AND EXISTS (SELECT 1 FROM conversation_tags t WHERE t.conversation_id = c.id AND t.tag = {})",
                args.text(tag.to_lowercase())
            );
        }
        if let Some(q) = &filter.q {
            if !search::has_words(q) {
                return Ok(empty());
            }
            if pg {
                let tsq = search::pg_tsquery(&args.text(q.as_str()));
                filters += &format!(" AND c.search @@ {tsq}");
            } else {
                let Some(fts) = search::fts5_query(q, search::LastWord::Whole) else {
                    return Ok(empty());
                };
                // Collecting every match and sorting them costs time in proportion to the
                // matches; walking the inbox newest first and probing each conversation costs
                // time in proportion to how far down the page's last match lies. Which is
                // cheaper depends on how common the words are.
                let common = match walk {
                    Some(walk) => walk,
                    None => self.search_is_common(&fts).await?,
                };
                let p = args.text(fts);
                filters += &if common {
                    format!(" AND EXISTS (SELECT 1 FROM conversation_search WHERE conversation_search MATCH {p} AND rowid = c.seq)")
                } else {
                    format!(" AND c.seq IN (SELECT rowid FROM conversation_search WHERE conversation_search MATCH {p})")
                };
            }
        }
        match &page.cursor {
            Some(Cursor::After { micros, id }) => {
                let t = DateTime::from_timestamp_micros(*micros).unwrap_or_default();
                let pt = args.time(At(t));
                let pi = args.text(id.as_str());
                // A row value, so both engines continue the index walk where the page ended.
                filters += &if waiting {
                    format!(" AND (c.waiting_since, c.id) > ({pt}, {pi})")
                } else {
                    format!(" AND (c.last_activity_at, c.id) < ({pt}, {pi})")
                };
            }
            Some(_) => {
                return Err(StoreError::conflict(
                    "cursor",
                    "this cursor belongs to another list",
                ))
            }
            None => {}
        }
        // The page is chosen first and only its rows are joined to their customer and tags,
        // so a search that sorts many matches sorts bare keys.
        let order = if waiting {
            "c.waiting_since, c.id"
        } else {
            "c.last_activity_at DESC, c.id DESC"
        };
        let sql = format!(
            "SELECT {} FROM conversations c JOIN customers cu ON cu.id = c.customer_id WHERE c.seq IN \
             (SELECT c.seq FROM conversations c WHERE 1 = 1{filters} ORDER BY {order} LIMIT {}) \
             ORDER BY {order}",
            conversation_columns(pg),
            args.int(i64::from(limit) + 1)
        );
        // On PostgreSQL a search is planned for its own words each time: a cached generic
        // plan cannot tell a rare word from a common one, and would sort every match of the
        // latter (p95 58 ms instead of 8 ms at 1,000,000 messages).
        let searching = filter.q.is_some();
        let rows: Vec<ConversationRow> =
            on_engine!(self, |pool, pg| bind_args!(sqlx::query_as(&sql), args)
                .persistent(!(searching && pg))
                .fetch_all(pool)
                .await?);
        let items = rows
            .into_iter()
            .map(ConversationRow::into_conversation)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(items, limit, |c: &Conversation| {
            let key = match (waiting, c.lifecycle.waiting_since) {
                (true, Some(since)) => since,
                _ => c.lifecycle.last_activity_at,
            };
            Cursor::After {
                micros: key.timestamp_micros(),
                id: c.id.to_string(),
            }
        }))
    }

    /// How many conversations each inbox view holds for `agent`, from the kept counts.
    pub async fn inbox_counts(&self, agent: &AgentId) -> Result<InboxCounts, StoreError> {
        let rows: Vec<(String, String, i64)> = on_engine!(self, |pool, pg| {
            sqlx::query_as("SELECT status, assignee_id, n FROM inbox_counts WHERE n <> 0")
                .fetch_all(pool)
                .await?
        });
        let mut counts = InboxCounts::default();
        for (status, assignee, n) in rows {
            match ConversationStatus::parse(&status) {
                Ok(ConversationStatus::Open) => {
                    counts.open += n;
                    match assignee.as_str() {
                        "" => counts.unassigned += n,
                        a if a == agent.as_str() => counts.mine += n,
                        _ => {}
                    }
                }
                Ok(ConversationStatus::Pending) => counts.pending += n,
                Ok(ConversationStatus::Snoozed) => counts.snoozed += n,
                Ok(ConversationStatus::Resolved) => counts.resolved += n,
                // Closed conversations are in no view.
                Ok(ConversationStatus::Closed) | Err(_) => {}
            }
        }
        Ok(counts)
    }

    /// Whether an FTS5 query matches so many conversations that walking the inbox newest first
    /// finds a page sooner than sorting the matches. With N conversations, the walk probes
    /// about 51·N/m of them for m matches, the sort handles m keys; a probe costs about a
    /// hundred times a key, so the two meet near m = √(5000·N) (measured on the 100,000
    /// conversation benchmark: both about 7 ms there).
    async fn search_is_common(&self, fts: &str) -> Result<bool, StoreError> {
        let total: i64 = on_engine!(self, |pool, pg| sqlx::query_scalar(
            "SELECT coalesce(max(seq), 0) FROM conversations"
        )
        .fetch_one(pool)
        .await?);
        let threshold = ((5000.0 * total as f64).sqrt() as i64).max(1000);
        let found: i64 = on_engine!(self, |pool, pg| {
            sqlx::query_scalar(
                "SELECT count(*) FROM (SELECT 1 FROM conversation_search WHERE conversation_search MATCH $1 LIMIT $2)",
            )
            .bind(fts)
            .bind(threshold)
            .fetch_one(pool)
            .await?
        });
        Ok(found >= threshold)
    }

    /// Every tag's name, in order.
    pub async fn tag_names(&self) -> Result<Vec<String>, StoreError> {
        Ok(on_engine!(self, |pool, pg| sqlx::query_scalar(
            "SELECT name FROM tags ORDER BY name"
        )
        .fetch_all(pool)
        .await?))
    }

    /// Every tag, with how many conversations carry it, by name.
    pub async fn tags(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(on_engine!(self, |pool, pg| {
            sqlx::query_as(
            "SELECT t.name, (SELECT count(*) FROM conversation_tags ct WHERE ct.tag = t.name) FROM tags t ORDER BY t.name"
        )
        .fetch_all(pool)
        .await?
        }))
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

    /// Tries a failed delivery again: the message goes back to pending with a fresh job.
    pub async fn retry_delivery(
        &self,
        id: &MessageId,
        actor: &Actor,
    ) -> Result<Message, StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let row: Option<(String, Option<String>, String)> = on_tx!(read &mut tx, |conn, pg| sqlx::query_as(
            "SELECT m.conversation_id, m.delivery_status, c.channel FROM messages m \
             JOIN conversations c ON c.id = m.conversation_id WHERE m.id = $1"
        )
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?);
        let (conversation_id, status, channel) = row.ok_or(StoreError::NotFound("message"))?;
        let status = status.and_then(|s| DeliveryStatus::parse(&s).ok());
        if status != Some(DeliveryStatus::Failed) {
            return Err(StoreError::conflict(
                "delivery_status",
                "only a message whose delivery failed can be sent again",
            ));
        }
        let channel = Channel::parse(&channel).map_err(StoreError::corrupt)?;
        let conversation_id = ConversationId::from_trusted(conversation_id);
        let Some(job) = deliver_job(channel, id, &conversation_id) else {
            return Err(StoreError::conflict(
                "delivery_status",
                notes::undeliverable(channel),
            ));
        };
        let mut batch = Batch::default();
        record_delivery(&mut tx, &mut batch, id, DeliveryStatus::Pending, None, now).await?;
        jobs::enqueue(
            &mut batch,
            job.dedupe(format!("deliver:{id}:{}", now.timestamp_micros())),
            now,
        );
        audit::record(
            &mut batch,
            AuditEntry::new(
                actor,
                "message.delivery_retried",
                "message",
                id.as_str(),
                json!({}),
            ),
            now,
        );
        tx.commit_with(batch).await?;
        self.events_committed();
        self.message(id).await
    }

    /// Records how an outbound message's delivery went: its status and, when it failed,
    /// why. Live views are told. Returns whether the status changed.
    pub async fn record_delivery(
        &self,
        id: &MessageId,
        status: DeliveryStatus,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let mut batch = Batch::default();
        let changed = record_delivery(&mut tx, &mut batch, id, status, error, now).await?;
        tx.commit_with(batch).await?;
        if changed {
            self.events_committed();
        }
        Ok(changed)
    }
}

/// Adds an outbound message's new delivery status (and error) to `batch`, with the event
/// live views need. Returns whether it changes. A sent message may still become failed: a
/// bounce can arrive after the relay accepted it.
pub(crate) async fn record_delivery(
    tx: &mut Tx,
    batch: &mut Batch,
    id: &MessageId,
    status: DeliveryStatus,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let row: Option<(String, Option<String>)> = on_tx!(read tx, |conn, pg| sqlx::query_as(
        "SELECT conversation_id, delivery_status FROM messages WHERE id = $1"
    )
    .bind(id.as_str())
    .fetch_optional(conn)
    .await?);
    let (conversation_id, current) = row.ok_or(StoreError::NotFound("message"))?;
    let current = current
        .map(|s| DeliveryStatus::parse(&s))
        .transpose()
        .map_err(StoreError::corrupt)?;
    if current == Some(status) {
        return Ok(false);
    }
    batch
        .add("UPDATE messages SET delivery_status = $2, delivery_error = $3 WHERE id = $1")
        .text(id.as_str())
        .text(status.as_str())
        .opt_text(error);
    let conversation_id = ConversationId::from_trusted(conversation_id);
    events::record(
        batch,
        tx.is_postgres(),
        "message.updated",
        &conversation_id,
        json!({ "message_id": id.as_str(), "delivery_status": status.as_str(), "delivery_error": error }),
        now,
    );
    Ok(true)
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
        let dir = std::env::temp_dir().join(format!("concierge-store-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let url = format!("sqlite://{}/t.db", dir.display());
        let store = Store::connect(&url, &Default::default()).await.unwrap();
        store.migrate().await.unwrap();
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
        let dir =
            std::env::temp_dir().join(format!("concierge-counts-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let url = format!("sqlite://{}/t.db", dir.display());
        let store = Store::connect(&url, &Default::default()).await.unwrap();
        store.migrate().await.unwrap();
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
}
