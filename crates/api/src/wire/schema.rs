//! Schemas of request fields that arrive as strings and are parsed by the domain (so a bad
//! value is refused naming its field): what each parser takes, told to the OpenAPI document
//! so that a client, or a fuzzer, knows which values are accepted. The vocabularies come
//! from the domain's own lists, so the document cannot drift from the parsers.

use concierge_domain::access::Role;
use concierge_domain::commerce::{
    CancelReason, FinancialStatus, FulfillmentStatus, OrderAction, OrderStatus, TrackingStatus,
};
use concierge_domain::conversation::{Channel, ConversationStatus, Priority};
use concierge_domain::ids;
use concierge_domain::intents::{Intent, IntentCategory};
use serde_json::Value;
use utoipa::openapi::schema::{
    AnyOfBuilder, ArrayBuilder, Object, ObjectBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::{KnownFormat, RefOr, SchemaFormat};

/// Free text as `concierge_domain::text::bounded` takes it: something besides white space,
/// and no control characters but line breaks and tabs.
pub const TEXT_PATTERN: &str = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$";

/// What `Cursor::decode` takes: the hex of `t{micros}.{id}`, `i{id}` or `o{offset}`.
const CURSOR_PATTERN: &str = "^(|74(2d)?(3[0-9]){1,18}2e(3[0-9]|4[1-9a-f]|5[0-9af]|6[1-9a-f]|7[0-9a])+|69(3[0-9]|4[1-9a-f]|5[0-9af]|6[1-9a-f]|7[0-9a])+|6f(3[0-9]){1,9})$";

fn string(nullable: bool) -> ObjectBuilder {
    let types = if nullable {
        SchemaType::from_iter([Type::String, Type::Null])
    } else {
        SchemaType::Type(Type::String)
    };
    ObjectBuilder::new().schema_type(types)
}

/// Bounded free text of at most `max` characters.
pub fn text(max: usize, nullable: bool) -> Object {
    string(nullable)
        .max_length(Some(max))
        .pattern(Some(TEXT_PATTERN))
        .build()
}

/// One of `words` (or null when `nullable`).
pub fn words<'a>(words: impl IntoIterator<Item = &'a str>, nullable: bool) -> Object {
    let mut values: Vec<Value> = words.into_iter().map(Value::from).collect();
    if nullable {
        values.push(Value::Null);
    }
    string(nullable).enum_values(Some(values)).build()
}

/// An id of the kind with `prefix` (`cnv`, `cus`, …).
pub fn id(prefix: &str, nullable: bool) -> Object {
    string(nullable)
        .pattern(Some(format!("^{prefix}_[0-9a-f]{{32}}$")))
        .build()
}

/// An email address as `EmailAddress::parse` takes it (surrounding spaces are trimmed).
pub fn email(nullable: bool) -> Object {
    string(nullable)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
        .max_length(Some(254))
        .build()
}

/// A string of white space only, or null: what an optional field whose blank means "not
/// given" also takes.
fn blank() -> Object {
    string(true).pattern(Some(r"^\s*$")).build()
}

/// `schema`, or blank (see [`blank`]).
fn or_blank(schema: Object) -> RefOr<Schema> {
    RefOr::T(Schema::AnyOf(
        AnyOfBuilder::new().item(schema).item(blank()).build(),
    ))
}

/// A phone number as `PhoneNumber::parse` takes it: international form (`+` or `00`, then
/// the country code), 8 to 15 digits, spaces, dots, dashes and brackets between them.
fn phone() -> Object {
    string(false)
        .pattern(Some(
            r"^\s*(whatsapp:\s*)?(\+|[ .()-]*0[ .()-]*0)[ .()-]*[1-9]([ .()-]*[0-9]){7,14}[ .()-]*\s*$",
        ))
        .build()
}

/// At most 50 labels (tags).
fn label_list(nullable: bool) -> RefOr<Schema> {
    let types = if nullable {
        SchemaType::from_iter([Type::Array, Type::Null])
    } else {
        SchemaType::Type(Type::Array)
    };
    ArrayBuilder::new()
        .schema_type(types)
        .items(text(100, false))
        .max_items(Some(50))
        .build()
        .into()
}

macro_rules! schemas {
    ($($(#[$meta:meta])* $name:ident => $body:expr;)+) => {$(
        $(#[$meta])*
        pub fn $name() -> RefOr<Schema> { $body.into() }
    )+};
}

schemas! {
    person_name => text(200, false);
    person_name_or_blank => or_blank(text(200, false));
    subject_or_blank => or_blank(text(500, false));
    message_body => text(concierge_domain::text::MAX_BODY_CHARS, false);
    label => text(100, false);
    tags => label_list(false);
    tags_or_null => label_list(true);
    email_or_blank => or_blank(email(false));
    phone_or_blank => or_blank(phone());
    channel => words(Channel::ALL.iter().map(|c| c.as_str()), false);
    status_or_null => words(ConversationStatus::ALL.iter().map(|c| c.as_str()), true);
    priority_or_null => words(Priority::ALL.iter().map(|c| c.as_str()), true);
    /// Who a message is written as: a shopper's words or an agent's (bots and the system
    /// write only through the service).
    written_as_or_null => words(["customer", "agent"], true);
    role_or_null => words(Role::ALL.iter().map(|c| c.as_str()), true);
    intent => words(Intent::ALL.iter().map(|c| c.as_str()), false);
    intent_or_null => words(Intent::ALL.iter().map(|c| c.as_str()), true);
    intent_category => words(IntentCategory::ALL.iter().map(|c| c.as_str()), false);
    order_status => words(OrderStatus::ALL.iter().map(|c| c.as_str()), false);
    financial_status => words(FinancialStatus::ALL.iter().map(|c| c.as_str()), false);
    fulfillment_status => words(FulfillmentStatus::ALL.iter().map(|c| c.as_str()), false);
    tracking_status => words(TrackingStatus::ALL.iter().map(|c| c.as_str()), false);
    tracking_status_or_null => words(TrackingStatus::ALL.iter().map(|c| c.as_str()), true);
    order_action => words(OrderAction::ALL.iter().map(|c| c.as_str()), false);
    /// A reason to cancel, or blank for the default (`customer`).
    cancel_reason_or_blank => or_blank(words(CancelReason::ALL.iter().map(|c| c.as_str()), false));
    agent_id_or_null => id(ids::AgentId::PREFIX, true);
    team_id_or_null => id(ids::TeamId::PREFIX, true);
    conversation_id => id(ids::ConversationId::PREFIX, false);
    customer_id => id(ids::CustomerId::PREFIX, false);
    order_id => id(ids::OrderId::PREFIX, false);
    email_address => email(false);
    // Query parameters: blank means not given.
    /// A `next_cursor` the API handed out (hex of its position in the list), or blank.
    cursor => string(true)
        .max_length(Some(256))
        .pattern(Some(CURSOR_PATTERN))
        .build();
    status_or_blank => or_blank(words(ConversationStatus::ALL.iter().map(|c| c.as_str()), false));
    channel_or_blank => or_blank(words(Channel::ALL.iter().map(|c| c.as_str()), false));
    priority_or_blank => or_blank(words(Priority::ALL.iter().map(|c| c.as_str()), false));
    sort_or_blank => or_blank(words(["newest", "waiting"], false));
    /// An agent's id, or `none` for nobody's.
    assignee_or_blank => RefOr::T(Schema::AnyOf(
        AnyOfBuilder::new()
            .item(id(ids::AgentId::PREFIX, false))
            .item(words(["none"], false))
            .item(blank())
            .build(),
    ));
    /// A language tag: a 2–3 letter language, optionally a region (`en`, `pt-BR`, `es-419`).
    locale_or_blank => or_blank(
        string(false)
            .pattern(Some(r"^\s*[A-Za-z]{2,3}([-_]([A-Za-z]{2}|[0-9]{3}))?\s*$"))
            .build()
    );
    role_or_blank => or_blank(words(Role::ALL.iter().map(|c| c.as_str()), false));
    customer_id_or_blank => or_blank(id(ids::CustomerId::PREFIX, false));
    team_id_or_blank => or_blank(id(ids::TeamId::PREFIX, false));
    job_status_or_blank => or_blank(words(concierge_store::jobs::JobStatus::ALL.iter().map(|c| c.as_str()), false));
    delivery_state_or_blank => or_blank(words(concierge_store::platforms::DeliveryState::ALL.iter().map(|c| c.as_str()), false));
    /// Text to classify: anything but white space.
    classify_text => string(false)
        .max_length(Some(crate::routes::MAX_CLASSIFY_CHARS))
        .pattern(Some(r"\S"))
        .build();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabularies_are_the_domains() {
        let schema = serde_json::to_value(channel()).unwrap();
        let listed: Vec<&str> = schema["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        for word in &listed {
            assert!(Channel::parse(word).is_ok(), "{word}");
        }
        assert_eq!(listed.len(), Channel::ALL.len());
    }

    #[test]
    fn ids_are_what_the_parsers_take() {
        let schema = serde_json::to_value(conversation_id()).unwrap();
        assert_eq!(
            schema["pattern"],
            format!("^cnv_[0-9a-f]{{32}}$"),
            "the pattern names the prefix"
        );
        let generated = ids::ConversationId::generate();
        assert!(ids::ConversationId::parse(generated.as_str()).is_ok());
    }
}
