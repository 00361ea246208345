//! Signing in (password, then the authenticator's code when two-factor is on) and the
//! agent's own account page, where two-factor sign-in is turned on.

use crate::layout::{self, Section};
use crate::{Agent, PageResult};
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse};
use concierge_api::AppState;
use maud::html;
use serde::Deserialize;

#[derive(Deserialize)]
pub(crate) struct LoginQuery {
    next: Option<String>,
}

/// Where to go after signing in: only a path on this site, so the link cannot send an agent
/// elsewhere. The path is read as a browser reads it (which drops tabs and line breaks, and
/// takes `\` for `/`), and kept only if it stays on this origin; what is kept is the parsed
/// path, query and fragment, never the text as given.
fn safe_next(next: Option<&str>) -> String {
    const HERE: &str = "http://concierge.invalid/";
    let here = url::Url::parse(HERE).expect("a valid base");
    next.filter(|n| n.starts_with('/'))
        .and_then(|n| here.join(n).ok())
        .filter(|u| u.origin() == here.origin())
        .map(|u| u.as_str()[HERE.len() - 1..].to_owned())
        .unwrap_or_else(|| "/inbox".to_owned())
}

pub(crate) async fn login_page(Query(q): Query<LoginQuery>) -> PageResult {
    let next = safe_next(q.next.as_deref());
    let next = next.as_str();
    let main = html! {
        h1 { "Sign in to Concierge" }
        form #signin .stack data-next=(next) aria-describedby="signin-error" {
            label { "Email" input #email type="email" name="email" autocomplete="username" required autofocus; }
            label { "Password" input #password type="password" name="password" autocomplete="current-password" required; }
            div #code-field hidden {
                label { "Code from your authenticator app (or a recovery code)"
                    input #code type="text" name="code" inputmode="numeric" autocomplete="one-time-code";
                }
            }
            p #signin-error .error role="alert" {}
            button type="submit" { "Sign in" }
        }
    };
    Ok(Html(layout::public("signin", "Sign in", main).into_string()).into_response())
}

pub(crate) async fn account_page(
    State(state): State<AppState>,
    Agent(viewer): Agent,
) -> PageResult {
    let has_totp = state
        .store
        .agent_credentials(
            &concierge_domain::contact::EmailAddress::parse(&viewer.session.agent.email)
                .map_err(|_| concierge_api::error::ApiError::Internal)?,
        )
        .await?
        .is_some_and(|c| c.totp_secret.is_some());
    let a = &viewer.session.agent;
    let main = html! {
        div.narrow {
            h1 { "Your account" }
            dl.facts {
                dt { "Name" } dd { (a.name) }
                dt { "Email" } dd { (a.email) }
                dt { "Role" } dd { (a.role.as_str()) }
            }
            section aria-labelledby="twofa-title" {
                h2 #twofa-title { "Two-factor sign-in" }
                @if has_totp {
                    p #totp-state { "On. Signing in needs a code from your authenticator app." }
                } @else {
                    p #totp-state { "Off. Turn it on so a stolen password is not enough to sign in as you." }
                    button #totp-start type="button" { "Turn on two-factor sign-in" }
                    div #totp-setup hidden {
                        p { "Add this key to your authenticator app (any app that speaks TOTP), then type the code it shows." }
                        p { "Key: " code #totp-secret {} }
                        p { "Or open this link on your phone: " code #totp-url {} }
                        form #totp-confirm {
                            label { "Code " input #totp-code type="text" inputmode="numeric" autocomplete="one-time-code" required; }
                            button type="submit" { "Confirm" }
                        }
                    }
                    div #recovery hidden {
                        h3 { "Recovery codes" }
                        p { "Each works once if you lose your phone. Keep them somewhere safe: they are not shown again." }
                        ol #recovery-codes {}
                    }
                    p #totp-error .error role="alert" {}
                }
            }
        }
    };
    Ok(Html(
        layout::shell("account", "Your account", Section::Account, &viewer, main).into_string(),
    )
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next(Some("/conversations/x")), "/conversations/x");
        assert_eq!(safe_next(Some("//evil.example")), "/inbox");
        assert_eq!(safe_next(Some("https://evil.example")), "/inbox");
        assert_eq!(safe_next(Some("/\\evil.example")), "/inbox");
        assert_eq!(safe_next(None), "/inbox");
        // Browsers drop tabs and line breaks: these are `//evil.example/x` to them.
        assert_eq!(safe_next(Some("/\t/evil.example/x")), "/inbox");
        assert_eq!(safe_next(Some("/\r\n/evil.example/x")), "/inbox");
        assert_eq!(safe_next(Some("/ /evil.example")), "/%20/evil.example");
        assert_eq!(safe_next(Some("javascript:alert(1)")), "/inbox");
        assert_eq!(
            safe_next(Some("/conversations/cnv_1?tab=x#m")),
            "/conversations/cnv_1?tab=x#m"
        );
        assert_eq!(safe_next(Some("/a/../inbox")), "/inbox");
    }
}
