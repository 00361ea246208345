//! Everything the assistant says, to shoppers and in its notes to the team. Plain text: the
//! widget and the workspace escape it like any message.

use crate::Handover;
use concierge_domain::conversation::SenderType;
use concierge_store::chat::Staffing;
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
        Handover::Upset => "I'm really sorry. I'm passing you straight to a person on our \
                            team, with everything you've said, and marking it urgent. They'll \
                            answer right here."
            .to_owned(),
        Handover::OrderChange => "A person on our team needs to do that for you. I've passed \
                                  them your request and your order details; they'll answer \
                                  right here."
            .to_owned(),
        Handover::NotVerified => "I can't check more orders in this chat. I'm passing you to \
                                  a person on our team; they'll answer right here."
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
/// to the order's owner.
pub fn ask_for_proof() -> String {
    "I can look that up. So I know the order is yours, please tell me its number together \
     with the email address or the postcode you ordered with, for example: #1042, \
     ana@example.com. (If you're signed in on our shop, I'll know it's you.)"
        .to_owned()
}

/// The proof did not match. It never says which part: that would help a guesser.
pub fn proof_failed() -> String {
    "Sorry, I couldn't match that order number with that email address or postcode. Could \
     you check them and try again? Or ask me to pass you to a person."
        .to_owned()
}

/// Why an order can no longer be cancelled or changed, and what can still be done; `None`
/// while it can (it has not shipped).
pub fn change_refused(order: &Order, change: &str, public_url: &str) -> Option<String> {
    if order.status.as_str() == "cancelled" {
        return Some(format!(
            "Order {} is already cancelled{}.",
            order.number,
            if order.refunded_total.is_some() {
                " and refunded"
            } else {
                ""
            }
        ));
    }
    let shipped = order.fulfillment_status.as_str() != "unfulfilled" || !order.shipments.is_empty();
    if !shipped {
        return None;
    }
    let mut out = match change {
        "cancel_order" => format!(
            "Order {} has already shipped, so it can't be cancelled any more. Once it arrives \
             you can send it back for a refund; ask me about returns to see how.",
            order.number
        ),
        "change_shipping_address" => format!(
            "Order {} has already shipped, so we can't change its address any more. The \
             carrier's tracking page may let you choose another delivery place or time.",
            order.number
        ),
        _ => format!(
            "Order {} has already shipped, so it can't be changed any more. Once it arrives \
             you can return what doesn't suit you; ask me about returns to see how.",
            order.number
        ),
    };
    if let Some(s) = order.shipments.first() {
        out.push_str(&format!(
            " Follow it here: {public_url}/track/{}",
            s.tracking_token
        ));
    }
    Some(out)
}

/// The request an order that has not shipped goes to the team with.
pub fn change_requested(order: &Order, change: &str) -> String {
    let what = match change {
        "cancel_order" => "cancel it",
        "change_shipping_address" => "change its delivery address",
        _ => "change it",
    };
    format!(
        "Order {} hasn't shipped yet, so we can still {what}. I've passed your request to a \
         person on our team with the order details; they'll confirm right here.",
        order.number
    )
}

/// Whether anyone is there to answer a chat handed over, and how soon: said as it is.
pub fn wait(staffing: &Staffing, email: Option<&str>) -> String {
    if staffing.agents_online > 0 {
        match staffing.typical_wait {
            Some(w) if w.num_minutes() >= 1 => format!(
                "Someone from our team is online; chats are usually answered within about {}.",
                minutes(w.num_minutes() + 1)
            ),
            _ => "Someone from our team is online and should be with you shortly.".to_owned(),
        }
    } else {
        let _ = email;
        "No one from our team is online right now, so it may take a while. We'll answer here \
         as soon as someone is back; this chat stays open for you, even if you leave the page."
            .to_owned()
    }
}

fn minutes(n: i64) -> String {
    match n {
        1 => "a minute".to_owned(),
        n if n < 90 => format!("{n} minutes"),
        n => format!("{} hours", (n + 30) / 60),
    }
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
        Handover::Upset => "the shopper sounds upset (marked urgent)",
        Handover::OrderChange => "the shopper wants an order changed, cancelled or refunded",
        Handover::CouldNotHelp => "the assistant could not answer twice in a row",
        Handover::NotVerified => {
            "the shopper could not prove an order was theirs (order number with its email or postcode)"
        }
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
