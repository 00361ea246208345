//! `/api/v1/orders` and `/api/v1/shipments`: orders upserted by any platform, their
//! shipments and the carriers' scans.

use super::conversations::path_id;
use super::{non_blank, page};
use crate::auth::Caller;
use crate::error::{parse, ApiError};
use crate::extract::{Json, Query};
use crate::wire::{
    CreateShipment, CreateTrackingEvent, List, OrderOut, OrderQuery, ShipmentOut, TrackingEventOut,
    UpsertOrder,
};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use concierge_domain::commerce::{
    Amount, Currency, FinancialStatus, FulfillmentStatus, OrderNumber, OrderStatus, Quantity,
    TrackingStatus,
};
use concierge_domain::ids::{CustomerId, OrderId, ShipmentId};
use concierge_domain::text::bounded;
use concierge_store::commerce::{
    NewLineItem, NewShipment, NewTrackingEvent, OrderFilter, OrderUpsert,
};
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orders, upsert_order))
        .routes(routes!(get_order))
        .routes(routes!(create_shipment))
        .routes(routes!(get_shipment))
        .routes(routes!(create_tracking_event))
}

/// Wakes the worker: a shipment or scan may have queued a notice to the shopper.
fn poke(state: &AppState) {
    if let Some(worker) = &state.config.worker {
        worker.notify_one();
    }
}

fn short(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    bounded(value, max, field).map_err(|e| crate::error::invalid(field, e))
}

fn web_url(field: &str, value: &str) -> Result<String, ApiError> {
    let v = short(field, value, 2000)?;
    if v.starts_with("https://") || v.starts_with("http://") {
        Ok(v)
    } else {
        Err(ApiError::Validation {
            field: field.into(),
            message: "must be an http(s) URL".into(),
        })
    }
}

/// Create or update an order by `(source, external_id)`. 201 when created, 200 when updated.
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", request_body = UpsertOrder,
    responses((status = 201, body = OrderOut), (status = 200, body = OrderOut), (status = 422, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn upsert_order(
    State(state): State<AppState>,
    caller: Caller,
    Json(req): Json<UpsertOrder>,
) -> Result<(StatusCode, axum::Json<OrderOut>), ApiError> {
    let customer = req.customer.to_ref()?;
    if req.line_items.len() > 500 {
        return Err(ApiError::Validation {
            field: "line_items".into(),
            message: "at most 500 line items".into(),
        });
    }
    let line_items = req
        .line_items
        .iter()
        .enumerate()
        .map(|(i, li)| {
            Ok(NewLineItem {
                sku: non_blank(&li.sku)
                    .map(|s| short(&format!("line_items[{i}].sku"), s, 100))
                    .transpose()?,
                title: short(&format!("line_items[{i}].title"), &li.title, 500)?,
                quantity: Quantity::new(li.quantity)
                    .map_err(|e| crate::error::invalid(format!("line_items[{i}].quantity"), e))?,
                price: parse(&format!("line_items[{i}].price"), &li.price, Amount::parse)?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let order = OrderUpsert {
        source: short("source", req.source.as_deref().unwrap_or("api"), 50)?,
        external_id: short("external_id", &req.external_id, 200)?,
        number: parse("number", &req.number, OrderNumber::parse)?,
        customer,
        status: parse("status", &req.status, OrderStatus::parse)?,
        financial_status: parse(
            "financial_status",
            &req.financial_status,
            FinancialStatus::parse,
        )?,
        fulfillment_status: parse(
            "fulfillment_status",
            &req.fulfillment_status,
            FulfillmentStatus::parse,
        )?,
        currency: parse("currency", &req.currency, Currency::parse)?,
        total: parse("total", &req.total, Amount::parse)?,
        placed_at: req.placed_at,
        line_items,
        source_updated_at: None,
        shop: None,
        shipping_address: match req.shipping_address {
            Some(v) if !v.is_object() => {
                return Err(ApiError::Validation {
                    field: "shipping_address".into(),
                    message: "shipping_address must be an object".into(),
                })
            }
            other => other,
        },
    };
    let (order, created) = state.store.upsert_order(order, &caller.actor).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(order.into())))
}

/// Orders, newest placed first; find one by number.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", params(OrderQuery),
    responses((status = 200, body = List<OrderOut>)), security(("bearer" = [])))]
async fn list_orders(
    State(state): State<AppState>,
    _caller: Caller,
    Query(q): Query<OrderQuery>,
) -> Result<axum::Json<List<OrderOut>>, ApiError> {
    let filter = OrderFilter {
        number: non_blank(&q.number).map(str::to_owned),
        customer_id: non_blank(&q.customer_id)
            .map(|c| parse("customer_id", c, CustomerId::parse))
            .transpose()?,
    };
    let page = state
        .store
        .orders(&filter, &page(q.limit, q.cursor.as_deref())?)
        .await?;
    Ok(axum::Json(List::from_page(page, OrderOut::from)))
}

/// One order with its line items and shipments.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, body = OrderOut), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn get_order(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<OrderOut>, ApiError> {
    let id = path_id("order", &id, OrderId::parse)?;
    Ok(axum::Json(state.store.order(&id).await?.into()))
}

/// Add a shipment to an order.
#[utoipa::path(post, path = "/api/v1/orders/{id}/shipments", tag = "orders", params(("id" = String, Path)), request_body = CreateShipment,
    responses((status = 201, body = ShipmentOut), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn create_shipment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<CreateShipment>,
) -> Result<(StatusCode, axum::Json<ShipmentOut>), ApiError> {
    let id = path_id("order", &id, OrderId::parse)?;
    let shipment = NewShipment {
        carrier: short("carrier", &req.carrier, 100)?,
        tracking_number: short("tracking_number", &req.tracking_number, 100)?,
        tracking_url: non_blank(&req.tracking_url)
            .map(|u| web_url("tracking_url", u))
            .transpose()?,
        status: req
            .status
            .as_deref()
            .map(|s| parse("status", s, TrackingStatus::parse))
            .transpose()?
            .unwrap_or(TrackingStatus::InfoReceived),
        estimated_delivery: req.estimated_delivery,
        announce: true,
    };
    let shipment = state
        .store
        .add_shipment(&id, shipment, &caller.actor)
        .await?;
    poke(&state);
    Ok((StatusCode::CREATED, axum::Json(shipment.into())))
}

/// One shipment with its scans.
#[utoipa::path(get, path = "/api/v1/shipments/{id}", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, body = ShipmentOut), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn get_shipment(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<ShipmentOut>, ApiError> {
    let id = path_id("shipment", &id, ShipmentId::parse)?;
    Ok(axum::Json(state.store.shipment(&id).await?.into()))
}

/// Record a carrier scan; the shipment's status follows the newest scan.
#[utoipa::path(post, path = "/api/v1/shipments/{id}/events", tag = "orders", params(("id" = String, Path)), request_body = CreateTrackingEvent,
    responses((status = 201, body = TrackingEventOut), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn create_tracking_event(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<CreateTrackingEvent>,
) -> Result<(StatusCode, axum::Json<TrackingEventOut>), ApiError> {
    let id = path_id("shipment", &id, ShipmentId::parse)?;
    let event = NewTrackingEvent {
        status: parse("status", &req.status, TrackingStatus::parse)?,
        occurred_at: req.occurred_at,
        location: non_blank(&req.location)
            .map(|l| short("location", l, 200))
            .transpose()?,
        message: non_blank(&req.message)
            .map(|m| short("message", m, 1000))
            .transpose()?,
        fingerprint: None,
        announce: true,
    };
    // A client that sends the same scan again (a retry) records it once.
    let key = format!(
        "{}|{}|{}|{}",
        event.status,
        event.occurred_at.timestamp_micros(),
        event.location.as_deref().unwrap_or(""),
        event.message.as_deref().unwrap_or("")
    );
    let event = NewTrackingEvent {
        fingerprint: Some(format!(
            "api:{}",
            &hex::encode(Sha256::digest(key.as_bytes()))[..32]
        )),
        ..event
    };
    let event = state.store.add_tracking_event(&id, event).await?;
    poke(&state);
    Ok((StatusCode::CREATED, axum::Json(event.into())))
}
