//! "Still need help?": the contact form. A message opens an email conversation in the team's
//! inbox (replies reach the shopper by email) with a private note of what the shopper
//! searched for and read first, so nobody asks them again. Articles are suggested while they
//! write, since the best message is the one that need not be sent.

use crate::pages::{frame, respond, Head};
use crate::visits::Reader;
use crate::words::words;
use crate::{HelpCenter, HelpResult, Languages};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::{Extension, Form};
use concierge_api::error::ApiError;
use concierge_api::AppState;
use concierge_domain::access::Actor;
use concierge_domain::contact::EmailAddress;
use concierge_domain::conversation::{Channel, Priority, SenderType};
use concierge_domain::text::{Label, MessageBody, PersonName, Subject};
use concierge_store::conversations::{NewConversation, NewMessage};
use concierge_store::customers::CustomerRef;
use concierge_store::help::VisitTrail;
use maud::{html, Markup};
use serde::Deserialize;
use std::sync::Arc;

/// The tag every conversation from the form carries.
pub(crate) const TAG: &str = "help-center";

#[derive(Deserialize)]
pub(crate) struct FormQuery {
    lang: Option<String>,
    /// The article the reader came from.
    article: Option<String>,
    /// Set after a message was sent.
    sent: Option<String>,
}

/// What the reader typed, kept to show the form again with what was wrong.
#[derive(Deserialize, Default)]
pub(crate) struct Message {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    message: String,
    lang: Option<String>,
    article: Option<String>,
    /// A field people never see (hidden by the stylesheet); robots fill it in.
    #[serde(default)]
    website: String,
}

/// `GET /help/contact`: the form, or the thanks after sending.
pub(crate) async fn form(
    State(state): State<AppState>,
    Extension(help): Extension<Arc<HelpCenter>>,
    reader: Reader,
    Query(q): Query<FormQuery>,
) -> HelpResult {
    let langs = Languages::pick(&state, q.lang.as_deref(), &reader).await?;
    if q.sent.is_some() {
        let w = words(langs.chosen.as_str());
        let mut head = Head::titled(w.sent_title);
        head.noindex = true;
        let main = html! {
            section.sent {
                h1 { (w.sent_heading) }
                p { (w.sent_text) }
                p { a href=(langs.here("/help")) { (w.back) } }
            }
        };
        return Ok(respond(
            &help,
            &reader,
            &langs,
            StatusCode::OK,
            frame(&help, &langs, &head, "", main),
        ));
    }
    let message = Message {
        article: q.article,
        ..Message::default()
    };
    Ok(page(&help, &reader, &langs, &message, &[], StatusCode::OK))
}

fn page(
    help: &HelpCenter,
    reader: &Reader,
    langs: &Languages,
    message: &Message,
    problems: &[(&str, String)],
    status: StatusCode,
) -> axum::response::Response {
    let w = words(langs.chosen.as_str());
    let mut head = Head::titled(w.contact_us);
    head.noindex = true;
    let problem = |field: &str| {
        problems
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.clone())
    };
    let main = html! {
        h1 { (w.contact_us) }
        p.lead { (w.contact_lead) }
        @if !problems.is_empty() {
            div.problems role="alert" {
                p { (w.check_form) }
                ul { @for (_, m) in problems { li { (m) } } }
            }
        }
        form.contact method="post" action="/help/contact" novalidate {
            input type="hidden" name="lang" value=(langs.chosen.as_str());
            @if let Some(a) = &message.article { input type="hidden" name="article" value=(a); }
            (field("name", w.your_name, "text", &message.name, "name", problem("name")))
            (field("email", w.your_email, "email", &message.email, "email", problem("email")))
            div.field {
                label for="contact-message" { (w.how_can_we_help) }
                textarea #contact-message name="message" rows="6" maxlength="10000" required
                    data-suggest=(langs.chosen.as_str()) aria-controls="contact-suggestions"
                    data-suggest-box="contact-suggestions-box"
                    aria-invalid=[problem("message").map(|_| "true")] { (message.message) }
                @if let Some(m) = problem("message") { p.error { (m) } }
            }
            div.suggested #contact-suggestions-box hidden {
                p { (w.suggested) }
                ul #contact-suggestions .suggestions {}
            }
            div.trap aria-hidden="true" {
                label for="contact-website" { "Leave this empty" }
                input #contact-website type="text" name="website" tabindex="-1" autocomplete="off" value=(message.website);
            }
            button type="submit" { (w.send) }
        }
    };
    respond(
        help,
        reader,
        langs,
        status,
        frame(help, langs, &head, "", main),
    )
}

fn field(
    name: &str,
    label: &str,
    kind: &str,
    value: &str,
    autocomplete: &str,
    problem: Option<String>,
) -> Markup {
    let id = format!("contact-{name}");
    html! {
        div.field {
            label for=(id) { (label) }
            input #(id) type=(kind) name=(name) value=(value) autocomplete=(autocomplete)
                maxlength="254" aria-invalid=[problem.as_ref().map(|_| "true")];
            @if let Some(m) = problem { p.error { (m) } }
        }
    }
}

/// The private note for the agent: what the shopper did before writing.
fn trail_note(trail: &VisitTrail, public_url: &str, from_article: Option<&str>) -> String {
    let mut note = String::from("Sent from the help center contact form.");
    if let Some(slug) = from_article {
        note.push_str(&format!(
            "\nWrote from the article: {public_url}/help/articles/{slug}"
        ));
    }
    if trail.searches.is_empty() && trail.articles.is_empty() {
        note.push_str("\nNo searches or article views were recorded for this visit.");
        return note;
    }
    if !trail.searches.is_empty() {
        note.push_str("\n\nSearched for:");
        for q in &trail.searches {
            note.push_str(&format!("\n- “{q}”"));
        }
    }
    if !trail.articles.is_empty() {
        note.push_str("\n\nRead:");
        for (_, title) in &trail.articles {
            note.push_str(&format!("\n- {title}"));
        }
    }
    note
}

/// A subject from the first words of the message.
fn subject_of(message: &str) -> String {
    let first_line = message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("Help request");
    let mut subject: String = first_line.chars().take(80).collect();
    if first_line.chars().count() > 80 {
        subject.push('…');
    }
    subject
}

/// `POST /help/contact`: opens the conversation, then shows the thanks (303, so a reload does
/// not send it twice).
pub(crate) async fn send(
    State(state): State<AppState>,
    Extension(help): Extension<Arc<HelpCenter>>,
    reader: Reader,
    Form(message): Form<Message>,
) -> HelpResult {
    if let Some(address) = reader.address {
        if let Err(secs) = help.contact_limit.check(address) {
            return Err(ApiError::RateLimited(secs.max(1)));
        }
    }
    let langs = Languages::pick(&state, message.lang.as_deref(), &reader).await?;
    let sent = langs.here("/help/contact?sent=1");
    let w = words(langs.chosen.as_str());
    if !message.website.trim().is_empty() {
        // A robot: it is told what a person would be, and nothing is stored.
        return Ok(Redirect::to(&sent).into_response());
    }
    let mut problems = Vec::new();
    let email = match EmailAddress::parse(&message.email) {
        Ok(e) => Some(e),
        Err(_) => {
            problems.push(("email", w.need_email.to_owned()));
            None
        }
    };
    let body = match MessageBody::parse(&message.message) {
        Ok(b) => Some(b),
        Err(e) => {
            let why = if message.message.trim().is_empty() {
                w.need_message.to_owned()
            } else {
                format!("{} {e}.", w.bad_message)
            };
            problems.push(("message", why));
            None
        }
    };
    let name = match message.name.trim() {
        "" => None,
        n => match PersonName::parse(n) {
            Ok(n) => Some(n),
            Err(e) => {
                problems.push(("name", format!("{} {e}.", w.bad_name)));
                None
            }
        },
    };
    let (Some(email), Some(body), true) = (email, body, problems.is_empty()) else {
        return Ok(page(
            &help,
            &reader,
            &langs,
            &message,
            &problems,
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    };

    // What this visit did, including the views and searches still in memory.
    help.flush(&state.store).await;
    let trail = match &reader.visit {
        Some(visit) => state.store.visit_trail(visit).await?,
        None => VisitTrail::default(),
    };
    let from_article = message
        .article
        .as_deref()
        .filter(|a| concierge_domain::knowledge::Slug::parse(a).is_ok());
    let note = trail_note(&trail, &help.settings.public_url, from_article);
    let note = MessageBody::parse(&note.chars().take(20_000).collect::<String>())
        .map_err(|_| ApiError::Internal)?;
    let subject = Subject::parse(&subject_of(body.as_str())).ok();
    let (conversation, _) = state
        .store
        .import_conversation(
            NewConversation {
                channel: Channel::Email,
                customer: CustomerRef {
                    name,
                    email: Some(email),
                    ..Default::default()
                },
                subject,
                priority: Priority::Normal,
                tags: vec![Label::parse(TAG).expect("a valid tag")],
                message: NewMessage::text(SenderType::Customer, body)
                    .read_with(concierge_intents::read),
            },
            vec![NewMessage {
                private: true,
                ..NewMessage::text(SenderType::System, note)
            }],
            &Actor::System,
        )
        .await?;
    if let Some(visit) = &reader.visit {
        state
            .store
            .visit_contacted(visit, &conversation.id, chrono::Utc::now())
            .await?;
    }
    tracing::info!(conversation = %conversation.id, "a help-center message opened a conversation");
    Ok(Redirect::to(&sent).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use concierge_domain::ids::ArticleId;

    #[test]
    fn the_note_lists_what_the_shopper_searched_and_read() {
        let trail = VisitTrail {
            searches: vec!["send back shoes".into()],
            articles: vec![(ArticleId::generate(), "Returns policy".into())],
        };
        let note = trail_note(&trail, "https://shop.example", Some("returns-policy"));
        assert!(note.contains("“send back shoes”"), "{note}");
        assert!(note.contains("- Returns policy"), "{note}");
        assert!(
            note.contains("https://shop.example/help/articles/returns-policy"),
            "{note}"
        );
        let empty = trail_note(&VisitTrail::default(), "https://shop.example", None);
        assert!(empty.contains("No searches or article views"), "{empty}");
    }

    #[test]
    fn subjects_are_the_first_line_cut_short() {
        assert_eq!(
            subject_of("\n  Where is my parcel?\nIt is late."),
            "Where is my parcel?"
        );
        assert_eq!(subject_of(&"a".repeat(100)).chars().count(), 81);
    }
}
