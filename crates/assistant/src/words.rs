//! Everything the assistant says, to shoppers and in its notes to the team. Plain text: the
//! widget and the workspace escape it like any message.

use crate::Handover;
use concierge_domain::conversation::SenderType;
use concierge_store::commerce::Order;
use concierge_store::conversations::Message;

/// The reply when the assistant hands the chat to the team.
pub fn handing_over(why: Handover) -> String {
    match why {
        Handover::Asked => "Of course. I'm passing you to a person on our team now; they can \
                            see everything you've told me, so you won't have to repeat it. \
                            They'll answer right here."
            .to_owned(),
        Handover::Complaint => "I'm sorry about this. I'm passing your message straight to a \
                                person on our team, with everything you've said, and marking \
                                it urgent. They'll answer right here."
            .to_owned(),
        Handover::OrderChange => "A person on our team needs to do that for you. I've passed \
                                  them your request and your order details; they'll answer \
                                  right here."
            .to_owned(),
        Handover::CouldNotHelp => "I'm sorry, I can't answer that one. I'm passing you to a \
                                   person on our team, with everything you've said; they'll \
                                   answer right here."
            .to_owned(),
    }
}

pub fn did_not_understand() -> String {
    "Sorry, I'm not sure I understood. Could you say it another way? You can also ask me to \
     pass you to a person."
        .to_owned()
}

/// For order questions from a chat the shop has not vouched for: order data is shown only
/// to a verified shopper.
pub fn ask_to_sign_in() -> String {
    "I can look that up for you once you're signed in to your account on our shop, so I know \
     the order is yours. Or ask me to pass you to a person on our team."
        .to_owned()
}

pub fn no_orders(email: &str) -> String {
    if email.is_empty() {
        "I couldn't find any orders for you. Could you check the order number, or ask me to \
         pass you to a person?"
            .to_owned()
    } else {
        format!(
            "I couldn't find any orders for {email}. If you ordered with another address, ask \
             me to pass you to a person on our team."
        )
    }
}

/// Where an order is: its status, and for each shipment the carrier, last scan, expected
/// date and tracking page.
pub fn order_status(order: &Order, public_url: &str) -> String {
    let mut out = format!(
        "Your order {} from {} is {}.",
        order.number,
        order.placed_at.format("%-d %B %Y"),
        order_state(order)
    );
    for s in &order.shipments {
        out.push_str(&format!(
            "\n\n{} parcel {}: {}",
            s.carrier,
            s.tracking_number,
            s.status.for_shoppers()
        ));
        if let Some(e) = s.events.last() {
            out.push_str(&format!(
                " (last update {}{}{})",
                e.occurred_at.format("%-d %B, %H:%M"),
                e.location
                    .as_deref()
                    .map_or(String::new(), |l| format!(", {l}")),
                e.message
                    .as_deref()
                    .map_or(String::new(), |m| format!(": {m}"))
            ));
        }
        out.push('.');
        if let Some(eta) = s.estimated_delivery {
            if !s.status.is_final() {
                out.push_str(&format!(" Expected by {}.", eta.format("%A %-d %B")));
            }
        }
        out.push_str(&format!(
            " Follow it here: {public_url}/track/{}",
            s.tracking_token
        ));
    }
    if order.shipments.is_empty() && order.fulfillment_status.as_str() != "fulfilled" {
        out.push_str(
            " It hasn't shipped yet; you'll get an email with the tracking link when it does.",
        );
    }
    out
}

fn order_state(order: &Order) -> &'static str {
    match (order.status.as_str(), order.fulfillment_status.as_str()) {
        ("cancelled", _) => "cancelled",
        (_, "fulfilled") => "shipped",
        (_, "partial") => "partly shipped",
        _ => "being prepared",
    }
}

/// Where an order's refund is.
pub fn refund_status(order: &Order) -> String {
    match &order.refunded_total {
        Some(amount) => format!(
            "We've refunded {amount} {} for order {}. Refunds usually show on your statement \
             within 5–10 business days, depending on your bank.",
            order.currency, order.number
        ),
        None => format!(
            "I don't see a refund on order {} yet. If you've sent something back, it's refunded \
             once it reaches us; ask me to pass you to a person if you'd like us to check.",
            order.number
        ),
    }
}

/// An answer from the help center.
pub fn article(title: &str, summary: &str, url: &str) -> String {
    format!("{title}: {summary}\n\nThe whole article: {url}\n\nDid that answer your question? If not, ask me to pass you to a person.")
}

/// The private note that hands a chat to the team: why, what the shopper asked (and what it
/// was read as), what the assistant answered, and the orders it looked at.
pub fn story(why: Handover, messages: &[Message], orders: &[Order]) -> String {
    let reason = match why {
        Handover::Asked => "the shopper asked for a person",
        Handover::Complaint => "the shopper is complaining (marked urgent)",
        Handover::OrderChange => "the shopper wants an order changed, cancelled or refunded",
        Handover::CouldNotHelp => "the assistant could not answer twice in a row",
    };
    let mut out = format!("Handed over by the assistant: {reason}.\n");
    for m in messages.iter().filter(|m| !m.private) {
        let line: String = m.body.chars().take(300).collect();
        match m.sender_type {
            SenderType::Customer => {
                let intent = m
                    .intent
                    .as_ref()
                    .map_or(String::new(), |i| format!(" [{}]", i.name));
                out.push_str(&format!("\nShopper{intent}: {line}"));
            }
            SenderType::Bot => out.push_str(&format!("\nAssistant: {line}")),
            _ => {}
        }
    }
    if !orders.is_empty() {
        out.push_str("\n\nOrders looked at:");
        for o in orders {
            out.push_str(&format!(
                "\n- {} ({}, {} {}, {})",
                o.number,
                order_state(o),
                o.total,
                o.currency,
                o.fulfillment_status.as_str()
            ));
        }
    }
    out
}
