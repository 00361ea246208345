//! Live chat sessions: a browser's chat with the shop, known by a token the widget keeps, and
//! the messages said in it (stored once, even when the widget sends one again).

use crate::access::token_digest;
use crate::args::Batch;
use crate::conversations::{self, stored_intent, Conversation, Message, NewMessage};
use crate::customers::CustomerRef;
use crate::inbound::{self, Destination, Inbound};
use crate::jobs::{self, payloads, NewJob};
use crate::{on_engine, on_tx, secret_token, At, Store, StoreError};
use chrono::{DateTime, Utc};
use concierge_domain::access::Actor;
use concierge_domain::chat::{self, ChatMail, OrderProof};
use concierge_domain::contact::EmailAddress;
use concierge_domain::conversation::{Channel, SenderType};
use concierge_domain::hours::Opening;
use concierge_domain::ids::{ChatSessionId, ConversationId, MessageId, OrderId};
use concierge_domain::intents::Intent;
use concierge_domain::mail::ReplyToken;
use concierge_domain::notes;
use concierge_domain::text::{MessageBody, PersonName};

/// Who opened a chat, as the widget told us.
#[derive(Debug, Clone, Default)]
pub struct NewChatSession {
    pub name: Option<PersonName>,
    pub email: Option<EmailAddress>,
    /// Whether the shop vouched for the email (its signature checked out). Only a verified
    /// session may see the orders of the customer it names.
    pub verified: bool,
    /// The client's address, kept only as a digest: what failed order proofs are counted
    /// against besides the chat and the claim.
    pub source: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ChatSession {
    pub id: ChatSessionId,
    /// The conversation the session's messages go to; it exists from the first message on.
    pub conversation_id: ConversationId,
    pub name: Option<PersonName>,
    pub email: Option<EmailAddress>,
    pub verified: bool,
    /// Whether [`ChatSession::email`] is the shopper's: vouched for by the shop, or proved by
    /// a link mailed to it. Mail from the chat goes to no other address.
    pub email_confirmed: bool,
    /// The digest of the address the session was opened from.
    pub source_digest: Option<String>,
    /// Whether the virtual assistant answers this chat (until it hands over, or an agent
    /// takes it).
    pub assistant: bool,
    pub memory: AssistantMemory,
    /// Whether the team's answers also go to [`ChatSession::email`] (the shopper asked).
    pub email_replies: bool,
    pub created_at: DateTime<Utc>,
}

impl ChatSession {
    /// Who the chat's messages come from: the session itself, with its name, and its email
    /// only once proved (or vouched for) — until then the chat is its own customer's, so a
    /// stranger who types someone's email sees, and is shown, none of that customer's orders.
    pub fn customer(&self) -> CustomerRef {
        CustomerRef {
            name: self.name.clone(),
            email: self.email.clone().filter(|_| self.email_confirmed),
            phone: None,
            external: Some(("widget".to_owned(), self.id.as_str().to_owned())),
        }
    }

    /// A message said in the chat, under the widget's client id (`key`).
    pub fn inbound(&self, message: NewMessage, key: Option<&str>) -> Inbound {
        Inbound {
            channel: Channel::Chat,
            from: self.customer(),
            key: key.map(str::to_owned),
            subject: None,
            message,
        }
    }
}

/// What the assistant remembers about a chat from one message to the next.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssistantMemory {
    /// Its answers in a row that it could not give.
    pub misses: i64,
    /// The question (an intent) waiting for the shopper to prove an order is theirs.
    pub awaiting: Option<Intent>,
    /// The order the shopper proved is theirs (its number with its email or postcode).
    pub order_id: Option<OrderId>,
    /// How that order was proved.
    pub order_proof: Option<OrderProof>,
    /// Proofs that failed in this chat.
    pub failed_checks: i64,
}

/// Mail a chat may make us send in a day to one address (links to confirm it, transcripts).
pub const CHAT_MAIL_PER_ADDRESS: i64 = 3;
/// Mail chats from one client address may make us send in a day.
pub const CHAT_MAIL_PER_SOURCE: i64 = 10;

/// What became of a request for mail from a chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatMailOutcome {
    /// Queued: the address is the shopper's.
    Queued,
    /// A link to confirm the address was queued to it; the mail follows the click.
    ConfirmationSent,
    /// Asked twice with nothing new: the first request stands.
    AlreadyQueued,
    /// The address or the client has had its share of mail today.
    TooMuchMail,
}

/// Who on the team can answer a chat now, and how soon chats are usually answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staffing {
    /// Agents with the workspace open (seen in the last [`ONLINE_WINDOW_SECONDS`]).
    pub agents_online: i64,
    /// The median time to a first reply in chats of the past week; `None` without any.
    pub typical_wait: Option<chrono::Duration>,
    /// Whether it is within the shop's business hours (always, when it set none).
    pub open: bool,
    /// Outside business hours, when the team is next in (if it ever is).
    pub opening: Option<Opening>,
}

impl Staffing {
    /// Someone can answer now: within business hours, with an agent online.
    pub fn answering(&self) -> bool {
        self.open && self.agents_online > 0
    }
}

/// How recently an agent must have been seen to count as online. The workspace's live
/// socket marks its agent every minute while it is open.
pub const ONLINE_WINDOW_SECONDS: i64 = 150;

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: String,
    conversation_id: String,
    name: Option<String>,
    email: Option<String>,
    verified: bool,
    email_confirmed: bool,
    source_digest: Option<String>,
    assistant: bool,
    misses: i64,
    awaiting: Option<String>,
    order_id: Option<String>,
    order_proof: Option<String>,
    failed_checks: i64,
    email_replies: bool,
    created_at: At,
}

const SESSION_COLUMNS: &str = "id, conversation_id, name, email, verified, email_confirmed, \
     source_digest, assistant, misses, awaiting, order_id, order_proof, failed_checks, \
     email_replies, created_at";

impl SessionRow {
    fn into_session(self) -> Result<ChatSession, StoreError> {
        Ok(ChatSession {
            id: ChatSessionId::from_trusted(self.id),
            conversation_id: ConversationId::from_trusted(self.conversation_id),
            name: self
                .name
                .map(|n| PersonName::parse(&n))
                .transpose()
                .map_err(StoreError::corrupt)?,
            email: self
                .email
                .map(|e| EmailAddress::parse(&e))
                .transpose()
                .map_err(StoreError::corrupt)?,
            verified: self.verified,
            email_confirmed: self.email_confirmed,
            source_digest: self.source_digest,
            assistant: self.assistant,
            memory: AssistantMemory {
                misses: self.misses,
                awaiting: self.awaiting.as_deref().map(stored_intent),
                order_id: self.order_id.map(OrderId::from_trusted),
                order_proof: self
                    .order_proof
                    .as_deref()
                    .and_then(|p| OrderProof::parse(p).ok()),
                failed_checks: self.failed_checks,
            },
            email_replies: self.email_replies,
            created_at: self.created_at.0,
        })
    }
}

/// A chat as the shopper's copy by email shows it.
#[derive(Debug, Clone)]
pub struct ChatTranscript {
    pub session: ChatSession,
    pub reply_token: Option<ReplyToken>,
    /// The public messages, oldest first.
    pub messages: Vec<Message>,
}

/// What became of a message the shopper sent.
#[derive(Debug, Clone)]
pub struct Said {
    pub conversation: Conversation,
    pub message: Message,
    /// False when the widget had sent it before and this was the same message again.
    pub new: bool,
}

impl Store {
    /// Opens a chat session; returns it with its token, which is shown once and kept only as
    /// a digest.
    pub async fn open_chat_session(
        &self,
        new: NewChatSession,
    ) -> Result<(ChatSession, String), StoreError> {
        let token = format!("cws_{}{}", secret_token(), secret_token());
        let session = ChatSession {
            id: ChatSessionId::generate(),
            conversation_id: ConversationId::generate(),
            name: new.name,
            email: new.email,
            verified: new.verified,
            email_confirmed: new.verified,
            source_digest: new.source.as_deref().map(token_digest),
            assistant: true,
            memory: AssistantMemory::default(),
            email_replies: false,
            created_at: At::now(),
        };
        let tx = self.begin().await?;
        let mut batch = Batch::default();
        batch
            .add(
                "INSERT INTO chat_sessions (id, token_digest, conversation_id, name, email, verified, \
                 email_confirmed, source_digest, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .text(session.id.as_str())
            .text(token_digest(&token))
            .text(session.conversation_id.as_str())
            .opt_text(session.name.as_ref().map(|n| n.as_str()))
            .opt_text(session.email.as_ref().map(|e| e.as_str()))
            .bool(session.verified)
            .bool(session.email_confirmed)
            .opt_text(session.source_digest.as_deref())
            .time(session.created_at);
        tx.commit_with(batch).await?;
        Ok((session, token))
    }

    /// The session a token opens, if any. The token is looked up by its digest, so no
    /// comparison of secrets happens here at all.
    pub async fn chat_session(&self, token: &str) -> Result<Option<ChatSession>, StoreError> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM chat_sessions WHERE token_digest = $1");
        let row: Option<SessionRow> = on_engine!(self, |pool, pg| sqlx::query_as(&sql)
            .bind(token_digest(token))
            .fetch_optional(pool)
            .await?);
        row.map(SessionRow::into_session).transpose()
    }

    /// A chat session by its id.
    pub async fn chat_session_by_id(&self, id: &ChatSessionId) -> Result<ChatSession, StoreError> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM chat_sessions WHERE id = $1");
        let row: Option<SessionRow> = on_engine!(self, |pool, pg| sqlx::query_as(&sql)
            .bind(id.as_str())
            .fetch_optional(pool)
            .await?);
        row.ok_or(StoreError::NotFound("chat session"))?
            .into_session()
    }

    /// Hands a chat back to the assistant (or takes it from it), by its conversation.
    /// `NotFound` when the conversation is not a chat.
    pub async fn set_conversation_assistant(
        &self,
        conversation: &ConversationId,
        assistant: bool,
    ) -> Result<(), StoreError> {
        let id: Option<String> = on_engine!(self, |pool, pg| sqlx::query_scalar(
            "SELECT id FROM chat_sessions WHERE conversation_id = $1"
        )
        .bind(conversation.as_str())
        .fetch_optional(pool)
        .await?);
        let id = id.ok_or(StoreError::NotFound("chat"))?;
        self.set_chat_assistant(&ChatSessionId::from_trusted(id), assistant)
            .await
    }

    /// Whether the assistant answers a chat. Either way it starts afresh: no misses, no
    /// question waiting (an order the shopper proved stays theirs).
    pub async fn set_chat_assistant(
        &self,
        id: &ChatSessionId,
        assistant: bool,
    ) -> Result<(), StoreError> {
        let tx = self.begin().await?;
        let mut batch = Batch::default();
        batch
            .add("UPDATE chat_sessions SET assistant = $2, misses = 0, awaiting = NULL WHERE id = $1")
            .text(id.as_str())
            .bool(assistant);
        tx.commit_with(batch).await
    }

    /// Failed order proofs that claimed this (an email or a postcode, as the shopper wrote
    /// it: compared by digest) since `since`, in any chat.
    pub async fn order_check_failures(
        &self,
        claim: &str,
        since: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        Ok(on_engine!(self, |pool, pg| sqlx::query_scalar(
            "SELECT count(*) FROM order_check_failures WHERE claim_digest = $1 AND failed_at >= $2"
        )
        .bind(token_digest(claim))
        .bind(At(since))
        .fetch_one(pool)
        .await?))
    }

    /// Records a failed order proof for each thing it claimed. Failures older than a day are
    /// dropped on the way: they no longer count against anyone.
    pub async fn record_order_check_failure(&self, claims: &[String]) -> Result<(), StoreError> {
        let now = At::now();
        let tx = self.begin().await?;
        let mut batch = Batch::default();
        batch
            .add("DELETE FROM order_check_failures WHERE failed_at < $1")
            .time(now - chrono::Duration::days(1));
        for claim in claims {
            batch
                .add("INSERT INTO order_check_failures (claim_digest, failed_at) VALUES ($1, $2)")
                .text(token_digest(claim))
                .time(now);
        }
        tx.commit_with(batch).await
    }

    /// Who can answer a chat now (by business hours and who is online), and the usual wait
    /// for a first reply.
    pub async fn chat_staffing(&self) -> Result<Staffing, StoreError> {
        let now = At::now();
        let online_since = At(now - chrono::Duration::seconds(ONLINE_WINDOW_SECONDS));
        let agents_online: i64 = on_engine!(self, |pool, pg| sqlx::query_scalar(
            "SELECT count(*) FROM agents WHERE active AND seen_at >= $1"
        )
        .bind(online_since)
        .fetch_one(pool)
        .await?);
        let rows: Vec<(At, At)> = on_engine!(self, |pool, pg| sqlx::query_as(
            "SELECT created_at, first_response_at FROM conversations \
             WHERE channel = 'chat' AND first_response_at IS NOT NULL AND created_at >= $1 \
             ORDER BY created_at DESC LIMIT 500"
        )
        .bind(At(now - chrono::Duration::days(7)))
        .fetch_all(pool)
        .await?);
        let mut waits: Vec<chrono::Duration> = rows.into_iter().map(|(c, f)| f.0 - c.0).collect();
        waits.sort();
        let hours = self.business_hours().await?;
        Ok(Staffing {
            agents_online,
            typical_wait: waits.get(waits.len() / 2).copied(),
            open: hours.as_ref().is_none_or(|h| h.is_open(now)),
            opening: hours.and_then(|h| h.next_opening(now)),
        })
    }

    /// The shopper asks for the team's answers by email, at `email`, an address proved
    /// theirs: kept on the session, and said in a private note once the conversation exists.
    async fn chat_replies_by_email(
        &self,
        session: &ChatSession,
        email: &EmailAddress,
    ) -> Result<ChatSession, StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let opened: i64 = on_tx!(read &mut tx, |conn, pg| sqlx::query_scalar(
            "SELECT count(*) FROM conversations WHERE id = $1"
        )
        .bind(session.conversation_id.as_str())
        .fetch_one(conn)
        .await?);
        let mut batch = Batch::default();
        batch
            .add("UPDATE chat_sessions SET email = $2, email_replies = TRUE WHERE id = $1")
            .text(session.id.as_str())
            .text(email.as_str());
        let news = !session.email_replies || session.email.as_ref() != Some(email);
        if opened > 0 && news {
            {
                let note = notes::chat_replies_by_email(email);
                let mut note = NewMessage::text(SenderType::System, note);
                note.private = true;
                conversations::append(&mut tx, &mut batch, &session.conversation_id, note, now)
                    .await?;
            }
        }
        tx.commit_with(batch).await?;
        self.events_committed();
        let mut session = session.clone();
        session.email = Some(email.clone());
        session.email_replies = true;
        Ok(session)
    }

    /// A shopper asks for mail from their chat at `email`: the team's answers there too, or
    /// the chat so far. Mail goes only to an address proved the shopper's (the shop vouched
    /// for it, or the shopper followed a link mailed to it): to any other, a link to prove it
    /// is queued first, and what was asked for follows the click. `source` is the client's
    /// address (kept as a digest); mail a chat makes us send is counted per address and per
    /// source, [`CHAT_MAIL_PER_ADDRESS`] and [`CHAT_MAIL_PER_SOURCE`] a day. The link's
    /// secret, when one is made, is returned too (for the job that mails it; kept here only
    /// as a digest).
    pub async fn ask_for_chat_mail(
        &self,
        session: &ChatSession,
        email: &EmailAddress,
        what: ChatMail,
        source: &str,
    ) -> Result<ChatMailOutcome, StoreError> {
        let proved = session.email_confirmed && session.email.as_ref() == Some(email);
        if proved && what == ChatMail::Replies {
            self.chat_replies_by_email(session, email).await?;
            return Ok(ChatMailOutcome::Queued);
        }
        let now = At::now();
        let address_digest = token_digest(&email.as_str().to_lowercase());
        let source_digest = token_digest(source);
        let since = At(now - chrono::Duration::days(1));
        let mut tx = self.begin().await?;
        if !proved {
            // A link to this address already on its way for this chat (the widget asks for
            // replies and the transcript in one go) carries this request too: one mail.
            let pending: Option<(String, String)> = on_tx!(read &mut tx, |conn, pg| sqlx::query_as(
                "SELECT token_digest, purpose FROM chat_email_confirmations \
                 WHERE session_id = $1 AND email = $2 AND confirmed_at IS NULL AND created_at >= $3 \
                 ORDER BY created_at DESC LIMIT 1"
            )
            .bind(session.id.as_str())
            .bind(email.as_str())
            .bind(At(now - chrono::Duration::days(1)))
            .fetch_optional(conn)
            .await?);
            if let Some((digest, purposes)) = pending {
                if !ChatMail::read_all(&purposes).contains(&what) {
                    let mut batch = Batch::default();
                    batch
                        .add("UPDATE chat_email_confirmations SET purpose = $2 WHERE token_digest = $1")
                        .text(digest)
                        .text(format!("{purposes} {}", what.as_str()));
                    tx.commit_with(batch).await?;
                }
                return Ok(ChatMailOutcome::ConfirmationSent);
            }
        }
        let (to_address, from_source): (i64, i64) = on_tx!(read &mut tx, |conn, pg| sqlx::query_as(
            "SELECT (SELECT count(*) FROM chat_mail_sent WHERE address_digest = $1 AND sent_at >= $3), \
                    (SELECT count(*) FROM chat_mail_sent WHERE source_digest = $2 AND sent_at >= $3)"
        )
        .bind(&address_digest)
        .bind(&source_digest)
        .bind(since)
        .fetch_one(conn)
        .await?);
        let mut batch = Batch::default();
        let outcome = if proved {
            let last: Option<i64> = on_tx!(read &mut tx, |conn, pg| sqlx::query_scalar(
                "SELECT max(seq) FROM messages WHERE conversation_id = $1"
            )
            .bind(session.conversation_id.as_str())
            .fetch_one(conn)
            .await?);
            let last = last.ok_or(StoreError::NotFound("chat messages"))?;
            let dedupe = format!("transcript:{}:{last}", session.id);
            let queued: i64 = on_tx!(read &mut tx, |conn, pg| sqlx::query_scalar(
                "SELECT count(*) FROM jobs WHERE dedupe_key = $1"
            )
            .bind(&dedupe)
            .fetch_one(conn)
            .await?);
            if queued > 0 {
                return Ok(ChatMailOutcome::AlreadyQueued);
            }
            if to_address >= CHAT_MAIL_PER_ADDRESS || from_source >= CHAT_MAIL_PER_SOURCE {
                return Ok(ChatMailOutcome::TooMuchMail);
            }
            jobs::enqueue(
                &mut batch,
                NewJob::now(payloads::ChatTranscript {
                    session_id: session.id.clone(),
                })
                .dedupe(dedupe),
                now,
            );
            ChatMailOutcome::Queued
        } else {
            if to_address >= CHAT_MAIL_PER_ADDRESS || from_source >= CHAT_MAIL_PER_SOURCE {
                return Ok(ChatMailOutcome::TooMuchMail);
            }
            let token = format!("cmc_{}{}", secret_token(), secret_token());
            batch
                .add(
                    "INSERT INTO chat_email_confirmations (token_digest, session_id, email, purpose, created_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .text(token_digest(&token))
                .text(session.id.as_str())
                .text(email.as_str())
                .text(what.as_str())
                .time(now);
            // The address is the shopper's word until the link is followed.
            batch
                .add("UPDATE chat_sessions SET email = $2, email_confirmed = FALSE WHERE id = $1")
                .text(session.id.as_str())
                .text(email.as_str());
            jobs::enqueue(
                &mut batch,
                NewJob::now(payloads::ChatConfirmEmail {
                    session_id: session.id.clone(),
                    email: email.clone(),
                    token,
                }),
                now,
            );
            ChatMailOutcome::ConfirmationSent
        };
        batch
            .add("INSERT INTO chat_mail_sent (address_digest, source_digest, sent_at) VALUES ($1, $2, $3)")
            .text(address_digest)
            .text(source_digest)
            .time(now);
        batch
            .add("DELETE FROM chat_mail_sent WHERE sent_at < $1")
            .time(now - chrono::Duration::days(2));
        tx.commit_with(batch).await?;
        Ok(outcome)
    }

    /// The shopper followed the link mailed to an address they gave in a chat: the address is
    /// theirs, and what they asked for goes there (replies from now on, the chat so far, or
    /// both), which is returned.
    /// `None` for a link we never made, or one older than a week. Following it again changes
    /// nothing.
    pub async fn confirm_chat_email(
        &self,
        token: &str,
    ) -> Result<Option<(ChatSession, Vec<ChatMail>)>, StoreError> {
        let now = At::now();
        let row: Option<(String, String, String, Option<At>)> =
            on_engine!(self, |pool, pg| sqlx::query_as(
                "SELECT session_id, email, purpose, confirmed_at FROM chat_email_confirmations \
             WHERE token_digest = $1 AND created_at >= $2"
            )
            .bind(token_digest(token))
            .bind(At(now - chrono::Duration::days(7)))
            .fetch_optional(pool)
            .await?);
        let Some((session_id, email, purpose, confirmed_at)) = row else {
            return Ok(None);
        };
        let session = self
            .chat_session_by_id(&ChatSessionId::from_trusted(session_id))
            .await?;
        let email = EmailAddress::parse(&email).map_err(StoreError::corrupt)?;
        let asked = ChatMail::read_all(&purpose);
        if asked.is_empty() {
            return Err(StoreError::corrupt(format!(
                "a chat mail purpose `{purpose}`"
            )));
        }
        if confirmed_at.is_some() {
            return Ok(Some((session, asked)));
        }
        let replies = asked.contains(&ChatMail::Replies);
        let transcript = asked.contains(&ChatMail::Transcript);
        let mut tx = self.begin().await?;
        let opened: i64 = on_tx!(read &mut tx, |conn, pg| sqlx::query_scalar(
            "SELECT count(*) FROM conversations WHERE id = $1"
        )
        .bind(session.conversation_id.as_str())
        .fetch_one(conn)
        .await?);
        let mut batch = Batch::default();
        batch
            .add("UPDATE chat_email_confirmations SET confirmed_at = $2 WHERE token_digest = $1")
            .text(token_digest(token))
            .time(now);
        batch
            .add(
                "UPDATE chat_sessions SET email = $2, email_confirmed = TRUE, \
                 email_replies = email_replies OR $3 WHERE id = $1",
            )
            .text(session.id.as_str())
            .text(email.as_str())
            .bool(replies);
        if transcript {
            jobs::enqueue(
                &mut batch,
                NewJob::now(payloads::ChatTranscript {
                    session_id: session.id.clone(),
                })
                .dedupe(format!("transcript-confirmed:{}", token_digest(token))),
                now,
            );
        }
        if opened > 0 {
            let note = notes::chat_email_confirmed(&email, replies, transcript);
            let mut note = NewMessage::text(SenderType::System, note);
            note.private = true;
            conversations::append(&mut tx, &mut batch, &session.conversation_id, note, now).await?;
        }
        tx.commit_with(batch).await?;
        self.events_committed();
        if opened > 0 {
            self.join_proved_customer(&session, &email).await?;
        }
        let mut session = session;
        session.email = Some(email);
        session.email_confirmed = true;
        session.email_replies |= replies;
        Ok(Some((session, asked)))
    }

    /// A chat whose shopper proved their address joins the customer it belongs to (or its
    /// customer takes the address): from then on the team sees their orders beside it.
    async fn join_proved_customer(
        &self,
        session: &ChatSession,
        email: &EmailAddress,
    ) -> Result<(), StoreError> {
        let chat_customer = self
            .conversation(&session.conversation_id)
            .await?
            .customer
            .id;
        let owners = self
            .customers(
                &crate::customers::CustomerFilter {
                    email: Some(email.clone()),
                    ..Default::default()
                },
                &crate::PageRequest {
                    limit: Some(1),
                    cursor: None,
                },
            )
            .await?;
        match owners.items.first() {
            Some(owner) if owner.id != chat_customer => {
                self.merge_customers(&chat_customer, &owner.id, &Actor::System)
                    .await?;
            }
            Some(_) => {}
            None => {
                self.resolve_customer(&CustomerRef {
                    name: None,
                    email: Some(email.clone()),
                    phone: None,
                    external: Some(("widget".to_owned(), session.id.as_str().to_owned())),
                })
                .await?;
            }
        }
        Ok(())
    }

    /// The chat session of a conversation, if it is a chat.
    pub async fn chat_session_of(
        &self,
        conversation: &ConversationId,
    ) -> Result<Option<ChatSession>, StoreError> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM chat_sessions WHERE conversation_id = $1");
        let row: Option<SessionRow> = on_engine!(self, |pool, pg| sqlx::query_as(&sql)
            .bind(conversation.as_str())
            .fetch_optional(pool)
            .await?);
        row.map(SessionRow::into_session).transpose()
    }

    /// What sending a shopper their chat needs: the session, the conversation's reply token
    /// (so an answer by mail comes back to the conversation) and what was said publicly.
    pub async fn chat_transcript(&self, id: &ChatSessionId) -> Result<ChatTranscript, StoreError> {
        let session = self.chat_session_by_id(id).await?;
        let token: Option<String> = on_engine!(self, |pool, pg| sqlx::query_scalar(
            "SELECT reply_token FROM conversations WHERE id = $1"
        )
        .bind(session.conversation_id.as_str())
        .fetch_optional(pool)
        .await?
        .flatten());
        let messages = self
            .messages_after(&session.conversation_id, 0, true)
            .await?
            .into_iter()
            .map(|(_, m)| m)
            .collect();
        Ok(ChatTranscript {
            session,
            reply_token: token.map(ReplyToken::from_trusted),
            messages,
        })
    }

    /// The number of a conversation's message, by which `messages_after` resumes; `None`
    /// when the message is not one of that conversation's.
    pub async fn message_number(
        &self,
        conversation: &ConversationId,
        id: &MessageId,
    ) -> Result<Option<i64>, StoreError> {
        Ok(on_engine!(self, |pool, pg| sqlx::query_scalar(
            "SELECT seq FROM messages WHERE id = $1 AND conversation_id = $2"
        )
        .bind(id.as_str())
        .bind(conversation.as_str())
        .fetch_optional(pool)
        .await?))
    }

    /// Stores what the shopper said in a chat (words, or a file whose bytes are already in
    /// the file store): opens the session's conversation with it, or adds it. A key
    /// (`inbound.key`, the widget's client id) the session used before returns the message
    /// stored then.
    pub async fn chat_say(
        &self,
        session: &ChatSession,
        inbound: Inbound,
    ) -> Result<Said, StoreError> {
        self.chat_add(session, inbound, None).await
    }

    /// The assistant's answer in a chat, stored with what it remembers for the next message
    /// in one write. Keyed by `client_key` like a shopper's message: asked again, it returns
    /// the answer stored then (and the memory stored with it) and writes nothing.
    pub async fn chat_answer(
        &self,
        session: &ChatSession,
        body: MessageBody,
        client_key: &str,
        memory: &AssistantMemory,
    ) -> Result<Said, StoreError> {
        let answer = session.inbound(NewMessage::text(SenderType::Bot, body), Some(client_key));
        self.chat_add(session, answer, Some(memory)).await
    }

    async fn chat_add(
        &self,
        session: &ChatSession,
        inbound: Inbound,
        memory: Option<&AssistantMemory>,
    ) -> Result<Said, StoreError> {
        match self.chat_add_once(session, inbound.clone(), memory).await {
            // On PostgreSQL the same message sent twice at once, or two first messages at
            // once, clash on a key; the one that lost finds what the other stored.
            Err(StoreError::Conflict { .. }) => self.chat_add_once(session, inbound, memory).await,
            other => other,
        }
    }

    async fn chat_add_once(
        &self,
        session: &ChatSession,
        inbound: Inbound,
        memory: Option<&AssistantMemory>,
    ) -> Result<Said, StoreError> {
        let answerable = chat::assistant_answers(
            inbound.message.sender,
            !inbound.message.attachments.is_empty(),
        );
        let client_key = inbound.key.clone();
        let client_key = client_key.as_deref();
        let now = At::now();
        let mut tx = self.begin().await?;
        // What the message finds, in one read (the writer is held meanwhile): the message this
        // client key stored before, whether the conversation exists yet, and whether the
        // assistant still answers.
        let (seen, opened, assistant): (Option<String>, i64, bool) = on_tx!(read &mut tx, |conn, pg| sqlx::query_as(
                "SELECT (SELECT message_id FROM chat_message_keys WHERE session_id = $1 AND client_key = $2), \
                        (SELECT count(*) FROM conversations WHERE id = $3), \
                        assistant \
                 FROM chat_sessions WHERE id = $1"
            )
            .bind(session.id.as_str())
            .bind(client_key)
            .bind(session.conversation_id.as_str())
            .fetch_one(conn)
            .await?);
        if let Some(id) = seen {
            // The key may be another command's of this same group, not committed yet: wait
            // for the commit, then read what it stored.
            tx.commit().await?;
            let message = self.message(&MessageId::from_trusted(id)).await?;
            let conversation = self.conversation(&session.conversation_id).await?;
            return Ok(Said {
                conversation,
                message,
                new: false,
            });
        }
        let mut batch = Batch::default();
        let into = if opened > 0 {
            Destination::Thread(session.conversation_id.clone())
        } else {
            Destination::New {
                id: session.conversation_id.clone(),
                tags: vec![],
                rest: vec![],
            }
        };
        let (conversation, mut messages) =
            inbound::receive(&mut tx, &mut batch, inbound, into, now).await?;
        let message = messages.remove(0);
        // The assistant answers, unless it has handed the chat over; its job is written with
        // the message, so an answer is never lost to a crash between the two.
        if assistant && answerable {
            jobs::enqueue(
                &mut batch,
                NewJob::now(payloads::AssistantAnswer {
                    session_id: session.id.clone(),
                    message_id: message.id.clone(),
                })
                .dedupe(format!("answer:{}", message.id)),
                now,
            );
        }
        if let Some(memory) = memory {
            remember(&mut batch, &session.id, memory);
        }
        if let Some(key) = client_key {
            batch
                .add(
                    "INSERT INTO chat_message_keys (session_id, client_key, message_id) VALUES ($1, $2, $3)",
                )
                .text(session.id.as_str())
                .text(key)
                .text(message.id.as_str());
        }
        tx.commit_with(batch).await?;
        self.events_committed();
        Ok(Said {
            conversation,
            message,
            new: true,
        })
    }
}

/// Keeps what the assistant remembers about a chat.
fn remember(batch: &mut Batch, id: &ChatSessionId, memory: &AssistantMemory) {
    batch
        .add(
            "UPDATE chat_sessions SET misses = $2, awaiting = $3, order_id = $4, order_proof = $5, \
             failed_checks = $6 WHERE id = $1",
        )
        .text(id.as_str())
        .int(memory.misses)
        .opt_text(memory.awaiting.map(Intent::as_str))
        .opt_text(memory.order_id.as_ref().map(|o| o.as_str()))
        .opt_text(memory.order_proof.map(OrderProof::as_str))
        .int(memory.failed_checks);
}
