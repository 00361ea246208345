//! Order actions an agent takes from the conversation view: cancel, refund (all or some line
//! items), resend the shipping confirmation, change the shipping address.
//!
//! A Shopify order is changed through the Admin API, and what Shopify answers is applied
//! here at once. Any other order (from the API, a CSV, WooCommerce) is recorded as a request
//! for the team to carry out on its platform. Either way the outcome, or the failure in
//! Shopify's words, is written to the conversation as a private system note and to the audit
//! log. A failed call changes nothing here; Shopify's calls are each all-or-nothing, and a
//! refund is sent only as Shopify itself calculated it.

use crate::admin::{AdminError, ShopifyAdmin};
use crate::shopify;
use concierge_domain::access::Actor;
use concierge_domain::commerce::{CancelReason, OrderAction};
use concierge_domain::conversation::SenderType;
use concierge_domain::ids::{ConversationId, LineItemId};
use concierge_domain::text::MessageBody;
use concierge_store::audit::AuditEntry;
use concierge_store::commerce::Order;
use concierge_store::conversations::NewMessage;
use concierge_store::{Store, StoreError};
use serde_json::{json, Value};

/// What the agent asked for: an [`OrderAction`] with what it needs.
#[derive(Debug, Clone)]
pub enum Action {
    Cancel {
        reason: CancelReason,
        notify: bool,
    },
    /// `lines` empty refunds everything.
    Refund {
        lines: Vec<(LineItemId, i64)>,
        shipping: bool,
        notify: bool,
    },
    Resend,
    ChangeAddress(Value),
}

impl Action {
    /// Which action this is.
    pub fn kind(&self) -> OrderAction {
        match self {
            Action::Cancel { .. } => OrderAction::Cancel,
            Action::Refund { .. } => OrderAction::Refund,
            Action::Resend => OrderAction::Resend,
            Action::ChangeAddress(_) => OrderAction::ChangeAddress,
        }
    }

    fn describe(&self, order: &Order) -> String {
        let n = &order.number;
        match self {
            Action::Cancel { reason, .. } => format!("cancel order {n} (reason: {reason})"),
            Action::Refund {
                lines, shipping, ..
            } if lines.is_empty() => {
                format!(
                    "refund order {n} in full{}",
                    if *shipping { " with shipping" } else { "" }
                )
            }
            Action::Refund {
                lines, shipping, ..
            } => {
                let items: Vec<String> = lines
                    .iter()
                    .map(|(id, q)| {
                        let title = order
                            .line_items
                            .iter()
                            .find(|l| &l.id == id)
                            .map_or("an item", |l| l.title.as_str());
                        format!("{q} × {title}")
                    })
                    .collect();
                format!(
                    "refund {} from order {n}{}",
                    items.join(", "),
                    if *shipping { " with shipping" } else { "" }
                )
            }
            Action::Resend => format!("send the shipping confirmation for order {n} again"),
            Action::ChangeAddress(a) => format!(
                "change the shipping address of order {n} to {}",
                one_line_address(a)
            ),
        }
    }
}

fn one_line_address(a: &Value) -> String {
    [
        "name", "address1", "address2", "zip", "city", "province", "country",
    ]
    .iter()
    .filter_map(|k| {
        a.get(*k)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
    })
    .collect::<Vec<_>>()
    .join(", ")
}

/// What became of an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done on the platform; the note says what.
    Done(String),
    /// Recorded for the team to do on the order's platform.
    Requested(String),
}

/// Why an action did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The request itself is wrong (an item not on the order, a quantity too high).
    #[error("{1}")]
    Invalid(&'static str, String),
    /// The platform refused or failed; nothing was changed.
    #[error("{0}")]
    Platform(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Carries out `action` on `order` (see the module docs), noting it on `conversation`.
pub async fn perform(
    store: &Store,
    admin: Option<&ShopifyAdmin>,
    order: &Order,
    action: &Action,
    conversation: Option<&ConversationId>,
    actor: &Actor,
) -> Result<Outcome, ActionError> {
    if let Action::Refund { lines, .. } = action {
        for (id, q) in lines {
            let item = order
                .line_items
                .iter()
                .find(|l| &l.id == id)
                .ok_or_else(|| {
                    ActionError::Invalid(
                        "line_items",
                        format!("{id} is not an item of order {}", order.number),
                    )
                })?;
            if *q < 1 || *q > item.quantity {
                return Err(ActionError::Invalid(
                    "line_items",
                    format!(
                        "{} can be refunded 1 to {} times",
                        item.title, item.quantity
                    ),
                ));
            }
        }
    }
    let what = action.describe(order);
    let platform = (order.source == shopify::SOURCE.as_str())
        .then_some(admin)
        .flatten();
    let Some(admin) = platform else {
        let note = format!(
            "Requested: {what}. This order comes from {}, which Concierge does not change itself; please do it there.",
            if order.source == shopify::SOURCE.as_str() { "Shopify, but no Admin API access is configured" } else { order.source.as_str() }
        );
        record(
            store,
            order,
            action,
            conversation,
            actor,
            &note,
            "requested",
        )
        .await?;
        return Ok(Outcome::Requested(note));
    };
    match run(store, admin, order, action).await {
        Ok(detail) => {
            let note = format!("Done on Shopify: {what}.{detail}");
            record(store, order, action, conversation, actor, &note, "done").await?;
            Ok(Outcome::Done(note))
        }
        Err(e) => {
            let note = match e {
                // The call may have gone through on Shopify's side; only it can say.
                AdminError::NoAnswer(_) => format!(
                    "Could not {what}: {e}. Nothing was changed here; check the order on Shopify before trying again, in case it went through."
                ),
                _ => format!("Could not {what}: {e}. Nothing was changed."),
            };
            record(store, order, action, conversation, actor, &note, "failed").await?;
            Err(ActionError::Platform(note))
        }
    }
}

/// Calls Shopify and applies its answer here; returns a detail for the note.
async fn run(
    store: &Store,
    admin: &ShopifyAdmin,
    order: &Order,
    action: &Action,
) -> Result<String, AdminError> {
    let id = order.external_id.as_str();
    let apply = |v: Value| async move {
        if let Ok(changes) = shopify::order_changes(&v, order.shop.as_deref(), false) {
            for c in changes {
                if let Err(e) = crate::apply::apply(store, c, &Actor::System).await {
                    tracing::warn!(error = %e, "Shopify's answer to an order action could not be applied; the next webhook will");
                }
            }
        }
    };
    match action {
        Action::Cancel { reason, notify } => {
            let v = admin.cancel(id, *reason, *notify).await?;
            apply(v).await;
            Ok(String::new())
        }
        Action::ChangeAddress(address) => {
            let v = admin.change_address(id, address).await?;
            apply(v).await;
            Ok(String::new())
        }
        Action::Resend => {
            let s = order
                .shipments
                .iter()
                .rev()
                .find(|s| s.external_id.is_some())
                .ok_or_else(|| AdminError::Refused {
                    status: 422,
                    message: "nothing has shipped yet".into(),
                })?;
            admin
                .resend_shipping(
                    s.external_id.as_deref().unwrap_or_default(),
                    &s.tracking_number,
                    &s.carrier,
                    s.tracking_url.as_deref(),
                )
                .await?;
            Ok(String::new())
        }
        Action::Refund {
            lines,
            shipping,
            notify,
        } => {
            // Shopify knows line items by its ids; ours follow its order of items, so the
            // order as Shopify has it now tells which is which (and whether it changed).
            let remote = admin.order(id).await?;
            let remote_items: Vec<&Value> = remote
                .get("line_items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|li| li.get("quantity").and_then(Value::as_i64).unwrap_or(0) > 0)
                .collect();
            let all: Vec<(LineItemId, i64)> = order
                .line_items
                .iter()
                .map(|l| (l.id.clone(), l.quantity))
                .collect();
            let wanted = if lines.is_empty() { &all } else { lines };
            let mut shopify_lines = Vec::new();
            for (lid, q) in wanted {
                let pos = order
                    .line_items
                    .iter()
                    .position(|l| &l.id == lid)
                    .unwrap_or(usize::MAX);
                let remote_item = remote_items.get(pos).filter(|r| {
                    let ours = &order.line_items[pos];
                    r.get("title").and_then(Value::as_str) == Some(ours.title.as_str())
                        || r.get("sku").and_then(Value::as_str) == ours.sku.as_deref()
                });
                let remote_id = remote_item
                    .and_then(|r| r.get("id"))
                    .and_then(crate::id_text)
                    .ok_or_else(|| AdminError::Refused {
                        status: 409,
                        message: "the order changed on Shopify; reload it and try again".into(),
                    })?;
                shopify_lines.push((remote_id, *q));
            }
            let refund = admin
                .refund(
                    id,
                    &shopify_lines,
                    *shipping,
                    "Refunded from Concierge",
                    *notify,
                )
                .await?;
            let amount: String = refund
                .get("transactions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|t| t.get("amount").and_then(Value::as_str))
                .map(str::to_owned)
                .collect::<Vec<_>>()
                .join(" + ");
            if let Some(rid) = refund.get("id").and_then(crate::id_text) {
                let mut r = refund.clone();
                r["id"] = Value::String(rid);
                if r.get("created_at").is_none() {
                    r["created_at"] = json!(chrono::Utc::now().to_rfc3339());
                }
                r["order_id"] = json!(id);
                let body = serde_json::to_vec(&r).unwrap_or_default();
                if let Ok(crate::Parsed::Changes(changes)) =
                    shopify::parse("refunds/create", &body, None)
                {
                    for c in changes {
                        let _ = crate::apply::apply(store, c, &Actor::System).await;
                    }
                }
            }
            Ok(if amount.is_empty() {
                String::new()
            } else {
                format!(" Amount: {amount} {}.", order.currency)
            })
        }
    }
}

async fn record(
    store: &Store,
    order: &Order,
    action: &Action,
    conversation: Option<&ConversationId>,
    actor: &Actor,
    note: &str,
    result: &str,
) -> Result<(), StoreError> {
    if let Some(c) = conversation {
        let short: String = note.chars().take(4000).collect();
        if let Ok(body) = MessageBody::parse(&short) {
            let mut m = NewMessage::text(SenderType::System, body);
            m.private = true;
            store.append_message(c, m).await?;
        }
        store.link_order(c, &order.id).await?;
    }
    store
        .audit(AuditEntry::new(
            actor,
            match action.kind() {
                OrderAction::Cancel => "order.cancel",
                OrderAction::Refund => "order.refund",
                OrderAction::Resend => "order.resend",
                OrderAction::ChangeAddress => "order.change_address",
            },
            "order",
            order.id.as_str(),
            json!({ "result": result, "note": note, "conversation_id": conversation.map(|c| c.as_str()) }),
        ))
        .await
}
