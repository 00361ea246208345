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

/// Our public tracking page for a shipment.
pub fn tracking_page(public_url: &str, s: &Shipment) -> String {
    format!(
        "{}/track/{}",
        public_url.trim_end_matches('/'),
        s.tracking_token
    )
}
