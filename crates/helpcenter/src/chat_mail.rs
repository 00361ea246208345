//! The link mailed to an address a shopper gave in a chat: `/chat/confirm/{token}` proves
//! the address is theirs, and what they asked for (the team's answers by email, or the chat
//! so far) goes there from then on.
//!
//! Opening the link only shows a button: mail scanners open links, and must not confirm an
//! address for whoever typed it into a chat. Pressing the button (a `POST`) confirms it.

use crate::pages::{frame, respond, Head};
use crate::visits::Reader;
use crate::words::words;
use crate::{HelpCenter, HelpError, HelpResult, Languages};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Extension;
use concierge_api::AppState;
use concierge_store::chat::ChatMail;
use maud::html;
use std::sync::Arc;

/// A confirmation token as the store makes them: `cmc_` and 64 hex digits.
fn valid_token(t: &str) -> bool {
    t.strip_prefix("cmc_")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `GET /chat/confirm/{token}`: what following the link will do, and the button that does it.
pub(crate) async fn ask(
    State(state): State<AppState>,
    Extension(help): Extension<Arc<HelpCenter>>,
    reader: Reader,
    Path(token): Path<String>,
) -> HelpResult {
    if !valid_token(&token) {
        return Err(HelpError::NotFound);
    }
    let langs = Languages::pick(&state, None, &reader).await?;
    let w = words(langs.chosen.as_str());
    let mut head = Head::titled(w.confirm_title);
    head.noindex = true;
    let action = format!("/chat/confirm/{token}");
    let main = html! {
        section.sent {
            h1 { (w.confirm_heading) }
            p { (w.confirm_text) }
            form method="post" action=(action) {
                button type="submit" { (w.confirm_button) }
            }
            p { (w.confirm_not_you) }
        }
    };
    Ok(respond(
        &help,
        &reader,
        &langs,
        StatusCode::OK,
        frame(&help, &langs, &head, "", main),
    ))
}

/// `POST /chat/confirm/{token}`: the address is the shopper's.
pub(crate) async fn confirm(
    State(state): State<AppState>,
    Extension(help): Extension<Arc<HelpCenter>>,
    reader: Reader,
    Path(token): Path<String>,
) -> HelpResult {
    if !valid_token(&token) {
        return Err(HelpError::NotFound);
    }
    let Some((session, what)) = state.store.confirm_chat_email(&token).await? else {
        return Err(HelpError::NotFound);
    };
    if let Some(worker) = &state.config.worker {
        worker.notify_one();
    }
    let langs = Languages::pick(&state, None, &reader).await?;
    let w = words(langs.chosen.as_str());
    let mut head = Head::titled(w.confirmed_title);
    head.noindex = true;
    let address = session.email.as_ref().map_or("", |e| e.as_str()).to_owned();
    let main = html! {
        section.sent {
            h1 { (w.confirmed_heading) }
            @if what.contains(&ChatMail::Replies) {
                p { (w.confirmed_replies) " " strong { (address) } "." }
            }
            @if what.contains(&ChatMail::Transcript) {
                p { (w.confirmed_transcript) " " strong { (address) } "." }
            }
        }
    };
    Ok(respond(
        &help,
        &reader,
        &langs,
        StatusCode::OK,
        frame(&help, &langs, &head, "", main),
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_tokens_shaped_as_ours_are_looked_up() {
        assert!(super::valid_token(&format!("cmc_{}", "a1".repeat(32))));
        assert!(!super::valid_token("cmc_../../x"));
        assert!(!super::valid_token(&"a1".repeat(32)));
    }
}
