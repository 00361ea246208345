//! Concierge's domain: the shop's world as types that can only hold valid values, and the
//! pure rules that move them (a conversation's lifecycle, money, retry schedules).
//!
//! Architecture invariant: no I/O, no async, no serde. Everything here is a plain function of
//! its inputs (the clock is passed in), so it is unit-tested exhaustively and fast. Input from
//! the outside world is parsed into these types at the edge (HTTP, channels, CLI); code past
//! the edge never re-validates strings.

pub mod access;
pub mod assistant;
pub mod chat;
pub mod commerce;
pub mod contact;
pub mod conversation;
pub mod dates;
pub mod hours;
pub mod ids;
pub mod intents;
pub mod jobs;
pub mod knowledge;
pub mod mail;
pub mod notes;
pub mod replies;
pub mod text;

use std::fmt;

/// Why a piece of input was refused. The edge that parsed it names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    pub fn new(reason: impl fmt::Display) -> Self {
        Invalid(reason.to_string())
    }
}

/// Declares a closed vocabulary: an enum whose values travel as fixed snake_case words
/// (over the API, in the database), with parsing that refuses anything else.
#[macro_export]
macro_rules! vocabulary {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word this value travels as.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }

            /// Parses one of the words of [`Self::ALL`]; anything else is refused with the list.
            pub fn parse(word: &str) -> Result<Self, $crate::Invalid> {
                match word {
                    $($word => Ok($name::$variant),)+
                    other => Err($crate::Invalid(format!(
                        "unknown value {:?}; expected one of: {}",
                        other,
                        [$($word),+].join(", ")
                    ))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::Invalid;
            fn from_str(s: &str) -> Result<Self, Self::Err> { Self::parse(s) }
        }
    };
}
