//! The virtual assistant's understanding of what a shopper wrote: which of the customer-
//! service intents it is (`track_order`, `get_refund`, …), how sure that is, and `unknown`
//! when it is not sure enough.
//!
//! The model is trained offline (`concierge assist train`, [`train`]) from the Bitext data
//! and our own sentences, stored in `model/intents.bin`, and built into the binary: no
//! network, no Python, no GPU at inference.

pub mod corpus;
pub mod eval;
pub mod features;
pub mod intents;
pub mod model;
pub mod sentiment;
pub mod train;

pub use model::{Model, ModelError, Verdict};

use concierge_domain::intents::IntentReading;

use std::sync::OnceLock;

/// The model built into the binary.
pub const MODEL_BYTES: &[u8] = include_bytes!("../model/intents.bin");

/// The built-in model, read on first use (the service reads it at start).
pub fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| Model::from_bytes(MODEL_BYTES).expect("the built-in model is valid"))
}

/// What the shopper's message is about, by the built-in model.
pub fn classify(text: &str) -> Verdict {
    model().classify(text)
}

/// What a shopper's message asks for, as kept with the message: every channel reads its
/// shoppers' public messages with this before it hands them to the store. Only the start of
/// a long message is read: the ask comes early.
pub fn read(body: &str) -> IntentReading {
    let start = match body.char_indices().nth(READ_CHARS) {
        Some((i, _)) => &body[..i],
        None => body,
    };
    let verdict = classify(start);
    IntentReading {
        intent: verdict.intent,
        confidence: f64::from(verdict.confidence),
    }
}

/// How much of a message [`read`] reads.
const READ_CHARS: usize = 1500;

#[cfg(test)]
mod tests {
    use super::*;
    use concierge_domain::intents::Intent;

    #[test]
    fn the_built_in_model_reads_shoppers_and_says_unknown_rather_than_guess() {
        let long = "Hi there, I ordered the grey linen shirt (order #1043) ten days ago for my \
                    brother's birthday. The parcel still hasn't turned up and the link shows \
                    nothing new. Could you tell me where it is? Thanks, Anna";
        assert_eq!(classify(long).intent, Intent::TrackOrder);
        assert_eq!(classify(long).category().as_str(), "ORDER");
        assert_eq!(
            classify("i want my money back for the broken kettle").intent,
            Intent::GetRefund
        );
        assert_eq!(
            classify("let me speak to a human please").intent,
            Intent::ContactHumanAgent
        );
        for nothing in ["hello", "Thanks so much!", "ok", "asdfgh qwerty"] {
            assert_eq!(classify(nothing).intent, Intent::Unknown, "{nothing}");
        }
    }

    #[test]
    fn a_file_that_is_not_a_model_is_refused() {
        assert!(Model::from_bytes(b"not a model").is_err());
        assert!(Model::from_bytes(&[]).is_err());
    }
}
