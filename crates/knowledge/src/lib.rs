//! Concierge's knowledge base: articles written in Markdown and shown as sanitised HTML
//! ([`markdown`]), and the search that finds the article that answers a question
//! ([`Library`]): ranked, stemmed, forgiving of typos, aware of the shop's synonyms, and
//! completing words as they are typed.
//!
//! Architecture invariant: the index is a cache of the store's articles. It can be thrown
//! away and rebuilt at any time; nothing is written only to it.

pub mod eval;
mod library;
pub mod markdown;

pub use library::{Hit, Library, Search};
