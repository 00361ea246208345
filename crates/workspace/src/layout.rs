//! The page shell every workspace page shares (head, top bar, help dialog) and the small
//! pieces of markup several pages use: times, waiting times, channel and status badges.

use crate::assets;
use crate::Viewer;
use chrono::{DateTime, Utc};
use concierge_domain::conversation::{Channel, Priority};
use concierge_domain::ids::AttachmentId;
use maud::{html, Markup, PreEscaped, DOCTYPE};

/// Which top-level section a page belongs to, for the navigation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Inbox,
    Admin,
    Account,
}

/// A full page for a signed-in agent. `page` names the page for the scripts
/// (`<body data-page>`).
pub(crate) fn shell(
    page: &str,
    title: &str,
    section: Section,
    viewer: &Viewer,
    main: Markup,
) -> Markup {
    let session = &viewer.session;
    let agent = &session.agent;
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                (head(title))
                meta name="csrf-token" content=(session.csrf_token);
                meta name="agent-id" content=(agent.id.as_str());
                meta name="last-event-id" content=(viewer.last_event);
            }
            body data-page=(page) {
                a.skip href="#main" { "Skip to content" }
                header.topbar {
                    a.brand href="/inbox" { "Concierge" }
                    nav.sections aria-label="Sections" {
                        a href="/inbox" aria-current=[(section == Section::Inbox).then_some("page")] { "Inbox" }
                        @if agent.role.is_admin() {
                            a href="/admin/agents" aria-current=[(section == Section::Admin).then_some("page")] { "Admin" }
                        }
                        a href="/account" aria-current=[(section == Section::Account).then_some("page")] { "Account" }
                    }
                    form.search role="search" action="/inbox" method="get" {
                        label.visually-hidden for="search" { "Search conversations" }
                        input #search type="search" name="q" placeholder="Search  ( / )" autocomplete="off";
                    }
                    span.me title=(agent.email) { (agent.name) }
                    button #sign-out type="button" { "Sign out" }
                }
                div #live-status .live-status role="status" aria-live="polite" hidden {}
                main #main tabindex="-1" { (main) }
                (help_dialog())
            }
        }
    }
}

fn head(title: &str) -> Markup {
    html! {
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        title { (title) " · Concierge" }
        link rel="icon" href="/favicon.ico";
        link rel="stylesheet" href=(assets::url("app.css"));
        script type="module" src=(assets::url("app.js")) {}
    }
}

/// A page with only a heading and a message (sign-in problems, errors).
pub(crate) fn bare(title: &str, message: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head { (head(title)) }
            body data-page="message" {
                main #main .narrow {
                    h1 { (title) }
                    p { (message) }
                    p { a href="/inbox" { "Back to the inbox" } }
                }
            }
        }
    }
}

/// A page for someone not signed in (the sign-in form).
pub(crate) fn public(page: &str, title: &str, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head { (head(title)) }
            body data-page=(page) {
                main #main .narrow { (main) }
            }
        }
    }
}

fn help_dialog() -> Markup {
    let keys: &[(&str, &str)] = &[
        ("j / k", "next / previous conversation"),
        ("o or Enter", "open the selected conversation"),
        ("x", "select the conversation for a bulk action"),
        ("r", "write a reply to the customer"),
        ("n", "write a private note (only your team sees it)"),
        ("e", "resolve"),
        ("a", "assign to me"),
        ("/", "search"),
        (
            "Ctrl+Enter",
            "send the reply or add the note, and leave the box",
        ),
        ("?", "this help"),
        ("Esc", "close dialogs, leave the text box"),
    ];
    html! {
        dialog #help aria-labelledby="help-title" {
            h2 #help-title { "Keyboard shortcuts" }
            p { "Letters are shortcuts outside text boxes; in a text box they are only letters." }
            dl.shortcuts {
                @for (k, what) in keys {
                    dt { kbd { (k) } }
                    dd { (what) }
                }
            }
            form method="dialog" { button type="submit" { "Close" } }
        }
    }
}

/// A timestamp: UTC in the markup, shown in the agent's own time zone by the scripts.
pub(crate) fn time(at: DateTime<Utc>) -> Markup {
    html! {
        time datetime=(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) {
            (at.format("%Y-%m-%d %H:%M UTC"))
        }
    }
}

/// How long ago, briefly: `45s`, `12m`, `3h`, `2d`.
pub(crate) fn ago(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - at).num_seconds().max(0);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// A channel's name as a small badge. Words rather than emoji, which not every system font
/// draws.
pub(crate) fn channel(c: Channel) -> Markup {
    let name = match c {
        Channel::Email => "Email",
        Channel::Chat => "Chat",
        Channel::Sms => "SMS",
        Channel::Whatsapp => "WhatsApp",
        Channel::Messenger => "Messenger",
        Channel::Instagram => "Instagram",
        Channel::Phone => "Phone",
        Channel::Api => "API",
    };
    html! { span class={"channel channel-" (c.as_str())} { (name) } }
}

pub(crate) fn priority(p: Priority) -> Markup {
    html! { span class={"badge priority-" (p.as_str())} { (p.as_str()) } }
}

/// A readable form of a snake_case word (`track_order` → `track order`).
pub(crate) fn words(s: &str) -> String {
    s.replace('_', " ")
}

/// Percent-encodes text for a URL query value.
pub(crate) fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A file size as people read it: `512 B`, `14 KB`, `2.3 MB`.
pub(crate) fn size(bytes: i64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{} KB", b / 1024),
        b => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
    }
}

/// Stored HTML (an email's), sanitised once more on its way to the page by the same
/// allow-list that sanitised it on the way in; its images may show only `attachments`, its
/// message's own.
pub(crate) fn sanitised_html<'a>(
    html: &str,
    attachments: impl IntoIterator<Item = &'a AttachmentId>,
) -> Markup {
    let images = concierge_email::html::InlineImages::of_attachments(attachments);
    PreEscaped(concierge_email::html::sanitise(html, &images))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_brief() {
        let now = Utc::now();
        assert_eq!(ago(now - chrono::Duration::seconds(5), now), "5s");
        assert_eq!(ago(now - chrono::Duration::minutes(12), now), "12m");
        assert_eq!(ago(now - chrono::Duration::hours(3), now), "3h");
        assert_eq!(ago(now - chrono::Duration::days(2), now), "2d");
        assert_eq!(ago(now + chrono::Duration::days(2), now), "0s");
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            encode_component("/inbox?q=a b&x=<"),
            "/inbox%3Fq%3Da%20b%26x%3D%3C"
        );
    }

    #[test]
    fn email_html_loses_its_script() {
        let out = sanitised_html("<p onclick=\"x()\">hi<script>alert(1)</script></p>", []).0;
        assert_eq!(out, "<p>hi</p>");
    }
}
