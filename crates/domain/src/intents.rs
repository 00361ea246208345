//! What a shopper's message asks for: the 27 customer-service intents of the Bitext data set,
//! each in one of its 11 categories, and `unknown` when the model is not sure enough to name
//! one (a guess would send the shopper the wrong answer). The intent model
//! (`concierge-intents`) reads them; the store keeps them; the assistant, the inbox and reply
//! suggestions act on them.

use crate::vocabulary;

vocabulary! {
    /// A shopper's intent, as the Bitext data names it.
    pub enum Intent {
        CancelOrder = "cancel_order",
        ChangeOrder = "change_order",
        PlaceOrder = "place_order",
        TrackOrder = "track_order",
        ChangeShippingAddress = "change_shipping_address",
        SetUpShippingAddress = "set_up_shipping_address",
        DeliveryOptions = "delivery_options",
        DeliveryPeriod = "delivery_period",
        CheckRefundPolicy = "check_refund_policy",
        GetRefund = "get_refund",
        TrackRefund = "track_refund",
        CheckPaymentMethods = "check_payment_methods",
        PaymentIssue = "payment_issue",
        CheckInvoice = "check_invoice",
        GetInvoice = "get_invoice",
        CheckCancellationFee = "check_cancellation_fee",
        ContactCustomerService = "contact_customer_service",
        ContactHumanAgent = "contact_human_agent",
        Complaint = "complaint",
        Review = "review",
        NewsletterSubscription = "newsletter_subscription",
        CreateAccount = "create_account",
        DeleteAccount = "delete_account",
        EditAccount = "edit_account",
        RecoverPassword = "recover_password",
        RegistrationProblems = "registration_problems",
        SwitchAccount = "switch_account",
        /// No intent was confident enough to name.
        Unknown = "unknown",
    }
}

vocabulary! {
    /// The Bitext categories the intents fall in, as the data set spells them.
    pub enum IntentCategory {
        Order = "ORDER",
        ShippingAddress = "SHIPPING_ADDRESS",
        Delivery = "DELIVERY",
        Refund = "REFUND",
        Payment = "PAYMENT",
        Invoice = "INVOICE",
        CancellationFee = "CANCELLATION_FEE",
        Contact = "CONTACT",
        Feedback = "FEEDBACK",
        Newsletter = "NEWSLETTER",
        Account = "ACCOUNT",
        /// The category of `unknown`.
        Unknown = "unknown",
    }
}

impl Intent {
    /// Whether the model named an intent (rather than `unknown`).
    pub fn is_known(self) -> bool {
        self != Intent::Unknown
    }

    pub fn category(self) -> IntentCategory {
        use Intent::*;
        use IntentCategory as C;
        match self {
            CancelOrder | ChangeOrder | PlaceOrder | TrackOrder => C::Order,
            ChangeShippingAddress | SetUpShippingAddress => C::ShippingAddress,
            DeliveryOptions | DeliveryPeriod => C::Delivery,
            CheckRefundPolicy | GetRefund | TrackRefund => C::Refund,
            CheckPaymentMethods | PaymentIssue => C::Payment,
            CheckInvoice | GetInvoice => C::Invoice,
            CheckCancellationFee => C::CancellationFee,
            ContactCustomerService | ContactHumanAgent => C::Contact,
            Complaint | Review => C::Feedback,
            NewsletterSubscription => C::Newsletter,
            CreateAccount | DeleteAccount | EditAccount | RecoverPassword
            | RegistrationProblems | SwitchAccount => C::Account,
            Unknown => C::Unknown,
        }
    }
}

/// An intent as the model read it in one message, with how sure it was (0 to 1; reported
/// even when too unsure to name, when the intent is `unknown`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntentReading {
    pub intent: Intent,
    pub confidence: f64,
}

impl IntentReading {
    /// Whether this reading becomes what a conversation is about, in place of `current`:
    /// a clear reading always does; an unsure one only when nothing was read before, so a
    /// closing "thanks!" does not erase what the conversation was about.
    pub fn replaces(&self, current: Option<Intent>) -> bool {
        self.intent.is_known() || current.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_seven_intents_in_eleven_categories_and_unknown() {
        let known: Vec<_> = Intent::ALL.iter().filter(|i| i.is_known()).collect();
        assert_eq!(known.len(), 27);
        let mut categories: Vec<_> = known.iter().map(|i| i.category()).collect();
        categories.sort_unstable();
        categories.dedup();
        assert_eq!(categories.len(), 11);
        assert!(!categories.contains(&IntentCategory::Unknown));
        assert_eq!(Intent::TrackOrder.category().as_str(), "ORDER");
        assert_eq!(Intent::Unknown.category().as_str(), "unknown");
        assert_eq!(Intent::parse("get_refund"), Ok(Intent::GetRefund));
        assert!(Intent::parse("neutral").is_err());
    }

    #[test]
    fn a_conversation_keeps_its_latest_clear_intent() {
        let clear = IntentReading {
            intent: Intent::GetRefund,
            confidence: 0.9,
        };
        let unsure = IntentReading {
            intent: Intent::Unknown,
            confidence: 0.2,
        };
        assert!(clear.replaces(None));
        assert!(clear.replaces(Some(Intent::TrackOrder)));
        assert!(unsure.replaces(None));
        assert!(!unsure.replaces(Some(Intent::TrackOrder)));
    }
}
