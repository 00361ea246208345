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
    Amount, CancelReason, Currency, FinancialStatus, FulfillmentStatus, OrderAction, OrderNumber,
    OrderStatus, Quantity, TrackingStatus,
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
        .routes(routes!(order_action))
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

/// Cancel, refund (all or some items), resend the shipping confirmation or change the
/// shipping address of an order. Shopify orders are changed through the Admin API; others
/// are recorded as requests for the team. The outcome, or the platform's refusal, is noted
/// on the conversation (when given) and in the audit log. 502 when the platform failed:
/// nothing was changed.
#[utoipa::path(post, path = "/api/v1/orders/{id}/actions", tag = "orders", params(("id" = String, Path)),
    request_body = crate::wire::OrderAction,
    responses((status = 200, body = crate::wire::OrderActionOut), (status = 422, body = crate::error::ErrorBody),
        (status = 502, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn order_action(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<crate::wire::OrderAction>,
) -> Result<axum::Json<crate::wire::OrderActionOut>, ApiError> {
    use concierge_commerce::actions::{perform, Action, ActionError, Outcome};
    let id = path_id("order", &id, OrderId::parse)?;
    let order = state.store.order(&id).await?;
    let conversation = non_blank(&req.conversation_id)
        .map(|c| {
            parse(
                "conversation_id",
                c,
                concierge_domain::ids::ConversationId::parse,
            )
        })
        .transpose()?;
    if let Some(c) = &conversation {
        state.store.conversation(c).await?;
    }
    let notify = req.notify_customer.unwrap_or(true);
    let action = match OrderAction::parse(&req.action).map_err(|_| must_be_one_of("action", OrderAction::ALL))? {
        OrderAction::Cancel => {
            let reason = match non_blank(&req.reason) {
                None => CancelReason::Customer,
                Some(r) => CancelReason::parse(r).map_err(|_| must_be_one_of("reason", CancelReason::ALL))?,
            };
            Action::Cancel { reason, notify }
        }
        OrderAction::Refund => {
            let lines = req
                .line_items
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    Ok((
                        parse(&format!("line_items[{i}].id"), &l.id, concierge_domain::ids::LineItemId::parse)?,
                        l.quantity,
                    ))
                })
                .collect::<Result<Vec<_>, ApiError>>()?;
            let shipping = req.refund_shipping.unwrap_or(lines.is_empty());
            Action::Refund { lines, shipping, notify }
        }
        OrderAction::Resend => Action::Resend,
        OrderAction::ChangeAddress => match &req.shipping_address {
            Some(a) if a.as_object().is_some_and(|m| {
                ["address1", "city", "country"].iter().all(|k| m.get(*k).and_then(|v| v.as_str()).is_some_and(|v| !v.trim().is_empty()))
                    && m.values().all(|v| v.as_str().is_some_and(|s| s.len() <= 200) || v.is_null())
            }) => Action::ChangeAddress(a.clone()),
            _ => {
                return Err(ApiError::Validation {
                    field: "shipping_address".into(),
                    message: "shipping_address needs address1, city and country, each a string of at most 200 characters".into(),
                })
            }
        },
    };
    let outcome = perform(
        &state.store,
        state.config.shopify_admin.as_deref(),
        &order,
        &action,
        conversation.as_ref(),
        &caller.actor,
    )
    .await
    .map_err(|e| match e {
        ActionError::Invalid(field, message) => ApiError::Validation {
            field: field.into(),
            message,
        },
        ActionError::Platform(note) => ApiError::Platform(note),
        ActionError::Store(e) => e.into(),
    })?;
    let (status, note) = match outcome {
        Outcome::Done(n) => ("done", n),
        Outcome::Requested(n) => ("requested", n),
    };
    let order = state.store.order(&id).await?;
    Ok(axum::Json(crate::wire::OrderActionOut {
        status,
        note,
        order: order.into(),
    }))
}

/// The refusal of a word that is not one of a vocabulary's, listing them: "action must be
/// cancel, refund, resend or change_address".
fn must_be_one_of<W: std::fmt::Display>(field: &str, words: &[W]) -> ApiError {
    let words: Vec<String> = words.iter().map(W::to_string).collect();
    let listed = match words.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    ApiError::Validation {
        field: field.into(),
        message: format!("{field} must be {listed}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_outside_its_vocabulary_is_refused_with_the_words_it_may_be() {
        let refusal = |e: ApiError| match e {
            ApiError::Validation { field, message } => (field, message),
            other => panic!("not a validation error: {other:?}"),
        };
        assert_eq!(
            refusal(must_be_one_of("action", OrderAction::ALL)),
            (
                "action".to_owned(),
                "action must be cancel, refund, resend or change_address".to_owned()
            )
        );
        assert_eq!(
            refusal(must_be_one_of("reason", CancelReason::ALL)),
            (
                "reason".to_owned(),
                "reason must be customer, inventory, fraud, declined or other".to_owned()
            )
        );
    }
}
