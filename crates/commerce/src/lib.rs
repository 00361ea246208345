//! The shop's side of Concierge: store platforms and carriers telling us about orders and
//! parcels, and us telling shoppers before they ask.
//!
//! - [`signature`]: the HMAC checks every platform's webhook passes before anything else.
//! - [`shopify`], [`woocommerce`], [`aftership`]: each platform's real payloads mapped to
//!   [`Change`]s (customers, orders, shipments, refunds, scans). Pure functions of the bytes.
//! - [`apply`]: the `webhook.apply` job that applies a stored delivery's changes.
//! - [`notices`]: the `notice.send` job (shipped, out for delivery, delivered, attempt
//!   failed, exception, late) with the shop's editable wording, the late check, and the
//!   `delivery-issue` conversations.
//! - [`variables`]: `{{order.*}}`, `{{shipment.*}}`, `{{customer.*}}` for notices and macros.
//!
//! Architecture invariant: nothing here answers HTTP. The webhook endpoints (in
//! `concierge-api`) verify, store the raw delivery with its job, and acknowledge; everything
//! in this crate runs after that, from the job queue, and may run more than once.

pub mod actions;
pub mod admin;
pub mod aftership;
pub mod apply;
pub mod import;
pub mod notices;
pub mod shopify;
pub mod signature;
pub mod sync;
pub mod variables;
pub mod woocommerce;

pub use apply::{ApplyDelivery, Change, Parsed};

use chrono::{DateTime, NaiveDateTime, Utc};

/// A payload that is not what its topic promises: kept for inspection, never applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

impl Malformed {
    pub(crate) fn new(reason: impl Into<String>) -> Self {
        Malformed(reason.into())
    }
}

/// A platform's timestamp: RFC 3339 with an offset (Shopify, AfterShip), or without one,
/// which WooCommerce's `*_gmt` fields and AfterShip's checkpoints use for UTC.
pub(crate) fn timestamp(field: &str, value: &str) -> Result<DateTime<Utc>, Malformed> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S").map(|t| t.and_utc()))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc())
        })
        .map_err(|_| Malformed::new(format!("{field} is not a timestamp: {value:?}")))
}

/// A text field of a payload, trimmed; `None` when absent, not a string, or blank.
pub(crate) fn text<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(serde_json::Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// An amount from a payload's decimal string, the field named on failure.
pub(crate) fn money(
    field: &str,
    value: &str,
) -> Result<concierge_domain::commerce::Amount, Malformed> {
    concierge_domain::commerce::Amount::parse(value)
        .map_err(|e| Malformed::new(format!("{field}: {}", e.0)))
}

/// An id that platforms send as a number or a string (Shopify's ids outgrow JavaScript's
/// numbers, so clients differ).
pub(crate) fn id_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}
