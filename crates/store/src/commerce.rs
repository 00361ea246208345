//! Orders, line items, shipments and carrier scans: what the shop sold and where it is.

use crate::args::{bind_args, Args, Batch};
use crate::audit::{self, AuditEntry};
use crate::customers::{self, CustomerRef};
use crate::{on_engine, on_tx, At, Cursor, Page, PageRequest, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use concierge_domain::access::Actor;
use concierge_domain::commerce::{
    Amount, Currency, FinancialStatus, FulfillmentStatus, OrderNumber, OrderStatus, Quantity,
    TrackingStatus,
};
use concierge_domain::ids::{CustomerId, LineItemId, OrderId, ShipmentId, TrackingEventId};
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
}

#[derive(Debug, Clone)]
pub struct Shipment {
    pub id: ShipmentId,
    pub order_id: OrderId,
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

#[derive(Debug, Clone)]
pub struct NewTrackingEvent {
    pub status: TrackingStatus,
    pub occurred_at: DateTime<Utc>,
    pub location: Option<String>,
    pub message: Option<String>,
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
    placed_at: At,
    created_at: At,
    updated_at: At,
}

const ORDER_COLUMNS: &str =
    "id, source, external_id, number, customer_id, status, financial_status, fulfillment_status, \
    currency, total, shipping_address, placed_at, created_at, updated_at";

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
struct ShipmentRow {
    id: String,
    order_id: String,
    carrier: String,
    tracking_number: String,
    tracking_url: Option<String>,
    status: String,
    estimated_delivery: Option<At>,
    last_event_at: Option<At>,
    created_at: At,
    updated_at: At,
}

const SHIPMENT_COLUMNS: &str =
    "id, order_id, carrier, tracking_number, tracking_url, status, estimated_delivery, last_event_at, created_at, updated_at";

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
    fn into_shipment(self, events: Vec<TrackingEvent>) -> Result<Shipment, StoreError> {
        Ok(Shipment {
            id: ShipmentId::from_trusted(self.id),
            order_id: OrderId::from_trusted(self.order_id),
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
    /// Creates or updates an order by `(source, external_id)`, with its customer and line
    /// items, in one transaction. Returns the order and whether it was new.
    pub async fn upsert_order(
        &self,
        o: OrderUpsert,
        actor: &Actor,
    ) -> Result<(Order, bool), StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let mut later = Batch::default();
        let customer_id = customers::resolve(&mut tx, &o.customer, now, &mut later)
            .await?
            .id;
        later.run(&mut tx).await?;
        let existing: Option<String> = on_tx!(&mut tx, |conn, pg| {
            sqlx::query_scalar("SELECT id FROM orders WHERE source = $1 AND external_id = $2")
                .bind(&o.source)
                .bind(&o.external_id)
                .fetch_optional(conn)
                .await?
        });
        let created = existing.is_none();
        let id = existing.unwrap_or_else(|| OrderId::generate().into_string());
        let address = o.shipping_address.as_ref().map(Json);
        on_tx!(&mut tx, |conn, pg| {
            sqlx::query(
                "INSERT INTO orders (id, source, external_id, number, customer_id, status, financial_status, fulfillment_status, \
                 currency, total, shipping_address, placed_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) \
                 ON CONFLICT (source, external_id) DO UPDATE SET number = excluded.number, customer_id = excluded.customer_id, \
                 status = excluded.status, financial_status = excluded.financial_status, \
                 fulfillment_status = excluded.fulfillment_status, currency = excluded.currency, total = excluded.total, \
                 shipping_address = excluded.shipping_address, placed_at = excluded.placed_at, updated_at = excluded.updated_at",
            )
            .bind(&id)
            .bind(&o.source)
            .bind(&o.external_id)
            .bind(o.number.as_str())
            .bind(customer_id.as_str())
            .bind(o.status.as_str())
            .bind(o.financial_status.as_str())
            .bind(o.fulfillment_status.as_str())
            .bind(o.currency.as_str())
            .bind(o.total.to_string())
            .bind(address)
            .bind(At(o.placed_at))
            .bind(At(now))
            .execute(conn)
            .await?.rows_affected()
        });
        // Line items are replaced whole: the platform's latest view of the order wins.
        on_tx!(&mut tx, |conn, pg| sqlx::query(
            "DELETE FROM line_items WHERE order_id = $1"
        )
        .bind(&id)
        .execute(conn)
        .await?
        .rows_affected());
        for (position, item) in o.line_items.iter().enumerate() {
            on_tx!(&mut tx, |conn, pg| {
                sqlx::query(
                    "INSERT INTO line_items (id, order_id, position, sku, title, quantity, price) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(LineItemId::generate().as_str())
                .bind(&id)
                .bind(position as i64)
                .bind(item.sku.as_deref())
                .bind(&item.title)
                .bind(i64::from(item.quantity.get()))
                .bind(item.price.to_string())
                .execute(conn)
                .await?.rows_affected()
            });
        }
        let action = if created {
            "order.created"
        } else {
            "order.updated"
        };
        audit::write(
            &mut tx,
            AuditEntry::new(
                actor,
                action,
                "order",
                &id,
                json!({ "source": o.source, "number": o.number.as_str() }),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        let order = self.order(&OrderId::from_trusted(id)).await?;
        Ok((order, created))
    }

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
        let exists: Option<String> = on_tx!(&mut tx, |conn, pg| {
            sqlx::query_scalar("SELECT id FROM orders WHERE id = $1")
                .bind(order_id.as_str())
                .fetch_optional(conn)
                .await?
        });
        if exists.is_none() {
            return Err(StoreError::NotFound("order"));
        }
        let id = ShipmentId::generate();
        on_tx!(&mut tx, |conn, pg| {
            sqlx::query(
                "INSERT INTO shipments (id, order_id, carrier, tracking_number, tracking_url, status, estimated_delivery, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            )
            .bind(id.as_str())
            .bind(order_id.as_str())
            .bind(&s.carrier)
            .bind(&s.tracking_number)
            .bind(s.tracking_url.as_deref())
            .bind(s.status.as_str())
            .bind(s.estimated_delivery.map(At))
            .bind(At(now))
            .execute(conn)
            .await?.rows_affected()
        });
        audit::write(
            &mut tx,
            AuditEntry::new(
                actor,
                "shipment.created",
                "shipment",
                id.as_str(),
                json!({ "order_id": order_id.as_str(), "carrier": s.carrier }),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.shipment(&id).await
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
    /// older scan never moves it back).
    pub async fn add_tracking_event(
        &self,
        shipment_id: &ShipmentId,
        e: NewTrackingEvent,
    ) -> Result<TrackingEvent, StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let lock = if tx.is_postgres() { " FOR UPDATE" } else { "" };
        let sql = format!("SELECT status, last_event_at FROM shipments WHERE id = $1{lock}");
        let current: Option<(String, Option<At>)> =
            on_tx!(&mut tx, |conn, pg| sqlx::query_as(&sql)
                .bind(shipment_id.as_str())
                .fetch_optional(conn)
                .await?);
        let (status, last_event_at) = current.ok_or(StoreError::NotFound("shipment"))?;
        let status = TrackingStatus::parse(&status).map_err(corrupt)?;
        let last = last_event_at.map(|t| t.0);
        let next = TrackingStatus::after_scan(status, last, e.status, e.occurred_at);
        let newest = Some(last.map_or(e.occurred_at, |l| l.max(e.occurred_at)));
        let id = TrackingEventId::generate();
        insert_event(&mut tx, &id, shipment_id, &e, now).await?;
        on_tx!(&mut tx, |conn, pg| {
            sqlx::query("UPDATE shipments SET status = $2, last_event_at = $3, updated_at = $4 WHERE id = $1")
                .bind(shipment_id.as_str())
                .bind(next.as_str())
                .bind(newest.map(At))
                .bind(At(now))
                .execute(conn)
                .await?.rows_affected()
        });
        tx.commit().await?;
        Ok(TrackingEvent {
            id,
            shipment_id: shipment_id.clone(),
            status: e.status,
            occurred_at: e.occurred_at,
            location: e.location,
            message: e.message,
            created_at: now,
        })
    }
}

async fn insert_event(
    tx: &mut Tx,
    id: &TrackingEventId,
    shipment_id: &ShipmentId,
    e: &NewTrackingEvent,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    on_tx!(tx, |conn, pg| {
        sqlx::query(
            "INSERT INTO tracking_events (id, shipment_id, status, occurred_at, location, message, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.as_str())
        .bind(shipment_id.as_str())
        .bind(e.status.as_str())
        .bind(At(e.occurred_at))
        .bind(e.location.as_deref())
        .bind(e.message.as_deref())
        .bind(At(now))
        .execute(conn)
        .await?.rows_affected()
    });
    Ok(())
}
