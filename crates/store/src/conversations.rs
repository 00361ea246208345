//! Conversations and their messages: opening a thread, appending to it, changing its status,
//! assignment and tags, waking snoozed ones, and the inbox list with full-text search.

use crate::args::{bind_args, Args};
use crate::audit::{self, AuditEntry};
use crate::customers::{self, CustomerRef};
use crate::jobs::{self, NewJob};
use crate::{on_engine, on_tx, search, At, Cursor, Page, PageRequest, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use concierge_domain::access::Actor;
use concierge_domain::conversation::{
    Channel, ConversationStatus, DeliveryStatus, Lifecycle, LifecycleError, Priority, SenderType,
};
use concierge_domain::ids::{AgentId, AttachmentId, ConversationId, CustomerId, MessageId, TeamId};
use concierge_domain::text::{Label, MessageBody, Subject};
use serde_json::json;

/// The job kind that hands an outbound message to its channel's transport.
pub const DELIVER_JOB: &str = "message.deliver";
/// The job kind that wakes a snoozed conversation.
pub const WAKE_JOB: &str = "conversation.wake";

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
    pub intent: Option<String>,
    pub intent_confidence: Option<f64>,
    pub lifecycle: Lifecycle,
    pub message_count: i64,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Who the conversation is with, in short.
#[derive(Debug, Clone)]
pub struct CustomerSummary {
    pub id: CustomerId,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
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
    pub attachments: Vec<Attachment>,
    pub created_at: DateTime<Utc>,
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

#[derive(Debug, Clone)]
pub struct NewAttachment {
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
        }
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
    /// Full-text search over subjects and message bodies.
    pub q: Option<String>,
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
    created_at: At,
    updated_at: At,
}

const CONVERSATION_COLUMNS: &str = "c.id, c.customer_id, cu.name AS customer_name, cu.email AS customer_email, \
    cu.phone AS customer_phone, c.channel, c.status, c.priority, c.assignee_id, c.team_id, c.subject, c.intent, \
    c.intent_confidence, c.snooze_until, c.first_response_at, c.resolved_at, c.waiting_since, c.last_activity_at, \
    c.message_count, c.created_at, c.updated_at";

impl ConversationRow {
    fn into_conversation(self, tags: Vec<String>) -> Result<Conversation, StoreError> {
        let corrupt = StoreError::corrupt;
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
            intent: self.intent,
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
    created_at: At,
}

const MESSAGE_COLUMNS: &str =
    "id, conversation_id, sender_type, agent_id, body, body_html, private, delivery_status, created_at";

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
            attachments,
            created_at: self.created_at.0,
        })
    }
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
    let sql = format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations c JOIN customers cu ON cu.id = c.customer_id WHERE c.id = $1{}",
        if tx.is_postgres() { " FOR UPDATE OF c" } else { "" }
    );
    let row: Option<ConversationRow> = on_tx!(tx, |conn, pg| sqlx::query_as(&sql)
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?);
    let row = row.ok_or(StoreError::NotFound("conversation"))?;
    let tags: Vec<String> = on_tx!(tx, |conn, pg| {
        sqlx::query_scalar(
            "SELECT tag FROM conversation_tags WHERE conversation_id = $1 ORDER BY tag",
        )
        .bind(id.as_str())
        .fetch_all(conn)
        .await?
    });
    row.into_conversation(tags)
}

/// Writes a conversation's lifecycle, priority and references back.
async fn save(tx: &mut Tx, c: &Conversation, now: DateTime<Utc>) -> Result<(), StoreError> {
    let l = &c.lifecycle;
    on_tx!(tx, |conn, pg| {
        sqlx::query(
            "UPDATE conversations SET status = $2, priority = $3, assignee_id = $4, team_id = $5, snooze_until = $6, \
             first_response_at = $7, resolved_at = $8, waiting_since = $9, last_activity_at = $10, \
             message_count = $11, updated_at = $12 WHERE id = $1",
        )
        .bind(c.id.as_str())
        .bind(l.status.as_str())
        .bind(c.priority.as_str())
        .bind(c.assignee_id.as_ref().map(|a| a.as_str()))
        .bind(c.team_id.as_ref().map(|t| t.as_str()))
        .bind(l.snooze_until.map(At))
        .bind(l.first_response_at.map(At))
        .bind(l.resolved_at.map(At))
        .bind(l.waiting_since.map(At))
        .bind(At(l.last_activity_at))
        .bind(c.message_count)
        .bind(At(now))
        .execute(conn)
        .await?.rows_affected()
    });
    Ok(())
}

/// Inserts a message into a loaded conversation, applying the lifecycle rules, and queues its
/// delivery when it goes out to the shopper.
async fn add_message(
    tx: &mut Tx,
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
    let id = MessageId::generate();
    on_tx!(tx, |conn, pg| {
        sqlx::query(
            "INSERT INTO messages (id, conversation_id, sender_type, agent_id, body, body_html, private, delivery_status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id.as_str())
        .bind(c.id.as_str())
        .bind(m.sender.as_str())
        .bind(m.agent_id.as_ref().map(|a| a.as_str()))
        .bind(m.body.as_str())
        .bind(m.body_html.as_deref())
        .bind(m.private)
        .bind(recorded.delivery.map(|d| d.as_str()))
        .bind(At(at))
        .execute(conn)
        .await?.rows_affected()
    });
    let mut attachments = Vec::with_capacity(m.attachments.len());
    for a in m.attachments {
        let aid = AttachmentId::generate();
        on_tx!(tx, |conn, pg| {
            sqlx::query(
                "INSERT INTO attachments (id, message_id, filename, content_type, size_bytes, storage_key, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(aid.as_str())
            .bind(id.as_str())
            .bind(&a.filename)
            .bind(&a.content_type)
            .bind(a.size_bytes)
            .bind(&a.storage_key)
            .bind(At(now))
            .execute(conn)
            .await?.rows_affected()
        });
        attachments.push(Attachment {
            id: aid,
            filename: a.filename,
            content_type: a.content_type,
            size_bytes: a.size_bytes,
            storage_key: a.storage_key,
        });
    }
    if recorded.needs_delivery {
        jobs::enqueue(
            tx,
            NewJob::now(
                DELIVER_JOB,
                json!({ "message_id": id.as_str(), "conversation_id": c.id.as_str() }),
            )
            .dedupe(format!("deliver:{id}")),
            now,
        )
        .await?;
    }
    Ok(Message {
        id,
        conversation_id: c.id.clone(),
        sender_type: m.sender,
        agent_id: m.agent_id,
        body: m.body.into_string(),
        body_html: m.body_html,
        private: m.private,
        delivery_status: recorded.delivery,
        attachments,
        created_at: at,
    })
}

async fn set_tags(
    tx: &mut Tx,
    id: &ConversationId,
    tags: &[Label],
    now: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    let mut names: Vec<String> = tags.iter().map(|t| t.as_str().to_lowercase()).collect();
    names.sort();
    names.dedup();
    on_tx!(tx, |conn, pg| {
        sqlx::query("DELETE FROM conversation_tags WHERE conversation_id = $1")
            .bind(id.as_str())
            .execute(conn)
            .await?
            .rows_affected()
    });
    for name in &names {
        on_tx!(tx, |conn, pg| {
            sqlx::query(
                "INSERT INTO tags (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(At(now))
            .execute(&mut *conn)
            .await?
            .rows_affected();
            sqlx::query("INSERT INTO conversation_tags (conversation_id, tag) VALUES ($1, $2)")
                .bind(id.as_str())
                .bind(name)
                .execute(conn)
                .await?
                .rows_affected()
        });
    }
    Ok(names)
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
        let now = At::now();
        let opened_at = new.message.at.unwrap_or(now);
        let mut tx = self.begin().await?;
        let customer_id = customers::resolve(&mut tx, &new.customer, now).await?;
        let id = ConversationId::generate();
        let lifecycle = Lifecycle::start(new.message.sender, opened_at);
        on_tx!(&mut tx, |conn, pg| {
            sqlx::query(
                "INSERT INTO conversations (id, customer_id, channel, status, priority, subject, last_activity_at, \
                 waiting_since, message_count, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $9)",
            )
            .bind(id.as_str())
            .bind(customer_id.as_str())
            .bind(new.channel.as_str())
            .bind(lifecycle.status.as_str())
            .bind(new.priority.as_str())
            .bind(new.subject.as_ref().map(|s| s.as_str()))
            .bind(At(lifecycle.last_activity_at))
            .bind(lifecycle.waiting_since.map(At))
            .bind(At(opened_at))
            .execute(conn)
            .await?.rows_affected()
        });
        if !new.tags.is_empty() {
            set_tags(&mut tx, &id, &new.tags, now).await?;
        }
        let mut conversation = load_for_update(&mut tx, &id).await?;
        let message = add_message(&mut tx, &mut conversation, new.message, now).await?;
        save(&mut tx, &conversation, opened_at.max(now)).await?;
        audit::record(
            &mut tx,
            AuditEntry::new(
                actor,
                "conversation.created",
                "conversation",
                id.as_str(),
                json!({ "channel": new.channel.as_str() }),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        conversation.updated_at = now;
        Ok((conversation, message))
    }

    /// Adds a message to a conversation.
    pub async fn append_message(
        &self,
        id: &ConversationId,
        new: NewMessage,
    ) -> Result<(Conversation, Message), StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let mut conversation = load_for_update(&mut tx, id).await?;
        let message = add_message(&mut tx, &mut conversation, new, now).await?;
        save(&mut tx, &conversation, now).await?;
        tx.commit().await?;
        conversation.updated_at = now;
        Ok((conversation, message))
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
                    &mut tx,
                    NewJob::at(WAKE_JOB, json!({ "conversation_id": id.as_str() }), until)
                        .dedupe(format!("wake:{id}:{}", until.timestamp_micros())),
                    now,
                )
                .await?;
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
        if let Some(tags) = &patch.tags {
            let names = set_tags(&mut tx, id, tags, now).await?;
            changes.insert("tags".into(), json!({ "from": c.tags, "to": names }));
            c.tags = names;
        }
        save(&mut tx, &c, now).await?;
        if !changes.is_empty() {
            audit::record(
                &mut tx,
                AuditEntry::new(
                    actor,
                    "conversation.updated",
                    "conversation",
                    id.as_str(),
                    serde_json::Value::Object(changes),
                ),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        c.updated_at = now;
        Ok(c)
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
        let woke = c.lifecycle.wake(now);
        if woke {
            save(&mut tx, &c, now).await?;
            audit::record(
                &mut tx,
                AuditEntry::new(
                    &Actor::System,
                    "conversation.woke",
                    "conversation",
                    id.as_str(),
                    json!({}),
                ),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(woke)
    }

    /// Records the detected intent of the latest inbound message.
    pub async fn set_intent(
        &self,
        id: &ConversationId,
        intent: &str,
        confidence: f64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let n = on_tx!(&mut tx, |conn, pg| {
            sqlx::query(
                "UPDATE conversations SET intent = $2, intent_confidence = $3 WHERE id = $1",
            )
            .bind(id.as_str())
            .bind(intent)
            .bind(confidence)
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
        let sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations c JOIN customers cu ON cu.id = c.customer_id WHERE c.id = $1");
        let row: Option<ConversationRow> = on_engine!(self, |pool, pg| sqlx::query_as(&sql)
            .bind(id.as_str())
            .fetch_optional(pool)
            .await?);
        let row = row.ok_or(StoreError::NotFound("conversation"))?;
        let mut tags = self.tags_of(&[row.id.as_str()]).await?;
        row.into_conversation(tags.remove(id.as_str()).unwrap_or_default())
    }

    /// A conversation's messages, oldest first.
    pub async fn messages(&self, id: &ConversationId) -> Result<Vec<Message>, StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 ORDER BY seq"
        );
        let rows: Vec<MessageRow> = on_engine!(self, |pool, pg| sqlx::query_as(&sql)
            .bind(id.as_str())
            .fetch_all(pool)
            .await?);
        let attachment_rows: Vec<AttachmentRow> = on_engine!(self, |pool, pg| {
            sqlx::query_as(
                "SELECT a.id, a.message_id, a.filename, a.content_type, a.size_bytes, a.storage_key FROM attachments a \
                 JOIN messages m ON m.id = a.message_id WHERE m.conversation_id = $1 ORDER BY a.id",
            )
            .bind(id.as_str())
            .fetch_all(pool)
            .await?
        });
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
                let attachments = by_message.remove(&r.id).unwrap_or_default();
                r.into_message(attachments)
            })
            .collect()
    }

    /// The inbox: conversations matching the filter, newest activity first.
    pub async fn conversations(
        &self,
        filter: &ConversationFilter,
        page: &PageRequest,
    ) -> Result<Page<Conversation>, StoreError> {
        let limit = page.limit();
        let pg = matches!(self.engine, crate::Engine::Postgres(_));
        let mut args = Args::default();
        let mut sql = format!("SELECT {CONVERSATION_COLUMNS} FROM conversations c JOIN customers cu ON cu.id = c.customer_id WHERE 1 = 1");
        if let Some(s) = filter.status {
            sql += &format!(" AND c.status = {}", args.text(s.as_str()));
        }
        match &filter.assignee_id {
            Some(Some(a)) => sql += &format!(" AND c.assignee_id = {}", args.text(a.as_str())),
            Some(None) => sql += " AND c.assignee_id IS NULL",
            None => {}
        }
        if let Some(cid) = &filter.customer_id {
            sql += &format!(" AND c.customer_id = {}", args.text(cid.as_str()));
        }
        if let Some(ch) = filter.channel {
            sql += &format!(" AND c.channel = {}", args.text(ch.as_str()));
        }
        if let Some(tag) = &filter.tag {
            sql += &format!(
                " AND EXISTS (SELECT 1 FROM conversation_tags t WHERE t.conversation_id = c.id AND t.tag = {})",
                args.text(tag.to_lowercase())
            );
        }
        if let Some(q) = &filter.q {
            if !search::has_words(q) {
                return Ok(Page {
                    items: vec![],
                    next_cursor: None,
                });
            }
            if pg {
                let tsq = search::pg_tsquery(&args.text(q.as_str()));
                sql += &format!(
                    " AND (c.search @@ {tsq} OR c.id IN (SELECT m.conversation_id FROM messages m WHERE m.search @@ {tsq}))"
                );
            } else {
                let Some(fts) = search::fts5_query(q) else {
                    return Ok(Page {
                        items: vec![],
                        next_cursor: None,
                    });
                };
                let p = args.text(fts);
                sql += &format!(
                    " AND (c.seq IN (SELECT rowid FROM conversations_fts WHERE conversations_fts MATCH {p}) \
                     OR c.id IN (SELECT m.conversation_id FROM messages_fts f JOIN messages m ON m.seq = f.rowid WHERE messages_fts MATCH {p}))"
                );
            }
        }
        match &page.cursor {
            Some(Cursor::After { micros, id }) => {
                let t = DateTime::from_timestamp_micros(*micros).unwrap_or_default();
                let pt = args.time(At(t));
                let pi = args.text(id.as_str());
                sql += &format!(" AND (c.last_activity_at < {pt} OR (c.last_activity_at = {pt} AND c.id < {pi}))");
            }
            Some(_) => {
                return Err(StoreError::conflict(
                    "cursor",
                    "this cursor belongs to another list",
                ))
            }
            None => {}
        }
        sql += &format!(
            " ORDER BY c.last_activity_at DESC, c.id DESC LIMIT {}",
            args.int(i64::from(limit) + 1)
        );
        let rows: Vec<ConversationRow> =
            on_engine!(self, |pool, pg| bind_args!(sqlx::query_as(&sql), args)
                .fetch_all(pool)
                .await?);
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let mut tags = self.tags_of(&ids).await?;
        let items = rows
            .into_iter()
            .map(|r| {
                let t = tags.remove(&r.id).unwrap_or_default();
                r.into_conversation(t)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(items, limit, |c: &Conversation| {
            Cursor::After {
                micros: c.lifecycle.last_activity_at.timestamp_micros(),
                id: c.id.to_string(),
            }
        }))
    }

    async fn tags_of(
        &self,
        ids: &[&str],
    ) -> Result<std::collections::HashMap<String, Vec<String>>, StoreError> {
        let mut map: std::collections::HashMap<String, Vec<String>> =
            std::collections::HashMap::new();
        if ids.is_empty() {
            return Ok(map);
        }
        let mut args = Args::default();
        let sql = format!(
            "SELECT conversation_id, tag FROM conversation_tags WHERE conversation_id IN ({}) ORDER BY tag",
            args.texts(ids.iter().copied())
        );
        let rows: Vec<(String, String)> =
            on_engine!(self, |pool, pg| bind_args!(sqlx::query_as(&sql), args)
                .fetch_all(pool)
                .await?);
        for (cid, tag) in rows {
            map.entry(cid).or_default().push(tag);
        }
        Ok(map)
    }

    /// Marks an outbound message's delivery progress (used by channel transports).
    pub async fn set_delivery_status(
        &self,
        id: &MessageId,
        status: DeliveryStatus,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |conn, pg| {
            sqlx::query("UPDATE messages SET delivery_status = $2 WHERE id = $1")
                .bind(id.as_str())
                .bind(status.as_str())
                .execute(conn)
                .await?
                .rows_affected()
        });
        tx.commit().await
    }
}
