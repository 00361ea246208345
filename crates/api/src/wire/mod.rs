//! Wire types: the JSON shapes of the API (its OpenAPI document). Requests deny unknown fields and carry raw
//! strings for values the domain parses (so a bad value is reported with its field name);
//! responses are built from store records here and nowhere else.

use chrono::{DateTime, Utc};
use concierge_store::commerce::{LineItem, Order, Shipment, TrackingEvent};
use concierge_store::conversations::{Attachment, Conversation, CustomerSummary, Message};
use concierge_store::customers::Customer;
use concierge_store::jobs::Job;
use concierge_store::{Cursor, Page};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

mod assistant;
mod hours;
mod knowledge;
mod platforms;
pub mod schema;
pub use assistant::*;
pub use hours::*;
pub use knowledge::*;
pub use platforms::*;

/// Distinguishes a field that is absent (`None`) from one set to null (`Some(None)`).
fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A page of a list.
#[derive(Serialize, ToSchema)]
pub struct List<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T> List<T> {
    pub fn from_page<R>(page: Page<R>, f: impl FnMut(R) -> T) -> Self {
        List {
            items: page.items.into_iter().map(f).collect(),
            next_cursor: page.next_cursor.as_ref().map(Cursor::encode),
        }
    }
}

/// `?limit=&cursor=` on every list.
#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Rows per page: default 50, at most 200.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(schema_with = schema::cursor)]
    pub cursor: Option<String>,
}

// ---- conversations -------------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerIn {
    #[schema(schema_with = schema::email_or_blank)]
    pub email: Option<String>,
    #[schema(schema_with = schema::person_name_or_blank)]
    pub name: Option<String>,
    #[schema(schema_with = schema::phone_or_blank)]
    pub phone: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FirstMessageIn {
    #[schema(schema_with = schema::message_body)]
    pub body: String,
    /// `customer` (default: the shopper wrote in) or `agent` (an outbound conversation).
    #[schema(schema_with = schema::written_as_or_null)]
    pub sender_type: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConversation {
    /// `email`, `chat`, `sms`, `whatsapp`, `messenger`, `instagram`, `phone` or `api`.
    #[schema(schema_with = schema::channel)]
    pub channel: String,
    pub customer: CustomerIn,
    #[schema(schema_with = schema::subject_or_blank)]
    pub subject: Option<String>,
    pub message: FirstMessageIn,
    /// `low`, `normal` (default), `high` or `urgent`.
    #[schema(schema_with = schema::priority_or_null)]
    pub priority: Option<String>,
    #[serde(default)]
    #[schema(schema_with = schema::tags)]
    pub tags: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateConversation {
    /// `open`, `pending`, `snoozed`, `resolved` or `closed`.
    #[schema(schema_with = schema::status_or_null)]
    pub status: Option<String>,
    /// Required with `snoozed`: when the conversation reopens (RFC 3339).
    pub snooze_until: Option<DateTime<Utc>>,
    #[schema(schema_with = schema::priority_or_null)]
    pub priority: Option<String>,
    /// An agent id, or null to unassign.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = schema::agent_id_or_null)]
    pub assignee_id: Option<Option<String>>,
    /// A team id, or null to clear.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = schema::team_id_or_null)]
    pub team_id: Option<Option<String>>,
    /// Replaces the tags.
    #[schema(schema_with = schema::tags_or_null)]
    pub tags: Option<Vec<String>>,
    /// Adds these tags to the ones the conversation has.
    #[serde(default)]
    #[schema(schema_with = schema::tags)]
    pub add_tags: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMessage {
    #[schema(schema_with = schema::message_body)]
    pub body: String,
    /// A private note for the team, never delivered to the shopper.
    #[serde(default)]
    pub private: bool,
    /// `agent` (default) or `customer`.
    #[schema(schema_with = schema::written_as_or_null)]
    pub sender_type: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConversationQuery {
    #[param(schema_with = schema::status_or_blank)]
    pub status: Option<String>,
    /// An agent id, or `none` for unassigned conversations.
    #[param(schema_with = schema::assignee_or_blank)]
    pub assignee_id: Option<String>,
    #[param(schema_with = schema::customer_id_or_blank)]
    pub customer_id: Option<String>,
    #[param(schema_with = schema::channel_or_blank)]
    pub channel: Option<String>,
    pub tag: Option<String>,
    #[param(schema_with = schema::team_id_or_blank)]
    pub team_id: Option<String>,
    /// `low`, `normal`, `high` or `urgent`.
    #[param(schema_with = schema::priority_or_blank)]
    pub priority: Option<String>,
    /// A detected intent, e.g. `track_order`.
    pub intent: Option<String>,
    /// Full-text search over subjects and message bodies.
    pub q: Option<String>,
    /// `newest` (newest activity first, the default) or `waiting` (the shopper waiting
    /// longest for an answer first; only conversations awaiting one).
    #[param(schema_with = schema::sort_or_blank)]
    pub sort: Option<String>,
    /// Rows per page: default 50, at most 200.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    #[param(schema_with = schema::cursor)]
    pub cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeConversation {
    /// The conversation (of the same customer) that receives this one's messages.
    #[schema(schema_with = schema::conversation_id)]
    pub into: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeCustomer {
    /// The customer who receives this one's identities, conversations and orders.
    #[schema(schema_with = schema::customer_id)]
    pub into: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkUpdate {
    /// 1 to 200 conversation ids.
    #[schema(min_items = 1, max_items = 200)]
    pub ids: Vec<String>,
    /// The change to apply to each, as for `PATCH /api/v1/conversations/{id}`.
    pub patch: UpdateConversation,
}

#[derive(Serialize, ToSchema)]
pub struct BulkOutcome {
    pub id: String,
    /// `true` when the change was applied.
    pub ok: bool,
    /// Why it was not, in the error format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::error::ErrorDetail>,
}

#[derive(Serialize, ToSchema)]
pub struct BulkResult {
    pub items: Vec<BulkOutcome>,
}

/// How many conversations each inbox view holds for the calling agent.
#[derive(Serialize, ToSchema)]
pub struct InboxCountsOut {
    pub mine: i64,
    pub unassigned: i64,
    pub open: i64,
    pub pending: i64,
    pub snoozed: i64,
    pub resolved: i64,
}

#[derive(Serialize, ToSchema)]
pub struct CustomerBrief {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl From<CustomerSummary> for CustomerBrief {
    fn from(c: CustomerSummary) -> Self {
        CustomerBrief {
            id: c.id.into_string(),
            name: c.name,
            email: c.email,
            phone: c.phone,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AttachmentOut {
    pub id: String,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
}

impl From<Attachment> for AttachmentOut {
    fn from(a: Attachment) -> Self {
        AttachmentOut {
            id: a.id.into_string(),
            filename: a.filename,
            content_type: a.content_type,
            size_bytes: a.size_bytes,
        }
    }
}

/// What became of a mail given to `POST /webhooks/email`.
#[derive(Serialize, ToSchema)]
pub struct MailReceipt {
    pub conversation_id: String,
    /// The message the mail became (for a bounce of our own mail, the note about it).
    pub message_id: String,
    /// `opened` (a new conversation), `threaded` (into an existing one), `bounced` (a
    /// report that mail we sent failed; that message is marked failed) or `duplicate`
    /// (stored before; nothing changed).
    pub outcome: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct MessageOut {
    pub id: String,
    pub conversation_id: String,
    /// `customer`, `agent`, `bot` or `system`.
    pub sender_type: &'static str,
    pub agent_id: Option<String>,
    /// Plain text.
    pub body: String,
    /// Sanitised HTML, when the channel supplied HTML.
    pub body_html: Option<String>,
    pub private: bool,
    pub attachments: Vec<AttachmentOut>,
    /// `pending`, `sent`, `delivered` or `failed`, for outbound messages.
    pub delivery_status: Option<&'static str>,
    /// Why the last delivery attempt failed, in the transport's words.
    pub delivery_error: Option<String>,
    /// What was cut from `body` as not new: an email's quoted history and signature.
    pub quoted: Option<String>,
    /// The address the message came from (an email's From), when the channel has one.
    pub sender_address: Option<String>,
    /// For a shopper's message, what the assistant read in it.
    pub intent: Option<IntentOut>,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct IntentOut {
    /// One of the assistant's intents (`track_order`, …) or `unknown`.
    #[schema(schema_with = schema::intent)]
    pub name: &'static str,
    pub confidence: f64,
}

/// `POST /api/v1/assist/classify`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassifyRequest {
    #[schema(schema_with = schema::classify_text)]
    pub text: String,
}

/// What a text is about, as `concierge assist classify` prints it.
#[derive(Serialize, ToSchema)]
pub struct Classification {
    /// One of the 27 customer-service intents, or `unknown` when the model is not confident
    /// enough to name one.
    #[schema(schema_with = schema::intent)]
    pub intent: &'static str,
    /// The intent's category (`ORDER`, `REFUND`, …), or `unknown`.
    #[schema(schema_with = schema::intent_category)]
    pub category: &'static str,
    /// 0 to 1.
    pub confidence: f64,
}

impl From<concierge_intents::Verdict> for Classification {
    fn from(v: concierge_intents::Verdict) -> Self {
        Classification {
            confidence: v.reported_confidence(),
            category: v.category().as_str(),
            intent: v.intent.as_str(),
        }
    }
}

impl From<Message> for MessageOut {
    fn from(m: Message) -> Self {
        MessageOut {
            id: m.id.into_string(),
            conversation_id: m.conversation_id.into_string(),
            sender_type: m.sender_type.as_str(),
            agent_id: m.agent_id.map(|a| a.into_string()),
            body: m.body,
            body_html: m.body_html,
            private: m.private,
            attachments: m.attachments.into_iter().map(Into::into).collect(),
            delivery_status: m.delivery_status.map(|d| d.as_str()),
            delivery_error: m.delivery_error,
            quoted: m.quoted,
            sender_address: m.sender_address,
            intent: m.intent.map(|i| IntentOut {
                name: i.intent.as_str(),
                confidence: i.confidence,
            }),
            created_at: m.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ConversationOut {
    pub id: String,
    pub customer: CustomerBrief,
    pub channel: &'static str,
    pub status: &'static str,
    pub priority: &'static str,
    pub assignee_id: Option<String>,
    pub team_id: Option<String>,
    pub tags: Vec<String>,
    pub subject: Option<String>,
    /// The shopper's detected intent (e.g. `track_order`) and its confidence.
    #[schema(schema_with = schema::intent_or_null)]
    pub intent: Option<&'static str>,
    pub intent_confidence: Option<f64>,
    pub snooze_until: Option<DateTime<Utc>>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Since when the oldest unanswered shopper message has waited.
    pub waiting_since: Option<DateTime<Utc>>,
    pub last_activity_at: DateTime<Utc>,
    pub message_count: i64,
    /// Set when this conversation was merged into another, which holds its messages now.
    pub merged_into_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The thread, oldest first (single-conversation responses only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<MessageOut>>,
}

impl ConversationOut {
    pub fn new(c: Conversation, messages: Option<Vec<Message>>) -> Self {
        let l = c.lifecycle;
        ConversationOut {
            id: c.id.into_string(),
            customer: c.customer.into(),
            channel: c.channel.as_str(),
            status: l.status.as_str(),
            priority: c.priority.as_str(),
            assignee_id: c.assignee_id.map(|a| a.into_string()),
            team_id: c.team_id.map(|t| t.into_string()),
            tags: c.tags,
            subject: c.subject,
            intent: c.intent.map(|i| i.as_str()),
            intent_confidence: c.intent_confidence,
            snooze_until: l.snooze_until,
            first_response_at: l.first_response_at,
            resolved_at: l.resolved_at,
            waiting_since: l.waiting_since,
            last_activity_at: l.last_activity_at,
            message_count: c.message_count,
            merged_into_id: c.merged_into_id.map(|m| m.into_string()),
            created_at: c.created_at,
            updated_at: c.updated_at,
            messages: messages.map(|ms| ms.into_iter().map(Into::into).collect()),
        }
    }
}

// ---- customers -----------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerQuery {
    #[param(schema_with = schema::email_or_blank)]
    pub email: Option<String>,
    #[param(schema_with = schema::phone_or_blank)]
    pub phone: Option<String>,
    /// Matches the start of a name or email.
    pub q: Option<String>,
    /// Rows per page: default 50, at most 200.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    #[param(schema_with = schema::cursor)]
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct IdentityOut {
    /// `email`, `phone` or `external`.
    pub kind: &'static str,
    pub value: String,
}

#[derive(Serialize, ToSchema)]
pub struct CustomerOut {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Every handle the shopper is known by, across channels.
    pub identities: Vec<IdentityOut>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Newest first, each with its shipments (single-customer responses only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orders: Option<Vec<OrderOut>>,
    /// The cross-channel timeline, newest activity first (single-customer responses only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversations: Option<Vec<ConversationOut>>,
}

impl CustomerOut {
    pub fn new(
        c: Customer,
        orders: Option<Vec<Order>>,
        conversations: Option<Vec<Conversation>>,
    ) -> Self {
        CustomerOut {
            id: c.id.into_string(),
            name: c.name,
            email: c.email,
            phone: c.phone,
            identities: c
                .identities
                .iter()
                .map(|i| IdentityOut {
                    kind: i.kind().as_str(),
                    value: i.key(),
                })
                .collect(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            orders: orders.map(|os| os.into_iter().map(Into::into).collect()),
            conversations: conversations.map(|cs| {
                cs.into_iter()
                    .map(|c| ConversationOut::new(c, None))
                    .collect()
            }),
        }
    }
}

// ---- orders and shipments ------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineItemIn {
    pub sku: Option<String>,
    pub title: String,
    pub quantity: i64,
    /// Unit price as a decimal string, e.g. `"49.90"`.
    pub price: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpsertOrder {
    pub external_id: String,
    /// Defaults to `api`. Orders are upserted by `(source, external_id)`.
    pub source: Option<String>,
    pub number: String,
    pub customer: CustomerIn,
    /// `open`, `closed` or `cancelled`.
    #[schema(schema_with = schema::order_status)]
    pub status: String,
    /// `pending`, `authorized`, `partially_paid`, `paid`, `partially_refunded`, `refunded` or `voided`.
    #[schema(schema_with = schema::financial_status)]
    pub financial_status: String,
    /// `unfulfilled`, `partial`, `fulfilled` or `restocked`.
    #[schema(schema_with = schema::fulfillment_status)]
    pub fulfillment_status: String,
    pub currency: String,
    /// Decimal string, e.g. `"149.70"`; never a number.
    pub total: String,
    pub placed_at: DateTime<Utc>,
    #[serde(default)]
    pub line_items: Vec<LineItemIn>,
    #[schema(value_type = Option<Object>)]
    pub shipping_address: Option<serde_json::Value>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderQuery {
    /// The order number, with or without `#`.
    pub number: Option<String>,
    #[param(schema_with = schema::customer_id_or_blank)]
    pub customer_id: Option<String>,
    /// Rows per page: default 50, at most 200.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    #[param(schema_with = schema::cursor)]
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LineItemOut {
    pub id: String,
    pub sku: Option<String>,
    pub title: String,
    pub quantity: i64,
    pub price: String,
}

impl From<LineItem> for LineItemOut {
    fn from(i: LineItem) -> Self {
        LineItemOut {
            id: i.id.into_string(),
            sku: i.sku,
            title: i.title,
            quantity: i.quantity,
            price: i.price,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OrderOut {
    pub id: String,
    pub source: String,
    pub external_id: String,
    pub number: String,
    pub customer_id: String,
    pub status: &'static str,
    pub financial_status: &'static str,
    pub fulfillment_status: &'static str,
    pub currency: String,
    pub total: String,
    pub placed_at: DateTime<Utc>,
    #[schema(value_type = Option<Object>)]
    pub shipping_address: Option<serde_json::Value>,
    /// What has been refunded so far (a decimal string in the order's currency), if anything.
    pub refunded_total: Option<String>,
    pub line_items: Vec<LineItemOut>,
    pub shipments: Vec<ShipmentOut>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Order> for OrderOut {
    fn from(o: Order) -> Self {
        OrderOut {
            id: o.id.into_string(),
            source: o.source,
            external_id: o.external_id,
            number: o.number,
            customer_id: o.customer_id.into_string(),
            status: o.status.as_str(),
            financial_status: o.financial_status.as_str(),
            fulfillment_status: o.fulfillment_status.as_str(),
            currency: o.currency,
            total: o.total,
            placed_at: o.placed_at,
            shipping_address: o.shipping_address,
            refunded_total: o.refunded_total,
            line_items: o.line_items.into_iter().map(Into::into).collect(),
            shipments: o.shipments.into_iter().map(Into::into).collect(),
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateShipment {
    pub carrier: String,
    pub tracking_number: String,
    pub tracking_url: Option<String>,
    /// Defaults to `info_received`.
    #[schema(schema_with = schema::tracking_status_or_null)]
    pub status: Option<String>,
    pub estimated_delivery: Option<DateTime<Utc>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTrackingEvent {
    /// `info_received`, `in_transit`, `out_for_delivery`, `delivered`, `attempt_failed`, `exception`, `returned` or `expired`.
    #[schema(schema_with = schema::tracking_status)]
    pub status: String,
    pub occurred_at: DateTime<Utc>,
    pub location: Option<String>,
    pub message: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TrackingEventOut {
    pub id: String,
    pub shipment_id: String,
    pub status: &'static str,
    pub occurred_at: DateTime<Utc>,
    pub location: Option<String>,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<TrackingEvent> for TrackingEventOut {
    fn from(e: TrackingEvent) -> Self {
        TrackingEventOut {
            id: e.id.into_string(),
            shipment_id: e.shipment_id.into_string(),
            status: e.status.as_str(),
            occurred_at: e.occurred_at,
            location: e.location,
            message: e.message,
            created_at: e.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ShipmentOut {
    pub id: String,
    pub order_id: String,
    /// The store platform's id for it (a Shopify fulfillment id), if a platform sent it.
    pub external_id: Option<String>,
    /// The shopper's tracking page is `/track/{tracking_token}`.
    pub tracking_token: String,
    pub carrier: String,
    pub tracking_number: String,
    pub tracking_url: Option<String>,
    pub status: &'static str,
    pub estimated_delivery: Option<DateTime<Utc>>,
    pub last_event_at: Option<DateTime<Utc>>,
    /// Carrier scans, oldest first.
    pub events: Vec<TrackingEventOut>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Shipment> for ShipmentOut {
    fn from(s: Shipment) -> Self {
        ShipmentOut {
            id: s.id.into_string(),
            order_id: s.order_id.into_string(),
            external_id: s.external_id,
            tracking_token: s.tracking_token,
            carrier: s.carrier,
            tracking_number: s.tracking_number,
            tracking_url: s.tracking_url,
            status: s.status.as_str(),
            estimated_delivery: s.estimated_delivery,
            last_event_at: s.last_event_at,
            events: s.events.into_iter().map(Into::into).collect(),
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

// ---- access: tokens, agents, teams ---------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    #[schema(schema_with = schema::label)]
    pub name: String,
    /// `admin` or `agent` (default).
    #[schema(schema_with = schema::role_or_null)]
    pub role: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenOut {
    pub id: String,
    pub name: String,
    pub role: &'static str,
    /// The first characters of the token.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The token itself: present only in the response that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl TokenOut {
    pub fn new(t: concierge_store::access::ApiToken, secret: Option<String>) -> Self {
        TokenOut {
            id: t.id.into_string(),
            name: t.name,
            role: t.role.as_str(),
            prefix: t.prefix,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
            token: secret,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AgentOut {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: &'static str,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl From<concierge_store::access::Agent> for AgentOut {
    fn from(a: concierge_store::access::Agent) -> Self {
        AgentOut {
            id: a.id.into_string(),
            email: a.email,
            name: a.name,
            role: a.role.as_str(),
            active: a.active,
            created_at: a.created_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTeam {
    #[schema(schema_with = schema::label)]
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct TeamOut {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<concierge_store::access::Team> for TeamOut {
    fn from(t: concierge_store::access::Team) -> Self {
        TeamOut {
            id: t.id.into_string(),
            name: t.name,
            created_at: t.created_at,
        }
    }
}

// ---- background jobs and audit -------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// `queued`, `running`, `done` or `dead`.
    #[param(schema_with = schema::job_status_or_blank)]
    pub status: Option<String>,
    /// Rows per page: default 50, at most 200.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    #[param(schema_with = schema::cursor)]
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct JobOut {
    pub id: String,
    pub kind: String,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub status: &'static str,
    pub run_at: DateTime<Utc>,
    pub attempts: i32,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Job> for JobOut {
    fn from(j: Job) -> Self {
        JobOut {
            id: j.id.into_string(),
            kind: j.kind,
            payload: j.payload,
            status: j.status.as_str(),
            run_at: j.run_at,
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            last_error: j.last_error,
            created_at: j.created_at,
            updated_at: j.updated_at,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// With `subject_id`: only entries about this record (`conversation`, `order`, …).
    pub subject_type: Option<String>,
    pub subject_id: Option<String>,
    /// Rows per page: default 50, at most 200.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    #[param(schema_with = schema::cursor)]
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditOut {
    pub id: String,
    /// `agent`, `token` or `system`.
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub subject_type: String,
    pub subject_id: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl From<concierge_store::audit::AuditRecord> for AuditOut {
    fn from(r: concierge_store::audit::AuditRecord) -> Self {
        AuditOut {
            id: r.id,
            actor_type: r.actor_type,
            actor_id: r.actor_id,
            action: r.action,
            subject_type: r.subject_type,
            subject_id: r.subject_id,
            details: r.details,
            created_at: r.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    #[schema(schema_with = schema::email_address)]
    pub email: String,
    pub password: String,
    /// For agents with two-factor sign-in: the authenticator's 6-digit code, or one of the
    /// recovery codes.
    pub code: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    pub code: String,
}

/// A TOTP secret being enrolled: add it to an authenticator app (the URL is what a QR code
/// would hold), then confirm with a code it shows.
#[derive(Serialize, ToSchema)]
pub struct TotpEnrollment {
    /// Base32, for typing in by hand.
    pub secret: String,
    pub otpauth_url: String,
}

/// Shown once: each code signs in once in place of the authenticator's.
#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

/// A signed-in browser session. The cookie itself travels in `Set-Cookie` only.
#[derive(Serialize, ToSchema)]
pub struct SessionOut {
    pub agent: AgentOut,
    /// Send it as `X-CSRF-Token` with every write made with the session cookie.
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

impl From<concierge_store::sessions::AgentSession> for SessionOut {
    fn from(s: concierge_store::sessions::AgentSession) -> Self {
        SessionOut {
            agent: s.agent.into(),
            csrf_token: s.csrf_token,
            expires_at: s.expires_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgent {
    #[schema(schema_with = schema::email_address)]
    pub email: String,
    #[schema(schema_with = schema::person_name)]
    pub name: String,
    /// `admin` or `agent` (default).
    #[schema(schema_with = schema::role_or_null)]
    pub role: Option<String>,
    /// At least 10 characters; stored only as an argon2id hash.
    #[schema(min_length = 10)]
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAgent {
    #[schema(schema_with = schema::role_or_blank)]
    pub role: Option<String>,
    /// `false` deactivates the agent and signs all their sessions out.
    pub active: Option<bool>,
    /// `true` turns the agent's two-factor sign-in off (they lost their phone and recovery
    /// codes): their secret and codes are deleted and their sessions signed out, so they
    /// sign in with the password alone and enrol again.
    #[serde(default)]
    pub reset_two_factor: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveCannedReply {
    /// What agents type after `/` to insert it: letters, digits, `-`, `_`.
    pub shortcut: String,
    pub title: String,
    /// The text, with `{{variables}}` such as `{{customer.first_name}}`, `{{order.number}}`,
    /// `{{shipment.tracking_url}}`.
    pub body: String,
}

#[derive(Serialize, ToSchema)]
pub struct CannedReplyOut {
    pub id: String,
    pub shortcut: String,
    pub title: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<concierge_store::replies::CannedReply> for CannedReplyOut {
    fn from(r: concierge_store::replies::CannedReply) -> Self {
        CannedReplyOut {
            id: r.id.into_string(),
            shortcut: r.shortcut,
            title: r.title,
            body: r.body,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A canned reply filled in for one conversation.
#[derive(Serialize, ToSchema)]
pub struct FilledReply {
    pub body: String,
    /// Variables that had no value for this conversation (left empty in `body`).
    pub missing: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TagOut {
    pub name: String,
    /// Conversations carrying it.
    pub conversations: i64,
}
