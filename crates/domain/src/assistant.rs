//! The virtual assistant's rules, decided by what the shopper asked alone: which questions it
//! answers and how ([`Route::of`], every intent named once), and when it hands a chat to the
//! team and why ([`Handover`]). How it answers — the shopper's orders, the help center, its
//! words — is the assistant crate's.

use crate::intents::Intent;

/// What the assistant does with a question, decided by its intent alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The shopper asked for a person, or complained: a person takes the chat at once.
    Person(Handover),
    /// Answered from one of the shopper's own orders.
    Order(OrderQuestion),
    /// A person must act on money (a refund, a payment that failed): handed over, with the
    /// order in the note when the assistant knows it.
    Money,
    /// The shop's policies and options: the help center answers best.
    Article,
    /// Nothing the assistant can tell.
    Unclear,
}

impl Route {
    /// Every intent is named here once, so one added to the vocabulary cannot be forgotten.
    pub fn of(intent: Intent) -> Route {
        use Intent::*;
        match intent {
            ContactHumanAgent => Route::Person(Handover::Asked),
            Complaint => Route::Person(Handover::Complaint),
            TrackOrder => Route::Order(OrderQuestion::Track),
            TrackRefund => Route::Order(OrderQuestion::TrackRefund),
            CancelOrder => Route::Order(OrderQuestion::Change(OrderChange::Cancel)),
            ChangeOrder => Route::Order(OrderQuestion::Change(OrderChange::Items)),
            ChangeShippingAddress => {
                Route::Order(OrderQuestion::Change(OrderChange::ShippingAddress))
            }
            GetRefund | PaymentIssue => Route::Money,
            CheckRefundPolicy
            | DeliveryOptions
            | DeliveryPeriod
            | CheckPaymentMethods
            | CheckCancellationFee
            | PlaceOrder
            | GetInvoice
            | CheckInvoice
            | NewsletterSubscription
            | CreateAccount
            | DeleteAccount
            | EditAccount
            | RecoverPassword
            | RegistrationProblems
            | SwitchAccount
            | SetUpShippingAddress
            | Review
            | ContactCustomerService => Route::Article,
            Unknown => Route::Unclear,
        }
    }
}

/// A question about one of the shopper's orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderQuestion {
    Track,
    TrackRefund,
    Change(OrderChange),
}

impl OrderQuestion {
    /// The intent it is remembered by while the assistant waits for an order proof.
    pub fn intent(self) -> Intent {
        match self {
            OrderQuestion::Track => Intent::TrackOrder,
            OrderQuestion::TrackRefund => Intent::TrackRefund,
            OrderQuestion::Change(OrderChange::Cancel) => Intent::CancelOrder,
            OrderQuestion::Change(OrderChange::Items) => Intent::ChangeOrder,
            OrderQuestion::Change(OrderChange::ShippingAddress) => Intent::ChangeShippingAddress,
        }
    }
}

/// A change to an order that only a person makes, and only before it ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderChange {
    Cancel,
    ShippingAddress,
    /// Anything else about it (its items, sizes, quantities).
    Items,
}

/// Why the assistant hands a chat over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handover {
    Asked,
    Complaint,
    /// The shopper sounds angry (the intent model's sentiment reads it).
    Upset,
    /// An order to cancel or change before it ships, or money to sort out.
    OrderChange,
    CouldNotHelp,
    /// The shopper could not prove an order was theirs, too many times.
    NotVerified,
}

impl Handover {
    /// Whether the team should see the chat first.
    pub fn urgent(self) -> bool {
        matches!(self, Handover::Complaint | Handover::Upset)
    }
}

/// How many answers in a row the assistant may fail to give; at this many it hands the chat
/// over instead of asking again.
pub const MISSES_BEFORE_HANDOVER: i64 = 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_intent_has_a_route_and_only_asking_or_complaining_goes_to_a_person_at_once() {
        let people: Vec<_> = Intent::ALL
            .iter()
            .filter(|i| matches!(Route::of(**i), Route::Person(_)))
            .collect();
        assert_eq!(people.len(), 2, "{people:?}");
        assert!(people.contains(&&Intent::ContactHumanAgent));
        assert!(people.contains(&&Intent::Complaint));
        assert_eq!(Route::of(Intent::Unknown), Route::Unclear);
        assert_eq!(Route::of(Intent::GetRefund), Route::Money);
        assert_eq!(Route::of(Intent::DeliveryPeriod), Route::Article);
    }

    #[test]
    fn an_order_question_is_remembered_by_the_intent_that_routes_to_it() {
        for &intent in Intent::ALL {
            if let Route::Order(question) = Route::of(intent) {
                assert_eq!(question.intent(), intent);
            }
        }
    }

    #[test]
    fn complaints_and_anger_are_urgent() {
        assert!(Handover::Complaint.urgent());
        assert!(Handover::Upset.urgent());
        assert!(!Handover::Asked.urgent());
        assert!(!Handover::CouldNotHelp.urgent());
    }
}
