//! Email HTML made safe to show an agent. An allow-list sanitiser (`ammonia`) keeps
//! formatting, tables and links and drops everything that could run or reach out: script,
//! event handlers, styles, forms, frames, `javascript:` URLs. Inline images (`cid:…`) are
//! pointed at their stored attachments; remote images are dropped, since loading them would
//! tell the sender when and where the mail was read (and the workspace loads nothing from
//! other origins anyway).

use std::collections::{HashMap, HashSet};

/// Where the service serves attachments: an inline image may point there (a stored mail's
/// HTML, sanitised again when shown).
const ATTACHMENTS: &str = "/api/v1/attachments/att_";

/// Whether a URL, however spaced and cased, would run script or carry a document.
fn scripted(url: &str) -> bool {
    let head: String = url
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .take(12)
        .collect::<String>()
        .to_ascii_lowercase();
    ["javascript:", "vbscript:", "data:"]
        .iter()
        .any(|s| head.starts_with(s))
}

/// Sanitises `html`; `inline` maps Content-IDs to the URLs their attachments are served at.
/// Nesting deeper than any real mail is flattened first, so a hostile mail cannot make the
/// parser behind the sanitiser work for minutes.
pub fn sanitise(html: &str, inline: HashMap<String, String>) -> String {
    let html = crate::quotes::flatten(html);
    ammonia::Builder::default()
        .url_schemes(HashSet::from(["http", "https", "mailto", "cid"]))
        .link_rel(Some("noopener noreferrer nofollow"))
        .attribute_filter(move |element, attribute, value| {
            if scripted(value) {
                return None;
            }
            let is_cid = value
                .get(..4)
                .is_some_and(|s| s.eq_ignore_ascii_case("cid:"));
            match (element, attribute) {
                ("img", "src") if value.starts_with(ATTACHMENTS) => Some(value.into()),
                ("img", "src") => {
                    let cid = value.get(4..).filter(|_| is_cid)?;
                    let cid = cid.trim().trim_start_matches('<').trim_end_matches('>');
                    inline.get(cid).map(|url| url.clone().into())
                }
                // A `cid:` anywhere else leads nowhere a browser can follow; a citation URL
                // is never shown.
                (_, "cite") => None,
                _ if is_cid => None,
                _ => Some(value.into()),
            }
        })
        .clean(&html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_handlers_and_javascript_urls_are_removed() {
        let dirty = r#"<p onclick="steal()">Hi <b>there</b></p><script>alert(1)</script>
<a href="javascript:alert(1)">x</a><a href="https://shop.example/track">track</a>
<img src="x" onerror="alert(1)"><iframe src="https://evil.example"></iframe>
<style>body{display:none}</style><form action="https://evil.example"><input></form>"#;
        let clean = sanitise(dirty, HashMap::new());
        for banned in [
            "script",
            "onclick",
            "onerror",
            "javascript:",
            "iframe",
            "<style",
            "<form",
            "<input",
        ] {
            assert!(!clean.contains(banned), "{banned} survived: {clean}");
        }
        assert!(clean.contains("<b>there</b>"));
        assert!(clean.contains(r#"href="https://shop.example/track""#));
        assert!(clean.contains("noopener"));
    }

    #[test]
    fn inline_images_point_at_their_attachments_and_remote_ones_go() {
        let inline = HashMap::from([("logo@x".to_owned(), "/api/v1/attachments/att_1".to_owned())]);
        let clean = sanitise(
            r#"<img src="cid:logo@x" alt="logo"><img src="https://tracker.example/p.gif"><img src="CID:unknown">"#,
            inline,
        );
        assert!(
            clean.contains(r#"src="/api/v1/attachments/att_1""#),
            "{clean}"
        );
        assert!(!clean.contains("tracker.example"), "{clean}");
        assert!(!clean.contains("unknown"), "{clean}");
        // Sanitised again when shown, the attachment stays; another site's does not.
        let again = sanitise(&clean, HashMap::new());
        assert!(
            again.contains(r#"src="/api/v1/attachments/att_1""#),
            "{again}"
        );
    }

    #[test]
    fn no_attribute_keeps_a_script_url() {
        let clean = sanitise(
            r#"<blockquote cite="javascript:alert(1)">x</blockquote><a href=" JaVa&#x09;script:alert(1)">y</a><q cite="https://x.example">z</q>"#,
            HashMap::new(),
        );
        assert!(!clean.to_ascii_lowercase().contains("script"), "{clean}");
        assert!(!clean.contains("cite="), "{clean}");
    }

    #[test]
    fn deep_nesting_is_flattened_quickly() {
        let deep = format!(
            "{}text{}",
            "<div><b>".repeat(20_000),
            "</b></div>".repeat(20_000)
        );
        let clean = sanitise(&deep, HashMap::new());
        assert!(clean.contains("text"));
        assert!(
            clean.matches("<div>").count() <= 100,
            "flattened past the limit"
        );
    }
}
