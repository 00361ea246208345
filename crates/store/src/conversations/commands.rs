//! The commands on conversations: each one transaction that opens a conversation, adds a
//! message, changes its status, assignment, priority, team or tags, merges two, wakes a
//! snoozed one, or records a delivery — keeping the event log, the search document and the
//! inbox counts in step.

use super::*;
use crate::channels::{self, deliver_job};

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

/// Tells live views that a conversation changed (its new state in the event) and moves it
/// between the view counts.
fn changed(batch: &mut Batch, pg: bool, c: &Conversation, before: &Place, now: DateTime<Utc>) {
    events::record(
        batch,
        pg,
        EventKind::ConversationUpdated,
        &c.id,
        state(c),
        now,
    );
    tally(batch, Some(before), &place(c));
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
    // write).
    debug_assert!(
        !m.has_intent() || m.intent.is_some(),
        "a shopper's message reaches the store with its intent read"
    );
    let mut m = m;
    let intent = m.intent.take();
    if let Some(i) = intent.as_ref().filter(|i| i.replaces(c.intent)) {
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
    events::record(
        batch,
        pg,
        EventKind::ConversationCreated,
        &id,
        state(&c),
        now,
    );
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
    channels::message_joined(
        tx,
        batch,
        channels::Joined {
            channel: c.channel,
            conversation_id: id,
            message_id: &message.id,
            sender: message.sender_type,
            private: message.private,
        },
        now,
    )
    .await?;
    let pg = tx.is_postgres();
    reindex(batch, pg, id);
    let mut data = state(&c);
    data["message_id"] = json!(message.id.as_str());
    data["sender_type"] = json!(message.sender_type.as_str());
    data["private"] = json!(message.private);
    events::record(batch, pg, EventKind::MessageCreated, id, data, now);
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
            changed(&mut batch, tx.is_postgres(), &c, &before, now);
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
        events::record(
            &mut batch,
            pg,
            EventKind::ConversationUpdated,
            source,
            data,
            now,
        );
        let mut data = state(&into);
        data["message_id"] = json!(message.id.as_str());
        data["sender_type"] = json!(message.sender_type.as_str());
        data["private"] = json!(true);
        events::record(&mut batch, pg, EventKind::MessageCreated, target, data, now);
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
            changed(&mut batch, tx.is_postgres(), &c, &before, now);
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
/// live views need, when the status may move there (`DeliveryStatus::moves_to`). Returns
/// whether it changes.
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
    // Reports can arrive late or twice (a job run again, a bounce before the relay's
    // answer was recorded): a status only moves the way the domain allows.
    if current.is_some_and(|c| !c.moves_to(status)) {
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
        EventKind::MessageUpdated,
        &conversation_id,
        json!({ "message_id": id.as_str(), "delivery_status": status.as_str(), "delivery_error": error }),
        now,
    );
    Ok(true)
}
