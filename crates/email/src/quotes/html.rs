//! The HTML side of reply splitting: the quote containers mail clients mark, a small
//! single-pass tag scanner to find them, and HTML rendered as readable text (html2text, with
//! block nesting capped first, since its cost grows with the square of the depth).

use super::compile;
use html2text::render::{TaggedLine, TextDecorator};
use regex::Regex;
use std::sync::LazyLock;

// ---------------------------------------------------------------------------
// HTML: quote containers
// ---------------------------------------------------------------------------

pub(super) const PLACEHOLDER_OPEN: char = '\u{10FFFC}';
pub(super) const PLACEHOLDER_CLOSE: char = '\u{10FFFD}';

enum Container {
    /// The element itself (up to its matching end tag) is the quote.
    Element,
    /// Everything from this element to the end of the document is history
    /// (Outlook puts the old mail after its header block, not inside it).
    ToEnd,
}

static OUTLOOK_HEADER_BORDER: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"(?i)border-top:\s*solid\s+#?[0-9a-z]+\s+1(?:\.0)?pt.*padding:\s*3(?:\.0)?pt\s+0")
});

fn container_kind(tag: &Tag, html: &str) -> Option<Container> {
    let attrs = &html[tag.attrs.0..tag.attrs.1];
    let name = tag.name(html);
    if name.eq_ignore_ascii_case("blockquote")
        && attr(attrs, "type").is_some_and(|t| t.trim().eq_ignore_ascii_case("cite"))
    {
        return Some(Container::Element);
    }
    if let Some(class) = attr(attrs, "class") {
        for token in class.split_ascii_whitespace() {
            // Outlook on the web re-renders incoming mail with an "x_" prefix.
            let token = token.strip_prefix("x_").unwrap_or(token);
            if [
                "gmail_quote",
                "gmail_attr",
                "yahoo_quoted",
                "moz-cite-prefix",
                "protonmail_quote",
            ]
            .iter()
            .any(|c| token.eq_ignore_ascii_case(c))
            {
                return Some(Container::Element);
            }
            if token.eq_ignore_ascii_case("OutlookMessageHeader") {
                return Some(Container::ToEnd);
            }
        }
    }
    if let Some(id) = attr(attrs, "id") {
        let id = id.trim();
        let id = id.strip_prefix("x_").unwrap_or(id);
        let starts = |prefix: &str| {
            id.get(..prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
        };
        if starts("OLK_SRC_BODY_SECTION") || starts("yahoo_quoted") {
            return Some(Container::Element);
        }
        if [
            "divRplyFwdMsg",
            "appendonsend",
            "stopSpelling",
            "mail-editor-reference-message-container",
        ]
        .iter()
        .any(|m| id.eq_ignore_ascii_case(m))
        {
            return Some(Container::ToEnd);
        }
    }
    if (name.eq_ignore_ascii_case("div") || name.eq_ignore_ascii_case("p"))
        && attr(attrs, "style").is_some_and(|s| s.len() < 2000 && OUTLOOK_HEADER_BORDER.is_match(s))
    {
        return Some(Container::ToEnd);
    }
    None
}

/// Replaces each quote container with a placeholder line and returns the
/// modified HTML together with the containers' own HTML, in order.
pub(super) fn replace_quote_containers(html: &str) -> (String, Vec<&str>) {
    let lower = html.to_ascii_lowercase();
    let mut out = String::with_capacity(html.len());
    let mut containers = Vec::new();
    let mut copied = 0;
    let mut tags = TagScanner::new(html, &lower, 0);
    while let Some(tag) = tags.next() {
        if tag.closing {
            continue;
        }
        let end = match container_kind(&tag, html) {
            None => continue,
            Some(Container::ToEnd) => html.len(),
            Some(Container::Element) if tag.self_closing => tag.end,
            Some(Container::Element) => matching_end(html, &lower, &tag),
        };
        out.push_str(&html[copied..tag.start]);
        out.push_str(&format!(
            "<div>{PLACEHOLDER_OPEN}{}{PLACEHOLDER_CLOSE}</div>",
            containers.len()
        ));
        containers.push(&html[tag.start..end]);
        copied = end;
        tags = TagScanner::new(html, &lower, end);
    }
    out.push_str(&html[copied..]);
    (out, containers)
}

/// End (exclusive) of the element opened by `open`; the end of the document
/// when it is never closed, as browsers do.
fn matching_end(html: &str, lower: &str, open: &Tag) -> usize {
    let name = open.name(lower);
    let mut depth = 1usize;
    for tag in TagScanner::new(html, lower, open.end) {
        if tag.name(lower) != name || tag.self_closing {
            continue;
        }
        if tag.closing {
            depth -= 1;
            if depth == 0 {
                return tag.end;
            }
        } else {
            depth += 1;
        }
    }
    html.len()
}

pub(super) fn expand_placeholders(line: &str, containers: &[String], out: &mut String) {
    let mut rest = line;
    while let Some(open) = rest.find(PLACEHOLDER_OPEN) {
        out.push_str(&rest[..open]);
        let after = &rest[open + PLACEHOLDER_OPEN.len_utf8()..];
        let Some(close) = after.find(PLACEHOLDER_CLOSE) else {
            rest = after;
            continue;
        };
        if let Some(text) = after[..close]
            .parse::<usize>()
            .ok()
            .and_then(|n| containers.get(n))
        {
            out.push_str(text);
        }
        rest = &after[close + PLACEHOLDER_CLOSE.len_utf8()..];
    }
    out.push_str(rest);
}

// ---------------------------------------------------------------------------
// HTML: a small tag scanner
// ---------------------------------------------------------------------------

/// Just enough HTML tokenising to find elements by attribute and their end
/// tags, without building a DOM; single pass, never backtracks.
struct Tag {
    start: usize,
    end: usize,
    name: (usize, usize),
    attrs: (usize, usize),
    closing: bool,
    self_closing: bool,
}

impl Tag {
    fn name<'h>(&self, html: &'h str) -> &'h str {
        &html[self.name.0..self.name.1]
    }
}

struct TagScanner<'h> {
    html: &'h str,
    /// ASCII-lowercased copy of `html` (same byte offsets) for searching.
    lower: &'h str,
    pos: usize,
}

impl<'h> TagScanner<'h> {
    fn new(html: &'h str, lower: &'h str, pos: usize) -> Self {
        TagScanner { html, lower, pos }
    }

    fn skip_past(&mut self, from: usize, needle: &str) {
        self.pos = self.lower[from..]
            .find(needle)
            .map_or(self.html.len(), |p| from + p + needle.len());
    }
}

impl Iterator for TagScanner<'_> {
    type Item = Tag;

    fn next(&mut self) -> Option<Tag> {
        let bytes = self.html.as_bytes();
        loop {
            let lt = self.pos + self.html.get(self.pos..)?.find('<')?;
            let after = &bytes[lt + 1..];
            if after.starts_with(b"!--") {
                self.skip_past(lt + 4, "-->");
                continue;
            }
            if after.first().is_some_and(|b| *b == b'!' || *b == b'?') {
                self.skip_past(lt + 1, ">");
                continue;
            }
            let closing = after.first() == Some(&b'/');
            let name_start = lt + 1 + usize::from(closing);
            let name_len = bytes[name_start..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b':' | b'_'))
                .count();
            if name_len == 0 || !bytes[name_start].is_ascii_alphabetic() {
                // A bare "<" in text.
                self.pos = lt + 1;
                continue;
            }
            let name_end = name_start + name_len;
            let mut j = name_end;
            let mut quote: Option<u8> = None;
            let mut after_equals = false;
            while j < bytes.len() {
                let b = bytes[j];
                match quote {
                    Some(q) if b == q => quote = None,
                    Some(_) => {}
                    None => match b {
                        b'>' => break,
                        b'"' | b'\'' if after_equals => quote = Some(b),
                        _ => {}
                    },
                }
                if quote.is_none() && !b.is_ascii_whitespace() {
                    after_equals = b == b'=';
                }
                j += 1;
            }
            if j >= bytes.len() {
                // Unterminated tag: the rest is text.
                self.pos = bytes.len();
                return None;
            }
            let tag = Tag {
                start: lt,
                end: j + 1,
                name: (name_start, name_end),
                attrs: (name_end, j),
                closing,
                self_closing: bytes[j - 1] == b'/',
            };
            self.pos = tag.end;
            // Script and style bodies are raw text that may contain "<".
            let lname = tag.name(self.lower);
            if !closing && (lname == "script" || lname == "style") {
                let end_tag = if lname == "script" {
                    "</script"
                } else {
                    "</style"
                };
                // Stop at the end tag itself so that it is still reported.
                self.pos = self.lower[tag.end..]
                    .find(end_tag)
                    .map_or(bytes.len(), |p| tag.end + p);
            }
            return Some(tag);
        }
    }
}

/// The raw value of attribute `name` in a tag's attribute text.
fn attr<'a>(attrs: &'a str, name: &str) -> Option<&'a str> {
    let b = attrs.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let key_start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'/' | b'>') {
            i += 1;
        }
        let key = &attrs[key_start..i];
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = "";
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                let v_start = i + 1;
                let v_end = b[v_start..]
                    .iter()
                    .position(|c| *c == q)
                    .map_or(b.len(), |p| v_start + p);
                value = &attrs[v_start..v_end];
                i = (v_end + 1).min(b.len());
            } else {
                let v_start = i;
                while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                    i += 1;
                }
                value = &attrs[v_start..i];
            }
        }
        if key.eq_ignore_ascii_case(name) {
            return Some(value);
        }
        if key.is_empty() && i == key_start {
            i += 1;
        }
    }
    None
}

// ---------------------------------------------------------------------------
// HTML: rendering to text
// ---------------------------------------------------------------------------

/// Deeper nesting of elements than this is flattened before HTML is parsed for real:
/// html2text's cost (and html5ever's, behind the sanitiser) grows with the square of the
/// depth of open elements — a 64 KB mail of nested tags took minutes — and no real mail comes
/// near it.
pub(crate) const MAX_DEPTH: usize = 100;

/// Elements without content, which never open a level.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// Elements whose end tag may be left out: the next one of the same kind ends the last.
const SELF_ENDING: &[&str] = &[
    "p", "li", "dt", "dd", "tr", "td", "th", "option", "thead", "tbody", "tfoot", "colgroup", "rt",
    "rp",
];

/// How far down the open elements a closing tag looks for its opening one. Bounded, so that
/// a flood of unmatched closing tags stays linear.
const MATCH_WINDOW: usize = 2 * MAX_DEPTH;

/// Markup whose elements nested deeper than [`MAX_DEPTH`] lose their tags (their content
/// stays), with `replace` given the chance to swap any tag for other markup. Linear in the
/// input. The result is still untrusted markup: it only ever goes on to a real parser (the
/// sanitiser, html2text).
fn flatten_with(html: &str, replace: impl Fn(&str, &Tag, &str) -> Option<&'static str>) -> String {
    let lower = html.to_ascii_lowercase();
    let mut out = String::with_capacity(html.len() + 64);
    let mut copied = 0;
    // The open elements: their names, and whether their tags were dropped.
    let mut open: Vec<(&str, bool)> = Vec::new();
    for tag in TagScanner::new(html, &lower, 0) {
        let name = tag.name(&lower);
        let attrs = &lower[tag.attrs.0..tag.attrs.1];
        let replacement = if let Some(r) = replace(name, &tag, attrs) {
            Some(r)
        } else if tag.self_closing || VOID.contains(&name) {
            None
        } else if tag.closing {
            let window = open.len().saturating_sub(MATCH_WINDOW);
            match open[window..].iter().rposition(|(n, _)| *n == name) {
                Some(i) => {
                    let dropped = open[window + i].1;
                    open.truncate(window + i);
                    dropped.then_some("")
                }
                // A closing tag that closes nothing we track: past the limit, drop it.
                None => (open.len() >= MAX_DEPTH).then_some(""),
            }
        } else {
            if SELF_ENDING.contains(&name) && open.last().is_some_and(|(n, _)| *n == name) {
                open.pop();
            }
            let too_deep = open.len() >= MAX_DEPTH;
            open.push((name, too_deep));
            too_deep.then_some("")
        };
        if let Some(replacement) = replacement {
            out.push_str(&html[copied..tag.start]);
            out.push_str(replacement);
            copied = tag.end;
        }
    }
    out.push_str(&html[copied..]);
    out
}

/// Markup with nesting deeper than [`MAX_DEPTH`] flattened; see `flatten_with`.
pub(crate) fn flatten(html: &str) -> String {
    flatten_with(html, |_, _, _| None)
}

/// Prepares markup for html2text: flattened, `<hr>` made a short "---" line (the renderer
/// would draw it as wide as the render width), and cells that span rows made plain cells:
/// html2text 0.17 panics on some of those, and for text the span does not matter.
pub(super) fn prepare_html(html: &str) -> String {
    flatten_with(html, |name, tag, attrs| match name {
        "hr" => Some(if tag.closing { "" } else { "<div>---</div>" }),
        "td" if !tag.closing && attrs.contains("rowspan") => Some("<td>"),
        "th" if !tag.closing && attrs.contains("rowspan") => Some("<th>"),
        _ => None,
    })
}

/// Annotation carried by rendered text: the URL of the link it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Span {
    #[default]
    Plain,
    Link(String),
}

/// Renders without markup; links are only annotated, so that their text can
/// be compared with their URL afterwards.
#[derive(Clone, Copy, Default)]
struct PlainTextDecorator;

impl TextDecorator for PlainTextDecorator {
    type Annotation = Span;

    fn decorate_link_start(&mut self, url: &str) -> (String, Span) {
        (String::new(), Span::Link(url.to_string()))
    }
    fn decorate_link_end(&mut self) -> String {
        String::new()
    }
    fn decorate_em_start(&self) -> (String, Span) {
        (String::new(), Span::Plain)
    }
    fn decorate_em_end(&self) -> String {
        String::new()
    }
    fn decorate_strong_start(&self) -> (String, Span) {
        (String::new(), Span::Plain)
    }
    fn decorate_strong_end(&self) -> String {
        String::new()
    }
    fn decorate_strikeout_start(&self) -> (String, Span) {
        (String::new(), Span::Plain)
    }
    fn decorate_strikeout_end(&self) -> String {
        String::new()
    }
    fn decorate_code_start(&self) -> (String, Span) {
        (String::new(), Span::Plain)
    }
    fn decorate_code_end(&self) -> String {
        String::new()
    }
    fn decorate_preformat_first(&self) -> Span {
        Span::Plain
    }
    fn decorate_preformat_cont(&self) -> Span {
        Span::Plain
    }
    fn decorate_image(&mut self, _src: &str, title: &str) -> (String, Span) {
        (title.to_string(), Span::Plain)
    }
    fn header_prefix(&self, _level: usize) -> String {
        String::new()
    }
    fn quote_prefix(&self) -> String {
        "> ".to_string()
    }
    fn unordered_item_prefix(&self) -> String {
        "- ".to_string()
    }
    fn ordered_item_prefix(&self, i: i64) -> String {
        format!("{i}. ")
    }
    fn make_subblock_decorator(&self) -> Self {
        *self
    }
    fn decorate_superscript_start(&self) -> (String, Span) {
        (String::new(), Span::Plain)
    }
    fn decorate_superscript_end(&self) -> String {
        String::new()
    }
    fn finalise(&mut self, _urls: Vec<String>) -> Vec<TaggedLine<Span>> {
        Vec::new()
    }
}

/// Wide enough that nothing wraps: no line of output can be wider than a
/// few columns per input byte (prefixes, double-width characters).
fn render_width(html: &str) -> usize {
    html.len().saturating_mul(4).saturating_add(1000)
}

pub(super) fn render_html(html: &str) -> Option<String> {
    // html2text parses untrusted markup; should it ever panic, inbound mail
    // processing must go on with the crude fallback instead.
    let lines = std::panic::catch_unwind(|| {
        html2text::config::with_decorator(PlainTextDecorator)
            .raw_mode(true)
            .allow_width_overflow()
            .link_footnotes(false)
            .lines_from_read(html.as_bytes(), render_width(html))
    })
    .ok()?
    .ok()?;

    let mut out = String::with_capacity(html.len() / 2);
    let mut open: Option<(&str, usize)> = None;
    for line in &lines {
        for piece in line.tagged_strings() {
            let url = piece.tag.iter().rev().find_map(|span| match span {
                Span::Link(url) => Some(url.as_str()),
                Span::Plain => None,
            });
            if open.map(|(u, _)| u) != url {
                if let Some((u, text_start)) = open.take() {
                    close_link(&mut out, u, text_start);
                }
                open = url.map(|u| (u, out.len()));
            }
            out.push_str(&piece.s);
        }
        out.push('\n');
    }
    if let Some((u, text_start)) = open {
        close_link(&mut out, u, text_start);
    }
    Some(out)
}

/// Appends " <url>" after a link's text unless the text already says it.
fn close_link(out: &mut String, url: &str, text_start: usize) {
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    if url.is_empty()
        || lower.starts_with('#')
        || lower.starts_with("javascript:")
        || lower.starts_with("cid:")
    {
        return;
    }
    let text_end = out.trim_end_matches('\n').len();
    let text: String = out[text_start.min(text_end)..text_end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if same_target(&text, url) {
        return;
    }
    let suffix = if text.is_empty() {
        format!("<{url}>")
    } else {
        format!(" <{url}>")
    };
    out.insert_str(text_end, &suffix);
}

fn same_target(text: &str, url: &str) -> bool {
    fn bare(s: &str) -> &str {
        let s = s.trim().trim_end_matches('/');
        let lower_prefix = |p: &str| s.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
        for prefix in ["mailto:", "tel:", "https://", "http://"] {
            if lower_prefix(prefix) {
                return s[prefix.len()..].trim_start_matches("www.");
            }
        }
        s.trim_start_matches("www.")
    }
    bare(text).eq_ignore_ascii_case(bare(url))
}

/// Trailing spaces off, runs of blank lines down to one, ends trimmed.
pub(super) fn tidy_rendered_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut blank_run = 0;
    for line in raw.split('\n') {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        blank_run = 0;
        out.push_str(line);
    }
    out
}

/// Last resort when the HTML renderer fails: text between tags, with the
/// common entities decoded and block tags turned into line breaks.
pub(super) fn strip_tags(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let mut out = String::with_capacity(html.len());
    let mut copied = 0;
    for tag in TagScanner::new(html, &lower, 0) {
        let name = tag.name(&lower);
        // The scanner stops right before a script's or style's end tag, so
        // the text up to it is code, not content.
        if !(tag.closing && (name == "script" || name == "style")) {
            out.push_str(&html[copied..tag.start]);
        }
        if matches!(name, "br" | "p" | "div" | "li" | "tr" | "blockquote") {
            out.push('\n');
        }
        copied = tag.end;
    }
    out.push_str(&html[copied..]);
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}
