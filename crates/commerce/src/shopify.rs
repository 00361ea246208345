//! Shopify's webhook payloads (the REST resource of each topic, bare) mapped to [`Change`]s.
//!
//! Topics: `orders/create|updated|cancelled|fulfilled|paid` (an order, with its fulfillments
//! and refunds), `fulfillments/create|update`, `refunds/create`, `customers/create|update`.
//! Money comes as decimal strings and stays exact; ids may be numbers or strings.

use crate::apply::{Change, Parsed};
use crate::{id_text, money, text, timestamp, Malformed};
use concierge_domain::commerce::{
    Amount, Currency, FinancialStatus, FulfillmentStatus, OrderNumber, OrderStatus, Platform,
    Quantity, TrackingStatus,
};
use concierge_domain::contact::{EmailAddress, PhoneNumber};
use concierge_domain::text::PersonName;
use concierge_store::commerce::{NewLineItem, OrderUpsert, RefundUpsert, ShipmentUpsert};
use concierge_store::customers::CustomerRef;
use serde_json::Value;

/// The platform this module reads (and the `source` of the orders it reads).
pub const SOURCE: Platform = Platform::Shopify;

/// The topics we act on; any other is acknowledged and ignored.
pub const TOPICS: &[&str] = &[
    "orders/create",
    "orders/updated",
    "orders/cancelled",
    "orders/fulfilled",
    "orders/paid",
    "fulfillments/create",
    "fulfillments/update",
    "refunds/create",
    "customers/create",
    "customers/update",
];

/// The changes one delivery of `topic` asks for. `shop` is the `X-Shopify-Shop-Domain`.
pub fn parse(topic: &str, body: &[u8], shop: Option<&str>) -> Result<Parsed, Malformed> {
    if !TOPICS.contains(&topic) {
        return Ok(Parsed::Ignored);
    }
    let v: Value =
        serde_json::from_slice(body).map_err(|e| Malformed::new(format!("not JSON: {e}")))?;
    let v = unwrap(v, topic);
    let changes = match topic.split('/').next() {
        Some("orders") => order_changes(&v, shop, true)?,
        Some("fulfillments") => {
            let order_id = v
                .get("order_id")
                .and_then(id_text)
                .ok_or_else(|| Malformed::new("order_id is missing"))?;
            fulfillment(&v, &order_id)?
                .map(Change::Shipment)
                .into_iter()
                .collect()
        }
        Some("refunds") => {
            let order_id = v
                .get("order_id")
                .and_then(id_text)
                .ok_or_else(|| Malformed::new("order_id is missing"))?;
            vec![Change::Refund(refund(&v, &order_id)?)]
        }
        Some("customers") => vec![Change::Customer(customer_ref(&v, None)?)],
        _ => vec![],
    };
    Ok(Parsed::Changes(changes))
}

/// The resource inside a REST-style wrapper (`{"order": {...}}`), which the Admin API
/// answers with and some relays forward; a webhook body is the bare resource.
fn unwrap(v: Value, topic: &str) -> Value {
    let key = match topic.split('/').next() {
        Some("orders") => "order",
        Some("fulfillments") => "fulfillment",
        Some("refunds") => "refund",
        Some("customers") => "customer",
        _ => return v,
    };
    match v {
        Value::Object(mut map)
            if !map.contains_key("id") && map.get(key).is_some_and(Value::is_object) =>
        {
            map.remove(key).unwrap_or(Value::Null)
        }
        other => other,
    }
}

fn required<'a>(v: &'a Value, key: &str) -> Result<&'a str, Malformed> {
    text(v, key).ok_or_else(|| Malformed::new(format!("{key} is missing")))
}

/// An order, and the fulfillments and refunds it carries: what every `orders/*` topic and the
/// Admin API's order list hold. `announce` is whether its shipments may notify the shopper
/// (not for a backfill of history).
pub fn order_changes(
    v: &Value,
    shop: Option<&str>,
    announce: bool,
) -> Result<Vec<Change>, Malformed> {
    let order = order(v, shop)?;
    let external = order.external_id.clone();
    let mut changes = vec![Change::Order(Box::new(order))];
    for f in v
        .get("fulfillments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(mut s) = fulfillment(f, &external)? {
            s.announce = announce;
            changes.push(Change::Shipment(s));
        }
    }
    for r in v
        .get("refunds")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        changes.push(Change::Refund(refund(r, &external)?));
    }
    Ok(changes)
}

fn order(v: &Value, shop: Option<&str>) -> Result<OrderUpsert, Malformed> {
    let external_id = v
        .get("id")
        .and_then(id_text)
        .ok_or_else(|| Malformed::new("id is missing"))?;
    let number = text(v, "name")
        .map(str::to_owned)
        .or_else(|| {
            v.get("order_number")
                .and_then(id_text)
                .map(|n| format!("#{n}"))
        })
        .ok_or_else(|| Malformed::new("name and order_number are missing"))?;
    let number =
        OrderNumber::parse(&number).map_err(|e| Malformed::new(format!("name: {}", e.0)))?;
    let status = if v.get("cancelled_at").is_some_and(|c| !c.is_null()) {
        OrderStatus::Cancelled
    } else if v.get("closed_at").is_some_and(|c| !c.is_null()) {
        OrderStatus::Closed
    } else {
        OrderStatus::Open
    };
    let financial_status = match text(v, "financial_status") {
        None => FinancialStatus::Pending,
        Some("expired") => FinancialStatus::Voided,
        Some(s) => FinancialStatus::parse(s).unwrap_or(FinancialStatus::Pending),
    };
    let fulfillment_status = match text(v, "fulfillment_status") {
        None | Some("null") => FulfillmentStatus::Unfulfilled,
        Some("partially_fulfilled") => FulfillmentStatus::Partial,
        Some(s) => FulfillmentStatus::parse(s).unwrap_or(FulfillmentStatus::Unfulfilled),
    };
    let currency = Currency::parse(required(v, "currency")?)
        .map_err(|e| Malformed::new(format!("currency: {}", e.0)))?;
    let total = money("total_price", required(v, "total_price")?)?;
    let placed = text(v, "processed_at")
        .or_else(|| text(v, "created_at"))
        .ok_or_else(|| Malformed::new("created_at is missing"))?;
    let placed_at = timestamp("created_at", placed)?;
    let source_updated_at = text(v, "updated_at")
        .map(|t| timestamp("updated_at", t))
        .transpose()?;
    let mut line_items = Vec::new();
    for (i, li) in v
        .get("line_items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let quantity = li.get("quantity").and_then(Value::as_i64).unwrap_or(0);
        if quantity <= 0 {
            // Removed by an order edit.
            continue;
        }
        let title = text(li, "title")
            .or_else(|| text(li, "name"))
            .unwrap_or("Item");
        line_items.push(NewLineItem {
            sku: text(li, "sku").map(|s| s.chars().take(100).collect()),
            title: title.chars().take(500).collect(),
            quantity: Quantity::new(quantity)
                .map_err(|e| Malformed::new(format!("line_items[{i}].quantity: {}", e.0)))?,
            price: money(
                &format!("line_items[{i}].price"),
                text(li, "price").unwrap_or("0"),
            )?,
        });
    }
    let customer =
        customer_ref(v.get("customer").unwrap_or(&Value::Null), Some(v)).or_else(|_| {
            Ok::<_, Malformed>(CustomerRef {
                // Nothing names the shopper (a point-of-sale order, a guest without contact
                // details): a customer of this order alone, without an address.
                external: Some((SOURCE.to_string(), format!("order-{external_id}"))),
                ..CustomerRef::default()
            })
        })?;
    Ok(OrderUpsert {
        source: SOURCE.to_string(),
        external_id,
        number,
        customer,
        status,
        financial_status,
        fulfillment_status,
        currency,
        total,
        placed_at,
        line_items,
        shipping_address: v.get("shipping_address").filter(|a| a.is_object()).cloned(),
        source_updated_at,
        shop: shop.map(str::to_owned),
    })
}

/// The shopper as a Shopify customer object names them, with the order's own contact
/// details (`order`) filling gaps. Phone numbers not in international form are left out
/// rather than guessed.
fn customer_ref(c: &Value, order: Option<&Value>) -> Result<CustomerRef, Malformed> {
    let email = text(c, "email")
        .or_else(|| order.and_then(|o| text(o, "email").or_else(|| text(o, "contact_email"))))
        .and_then(|e| EmailAddress::parse(e).ok());
    let phone = text(c, "phone")
        .or_else(|| order.and_then(|o| text(o, "phone")))
        .or_else(|| c.get("default_address").and_then(|a| text(a, "phone")))
        .and_then(|p| PhoneNumber::parse(p).ok());
    let name = [text(c, "first_name"), text(c, "last_name")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let name = Some(name)
        .filter(|n| !n.is_empty())
        .or_else(|| {
            order
                .and_then(|o| o.get("shipping_address"))
                .and_then(|a| text(a, "name"))
                .map(str::to_owned)
        })
        .and_then(|n| PersonName::parse(&n).ok());
    let external = c
        .get("id")
        .and_then(id_text)
        .map(|id| (SOURCE.to_string(), id));
    let who = CustomerRef {
        name,
        email,
        phone,
        external,
    };
    if who.is_empty() {
        return Err(Malformed::new("the customer has no id, email or phone"));
    }
    Ok(who)
}

/// Shopify's `shipment_status` in our vocabulary. `ready_for_pickup` waits at a pickup
/// point: still on its way as far as our vocabulary goes (the carrier's words say where).
fn shipment_status(s: &str) -> Option<TrackingStatus> {
    Some(match s {
        "label_printed" | "label_purchased" | "confirmed" => TrackingStatus::InfoReceived,
        "in_transit" | "ready_for_pickup" => TrackingStatus::InTransit,
        "out_for_delivery" => TrackingStatus::OutForDelivery,
        "attempted_delivery" => TrackingStatus::AttemptFailed,
        "delivered" => TrackingStatus::Delivered,
        "failure" => TrackingStatus::Exception,
        _ => return None,
    })
}

/// A fulfillment as a shipment; `None` for one that was cancelled before it left.
fn fulfillment(f: &Value, order_external_id: &str) -> Result<Option<ShipmentUpsert>, Malformed> {
    if text(f, "status") == Some("cancelled") {
        return Ok(None);
    }
    let external_id = f
        .get("id")
        .and_then(id_text)
        .ok_or_else(|| Malformed::new("fulfillment id is missing"))?;
    let tracking_number = text(f, "tracking_number")
        .or_else(|| {
            f.get("tracking_numbers")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(Value::as_str)
        })
        .unwrap_or("");
    let tracking_url = text(f, "tracking_url")
        .or_else(|| {
            f.get("tracking_urls")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(Value::as_str)
        })
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .map(|u| u.chars().take(2000).collect());
    let updated = text(f, "updated_at").or_else(|| text(f, "created_at"));
    let source_updated_at = updated.map(|t| timestamp("updated_at", t)).transpose()?;
    let scan = match (
        text(f, "shipment_status").and_then(shipment_status),
        source_updated_at,
    ) {
        (Some(status), Some(at)) => Some((status, at)),
        _ => None,
    };
    let estimated_delivery = text(f, "estimated_delivery_at")
        .map(|t| timestamp("estimated_delivery_at", t))
        .transpose()?;
    Ok(Some(ShipmentUpsert {
        source: SOURCE.to_string(),
        order_external_id: order_external_id.to_owned(),
        external_id,
        carrier: text(f, "tracking_company")
            .unwrap_or("")
            .chars()
            .take(100)
            .collect(),
        tracking_number: tracking_number.chars().take(100).collect(),
        tracking_url,
        estimated_delivery,
        scan,
        source_updated_at,
        announce: true,
    }))
}

/// A refund: the sum of its successful refund transactions (exact decimals).
fn refund(r: &Value, order_external_id: &str) -> Result<RefundUpsert, Malformed> {
    let external_id = r
        .get("id")
        .and_then(id_text)
        .ok_or_else(|| Malformed::new("refund id is missing"))?;
    let mut amount = Amount::zero();
    for t in r
        .get("transactions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let counts =
            text(t, "kind") == Some("refund") && text(t, "status").is_none_or(|s| s == "success");
        if counts {
            let a = money("transactions.amount", text(t, "amount").unwrap_or("0"))?;
            amount = amount
                .checked_add(a)
                .ok_or_else(|| Malformed::new("refund amount out of range"))?;
        }
    }
    let created_at = timestamp("created_at", required(r, "created_at")?)?;
    Ok(RefundUpsert {
        source: SOURCE.to_string(),
        order_external_id: order_external_id.to_owned(),
        external_id,
        amount,
        note: text(r, "note").map(|n| n.chars().take(2000).collect()),
        created_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/../../fixtures/shopify/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn changes(topic: &str, body: &[u8]) -> Vec<Change> {
        match parse(topic, body, Some("shop.myshopify.com")).unwrap() {
            Parsed::Changes(c) => c,
            Parsed::Ignored => panic!("{topic} ignored"),
        }
    }

    #[test]
    fn the_published_order_maps_to_an_order_with_its_fulfillment() {
        let c = changes("orders/create", &fixture("order.json"));
        let Change::Order(o) = &c[0] else {
            panic!("first change is the order")
        };
        assert_eq!(o.external_id, "450789469");
        assert_eq!(o.number.as_str(), "#1001");
        assert_eq!(o.total.to_string(), "409.94");
        assert_eq!(o.currency.as_str(), "USD");
        assert_eq!(o.financial_status, FinancialStatus::Authorized);
        assert_eq!(o.fulfillment_status, FulfillmentStatus::Unfulfilled);
        assert_eq!(
            o.customer.email.as_ref().unwrap().as_str(),
            "bob.norman@hostmail.com"
        );
        assert_eq!(
            o.customer.external,
            Some(("shopify".into(), "207119551".into()))
        );
        assert_eq!(o.customer.name.as_ref().unwrap().as_str(), "Bob Norman");
        assert!(
            o.customer.phone.is_none(),
            "555-625-1199 has no country code"
        );
        assert_eq!(o.line_items.len(), 3);
        assert_eq!(o.line_items[0].price.to_string(), "199.00");
        let Change::Shipment(s) = &c[1] else {
            panic!("then its fulfillment")
        };
        assert_eq!(s.tracking_number, "1Z2345");
        assert_eq!(s.order_external_id, "450789469");
    }

    #[test]
    fn every_published_order_parses() {
        for name in [
            "python_api__order.json",
            "app_js_2026_07__order_full.json",
            "app_js_2026_07__order_create_response.json",
            "app_js_2026_07__order_create_response_3.json",
            "app_js_2026_07__order_cancel_response.json",
        ] {
            let c = changes("orders/updated", &fixture(name));
            assert!(matches!(c[0], Change::Order(_)), "{name}");
        }
        let c = changes(
            "orders/cancelled",
            &fixture("app_js_2026_07__order_cancel_response.json"),
        );
        let Change::Order(o) = &c[0] else {
            unreachable!()
        };
        assert_eq!(o.status, OrderStatus::Cancelled);
    }

    #[test]
    fn fulfillments_refunds_and_customers_map() {
        let c = changes("fulfillments/create", &fixture("fulfillment.json"));
        let Change::Shipment(s) = &c[0] else { panic!() };
        assert_eq!(
            (s.carrier.as_str(), s.tracking_number.as_str()),
            ("null-company", "1Z2345")
        );
        assert_eq!(
            s.tracking_url.as_deref(),
            Some("http://www.google.com/search?q=1Z2345")
        );
        let c = changes("refunds/create", &fixture("refund.json"));
        let Change::Refund(r) = &c[0] else { panic!() };
        assert_eq!(r.amount.to_string(), "209.00");
        assert_eq!(r.order_external_id, "450789469");
        let c = changes("customers/create", &fixture("customer.json"));
        let Change::Customer(who) = &c[0] else {
            panic!()
        };
        assert_eq!(who.external, Some(("shopify".into(), "207119551".into())));
    }

    #[test]
    fn unknown_topics_are_ignored_and_junk_is_malformed() {
        assert!(matches!(
            parse("products/create", b"{}", None),
            Ok(Parsed::Ignored)
        ));
        assert!(parse("orders/create", b"{not json", None).is_err());
        assert!(parse("orders/create", b"{}", None).is_err());
        let float_money = br##"{"id":1,"name":"#1","currency":"EUR","total_price":10.5,"created_at":"2026-01-01T00:00:00Z"}"##;
        assert!(
            parse("orders/create", float_money, None).is_err(),
            "money must come as a string"
        );
    }

    #[test]
    fn an_order_without_email_is_matched_by_phone_or_stands_alone() {
        let body = br##"{"id":7,"name":"#7","currency":"EUR","total_price":"5.00","created_at":"2026-01-01T00:00:00Z","phone":"+49 30 1234567"}"##;
        let c = changes("orders/create", body);
        let Change::Order(o) = &c[0] else { panic!() };
        assert_eq!(o.customer.phone.as_ref().unwrap().as_str(), "+49301234567");
        let body = br##"{"id":8,"name":"#8","currency":"EUR","total_price":"5.00","created_at":"2026-01-01T00:00:00Z"}"##;
        let c = changes("orders/create", body);
        let Change::Order(o) = &c[0] else { panic!() };
        assert_eq!(
            o.customer.external,
            Some(("shopify".into(), "order-8".into()))
        );
        assert!(o.customer.email.is_none());
    }
}
