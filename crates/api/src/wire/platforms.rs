//! Wire types for store platforms and shipment notices: webhook deliveries as admins see
//! them, the shop's wording for notices, and a shipment's notices.

use chrono::{DateTime, Utc};
use concierge_store::notices::Notice;
use concierge_store::platforms::Delivery;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// What a webhook endpoint answers once the delivery is stored.
#[derive(Serialize, ToSchema)]
pub struct WebhookReceipt {
    /// `accepted` (stored, applied shortly), `ignored` (a topic we do not act on) or
    /// `duplicate` is not distinguished: a repeated delivery id is acknowledged the same way.
    pub status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryOut {
    pub id: String,
    /// `shopify`, `woocommerce` or `aftership`.
    pub platform: &'static str,
    /// The platform's id for the delivery (`X-Shopify-Webhook-Id`, …).
    pub delivery_id: String,
    pub topic: String,
    pub shop: Option<String>,
    /// `pending`, `applied`, `ignored`, `malformed` or `failed`.
    pub status: &'static str,
    /// Why it is malformed, or why applying it failed (last try).
    pub error: Option<String>,
    pub received_at: DateTime<Utc>,
    pub applied_at: Option<DateTime<Utc>>,
    /// The raw body as received (only on the single-delivery route).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

impl DeliveryOut {
    pub fn new(d: Delivery, with_body: bool) -> Self {
        DeliveryOut {
            id: d.id.into_string(),
            platform: d.platform.as_str(),
            delivery_id: d.delivery_id,
            topic: d.topic,
            shop: d.shop,
            status: d.state.as_str(),
            error: d.error,
            received_at: d.received_at,
            applied_at: d.applied_at,
            body: with_body.then_some(d.body),
        }
    }
}

#[derive(Deserialize, IntoParams)]
pub struct DeliveryQuery {
    /// Only deliveries in this state.
    #[param(schema_with = super::schema::delivery_state_or_blank)]
    pub status: Option<String>,
    /// Rows per page: default 50, at most 200.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    #[param(schema_with = super::schema::cursor)]
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct NoticeTemplateOut {
    /// `shipped`, `out_for_delivery`, `delivered`, `attempt_failed`, `exception` or `late`.
    pub kind: &'static str,
    pub subject: String,
    pub body: String,
    /// Whether this is the shop's own wording (false: ours).
    pub customized: bool,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct NoticeTemplates {
    pub items: Vec<NoticeTemplateOut>,
    /// The `{{variables}}` the wording may use: name and meaning.
    pub variables: Vec<[&'static str; 2]>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetNoticeTemplate {
    pub subject: String,
    pub body: String,
}

#[derive(Serialize, ToSchema)]
pub struct NoticeOut {
    pub id: String,
    pub kind: &'static str,
    /// `queued`, `sent`, `skipped` or `failed`.
    pub status: &'static str,
    pub recipient: Option<String>,
    /// Why it was skipped or failed.
    pub detail: Option<String>,
    /// The `delivery-issue` conversation it opened or added to, for delays and problems.
    pub conversation_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<Notice> for NoticeOut {
    fn from(n: Notice) -> Self {
        NoticeOut {
            id: n.id.into_string(),
            kind: n.kind.as_str(),
            status: n.status.as_str(),
            recipient: n.recipient,
            detail: n.detail,
            conversation_id: n.conversation_id.map(|c| c.into_string()),
            created_at: n.created_at,
            sent_at: n.sent_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkOrder {
    #[schema(schema_with = super::schema::order_id)]
    pub order_id: String,
}

/// An order action from the inbox.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderAction {
    /// `cancel`, `refund`, `resend` (the shipping confirmation) or `change_address`.
    #[schema(schema_with = super::schema::order_action)]
    pub action: String,
    /// The conversation it is taken from: the outcome is noted there.
    pub conversation_id: Option<String>,
    /// Why an order is cancelled: `customer` (default), `inventory`, `fraud`, `declined`,
    /// `other`.
    #[schema(schema_with = super::schema::cancel_reason_or_blank)]
    pub reason: Option<String>,
    /// Whether the platform tells the shopper too (default true).
    pub notify_customer: Option<bool>,
    /// Items to refund; none refunds the whole order.
    #[serde(default)]
    pub line_items: Vec<RefundLine>,
    /// Whether shipping is refunded too (default: when refunding the whole order).
    pub refund_shipping: Option<bool>,
    /// The new address for `change_address`: `name`, `address1`, `address2`, `city`, `zip`,
    /// `province`, `country`, `phone`.
    #[schema(value_type = Option<Object>)]
    pub shipping_address: Option<serde_json::Value>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundLine {
    /// The line item's id (`li_…`).
    pub id: String,
    pub quantity: i64,
}

#[derive(Serialize, ToSchema)]
pub struct OrderActionOut {
    /// `done` (on the platform) or `requested` (for the team to do on the order's platform).
    pub status: &'static str,
    /// What was noted on the conversation and in the audit log.
    pub note: String,
    pub order: crate::wire::OrderOut,
}
