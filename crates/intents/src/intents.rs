//! The model's labels beyond the intents themselves (which are the domain's
//! `concierge_domain::intents::Intent`).

/// What a message that asks for nothing (a greeting, a thank-you, context) is learned as.
/// It is never reported: a message that is only this has no intent.
pub const NEUTRAL: &str = "neutral";
