//! The demo shop behind `concierge serve --demo`: a believable help desk — customers, orders
//! with shipments in every state, help-center articles, and conversations over email, chat and
//! SMS — written through the [`Store`] like any other data, so it exercises the real paths.
//!
//! Deterministic (a fixed seed) and relative to now, so the demo always looks current.

mod shop;

use chrono::{DateTime, Duration, Utc};
use concierge_domain::access::{Actor, Role};
use concierge_domain::commerce::{
    Amount, Currency, FinancialStatus, FulfillmentStatus, OrderNumber, OrderStatus, Quantity,
    TrackingStatus,
};
use concierge_domain::contact::{EmailAddress, PhoneNumber};
use concierge_domain::conversation::{Channel, ConversationStatus, Priority, SenderType};
use concierge_domain::ids::AgentId;
use concierge_domain::intents::IntentReading;
use concierge_domain::knowledge::{Locale, Slug, Synonyms};
use concierge_domain::text::{Label, MessageBody, PersonName, Subject};
use concierge_store::access::NewAgent;
use concierge_store::articles::{Category, Filing, NewArticle};
use concierge_store::commerce::{NewLineItem, NewShipment, NewTrackingEvent, Order, OrderUpsert};
use concierge_store::conversations::{ConversationPatch, NewConversation, NewMessage};
use concierge_store::customers::CustomerRef;
use concierge_store::{Store, StoreError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

pub use shop::SHOP_NAME;
pub mod store_page;

/// The demo shop's help center: its categories in order, its articles (in English) and its
/// synonyms. Part of [`seed_if_empty`]; on its own for measuring search on the demo's
/// knowledge base (`concierge knowledge eval --demo`).
pub async fn seed_knowledge(store: &Store) -> Result<(), StoreError> {
    let system = Actor::System;
    for (i, (slug, name, description)) in shop::CATEGORIES.iter().enumerate() {
        store
            .save_category(
                &Category {
                    slug: (*slug).to_owned(),
                    name: (*name).to_owned(),
                    description: Some((*description).to_owned()),
                    position: i as i64,
                },
                &system,
            )
            .await?;
    }
    let mut originals = Vec::new();
    for (i, a) in shop::ARTICLES.iter().enumerate() {
        let category = shop::CATEGORIES
            .iter()
            .find(|(slug, ..)| *slug == a.category)
            .map(|(slug, name, _)| Filing {
                slug: valid(Slug::parse(slug), "category slug"),
                name: (*name).to_owned(),
            });
        let article = store
            .create_article(
                NewArticle {
                    title: a.title.to_owned(),
                    body_markdown: a.body_markdown.to_owned(),
                    body_html: concierge_knowledge::markdown::render(a.body_markdown),
                    category,
                    locale: Locale::default(),
                    published: true,
                    slug: None,
                    summary: None,
                    position: i as i64,
                    translation_of: None,
                },
                &system,
            )
            .await?;
        originals.push(article);
    }
    for (original, title, slug, markdown) in shop::TRANSLATIONS_DE {
        let Some(of) = originals.iter().find(|a| a.title == *original) else {
            continue;
        };
        store
            .create_article(
                NewArticle {
                    title: (*title).to_owned(),
                    body_markdown: (*markdown).to_owned(),
                    body_html: concierge_knowledge::markdown::render(markdown),
                    category: shop::CATEGORIES
                        .iter()
                        .find(|(slug, ..)| of.category.as_deref() == Some(*slug))
                        .map(|(slug, name, _)| Filing {
                            slug: valid(Slug::parse(slug), "category slug"),
                            name: (*name).to_owned(),
                        }),
                    locale: valid(Locale::parse("de"), "locale"),
                    published: true,
                    slug: Some(valid(Slug::parse(slug), "slug")),
                    summary: None,
                    position: of.position,
                    translation_of: Some(of.id.clone()),
                },
                &system,
            )
            .await?;
    }
    for group in shop::SYNONYMS {
        let terms: Vec<String> = group.iter().map(|t| (*t).to_owned()).collect();
        let synonyms = valid(Synonyms::parse(&terms), "synonyms");
        store.save_synonyms(None, &synonyms, &system).await?;
    }
    Ok(())
}

/// The admin login the demo prints.
pub struct DemoLogin {
    pub email: String,
    pub password: String,
}

const PASSWORD: &str = "demo-password-123";
const CUSTOMERS: usize = 50;
const ORDERS: usize = 200;
const CONVERSATIONS: usize = 100;

struct Shopper {
    first: &'static str,
    name: String,
    email: EmailAddress,
    phone: PhoneNumber,
    place: (&'static str, &'static str, &'static str, &'static str),
    orders: Vec<Order>,
}

/// The demo's `i`th shopper, before their orders.
fn shopper(i: usize) -> Shopper {
    let first = shop::FIRST_NAMES[i % shop::FIRST_NAMES.len()];
    let last = shop::LAST_NAMES[(i * 7 + i / shop::FIRST_NAMES.len()) % shop::LAST_NAMES.len()];
    let place = shop::PLACES[i % shop::PLACES.len()];
    let local = format!("{}.{}", first, last)
        .to_lowercase()
        .replace(' ', "");
    let domain = shop::EMAIL_DOMAINS[i % shop::EMAIL_DOMAINS.len()];
    Shopper {
        first,
        name: format!("{first} {last}"),
        email: valid(
            EmailAddress::parse(&format!(
                "{local}{}@{domain}",
                if i >= shop::FIRST_NAMES.len() {
                    "2"
                } else {
                    ""
                }
            )),
            "email",
        ),
        phone: valid(
            PhoneNumber::parse(&format!("{}{:07}", place.3, 5_550_000 + i * 37)),
            "phone",
        ),
        place,
        orders: Vec::new(),
    }
}

/// Who the demo store page signs in to the chat: name and email. Their latest order left
/// the warehouse a day and a half ago and is on its way.
pub fn store_shopper() -> (String, String) {
    let s = shopper(0);
    (s.name, s.email.as_str().to_owned())
}

/// Seeding content is static and checked by the tests; a failure here is a bug in it.
fn valid<T, E: std::fmt::Display>(r: Result<T, E>, what: &str) -> T {
    r.unwrap_or_else(|e| panic!("demo content: invalid {what}: {e}"))
}

/// Fills an empty database with the demo shop; does nothing (`Ok(None)`) when it already
/// holds customers, orders or conversations.
pub async fn seed_if_empty(store: &Store) -> Result<Option<DemoLogin>, StoreError> {
    if !store.is_empty().await? {
        return Ok(None);
    }
    let mut rng = StdRng::seed_from_u64(1001);
    let now = Utc::now();
    let system = Actor::System;

    let hash = concierge_api::auth::hash_password(PASSWORD)
        .map_err(|e| StoreError::Config(format!("cannot hash the demo password: {e}")))?;
    let mut agents = Vec::new();
    for (email, name, role) in [
        ("alex@northwind.example", "Alex Morgan", Role::Admin),
        ("sam@northwind.example", "Sam Rivera", Role::Agent),
    ] {
        let agent = store
            .create_agent(
                NewAgent {
                    email: valid(EmailAddress::parse(email), "email"),
                    name: valid(PersonName::parse(name), "name"),
                    role,
                    password_hash: hash.clone(),
                },
                &system,
            )
            .await?;
        agents.push((agent.id, name.split(' ').next().unwrap_or(name)));
    }
    for team in ["Tier 1", "Logistics"] {
        store
            .create_team(&valid(Label::parse(team), "team"), &system)
            .await?;
    }

    seed_knowledge(store).await?;

    let mut shoppers: Vec<Shopper> = (0..CUSTOMERS).map(shopper).collect();

    for n in 0..ORDERS {
        let who = rng.gen_range(0..CUSTOMERS);
        let age_days = 90.0 * (1.0 - n as f64 / ORDERS as f64);
        let placed_at = now - Duration::minutes((age_days * 1440.0) as i64 + rng.gen_range(0..600));
        let order = place_order(store, &mut rng, &shoppers[who], 1001 + n, placed_at, now).await?;
        shoppers[who].orders.push(order);
    }
    // The store page's shopper has an order on its way (seeded so it is neither cancelled
    // nor in trouble; the demo's tests check).
    let on_its_way = place_order(
        store,
        &mut StdRng::seed_from_u64(7),
        &shoppers[0],
        1001 + ORDERS,
        now - Duration::hours(36),
        now,
    )
    .await?;
    shoppers[0].orders.push(on_its_way);

    for n in 0..CONVERSATIONS {
        let who = &shoppers[(n * 13) % CUSTOMERS];
        let mut script = &shop::SCRIPTS[n % shop::SCRIPTS.len()];
        if script.needs_order && who.orders.is_empty() {
            // A shopper without orders asks before buying instead.
            script = shop::SCRIPTS
                .iter()
                .find(|s| !s.needs_order)
                .unwrap_or(script);
        }
        let channel = match n % 20 {
            0..=9 => Channel::Email,
            10..=16 => Channel::Chat,
            _ => Channel::Sms,
        };
        let (agent_id, agent_name) = agents[n % 2].clone();
        open_conversation(
            store, &mut rng, who, script, channel, &agent_id, agent_name, n, now,
        )
        .await?;
    }

    Ok(Some(DemoLogin {
        email: "alex@northwind.example".into(),
        password: PASSWORD.into(),
    }))
}

async fn place_order(
    store: &Store,
    rng: &mut StdRng,
    who: &Shopper,
    number: usize,
    placed_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Order, StoreError> {
    let mut total = Amount::zero();
    let mut items = Vec::new();
    for _ in 0..rng.gen_range(1..=3) {
        let p = &shop::PRODUCTS[rng.gen_range(0..shop::PRODUCTS.len())];
        let title = match p.sizes {
            [] => p.title.to_owned(),
            sizes => format!("{} — {}", p.title, sizes[rng.gen_range(0..sizes.len())]),
        };
        let price = valid(Amount::parse(p.price), "price");
        let quantity = valid(
            Quantity::new(if rng.gen_bool(0.15) { 2 } else { 1 }),
            "quantity",
        );
        total = total
            .checked_add(price.times(quantity.get()).unwrap_or(price))
            .unwrap_or(total);
        items.push(NewLineItem {
            sku: Some(p.sku.to_owned()),
            title,
            quantity,
            price,
        });
    }
    let age = now - placed_at;
    let cancelled = rng.gen_bool(0.03);
    let shipped = !cancelled && age > Duration::hours(20);
    let (status, financial, fulfillment) = if cancelled {
        (
            OrderStatus::Cancelled,
            FinancialStatus::Refunded,
            FulfillmentStatus::Unfulfilled,
        )
    } else if !shipped {
        (
            OrderStatus::Open,
            FinancialStatus::Paid,
            FulfillmentStatus::Unfulfilled,
        )
    } else if age > Duration::days(30) && rng.gen_bool(0.08) {
        (
            OrderStatus::Closed,
            FinancialStatus::PartiallyRefunded,
            FulfillmentStatus::Fulfilled,
        )
    } else {
        (
            if age > Duration::days(14) {
                OrderStatus::Closed
            } else {
                OrderStatus::Open
            },
            FinancialStatus::Paid,
            FulfillmentStatus::Fulfilled,
        )
    };
    let (order, _) = store
        .upsert_order(
            OrderUpsert {
                source: "demo".into(),
                external_id: format!("demo-{number}"),
                number: valid(OrderNumber::parse(&format!("#{number}")), "order number"),
                customer: CustomerRef { name: PersonName::parse(&who.name).ok(), email: Some(who.email.clone()), phone: Some(who.phone.clone()), external: None },
                status,
                financial_status: financial,
                fulfillment_status: fulfillment,
                currency: valid(Currency::parse("EUR"), "currency"),
                total,
                placed_at,
                line_items: items,
                shipping_address: Some(json!({"name": who.name, "address1": format!("{} Market Street", 3 + number % 90), "city": who.place.0, "zip": who.place.2, "country": who.place.1})),
                source_updated_at: None,
                shop: None,
            },
            &Actor::System,
        )
        .await?;
    if !shipped {
        return Ok(order);
    }
    let (carrier, url) = shop::CARRIERS[number % shop::CARRIERS.len()];
    let tracking = format!(
        "{}{:010}",
        &carrier[..2].to_uppercase(),
        4_200_000_000u64 + number as u64 * 7919
    );
    let shipped_at = placed_at + Duration::hours(rng.gen_range(4..20));
    let eta = shipped_at + Duration::days(3);
    let shipment = store
        .add_shipment(
            &order.id,
            NewShipment {
                carrier: carrier.into(),
                tracking_number: tracking.clone(),
                tracking_url: Some(url.replace("{tracking}", &tracking)),
                status: TrackingStatus::InfoReceived,
                estimated_delivery: Some(eta),
                // History: the demo's shoppers were told long ago.
                announce: false,
            },
            &Actor::System,
        )
        .await?;
    // The journey so far: every scan that would have happened by now, with a few that went wrong.
    let trouble = rng.gen_range(0..100);
    let mut journey = vec![
        (
            TrackingStatus::InfoReceived,
            shipped_at,
            "Hamburg, DE",
            "Shipment information received",
        ),
        (
            TrackingStatus::InTransit,
            shipped_at + Duration::hours(6),
            "Hamburg hub, DE",
            "Departed facility",
        ),
        (
            TrackingStatus::InTransit,
            shipped_at + Duration::hours(30),
            who.place.0,
            "Arrived at delivery depot",
        ),
    ];
    match trouble {
        0..=4 => journey.push((
            TrackingStatus::Exception,
            shipped_at + Duration::hours(40),
            who.place.0,
            "Parcel damaged in transit; held at depot",
        )),
        5..=9 => journey.push((
            TrackingStatus::AttemptFailed,
            shipped_at + Duration::hours(50),
            who.place.0,
            "Recipient not at home; notice left",
        )),
        10..=13 => {} // stalled at the depot, past its ETA once enough time has gone by
        _ => {
            journey.push((
                TrackingStatus::OutForDelivery,
                shipped_at + Duration::hours(52),
                who.place.0,
                "Out for delivery",
            ));
            journey.push((
                TrackingStatus::Delivered,
                shipped_at + Duration::hours(58),
                who.place.0,
                "Delivered",
            ));
        }
    }
    for (status, at, location, message) in journey {
        if at > now {
            break;
        }
        store
            .add_tracking_event(
                &shipment.id,
                NewTrackingEvent {
                    status,
                    occurred_at: at,
                    location: Some(location.into()),
                    message: Some(message.into()),
                    fingerprint: None,
                    announce: false,
                },
            )
            .await?;
    }
    store.order(&order.id).await
}

#[allow(clippy::too_many_arguments)]
async fn open_conversation(
    store: &Store,
    rng: &mut StdRng,
    who: &Shopper,
    script: &shop::Script,
    channel: Channel,
    agent_id: &AgentId,
    agent_name: &str,
    n: usize,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let order = who.orders.last();
    let shipment = order.and_then(|o| o.shipments.first());
    let fill = |text: &str| {
        text.replace("{first_name}", who.first)
            .replace(
                "{order}",
                order.map(|o| o.number.as_str()).unwrap_or("#1001"),
            )
            .replace(
                "{product}",
                order
                    .and_then(|o| o.line_items.first())
                    .map(|i| i.title.split(" — ").next().unwrap_or(&i.title))
                    .unwrap_or("jacket"),
            )
            .replace(
                "{carrier}",
                shipment.map(|s| s.carrier.as_str()).unwrap_or("DHL"),
            )
            .replace(
                "{tracking}",
                shipment
                    .map(|s| s.tracking_number.as_str())
                    .unwrap_or("(not shipped yet)"),
            )
            .replace("{agent}", agent_name)
    };
    let body = |text: &str| valid(MessageBody::parse(&fill(text)), "message");
    let started = now - Duration::minutes(rng.gen_range(30..14 * 1440));
    let mut at = started;
    let mut step = |rng: &mut StdRng| {
        at = (at + Duration::minutes(rng.gen_range(5..600))).min(now - Duration::minutes(1));
        at
    };
    let customer = CustomerRef {
        name: PersonName::parse(&who.name).ok(),
        email: (channel != Channel::Sms).then(|| who.email.clone()),
        phone: (channel == Channel::Sms).then(|| who.phone.clone()),
        external: None,
    };
    let opening = NewMessage {
        at: Some(started),
        ..NewMessage::text(SenderType::Customer, body(script.opening))
    }
    .read_with(concierge_intents::read);
    let (conversation, _) = store
        .create_conversation(
            NewConversation {
                channel,
                customer,
                subject: (channel == Channel::Email)
                    .then(|| valid(Subject::parse(&fill(script.subject)), "subject")),
                priority: valid(Priority::parse(script.priority), "priority"),
                tags: script
                    .tags
                    .iter()
                    .map(|t| valid(Label::parse(t), "tag"))
                    .collect(),
                message: opening,
            },
            &Actor::System,
        )
        .await?;
    let id = conversation.id;
    store
        .set_intent(
            &id,
            IntentReading {
                intent: script.intent,
                confidence: 0.90 + rng.gen_range(0.0..0.09),
            },
        )
        .await?;
    let agent = |text: &str, at: DateTime<Utc>, private: bool| NewMessage {
        agent_id: Some(agent_id.clone()),
        private,
        at: Some(at),
        ..NewMessage::text(SenderType::Agent, body(text))
    };
    // How far the story has got: a third still wait for a first answer.
    let stage = n % 6;
    if stage >= 2 {
        store
            .append_message(&id, agent(script.reply, step(rng), false))
            .await?;
    }
    if stage >= 3 {
        store
            .append_message(
                &id,
                NewMessage {
                    at: Some(step(rng)),
                    ..NewMessage::text(SenderType::Customer, body(script.follow_up))
                }
                .read_with(concierge_intents::read),
            )
            .await?;
    }
    if stage == 3 && n.is_multiple_of(4) {
        store
            .append_message(
                &id,
                agent(
                    "Checked with the warehouse — the parcel was re-routed via the regional depot.",
                    step(rng),
                    true,
                ),
            )
            .await?;
    }
    if stage >= 4 {
        store
            .append_message(&id, agent(script.second_reply, step(rng), false))
            .await?;
    }
    let (status, snooze_until) = match stage {
        0 | 1 | 3 => (ConversationStatus::Open, None),
        2 if n % 4 == 2 => (
            ConversationStatus::Snoozed,
            Some(now + Duration::hours(6 + n as i64 % 48)),
        ),
        2 => (ConversationStatus::Pending, None),
        4 if n.is_multiple_of(5) => (ConversationStatus::Closed, None),
        _ => (ConversationStatus::Resolved, None),
    };
    let assignee = match n % 5 {
        0 => None,
        _ => Some(Some(agent_id.clone())),
    };
    store
        .update_conversation(
            &id,
            ConversationPatch {
                status: (status != ConversationStatus::Open).then_some(status),
                snooze_until,
                assignee_id: assignee,
                ..Default::default()
            },
            &Actor::System,
        )
        .await?;
    Ok(())
}
