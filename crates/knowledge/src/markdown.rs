//! Articles are written in Markdown (CommonMark with tables and strikethrough) and shown as
//! HTML that an allow-list sanitiser has cleaned: editors are untrusted once a shop gives
//! others access, so no script, event handler, style or `javascript:` URL survives.
//!
//! Two additions for help articles, both plain Markdown to the editor:
//! - a video is an image whose file is a video (`![Returning a parcel](/help/files/…/how.mp4)`):
//!   files of the help center play in the page; a video elsewhere (YouTube, Vimeo) becomes a
//!   link, since the help center loads nothing from other sites;
//! - a fenced block marked `transcript` is the video's transcript, folded under a summary.
//!
//! Also here: the plain text of an article, for its search index and its summary.

use concierge_domain::text::escape_html as escape;
use pulldown_cmark::{CodeBlockKind, CowStr, Event, Options, Parser, Tag, TagEnd};
use std::collections::HashSet;

/// The longest article accepted, in characters, and the deepest nesting of lists and quotes:
/// past these an editor's Markdown is refused (422) rather than rendered slowly.
pub const MAX_MARKDOWN_CHARS: usize = 200_000;
pub const MAX_NESTING: usize = 32;

/// Where the help center serves articles' files; only these play in the page.
const FILES: &str = "/help/files/";

const VIDEO_ENDINGS: &[&str] = &[".mp4", ".webm", ".ogg", ".ogv", ".mov"];

fn is_video(url: &str) -> bool {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    VIDEO_ENDINGS.iter().any(|e| path.ends_with(e))
        || ["youtube.com/", "youtu.be/", "vimeo.com/"]
            .iter()
            .any(|h| path.contains(h))
}

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH
}

/// Why Markdown was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the article is longer than {MAX_MARKDOWN_CHARS} characters")]
    TooLong,
    #[error("lists and quotes are nested more than {MAX_NESTING} deep")]
    TooDeep,
}

/// Checks what rendering would choke on, before it is stored.
pub fn check(markdown: &str) -> Result<(), Refused> {
    if markdown.chars().count() > MAX_MARKDOWN_CHARS {
        return Err(Refused::TooLong);
    }
    let mut depth = 0usize;
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Start(Tag::List(_) | Tag::BlockQuote(_) | Tag::Item) => {
                depth += 1;
                if depth > MAX_NESTING * 2 {
                    return Err(Refused::TooDeep);
                }
            }
            Event::End(TagEnd::List(_) | TagEnd::BlockQuote(_) | TagEnd::Item) => {
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
    }
    Ok(())
}

/// Renders an article's Markdown to sanitised HTML.
pub fn render(markdown: &str) -> String {
    let mut events: Vec<Event> = Vec::new();
    let mut parser = Parser::new_ext(markdown, options()).peekable();
    let mut transcript: Option<String> = None;
    while let Some(event) = parser.next() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info)))
                if info.trim().eq_ignore_ascii_case("transcript") =>
            {
                transcript = Some(String::new());
            }
            Event::Text(text) if transcript.is_some() => {
                if let Some(t) = transcript.as_mut() {
                    t.push_str(&text);
                }
            }
            Event::End(TagEnd::CodeBlock) if transcript.is_some() => {
                let text = transcript.take().unwrap_or_default();
                let paragraphs: String = text
                    .split("\n\n")
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(|p| format!("<p>{}</p>", escape(p)))
                    .collect();
                events.push(Event::Html(CowStr::from(format!(
                    "<details class=\"transcript\"><summary>Transcript</summary>{paragraphs}</details>"
                ))));
            }
            Event::Start(Tag::Image {
                dest_url, title, ..
            }) if is_video(&dest_url) => {
                // The image's alt text is its events up to the end of the image.
                let mut alt = String::new();
                for e in parser.by_ref() {
                    match e {
                        Event::End(TagEnd::Image) => break,
                        Event::Text(t) | Event::Code(t) => alt.push_str(&t),
                        _ => {}
                    }
                }
                let label = if alt.is_empty() {
                    title.to_string()
                } else {
                    alt
                };
                let label = if label.is_empty() {
                    "Video".to_owned()
                } else {
                    label
                };
                let html = if dest_url.starts_with(FILES) {
                    format!(
                        "<video controls preload=\"metadata\" src=\"{}\">{}</video>",
                        escape(&dest_url),
                        escape(&label)
                    )
                } else {
                    format!(
                        "<a class=\"video-link\" href=\"{}\">▶ {}</a>",
                        escape(&dest_url),
                        escape(&label)
                    )
                };
                events.push(Event::Html(CowStr::from(html)));
            }
            other => events.push(other),
        }
    }
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    sanitise(&html)
}

/// The allow-list: ammonia's defaults (formatting, links, images, tables), plus folded
/// transcripts and videos from the help center's own files.
fn sanitise(html: &str) -> String {
    ammonia::Builder::default()
        .add_tags(["video", "details", "summary"])
        .add_tag_attributes("video", ["controls", "preload", "src"])
        .add_tag_attributes("details", ["class"])
        .add_tag_attributes("a", ["class"])
        .link_rel(Some("noopener noreferrer"))
        .attribute_filter(|element, attribute, value| match (element, attribute) {
            ("video", "src") => value.starts_with(FILES).then(|| value.into()),
            ("details" | "a", "class") => {
                matches!(value, "transcript" | "video-link").then(|| value.into())
            }
            _ => Some(value.into()),
        })
        .clean(html)
        .to_string()
}

/// The words of an article as a reader sees them: no markup, blocks separated by new lines.
pub fn plain_text(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::TableRow
                | TagEnd::TableHead
                | TagEnd::CodeBlock,
            ) => out.push('\n'),
            Event::End(TagEnd::TableCell) => out.push_str(" | "),
            _ => {}
        }
    }
    out.trim().to_owned()
}

/// A short description of an article (for search results and search engines): the words of
/// its first paragraph, cut at a word boundary near `max` characters.
pub fn summary(markdown: &str, max: usize) -> String {
    let mut first = String::new();
    let mut inside = false;
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Start(Tag::Paragraph) => inside = true,
            Event::End(TagEnd::Paragraph) if !first.trim().is_empty() => break,
            Event::End(TagEnd::Paragraph) => inside = false,
            Event::Text(t) | Event::Code(t) if inside => first.push_str(&t),
            Event::SoftBreak | Event::HardBreak if inside => first.push(' '),
            _ => {}
        }
    }
    let first = first.split_whitespace().collect::<Vec<_>>().join(" ");
    if first.chars().count() <= max {
        return first;
    }
    let mut cut = String::new();
    for word in first.split_whitespace() {
        if cut.chars().count() + word.chars().count() + 1 > max.saturating_sub(1) {
            break;
        }
        if !cut.is_empty() {
            cut.push(' ');
        }
        cut.push_str(word);
    }
    cut.push('…');
    cut
}

/// The files of the help center an article's Markdown points at (`/help/files/ID/…`).
pub fn file_ids(markdown: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    for event in Parser::new_ext(markdown, options()) {
        if let Event::Start(Tag::Image { dest_url, .. } | Tag::Link { dest_url, .. }) = event {
            if let Some(rest) = dest_url.strip_prefix(FILES) {
                if let Some(id) = rest.split('/').next().filter(|s| !s.is_empty()) {
                    out.insert(id.to_owned());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_rendered_and_sanitised() {
        let html = render("# Returns\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n<a href=\"x\" onclick=\"y\" style=\"color:red\">z</a>");
        assert!(html.contains("<h1>Returns</h1>"), "{html}");
        assert!(html.contains("<table>"), "{html}");
        for banned in ["<script", "javascript:", "onerror", "onclick", "style="] {
            assert!(!html.contains(banned), "{banned}: {html}");
        }
    }

    #[test]
    fn videos_play_from_our_files_and_link_elsewhere_with_a_folded_transcript() {
        let html = render(
            "![Printing a label](/help/files/att_1/label.mp4)\n\n![On YouTube](https://www.youtube.com/watch?v=x)\n\n```transcript\nFirst, open your order.\n\nThen <b>print</b>.\n```",
        );
        assert!(html.contains(r#"<video controls="" preload="metadata" src="/help/files/att_1/label.mp4">Printing a label</video>"#)
            || html.contains(r#"src="/help/files/att_1/label.mp4""#), "{html}");
        assert!(
            html.contains(r#"href="https://www.youtube.com/watch?v=x""#),
            "{html}"
        );
        assert!(!html.contains("<iframe"), "{html}");
        assert!(
            html.contains("<details class=\"transcript\"><summary>Transcript</summary>"),
            "{html}"
        );
        assert!(html.contains("Then &lt;b&gt;print&lt;/b&gt;."), "{html}");
        // A video from elsewhere may not play in the page.
        let html = render("<video src=\"https://evil.example/x.mp4\" autoplay></video>");
        assert!(
            !html.contains("evil.example") && !html.contains("autoplay"),
            "{html}"
        );
    }

    #[test]
    fn enormous_or_deeply_nested_markdown_is_refused() {
        assert_eq!(
            check(&"x".repeat(MAX_MARKDOWN_CHARS + 1)),
            Err(Refused::TooLong)
        );
        let nested: String = (0..100)
            .map(|i| format!("{}- a\n", "  ".repeat(i)))
            .collect();
        assert_eq!(check(&nested), Err(Refused::TooDeep));
        assert_eq!(check(&"> ".repeat(200)), Err(Refused::TooDeep));
        assert!(check("- a\n  - b\n").is_ok());
    }

    #[test]
    fn plain_text_and_summaries() {
        let md = "# Returns\n\nYou can return **anything** within 30 days.\n\n- unworn\n- tagged";
        assert_eq!(
            plain_text(md),
            "Returns\nYou can return anything within 30 days.\nunworn\ntagged"
        );
        assert_eq!(
            summary(
                "You can return anything within thirty days of delivery.",
                30
            ),
            "You can return anything…"
        );
        assert_eq!(summary(md, 200), "You can return anything within 30 days.");
        assert_eq!(
            file_ids(
                "![a](/help/files/att_1/a.png) [b](/help/files/att_2/b.pdf) ![c](https://x/y.png)"
            )
            .len(),
            2
        );
    }
}
