//! The links in our mails that change something: `/notices/unsubscribe/{token}` (no more
//! delivery notices) and `/chat/confirm/{token}` (an address a shopper gave in a chat is
//! proved theirs, and what they asked for — the team's answers by email, the chat so far —
//! goes there).
//!
//! Opening either link only asks, with a button: mail scanners open every link in a mail,
//! and must neither unsubscribe a shopper nor confirm an address for whoever typed it into a
//! chat. The button (a `POST`) acts; so does RFC 8058's one-click `POST` that mail clients
//! send to the unsubscribe link (`List-Unsubscribe-Post`).

use crate::pages::{frame, respond, Head};
use crate::visits::Reader;
use crate::words::words;
use crate::{HelpCenter, HelpResult, Languages};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Extension;
use concierge_api::error::ApiError;
use concierge_api::AppState;
use concierge_domain::chat::ChatMail;
use maud::{html, Markup};
use std::sync::Arc;

/// A notices token as the store makes them: 32 lower-case hex digits.
fn valid_notices_token(t: &str) -> bool {
    t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A chat's confirmation token as the store makes them: `cmc_` and 64 hex digits.
fn valid_confirmation_token(t: &str) -> bool {
    t.strip_prefix("cmc_")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// What a page of ours says, in the reader's language, never indexed.
async fn page(
    state: &AppState,
    help: &HelpCenter,
    reader: &Reader,
    title: impl Fn(&crate::words::Words) -> &'static str,
    main: impl Fn(&crate::words::Words) -> Markup,
) -> HelpResult {
    let langs = Languages::pick(state, None, reader).await?;
    let w = words(langs.chosen.as_str());
    let mut head = Head::titled(title(w));
    head.noindex = true;
    Ok(respond(
        help,
        reader,
        &langs,
        StatusCode::OK,
        frame(help, &langs, &head, "", main(w)),
    ))
}

/// The question a link asks, with the button that does it.
fn asking(heading: &str, text: &str, action: &str, button: &str, after: Option<&str>) -> Markup {
    html! {
        section.sent {
            h1 { (heading) }
            p { (text) }
            form method="post" action=(action) {
                button type="submit" { (button) }
            }
            @if let Some(after) = after { p { (after) } }
        }
    }
}

/// `GET /notices/unsubscribe/{token}`: asks before stopping the notices.
pub(crate) async fn ask_unsubscribe(
    State(state): State<AppState>,
    Extension(help): Extension<Arc<HelpCenter>>,
    reader: Reader,
    Path(token): Path<String>,
) -> HelpResult {
    if !valid_notices_token(&token) {
        return Err(ApiError::NotFound("link"));
    }
    let action = format!("/notices/unsubscribe/{token}");
    page(
        &state,
        &help,
        &reader,
        |w| w.unsubscribe_title,
        |w| {
            asking(
                w.unsubscribe_heading,
                w.unsubscribe_text,
                &action,
                w.unsubscribe_button,
                None,
            )
        },
    )
    .await
}

/// `POST /notices/unsubscribe/{token}`: no more delivery notices, from now on.
pub(crate) async fn unsubscribe(
    State(state): State<AppState>,
    Extension(help): Extension<Arc<HelpCenter>>,
    reader: Reader,
    Path(token): Path<String>,
) -> HelpResult {
    if !valid_notices_token(&token) {
        return Err(ApiError::NotFound("link"));
    }
    state.store.unsubscribe_notices(&token).await?;
    page(
        &state,
        &help,
        &reader,
        |w| w.unsubscribed_title,
        |w| {
            html! {
                section.sent {
                    h1 { (w.unsubscribed_heading) }
                    p { (w.unsubscribed_text) }
                }
            }
        },
    )
    .await
}

/// `GET /chat/confirm/{token}`: asks whether the address is the reader's.
pub(crate) async fn ask_confirm(
    State(state): State<AppState>,
    Extension(help): Extension<Arc<HelpCenter>>,
    reader: Reader,
    Path(token): Path<String>,
) -> HelpResult {
    if !valid_confirmation_token(&token) {
        return Err(ApiError::NotFound("link"));
    }
    let action = format!("/chat/confirm/{token}");
    page(
        &state,
        &help,
        &reader,
        |w| w.confirm_title,
        |w| {
            asking(
                w.confirm_heading,
                w.confirm_text,
                &action,
                w.confirm_button,
                Some(w.confirm_not_you),
            )
        },
    )
    .await
}

/// `POST /chat/confirm/{token}`: the address is the shopper's.
pub(crate) async fn confirm(
    State(state): State<AppState>,
    Extension(help): Extension<Arc<HelpCenter>>,
    reader: Reader,
    Path(token): Path<String>,
) -> HelpResult {
    if !valid_confirmation_token(&token) {
        return Err(ApiError::NotFound("link"));
    }
    let Some((session, asked)) = state.store.confirm_chat_email(&token).await? else {
        return Err(ApiError::NotFound("link"));
    };
    if let Some(worker) = &state.config.worker {
        worker.notify_one();
    }
    let address = session.email.as_ref().map_or("", |e| e.as_str()).to_owned();
    page(
        &state,
        &help,
        &reader,
        |w| w.confirmed_title,
        |w| {
            html! {
                section.sent {
                    h1 { (w.confirmed_heading) }
                    @if asked.contains(&ChatMail::Replies) {
                        p { (w.confirmed_replies) " " strong { (address) } "." }
                    }
                    @if asked.contains(&ChatMail::Transcript) {
                        p { (w.confirmed_transcript) " " strong { (address) } "." }
                    }
                }
            }
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_tokens_shaped_as_ours_are_looked_up() {
        assert!(super::valid_confirmation_token(&format!(
            "cmc_{}",
            "a1".repeat(32)
        )));
        assert!(!super::valid_confirmation_token("cmc_../../x"));
        assert!(!super::valid_confirmation_token(&"a1".repeat(32)));
        assert!(super::valid_notices_token(&"a1".repeat(16)));
        assert!(!super::valid_notices_token("../../../etc"));
    }
}
