//! The values of `{{customer.*}}`, `{{order.*}}`, `{{shipment.*}}` and `{{shop.*}}` in
//! canned replies and notices: one place that knows how an order reads in a message.

use concierge_domain::replies::first_name;
use concierge_store::commerce::{Order, Shipment};
use concierge_store::customers::CustomerSummary;

/// The variables notices may use, for checking the shop's wording and for the admin page.
pub const NOTICE_VARIABLES: &[(&str, &str)] = &[
    ("customer.name", "the shopper's full name"),
    ("customer.first_name", "the shopper's first name"),
    ("customer.email", "the shopper's email address"),
    ("order.number", "the order number"),
    ("order.total", "its total with currency"),
    ("order.status", "its fulfilment status"),
    ("shipment.carrier", "the carrier"),
    ("shipment.tracking_number", "the tracking number"),
    ("shipment.tracking_url", "the carrier's tracking link"),
    (
        "shipment.tracking_page",
        "our tracking page for the shipment",
    ),
    ("shipment.status", "its tracking status"),
    ("shipment.estimated_delivery", "its expected delivery date"),
    ("shop.name", "the shop's name"),
    ("unsubscribe_url", "the link that stops these notices"),
];

/// What a template is filled from.
pub struct Context<'a> {
    pub customer: Option<&'a CustomerSummary>,
    pub order: Option<&'a Order>,
    pub shipment: Option<&'a Shipment>,
    /// The base of links to our own pages, without a trailing slash.
    pub public_url: &'a str,
    pub shop_name: &'a str,
}

impl Context<'_> {
    /// The value of one variable, if this context has it.
    pub fn value(&self, name: &str) -> Option<String> {
        let customer = self.customer;
        let order = self.order;
        let shipment = self.shipment;
        match name {
            "customer.name" => customer.and_then(|c| c.name.clone()),
            "customer.first_name" => customer
                .and_then(|c| c.name.as_deref())
                .map(|n| first_name(n).to_owned()),
            "customer.email" => customer.and_then(|c| c.email.clone()),
            "order.number" => order.map(|o| o.number.clone()),
            "order.total" => order.map(|o| format!("{} {}", o.total, o.currency)),
            "order.status" => order.map(|o| o.fulfillment_status.as_str().replace('_', " ")),
            "shipment.carrier" => shipment
                .map(|s| s.carrier.clone())
                .filter(|c| !c.is_empty()),
            "shipment.tracking_number" => shipment
                .map(|s| s.tracking_number.clone())
                .filter(|n| !n.is_empty()),
            "shipment.tracking_url" => shipment.and_then(|s| s.tracking_url.clone()),
            "shipment.tracking_page" => shipment.map(|s| tracking_page(self.public_url, s)),
            "shipment.status" => shipment.map(|s| s.status.as_str().replace('_', " ")),
            "shipment.estimated_delivery" => shipment
                .and_then(|s| s.estimated_delivery)
                .map(|d| d.format("%Y-%m-%d").to_string()),
            "shop.name" => Some(self.shop_name.to_owned()),
            _ => None,
        }
    }
}

/// The order a conversation is about, among the customer's `orders` (newest first): one
/// attached to the conversation, else the newest one whose number the shopper wrote
/// (`#1001`, `1001`, `order 1001`), else the most recent.
pub fn order_in_question<'a>(
    orders: &'a [Order],
    attached: &[concierge_domain::ids::OrderId],
    texts: &[&str],
) -> Option<&'a Order> {
    if let Some(o) = attached
        .iter()
        .find_map(|id| orders.iter().find(|o| &o.id == id))
    {
        return Some(o);
    }
    let words: Vec<String> = texts
        .iter()
        .flat_map(|t| t.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '#')))
        .map(|w| w.trim_start_matches('#').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    orders
        .iter()
        .find(|o| {
            let bare = o.number.trim_start_matches('#').to_lowercase();
            words.contains(&bare)
        })
        .or_else(|| orders.first())
}

/// Our public tracking page for a shipment.
pub fn tracking_page(public_url: &str, s: &Shipment) -> String {
    format!(
        "{}/track/{}",
        public_url.trim_end_matches('/'),
        s.tracking_token
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use concierge_domain::commerce::{FinancialStatus, FulfillmentStatus, OrderStatus};
    use concierge_domain::ids::{CustomerId, OrderId};

    fn order(number: &str) -> Order {
        Order {
            id: OrderId::generate(),
            source: "api".into(),
            external_id: number.into(),
            number: number.into(),
            customer_id: CustomerId::generate(),
            status: OrderStatus::Open,
            financial_status: FinancialStatus::Paid,
            fulfillment_status: FulfillmentStatus::Unfulfilled,
            currency: "EUR".into(),
            total: "1.00".into(),
            placed_at: Utc::now(),
            shipping_address: None,
            refunded_total: None,
            shop: None,
            line_items: vec![],
            shipments: vec![],
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn the_order_in_question_is_attached_then_named_then_newest() {
        let orders = [order("#1003"), order("#1002"), order("#1001")];
        assert_eq!(
            order_in_question(&orders, &[], &["Where is it?"])
                .unwrap()
                .number,
            "#1003"
        );
        assert_eq!(
            order_in_question(&orders, &[], &["About order 1001, please"])
                .unwrap()
                .number,
            "#1001"
        );
        assert_eq!(
            order_in_question(&orders, &[], &["my #1002 never came"])
                .unwrap()
                .number,
            "#1002"
        );
        assert_eq!(
            order_in_question(&orders, &[], &["10012 is my postcode"])
                .unwrap()
                .number,
            "#1003"
        );
        let attached = [orders[1].id.clone()];
        assert_eq!(
            order_in_question(&orders, &attached, &["order 1001"])
                .unwrap()
                .number,
            "#1002"
        );
        assert!(order_in_question(&[], &[], &["x"]).is_none());
    }
}
