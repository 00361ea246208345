//! Orders, line items, shipments and carrier scans: what the shop sold and where it is.

use crate::args::{bind_args, Args, Batch};
use crate::audit::{self, AuditEntry};
use crate::customers::{self, CustomerRef};
use crate::notices;
use crate::{lock_key, on_engine, on_tx, At, Cursor, Page, PageRequest, Store, StoreError, Tx};
use chrono::{DateTime, Duration, Utc};
use concierge_domain::access::Actor;
use concierge_domain::commerce::{
    is_late, Amount, Arrival, Currency, FinancialStatus, FulfillmentStatus, NoticeKind,
    OrderNumber, OrderStatus, Platform, Quantity, TrackingStatus,
};
use concierge_domain::ids::{
    CustomerId, LineItemId, OrderId, RefundId, ShipmentId, TrackingEventId,
};
use serde_json::json;
use sqlx::types::Json;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct NewLineItem {
    pub sku: Option<String>,
    pub title: String,
    pub quantity: Quantity,
    pub price: Amount,
}

/// An order as a store platform or API client reports it; upserted by `(source, external_id)`.
#[derive(Debug, Clone)]
pub struct OrderUpsert {
    pub source: String,
    pub external_id: String,
    pub number: OrderNumber,
    pub customer: CustomerRef,
    pub status: OrderStatus,
    pub financial_status: FinancialStatus,
    pub fulfillment_status: FulfillmentStatus,
    pub currency: Currency,
    pub total: Amount,
    pub placed_at: DateTime<Utc>,
    pub line_items: Vec<NewLineItem>,
    pub shipping_address: Option<serde_json::Value>,
    /// The platform's own time of this version of the order: an update older than the one
    /// stored is ignored (platforms deliver out of order). `None` always applies.
    pub source_updated_at: Option<DateTime<Utc>>,
    /// The shop on the platform the order came from (`example.myshopify.com`).
    pub shop: Option<String>,
}

/// What an upsert from a platform did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upserted<Id> {
    Created(Id),
    Updated(Id),
    /// The stored version is newer; nothing changed.
    Stale(Id),
}

impl<Id> Upserted<Id> {
    pub fn id(&self) -> &Id {
        match self {
            Upserted::Created(id) | Upserted::Updated(id) | Upserted::Stale(id) => id,
        }
    }
}

#[derive(Debug, Clone)]
pub struct LineItem {
    pub id: LineItemId,
    pub sku: Option<String>,
    pub title: String,
    pub quantity: i64,
    pub price: String,
}

#[derive(Debug, Clone)]
pub struct Order {
    pub id: OrderId,
    pub source: String,
    pub external_id: String,
    pub number: String,
    pub customer_id: CustomerId,
    pub status: OrderStatus,
    pub financial_status: FinancialStatus,
    pub fulfillment_status: FulfillmentStatus,
    pub currency: String,
    pub total: String,
    pub placed_at: DateTime<Utc>,
    pub shipping_address: Option<serde_json::Value>,
    /// What has been refunded so far, when anything has.
    pub refunded_total: Option<String>,
    pub shop: Option<String>,
    pub line_items: Vec<LineItem>,
    pub shipments: Vec<Shipment>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewShipment {
    pub carrier: String,
    pub tracking_number: String,
    pub tracking_url: Option<String>,
    pub status: TrackingStatus,
    pub estimated_delivery: Option<DateTime<Utc>>,
    /// Whether the shopper is told ("shipped"); not for history being loaded.
    pub announce: bool,
}

/// A shipment as a store platform reports it (a Shopify fulfillment), for the order the
/// platform knows by `order_external_id`; upserted by the platform's id for it.
#[derive(Debug, Clone)]
pub struct ShipmentUpsert {
    pub source: String,
    pub order_external_id: String,
    pub external_id: String,
    pub carrier: String,
    pub tracking_number: String,
    pub tracking_url: Option<String>,
    pub estimated_delivery: Option<DateTime<Utc>>,
    /// The carrier's latest word as the platform relays it, and when.
    pub scan: Option<(TrackingStatus, DateTime<Utc>)>,
    pub source_updated_at: Option<DateTime<Utc>>,
    pub announce: bool,
}

/// A refund as a store platform reports it.
#[derive(Debug, Clone)]
pub struct RefundUpsert {
    pub source: String,
    pub order_external_id: String,
    pub external_id: String,
    pub amount: Amount,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Shipment {
    pub id: ShipmentId,
    pub order_id: OrderId,
    /// The platform's id for it (a Shopify fulfillment id), when a platform sent it.
    pub external_id: Option<String>,
    /// The secret in the shopper's tracking link (`/track/{token}`).
    pub tracking_token: String,
    pub carrier: String,
    pub tracking_number: String,
    pub tracking_url: Option<String>,
    pub status: TrackingStatus,
    pub estimated_delivery: Option<DateTime<Utc>>,
    pub last_event_at: Option<DateTime<Utc>>,
    pub events: Vec<TrackingEvent>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Shipment {
    /// Where its arrival stands for the shopper (see [`Arrival::of`]): delivered at the
    /// carrier's first "delivered" scan, or expected while on its way.
    pub fn arrival(&self) -> Option<Arrival> {
        let delivered_at = self
            .events
            .iter()
            .filter(|e| e.status == TrackingStatus::Delivered)
            .map(|e| e.occurred_at)
            .min();
        Arrival::of(
            self.status,
            self.estimated_delivery,
            delivered_at,
            self.last_event_at.unwrap_or(self.updated_at),
        )
    }
}

#[derive(Debug, Clone)]
pub struct NewTrackingEvent {
    pub status: TrackingStatus,
    pub occurred_at: DateTime<Utc>,
    pub location: Option<String>,
    pub message: Option<String>,
    /// What makes this scan the same scan when a carrier or aggregator sends it again;
    /// `None` records every call.
    pub fingerprint: Option<String>,
    /// Whether the shopper is told when the scan moves the shipment (out for delivery,
    /// delivered, …); not for history being loaded.
    pub announce: bool,
}

#[derive(Debug, Clone)]
pub struct TrackingEvent {
    pub id: TrackingEventId,
    pub shipment_id: ShipmentId,
    pub status: TrackingStatus,
    pub occurred_at: DateTime<Utc>,
    pub location: Option<String>,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub number: Option<String>,
    pub customer_id: Option<CustomerId>,
}

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: String,
    source: String,
    external_id: String,
    number: String,
    customer_id: String,
    status: String,
    financial_status: String,
    fulfillment_status: String,
    currency: String,
    total: String,
    shipping_address: Option<Json<serde_json::Value>>,
    refunded_total: Option<String>,
    shop: Option<String>,
    placed_at: At,
    created_at: At,
    updated_at: At,
}

const ORDER_COLUMNS: &str =
    "id, source, external_id, number, customer_id, status, financial_status, fulfillment_status, \
    currency, total, shipping_address, refunded_total, shop, placed_at, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct LineItemRow {
    id: String,
    order_id: String,
    sku: Option<String>,
    title: String,
    quantity: i64,
    price: String,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ShipmentRow {
    id: String,
    order_id: String,
    external_id: Option<String>,
    tracking_token: Option<String>,
    carrier: String,
    tracking_number: String,
    tracking_url: Option<String>,
    status: String,
    estimated_delivery: Option<At>,
    last_event_at: Option<At>,
    created_at: At,
    updated_at: At,
}

pub(crate) const SHIPMENT_COLUMNS: &str =
    "id, order_id, external_id, tracking_token, carrier, tracking_number, tracking_url, status, estimated_delivery, last_event_at, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct EventRow {
    id: String,
    shipment_id: String,
    status: String,
    occurred_at: At,
    location: Option<String>,
    message: Option<String>,
    created_at: At,
}

const EVENT_COLUMNS: &str = "id, shipment_id, status, occurred_at, location, message, created_at";

fn corrupt(e: concierge_domain::Invalid) -> StoreError {
    StoreError::corrupt(e)
}

impl EventRow {
    fn into_event(self) -> Result<TrackingEvent, StoreError> {
        Ok(TrackingEvent {
            id: TrackingEventId::from_trusted(self.id),
            shipment_id: ShipmentId::from_trusted(self.shipment_id),
            status: TrackingStatus::parse(&self.status).map_err(corrupt)?,
            occurred_at: self.occurred_at.0,
            location: self.location,
            message: self.message,
            created_at: self.created_at.0,
        })
    }
}

impl ShipmentRow {
    pub(crate) fn into_shipment(self, events: Vec<TrackingEvent>) -> Result<Shipment, StoreError> {
        Ok(Shipment {
            tracking_token: self.tracking_token.unwrap_or_default(),
            id: ShipmentId::from_trusted(self.id),
            order_id: OrderId::from_trusted(self.order_id),
            external_id: self.external_id,
            carrier: self.carrier,
            tracking_number: self.tracking_number,
            tracking_url: self.tracking_url,
            status: TrackingStatus::parse(&self.status).map_err(corrupt)?,
            estimated_delivery: self.estimated_delivery.map(|t| t.0),
            last_event_at: self.last_event_at.map(|t| t.0),
            events,
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
        })
    }
}

impl Store {
    /// Queues a `late` notice for every shipment still on its way that, at `now`, has had no
    /// scan for `stall` or has passed its expected delivery (the domain's [`is_late`]).
    /// Each shipment is told once; returns how many were queued now.
    pub async fn queue_late_notices(
        &self,
        now: DateTime<Utc>,
        stall: Duration,
    ) -> Result<usize, StoreError> {
        let finals: Vec<&str> = [
            TrackingStatus::Delivered,
            TrackingStatus::Returned,
            TrackingStatus::Expired,
        ]
        .iter()
        .map(|s| s.as_str())
        .collect();
        let sql = format!(
            "SELECT {SHIPMENT_COLUMNS} FROM shipments s WHERE s.status NOT IN ($1, $2, $3) \
             AND (coalesce(s.last_event_at, s.created_at) <= $4 OR s.estimated_delivery < $5) \
             AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.shipment_id = s.id AND n.kind = 'late') \
             ORDER BY s.created_at LIMIT 500"
        );
        let mut queued = 0;
        loop {
            let rows: Vec<ShipmentRow> = on_engine!(self, |pool, pg| sqlx::query_as(&sql)
                .bind(finals[0])
                .bind(finals[1])
                .bind(finals[2])
                .bind(At(now - stall))
                .bind(At(now))
                .fetch_all(pool)
                .await?);
            let full = rows.len() == 500;
            let late: Vec<Shipment> = rows
                .into_iter()
                .map(|r| r.into_shipment(vec![]))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .filter(|s| {
                    is_late(
                        s.status,
                        s.created_at,
                        s.last_event_at,
                        s.estimated_delivery,
                        stall,
                        now,
                    )
                })
                .collect();
            if late.is_empty() {
                break;
            }
            let tx = self.begin().await?;
            let mut batch = Batch::default();
            let at = At::now();
            for s in &late {
                notices::queue(&mut batch, &s.id, NoticeKind::Late, at);
            }
            tx.commit_with(batch).await?;
            queued += late.len();
            if !full {
                break;
            }
        }
        Ok(queued)
    }

    /// Creates or updates an order by `(source, external_id)`, with its customer and line
    /// items, in one transaction. Returns the order and whether it was new.
    pub async fn upsert_order(
        &self,
        o: OrderUpsert,
        actor: &Actor,
    ) -> Result<(Order, bool), StoreError> {
        let done = self.apply_order(o, actor).await?;
        let created = matches!(done, Upserted::Created(_));
        Ok((self.order(done.id()).await?, created))
    }

    /// Creates or updates an order by `(source, external_id)` as a platform reports it, with
    /// its customer and line items, in one transaction, unless the stored version is newer
    /// (by `source_updated_at`).
    pub async fn apply_order(
        &self,
        o: OrderUpsert,
        actor: &Actor,
    ) -> Result<Upserted<OrderId>, StoreError> {
        self.apply_order_with(o, vec![], None, actor).await
    }

    /// [`Store::apply_order`] with the order's shipments (a Shopify order's fulfillments, a
    /// CSV row's tracking number), in the same transaction.
    /// `delivery` (platform, delivery id) is the webhook delivery this applies, marked
    /// applied in the same transaction.
    pub async fn apply_order_with(
        &self,
        o: OrderUpsert,
        shipments: Vec<ShipmentUpsert>,
        delivery: Option<(Platform, &str)>,
        actor: &Actor,
    ) -> Result<Upserted<OrderId>, StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let mut batch = Batch::default();
        let done = write_order(&mut tx, &mut batch, o, actor, now).await?;
        // A new order has no shipments yet: nothing to look up.
        let new_order = matches!(done, Upserted::Created(_));
        for s in shipments {
            write_shipment(&mut tx, &mut batch, done.id(), new_order, s, actor, now).await?;
        }
        if let Some((platform, id)) = delivery {
            crate::platforms::mark_applied(&mut batch, platform, id, now);
        }
        tx.commit_with(batch).await?;
        Ok(done)
    }
}

/// How many orders [`Store::apply_orders`] writes in one transaction at most.
const ORDERS_PER_TURN: usize = 16;

impl Store {
    /// [`Store::apply_order_with`] for many orders (an import), several to a transaction: the
    /// orders of one transaction are read one by one but written in one script, which saves
    /// a round trip to the database per order. Orders that share a shopper's handle, or are
    /// the same order, never share a transaction (the second would not see the first's
    /// writes). A transaction that fails is taken back and its orders applied one by one, so
    /// each answer is that order's own.
    pub async fn apply_orders(
        &self,
        orders: Vec<(OrderUpsert, Vec<ShipmentUpsert>)>,
        actor: &Actor,
    ) -> Vec<Result<Upserted<OrderId>, StoreError>> {
        let mut answers = Vec::with_capacity(orders.len());
        for turn in turns(orders) {
            match self.apply_turn(turn.clone(), actor).await {
                Ok(done) => answers.extend(done.into_iter().map(Ok)),
                Err(_) => {
                    for (o, shipments) in turn {
                        answers.push(self.apply_order_with(o, shipments, None, actor).await);
                    }
                }
            }
        }
        answers
    }

    async fn apply_turn(
        &self,
        orders: Vec<(OrderUpsert, Vec<ShipmentUpsert>)>,
        actor: &Actor,
    ) -> Result<Vec<Upserted<OrderId>>, StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let mut batch = Batch::default();
        let mut done = Vec::with_capacity(orders.len());
        for (o, shipments) in orders {
            let order = write_order(&mut tx, &mut batch, o, actor, now).await?;
            let new_order = matches!(order, Upserted::Created(_));
            for s in shipments {
                write_shipment(&mut tx, &mut batch, order.id(), new_order, s, actor, now).await?;
            }
            done.push(order);
        }
        tx.commit_with(batch).await?;
        Ok(done)
    }
}

/// Splits orders, in order, into transactions of at most [`ORDERS_PER_TURN`] in which no
/// two share a shopper's handle or an order id.
fn turns(
    orders: Vec<(OrderUpsert, Vec<ShipmentUpsert>)>,
) -> Vec<Vec<(OrderUpsert, Vec<ShipmentUpsert>)>> {
    let mut turns: Vec<Vec<(OrderUpsert, Vec<ShipmentUpsert>)>> = Vec::new();
    let mut taken = std::collections::HashSet::new();
    for (o, shipments) in orders {
        let mut claims: Vec<String> = customers::handle_keys(&o.customer)
            .unwrap_or_default()
            .into_iter()
            .map(|(kind, key)| format!("{kind}:{key}"))
            .collect();
        claims.push(format!("order:{}:{}", o.source, o.external_id));
        let full = turns.last().is_none_or(|t| t.len() >= ORDERS_PER_TURN);
        if full || claims.iter().any(|c| taken.contains(c)) {
            turns.push(Vec::new());
            taken.clear();
        }
        taken.extend(claims);
        turns
            .last_mut()
            .expect("a turn was just started")
            .push((o, shipments));
    }
    turns
}

async fn write_order(
    tx: &mut Tx,
    batch: &mut Batch,
    o: OrderUpsert,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Upserted<OrderId>, StoreError> {
    {
        lock_key(tx, &format!("order:{}:{}", o.source, o.external_id)).await?;
        // One round trip finds the order and the owners of its customer's handles.
        let keys = customers::handle_keys(&o.customer)?;
        let mut args = Args::default();
        let (p_source, p_external) = (args.text(&o.source), args.text(&o.external_id));
        let owners = customers::owners_join(&keys, &mut args);
        let sql = format!(
            "SELECT o.id, o.source_updated_at, i.kind, i.value, c.id, c.name, c.email, c.phone \
             FROM (SELECT 1 AS one) AS here \
             LEFT JOIN orders o ON o.source = {p_source} AND o.external_id = {p_external} {owners}"
        );
        type Row = (
            Option<String>,
            Option<At>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = on_tx!(read tx, |conn, pg| bind_args!(sqlx::query_as(&sql), args)
            .fetch_all(conn)
            .await?);
        let existing = rows.first().and_then(|r| r.0.clone().map(|id| (id, r.1)));
        if let Some((id, Some(stored))) = &existing {
            if o.source_updated_at.is_some_and(|t| t < stored.0) {
                return Ok(Upserted::Stale(OrderId::from_trusted(id.clone())));
            }
        }
        let owners: Vec<customers::FoundRow> = rows
            .into_iter()
            .filter_map(|r| Some((r.2?, r.3?, r.4?, r.5, r.6, r.7)))
            .collect();
        let customer_id = customers::resolve_found(tx, &o.customer, &keys, owners, now, batch)
            .await?
            .id;
        let created = existing.is_none();
        let id = existing.map_or_else(|| OrderId::generate().into_string(), |(id, _)| id);
        batch
            .add(
                "INSERT INTO orders (id, source, external_id, number, customer_id, status, financial_status, fulfillment_status, \
                 currency, total, shipping_address, placed_at, created_at, updated_at, source_updated_at, shop) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $15) \
                 ON CONFLICT (source, external_id) DO UPDATE SET number = excluded.number, customer_id = excluded.customer_id, \
                 status = excluded.status, financial_status = excluded.financial_status, \
                 fulfillment_status = excluded.fulfillment_status, currency = excluded.currency, total = excluded.total, \
                 shipping_address = excluded.shipping_address, placed_at = excluded.placed_at, updated_at = excluded.updated_at, \
                 source_updated_at = coalesce(excluded.source_updated_at, orders.source_updated_at), \
                 shop = coalesce(excluded.shop, orders.shop)",
            )
            .text(id.as_str())
            .text(o.source.as_str())
            .text(o.external_id.as_str())
            .text(o.number.as_str())
            .text(customer_id.as_str())
            .text(o.status.as_str())
            .text(o.financial_status.as_str())
            .text(o.fulfillment_status.as_str())
            .text(o.currency.as_str())
            .text(o.total.to_string())
            .json_opt(o.shipping_address.clone())
            .time(o.placed_at)
            .time(now)
            .opt_time(o.source_updated_at)
            .opt_text(o.shop.as_deref());
        // Line items are replaced whole: the platform's latest view of the order wins.
        batch
            .add("DELETE FROM line_items WHERE order_id = $1")
            .text(id.as_str());
        for (position, item) in o.line_items.iter().enumerate() {
            batch
                .add(
                    "INSERT INTO line_items (id, order_id, position, sku, title, quantity, price) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .text(LineItemId::generate().as_str())
                .text(id.as_str())
                .int(position as i64)
                .opt_text(item.sku.as_deref())
                .text(item.title.as_str())
                .int(i64::from(item.quantity.get()))
                .text(item.price.to_string());
        }
        let action = if created {
            "order.created"
        } else {
            "order.updated"
        };
        audit::record(
            batch,
            AuditEntry::new(
                actor,
                action,
                "order",
                &id,
                json!({ "source": o.source, "number": o.number.as_str() }),
            ),
            now,
        );
        let id = OrderId::from_trusted(id);
        Ok(if created {
            Upserted::Created(id)
        } else {
            Upserted::Updated(id)
        })
    }
}

impl Store {
    pub async fn order(&self, id: &OrderId) -> Result<Order, StoreError> {
        let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1");
        let row: Option<OrderRow> = on_engine!(self, |pool, pg| sqlx::query_as(&sql)
            .bind(id.as_str())
            .fetch_optional(pool)
            .await?);
        let row = row.ok_or(StoreError::NotFound("order"))?;
        let mut orders = self.complete_orders(vec![row]).await?;
        orders.pop().ok_or(StoreError::NotFound("order"))
    }

    /// Orders, newest placed first.
    pub async fn orders(
        &self,
        filter: &OrderFilter,
        page: &PageRequest,
    ) -> Result<Page<Order>, StoreError> {
        let limit = page.limit();
        let mut args = Args::default();
        let mut sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE 1 = 1");
        if let Some(n) = &filter.number {
            // Shoppers write "1042" for "#1042"; accept both.
            let bare = n.trim().trim_start_matches('#').to_owned();
            let a = args.text(bare.clone());
            let b = args.text(format!("#{bare}"));
            sql += &format!(" AND number IN ({a}, {b})");
        }
        if let Some(c) = &filter.customer_id {
            sql += &format!(" AND customer_id = {}", args.text(c.as_str()));
        }
        match &page.cursor {
            Some(Cursor::After { micros, id }) => {
                let t = args.time(At(
                    DateTime::from_timestamp_micros(*micros).unwrap_or_default()
                ));
                let i = args.text(id.as_str());
                sql += &format!(" AND (placed_at < {t} OR (placed_at = {t} AND id < {i}))");
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
            " ORDER BY placed_at DESC, id DESC LIMIT {}",
            args.int(i64::from(limit) + 1)
        );
        let rows: Vec<OrderRow> =
            on_engine!(self, |pool, pg| bind_args!(sqlx::query_as(&sql), args)
                .fetch_all(pool)
                .await?);
        let orders = self.complete_orders(rows).await?;
        Ok(Page::from_rows(orders, limit, |o: &Order| Cursor::After {
            micros: o.placed_at.timestamp_micros(),
            id: o.id.to_string(),
        }))
    }

    /// Adds line items and shipments (with their scans) to order rows, in three queries.
    async fn complete_orders(&self, rows: Vec<OrderRow>) -> Result<Vec<Order>, StoreError> {
        if rows.is_empty() {
            return Ok(vec![]);
        }
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let mut args = Args::default();
        let sql = format!(
            "SELECT id, order_id, sku, title, quantity, price FROM line_items WHERE order_id IN ({}) ORDER BY order_id, position",
            args.texts(ids.iter().copied())
        );
        let items: Vec<LineItemRow> =
            on_engine!(self, |pool, pg| bind_args!(sqlx::query_as(&sql), args)
                .fetch_all(pool)
                .await?);
        let mut items_by_order: HashMap<String, Vec<LineItem>> = HashMap::new();
        for i in items {
            items_by_order
                .entry(i.order_id)
                .or_default()
                .push(LineItem {
                    id: LineItemId::from_trusted(i.id),
                    sku: i.sku,
                    title: i.title,
                    quantity: i.quantity,
                    price: i.price,
                });
        }
        let mut shipments_by_order = self.shipments_of(&ids).await?;
        rows.into_iter()
            .map(|r| {
                Ok(Order {
                    line_items: items_by_order.remove(&r.id).unwrap_or_default(),
                    shipments: shipments_by_order.remove(&r.id).unwrap_or_default(),
                    id: OrderId::from_trusted(r.id),
                    source: r.source,
                    external_id: r.external_id,
                    number: r.number,
                    customer_id: CustomerId::from_trusted(r.customer_id),
                    status: OrderStatus::parse(&r.status).map_err(corrupt)?,
                    financial_status: FinancialStatus::parse(&r.financial_status)
                        .map_err(corrupt)?,
                    fulfillment_status: FulfillmentStatus::parse(&r.fulfillment_status)
                        .map_err(corrupt)?,
                    currency: r.currency,
                    total: r.total,
                    placed_at: r.placed_at.0,
                    shipping_address: r.shipping_address.map(|j| j.0),
                    refunded_total: r.refunded_total,
                    shop: r.shop,
                    created_at: r.created_at.0,
                    updated_at: r.updated_at.0,
                })
            })
            .collect()
    }

    async fn shipments_of(
        &self,
        order_ids: &[&str],
    ) -> Result<HashMap<String, Vec<Shipment>>, StoreError> {
        let mut args = Args::default();
        let sql = format!(
            "SELECT {SHIPMENT_COLUMNS} FROM shipments WHERE order_id IN ({}) ORDER BY created_at, id",
            args.texts(order_ids.iter().copied())
        );
        let rows: Vec<ShipmentRow> =
            on_engine!(self, |pool, pg| bind_args!(sqlx::query_as(&sql), args)
                .fetch_all(pool)
                .await?);
        let shipment_ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let mut events = self.events_of(&shipment_ids).await?;
        let mut out: HashMap<String, Vec<Shipment>> = HashMap::new();
        for r in rows {
            let e = events.remove(&r.id).unwrap_or_default();
            let order_id = r.order_id.clone();
            out.entry(order_id).or_default().push(r.into_shipment(e)?);
        }
        Ok(out)
    }

    async fn events_of(
        &self,
        shipment_ids: &[&str],
    ) -> Result<HashMap<String, Vec<TrackingEvent>>, StoreError> {
        let mut out: HashMap<String, Vec<TrackingEvent>> = HashMap::new();
        if shipment_ids.is_empty() {
            return Ok(out);
        }
        let mut args = Args::default();
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM tracking_events WHERE shipment_id IN ({}) ORDER BY occurred_at, id",
            args.texts(shipment_ids.iter().copied())
        );
        let rows: Vec<EventRow> =
            on_engine!(self, |pool, pg| bind_args!(sqlx::query_as(&sql), args)
                .fetch_all(pool)
                .await?);
        for r in rows {
            let sid = r.shipment_id.clone();
            out.entry(sid).or_default().push(r.into_event()?);
        }
        Ok(out)
    }

    pub async fn add_shipment(
        &self,
        order_id: &OrderId,
        s: NewShipment,
        actor: &Actor,
    ) -> Result<Shipment, StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let exists: Option<String> = on_tx!(read &mut tx, |conn, pg| {
            sqlx::query_scalar("SELECT id FROM orders WHERE id = $1")
                .bind(order_id.as_str())
                .fetch_optional(conn)
                .await?
        });
        if exists.is_none() {
            return Err(StoreError::NotFound("order"));
        }
        let id = ShipmentId::generate();
        let mut batch = Batch::default();
        insert_shipment(
            &mut batch,
            &id,
            order_id,
            None,
            &s.carrier,
            &s.tracking_number,
            s.tracking_url.as_deref(),
            s.status,
            s.estimated_delivery,
            None,
            now,
        );
        if s.announce {
            notices::queue(&mut batch, &id, NoticeKind::Shipped, now);
            if let Some(kind) = NoticeKind::for_status(s.status) {
                notices::queue(&mut batch, &id, kind, now);
            }
        }
        audit::record(
            &mut batch,
            AuditEntry::new(
                actor,
                "shipment.created",
                "shipment",
                id.as_str(),
                json!({ "order_id": order_id.as_str(), "carrier": s.carrier }),
            ),
            now,
        );
        tx.commit_with(batch).await?;
        self.shipment(&id).await
    }

    /// Creates or updates a shipment as a platform reports it (a Shopify fulfillment), by
    /// the platform's id for it, and records the carrier status it relays as a scan. The
    /// order must be known already ([`StoreError::NotFound`] otherwise: its own delivery may
    /// still be on the way, so the caller tries again later).
    pub async fn apply_shipment(
        &self,
        s: ShipmentUpsert,
        actor: &Actor,
    ) -> Result<Upserted<ShipmentId>, StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let order_id = order_by_external(&mut tx, &s.source, &s.order_external_id).await?;
        let mut batch = Batch::default();
        let outcome = write_shipment(&mut tx, &mut batch, &order_id, false, s, actor, now).await?;
        tx.commit_with(batch).await?;
        Ok(outcome)
    }
}

/// Creates or updates one shipment of `order_id` by the platform's id for it, inside the
/// caller's transaction (see [`Store::apply_shipment`]). `new_order`: the order is being
/// created in this transaction, so none of its shipments exists yet.
#[allow(clippy::too_many_arguments)]
async fn write_shipment(
    tx: &mut Tx,
    batch: &mut Batch,
    order_id: &OrderId,
    new_order: bool,
    s: ShipmentUpsert,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Upserted<ShipmentId>, StoreError> {
    {
        let found: Option<(String, String, Option<At>, Option<At>)> = if new_order {
            None
        } else {
            lock_key(tx, &format!("shipment:{}:{}", order_id, s.external_id)).await?;
            let lock = if tx.is_postgres() { " FOR UPDATE" } else { "" };
            let sql = format!(
                "SELECT id, status, last_event_at, source_updated_at FROM shipments WHERE order_id = $1 AND external_id = $2{lock}"
            );
            on_tx!(read tx, |conn, pg| sqlx::query_as(&sql)
                .bind(order_id.as_str())
                .bind(&s.external_id)
                .fetch_optional(conn)
                .await?)
        };
        let outcome = match found {
            None => {
                let id = ShipmentId::generate();
                let status = s.scan.map_or(TrackingStatus::InfoReceived, |(st, _)| st);
                insert_shipment(
                    batch,
                    &id,
                    order_id,
                    Some(&s.external_id),
                    &s.carrier,
                    &s.tracking_number,
                    s.tracking_url.as_deref(),
                    status,
                    s.estimated_delivery,
                    s.source_updated_at,
                    now,
                );
                if let Some((st, at)) = s.scan {
                    let scan = relayed_scan(&s, st, at);
                    insert_event(batch, &TrackingEventId::generate(), &id, &scan, now);
                    batch
                        .add("UPDATE shipments SET last_event_at = $2 WHERE id = $1")
                        .text(id.as_str())
                        .time(at);
                }
                if s.announce {
                    notices::queue(batch, &id, NoticeKind::Shipped, now);
                    if let Some(kind) = NoticeKind::for_status(status) {
                        notices::queue(batch, &id, kind, now);
                    }
                }
                audit::record(
                    batch,
                    AuditEntry::new(
                        actor,
                        "shipment.created",
                        "shipment",
                        id.as_str(),
                        json!({ "order_id": order_id.as_str(), "carrier": s.carrier, "source": s.source }),
                    ),
                    now,
                );
                Upserted::Created(id)
            }
            Some((id, _, _, Some(stored))) if s.source_updated_at.is_some_and(|t| t < stored.0) => {
                Upserted::Stale(ShipmentId::from_trusted(id))
            }
            Some((id, status, last_event_at, _)) => {
                let id = ShipmentId::from_trusted(id);
                batch
                    .add(
                        "UPDATE shipments SET carrier = $2, tracking_number = $3, tracking_url = $4, \
                         estimated_delivery = coalesce($5, estimated_delivery), \
                         source_updated_at = coalesce($6, source_updated_at), updated_at = $7 WHERE id = $1",
                    )
                    .text(id.as_str())
                    .text(s.carrier.as_str())
                    .text(s.tracking_number.as_str())
                    .opt_text(s.tracking_url.as_deref())
                    .opt_time(s.estimated_delivery)
                    .opt_time(s.source_updated_at)
                    .time(now);
                if let Some((st, at)) = s.scan {
                    let current = TrackingStatus::parse(&status).map_err(corrupt)?;
                    let scan = relayed_scan(&s, st, at);
                    let last = last_event_at.map(|t| t.0);
                    record_scan(tx, batch, &id, current, last, &scan, now).await?;
                }
                Upserted::Updated(id)
            }
        };
        Ok(outcome)
    }
}

impl Store {
    /// Records a refund of an order a platform knows by `order_external_id` (once per
    /// refund id) and keeps the order's refunded total.
    pub async fn apply_refund(&self, r: RefundUpsert) -> Result<OrderId, StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let order_id = order_by_external(&mut tx, &r.source, &r.order_external_id).await?;
        lock_key(&mut tx, &format!("refunds:{order_id}")).await?;
        let known: Vec<(String, String)> = on_tx!(read &mut tx, |conn, pg| {
            sqlx::query_as("SELECT external_id, amount FROM refunds WHERE order_id = $1")
                .bind(order_id.as_str())
                .fetch_all(conn)
                .await?
        });
        if known.iter().any(|(e, _)| *e == r.external_id) {
            return Ok(order_id);
        }
        let mut total = r.amount;
        for (_, amount) in &known {
            let a = Amount::parse(amount).map_err(corrupt)?;
            total = total.checked_add(a).ok_or_else(|| {
                StoreError::conflict("amount", "the refunds add up to more than can be counted")
            })?;
        }
        let mut batch = Batch::default();
        batch
            .add(
                "INSERT INTO refunds (id, order_id, external_id, amount, note, created_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (order_id, external_id) DO NOTHING",
            )
            .text(RefundId::generate().as_str())
            .text(order_id.as_str())
            .text(r.external_id.as_str())
            .text(r.amount.to_string())
            .opt_text(r.note.as_deref())
            .time(r.created_at);
        batch
            .add("UPDATE orders SET refunded_total = $2, updated_at = $3 WHERE id = $1")
            .text(order_id.as_str())
            .text(total.to_string())
            .time(now);
        tx.commit_with(batch).await?;
        Ok(order_id)
    }

    pub async fn shipment(&self, id: &ShipmentId) -> Result<Shipment, StoreError> {
        let sql = format!("SELECT {SHIPMENT_COLUMNS} FROM shipments WHERE id = $1");
        let row: Option<ShipmentRow> = on_engine!(self, |pool, pg| sqlx::query_as(&sql)
            .bind(id.as_str())
            .fetch_optional(pool)
            .await?);
        let row = row.ok_or(StoreError::NotFound("shipment"))?;
        let mut events = self.events_of(&[row.id.as_str()]).await?;
        let e = events.remove(id.as_str()).unwrap_or_default();
        row.into_shipment(e)
    }

    /// Records a carrier scan and moves the shipment's status by the domain's rules (a late,
    /// older scan never moves it back). A scan with a fingerprint already recorded is not
    /// recorded again; the one recorded is returned.
    pub async fn add_tracking_event(
        &self,
        shipment_id: &ShipmentId,
        e: NewTrackingEvent,
    ) -> Result<TrackingEvent, StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let lock = if tx.is_postgres() { " FOR UPDATE" } else { "" };
        let sql = format!("SELECT status, last_event_at FROM shipments WHERE id = $1{lock}");
        let current: Option<(String, Option<At>)> = on_tx!(read &mut tx, |conn, pg| sqlx::query_as(&sql)
                .bind(shipment_id.as_str())
                .fetch_optional(conn)
                .await?);
        let (status, last_event_at) = current.ok_or(StoreError::NotFound("shipment"))?;
        let status = TrackingStatus::parse(&status).map_err(corrupt)?;
        let mut batch = Batch::default();
        let recorded = record_scan(
            &mut tx,
            &mut batch,
            shipment_id,
            status,
            last_event_at.map(|t| t.0),
            &e,
            now,
        )
        .await?;
        tx.commit_with(batch).await?;
        match recorded {
            Some(id) => Ok(TrackingEvent {
                id,
                shipment_id: shipment_id.clone(),
                status: e.status,
                occurred_at: e.occurred_at,
                location: e.location,
                message: e.message,
                created_at: now,
            }),
            None => {
                let sql = format!(
                    "SELECT {EVENT_COLUMNS} FROM tracking_events WHERE shipment_id = $1 AND fingerprint = $2"
                );
                let row: EventRow = on_engine!(self, |pool, pg| sqlx::query_as(&sql)
                    .bind(shipment_id.as_str())
                    .bind(e.fingerprint.as_deref())
                    .fetch_one(pool)
                    .await?);
                row.into_event()
            }
        }
    }

    /// Sets when a shipment is expected (a carrier's or aggregator's estimate).
    pub async fn set_estimated_delivery(
        &self,
        shipment: &ShipmentId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tx = self.begin().await?;
        let mut batch = Batch::default();
        batch
            .add("UPDATE shipments SET estimated_delivery = $2, updated_at = $3 WHERE id = $1")
            .text(shipment.as_str())
            .time(at)
            .time(At::now());
        tx.commit_with(batch).await
    }

    /// Shipments with this tracking number (usually one; carriers reuse numbers after years).
    pub async fn shipments_by_tracking_number(
        &self,
        number: &str,
    ) -> Result<Vec<Shipment>, StoreError> {
        let sql = format!(
            "SELECT {SHIPMENT_COLUMNS} FROM shipments WHERE tracking_number = $1 ORDER BY created_at DESC, id DESC LIMIT 10"
        );
        let rows: Vec<ShipmentRow> = on_engine!(self, |pool, pg| sqlx::query_as(&sql)
            .bind(number)
            .fetch_all(pool)
            .await?);
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let mut events = self.events_of(&ids).await?;
        rows.into_iter()
            .map(|r| {
                let e = events.remove(&r.id).unwrap_or_default();
                r.into_shipment(e)
            })
            .collect()
    }

    /// The shipment behind a tracking link, with its order.
    pub async fn shipment_by_token(&self, token: &str) -> Result<(Shipment, Order), StoreError> {
        let id: Option<String> = on_engine!(self, |pool, pg| sqlx::query_scalar(
            "SELECT id FROM shipments WHERE tracking_token = $1"
        )
        .bind(token)
        .fetch_optional(pool)
        .await?);
        let shipment = self
            .shipment(&ShipmentId::from_trusted(
                id.ok_or(StoreError::NotFound("shipment"))?,
            ))
            .await?;
        let order = self.order(&shipment.order_id).await?;
        Ok((shipment, order))
    }
}

/// The order a platform knows by `external_id`; [`StoreError::NotFound`] when it has not
/// arrived yet.
async fn order_by_external(
    tx: &mut Tx,
    source: &str,
    external_id: &str,
) -> Result<OrderId, StoreError> {
    let order: Option<String> = on_tx!(read tx, |conn, pg| {
        sqlx::query_scalar("SELECT id FROM orders WHERE source = $1 AND external_id = $2")
            .bind(source)
            .bind(external_id)
            .fetch_optional(conn)
            .await?
    });
    Ok(OrderId::from_trusted(
        order.ok_or(StoreError::NotFound("order"))?,
    ))
}

/// The carrier status a platform relays on a shipment, as a scan recognised when relayed
/// again.
fn relayed_scan(s: &ShipmentUpsert, status: TrackingStatus, at: DateTime<Utc>) -> NewTrackingEvent {
    NewTrackingEvent {
        status,
        occurred_at: at,
        location: None,
        message: None,
        fingerprint: Some(format!("{}:{}:{}", s.source, status, at.timestamp_micros())),
        announce: s.announce,
    }
}

#[allow(clippy::too_many_arguments)]
fn insert_shipment(
    batch: &mut Batch,
    id: &ShipmentId,
    order_id: &OrderId,
    external_id: Option<&str>,
    carrier: &str,
    tracking_number: &str,
    tracking_url: Option<&str>,
    status: TrackingStatus,
    estimated_delivery: Option<DateTime<Utc>>,
    source_updated_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) {
    batch
        .add(
            "INSERT INTO shipments (id, order_id, external_id, tracking_token, carrier, tracking_number, tracking_url, status, \
             estimated_delivery, source_updated_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        )
        .text(id.as_str())
        .text(order_id.as_str())
        .opt_text(external_id)
        .text(crate::secret_token())
        .text(carrier)
        .text(tracking_number)
        .opt_text(tracking_url)
        .text(status.as_str())
        .opt_time(estimated_delivery)
        .opt_time(source_updated_at)
        .time(now);
}

/// Adds a scan to `batch` unless its fingerprint is already recorded, moves the shipment's
/// status, and queues the notice the move calls for. Returns the new scan's id, or `None`
/// for a repeat.
async fn record_scan(
    tx: &mut Tx,
    batch: &mut Batch,
    shipment_id: &ShipmentId,
    current: TrackingStatus,
    last: Option<DateTime<Utc>>,
    e: &NewTrackingEvent,
    now: DateTime<Utc>,
) -> Result<Option<TrackingEventId>, StoreError> {
    if let Some(f) = &e.fingerprint {
        let seen: i64 = on_tx!(read tx, |conn, pg| sqlx::query_scalar(
            "SELECT count(*) FROM tracking_events WHERE shipment_id = $1 AND fingerprint = $2"
        )
        .bind(shipment_id.as_str())
        .bind(f)
        .fetch_one(conn)
        .await?);
        if seen > 0 {
            return Ok(None);
        }
    }
    let next = TrackingStatus::after_scan(current, last, e.status, e.occurred_at);
    let newest = last.map_or(e.occurred_at, |l| l.max(e.occurred_at));
    let id = TrackingEventId::generate();
    insert_event(batch, &id, shipment_id, e, now);
    batch
        .add("UPDATE shipments SET status = $2, last_event_at = $3, updated_at = $4 WHERE id = $1")
        .text(shipment_id.as_str())
        .text(next.as_str())
        .time(newest)
        .time(now);
    if e.announce && next != current {
        if let Some(kind) = NoticeKind::for_status(next) {
            notices::queue(batch, shipment_id, kind, now);
        }
    }
    Ok(Some(id))
}

fn insert_event(
    batch: &mut Batch,
    id: &TrackingEventId,
    shipment_id: &ShipmentId,
    e: &NewTrackingEvent,
    now: DateTime<Utc>,
) {
    batch
        .add(
            "INSERT INTO tracking_events (id, shipment_id, status, occurred_at, location, message, fingerprint, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .text(id.as_str())
        .text(shipment_id.as_str())
        .text(e.status.as_str())
        .time(e.occurred_at)
        .opt_text(e.location.as_deref())
        .opt_text(e.message.as_deref())
        .opt_text(e.fingerprint.as_deref())
        .time(now);
}
