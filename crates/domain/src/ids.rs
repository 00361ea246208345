//! Opaque identifiers. Each kind of record has its own type and a short prefix (`cnv_…`,
//! `cus_…`) so an id pasted in the wrong place is refused rather than silently matching
//! nothing. Ids are time-ordered (UUIDv7), which keeps inserts at the end of indexes.

use crate::Invalid;
use std::fmt;

macro_rules! ids {
    ($($(#[$meta:meta])* $name:ident = $prefix:literal;)+) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A new, unique, time-ordered id.
            pub fn generate() -> Self {
                $name(format!("{}_{}", $prefix, uuid::Uuid::now_v7().simple()))
            }

            /// Parses an id as clients send it back to us.
            pub fn parse(s: &str) -> Result<Self, Invalid> {
                match s.strip_prefix(concat!($prefix, "_")) {
                    Some(rest) if rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) => {
                        Ok($name(s.to_owned()))
                    }
                    _ => Err(Invalid(format!("not a valid {} id", $prefix))),
                }
            }

            /// Wraps an id read back from our own storage.
            pub fn from_trusted(s: String) -> Self { $name(s) }

            pub fn as_str(&self) -> &str { &self.0 }
            pub fn into_string(self) -> String { self.0 }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(&self.0) }
        }

        impl std::str::FromStr for $name {
            type Err = Invalid;
            fn from_str(s: &str) -> Result<Self, Self::Err> { Self::parse(s) }
        }
    )+};
}

ids! {
    /// An agent's signed-in browser session.
    SessionId = "ses";
    /// A shopper, across all their channels.
    CustomerId = "cus";
    /// One thread with one customer on one channel.
    ConversationId = "cnv";
    MessageId = "msg";
    AttachmentId = "att";
    AgentId = "agt";
    TeamId = "team";
    OrderId = "ord";
    LineItemId = "li";
    ShipmentId = "shp";
    TrackingEventId = "tev";
    ArticleId = "art";
    TokenId = "tok";
    AuditId = "aud";
    JobId = "job";
    CannedReplyId = "cr";
    /// One webhook delivery from a store platform or a tracking service, kept raw.
    WebhookDeliveryId = "whk";
    RefundId = "rfd";
    /// A message to a shopper about their parcel.
    NoticeId = "ntc";
    ChatSessionId = "chs";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back() {
        let id = ConversationId::generate();
        assert_eq!(ConversationId::parse(id.as_str()).unwrap(), id);
    }

    #[test]
    fn ids_of_another_kind_are_refused() {
        let id = CustomerId::generate();
        assert!(ConversationId::parse(id.as_str()).is_err());
        assert!(ConversationId::parse("cnv_' OR 1=1 --").is_err());
        assert!(ConversationId::parse("").is_err());
    }

    #[test]
    fn generated_ids_sort_by_creation() {
        let a = MessageId::generate();
        let b = MessageId::generate();
        assert!(a < b);
    }
}
