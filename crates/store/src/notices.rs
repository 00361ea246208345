//! Telling shoppers about their parcels before they ask: notices queued once per shipment and
//! kind (in the transaction that moved the shipment), the shop's own wording for them, the
//! shoppers who asked for none, late shipments found on a clock the caller passes in, and the
//! `delivery-issue` conversations that put a problem parcel in front of the team.

use crate::args::Batch;
use crate::conversations::{self, NewConversation, NewMessage};
use crate::customers::CustomerRef;
use crate::jobs::{enqueue, payloads, NewJob};
use crate::{on_engine, on_tx, At, Store, StoreError};
use chrono::{DateTime, Utc};
use concierge_domain::access::Actor;
use concierge_domain::commerce::NoticeKind;
use concierge_domain::contact::{EmailAddress, Identity, PhoneNumber};
use concierge_domain::conversation::{Channel, ConversationStatus, Priority, SenderType};
use concierge_domain::ids::{ConversationId, CustomerId, NoticeId, OrderId, ShipmentId};
use concierge_domain::intents::IntentReading;
use concierge_domain::text::{Label, MessageBody, Subject};
use concierge_domain::vocabulary;
use serde_json::json;

/// The tag on conversations opened for a parcel in trouble.
pub const DELIVERY_ISSUE_TAG: &str = "delivery-issue";

vocabulary! {
    pub enum NoticeStatus {
        Queued = "queued",
        Sent = "sent",
        /// Not sent on purpose: the shopper unsubscribed, or has no address to send to.
        Skipped = "skipped",
        Failed = "failed",
    }
}

#[derive(Debug, Clone)]
pub struct Notice {
    pub id: NoticeId,
    pub shipment_id: ShipmentId,
    pub kind: NoticeKind,
    pub status: NoticeStatus,
    pub recipient: Option<String>,
    pub detail: Option<String>,
    pub conversation_id: Option<ConversationId>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct NoticeRow {
    id: String,
    shipment_id: String,
    kind: String,
    status: String,
    recipient: Option<String>,
    detail: Option<String>,
    conversation_id: Option<String>,
    created_at: At,
    sent_at: Option<At>,
}

const NOTICE_COLUMNS: &str =
    "id, shipment_id, kind, status, recipient, detail, conversation_id, created_at, sent_at";

impl NoticeRow {
    fn into_notice(self) -> Result<Notice, StoreError> {
        Ok(Notice {
            id: NoticeId::from_trusted(self.id),
            shipment_id: ShipmentId::from_trusted(self.shipment_id),
            kind: NoticeKind::parse(&self.kind).map_err(StoreError::corrupt)?,
            status: NoticeStatus::parse(&self.status).map_err(StoreError::corrupt)?,
            recipient: self.recipient,
            detail: self.detail,
            conversation_id: self.conversation_id.map(ConversationId::from_trusted),
            created_at: self.created_at.0,
            sent_at: self.sent_at.map(|t| t.0),
        })
    }
}

/// The shop's wording for one kind of notice, when it changed ours.
#[derive(Debug, Clone)]
pub struct NoticeTemplate {
    pub kind: NoticeKind,
    pub subject: String,
    pub body: String,
    pub updated_at: DateTime<Utc>,
}

/// Queues a notice inside the caller's transaction, once per shipment and kind: the row and
/// its job both yield to an earlier one.
pub(crate) fn queue(
    batch: &mut Batch,
    shipment: &ShipmentId,
    kind: NoticeKind,
    now: DateTime<Utc>,
) {
    batch
        .add(
            "INSERT INTO notices (id, shipment_id, kind, status, created_at) VALUES ($1, $2, $3, 'queued', $4) \
             ON CONFLICT (shipment_id, kind) DO NOTHING",
        )
        .text(NoticeId::generate().as_str())
        .text(shipment.as_str())
        .text(kind.as_str())
        .time(now);
    enqueue(
        batch,
        NewJob::now(payloads::NoticeSend {
            shipment_id: shipment.clone(),
            kind,
        })
        .dedupe(format!("notice:{shipment}:{kind}")),
        now,
    );
    if kind.is_issue() {
        enqueue(
            batch,
            NewJob::now(payloads::DeliveryIssue {
                shipment_id: shipment.clone(),
                kind,
            })
            .dedupe(format!("issue:{shipment}:{kind}")),
            now,
        );
    }
}

/// How a stored customer is named again, to open a conversation with them.
fn reference(c: &crate::customers::Customer) -> CustomerRef {
    CustomerRef {
        name: None,
        email: c.email.as_deref().and_then(|e| EmailAddress::parse(e).ok()),
        phone: c.phone.as_deref().and_then(|p| PhoneNumber::parse(p).ok()),
        external: c.identities.iter().find_map(|i| match i {
            Identity::External { source, id } => Some((source.clone(), id.clone())),
            _ => None,
        }),
    }
}

impl Store {
    /// One shipment's notice of one kind.
    pub async fn notice(
        &self,
        shipment: &ShipmentId,
        kind: NoticeKind,
    ) -> Result<Notice, StoreError> {
        let sql =
            format!("SELECT {NOTICE_COLUMNS} FROM notices WHERE shipment_id = $1 AND kind = $2");
        let row: Option<NoticeRow> = on_engine!(self, |pool, pg| sqlx::query_as(&sql)
            .bind(shipment.as_str())
            .bind(kind.as_str())
            .fetch_optional(pool)
            .await?);
        row.ok_or(StoreError::NotFound("notice"))?.into_notice()
    }

    /// A shipment's notices, oldest first.
    pub async fn notices(&self, shipment: &ShipmentId) -> Result<Vec<Notice>, StoreError> {
        let sql = format!(
            "SELECT {NOTICE_COLUMNS} FROM notices WHERE shipment_id = $1 ORDER BY created_at, id"
        );
        let rows: Vec<NoticeRow> = on_engine!(self, |pool, pg| sqlx::query_as(&sql)
            .bind(shipment.as_str())
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(NoticeRow::into_notice).collect()
    }

    /// Records what became of a notice.
    pub async fn finish_notice(
        &self,
        shipment: &ShipmentId,
        kind: NoticeKind,
        status: NoticeStatus,
        recipient: Option<&str>,
        detail: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = At::now();
        let tx = self.begin().await?;
        let mut batch = Batch::default();
        batch
            .add(
                "UPDATE notices SET status = $3, recipient = coalesce($4, recipient), detail = $5, sent_at = $6 \
                 WHERE shipment_id = $1 AND kind = $2",
            )
            .text(shipment.as_str())
            .text(kind.as_str())
            .text(status.as_str())
            .opt_text(recipient)
            .opt_text(detail)
            .opt_time((status == NoticeStatus::Sent).then_some(now));
        tx.commit_with(batch).await
    }

    /// The customer's unsubscribe token (made on first use) and whether they unsubscribed.
    pub async fn notices_token(&self, customer: &CustomerId) -> Result<(String, bool), StoreError> {
        let read = || async {
            let row: Option<(Option<String>, Option<At>)> =
                on_engine!(self, |pool, pg| sqlx::query_as(
                    "SELECT notices_token, notices_off_at FROM customers WHERE id = $1"
                )
                .bind(customer.as_str())
                .fetch_optional(pool)
                .await?);
            row.ok_or(StoreError::NotFound("customer"))
        };
        if let (Some(token), off) = read().await? {
            return Ok((token, off.is_some()));
        }
        let tx = self.begin().await?;
        let mut batch = Batch::default();
        batch
            .add("UPDATE customers SET notices_token = coalesce(notices_token, $2) WHERE id = $1")
            .text(customer.as_str())
            .text(crate::secret_token());
        tx.commit_with(batch).await?;
        match read().await? {
            (Some(token), off) => Ok((token, off.is_some())),
            (None, _) => Err(StoreError::NotFound("customer")),
        }
    }

    /// Stops notices to the customer behind an unsubscribe token, at once. Returns who it was;
    /// a second call changes nothing.
    pub async fn unsubscribe_notices(&self, token: &str) -> Result<CustomerId, StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let id: Option<String> = on_tx!(read &mut tx, |conn, pg| sqlx::query_scalar(
            "SELECT id FROM customers WHERE notices_token = $1"
        )
        .bind(token)
        .fetch_optional(conn)
        .await?);
        let id = CustomerId::from_trusted(id.ok_or(StoreError::NotFound("subscription"))?);
        let mut batch = Batch::default();
        batch
            .add("UPDATE customers SET notices_off_at = coalesce(notices_off_at, $2) WHERE id = $1")
            .text(id.as_str())
            .time(now);
        crate::audit::record(
            &mut batch,
            crate::audit::AuditEntry::new(
                &Actor::System,
                "customer.notices_off",
                "customer",
                id.as_str(),
                json!({}),
            ),
            now,
        );
        tx.commit_with(batch).await?;
        Ok(id)
    }

    /// The shop's wording for every kind it changed.
    pub async fn notice_templates(&self) -> Result<Vec<NoticeTemplate>, StoreError> {
        let rows: Vec<(String, String, String, At)> = on_engine!(self, |pool, pg| sqlx::query_as(
            "SELECT kind, subject, body, updated_at FROM notice_templates ORDER BY kind"
        )
        .fetch_all(pool)
        .await?);
        rows.into_iter()
            .map(|(kind, subject, body, at)| {
                Ok(NoticeTemplate {
                    kind: NoticeKind::parse(&kind).map_err(StoreError::corrupt)?,
                    subject,
                    body,
                    updated_at: at.0,
                })
            })
            .collect()
    }

    /// Sets the shop's wording for one kind; `None` goes back to ours.
    pub async fn set_notice_template(
        &self,
        kind: NoticeKind,
        wording: Option<(&str, &str)>,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let now = At::now();
        let tx = self.begin().await?;
        let mut batch = Batch::default();
        match wording {
            Some((subject, body)) => {
                batch
                    .add(
                        "INSERT INTO notice_templates (kind, subject, body, updated_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (kind) DO UPDATE SET subject = excluded.subject, body = excluded.body, updated_at = excluded.updated_at",
                    )
                    .text(kind.as_str())
                    .text(subject)
                    .text(body)
                    .time(now);
            }
            None => {
                batch
                    .add("DELETE FROM notice_templates WHERE kind = $1")
                    .text(kind.as_str());
            }
        }
        crate::audit::record(
            &mut batch,
            crate::audit::AuditEntry::new(
                actor,
                if wording.is_some() {
                    "notice_template.updated"
                } else {
                    "notice_template.reset"
                },
                "notice_template",
                kind.as_str(),
                json!({}),
            ),
            now,
        );
        tx.commit_with(batch).await
    }

    /// Puts a parcel's problem in front of the team: adds `note` (private) to the open
    /// `delivery-issue` conversation about its order, or opens one, and remembers it on the
    /// notice. Safe to repeat: a notice that already has its conversation is left alone.
    pub async fn open_delivery_issue(
        &self,
        shipment: &ShipmentId,
        kind: NoticeKind,
        subject: Subject,
        note: MessageBody,
    ) -> Result<ConversationId, StoreError> {
        if let Some(done) = self.notice(shipment, kind).await?.conversation_id {
            return Ok(done);
        }
        let s = self.shipment(shipment).await?;
        let order_id = s.order_id.clone();
        let customer = self.order_customer(&order_id).await?;
        let now = At::now();
        let mut tx = self.begin().await?;
        crate::lock_key(&mut tx, &format!("delivery-issue:{order_id}")).await?;
        let open: Option<String> = on_tx!(read &mut tx, |conn, pg| sqlx::query_scalar(
            "SELECT c.id FROM conversations c JOIN conversation_orders o ON o.conversation_id = c.id \
             JOIN conversation_tags t ON t.conversation_id = c.id \
             WHERE o.order_id = $1 AND t.tag = $2 AND c.status NOT IN ($3, $4) AND c.merged_into_id IS NULL \
             ORDER BY c.created_at DESC LIMIT 1"
        )
        .bind(order_id.as_str())
        .bind(DELIVERY_ISSUE_TAG)
        .bind(ConversationStatus::Resolved.as_str())
        .bind(ConversationStatus::Closed.as_str())
        .fetch_optional(conn)
        .await?);
        let mut message = NewMessage::text(SenderType::System, note);
        message.private = true;
        let mut batch = Batch::default();
        let id = match open {
            Some(id) => {
                let id = ConversationId::from_trusted(id);
                conversations::append(&mut tx, &mut batch, &id, message, now).await?;
                id
            }
            None => {
                let tag = Label::parse(DELIVERY_ISSUE_TAG).map_err(StoreError::corrupt)?;
                let new = NewConversation {
                    channel: if customer.email.is_some() {
                        Channel::Email
                    } else {
                        Channel::Api
                    },
                    customer: reference(&customer),
                    subject: Some(subject),
                    priority: if kind == NoticeKind::Exception {
                        Priority::High
                    } else {
                        Priority::Normal
                    },
                    tags: vec![tag],
                    message,
                };
                let (c, _) =
                    conversations::open(&mut tx, &mut batch, new, vec![], &Actor::System, now)
                        .await?;
                link(&mut batch, &c.id, &order_id, now);
                c.id
            }
        };
        batch
            .add("UPDATE notices SET conversation_id = $3 WHERE shipment_id = $1 AND kind = $2")
            .text(shipment.as_str())
            .text(kind.as_str())
            .text(id.as_str());
        tx.commit_with(batch).await?;
        self.events_committed();
        Ok(id)
    }

    /// Opens a conversation about an order, started by the shopper (the tracking page's
    /// "get help with this order") with `intent` read in `body`, already attached to the
    /// order.
    pub async fn open_order_conversation(
        &self,
        order_id: &OrderId,
        subject: Subject,
        body: MessageBody,
        intent: IntentReading,
        email: Option<EmailAddress>,
    ) -> Result<ConversationId, StoreError> {
        let customer = self.order_customer(order_id).await?;
        let mut who = reference(&customer);
        if who.email.is_none() {
            who.email = email;
        }
        let channel = if who.email.is_some() {
            Channel::Email
        } else {
            Channel::Api
        };
        let now = At::now();
        let mut tx = self.begin().await?;
        let mut batch = Batch::default();
        let new = NewConversation {
            channel,
            customer: who,
            subject: Some(subject),
            priority: Priority::Normal,
            tags: vec![],
            message: NewMessage::from_shopper(body, intent),
        };
        let (c, _) =
            conversations::open(&mut tx, &mut batch, new, vec![], &Actor::System, now).await?;
        link(&mut batch, &c.id, order_id, now);
        tx.commit_with(batch).await?;
        self.events_committed();
        Ok(c.id)
    }

    /// Attaches an order to a conversation (the order it is about).
    pub async fn link_order(
        &self,
        conversation: &ConversationId,
        order: &OrderId,
    ) -> Result<(), StoreError> {
        self.conversation(conversation).await?;
        self.order(order).await?;
        let tx = self.begin().await?;
        let mut batch = Batch::default();
        link(&mut batch, conversation, order, At::now());
        tx.commit_with(batch).await
    }

    /// The orders attached to a conversation, newest attachment first.
    pub async fn conversation_orders(
        &self,
        conversation: &ConversationId,
    ) -> Result<Vec<OrderId>, StoreError> {
        let ids: Vec<String> = on_engine!(self, |pool, pg| {
            sqlx::query_scalar(
            "SELECT order_id FROM conversation_orders WHERE conversation_id = $1 ORDER BY created_at DESC"
        )
        .bind(conversation.as_str())
        .fetch_all(pool)
        .await?
        });
        Ok(ids.into_iter().map(OrderId::from_trusted).collect())
    }

    async fn order_customer(
        &self,
        order: &OrderId,
    ) -> Result<crate::customers::Customer, StoreError> {
        let id: Option<String> = on_engine!(self, |pool, pg| sqlx::query_scalar(
            "SELECT customer_id FROM orders WHERE id = $1"
        )
        .bind(order.as_str())
        .fetch_optional(pool)
        .await?);
        self.customer(&CustomerId::from_trusted(
            id.ok_or(StoreError::NotFound("order"))?,
        ))
        .await
    }
}

fn link(batch: &mut Batch, conversation: &ConversationId, order: &OrderId, now: DateTime<Utc>) {
    batch
        .add(
            "INSERT INTO conversation_orders (conversation_id, order_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (conversation_id, order_id) DO NOTHING",
        )
        .text(conversation.as_str())
        .text(order.as_str())
        .time(now);
}
