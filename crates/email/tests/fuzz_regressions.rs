//! Replays the inputs the `mail` fuzz target (`fuzz/fuzz_targets/mail.rs`) found troublesome,
//! saved in `tests/fuzz_cases/*.bin`, through the same calls and the same checks.
//!
//! The fuzz target includes this file (`#[path]`), so [`exercise`] is the one definition of
//! what the fuzzer runs: a case that crashed or hung the fuzzer fails here until the bug is
//! fixed, and a check added here is checked by the fuzzer too. Every check is a promise made
//! by a doc comment in `mime`, `quotes` or `html`; nothing here pins down heuristics.

use std::collections::HashSet;

use concierge_email::html::InlineImages;
use concierge_email::mime::{self, Mail};
use concierge_email::{html, quotes};

/// Runs `data` through every pure entry point of the email channel, the way inbound mail
/// goes through them, and checks what their doc comments promise. Panics on a broken promise.
pub fn exercise(data: &[u8]) {
    if let Ok(mail) = mime::read(data) {
        check_mail(&mail);
        if let Some(text) = &mail.text {
            check_split(text, &quotes::split(text));
        }
        if let Some(body) = &mail.html {
            check_split_html(body, &quotes::split_html(body));
            check_sanitised(
                &html::sanitise(body, &InlineImages::default()),
                &HashSet::new(),
            );
            let (inline, urls) = inline_images(&mail);
            check_sanitised(&html::sanitise(body, &inline), &urls);
        }
    }
    // The bytes as a body of their own: the splitters and the sanitiser see far stranger
    // text this way than what survives MIME decoding.
    let text = String::from_utf8_lossy(data);
    check_split(&text, &quotes::split(&text));
    check_split_html(&text, &quotes::split_html(&text));
    check_sanitised(
        &html::sanitise(&text, &InlineImages::default()),
        &HashSet::new(),
    );
}

/// The mail's inline images as the mailroom gives them, and the URLs their stored
/// attachments would be served at.
fn inline_images(mail: &Mail) -> (InlineImages, HashSet<String>) {
    let (inline, ids) = InlineImages::for_files(&mail.files);
    let urls = ids
        .iter()
        .map(|id| format!("/api/v1/attachments/{id}"))
        .collect();
    (inline, urls)
}

// ---------------------------------------------------------------------------
// mime::read
// ---------------------------------------------------------------------------

fn check_mail(mail: &Mail) {
    for id in mail
        .message_id
        .iter()
        .chain(&mail.in_reply_to)
        .chain(&mail.references)
        .chain(mail.files.iter().filter_map(|f| f.content_id.as_ref()))
    {
        // `MAX_ID_LEN` in mime.rs: longer ids are cut; ids with control characters are dropped.
        assert!(!id.is_empty(), "empty message id kept");
        assert!(
            id.chars().count() <= 500,
            "message id longer than 500 characters"
        );
        assert!(
            !id.chars().any(char::is_control),
            "control character in id {id:?}"
        );
    }
    assert!(
        mail.references.len() <= 30,
        "{} references kept, at most 30 promised",
        mail.references.len()
    );
    if let Some(from) = &mail.from {
        assert_trimmed_nonempty("from address", &from.address);
        if let Some(name) = &from.name {
            assert_trimmed_nonempty("from name", name);
        }
    }
    if let Some(reply_to) = &mail.reply_to {
        assert_trimmed_nonempty("reply-to", reply_to);
    }
    if let Some(subject) = &mail.subject {
        assert_trimmed_nonempty("subject", subject);
    }
    if let Some(text) = &mail.text {
        assert!(!text.trim().is_empty(), "blank text body kept: {text:?}");
    }
    // `MAX_PARTS`: a mail is taken apart into at most that many files, none when kept whole.
    assert!(
        mail.files.len() <= mime::MAX_PARTS,
        "{} files kept",
        mail.files.len()
    );
    assert!(
        mail.kept_whole.is_none() || mail.files.is_empty(),
        "files kept from a mail kept whole"
    );
    for file in &mail.files {
        let name = &file.filename;
        // `clean_filename`: no path, no control characters, at most 200 characters; and
        // `files`: a name is made up for files that have none.
        assert!(!name.is_empty(), "file without a name");
        assert!(!name.contains(['/', '\\']), "path in file name {name:?}");
        assert!(
            !name.chars().any(char::is_control),
            "control character in file name {name:?}"
        );
        assert!(
            name.chars().count() <= 200,
            "file name over 200 characters: {name:?}"
        );
        let ct = &file.content_type;
        assert!(ct.contains('/'), "content type without a subtype: {ct:?}");
        assert!(
            !ct.bytes().any(|b| b.is_ascii_uppercase()),
            "content type not lower case: {ct:?}"
        );
    }
}

fn assert_trimmed_nonempty(what: &str, value: &str) {
    assert!(!value.is_empty(), "{what} is empty");
    assert_eq!(value.trim(), value, "{what} is not trimmed");
}

// ---------------------------------------------------------------------------
// quotes
// ---------------------------------------------------------------------------

/// No text at all: only whitespace and the invisible characters mail clients sprinkle (zero
/// width spaces and joiners, word joiner, byte order mark), as `quotes` itself counts them.
fn is_blank(text: &str) -> bool {
    text.chars().all(|c| {
        c.is_whitespace() || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
    })
}

/// `Reply`'s contract: both halves trimmed, and nothing cut when nothing is left visible
/// (a body that is all quote is shown whole).
fn check_reply(reply: &quotes::Reply) {
    assert_eq!(
        reply.visible.trim(),
        reply.visible,
        "visible is not trimmed"
    );
    assert_eq!(reply.quoted.trim(), reply.quoted, "quoted is not trimmed");
    assert!(
        !reply.visible.is_empty() || reply.quoted.is_empty(),
        "everything hidden: visible is empty but {} bytes were cut",
        reply.quoted.len()
    );
}

fn check_split(input: &str, reply: &quotes::Reply) {
    check_reply(reply);
    assert!(
        !reply.visible.is_empty() || is_blank(input),
        "split hid everything from a body with text"
    );
    // `split` only divides the body: every line it returns is a line of the input (ends
    // trimmed; line ends normalised as `split` does, a leading byte order mark dropped).
    let body = input.strip_prefix('\u{FEFF}').unwrap_or(input);
    let body = body.replace("\r\n", "\n").replace('\r', "\n");
    let lines: std::collections::HashSet<&str> = body.split('\n').map(str::trim).collect();
    for line in reply.visible.lines().chain(reply.quoted.lines()) {
        assert!(
            lines.contains(line.trim()),
            "split returned a line not in its input: {line:?}"
        );
    }
}

fn check_split_html(input: &str, reply: &quotes::Reply) {
    check_reply(reply);
    if reply.visible.is_empty() {
        // For HTML, "had text" means the text `html_to_text` renders; worked out only when
        // needed, as rendering is the expensive part.
        let text = quotes::html_to_text(input);
        assert!(
            is_blank(&text),
            "split_html hid everything from HTML whose text is {text:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// html::sanitise
// ---------------------------------------------------------------------------

/// Elements that can run code or reach out (scripts, styles, forms, frames, plugins, links
/// to other documents), none of which `sanitise` may let through.
const BANNED_ELEMENTS: &[&str] = &[
    "script", "style", "form", "input", "button", "textarea", "select", "iframe", "frame",
    "frameset", "object", "embed", "applet", "link", "meta", "base", "svg", "math",
];

/// Attributes whose value a browser follows or loads as a URL: only the allowed schemes.
const URL_ATTRIBUTES: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "background",
    "poster",
    "longdesc",
    "data",
    "xlink:href",
    "ping",
    "manifest",
    "codebase",
];

/// Attributes that hold a URL a browser does not follow by itself (`<blockquote cite>`,
/// `<q cite>`, `<ins cite>`, `<del cite>`; mail clients put `mid:` and `cid:` there), so any
/// scheme may stay, except the ones that run code, which the module doc promises are gone.
const REFERENCE_ATTRIBUTES: &[&str] = &["cite"];

const SCRIPT_SCHEMES: &[&str] = &["javascript", "vbscript", "data"];

/// Checks `html::sanitise`'s output. Its serialiser escapes `<` in text and `"` in attribute
/// values and drops comments, so every `<` starts a tag and every attribute value is
/// double-quoted: a plain scan reads the output exactly as a browser would.
fn check_sanitised(out: &str, inline_urls: &HashSet<String>) {
    assert!(
        !out.to_ascii_lowercase().contains("<script"),
        "<script survived: {out}"
    );
    for tag in scan_tags(out) {
        assert!(
            !BANNED_ELEMENTS.contains(&tag.name.as_str()),
            "<{}> survived sanitising: {out}",
            tag.name
        );
        for (name, value) in &tag.attributes {
            assert!(
                !name.starts_with("on"),
                "event handler {name} survived: {out}"
            );
            assert!(
                name != "style" && name != "srcset",
                "{name} survived: {out}"
            );
            if URL_ATTRIBUTES.contains(&name.as_str()) && name != "src" {
                // A link leads away: absolute, never a path of our own origin.
                match url_scheme(value) {
                    Some(scheme) => assert!(
                        ["http", "https", "mailto"].contains(&scheme.as_str()),
                        "{name}=\"{value}\" with scheme {scheme}: survived: {out}"
                    ),
                    None => panic!("{name}=\"{value}\", relative: survived: {out}"),
                }
            }
            if REFERENCE_ATTRIBUTES.contains(&name.as_str()) {
                if let Some(scheme) = url_scheme(value) {
                    assert!(
                        !SCRIPT_SCHEMES.contains(&scheme.as_str()),
                        "{name}=\"{value}\" with scheme {scheme}: survived: {out}"
                    );
                }
            }
            // Remote images and paths of ours are dropped; inline ones point at their
            // stored attachment.
            if name == "src" {
                assert!(
                    tag.name == "img" && inline_urls.contains(value.as_str()),
                    "<{} src={value:?}> is not an inline attachment's URL: {out}",
                    tag.name
                );
            }
        }
    }
}

struct Tag {
    name: String,
    /// Lower-case names, values with the serialiser's entities decoded.
    attributes: Vec<(String, String)>,
}

fn scan_tags(html: &str) -> Vec<Tag> {
    let b = html.as_bytes();
    let mut tags = Vec::new();
    let mut i = 0;
    while let Some(p) = html[i..].find('<') {
        i += p + 1;
        if b.get(i) == Some(&b'/') {
            i += 1;
        }
        let name_end = i + b[i..]
            .iter()
            .take_while(|c| !c.is_ascii_whitespace() && !matches!(c, b'>' | b'/'))
            .count();
        let name = html[i..name_end].to_ascii_lowercase();
        i = name_end;
        let mut attributes = Vec::new();
        loop {
            while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
                i += 1;
            }
            if i >= b.len() || b[i] == b'>' {
                break;
            }
            let key_start = i;
            while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'>' | b'/')
            {
                i += 1;
            }
            let key = html[key_start..i].to_ascii_lowercase();
            let mut value = String::new();
            if b.get(i) == Some(&b'=') {
                i += 1;
                if b.get(i) == Some(&b'"') {
                    let end = html[i + 1..].find('"').map_or(b.len(), |e| i + 1 + e);
                    value = decode_entities(&html[i + 1..end]);
                    i = (end + 1).min(b.len());
                } else {
                    // The serialiser always quotes; an unquoted value would be a bug of its
                    // own, read as a browser would.
                    let start = i;
                    while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                        i += 1;
                    }
                    value = decode_entities(&html[start..i]);
                }
            }
            attributes.push((key, value));
        }
        tags.push(Tag { name, attributes });
    }
    tags
}

fn decode_entities(value: &str) -> String {
    value
        .replace("&quot;", "\"")
        .replace("&nbsp;", "\u{A0}")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The scheme a browser would see in a URL attribute: leading and trailing C0 controls and
/// spaces are ignored, and tabs and newlines anywhere; `None` for a relative URL.
fn url_scheme(value: &str) -> Option<String> {
    let url: String = value
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    let colon = url.find(':')?;
    let scheme = &url[..colon];
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then(|| scheme.to_ascii_lowercase())
}

// ---------------------------------------------------------------------------
// The saved cases
// ---------------------------------------------------------------------------

/// How long one case may take. Generous for a linear-time pass over a case of a few hundred
/// kilobytes in an unoptimised build on a busy two-core machine; the slow cases saved here
/// are quadratic and take many times this until fixed.
#[cfg(test)]
const BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

#[test]
fn every_saved_fuzz_case_passes() {
    use std::path::Path;
    use std::sync::mpsc;
    use std::time::Instant;

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_cases");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "bin"))
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases in {}", dir.display());
    let mut failed = Vec::new();
    for path in &cases {
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Each case on a thread of its own, so that one that hangs is reported after the
        // budget instead of hanging the test; such a thread is left to the process's exit.
        // One failing case must not hide the others either.
        let (done, outcome) = mpsc::channel();
        let start = Instant::now();
        std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                let result = std::panic::catch_unwind(|| exercise(&data));
                let _ = done.send(result.is_ok());
            })
            .unwrap_or_else(|e| panic!("{name}: no thread: {e}"));
        match outcome.recv_timeout(BUDGET) {
            Ok(true) => {}
            Ok(false) => failed.push(format!("{name}: panicked (message above)")),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                failed.push(format!("{name}: still running after {:?}", start.elapsed()))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                failed.push(format!("{name}: its thread died"));
            }
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} cases failed:\n{}",
        failed.len(),
        cases.len(),
        failed.join("\n")
    );
}
