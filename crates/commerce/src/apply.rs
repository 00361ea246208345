//! Applying what platforms tell us: the [`Change`]s a delivery holds, and the `webhook.apply`
//! job ([`ApplyDelivery`]) that parses a stored delivery and applies them.
//!
//! A change about an order we do not know yet (a fulfillment that overtook its order) fails
//! the attempt and is retried with backoff; a payload that does not parse marks the delivery
//! malformed (kept, never retried); every outcome is written on the delivery for admins.

use crate::{aftership, shopify, woocommerce, Malformed};
use chrono::{DateTime, Utc};
use concierge_domain::access::Actor;
use concierge_domain::commerce::Platform;
use concierge_jobs::{Handler, JobError};
use concierge_store::commerce::{NewTrackingEvent, OrderUpsert, RefundUpsert, ShipmentUpsert};
use concierge_store::customers::CustomerRef;
use concierge_store::jobs::{payloads, Job};
use concierge_store::platforms::DeliveryState;
use concierge_store::{Store, StoreError};
use futures::future::BoxFuture;
use futures::FutureExt;

/// Scans for the shipment with a tracking number, from a tracking service.
#[derive(Debug, Clone)]
pub struct TrackingUpdate {
    pub tracking_number: String,
    pub estimated_delivery: Option<DateTime<Utc>>,
    pub scans: Vec<NewTrackingEvent>,
}

/// One thing a delivery tells us.
#[derive(Debug, Clone)]
pub enum Change {
    Customer(CustomerRef),
    Order(Box<OrderUpsert>),
    Shipment(ShipmentUpsert),
    Refund(RefundUpsert),
    Tracking(TrackingUpdate),
}

/// What a delivery holds.
#[derive(Debug, Clone)]
pub enum Parsed {
    /// A topic we do not act on.
    Ignored,
    Changes(Vec<Change>),
}

/// Parses a stored delivery by its platform.
pub fn parse(
    platform: Platform,
    topic: &str,
    body: &[u8],
    shop: Option<&str>,
) -> Result<Parsed, Malformed> {
    match platform {
        Platform::Shopify => shopify::parse(topic, body, shop),
        Platform::WooCommerce => woocommerce::parse(topic, body, shop),
        Platform::AfterShip => aftership::parse(topic, body),
    }
}

/// Applies one change. A change about an order or shipment not known yet is
/// [`StoreError::NotFound`]: the caller tries again later.
pub async fn apply(store: &Store, change: Change, actor: &Actor) -> Result<(), StoreError> {
    match change {
        Change::Customer(who) => {
            store.resolve_customer(&who).await?;
        }
        Change::Order(o) => {
            store.apply_order(*o, actor).await?;
        }
        Change::Shipment(s) => {
            store.apply_shipment(s, actor).await?;
        }
        Change::Refund(r) => {
            store.apply_refund(r).await?;
        }
        Change::Tracking(t) => {
            let shipments = store
                .shipments_by_tracking_number(&t.tracking_number)
                .await?;
            // The newest shipment with this number; carriers reuse numbers after a while.
            let shipment = shipments
                .into_iter()
                .next()
                .ok_or(StoreError::NotFound("shipment"))?;
            if let Some(eta) = t.estimated_delivery {
                store.set_estimated_delivery(&shipment.id, eta).await?;
            }
            for scan in t.scans {
                store.add_tracking_event(&shipment.id, scan).await?;
            }
        }
    }
    Ok(())
}

/// Applies a delivery's changes in order; an order and the shipments that follow it (a
/// Shopify order's fulfillments) go in one transaction. When that is all the delivery holds,
/// `delivery` is marked applied in the same transaction, and the answer is `true`.
pub async fn apply_all(
    store: &Store,
    changes: Vec<Change>,
    delivery: Option<(Platform, &str)>,
    actor: &Actor,
) -> Result<bool, StoreError> {
    let mut marked = false;
    let mut rest = changes.into_iter().peekable();
    while let Some(change) = rest.next() {
        match change {
            Change::Order(o) => {
                let mut shipments = Vec::new();
                while let Some(Change::Shipment(s)) = rest.peek() {
                    if s.source != o.source || s.order_external_id != o.external_id {
                        break;
                    }
                    if let Some(Change::Shipment(s)) = rest.next() {
                        shipments.push(s);
                    }
                }
                let mark = (rest.peek().is_none() && !marked)
                    .then_some(delivery)
                    .flatten();
                marked = marked || mark.is_some();
                store.apply_order_with(*o, shipments, mark, actor).await?;
            }
            other => apply(store, other, actor).await?,
        }
    }
    Ok(marked)
}

/// Applies stored deliveries (jobs of kind `webhook.apply`).
pub struct ApplyDelivery {
    store: Store,
}

impl ApplyDelivery {
    pub fn new(store: Store) -> Self {
        ApplyDelivery { store }
    }

    async fn run_job(&self, job: &Job, payload: payloads::WebhookApply) -> Result<(), JobError> {
        let payloads::WebhookApply {
            platform,
            delivery_id,
        } = payload;
        let d = self.store.delivery(platform, &delivery_id).await?;
        if d.state != DeliveryState::Pending {
            return Ok(());
        }
        let changes = match parse(platform, &d.topic, d.body.as_bytes(), d.shop.as_deref()) {
            Ok(Parsed::Ignored) => {
                self.store
                    .finish_delivery(platform, &delivery_id, DeliveryState::Ignored, None)
                    .await?;
                return Ok(());
            }
            Ok(Parsed::Changes(c)) => c,
            Err(Malformed(why)) => {
                tracing::warn!(%platform, %delivery_id, topic = %d.topic, %why, "a webhook delivery does not parse");
                self.store
                    .finish_delivery(platform, &delivery_id, DeliveryState::Malformed, Some(&why))
                    .await?;
                return Ok(());
            }
        };
        {
            let applied = apply_all(
                &self.store,
                changes,
                Some((platform, &delivery_id)),
                &Actor::System,
            )
            .await;
            if let Ok(true) = applied {
                return Ok(());
            }
            if let Err(e) = applied {
                let last = job.attempts >= job.max_attempts;
                let why = match &e {
                    StoreError::NotFound(what) => {
                        format!("the {what} it is about is not known yet")
                    }
                    other => other.to_string(),
                };
                let error = match e {
                    StoreError::NotFound(_) => JobError::Retry(why.clone()),
                    other => JobError::from(other),
                };
                let state = if last || error.is_permanent() {
                    DeliveryState::Failed
                } else {
                    DeliveryState::Pending
                };
                self.store
                    .finish_delivery(platform, &delivery_id, state, Some(&why))
                    .await?;
                return Err(error);
            }
        }
        self.store
            .finish_delivery(platform, &delivery_id, DeliveryState::Applied, None)
            .await?;
        Ok(())
    }
}

impl Handler for ApplyDelivery {
    type Payload = payloads::WebhookApply;

    fn run<'a>(
        &'a self,
        job: &'a Job,
        payload: payloads::WebhookApply,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        self.run_job(job, payload).boxed()
    }

    /// Deliveries may be applied in any order: each change is one transaction, and the
    /// platform's `updated_at` decides between two versions of a record.
    fn concurrent(&self) -> bool {
        true
    }
}
