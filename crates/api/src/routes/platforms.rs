//! Store platforms and tracking services: the signed webhooks (`/webhooks/shopify`,
//! `/webhooks/woocommerce`, `/webhooks/aftership`), the deliveries as admins see and retry
//! them, the shop's wording for shipment notices, and a shipment's notices.
//!
//! A webhook is answered only after its delivery is stored with the job that applies it,
//! and nothing is stored before its signature checks out. Everything after that (parsing the
//! resource, matching the customer, applying out-of-order updates) happens in the job, well
//! inside the platforms' few seconds.

use super::conversations::path_id;
use super::page;
use crate::auth::{Admin, Caller};
use crate::error::{parse, ApiError};
use crate::extract::{Json, Query};
use crate::wire::{
    DeliveryOut, DeliveryQuery, LinkOrder, List, NoticeOut, NoticeTemplateOut, NoticeTemplates,
    SetNoticeTemplate, WebhookReceipt,
};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use concierge_commerce::{aftership, notices, shopify, signature, woocommerce};
use concierge_domain::commerce::{NoticeKind, Platform};
use concierge_domain::ids::{ConversationId, OrderId, ShipmentId, WebhookDeliveryId};
use concierge_store::platforms::{DeliveryState, NewDelivery};
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The largest webhook body taken: Shopify's biggest orders run to a few hundred kilobytes.
pub const MAX_WEBHOOK_BYTES: usize = 5 * 1024 * 1024;

/// The shared secrets that sign each platform's webhooks; an endpoint without one answers
/// 404, as if it did not exist.
#[derive(Clone, Default)]
pub struct PlatformSecrets {
    pub shopify: Option<String>,
    pub woocommerce: Option<String>,
    pub aftership: Option<String>,
}

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_deliveries))
        .routes(routes!(get_delivery))
        .routes(routes!(retry_delivery))
        .routes(routes!(list_templates))
        .routes(routes!(set_template, reset_template))
        .routes(routes!(shipment_notices))
        .routes(routes!(link_order))
}

/// The webhook endpoints, with a body limit of their own.
pub(super) fn webhooks() -> axum::Router<AppState> {
    use axum::routing::post;
    axum::Router::new()
        .route("/webhooks/shopify", post(receive_shopify))
        .route("/webhooks/woocommerce", post(receive_woocommerce))
        .route("/webhooks/aftership", post(receive_aftership))
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BYTES))
}

fn header<'a>(headers: &'a HeaderMap, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| headers.get(*n))
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// A delivery whose signature checked out, with the id its platform gave it (or, without
/// one, a digest of its body, which a retry repeats too).
struct Signed<'a> {
    platform: Platform,
    delivery_id: String,
    topic: Option<&'a str>,
    shop: Option<&'a str>,
    body: Bytes,
}

/// Stores a signed delivery and answers: 400 when the body is not JSON (kept, as
/// `malformed`), 200 otherwise, the topics we act on with their job. The answer comes only
/// after the write.
async fn accept(
    state: &AppState,
    d: Signed<'_>,
    known: bool,
) -> Result<(StatusCode, axum::Json<WebhookReceipt>), ApiError> {
    let json = serde_json::from_slice::<serde::de::IgnoredAny>(&d.body);
    let text = String::from_utf8_lossy(&d.body).into_owned();
    let (state_of, error) = match (&json, d.topic) {
        (Err(e), _) => (DeliveryState::Malformed, Some(format!("not JSON: {e}"))),
        (Ok(_), None) => (
            DeliveryState::Malformed,
            Some("the topic header is missing".to_owned()),
        ),
        (Ok(_), Some(_)) if !known => (DeliveryState::Ignored, None),
        (Ok(_), Some(_)) => (DeliveryState::Pending, None),
    };
    state
        .store
        .record_webhook(NewDelivery {
            platform: d.platform,
            delivery_id: d.delivery_id.chars().take(200).collect(),
            topic: d.topic.unwrap_or("").chars().take(100).collect(),
            shop: d.shop.map(|s| s.chars().take(200).collect()),
            body: text,
            state: state_of,
            error: error.clone(),
        })
        .await?;
    match state_of {
        DeliveryState::Malformed => Err(ApiError::BadRequest(error.unwrap_or_default())),
        DeliveryState::Ignored => {
            tracing::info!(
                platform = %d.platform,
                topic = d.topic.unwrap_or(""),
                "webhook topic ignored"
            );
            Ok((
                StatusCode::OK,
                axum::Json(WebhookReceipt { status: "ignored" }),
            ))
        }
        _ => {
            if let Some(worker) = &state.config.worker {
                worker.notify_one();
            }
            Ok((
                StatusCode::OK,
                axum::Json(WebhookReceipt { status: "accepted" }),
            ))
        }
    }
}

fn checked(
    secret: Option<&String>,
    body: &Result<Bytes, BytesRejection>,
    sig: Option<&str>,
) -> Result<Bytes, ApiError> {
    let secret = secret.ok_or(ApiError::RouteNotFound)?;
    let body = match body {
        Ok(b) => b.clone(),
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(ApiError::TooLarge(MAX_WEBHOOK_BYTES))
        }
        Err(r) => return Err(ApiError::BadRequest(r.body_text())),
    };
    if !signature::verify(secret.as_bytes(), &body, sig) {
        return Err(ApiError::BadSignature);
    }
    Ok(body)
}

fn digest(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// Shopify's webhooks: `X-Shopify-Hmac-Sha256` (base64 HMAC-SHA256 of the raw body with the
/// app secret) checked first; 401 and nothing stored when it is wrong or missing. A repeated
/// `X-Shopify-Webhook-Id` is acknowledged and not applied again.
#[utoipa::path(post, path = "/webhooks/shopify", tag = "store platforms",
    request_body(content = String, content_type = "application/json", description = "the resource of the topic, as Shopify sends it"),
    responses((status = 200, body = WebhookReceipt), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn receive_shopify(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, axum::Json<WebhookReceipt>), ApiError> {
    let sig = header(&headers, &["x-shopify-hmac-sha256", "shopify-hmac-sha256"]);
    let body = checked(state.config.platforms.shopify.as_ref(), &body, sig)?;
    let topic = header(&headers, &["x-shopify-topic", "shopify-topic"]);
    let delivery_id = header(&headers, &["x-shopify-webhook-id", "shopify-webhook-id"])
        .map(str::to_owned)
        .unwrap_or_else(|| digest(&body));
    let known = topic.is_some_and(|t| shopify::TOPICS.contains(&t));
    let signed = Signed {
        platform: shopify::SOURCE,
        delivery_id,
        topic,
        shop: header(&headers, &["x-shopify-shop-domain", "shopify-shop-domain"]),
        body,
    };
    accept(&state, signed, known).await
}

/// WooCommerce's webhooks: `X-WC-Webhook-Signature` checked first. The ping WooCommerce
/// sends when a webhook is saved (a form body `webhook_id=N`) is answered 200 and not kept.
#[utoipa::path(post, path = "/webhooks/woocommerce", tag = "store platforms",
    request_body(content = String, content_type = "application/json", description = "the REST API v3 resource of the topic"),
    responses((status = 200, body = WebhookReceipt), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn receive_woocommerce(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, axum::Json<WebhookReceipt>), ApiError> {
    state
        .config
        .platforms
        .woocommerce
        .as_ref()
        .ok_or(ApiError::RouteNotFound)?;
    if let Ok(b) = &body {
        let ping =
            b.len() < 64 && b.starts_with(b"webhook_id=") && b[11..].iter().all(u8::is_ascii_digit);
        if ping && header(&headers, &["x-wc-webhook-signature"]).is_none() {
            return Ok((
                StatusCode::OK,
                axum::Json(WebhookReceipt { status: "ignored" }),
            ));
        }
    }
    let sig = header(&headers, &["x-wc-webhook-signature"]);
    let body = checked(state.config.platforms.woocommerce.as_ref(), &body, sig)?;
    let topic = header(&headers, &["x-wc-webhook-topic"]);
    let delivery_id = header(&headers, &["x-wc-webhook-delivery-id"])
        .map(str::to_owned)
        .unwrap_or_else(|| digest(&body));
    let known = topic.is_some_and(|t| woocommerce::TOPICS.contains(&t));
    let signed = Signed {
        platform: woocommerce::SOURCE,
        delivery_id,
        topic,
        shop: header(&headers, &["x-wc-webhook-source"]),
        body,
    };
    accept(&state, signed, known).await
}

/// AfterShip's tracking webhook: `aftership-hmac-sha256` checked first; the event and its
/// id come from the body.
#[utoipa::path(post, path = "/webhooks/aftership", tag = "store platforms",
    request_body(content = String, content_type = "application/json", description = "an AfterShip tracking webhook"),
    responses((status = 200, body = WebhookReceipt), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub(crate) async fn receive_aftership(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, axum::Json<WebhookReceipt>), ApiError> {
    let sig = header(&headers, &["aftership-hmac-sha256"]);
    let body = checked(state.config.platforms.aftership.as_ref(), &body, sig)?;
    let (event, id) = match aftership::envelope(&body) {
        Ok((event, id)) => (Some(event), id),
        Err(_) => (None, digest(&body)),
    };
    let known = event
        .as_deref()
        .is_some_and(|e| aftership::TOPICS.contains(&e));
    let signed = Signed {
        platform: aftership::SOURCE,
        delivery_id: id,
        topic: event.as_deref().or(Some("")),
        shop: None,
        body,
    };
    accept(&state, signed, known).await
}

/// Webhook deliveries, newest first: what each became, and why one failed.
#[utoipa::path(get, path = "/api/v1/webhook-deliveries", tag = "store platforms", params(DeliveryQuery),
    responses((status = 200, body = List<DeliveryOut>), (status = 403, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn list_deliveries(
    State(state): State<AppState>,
    _admin: Admin,
    Query(q): Query<DeliveryQuery>,
) -> Result<axum::Json<List<DeliveryOut>>, ApiError> {
    let status = super::non_blank(&q.status)
        .map(|s| parse("status", s, DeliveryState::parse))
        .transpose()?;
    let page = state
        .store
        .deliveries(status, &page(q.limit, q.cursor.as_deref())?)
        .await?;
    Ok(axum::Json(List::from_page(page, |d| {
        DeliveryOut::new(d, false)
    })))
}

/// One delivery with its raw body.
#[utoipa::path(get, path = "/api/v1/webhook-deliveries/{id}", tag = "store platforms", params(("id" = String, Path)),
    responses((status = 200, body = DeliveryOut), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn get_delivery(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<axum::Json<DeliveryOut>, ApiError> {
    let id = path_id("webhook delivery", &id, WebhookDeliveryId::parse)?;
    Ok(axum::Json(DeliveryOut::new(
        state.store.delivery_by_id(&id).await?,
        true,
    )))
}

/// Applies a failed delivery again, with fresh attempts. 409 for one that was applied,
/// ignored or is malformed.
#[utoipa::path(post, path = "/api/v1/webhook-deliveries/{id}/retry", tag = "store platforms", params(("id" = String, Path)),
    responses((status = 200, body = DeliveryOut), (status = 409, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn retry_delivery(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<axum::Json<DeliveryOut>, ApiError> {
    let id = path_id("webhook delivery", &id, WebhookDeliveryId::parse)?;
    let d = state.store.retry_delivery_apply(&id).await?;
    if let Some(worker) = &state.config.worker {
        worker.notify_one();
    }
    Ok(axum::Json(DeliveryOut::new(d, false)))
}

/// The wording of every shipment notice: the shop's where it changed ours.
#[utoipa::path(get, path = "/api/v1/notice-templates", tag = "notices",
    responses((status = 200, body = NoticeTemplates)), security(("bearer" = [])))]
async fn list_templates(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<axum::Json<NoticeTemplates>, ApiError> {
    let items = notices::wordings(&state.store)
        .await?
        .into_iter()
        .map(|w| NoticeTemplateOut {
            kind: w.kind.as_str(),
            subject: w.subject,
            body: w.body,
            customized: w.customized,
            updated_at: w.updated_at,
        })
        .collect();
    let variables = concierge_commerce::variables::NOTICE_VARIABLES
        .iter()
        .map(|(n, m)| [*n, *m])
        .collect();
    Ok(axum::Json(NoticeTemplates { items, variables }))
}

/// Sets the shop's wording for one kind of notice (admins). 422 names the field with an
/// unknown `{{variable}}`.
#[utoipa::path(put, path = "/api/v1/notice-templates/{kind}", tag = "notices", params(("kind" = String, Path)),
    request_body = SetNoticeTemplate,
    responses((status = 204), (status = 422, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn set_template(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(kind): Path<String>,
    Json(req): Json<SetNoticeTemplate>,
) -> Result<StatusCode, ApiError> {
    let kind = path_id("notice kind", &kind, NoticeKind::parse)?;
    notices::check_wording(&req.subject, &req.body)
        .map_err(|(field, e)| crate::error::invalid(field, e))?;
    state
        .store
        .set_notice_template(kind, Some((req.subject.trim(), &req.body)), &caller.actor)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Goes back to our wording for one kind of notice (admins).
#[utoipa::path(delete, path = "/api/v1/notice-templates/{kind}", tag = "notices", params(("kind" = String, Path)),
    responses((status = 204)), security(("bearer" = [])))]
async fn reset_template(
    State(state): State<AppState>,
    Admin(caller): Admin,
    Path(kind): Path<String>,
) -> Result<StatusCode, ApiError> {
    let kind = path_id("notice kind", &kind, NoticeKind::parse)?;
    state
        .store
        .set_notice_template(kind, None, &caller.actor)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What the shopper was told about a shipment, and when.
#[utoipa::path(get, path = "/api/v1/shipments/{id}/notices", tag = "notices", params(("id" = String, Path)),
    responses((status = 200, body = Vec<NoticeOut>), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn shipment_notices(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<NoticeOut>>, ApiError> {
    let id = path_id("shipment", &id, ShipmentId::parse)?;
    state.store.shipment(&id).await?;
    let notices = state.store.notices(&id).await?;
    Ok(axum::Json(notices.into_iter().map(Into::into).collect()))
}

/// Attaches an order to a conversation: the order it is about, which order actions and
/// canned replies' `{{order.*}}` use first.
#[utoipa::path(post, path = "/api/v1/conversations/{id}/orders", tag = "conversations", params(("id" = String, Path)),
    request_body = LinkOrder,
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)), security(("bearer" = [])))]
async fn link_order(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
    Json(req): Json<LinkOrder>,
) -> Result<StatusCode, ApiError> {
    let id = path_id("conversation", &id, ConversationId::parse)?;
    let order = parse("order_id", &req.order_id, OrderId::parse)?;
    state.store.link_order(&id, &order).await?;
    Ok(StatusCode::NO_CONTENT)
}
