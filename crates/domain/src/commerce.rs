//! The shop's side: money, orders, line items, shipments and carrier scans.

use crate::{vocabulary, Invalid};
use rust_decimal::Decimal;
use std::fmt;
use std::str::FromStr;

/// An ISO 4217 currency code such as `EUR`: three ASCII capital letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let b = s.trim().as_bytes();
        match b {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_alphabetic()) => Ok(Currency([
                a.to_ascii_uppercase(),
                b.to_ascii_uppercase(),
                c.to_ascii_uppercase(),
            ])),
            _ => Err(Invalid::new(
                "currency must be a three-letter ISO 4217 code such as EUR",
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        // Built only from ASCII letters in `parse`.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A non-negative amount as an exact decimal. Parsed from a decimal string (`"49.90"`), never
/// from a float, and written back with the scale it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(Decimal);

impl Amount {
    /// At most four decimal places: enough for every currency and for unit prices.
    pub const MAX_SCALE: u32 = 4;

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let t = s.trim();
        let ok_shape = !t.is_empty()
            && t.len() <= 24
            && t.chars().all(|c| c.is_ascii_digit() || c == '.')
            && t.matches('.').count() <= 1
            && !t.starts_with('.')
            && !t.ends_with('.');
        if !ok_shape {
            return Err(Invalid::new(
                "amount must be a non-negative decimal string such as \"49.90\"",
            ));
        }
        let d = Decimal::from_str(t).map_err(|_| Invalid::new("amount is out of range"))?;
        if d.scale() > Self::MAX_SCALE {
            return Err(Invalid::new("amount has more than four decimal places"));
        }
        Ok(Amount(d))
    }

    pub fn zero() -> Self {
        Amount(Decimal::ZERO)
    }

    pub fn decimal(&self) -> Decimal {
        self.0
    }

    /// `quantity` times this amount; `None` on overflow.
    pub fn times(&self, quantity: u32) -> Option<Amount> {
        self.0.checked_mul(Decimal::from(quantity)).map(Amount)
    }

    pub fn checked_add(&self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An amount in a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    pub amount: Amount,
    pub currency: Currency,
}

/// How many of an item were ordered: at least one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity(u32);

impl Quantity {
    pub fn new(n: i64) -> Result<Self, Invalid> {
        if (1..=1_000_000).contains(&n) {
            Ok(Quantity(n as u32))
        } else {
            Err(Invalid::new("quantity must be between 1 and 1000000"))
        }
    }

    pub fn get(&self) -> u32 {
        self.0
    }
}

/// The number the shopper sees on their order (`#1001`, `SO-2231`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderNumber(String);

impl OrderNumber {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        crate::text::bounded(s, 64, "order number").map(OrderNumber)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrderNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

vocabulary! {
    /// Where an order is in its life (Shopify's and WooCommerce's meanings folded together).
    pub enum OrderStatus {
        Open = "open",
        Closed = "closed",
        Cancelled = "cancelled",
    }
}

vocabulary! {
    /// Where the money is (Shopify's `financial_status` values).
    pub enum FinancialStatus {
        Pending = "pending",
        Authorized = "authorized",
        PartiallyPaid = "partially_paid",
        Paid = "paid",
        PartiallyRefunded = "partially_refunded",
        Refunded = "refunded",
        Voided = "voided",
    }
}

vocabulary! {
    /// How much of the order has left the warehouse.
    pub enum FulfillmentStatus {
        Unfulfilled = "unfulfilled",
        Partial = "partial",
        Fulfilled = "fulfilled",
        Restocked = "restocked",
    }
}

vocabulary! {
    /// One status vocabulary for every carrier: a shipment's state and each scan's.
    pub enum TrackingStatus {
        InfoReceived = "info_received",
        InTransit = "in_transit",
        OutForDelivery = "out_for_delivery",
        Delivered = "delivered",
        AttemptFailed = "attempt_failed",
        Exception = "exception",
        Returned = "returned",
        Expired = "expired",
    }
}

impl TrackingStatus {
    /// The status in a shopper's words (the tracking page, the assistant's answers).
    pub fn for_shoppers(self) -> &'static str {
        match self {
            TrackingStatus::InfoReceived => "Label created",
            TrackingStatus::InTransit => "On its way",
            TrackingStatus::OutForDelivery => "Out for delivery",
            TrackingStatus::Delivered => "Delivered",
            TrackingStatus::AttemptFailed => "Delivery attempted",
            TrackingStatus::Exception => "Delivery problem",
            TrackingStatus::Returned => "Returned to sender",
            TrackingStatus::Expired => "No longer tracked",
        }
    }

    /// Whether the parcel's journey is over; later scans do not move a finished shipment
    /// back (a late "in transit" arriving after "delivered" stays in the history only).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TrackingStatus::Delivered | TrackingStatus::Returned | TrackingStatus::Expired
        )
    }

    /// The shipment's status after a scan with status `scan` that happened at `scan_at`,
    /// given the current status and the time of the latest scan applied so far.
    pub fn after_scan(
        current: TrackingStatus,
        latest_scan_at: Option<chrono::DateTime<chrono::Utc>>,
        scan: TrackingStatus,
        scan_at: chrono::DateTime<chrono::Utc>,
    ) -> TrackingStatus {
        let newer = latest_scan_at.is_none_or(|t| scan_at >= t);
        // A final status (delivered, returned…) is not undone by a later non-final scan.
        if newer && (scan.is_final() || !current.is_final()) {
            scan
        } else {
            current
        }
    }
}

vocabulary! {
    /// What a shopper is told about their parcel, unasked. Each is sent at most once per
    /// shipment.
    pub enum NoticeKind {
        Shipped = "shipped",
        OutForDelivery = "out_for_delivery",
        Delivered = "delivered",
        AttemptFailed = "attempt_failed",
        Exception = "exception",
        Late = "late",
    }
}

impl NoticeKind {
    /// The notice a shipment's move to `status` calls for, if any.
    pub fn for_status(status: TrackingStatus) -> Option<NoticeKind> {
        match status {
            TrackingStatus::OutForDelivery => Some(NoticeKind::OutForDelivery),
            TrackingStatus::Delivered => Some(NoticeKind::Delivered),
            TrackingStatus::AttemptFailed => Some(NoticeKind::AttemptFailed),
            TrackingStatus::Exception => Some(NoticeKind::Exception),
            TrackingStatus::InfoReceived
            | TrackingStatus::InTransit
            | TrackingStatus::Returned
            | TrackingStatus::Expired => None,
        }
    }

    /// Whether the team should see this before the shopper writes: a delay or a problem
    /// opens (or adds to) a `delivery-issue` conversation.
    pub fn is_issue(self) -> bool {
        matches!(self, NoticeKind::Late | NoticeKind::Exception)
    }
}

vocabulary! {
    /// A store platform or tracking service whose signed webhooks we take; the store
    /// platforms are also where orders come from (an order's `source`).
    pub enum Platform {
        Shopify = "shopify",
        WooCommerce = "woocommerce",
        AfterShip = "aftership",
    }
}

vocabulary! {
    /// What an agent may do to an order from the inbox.
    pub enum OrderAction {
        Cancel = "cancel",
        /// The whole order, or some of its items.
        Refund = "refund",
        /// Send the shipping confirmation again.
        Resend = "resend",
        ChangeAddress = "change_address",
    }
}

vocabulary! {
    /// Why an order is cancelled: the reasons Shopify's cancel call takes.
    pub enum CancelReason {
        /// The shopper asked.
        Customer = "customer",
        /// Out of stock.
        Inventory = "inventory",
        Fraud = "fraud",
        /// The payment was declined.
        Declined = "declined",
        Other = "other",
    }
}

/// When a parcel counts as late: no scan for `stall` (counting from its last scan, or from
/// when it was handed over if it has none), or its expected delivery has passed. Finished
/// shipments are never late.
pub fn is_late(
    status: TrackingStatus,
    handed_over: chrono::DateTime<chrono::Utc>,
    last_scan: Option<chrono::DateTime<chrono::Utc>>,
    estimated_delivery: Option<chrono::DateTime<chrono::Utc>>,
    stall: chrono::Duration,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    if status.is_final() {
        return false;
    }
    let quiet_since = last_scan.unwrap_or(handed_over);
    now - quiet_since >= stall || estimated_delivery.is_some_and(|eta| now > eta)
}

/// Where a parcel's arrival stands, as a shopper is told it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// It arrived, at this moment.
    Delivered(chrono::DateTime<chrono::Utc>),
    /// The carrier's estimate, while the parcel is still on its way.
    Expected(chrono::DateTime<chrono::Utc>),
}

impl Arrival {
    /// A delivered parcel is told when it came (`delivered_at`, the carrier's first
    /// "delivered" scan; `last_change` when it has none), never an expected date; one on its
    /// way is told the estimate, if any. Returned or no longer tracked: nothing.
    pub fn of(
        status: TrackingStatus,
        estimated: Option<chrono::DateTime<chrono::Utc>>,
        delivered_at: Option<chrono::DateTime<chrono::Utc>>,
        last_change: chrono::DateTime<chrono::Utc>,
    ) -> Option<Arrival> {
        match status {
            TrackingStatus::Delivered => {
                Some(Arrival::Delivered(delivered_at.unwrap_or(last_change)))
            }
            s if s.is_final() => None,
            _ => estimated.map(Arrival::Expected),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn order_actions_and_cancel_reasons_are_closed_word_sets() {
        assert_eq!(
            OrderAction::ALL
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>(),
            ["cancel", "refund", "resend", "change_address"]
        );
        assert_eq!(
            CancelReason::ALL
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>(),
            ["customer", "inventory", "fraud", "declined", "other"]
        );
        assert_eq!(
            OrderAction::parse("change_address"),
            Ok(OrderAction::ChangeAddress)
        );
        assert!(OrderAction::parse("Cancel").is_err());
        assert!(CancelReason::parse("bored").is_err());
    }

    #[test]
    fn platforms_are_known_by_the_words_stored_with_their_deliveries() {
        assert_eq!(
            Platform::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
            ["shopify", "woocommerce", "aftership"]
        );
        assert_eq!(Platform::parse("woocommerce"), Ok(Platform::WooCommerce));
        assert!(Platform::parse("magento").is_err());
    }

    #[test]
    fn a_delivered_parcel_is_never_expected() {
        let eta = Utc.with_ymd_and_hms(2026, 10, 25, 12, 0, 0).unwrap();
        let came = Utc.with_ymd_and_hms(2026, 10, 23, 9, 0, 0).unwrap();
        let changed = Utc.with_ymd_and_hms(2026, 10, 24, 9, 0, 0).unwrap();
        use TrackingStatus::*;
        assert_eq!(
            Arrival::of(Delivered, Some(eta), Some(came), changed),
            Some(Arrival::Delivered(came))
        );
        assert_eq!(
            Arrival::of(Delivered, Some(eta), None, changed),
            Some(Arrival::Delivered(changed)),
            "no delivered scan: when it became delivered"
        );
        assert_eq!(
            Arrival::of(InTransit, Some(eta), None, changed),
            Some(Arrival::Expected(eta))
        );
        assert_eq!(Arrival::of(AttemptFailed, None, None, changed), None);
        assert_eq!(Arrival::of(Returned, Some(eta), None, changed), None);
    }

    #[test]
    fn amounts_are_exact_decimals_from_strings() {
        let a = Amount::parse("49.90").unwrap();
        assert_eq!(a.to_string(), "49.90");
        assert_eq!(a.times(3).unwrap().to_string(), "149.70");
        let sum = Amount::parse("0.1")
            .unwrap()
            .checked_add(Amount::parse("0.2").unwrap())
            .unwrap();
        assert_eq!(sum.to_string(), "0.3");
    }

    #[test]
    fn amounts_refuse_floats_signs_and_junk() {
        for bad in [
            "", "-1.00", "1e3", "1,50", "abc", "1.2.3", ".5", "5.", "1.23456", "NaN", " ",
        ] {
            assert!(Amount::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(Amount::parse(&"9".repeat(40)).is_err());
    }

    #[test]
    fn currency_is_three_letters_uppercased() {
        assert_eq!(Currency::parse("eur").unwrap().as_str(), "EUR");
        assert!(Currency::parse("EURO").is_err());
        assert!(Currency::parse("E1R").is_err());
        assert!(Currency::parse("").is_err());
    }

    #[test]
    fn quantity_is_positive() {
        assert!(Quantity::new(0).is_err());
        assert!(Quantity::new(-2).is_err());
        assert_eq!(Quantity::new(2).unwrap().get(), 2);
    }

    #[test]
    fn late_scans_do_not_undo_delivery() {
        let t = |h| Utc.with_ymd_and_hms(2026, 11, 1, h, 0, 0).unwrap();
        use TrackingStatus::*;
        assert_eq!(
            TrackingStatus::after_scan(InTransit, Some(t(8)), OutForDelivery, t(9)),
            OutForDelivery
        );
        assert_eq!(
            TrackingStatus::after_scan(Delivered, Some(t(9)), InTransit, t(10)),
            Delivered
        );
        assert_eq!(
            TrackingStatus::after_scan(OutForDelivery, Some(t(9)), InTransit, t(7)),
            OutForDelivery,
            "an older scan arriving late changes nothing"
        );
        assert_eq!(
            TrackingStatus::after_scan(InfoReceived, None, InTransit, t(1)),
            InTransit
        );
    }

    #[test]
    fn notices_follow_the_parcel() {
        use TrackingStatus::*;
        assert_eq!(
            NoticeKind::for_status(OutForDelivery),
            Some(NoticeKind::OutForDelivery)
        );
        assert_eq!(
            NoticeKind::for_status(Exception),
            Some(NoticeKind::Exception)
        );
        assert_eq!(NoticeKind::for_status(InTransit), None);
        assert!(NoticeKind::Late.is_issue());
        assert!(!NoticeKind::Delivered.is_issue());
    }

    #[test]
    fn a_parcel_is_late_when_it_stalls_or_misses_its_date() {
        let day = |d| Utc.with_ymd_and_hms(2026, 11, d, 12, 0, 0).unwrap();
        let stall = chrono::Duration::days(4);
        use TrackingStatus::*;
        assert!(!is_late(
            InTransit,
            day(1),
            Some(day(3)),
            None,
            stall,
            day(6)
        ));
        assert!(is_late(
            InTransit,
            day(1),
            Some(day(3)),
            None,
            stall,
            day(7)
        ));
        assert!(is_late(InfoReceived, day(1), None, None, stall, day(5)));
        assert!(is_late(
            InTransit,
            day(1),
            Some(day(4)),
            Some(day(5)),
            stall,
            day(6)
        ));
        assert!(!is_late(
            InTransit,
            day(1),
            Some(day(4)),
            Some(day(6)),
            stall,
            day(6)
        ));
        assert!(!is_late(
            Delivered,
            day(1),
            Some(day(2)),
            Some(day(3)),
            stall,
            day(20)
        ));
    }
}
