//! The values of `{{customer.*}}`, `{{order.*}}`, `{{shipment.*}}` and `{{shop.*}}` in
//! canned replies and notices: one place that knows how an order reads in a message.

use concierge_domain::commerce::Arrival;
use concierge_domain::dates::{Calendar, Language};
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
    (
        "shipment.estimated_delivery",
        "its expected delivery date, or \"delivered on …\" once it came",
    ),
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
    /// How dates are written for the shopper: the shop's time zone, the message's language.
    pub calendar: &'a Calendar,
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
            "shipment.estimated_delivery" => shipment.and_then(|s| self.arrival(s)),
            "shop.name" => Some(self.shop_name.to_owned()),
            _ => None,
        }
    }
}

impl Context<'_> {
    /// When a parcel arrives, as a date the shopper reads: "Wednesday, 9 December 2026"
    /// while it is expected, "delivered on …" once it came — never an expected date for a
    /// parcel already delivered.
    pub fn arrival(&self, shipment: &Shipment) -> Option<String> {
        Some(match shipment.arrival()? {
            Arrival::Expected(at) => self.calendar.day(at),
            Arrival::Delivered(at) => match self.calendar.language() {
                Language::English => format!("delivered on {}", self.calendar.day(at)),
                Language::German => format!("zugestellt am {}", self.calendar.day(at)),
            },
        })
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
    use concierge_domain::commerce::{
        FinancialStatus, FulfillmentStatus, OrderStatus, TrackingStatus,
    };
    use concierge_domain::ids::{CustomerId, OrderId, ShipmentId, TrackingEventId};
    use concierge_store::commerce::TrackingEvent;

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

    fn shipment(status: TrackingStatus, events: &[(TrackingStatus, &str)]) -> Shipment {
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        Shipment {
            id: ShipmentId::generate(),
            order_id: OrderId::generate(),
            external_id: None,
            tracking_token: "t".into(),
            carrier: "DHL".into(),
            tracking_number: "JD1".into(),
            tracking_url: None,
            status,
            estimated_delivery: Some(at("2026-10-25T12:00:00Z")),
            last_event_at: events.last().map(|e| at(e.1)),
            events: events
                .iter()
                .map(|(status, occurred)| TrackingEvent {
                    id: TrackingEventId::generate(),
                    shipment_id: ShipmentId::generate(),
                    status: *status,
                    occurred_at: at(occurred),
                    location: None,
                    message: None,
                    created_at: at(occurred),
                })
                .collect(),
            created_at: at("2026-10-20T08:00:00Z"),
            updated_at: at("2026-10-24T08:00:00Z"),
        }
    }

    #[test]
    fn a_delivered_parcel_says_when_it_came_not_when_it_was_expected() {
        let berlin = |language| Calendar::new(chrono_tz::Europe::Berlin, language);
        let value = |s: &Shipment, calendar: &Calendar| {
            Context {
                customer: None,
                order: None,
                shipment: Some(s),
                public_url: "https://shop.example",
                shop_name: "Shop",
                calendar,
            }
            .value("shipment.estimated_delivery")
        };
        let english = berlin(Language::English);
        let on_its_way = shipment(
            TrackingStatus::InTransit,
            &[(TrackingStatus::InTransit, "2026-10-21T09:00:00Z")],
        );
        assert_eq!(
            value(&on_its_way, &english).as_deref(),
            Some("Sunday, 25 October 2026")
        );
        // Delivered on the 23rd at 23:10 UTC: the 24th in Berlin.
        let delivered = shipment(
            TrackingStatus::Delivered,
            &[
                (TrackingStatus::InTransit, "2026-10-21T09:00:00Z"),
                (TrackingStatus::Delivered, "2026-10-23T23:10:00Z"),
            ],
        );
        assert_eq!(
            value(&delivered, &english).as_deref(),
            Some("delivered on Saturday, 24 October 2026")
        );
        assert_eq!(
            value(&delivered, &berlin(Language::German)).as_deref(),
            Some("zugestellt am Samstag, 24. Oktober 2026")
        );
        let returned = shipment(TrackingStatus::Returned, &[]);
        assert_eq!(value(&returned, &english), None);
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
