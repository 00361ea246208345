//! Webhook deliveries from store platforms and tracking services, kept raw: stored (with the
//! job that applies them) before the sender is acknowledged, recognised when the sender
//! repeats them, and marked with what became of them so an admin can see and retry failures.

use crate::args::{bind_args, Args, Batch};
use crate::jobs::{enqueue, payloads, NewJob};
use crate::{on_engine, on_tx, At, Cursor, Page, PageRequest, Store, StoreError};
use chrono::{DateTime, Utc};
use concierge_domain::commerce::Platform;
use concierge_domain::ids::WebhookDeliveryId;
use concierge_domain::vocabulary;

/// How often applying a delivery is tried before it is left for an admin: the first tries
/// come quickly (an order's fulfillment may arrive before the order), the last hours later.
const APPLY_ATTEMPTS: i32 = 10;

vocabulary! {
    /// What became of a delivery.
    pub enum DeliveryState {
        /// Stored and waiting for (or between tries of) the job that applies it.
        Pending = "pending",
        Applied = "applied",
        /// A topic we do not act on.
        Ignored = "ignored",
        /// Not JSON, or not the shape the topic promises: kept for inspection, never applied.
        Malformed = "malformed",
        /// Applying it failed on every try; an admin may retry it.
        Failed = "failed",
    }
}

/// A delivery as it arrived, after its signature was checked.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub platform: Platform,
    /// The platform's delivery id (retries reuse it).
    pub delivery_id: String,
    pub topic: String,
    pub shop: Option<String>,
    pub body: String,
    pub state: DeliveryState,
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: WebhookDeliveryId,
    pub platform: Platform,
    pub delivery_id: String,
    pub topic: String,
    pub shop: Option<String>,
    pub body: String,
    pub state: DeliveryState,
    pub error: Option<String>,
    pub received_at: DateTime<Utc>,
    pub applied_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: String,
    platform: String,
    delivery_id: String,
    topic: String,
    shop: Option<String>,
    body: String,
    status: String,
    error: Option<String>,
    received_at: At,
    applied_at: Option<At>,
}

const COLUMNS: &str =
    "id, platform, delivery_id, topic, shop, body, status, error, received_at, applied_at";

impl DeliveryRow {
    fn into_delivery(self) -> Result<Delivery, StoreError> {
        Ok(Delivery {
            id: WebhookDeliveryId::from_trusted(self.id),
            platform: Platform::parse(&self.platform).map_err(StoreError::corrupt)?,
            delivery_id: self.delivery_id,
            topic: self.topic,
            shop: self.shop,
            body: self.body,
            state: DeliveryState::parse(&self.status).map_err(StoreError::corrupt)?,
            error: self.error,
            received_at: self.received_at.0,
            applied_at: self.applied_at.map(|t| t.0),
        })
    }
}

/// Marks a delivery applied inside the caller's transaction (the one that applied it).
pub(crate) fn mark_applied(
    batch: &mut Batch,
    platform: Platform,
    delivery_id: &str,
    now: DateTime<Utc>,
) {
    batch
        .add(
            "UPDATE webhook_deliveries SET status = 'applied', error = NULL, applied_at = $3 \
             WHERE platform = $1 AND delivery_id = $2",
        )
        .text(platform.as_str())
        .text(delivery_id)
        .time(now);
}

fn apply_key(platform: Platform, delivery_id: &str) -> String {
    format!("webhook:{platform}:{delivery_id}")
}

impl Store {
    /// Stores a delivery and, when it is pending, the job that applies it, in one
    /// transaction. A delivery id seen before changes nothing (both inserts yield to the
    /// first), so a sender's retry is acknowledged without a second effect.
    pub async fn record_webhook(&self, d: NewDelivery) -> Result<(), StoreError> {
        let now = At::now();
        let tx = self.begin().await?;
        let mut batch = Batch::default();
        batch
            .add(
                "INSERT INTO webhook_deliveries (id, platform, delivery_id, topic, shop, body, status, error, received_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (platform, delivery_id) DO NOTHING",
            )
            .text(WebhookDeliveryId::generate().as_str())
            .text(d.platform.as_str())
            .text(d.delivery_id.as_str())
            .text(d.topic.as_str())
            .opt_text(d.shop.as_deref())
            .text(d.body)
            .text(d.state.as_str())
            .opt_text(d.error.as_deref())
            .time(now);
        if d.state == DeliveryState::Pending {
            let mut job = NewJob::now(payloads::WebhookApply {
                platform: d.platform,
                delivery_id: d.delivery_id.clone(),
            })
            .dedupe(apply_key(d.platform, &d.delivery_id));
            job.max_attempts = APPLY_ATTEMPTS;
            enqueue(&mut batch, job, now);
        }
        tx.commit_with(batch).await
    }

    /// One delivery by the platform's id for it.
    pub async fn delivery(
        &self,
        platform: Platform,
        delivery_id: &str,
    ) -> Result<Delivery, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM webhook_deliveries WHERE platform = $1 AND delivery_id = $2"
        );
        let row: Option<DeliveryRow> = on_engine!(self, |pool, pg| sqlx::query_as(&sql)
            .bind(platform.as_str())
            .bind(delivery_id)
            .fetch_optional(pool)
            .await?);
        row.ok_or(StoreError::NotFound("webhook delivery"))?
            .into_delivery()
    }

    pub async fn delivery_by_id(&self, id: &WebhookDeliveryId) -> Result<Delivery, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM webhook_deliveries WHERE id = $1");
        let row: Option<DeliveryRow> = on_engine!(self, |pool, pg| sqlx::query_as(&sql)
            .bind(id.as_str())
            .fetch_optional(pool)
            .await?);
        row.ok_or(StoreError::NotFound("webhook delivery"))?
            .into_delivery()
    }

    /// Records what became of a delivery (applied, ignored, malformed, or failed with why).
    pub async fn finish_delivery(
        &self,
        platform: Platform,
        delivery_id: &str,
        state: DeliveryState,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = At::now();
        let tx = self.begin().await?;
        let mut batch = Batch::default();
        let error: Option<String> = error.map(|e| e.chars().take(2000).collect());
        batch
            .add(
                "UPDATE webhook_deliveries SET status = $3, error = $4, applied_at = $5 \
                 WHERE platform = $1 AND delivery_id = $2",
            )
            .text(platform.as_str())
            .text(delivery_id)
            .text(state.as_str())
            .opt_text(error.as_deref())
            .opt_time((state == DeliveryState::Applied).then_some(now));
        tx.commit_with(batch).await
    }

    /// Deliveries, newest first, optionally in one state.
    pub async fn deliveries(
        &self,
        state: Option<DeliveryState>,
        page: &PageRequest,
    ) -> Result<Page<Delivery>, StoreError> {
        let limit = page.limit();
        let mut args = Args::default();
        let mut sql = format!("SELECT {COLUMNS} FROM webhook_deliveries WHERE 1 = 1");
        if let Some(s) = state {
            sql += &format!(" AND status = {}", args.text(s.as_str()));
        }
        if let Some(Cursor::AfterId(after)) = &page.cursor {
            sql += &format!(" AND id < {}", args.text(after.as_str()));
        }
        sql += &format!(" ORDER BY id DESC LIMIT {}", args.int(i64::from(limit) + 1));
        let rows: Vec<DeliveryRow> =
            on_engine!(self, |pool, pg| bind_args!(sqlx::query_as(&sql), args)
                .fetch_all(pool)
                .await?);
        let items = rows
            .into_iter()
            .map(DeliveryRow::into_delivery)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(items, limit, |d: &Delivery| {
            Cursor::AfterId(d.id.to_string())
        }))
    }

    /// Applies a failed delivery again: its job goes back in the queue with fresh attempts.
    pub async fn retry_delivery_apply(
        &self,
        id: &WebhookDeliveryId,
    ) -> Result<Delivery, StoreError> {
        let d = self.delivery_by_id(id).await?;
        if !matches!(d.state, DeliveryState::Failed | DeliveryState::Pending) {
            return Err(StoreError::conflict(
                "status",
                format!("a delivery that is {} is not applied again", d.state),
            ));
        }
        let now = At::now();
        let mut tx = self.begin().await?;
        let key = apply_key(d.platform, &d.delivery_id);
        let mut batch = Batch::default();
        batch
            .add(
                "UPDATE jobs SET status = 'queued', attempts = 0, run_at = $2, updated_at = $2 \
                 WHERE dedupe_key = $1 AND status IN ('dead', 'queued')",
            )
            .text(key.as_str())
            .time(now);
        batch
            .add("UPDATE webhook_deliveries SET status = 'pending', error = NULL WHERE id = $1")
            .text(id.as_str());
        // The job may be gone (a database restored without it): queue a new one.
        let exists: i64 = on_tx!(read &mut tx, |conn, pg| sqlx::query_scalar(
            "SELECT count(*) FROM jobs WHERE dedupe_key = $1"
        )
        .bind(key.as_str())
        .fetch_one(conn)
        .await?);
        if exists == 0 {
            let mut job = NewJob::now(payloads::WebhookApply {
                platform: d.platform,
                delivery_id: d.delivery_id.clone(),
            })
            .dedupe(key);
            job.max_attempts = APPLY_ATTEMPTS;
            enqueue(&mut batch, job, now);
        }
        tx.commit_with(batch).await?;
        self.delivery_by_id(id).await
    }
}
