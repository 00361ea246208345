//! Everything the assistant says, to shoppers and in its notes to the team. Plain text: the
//! widget and the workspace escape it like any message.
//!
//! What it says to shoppers is a [`Reply`]: a key, our wording as a template with
//! `{{variables}}`, and the variables that reply may use. The shop may word any reply its own
//! way (stored by key, loaded as [`Wording`]); a [`Voice`] fills the wording in effect for one
//! chat. What is a list rather than a sentence — a shipment's carrier, scans and dates in an
//! order's status — and the private note to the team ([`story`]) are written here in code.

use concierge_commerce::variables::Context;
use concierge_domain::assistant::{Handover, OrderChange};
use concierge_domain::commerce::{Arrival, FulfillmentStatus, OrderStatus};
use concierge_domain::conversation::SenderType;
use concierge_domain::dates::{Calendar, Language};
use concierge_domain::replies::{check_variables, fill};
use concierge_domain::Invalid;
use concierge_store::assistant::AssistantReply;
use concierge_store::chat::Staffing;
use concierge_store::commerce::{Order, Shipment};
use concierge_store::conversations::Message;
use concierge_store::customers::CustomerSummary;
use concierge_store::{Store, StoreError};

/// A variable a reply may use: its name and what it holds.
pub type Variable = (&'static str, &'static str);

/// The longest template the shop may write: a chat message, not a page.
pub const MAX_TEMPLATE_CHARS: usize = 4_000;

/// Who is talking with whom: every reply may use these. The shopper's values are what they
/// told this chat, never a stored customer's (an unverified shopper may have typed someone
/// else's address).
const SHOPPER: &[Variable] = &[
    ("customer.name", "the shopper's name, as they gave it"),
    ("customer.first_name", "the first word of that name"),
    (
        "customer.email",
        "the email address the chat was opened with",
    ),
    ("shop.name", "the shop's name"),
];

/// The order a reply is about.
const ORDER: &[Variable] = &[
    ("order.number", "the order number"),
    (
        "order.placed_at",
        "the day it was placed, e.g. 20 November 2026",
    ),
    (
        "order.state",
        "where it is: being prepared, partly shipped, shipped or cancelled",
    ),
    ("order.total", "its total with currency"),
    ("order.status", "its fulfilment status"),
];

const REFUND: &[Variable] = &[("order.refunded_total", "what was refunded, with currency")];

/// The parcel a reply is about.
const SHIPMENT: &[Variable] = &[
    ("shipment.carrier", "the carrier"),
    ("shipment.tracking_number", "the tracking number"),
    ("shipment.tracking_page", "our tracking page for the parcel"),
    ("shipment.tracking_url", "the carrier's tracking link"),
    ("shipment.status", "its tracking status"),
];

const ARTICLE: &[Variable] = &[
    ("article.title", "the help article's title"),
    ("article.summary", "its first sentences"),
    ("article.url", "its address in the help center"),
];

const WAIT: &[Variable] = &[(
    "wait",
    "how soon chats are usually answered, e.g. 5 minutes",
)];

const OPENS: &[Variable] = &[(
    "opens",
    "when the team is next in, in the shop's time, e.g. Monday, 7 December, 09:00 GMT",
)];

/// One thing the assistant says to shoppers, which the shop may word its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    HandoverAsked,
    HandoverComplaint,
    HandoverUpset,
    HandoverOrderChange,
    HandoverNotVerified,
    HandoverCouldNotHelp,
    WaitOnline,
    WaitOnlineSoon,
    WaitOffline,
    WaitClosed,
    DidNotUnderstand,
    AskForProof,
    ProofFailed,
    NoOrders,
    NoOrdersWithoutEmail,
    OrderStatus,
    NotShippedYet,
    TrackingLink,
    MoreWithEmail,
    AlreadyCancelled,
    AlreadyRefunded,
    ShippedNoCancel,
    ShippedNoAddressChange,
    ShippedNoChange,
    CancelRequested,
    AddressChangeRequested,
    ChangeRequested,
    Refunded,
    NoRefund,
    Article,
}

/// What the admin page and the checks need to know about a reply.
struct Spec {
    key: &'static str,
    description: &'static str,
    /// Beyond [`SHOPPER`], which every reply may use.
    uses: &'static [&'static [Variable]],
    default: &'static str,
}

impl Reply {
    /// Every reply, in the order the admin page lists them.
    pub const ALL: &'static [Reply] = &[
        Reply::HandoverAsked,
        Reply::HandoverComplaint,
        Reply::HandoverUpset,
        Reply::HandoverOrderChange,
        Reply::HandoverNotVerified,
        Reply::HandoverCouldNotHelp,
        Reply::WaitOnline,
        Reply::WaitOnlineSoon,
        Reply::WaitOffline,
        Reply::WaitClosed,
        Reply::DidNotUnderstand,
        Reply::AskForProof,
        Reply::ProofFailed,
        Reply::NoOrders,
        Reply::NoOrdersWithoutEmail,
        Reply::OrderStatus,
        Reply::NotShippedYet,
        Reply::TrackingLink,
        Reply::MoreWithEmail,
        Reply::AlreadyCancelled,
        Reply::AlreadyRefunded,
        Reply::ShippedNoCancel,
        Reply::ShippedNoAddressChange,
        Reply::ShippedNoChange,
        Reply::CancelRequested,
        Reply::AddressChangeRequested,
        Reply::ChangeRequested,
        Reply::Refunded,
        Reply::NoRefund,
        Reply::Article,
    ];

    fn spec(self) -> Spec {
        let spec = |key, description, uses, default| Spec {
            key,
            description,
            uses,
            default,
        };
        match self {
            Reply::HandoverAsked => spec(
                "handover.asked",
                "Handing the chat to the team because the shopper asked for a person.",
                &[],
                "Of course. I'm passing you to a person on our team now; they can see everything \
                 you've told me, so you won't have to repeat it. They'll answer right here.",
            ),
            Reply::HandoverComplaint => spec(
                "handover.complaint",
                "Handing the chat to the team, marked urgent, because the shopper complains.",
                &[],
                "I'm sorry about this. I'm passing your message straight to a person on our \
                 team, with everything you've said, and marking it urgent. They'll answer right \
                 here.",
            ),
            Reply::HandoverUpset => spec(
                "handover.upset",
                "Handing the chat to the team, marked urgent, because the shopper sounds upset.",
                &[],
                "I'm really sorry. I'm passing you straight to a person on our team, with \
                 everything you've said, and marking it urgent. They'll answer right here.",
            ),
            Reply::HandoverOrderChange => spec(
                "handover.order_change",
                "Handing the chat to the team because money needs sorting out (a refund, a \
                 failed payment).",
                &[],
                "A person on our team needs to do that for you. I've passed them your request \
                 and your order details; they'll answer right here.",
            ),
            Reply::HandoverNotVerified => spec(
                "handover.not_verified",
                "Handing the chat to the team after too many order numbers that did not match \
                 their email address or postcode.",
                &[],
                "I can't check more orders in this chat. I'm passing you to a person on our \
                 team; they'll answer right here.",
            ),
            Reply::HandoverCouldNotHelp => spec(
                "handover.could_not_help",
                "Handing the chat to the team after two answers in a row the assistant could \
                 not give.",
                &[],
                "I'm sorry, I can't answer that one. I'm passing you to a person on our team, \
                 with everything you've said; they'll answer right here.",
            ),
            Reply::WaitOnline => spec(
                "wait.online",
                "Added to a handover when someone is online and chats have waited at least a \
                 minute for an answer lately.",
                &[WAIT],
                "Someone from our team is online; chats are usually answered within about \
                 {{wait}}.",
            ),
            Reply::WaitOnlineSoon => spec(
                "wait.online_soon",
                "Added to a handover when someone is online and chats are answered at once.",
                &[],
                "Someone from our team is online and should be with you shortly.",
            ),
            Reply::WaitOffline => spec(
                "wait.offline",
                "Added to a handover when no one on the team is online.",
                &[],
                "No one from our team is online right now, so it may take a while. We'll answer \
                 here as soon as someone is back; this chat stays open for you, even if you \
                 leave the page. Leave your email address below and we'll reply there too.",
            ),
            Reply::WaitClosed => spec(
                "wait.closed",
                "Added to a handover outside the shop's business hours.",
                &[OPENS],
                "Our team is away right now and back {{opens}}. We'll answer here then; this \
                 chat stays open for you, even if you leave the page. Leave your email address \
                 below and we'll reply there too.",
            ),
            Reply::DidNotUnderstand => spec(
                "did_not_understand",
                "The assistant could not tell what the shopper wants (the second time in a \
                 row, it hands over).",
                &[],
                "Sorry, I'm not sure I understood. Could you say it another way? You can also \
                 ask me to pass you to a person.",
            ),
            Reply::AskForProof => spec(
                "ask_for_proof",
                "Asking a shopper the shop has not vouched for to prove an order is theirs.",
                &[],
                "I can look that up. So I know the order is yours, please tell me its number \
                 together with the email address or the postcode you ordered with, for example: \
                 #1042, ana@example.com. (If you're signed in on our shop, I'll know it's you.)",
            ),
            Reply::ProofFailed => spec(
                "proof_failed",
                "The order number did not match the email address or postcode. Never say which \
                 part failed: that would help a guesser.",
                &[],
                "Sorry, I couldn't match that order number with that email address or postcode. \
                 Could you check them and try again? Or ask me to pass you to a person.",
            ),
            Reply::NoOrders => spec(
                "no_orders",
                "A signed-in shopper asks about an order, and none is on their address.",
                &[],
                "I couldn't find any orders for {{customer.email}}. If you ordered with another \
                 address, ask me to pass you to a person on our team.",
            ),
            Reply::NoOrdersWithoutEmail => spec(
                "no_orders.no_email",
                "A shopper asks about an order, none was found, and the chat has no email \
                 address.",
                &[],
                "I couldn't find any orders for you. Could you check the order number, or ask \
                 me to pass you to a person?",
            ),
            Reply::OrderStatus => spec(
                "order_status",
                "The first line of where an order is; each parcel's carrier, last scan and \
                 expected date follow it.",
                &[ORDER],
                "Your order {{order.number}} from {{order.placed_at}} is {{order.state}}.",
            ),
            Reply::NotShippedYet => spec(
                "order_status.not_shipped",
                "After the first line of an order's status, when nothing has shipped yet.",
                &[ORDER],
                "It hasn't shipped yet; you'll get an email with the tracking link when it \
                 does.",
            ),
            Reply::MoreWithEmail => spec(
                "order_status.more_with_email",
                "After an order's status told to a shopper who proved the order with its \
                 postcode: carriers, tracking numbers and scans are shown only to one who \
                 proves it with its email address.",
                &[ORDER],
                "For the carrier and tracking details, send me the order number with the email \
                 address you ordered with.",
            ),
            Reply::TrackingLink => spec(
                "tracking_link",
                "After each parcel in an order's status, and after saying a shipped order can \
                 no longer be changed.",
                &[ORDER, SHIPMENT],
                "Follow it here: {{shipment.tracking_page}}",
            ),
            Reply::AlreadyCancelled => spec(
                "order_change.cancelled",
                "The shopper wants to cancel or change an order that is already cancelled.",
                &[ORDER],
                "Order {{order.number}} is already cancelled.",
            ),
            Reply::AlreadyRefunded => spec(
                "order_change.refunded",
                "The shopper wants to cancel or change an order that is already cancelled and \
                 refunded.",
                &[ORDER, REFUND],
                "Order {{order.number}} is already cancelled and refunded.",
            ),
            Reply::ShippedNoCancel => spec(
                "order_change.shipped_cancel",
                "The shopper wants to cancel an order that has shipped.",
                &[ORDER],
                "Order {{order.number}} has already shipped, so it can't be cancelled any more. \
                 Once it arrives you can send it back for a refund; ask me about returns to see \
                 how.",
            ),
            Reply::ShippedNoAddressChange => spec(
                "order_change.shipped_address",
                "The shopper wants to change the delivery address of an order that has shipped.",
                &[ORDER],
                "Order {{order.number}} has already shipped, so we can't change its address any \
                 more. The carrier's tracking page may let you choose another delivery place or \
                 time.",
            ),
            Reply::ShippedNoChange => spec(
                "order_change.shipped",
                "The shopper wants to change an order that has shipped.",
                &[ORDER],
                "Order {{order.number}} has already shipped, so it can't be changed any more. \
                 Once it arrives you can return what doesn't suit you; ask me about returns to \
                 see how.",
            ),
            Reply::CancelRequested => spec(
                "order_change.requested_cancel",
                "Handing the chat to the team with a request to cancel an order not shipped yet.",
                &[ORDER],
                "Order {{order.number}} hasn't shipped yet, so we can still cancel it. I've \
                 passed your request to a person on our team with the order details; they'll \
                 confirm right here.",
            ),
            Reply::AddressChangeRequested => spec(
                "order_change.requested_address",
                "Handing the chat to the team with a new delivery address for an order not \
                 shipped yet.",
                &[ORDER],
                "Order {{order.number}} hasn't shipped yet, so we can still change its delivery \
                 address. I've passed your request to a person on our team with the order \
                 details; they'll confirm right here.",
            ),
            Reply::ChangeRequested => spec(
                "order_change.requested",
                "Handing the chat to the team with a change to an order not shipped yet.",
                &[ORDER],
                "Order {{order.number}} hasn't shipped yet, so we can still change it. I've \
                 passed your request to a person on our team with the order details; they'll \
                 confirm right here.",
            ),
            Reply::Refunded => spec(
                "refund.done",
                "Where a refund is, when the order has one.",
                &[ORDER, REFUND],
                "We've refunded {{order.refunded_total}} for order {{order.number}}. Refunds \
                 usually show on your statement within 5–10 business days, depending on your \
                 bank.",
            ),
            Reply::NoRefund => spec(
                "refund.none",
                "Where a refund is, when the order has none yet.",
                &[ORDER],
                "I don't see a refund on order {{order.number}} yet. If you've sent something \
                 back, it's refunded once it reaches us; ask me to pass you to a person if you'd \
                 like us to check.",
            ),
            Reply::Article => spec(
                "article",
                "An answer from the help center's best article for the question.",
                &[ARTICLE],
                "{{article.title}}: {{article.summary}}\n\nThe whole article: {{article.url}}\n\n\
                 Did that answer your question? If not, ask me to pass you to a person.",
            ),
        }
    }

    /// The reply a handover starts with.
    pub fn handover(why: Handover) -> Reply {
        match why {
            Handover::Asked => Reply::HandoverAsked,
            Handover::Complaint => Reply::HandoverComplaint,
            Handover::Upset => Reply::HandoverUpset,
            Handover::OrderChange => Reply::HandoverOrderChange,
            Handover::NotVerified => Reply::HandoverNotVerified,
            Handover::CouldNotHelp => Reply::HandoverCouldNotHelp,
        }
    }

    /// Its key, e.g. `handover.asked`: how the shop's wording is stored and addressed.
    pub fn key(self) -> &'static str {
        self.spec().key
    }

    /// The reply with this key, if there is one.
    pub fn parse(key: &str) -> Option<Reply> {
        Reply::ALL.iter().copied().find(|r| r.key() == key)
    }

    /// When the assistant says it, for the admin page.
    pub fn description(self) -> &'static str {
        self.spec().description
    }

    /// Our wording.
    pub fn default_template(self) -> &'static str {
        self.spec().default
    }

    /// The variables its wording may use.
    pub fn variables(self) -> Vec<Variable> {
        std::iter::once(SHOPPER)
            .chain(self.spec().uses.iter().copied())
            .flatten()
            .copied()
            .collect()
    }

    /// Checks the shop's wording for this reply: not blank, not too long, and every
    /// `{{variable}}` one this reply may use.
    pub fn check(self, template: &str) -> Result<(), Invalid> {
        if template.trim().is_empty() || template.chars().count() > MAX_TEMPLATE_CHARS {
            return Err(Invalid::new(format!(
                "a reply is 1 to {MAX_TEMPLATE_CHARS} characters"
            )));
        }
        check_variables(template, &self.variables())
    }
}

/// The shop's wording for the assistant's replies, over ours.
#[derive(Debug, Clone, Default)]
pub struct Wording {
    changed: Vec<AssistantReply>,
}

impl Wording {
    /// The shop's wording as stored now: one small query, so it is read for every answer and
    /// a change applies to the next one.
    pub async fn load(store: &Store) -> Result<Wording, StoreError> {
        Ok(Wording {
            changed: store.assistant_replies().await?,
        })
    }

    /// The shop's wording for a reply, when it changed ours. (A stored key no reply has any
    /// more is ignored.)
    pub fn changed(&self, reply: Reply) -> Option<&AssistantReply> {
        self.changed.iter().find(|c| c.key == reply.key())
    }

    /// The template in effect for a reply.
    pub fn template(&self, reply: Reply) -> &str {
        self.changed(reply)
            .map_or(reply.default_template(), |c| c.template.as_str())
    }
}

/// What a reply is about, beyond the shopper.
#[derive(Default, Clone, Copy)]
struct Facts<'f> {
    order: Option<&'f Order>,
    shipment: Option<&'f Shipment>,
    /// Values of the reply's own variables (`wait`, `article.*`).
    own: &'f [(&'static str, &'f str)],
}

/// The assistant in one chat: the shop's wording, filled for this shopper.
pub struct Voice<'a> {
    wording: &'a Wording,
    shopper: CustomerSummary,
    shop_name: &'a str,
    /// The base of links to our own pages, without a trailing slash.
    public_url: &'a str,
    /// The shop's calendar: its time zone, and its language for its own wording.
    calendar: Calendar,
}

impl<'a> Voice<'a> {
    /// `shopper`: what the shopper told this chat (see [`SHOPPER`]'s note); `calendar`: the
    /// shop's (`Store::shop_calendar`).
    pub fn new(
        wording: &'a Wording,
        shopper: CustomerSummary,
        shop_name: &'a str,
        public_url: &'a str,
        calendar: Calendar,
    ) -> Self {
        Voice {
            wording,
            shopper,
            shop_name,
            public_url,
            calendar,
        }
    }

    /// Dates in the language of the words around them: the shop's in its own wording of
    /// `reply`, English in ours.
    fn calendar_for(&self, reply: Reply) -> Calendar {
        match self.wording.changed(reply) {
            Some(_) => self.calendar,
            None => self.calendar.in_language(Language::English),
        }
    }

    /// Dates in what is written here in code (English): an order's parcels, facts for a
    /// language model.
    pub fn english(&self) -> Calendar {
        self.calendar.in_language(Language::English)
    }

    /// A reply in the wording in effect, filled. A variable without a value here becomes
    /// empty text, never `{{…}}` before a shopper; a shop's wording that comes out blank
    /// that way is replaced by ours, so the shopper is always told something.
    fn say(&self, reply: Reply, facts: Facts<'_>) -> String {
        let calendar = self.calendar_for(reply);
        let context = Context {
            customer: Some(&self.shopper),
            order: facts.order,
            shipment: facts.shipment,
            public_url: self.public_url,
            shop_name: self.shop_name,
            calendar: &calendar,
        };
        let value = |name: &str| {
            if let Some((_, v)) = facts.own.iter().find(|(n, _)| *n == name) {
                return Some((*v).to_owned());
            }
            match (name, facts.order) {
                ("order.placed_at", Some(o)) => Some(calendar.date(o.placed_at)),
                ("order.state", Some(o)) => Some(order_state(o).to_owned()),
                ("order.refunded_total", Some(o)) => o
                    .refunded_total
                    .as_ref()
                    .map(|amount| format!("{amount} {}", o.currency)),
                _ => context.value(name),
            }
        };
        let text = fill(self.wording.template(reply), value).text;
        if text.trim().is_empty() {
            fill(reply.default_template(), value).text
        } else {
            text
        }
    }

    fn about_order(&self, reply: Reply, order: &Order) -> String {
        self.say(
            reply,
            Facts {
                order: Some(order),
                ..Facts::default()
            },
        )
    }

    fn tracking_link(&self, order: &Order, shipment: &Shipment) -> String {
        self.say(
            Reply::TrackingLink,
            Facts {
                order: Some(order),
                shipment: Some(shipment),
                ..Facts::default()
            },
        )
    }

    /// The reply when the assistant hands the chat to the team.
    pub fn handing_over(&self, why: Handover) -> String {
        self.say(Reply::handover(why), Facts::default())
    }

    pub fn did_not_understand(&self) -> String {
        self.say(Reply::DidNotUnderstand, Facts::default())
    }

    /// For order questions from a chat the shop has not vouched for: order data is shown
    /// only to the order's owner.
    pub fn ask_for_proof(&self) -> String {
        self.say(Reply::AskForProof, Facts::default())
    }

    /// The proof did not match. It never says which part: that would help a guesser.
    pub fn proof_failed(&self) -> String {
        self.say(Reply::ProofFailed, Facts::default())
    }

    /// Why an order can no longer be cancelled or changed, and what can still be done;
    /// `None` while it can (it has not shipped).
    pub fn change_refused(&self, order: &Order, change: OrderChange) -> Option<String> {
        if order.status == OrderStatus::Cancelled {
            let reply = if order.refunded_total.is_some() {
                Reply::AlreadyRefunded
            } else {
                Reply::AlreadyCancelled
            };
            return Some(self.about_order(reply, order));
        }
        let shipped = order.fulfillment_status != FulfillmentStatus::Unfulfilled
            || !order.shipments.is_empty();
        if !shipped {
            return None;
        }
        let reply = match change {
            OrderChange::Cancel => Reply::ShippedNoCancel,
            OrderChange::ShippingAddress => Reply::ShippedNoAddressChange,
            OrderChange::Items => Reply::ShippedNoChange,
        };
        let mut out = self.about_order(reply, order);
        if let Some(s) = order.shipments.first() {
            out.push(' ');
            out.push_str(&self.tracking_link(order, s));
        }
        Some(out)
    }

    /// The request an order that has not shipped goes to the team with.
    pub fn change_requested(&self, order: &Order, change: OrderChange) -> String {
        let reply = match change {
            OrderChange::Cancel => Reply::CancelRequested,
            OrderChange::ShippingAddress => Reply::AddressChangeRequested,
            OrderChange::Items => Reply::ChangeRequested,
        };
        self.about_order(reply, order)
    }

    /// Whether anyone is there to answer a chat handed over, and how soon: said as it is.
    pub fn wait(&self, staffing: &Staffing) -> String {
        if let (false, Some(opening)) = (staffing.open, &staffing.opening) {
            // As the widget's panel says it (`GET /api/widget/v1/team`'s `opens`).
            let opens = self.calendar_for(Reply::WaitClosed).day_time(opening.at);
            return self.say(
                Reply::WaitClosed,
                Facts {
                    own: &[("opens", &opens)],
                    ..Facts::default()
                },
            );
        }
        if !staffing.answering() {
            return self.say(Reply::WaitOffline, Facts::default());
        }
        match staffing.typical_wait {
            Some(w) if w.num_minutes() >= 1 => {
                let wait = minutes(w.num_minutes() + 1);
                self.say(
                    Reply::WaitOnline,
                    Facts {
                        own: &[("wait", &wait)],
                        ..Facts::default()
                    },
                )
            }
            _ => self.say(Reply::WaitOnlineSoon, Facts::default()),
        }
    }

    /// No order of the shopper's was found.
    pub fn no_orders(&self) -> String {
        match self.shopper.email {
            Some(_) => self.say(Reply::NoOrders, Facts::default()),
            None => self.say(Reply::NoOrdersWithoutEmail, Facts::default()),
        }
    }

    /// Where an order is: its status, and for each shipment the carrier, last scan, expected
    /// date and tracking page.
    pub fn order_status(&self, order: &Order) -> String {
        let calendar = self.english();
        let mut out = self.about_order(Reply::OrderStatus, order);
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
                    calendar.date_time(e.occurred_at),
                    e.location
                        .as_deref()
                        .map_or(String::new(), |l| format!(", {l}")),
                    e.message
                        .as_deref()
                        .map_or(String::new(), |m| format!(": {m}"))
                ));
            }
            out.push('.');
            out.push_str(&arrival(s, &calendar));
            out.push(' ');
            out.push_str(&self.tracking_link(order, s));
        }
        if order.shipments.is_empty() && order.fulfillment_status.as_str() != "fulfilled" {
            out.push(' ');
            out.push_str(&self.about_order(Reply::NotShippedYet, order));
        }
        out
    }

    /// Where an order is, told to a shopper who proved it with its postcode alone, which is
    /// easier to guess than an email address: its state and each parcel's, without
    /// carriers, tracking numbers, scans or links.
    pub fn order_status_brief(&self, order: &Order) -> String {
        let calendar = self.english();
        let mut out = self.about_order(Reply::OrderStatus, order);
        for s in &order.shipments {
            out.push_str(&format!("\n\nParcel: {}.", s.status.for_shoppers()));
            out.push_str(&arrival(s, &calendar));
        }
        if order.shipments.is_empty() && order.fulfillment_status.as_str() != "fulfilled" {
            out.push(' ');
            out.push_str(&self.about_order(Reply::NotShippedYet, order));
        }
        out.push_str("\n\n");
        out.push_str(&self.about_order(Reply::MoreWithEmail, order));
        out
    }

    /// Where an order's refund is.
    pub fn refund_status(&self, order: &Order) -> String {
        let reply = match order.refunded_total {
            Some(_) => Reply::Refunded,
            None => Reply::NoRefund,
        };
        self.about_order(reply, order)
    }

    /// An answer from the help center.
    pub fn article(&self, title: &str, summary: &str, url: &str) -> String {
        self.say(
            Reply::Article,
            Facts {
                own: &[
                    ("article.title", title),
                    ("article.summary", summary),
                    ("article.url", url),
                ],
                ..Facts::default()
            },
        )
    }
}

fn minutes(n: i64) -> String {
    match n {
        1 => "a minute".to_owned(),
        n if n < 90 => format!("{n} minutes"),
        n => format!("{} hours", (n + 30) / 60),
    }
}

fn order_state(order: &Order) -> &'static str {
    match (order.status.as_str(), order.fulfillment_status.as_str()) {
        ("cancelled", _) => "cancelled",
        (_, "fulfilled") => "shipped",
        (_, "partial") => "partly shipped",
        _ => "being prepared",
    }
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
                    .map_or(String::new(), |i| format!(" [{}]", i.intent));
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

/// When a parcel comes or came, as a sentence after its status (" Expected by …."), or
/// nothing when nobody knows.
fn arrival(shipment: &Shipment, calendar: &Calendar) -> String {
    match shipment.arrival() {
        Some(Arrival::Expected(at)) => format!(" Expected by {}.", calendar.day(at)),
        Some(Arrival::Delivered(at)) => format!(" Delivered on {}.", calendar.day(at)),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use concierge_domain::commerce::{
        FinancialStatus, FulfillmentStatus, OrderStatus, TrackingStatus,
    };
    use concierge_domain::ids::{CustomerId, OrderId, ShipmentId};

    fn order(fulfillment: FulfillmentStatus) -> Order {
        let at = Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap();
        Order {
            id: OrderId::generate(),
            source: "api".into(),
            external_id: "ext-1042".into(),
            number: "#1042".into(),
            customer_id: CustomerId::generate(),
            status: OrderStatus::Open,
            financial_status: FinancialStatus::Paid,
            fulfillment_status: fulfillment,
            currency: "EUR".into(),
            total: "49.90".into(),
            placed_at: at,
            shipping_address: None,
            refunded_total: None,
            shop: None,
            line_items: vec![],
            shipments: vec![],
            created_at: at,
            updated_at: at,
        }
    }

    fn shipped() -> Order {
        let mut o = order(FulfillmentStatus::Fulfilled);
        o.shipments.push(Shipment {
            id: ShipmentId::generate(),
            order_id: o.id.clone(),
            external_id: None,
            tracking_token: "tok".into(),
            carrier: "DHL".into(),
            tracking_number: "JD014600".into(),
            tracking_url: Some("https://dhl.example/JD014600".into()),
            status: TrackingStatus::InTransit,
            estimated_delivery: None,
            last_event_at: None,
            events: vec![],
            created_at: o.placed_at,
            updated_at: o.placed_at,
        });
        o
    }

    /// A shop in London that words its own messages in `language`.
    fn shop(language: Language) -> Calendar {
        let hours =
            concierge_domain::hours::BusinessHours::new("Europe/London", Default::default(), [])
                .unwrap();
        Calendar::of_shop(Some(&hours), language)
    }

    fn ann() -> CustomerSummary {
        CustomerSummary {
            id: CustomerId::generate(),
            name: Some("Ann Shopper".into()),
            email: Some("ann@example.com".into()),
            phone: None,
        }
    }

    fn shop_wording(reply: Reply, template: &str) -> Wording {
        Wording {
            changed: vec![AssistantReply {
                key: reply.key().to_owned(),
                template: template.to_owned(),
                updated_at: Utc::now(),
            }],
        }
    }

    #[test]
    fn every_default_uses_only_the_variables_its_reply_allows() {
        for reply in Reply::ALL {
            let default = reply.default_template();
            assert!(
                reply.check(default).is_ok(),
                "{}: {:?}",
                reply.key(),
                reply.check(default)
            );
        }
    }

    #[test]
    fn keys_are_unique_and_name_their_reply() {
        for reply in Reply::ALL {
            assert_eq!(Reply::parse(reply.key()), Some(*reply));
            assert!(!reply.description().is_empty(), "{}", reply.key());
        }
        assert_eq!(Reply::parse("handover.asked"), Some(Reply::HandoverAsked));
        assert_eq!(Reply::parse("handover.nope"), None);
    }

    /// Every variable a reply offers has a value when the reply is about what it says: the
    /// lists the admin page shows and what `say` fills agree.
    #[test]
    fn every_variable_a_reply_allows_is_filled() {
        let mut order = shipped();
        order.refunded_total = Some("49.90".into());
        let shipment = order.shipments[0].clone();
        for reply in Reply::ALL {
            let names: Vec<&str> = reply.variables().iter().map(|(n, _)| *n).collect();
            let template = names
                .iter()
                .map(|n| format!("{{{{{n}}}}}"))
                .collect::<Vec<_>>()
                .join("|");
            let wording = shop_wording(*reply, &template);
            let voice = Voice::new(
                &wording,
                ann(),
                "Acme",
                "https://acme.example",
                shop(Language::English),
            );
            let facts = Facts {
                order: Some(&order),
                shipment: Some(&shipment),
                own: &[
                    ("wait", "5 minutes"),
                    ("opens", "Monday 09:00 (Europe/London)"),
                    ("article.title", "Returns"),
                    ("article.summary", "Send it back within 30 days."),
                    ("article.url", "https://acme.example/help/articles/returns"),
                ],
            };
            let text = voice.say(*reply, facts);
            for (name, value) in names.iter().zip(text.split('|')) {
                assert!(
                    !value.is_empty(),
                    "{}: {{{{{name}}}}} is empty",
                    reply.key()
                );
            }
        }
    }

    #[test]
    fn our_wording_says_what_the_assistant_always_said() {
        let ours = Wording::default();
        let voice = Voice::new(
            &ours,
            ann(),
            "Acme",
            "https://acme.example",
            shop(Language::English),
        );
        assert_eq!(
            voice.handing_over(Handover::Asked),
            "Of course. I'm passing you to a person on our team now; they can see everything \
             you've told me, so you won't have to repeat it. They'll answer right here."
        );
        assert_eq!(
            voice.order_status(&order(FulfillmentStatus::Unfulfilled)),
            "Your order #1042 from 20 November 2026 is being prepared. It hasn't shipped yet; \
             you'll get an email with the tracking link when it does."
        );
        assert_eq!(
            voice
                .change_refused(&shipped(), OrderChange::Cancel)
                .unwrap(),
            "Order #1042 has already shipped, so it can't be cancelled any more. Once it \
             arrives you can send it back for a refund; ask me about returns to see how. \
             Follow it here: https://acme.example/track/tok"
        );
        assert_eq!(
            voice.article("Returns", "Within 30 days.", "https://a.example/r"),
            "Returns: Within 30 days.\n\nThe whole article: https://a.example/r\n\nDid that \
             answer your question? If not, ask me to pass you to a person."
        );
        let online = Staffing {
            agents_online: 1,
            typical_wait: Some(chrono::Duration::minutes(4)),
            open: true,
            opening: None,
        };
        assert_eq!(
            voice.wait(&online),
            "Someone from our team is online; chats are usually answered within about 5 \
             minutes."
        );
        let closed = Staffing {
            open: false,
            opening: Some(concierge_domain::hours::Opening {
                at: Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap(),
            }),
            ..online.clone()
        };
        assert!(
            voice
                .wait(&closed)
                .starts_with("Our team is away right now and back Monday, 7 December, 09:00 GMT."),
            "{}",
            voice.wait(&closed)
        );
        let never = Staffing {
            opening: None,
            ..closed
        };
        assert!(voice
            .wait(&never)
            .starts_with("No one from our team is online"));
        assert!(voice.no_orders().contains("for ann@example.com."));
    }

    #[test]
    fn the_shops_wording_is_filled_and_a_value_it_lacks_is_empty_text() {
        let wording = shop_wording(
            Reply::HandoverAsked,
            "Right away, {{customer.first_name}}! Someone from {{shop.name}} will take over.",
        );
        let voice = Voice::new(
            &wording,
            ann(),
            "Acme",
            "https://acme.example",
            shop(Language::English),
        );
        assert_eq!(
            voice.handing_over(Handover::Asked),
            "Right away, Ann! Someone from Acme will take over."
        );
        // Other replies keep ours.
        assert!(voice
            .handing_over(Handover::Complaint)
            .starts_with("I'm sorry about this."));

        let nameless = CustomerSummary {
            name: None,
            ..ann()
        };
        let voice = Voice::new(
            &wording,
            nameless,
            "Acme",
            "https://acme.example",
            shop(Language::English),
        );
        assert_eq!(
            voice.handing_over(Handover::Asked),
            "Right away, ! Someone from Acme will take over."
        );
    }

    #[test]
    fn a_shops_wording_that_comes_out_blank_is_replaced_by_ours() {
        let wording = shop_wording(Reply::DidNotUnderstand, " {{customer.first_name}} ");
        let nameless = CustomerSummary {
            name: None,
            ..ann()
        };
        let voice = Voice::new(
            &wording,
            nameless,
            "Acme",
            "https://acme.example",
            shop(Language::English),
        );
        assert_eq!(
            voice.did_not_understand(),
            Reply::DidNotUnderstand.default_template()
        );
    }

    #[test]
    fn check_refuses_what_a_reply_cannot_say() {
        let asked = Reply::HandoverAsked;
        assert!(asked
            .check("Hi {{ customer.first_name }}, {{shop.name}} here.")
            .is_ok());
        // A variable other replies have, but not this one: there is no order here.
        let e = asked.check("About {{order.number}}").unwrap_err();
        assert!(e.0.contains("order.number"), "{e}");
        assert!(asked.check("Hi {{customer.shoe_size}}").is_err());
        assert!(asked.check("Hi {{customer.name").is_err());
        assert!(asked.check("  \n").is_err());
        assert!(asked.check(&"a".repeat(MAX_TEMPLATE_CHARS + 1)).is_err());
        assert!(Reply::Refunded
            .check("{{order.refunded_total}} for {{order.number}}")
            .is_ok());
    }

    #[test]
    fn dates_are_the_shops_and_a_delivered_parcel_is_never_expected() {
        let ours = Wording::default();
        let voice = Voice::new(
            &ours,
            ann(),
            "Acme",
            "https://acme.example",
            shop(Language::English),
        );
        let mut order = shipped();
        let parcel = &mut order.shipments[0];
        parcel.estimated_delivery = Some(Utc.with_ymd_and_hms(2026, 10, 25, 12, 0, 0).unwrap());
        let status = voice.order_status(&order);
        assert!(
            status.contains("Expected by Sunday, 25 October 2026."),
            "{status}"
        );
        // Scanned delivered at 23:30 UTC on the 23rd: 00:30 on the 24th in London (BST).
        let parcel = &mut order.shipments[0];
        parcel.status = TrackingStatus::Delivered;
        parcel
            .events
            .push(concierge_store::commerce::TrackingEvent {
                id: concierge_domain::ids::TrackingEventId::generate(),
                shipment_id: parcel.id.clone(),
                status: TrackingStatus::Delivered,
                occurred_at: Utc.with_ymd_and_hms(2026, 10, 23, 23, 30, 0).unwrap(),
                location: Some("Leeds".into()),
                message: None,
                created_at: Utc::now(),
            });
        let status = voice.order_status(&order);
        assert!(
            status.contains("(last update 24 October 2026, 00:30 BST, Leeds).")
                && status.contains("Delivered on Saturday, 24 October 2026.")
                && !status.contains("Expected"),
            "{status}"
        );

        // The shop's own wording, in German, gets German dates; ours stays English.
        let german = shop_wording(
            Reply::WaitClosed,
            "Wir sind gerade nicht da und ab {{opens}} wieder für dich da.",
        );
        let voice = Voice::new(
            &german,
            ann(),
            "Acme",
            "https://acme.example",
            shop(Language::German),
        );
        let closed = Staffing {
            agents_online: 0,
            typical_wait: None,
            open: false,
            opening: Some(concierge_domain::hours::Opening {
                at: Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap(),
            }),
        };
        assert_eq!(
            voice.wait(&closed),
            "Wir sind gerade nicht da und ab Montag, 7. Dezember, 09:00 Uhr GMT wieder für dich da."
        );
        assert!(
            voice.order_status(&order).contains("Delivered on Saturday"),
            "our own words stay English"
        );
    }
}
