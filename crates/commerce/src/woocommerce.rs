//! WooCommerce's webhook payloads (REST API v3 objects) mapped to [`Change`]s.
//!
//! Topics: `order.created|updated|restored` (an order, with its refunds) and
//! `customer.created|updated`. WooCommerce sends unit prices as JSON numbers; we never read
//! money from a float, so a line's unit price is its `subtotal` string divided by its
//! quantity, exactly (rounded to four places only when it does not divide).

use crate::apply::{Change, Parsed};
use crate::{id_text, money, text, timestamp, Malformed};
use concierge_domain::commerce::{
    Amount, Currency, FinancialStatus, FulfillmentStatus, OrderNumber, OrderStatus, Platform,
    Quantity,
};
use concierge_domain::contact::{EmailAddress, PhoneNumber};
use concierge_domain::text::PersonName;
use concierge_store::commerce::{NewLineItem, OrderUpsert, RefundUpsert};
use concierge_store::customers::CustomerRef;
use rust_decimal::Decimal;
use serde_json::Value;

/// The platform this module reads (and the `source` of the orders it reads).
pub const SOURCE: Platform = Platform::WooCommerce;

pub const TOPICS: &[&str] = &[
    "order.created",
    "order.updated",
    "order.restored",
    "customer.created",
    "customer.updated",
];

pub fn parse(topic: &str, body: &[u8], shop: Option<&str>) -> Result<Parsed, Malformed> {
    if !TOPICS.contains(&topic) {
        return Ok(Parsed::Ignored);
    }
    let v: Value =
        serde_json::from_slice(body).map_err(|e| Malformed::new(format!("not JSON: {e}")))?;
    // The legacy v3 API wraps the resource (`{"order": {...}}`).
    let key = if topic.starts_with("order.") {
        "order"
    } else {
        "customer"
    };
    let v = match v {
        Value::Object(mut m)
            if !m.contains_key("id") && m.get(key).is_some_and(Value::is_object) =>
        {
            m.remove(key).unwrap_or(Value::Null)
        }
        other => other,
    };
    let changes = if key == "order" {
        order_changes(&v, shop)?
    } else {
        vec![Change::Customer(customer_ref(&v)?)]
    };
    Ok(Parsed::Changes(changes))
}

fn customer_ref(v: &Value) -> Result<CustomerRef, Malformed> {
    let billing = v.get("billing").unwrap_or(&Value::Null);
    let email = text(v, "email")
        .or_else(|| text(billing, "email"))
        .and_then(|e| EmailAddress::parse(e).ok());
    let phone = text(billing, "phone").and_then(|p| PhoneNumber::parse(p).ok());
    let first = text(v, "first_name").or_else(|| text(billing, "first_name"));
    let last = text(v, "last_name").or_else(|| text(billing, "last_name"));
    let name = [first, last]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let name = Some(name)
        .filter(|n| !n.is_empty())
        .and_then(|n| PersonName::parse(&n).ok());
    // Orders carry the customer's id as `customer_id` (0 for guests); customers as `id`.
    let id = v
        .get("customer_id")
        .or_else(|| v.get("id"))
        .and_then(id_text)
        .filter(|id| id != "0");
    let who = CustomerRef {
        name,
        email,
        phone,
        external: id.map(|id| (SOURCE.to_string(), id)),
    };
    if who.is_empty() {
        return Err(Malformed::new("the customer has no id, email or phone"));
    }
    Ok(who)
}

fn order_changes(v: &Value, shop: Option<&str>) -> Result<Vec<Change>, Malformed> {
    let external_id = v
        .get("id")
        .and_then(id_text)
        .ok_or_else(|| Malformed::new("id is missing"))?;
    let number = v
        .get("number")
        .and_then(id_text)
        .unwrap_or_else(|| external_id.clone());
    let number = OrderNumber::parse(&format!("#{}", number.trim_start_matches('#')))
        .map_err(|e| Malformed::new(format!("number: {}", e.0)))?;
    let wc_status = text(v, "status").unwrap_or("pending");
    let (status, financial_status, fulfillment_status) = match wc_status {
        "processing" => (
            OrderStatus::Open,
            FinancialStatus::Paid,
            FulfillmentStatus::Unfulfilled,
        ),
        "completed" => (
            OrderStatus::Closed,
            FinancialStatus::Paid,
            FulfillmentStatus::Fulfilled,
        ),
        "cancelled" | "trash" => (
            OrderStatus::Cancelled,
            FinancialStatus::Voided,
            FulfillmentStatus::Unfulfilled,
        ),
        "refunded" => (
            OrderStatus::Closed,
            FinancialStatus::Refunded,
            FulfillmentStatus::Unfulfilled,
        ),
        "failed" => (
            OrderStatus::Cancelled,
            FinancialStatus::Pending,
            FulfillmentStatus::Unfulfilled,
        ),
        // pending, on-hold, checkout-draft, and statuses added by plugins.
        _ => (
            OrderStatus::Open,
            FinancialStatus::Pending,
            FulfillmentStatus::Unfulfilled,
        ),
    };
    let currency =
        Currency::parse(text(v, "currency").ok_or_else(|| Malformed::new("currency is missing"))?)
            .map_err(|e| Malformed::new(format!("currency: {}", e.0)))?;
    let total = money(
        "total",
        text(v, "total").ok_or_else(|| Malformed::new("total is missing"))?,
    )?;
    let created =
        text(v, "date_created_gmt").ok_or_else(|| Malformed::new("date_created_gmt is missing"))?;
    let placed_at = timestamp("date_created_gmt", created)?;
    let source_updated_at = text(v, "date_modified_gmt")
        .map(|t| timestamp("date_modified_gmt", t))
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
            continue;
        }
        let field = format!("line_items[{i}].subtotal");
        let subtotal = money(
            &field,
            text(li, "subtotal")
                .or_else(|| text(li, "total"))
                .unwrap_or("0"),
        )?;
        let mut unit = (subtotal.decimal() / Decimal::from(quantity))
            .round_dp(Amount::MAX_SCALE)
            .normalize();
        if unit.scale() < 2 {
            unit.rescale(2);
        }
        let unit = money(&field, &unit.to_string())?;
        line_items.push(NewLineItem {
            sku: text(li, "sku").map(|s| s.chars().take(100).collect()),
            title: text(li, "name")
                .unwrap_or("Item")
                .chars()
                .take(500)
                .collect(),
            quantity: Quantity::new(quantity)
                .map_err(|e| Malformed::new(format!("line_items[{i}].quantity: {}", e.0)))?,
            price: unit,
        });
    }
    let customer = customer_ref(v).unwrap_or_else(|_| CustomerRef {
        external: Some((SOURCE.to_string(), format!("order-{external_id}"))),
        ..CustomerRef::default()
    });
    let shipping = v.get("shipping").filter(|s| {
        s.as_object().is_some_and(|m| {
            m.values()
                .any(|x| x.as_str().is_some_and(|t| !t.is_empty()))
        })
    });
    let order = OrderUpsert {
        source: SOURCE.to_string(),
        external_id: external_id.clone(),
        number,
        customer,
        status,
        financial_status,
        fulfillment_status,
        currency,
        total,
        placed_at,
        line_items,
        shipping_address: shipping.cloned(),
        source_updated_at,
        shop: shop.map(str::to_owned),
    };
    let mut changes = vec![Change::Order(Box::new(order))];
    for r in v
        .get("refunds")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(id) = r.get("id").and_then(id_text) else {
            continue;
        };
        // Refund totals come negative ("-5.00").
        let amount = text(r, "total").unwrap_or("0").trim_start_matches('-');
        changes.push(Change::Refund(RefundUpsert {
            source: SOURCE.to_string(),
            order_external_id: external_id.clone(),
            external_id: id,
            amount: money("refunds.total", amount)?,
            note: text(r, "reason").map(|n| n.chars().take(2000).collect()),
            created_at: source_updated_at.unwrap_or(placed_at),
        }));
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/../../fixtures/woocommerce/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn the_published_orders_map() {
        let Parsed::Changes(c) =
            parse("order.created", &fixture("wc_v3_order_create.json"), None).unwrap()
        else {
            panic!()
        };
        let Change::Order(o) = &c[0] else { panic!() };
        assert_eq!(o.number.as_str(), "#727");
        assert_eq!(o.total.to_string(), "29.35");
        assert_eq!(o.financial_status, FinancialStatus::Paid);
        assert_eq!(
            o.customer.email.as_ref().unwrap().as_str(),
            "john.doe@example.com"
        );
        assert_eq!(o.line_items[0].quantity.get(), 2);
        assert_eq!(
            o.line_items[0].price.to_string(),
            "3.00",
            "6.00 over 2, never the float"
        );
        let Parsed::Changes(c) =
            parse("order.updated", &fixture("wc_v3_order_update.json"), None).unwrap()
        else {
            panic!()
        };
        let Change::Order(o) = &c[0] else { panic!() };
        assert_eq!(o.status, OrderStatus::Closed);
        assert!(o.source_updated_at.is_some());
    }

    #[test]
    fn customers_and_other_topics() {
        let Parsed::Changes(c) = parse(
            "customer.created",
            &fixture("wc_v3_customer_create.json"),
            None,
        )
        .unwrap() else {
            panic!()
        };
        let Change::Customer(who) = &c[0] else {
            panic!()
        };
        assert_eq!(who.external, Some(("woocommerce".into(), "25".into())));
        assert!(matches!(
            parse("product.created", b"{}", None),
            Ok(Parsed::Ignored)
        ));
        assert!(parse("order.created", b"webhook_id=3", None).is_err());
    }
}
