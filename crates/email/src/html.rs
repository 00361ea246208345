//! Email HTML made safe to show an agent. An allow-list sanitiser (`ammonia`) keeps
//! formatting, tables and links and drops everything that could run or reach out: script,
//! event handlers, styles, forms, frames, `javascript:` URLs. Inline images (`cid:…`) are
//! pointed at their stored attachments; every other image is dropped: a remote one would
//! tell the sender when and where the mail was read (and the workspace loads nothing from
//! other origins anyway), and one on our own origin would have the agent's browser call
//! any path of ours with the agent's cookies. For the same reason links keep only absolute
//! `http`, `https` and `mailto` addresses: a relative one is a path of ours.

use concierge_domain::ids::AttachmentId;
use std::collections::{HashMap, HashSet};

/// The images a mail's HTML may show: its own parts, stored as attachments. An `<img>`
/// names one by its Content-ID (`cid:…`) in the mail as it arrives, and by the address it
/// was pointed at in the HTML stored and shown again; nothing else is an image here.
#[derive(Debug, Clone, Default)]
pub struct InlineImages {
    by_content_id: HashMap<String, String>,
    addresses: HashSet<String>,
}

impl InlineImages {
    /// Ids for a mail's files as they are about to be stored, in order, and the images its
    /// HTML may show: those of the files it names by Content-ID that are images (as their
    /// bytes say, which [`crate::mime::File::content_type`] records).
    pub fn for_files(files: &[crate::mime::File]) -> (InlineImages, Vec<AttachmentId>) {
        let ids: Vec<AttachmentId> = files.iter().map(|_| AttachmentId::generate()).collect();
        // Only a part whose bytes are a picture is one: a page named `photo.png` is not.
        let images = InlineImages::of_parts(
            files
                .iter()
                .zip(&ids)
                .filter(|(f, _)| f.content_type.starts_with("image/"))
                .filter_map(|(f, id)| Some((f.content_id.as_deref()?, id))),
        );
        (images, ids)
    }

    /// Parts with a Content-ID, and the attachment each is stored as.
    fn of_parts<'a>(parts: impl IntoIterator<Item = (&'a str, &'a AttachmentId)>) -> Self {
        let mut images = InlineImages::default();
        for (content_id, id) in parts {
            let address = address(id);
            images.addresses.insert(address.clone());
            images.by_content_id.insert(content_id.to_owned(), address);
        }
        images
    }

    /// Stored HTML shown again: the attachments of its message.
    pub fn of_attachments<'a>(ids: impl IntoIterator<Item = &'a AttachmentId>) -> Self {
        InlineImages {
            by_content_id: HashMap::new(),
            addresses: ids.into_iter().map(address).collect(),
        }
    }

    /// Where an `<img src>` of this mail's HTML points, if anywhere.
    fn source(&self, src: &str) -> Option<String> {
        if self.addresses.contains(src) {
            return Some(src.to_owned());
        }
        let cid = src.get(..4).filter(|s| s.eq_ignore_ascii_case("cid:"))?;
        let cid = src[cid.len()..]
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>');
        self.by_content_id.get(cid).cloned()
    }
}

/// Where the service serves an attachment (`GET /api/v1/attachments/{id}`).
fn address(id: &AttachmentId) -> String {
    format!("/api/v1/attachments/{id}")
}

/// A URL as a browser reads it: without the blanks and control characters it ignores, in
/// lower case, its first few characters (enough for its scheme).
fn read_as_browser(url: &str) -> String {
    url.chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .take(12)
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Whether a link goes somewhere else than our own origin, with a scheme that neither runs
/// script nor carries a document: absolute `http`, `https` or `mailto`.
fn leads_away(url: &str) -> bool {
    let head = read_as_browser(url);
    ["http://", "https://", "mailto:"]
        .iter()
        .any(|s| head.starts_with(s))
}

/// Sanitises `html`, whose `<img>`s may show only `images`. Nesting deeper than any real
/// mail is flattened first, so a hostile mail cannot make the parser behind the sanitiser
/// work for minutes.
pub fn sanitise(html: &str, images: &InlineImages) -> String {
    let html = crate::quotes::flatten(html);
    let images = images.clone();
    ammonia::Builder::default()
        .url_schemes(HashSet::from(["http", "https", "mailto", "cid"]))
        .link_rel(Some("noopener noreferrer nofollow"))
        .attribute_filter(
            move |element, attribute, value| match (element, attribute) {
                ("img", "src") => images.source(value).map(Into::into),
                // A citation's URL is never shown.
                (_, "cite") => None,
                (_, "href") if !leads_away(value) => None,
                _ => Some(value.into()),
            },
        )
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
        let clean = sanitise(dirty, &InlineImages::default());
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
        let logo = AttachmentId::generate();
        let inline = InlineImages::of_parts([("logo@x", &logo)]);
        let clean = sanitise(
            r#"<img src="cid:logo@x" alt="logo"><img src="https://tracker.example/p.gif"><img src="CID:unknown">"#,
            &inline,
        );
        let shown = format!(r#"src="/api/v1/attachments/{logo}""#);
        assert!(clean.contains(&shown), "{clean}");
        assert!(!clean.contains("tracker.example"), "{clean}");
        assert!(!clean.contains("unknown"), "{clean}");
        // Sanitised again when shown, its own attachment stays; no other does.
        let again = sanitise(&clean, &InlineImages::of_attachments([&logo]));
        assert!(again.contains(&shown), "{again}");
        let elsewhere = sanitise(
            &clean,
            &InlineImages::of_attachments([&AttachmentId::generate()]),
        );
        assert!(!elsewhere.contains("src="), "{elsewhere}");
    }

    #[test]
    fn no_image_or_link_reaches_a_path_of_ours() {
        let logo = AttachmentId::from_trusted("att_1".into());
        let inline = InlineImages::of_parts([("logo@x", &logo)]);
        let clean = sanitise(
            r#"<img src="/api/v1/attachments/att_x/../../../notices/unsubscribe/TOKEN">
<img src="/api/v1/attachments/att_2"><img src="//evil.example/p.gif"><img src="cid:logo@x">
<a href="/api/v1/conversations">inbox</a><a href="../admin">up</a><a href="/&#x09;/evil.example">x</a>
<a href="https://shop.example/track">track</a><a href="mailto:ann@example.com">Ann</a>"#,
            &inline,
        );
        assert_eq!(clean.matches("src=").count(), 1, "{clean}");
        assert!(
            clean.contains(r#"src="/api/v1/attachments/att_1""#),
            "{clean}"
        );
        for banned in ["notices", "att_2", "evil.example", "conversations", "admin"] {
            assert!(!clean.contains(banned), "{banned} survived: {clean}");
        }
        assert!(
            clean.contains(r#"href="https://shop.example/track""#),
            "{clean}"
        );
        assert!(
            clean.contains(r#"href="mailto:ann@example.com""#),
            "{clean}"
        );
    }

    #[test]
    fn no_attribute_keeps_a_script_url() {
        let clean = sanitise(
            r#"<blockquote cite="javascript:alert(1)">x</blockquote><a href=" JaVa&#x09;script:alert(1)">y</a><q cite="https://x.example">z</q>"#,
            &InlineImages::default(),
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
        let clean = sanitise(&deep, &InlineImages::default());
        assert!(clean.contains("text"));
        assert!(
            clean.matches("<div>").count() <= 100,
            "flattened past the limit"
        );
    }
}
