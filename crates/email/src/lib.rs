//! Concierge's email channel: mail in through the SMTP listener ([`smtp`]) or the raw-MIME
//! webhook (through [`Mailroom::receive`]), mail out through the shop's relay
//! ([`outbound`]).
//!
//! Inbound, a mail is read by a mature MIME parser ([`mime`]), its new text cut from the
//! quoted history and signature ([`quotes`]), its HTML sanitised ([`html`]), its bytes and
//! files put in file storage, and then handed to the store, which threads it into its
//! conversation exactly once. The sender is told "accepted" only after that commit.
//!
//! Outbound, an agent's reply waits in the durable job queue; the [`outbound::Deliver`]
//! handler sends it from the support address with a stable Message-ID, In-Reply-To and
//! References pointing at the shopper's mail, and a Reply-To that carries the
//! conversation's reply token, so the answer threads on both sides.
//!
//! Architecture invariant: parsing (`mime` with `parts`, `quotes`, `html`) is pure and never
//! touches storage; the SMTP session code knows nothing of conversations, only of the
//! [`Mailroom`].

pub mod html;
mod mailroom;
pub mod mime;
pub mod outbound;
mod parts;
pub mod quotes;
pub mod smtp;

pub use mailroom::{
    check_acknowledgement, Envelope, IntakeError, MailSettings, Mailroom,
    ACKNOWLEDGEMENT_VARIABLES, DEFAULT_ACKNOWLEDGEMENT,
};
