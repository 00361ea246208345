//! The email channel's records: inbound mail threaded into conversations exactly once, and
//! what outbound mail needs to thread on the shopper's side.
//!
//! Threading follows the domain's rules (`concierge_domain::mail`: [`ThreadedBy::ORDER`],
//! [`first_answered`], [`subject_key`], [`joins`]); this module runs the lookups they need
//! inside the write's transaction. Otherwise the mail opens a new conversation. A thread that
//! was merged is followed to where its messages went.
//!
//! Exactly once: every stored mail is keyed by its Message-ID (or a digest of its bytes), in
//! the same transaction as its message, so a sender that retries after losing our answer
//! finds the key taken and nothing is written twice.

use crate::args::{bind_args, Args, Batch};
use crate::conversations::{self, Attachment, Conversation, Message, NewMessage};
use crate::inbound::{self, Destination, Inbound};
use crate::{on_engine, on_tx, At, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use concierge_domain::contact::EmailAddress;
use concierge_domain::conversation::{Channel, ConversationStatus, DeliveryStatus, SenderType};
use concierge_domain::ids::{AttachmentId, ConversationId, MessageId};
use concierge_domain::mail::{
    acknowledgement_interval, first_answered, joins, subject_key, subject_window, MailKind,
    ReplyToken, ThreadedBy,
};
use concierge_domain::notes;
use concierge_domain::text::{Label, MessageBody};

/// A parsed inbound mail, ready to store: the message every channel hands in, and what
/// email needs besides to thread it, answer it and keep it.
#[derive(Debug, Clone)]
pub struct InboundEmail {
    /// The message as the agent sees it (sender `customer`), from its sender with their
    /// name, under its Message-ID without angle brackets (or a digest of its bytes when it has
    /// none), titled by its subject.
    pub inbound: Inbound,
    /// Its sender's address: whose recent conversations its subject may join, and who is
    /// acknowledged.
    pub from: EmailAddress,
    /// The Message-IDs it answers: In-Reply-To first, then References newest first.
    pub answers: Vec<String>,
    /// Reply tokens found in its recipients' plus tags.
    pub tokens: Vec<ReplyToken>,
    /// Where answers go: its Reply-To, else its From.
    pub reply_address: EmailAddress,
    /// Its References and its own Message-ID, space-separated, for the References of our
    /// answer.
    pub reference_chain: String,
    pub kind: MailKind,
    /// The whole mail in file storage.
    pub raw_key: String,
    /// What to answer if the mail opens a new conversation. Sent at most once an hour to
    /// one sender, so two auto-responders cannot keep each other busy.
    pub acknowledgement: Option<MessageBody>,
}

/// What became of an inbound mail.
#[derive(Debug, Clone)]
pub enum Receipt {
    /// It opened a conversation; `acknowledged` when an acknowledgement was queued.
    Opened {
        conversation: Conversation,
        message: Message,
        acknowledged: bool,
    },
    /// It joined a conversation.
    Threaded {
        conversation: Conversation,
        message: Message,
        by: ThreadedBy,
    },
    /// It reported that mail we sent bounced: that message is marked failed, and `note`
    /// tells the team why.
    Bounced {
        conversation_id: ConversationId,
        failed: MessageId,
        note: MessageId,
    },
    /// It was stored before (a sender retrying): nothing was written.
    Duplicate {
        conversation_id: ConversationId,
        message_id: MessageId,
    },
}

impl Receipt {
    pub fn conversation_id(&self) -> &ConversationId {
        match self {
            Receipt::Opened { conversation, .. } | Receipt::Threaded { conversation, .. } => {
                &conversation.id
            }
            Receipt::Bounced {
                conversation_id, ..
            }
            | Receipt::Duplicate {
                conversation_id, ..
            } => conversation_id,
        }
    }

    /// The message the mail became.
    pub fn message_id(&self) -> &MessageId {
        match self {
            Receipt::Opened { message, .. } | Receipt::Threaded { message, .. } => &message.id,
            Receipt::Bounced { note, .. } => note,
            Receipt::Duplicate { message_id, .. } => message_id,
        }
    }
}

/// The newest mail of a conversation from the shopper: what our answer replies to.
#[derive(Debug, Clone)]
pub struct Answering {
    pub message_key: String,
    pub reply_address: Option<String>,
    pub reference_chain: String,
}

/// Everything needed to send one outbound message as mail.
#[derive(Debug, Clone)]
pub struct OutboundEmail {
    pub message: Message,
    pub channel: Channel,
    pub subject: Option<String>,
    pub reply_token: Option<ReplyToken>,
    pub customer_name: Option<String>,
    pub customer_email: Option<String>,
    /// The replying agent's name, for the From line.
    pub agent_name: Option<String>,
    pub answering: Option<Answering>,
}

/// How many headers' worth of Message-IDs a mail may name for threading; longer chains keep
/// their newest.
const MAX_ANSWERS: usize = 50;

/// How many hops a merged conversation is followed.
const MAX_MERGE_HOPS: usize = 8;

/// The message a stored mail became, and its conversation.
async fn stored(
    tx: &mut Tx,
    direction: &str,
    keys: &[&str],
) -> Result<Vec<(String, String, String)>, StoreError> {
    if keys.is_empty() {
        return Ok(vec![]);
    }
    let mut args = Args::default();
    let direction = args.text(direction);
    let list = args.texts(keys.iter().copied());
    let sql = format!(
        "SELECT e.message_key, m.id, m.conversation_id FROM email_messages e \
         JOIN messages m ON m.id = e.message_id WHERE e.direction = {direction} AND e.message_key IN ({list})"
    );
    Ok(
        on_tx!(read tx, |conn, pg| bind_args!(sqlx::query_as(&sql), args)
        .fetch_all(conn)
        .await?),
    )
}

/// The conversation a mail belongs to, if any, and how it was found: the ways of
/// [`ThreadedBy::ORDER`] in turn, following a merged thread to where its messages went.
async fn find_thread(
    tx: &mut Tx,
    mail: &InboundEmail,
    now: DateTime<Utc>,
) -> Result<Option<(ConversationId, ThreadedBy)>, StoreError> {
    let mut found = None;
    for by in ThreadedBy::ORDER {
        found = match by {
            ThreadedBy::Headers => by_headers(tx, mail).await?,
            ThreadedBy::Token => by_token(tx, mail).await?,
            ThreadedBy::Subject => by_subject(tx, mail, now).await?,
        }
        .map(|id| (id, by));
        if found.is_some() {
            break;
        }
    }
    let Some((mut id, by)) = found else {
        return Ok(None);
    };
    for _ in 0..MAX_MERGE_HOPS {
        let row: Option<(String, Option<String>)> = on_tx!(read tx, |conn, pg| sqlx::query_as(
            "SELECT status, merged_into_id FROM conversations WHERE id = $1"
        )
        .bind(&id)
        .fetch_optional(conn)
        .await?);
        match row {
            Some((_, Some(into))) => id = into,
            Some((status, None)) => {
                let status = ConversationStatus::parse(&status).map_err(StoreError::corrupt)?;
                return Ok(joins(status).then(|| (ConversationId::from_trusted(id), by)));
            }
            None => return Ok(None),
        }
    }
    Ok(None)
}

/// The conversation of the first stored or sent mail the mail answers.
async fn by_headers(tx: &mut Tx, mail: &InboundEmail) -> Result<Option<String>, StoreError> {
    let answers: Vec<&str> = mail
        .answers
        .iter()
        .take(MAX_ANSWERS)
        .map(String::as_str)
        .collect();
    if answers.is_empty() {
        return Ok(None);
    }
    let mut args = Args::default();
    let list = args.texts(answers.iter().copied());
    let sql = format!(
        "SELECT e.message_key, m.conversation_id FROM email_messages e \
         JOIN messages m ON m.id = e.message_id WHERE e.message_key IN ({list})"
    );
    let rows: Vec<(String, String)> = on_tx!(read tx, |conn, pg| bind_args!(sqlx::query_as(&sql), args)
        .fetch_all(conn)
        .await?);
    let known: Vec<&str> = rows.iter().map(|(key, _)| key.as_str()).collect();
    Ok(first_answered(&answers, &known)
        .and_then(|key| rows.iter().find(|(k, _)| k == key))
        .map(|(_, c)| c.clone()))
}

/// The conversation one of the mail's reply tokens names.
async fn by_token(tx: &mut Tx, mail: &InboundEmail) -> Result<Option<String>, StoreError> {
    if mail.tokens.is_empty() {
        return Ok(None);
    }
    let mut args = Args::default();
    let list = args.texts(mail.tokens.iter().map(ReplyToken::as_str));
    let sql = format!("SELECT id FROM conversations WHERE reply_token IN ({list}) LIMIT 1");
    let row: Option<(String,)> = on_tx!(read tx, |conn, pg| bind_args!(sqlx::query_as(&sql), args)
        .fetch_optional(conn)
        .await?);
    Ok(row.map(|(c,)| c))
}

/// The sender's recent open conversation on email with the same subject.
async fn by_subject(
    tx: &mut Tx,
    mail: &InboundEmail,
    now: DateTime<Utc>,
) -> Result<Option<String>, StoreError> {
    let Some(key) = mail
        .inbound
        .subject
        .as_ref()
        .map(|s| subject_key(s.as_str()))
        .filter(|k| !k.is_empty())
    else {
        return Ok(None);
    };
    let rows: Vec<(String, Option<String>)> = on_tx!(read tx, |conn, pg| sqlx::query_as(
        "SELECT c.id, c.subject FROM conversations c \
         JOIN customer_identities i ON i.customer_id = c.customer_id \
         WHERE i.kind = 'email' AND i.value = $1 AND c.channel = 'email' AND c.merged_into_id IS NULL \
         AND c.status <> 'closed' AND c.last_activity_at >= $2 \
         ORDER BY c.last_activity_at DESC LIMIT 20"
    )
    .bind(mail.from.as_str().to_lowercase())
    .bind(At(now - subject_window()))
    .fetch_all(conn)
    .await?);
    Ok(rows
        .into_iter()
        .find(|(_, s)| s.as_deref().map(subject_key).as_deref() == Some(key.as_str()))
        .map(|(c, _)| c))
}

/// Whether `address` may be sent an acknowledgement now; if so, records that it is.
async fn may_acknowledge(
    tx: &mut Tx,
    address: &EmailAddress,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let row: Option<(String,)> = on_tx!(tx, |conn, pg| sqlx::query_as(
        "INSERT INTO email_acknowledgements (address, sent_at) VALUES ($1, $2) \
         ON CONFLICT (address) DO UPDATE SET sent_at = excluded.sent_at \
         WHERE email_acknowledgements.sent_at <= $3 RETURNING address"
    )
    .bind(address.as_str().to_lowercase())
    .bind(At(now))
    .bind(At(now - acknowledgement_interval()))
    .fetch_optional(conn)
    .await?);
    Ok(row.is_some())
}

/// One row of `email_messages`.
struct MailRow<'a> {
    direction: &'a str,
    key: &'a str,
    message: &'a MessageId,
    reply_address: Option<&'a str>,
    reference_chain: &'a str,
    raw_key: Option<&'a str>,
}

impl MailRow<'_> {
    fn record(&self, batch: &mut Batch, now: DateTime<Utc>) {
        batch
            .add(
                "INSERT INTO email_messages (direction, message_key, message_id, reply_address, reference_chain, raw_key, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (direction, message_key) DO NOTHING",
            )
            .text(self.direction)
            .text(self.key)
            .text(self.message.as_str())
            .opt_text(self.reply_address)
            .text(self.reference_chain)
            .opt_text(self.raw_key)
            .time(now);
    }
}

/// An inbound mail's own row, kept aside before the mail is taken apart for its message.
struct InboundRow {
    key: String,
    reply_address: String,
    reference_chain: String,
    raw_key: String,
}

impl InboundRow {
    fn of(mail: &InboundEmail) -> Result<Self, StoreError> {
        let key =
            mail.inbound.key.clone().ok_or_else(|| {
                StoreError::reference("key", "a mail is stored under its Message-ID")
            })?;
        Ok(InboundRow {
            key,
            reply_address: mail.reply_address.as_str().to_owned(),
            reference_chain: mail.reference_chain.clone(),
            raw_key: mail.raw_key.clone(),
        })
    }

    /// Records that the mail became `message`.
    fn record(&self, message: &MessageId, batch: &mut Batch, now: DateTime<Utc>) {
        MailRow {
            direction: "in",
            key: &self.key,
            message,
            reply_address: Some(&self.reply_address),
            reference_chain: &self.reference_chain,
            raw_key: Some(&self.raw_key),
        }
        .record(batch, now);
    }
}

impl Store {
    /// Stores an inbound mail: as a duplicate of one stored before (nothing written), as a
    /// bounce of mail we sent, in the conversation it threads into, or as a new conversation
    /// (with its acknowledgement, when one is due). One transaction.
    pub async fn receive_email(&self, mail: InboundEmail) -> Result<Receipt, StoreError> {
        let key = InboundRow::of(&mail)?.key;
        match self.receive_once(mail).await {
            // Another delivery of the same mail committed first (PostgreSQL, where two can
            // run at once): this one is the duplicate.
            Err(StoreError::Conflict { .. }) => match self.stored_email(&key).await? {
                Some(receipt) => Ok(receipt),
                None => Err(StoreError::Unavailable(
                    "a concurrent write clashed; try again".into(),
                )),
            },
            other => other,
        }
    }

    async fn receive_once(&self, mail: InboundEmail) -> Result<Receipt, StoreError> {
        let now = At::now();
        let row = InboundRow::of(&mail)?;
        let mut tx = self.begin().await?;
        if let Some((_, message_id, conversation_id)) =
            stored(&mut tx, "in", &[row.key.as_str()]).await?.pop()
        {
            tx.commit().await?;
            return Ok(Receipt::Duplicate {
                conversation_id: ConversationId::from_trusted(conversation_id),
                message_id: MessageId::from_trusted(message_id),
            });
        }
        let mut batch = Batch::default();
        if let MailKind::Bounce { original, reason } = &mail.kind {
            let keys: Vec<&str> = original
                .iter()
                .chain(&mail.answers)
                .take(MAX_ANSWERS)
                .map(String::as_str)
                .collect();
            if let Some((_, failed, conversation_id)) = stored(&mut tx, "out", &keys).await?.pop() {
                let failed = MessageId::from_trusted(failed);
                let conversation_id = ConversationId::from_trusted(conversation_id);
                conversations::record_delivery(
                    &mut tx,
                    &mut batch,
                    &failed,
                    DeliveryStatus::Failed,
                    Some(reason),
                    now,
                )
                .await?;
                let body = notes::bounced(mail.from.as_str(), reason);
                let note = NewMessage {
                    private: true,
                    attachments: mail.inbound.message.attachments,
                    quoted: Some(mail.inbound.message.body.into_string()),
                    sender_address: mail.inbound.message.sender_address,
                    ..NewMessage::text(SenderType::System, body)
                };
                let (_, note) =
                    conversations::append(&mut tx, &mut batch, &conversation_id, note, now).await?;
                row.record(&note.id, &mut batch, now);
                tx.commit_with(batch).await?;
                self.events_committed();
                return Ok(Receipt::Bounced {
                    conversation_id,
                    failed,
                    note: note.id,
                });
            }
        }
        let receipt = match find_thread(&mut tx, &mail, now).await? {
            Some((id, by)) => {
                let into = Destination::Thread(id);
                let (conversation, mut messages) =
                    inbound::receive(&mut tx, &mut batch, mail.inbound, into, now).await?;
                Receipt::Threaded {
                    conversation,
                    message: messages.remove(0),
                    by,
                }
            }
            None => {
                let acknowledged = match &mail.acknowledgement {
                    Some(_) if mail.kind.may_be_acknowledged() => {
                        may_acknowledge(&mut tx, &mail.from, now).await?
                    }
                    _ => false,
                };
                let rest = mail
                    .acknowledgement
                    .filter(|_| acknowledged)
                    .map(|text| NewMessage::text(SenderType::Bot, text))
                    .into_iter()
                    .collect();
                let into = Destination::New {
                    id: ConversationId::generate(),
                    tags: mail
                        .kind
                        .tag()
                        .into_iter()
                        .filter_map(|t| Label::parse(t).ok())
                        .collect(),
                    rest,
                };
                let (conversation, mut messages) =
                    inbound::receive(&mut tx, &mut batch, mail.inbound, into, now).await?;
                Receipt::Opened {
                    conversation,
                    message: messages.remove(0),
                    acknowledged,
                }
            }
        };
        row.record(receipt.message_id(), &mut batch, now);
        tx.commit_with(batch).await?;
        self.events_committed();
        Ok(receipt)
    }

    /// The receipt of an inbound mail stored before, by its key.
    async fn stored_email(&self, key: &str) -> Result<Option<Receipt>, StoreError> {
        let row: Option<(String, String)> = on_engine!(self, |pool, pg| {
            sqlx::query_as(
            "SELECT m.id, m.conversation_id FROM email_messages e JOIN messages m ON m.id = e.message_id \
             WHERE e.direction = 'in' AND e.message_key = $1"
        )
        .bind(key)
        .fetch_optional(pool)
        .await?
        });
        Ok(row.map(|(m, c)| Receipt::Duplicate {
            conversation_id: ConversationId::from_trusted(c),
            message_id: MessageId::from_trusted(m),
        }))
    }

    /// What sending a message as mail needs: the message, its conversation's subject and
    /// reply token, the shopper's address and the mail it answers.
    pub async fn outbound_email(&self, id: &MessageId) -> Result<OutboundEmail, StoreError> {
        let message = self.message(id).await?;
        type Head = (
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let head: Head = on_engine!(self, |pool, pg| sqlx::query_as(
            "SELECT c.channel, c.subject, c.reply_token, cu.name, cu.email, \
             (SELECT a.name FROM agents a JOIN messages m ON m.agent_id = a.id WHERE m.id = $2) \
             FROM conversations c JOIN customers cu ON cu.id = c.customer_id WHERE c.id = $1"
        )
        .bind(message.conversation_id.as_str())
        .bind(id.as_str())
        .fetch_one(pool)
        .await?);
        let answering: Option<(String, Option<String>, String)> = on_engine!(self, |pool, pg| {
            sqlx::query_as(
                "SELECT e.message_key, e.reply_address, e.reference_chain FROM email_messages e \
                 JOIN messages m ON m.id = e.message_id \
                 WHERE m.conversation_id = $1 AND e.direction = 'in' AND m.sender_type = 'customer' \
                 ORDER BY m.seq DESC LIMIT 1"
            )
            .bind(message.conversation_id.as_str())
            .fetch_optional(pool)
            .await?
        });
        let (channel, subject, token, customer_name, customer_email, agent_name) = head;
        Ok(OutboundEmail {
            message,
            channel: Channel::parse(&channel).map_err(StoreError::corrupt)?,
            subject,
            reply_token: token.map(ReplyToken::from_trusted),
            customer_name,
            customer_email,
            agent_name,
            answering: answering.map(|(message_key, reply_address, reference_chain)| Answering {
                message_key,
                reply_address,
                reference_chain,
            }),
        })
    }

    /// Records that a message went out as mail with Message-ID `message_key` (so replies to
    /// it thread, and a bounce of it is recognised) and its bytes under `raw_key`.
    pub async fn email_sent(
        &self,
        id: &MessageId,
        message_key: &str,
        raw_key: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let mut batch = Batch::default();
        let changed = conversations::record_delivery(
            &mut tx,
            &mut batch,
            id,
            DeliveryStatus::Sent,
            None,
            now,
        )
        .await?;
        MailRow {
            direction: "out",
            key: message_key,
            message: id,
            reply_address: None,
            reference_chain: "",
            raw_key,
        }
        .record(&mut batch, now);
        tx.commit_with(batch).await?;
        if changed {
            self.events_committed();
        }
        Ok(())
    }

    /// Where the whole mail a message came from (or went out as) is kept, if it was mail.
    pub async fn email_original(&self, id: &MessageId) -> Result<Option<String>, StoreError> {
        const SQL: &str =
            "SELECT raw_key FROM email_messages WHERE message_id = $1 ORDER BY created_at LIMIT 1";
        let row: Option<(Option<String>,)> = on_engine!(self, |pool, pg| sqlx::query_as(SQL)
            .bind(id.as_str())
            .fetch_optional(pool)
            .await?);
        Ok(row.and_then(|(k,)| k))
    }

    /// One message's attachments.
    pub async fn message_attachments(&self, id: &MessageId) -> Result<Vec<Attachment>, StoreError> {
        let rows: Vec<(String, String, String, i64, String)> = on_engine!(self, |pool, pg| {
            sqlx::query_as(
                "SELECT id, filename, content_type, size_bytes, storage_key FROM attachments \
                 WHERE message_id = $1 ORDER BY id",
            )
            .bind(id.as_str())
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(
                |(id, filename, content_type, size_bytes, storage_key)| Attachment {
                    id: AttachmentId::from_trusted(id),
                    filename,
                    content_type,
                    size_bytes,
                    storage_key,
                },
            )
            .collect())
    }

    /// An attachment and the conversation it belongs to.
    pub async fn attachment(
        &self,
        id: &AttachmentId,
    ) -> Result<(Attachment, ConversationId), StoreError> {
        let row: Option<(String, String, i64, String, String)> = on_engine!(self, |pool, pg| {
            sqlx::query_as(
                "SELECT a.filename, a.content_type, a.size_bytes, a.storage_key, m.conversation_id \
                 FROM attachments a JOIN messages m ON m.id = a.message_id WHERE a.id = $1",
            )
            .bind(id.as_str())
            .fetch_optional(pool)
            .await?
        });
        let (filename, content_type, size_bytes, storage_key, conversation_id) =
            row.ok_or(StoreError::NotFound("attachment"))?;
        Ok((
            Attachment {
                id: id.clone(),
                filename,
                content_type,
                size_bytes,
                storage_key,
            },
            ConversationId::from_trusted(conversation_id),
        ))
    }
}
