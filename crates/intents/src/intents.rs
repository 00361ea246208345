//! The intent vocabulary: the 27 customer-service intents of the Bitext data set, each in one
//! of its 11 categories, plus the two answers that are not an intent.

/// What a message that asks for nothing (a greeting, a thank-you, context) is learned as.
/// It is never reported: a message that is only this has no intent.
pub const NEUTRAL: &str = "neutral";

/// What is reported when no intent is confident enough: a guess would send the shopper the
/// wrong answer, so they get a person or a question back instead.
pub const UNKNOWN: &str = "unknown";

/// Every intent with its category, as the Bitext data names them.
pub const INTENTS: &[(&str, &str)] = &[
    ("cancel_order", "ORDER"),
    ("change_order", "ORDER"),
    ("place_order", "ORDER"),
    ("track_order", "ORDER"),
    ("change_shipping_address", "SHIPPING_ADDRESS"),
    ("set_up_shipping_address", "SHIPPING_ADDRESS"),
    ("delivery_options", "DELIVERY"),
    ("delivery_period", "DELIVERY"),
    ("check_refund_policy", "REFUND"),
    ("get_refund", "REFUND"),
    ("track_refund", "REFUND"),
    ("check_payment_methods", "PAYMENT"),
    ("payment_issue", "PAYMENT"),
    ("check_invoice", "INVOICE"),
    ("get_invoice", "INVOICE"),
    ("check_cancellation_fee", "CANCELLATION_FEE"),
    ("contact_customer_service", "CONTACT"),
    ("contact_human_agent", "CONTACT"),
    ("complaint", "FEEDBACK"),
    ("review", "FEEDBACK"),
    ("newsletter_subscription", "NEWSLETTER"),
    ("create_account", "ACCOUNT"),
    ("delete_account", "ACCOUNT"),
    ("edit_account", "ACCOUNT"),
    ("recover_password", "ACCOUNT"),
    ("registration_problems", "ACCOUNT"),
    ("switch_account", "ACCOUNT"),
];

/// The category of an intent; `unknown` for anything outside the vocabulary.
pub fn category(intent: &str) -> &'static str {
    INTENTS
        .iter()
        .find(|(name, _)| *name == intent)
        .map_or(UNKNOWN, |(_, category)| category)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_seven_intents_in_eleven_categories() {
        let mut categories: Vec<_> = INTENTS.iter().map(|(_, c)| *c).collect();
        categories.sort_unstable();
        categories.dedup();
        assert_eq!(INTENTS.len(), 27);
        assert_eq!(categories.len(), 11);
        assert_eq!(category("track_order"), "ORDER");
        assert_eq!(category("neutral"), "unknown");
    }
}
