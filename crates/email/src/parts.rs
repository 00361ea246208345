//! A mail's parts counted before it is parsed. The parser builds every part it finds, and a
//! mail inside a mail as a structure inside a structure, so a small mail can cost a great
//! deal: sixty thousand tiny parts in 8 MB, or a hundred thousand mails, one inside the
//! next, in 3 MB (enough to overflow the stack when the parser's result is taken down).
//! Counting first, in one pass over the bytes, tells which mails must not be parsed whole.
//!
//! The count is an upper bound on what `mail-parser` makes of the same bytes: after the
//! first, every part it makes starts where a delimiter (`--` and a boundary some
//! `Content-Type` declares) was found — found anywhere, as the parser finds it — or is the
//! first part of a mail inside a mail, which a `Content-Type` naming a `message` type
//! announces (a part of a `multipart/digest` is a mail without saying so: there each
//! delimiter counts twice). Encoded mails inside the mail (base64 or quoted-printable),
//! which the parser decodes and parses three levels deep, are decoded and counted the same
//! way. Boundaries are matched case-insensitively and by their first characters only, which
//! can only count more.
//!
//! Like the rest of the parsing this is pure: bytes in, a number out.

use aho_corasick::AhoCorasick;
use base64::Engine;
use std::sync::LazyLock;

/// How many levels of encoded mails inside mails the parser decodes and parses, and so the
/// count follows.
const ENCODED_LEVELS: usize = 3;

/// How much of a boundary is matched: RFC 2046 allows 70 characters, and matching fewer
/// can only count more.
const BOUNDARY_PREFIX: usize = 70;

/// How much of a header field's value is read for its type or encoding.
const FIELD_VALUE: usize = 1000;

/// The header fields the count looks at, each at the start of a line.
static FIELDS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(["\ncontent-type", "\ncontent-transfer-encoding"])
        .expect("invariant: two fixed patterns build")
});

/// Where a field names a boundary, and where a mail may be a digest.
static WORDS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(["boundary", "digest"])
        .expect("invariant: two fixed patterns build")
});

/// The header fields that matter to the count.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    ContentType,
    TransferEncoding,
}

/// What counting a mail's parts found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Count {
    /// At most how many parts the parser makes of the mail; once past the limit, one more
    /// than the limit.
    pub parts: usize,
    /// Past the limit, where the part that went past it starts: the bytes before it hold at
    /// most the limit's parts, and are safe to parse.
    pub over_at: Option<usize>,
}

/// Counts the parts of the mail `raw`, up to `limit`.
pub(crate) fn count(raw: &[u8], limit: usize) -> Count {
    let mut tally = Tally {
        parts: 1,
        limit,
        // Encoded mails in a mail hold less than the mail; more to decode means bodies that
        // overlap, which only a mail made to cost does (it is kept whole, like one of too
        // many parts).
        to_decode: raw.len(),
    };
    let over_at = tally.count(raw, 0);
    Count {
        parts: tally.parts,
        over_at,
    }
}

/// A count under way.
struct Tally {
    parts: usize,
    limit: usize,
    /// How many more bytes of encoded mails may be decoded.
    to_decode: usize,
}

impl Tally {
    /// Counts `n` more parts; whether that is past the limit.
    fn add(&mut self, n: usize) -> bool {
        self.parts += n;
        self.parts > self.limit
    }

    /// Adds the parts of `bytes` (a mail, or an encoded mail's decoded bytes at `level`);
    /// where in `bytes` the count went past the limit, if it did.
    fn count(&mut self, bytes: &[u8], level: usize) -> Option<usize> {
        let (boundaries, digest) = declared(bytes);
        let delimiters = delimiters(boundaries);
        let per_delimiter = if digest { 2 } else { 1 };
        // The delimiters, merged by place with the fields, so that the count goes past the
        // limit at the right place.
        let mut delimiter_at = delimiters
            .as_ref()
            .map(|d| d.find_overlapping_iter(bytes).map(|m| m.start()))
            .into_iter()
            .flatten()
            .peekable();
        let line_starts = std::iter::once(0)
            .chain(FIELDS.find_iter(bytes).map(|m| m.start() + 1))
            .chain(std::iter::once(bytes.len()));
        // Where the header block of the last encoded part looked at ends: a block says its
        // encoding once.
        let mut looked_at = 0;
        for at in line_starts {
            while let Some(d) = delimiter_at.next_if(|&d| d < at) {
                if self.add(per_delimiter) {
                    return Some(d);
                }
            }
            let Some((field, value)) = field(bytes, at) else {
                continue;
            };
            if field == Field::ContentType {
                if mentions(value, b"message") && self.add(1) {
                    return Some(at);
                }
                continue;
            }
            let base64 = mentions(value, b"base64");
            if !(base64 || mentions(value, b"quoted-printable"))
                || level >= ENCODED_LEVELS
                || at < looked_at
            {
                continue;
            }
            let (start, body) = header_block(bytes, at);
            looked_at = body;
            let is_mail = match block_content_type(&bytes[start..body]) {
                Some(value) => mentions(value, b"message"),
                // Without a type, a part of a digest is a mail.
                None => digest,
            };
            if !is_mail {
                continue;
            }
            let end = delimiters
                .as_ref()
                .and_then(|d| d.find(&bytes[body..]))
                .map_or(bytes.len(), |m| body + m.start());
            let Some(left) = self.to_decode.checked_sub(end - body) else {
                self.parts = self.limit + 1;
                return Some(start);
            };
            self.to_decode = left;
            let decoded = decode(&bytes[body..end], base64);
            if self.count(&decoded, level + 1).is_some() {
                return Some(start);
            }
        }
        None
    }
}

/// The boundaries `bytes` declare (as far as [`BOUNDARY_PREFIX`] and any encoding let them
/// be read: their first characters), and whether it says `digest` anywhere.
fn declared(bytes: &[u8]) -> (Vec<Vec<u8>>, bool) {
    let mut boundaries = Vec::new();
    let mut digest = false;
    for m in WORDS.find_iter(bytes) {
        if m.pattern().as_usize() == 1 {
            digest = true;
            continue;
        }
        if let Some(prefix) = boundary_value(&bytes[m.end()..]) {
            boundaries.push(prefix);
        }
    }
    (boundaries, digest)
}

/// The first characters of a boundary parameter's value, from just after its name:
/// `boundary="x"`, `boundary=x`, and RFC 2231's `boundary*=utf-8''x` and `boundary*0="x"`.
/// `None` when no value follows (the word in prose).
fn boundary_value(rest: &[u8]) -> Option<Vec<u8>> {
    let mut i = skip_blanks(rest, 0);
    let mut extended = false;
    if rest.get(i) == Some(&b'*') {
        i += 1;
        let digits = i;
        while rest.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        // `boundary*=` and `boundary*0*=` are percent-encoded; `boundary*0=` is not.
        if i == digits {
            extended = true;
        } else if rest.get(i) == Some(&b'*') {
            extended = true;
            i += 1;
        }
    }
    i = skip_blanks(rest, i);
    if rest.get(i) != Some(&b'=') {
        return None;
    }
    i = skip_blanks(rest, i + 1);
    let value: &[u8] = if rest.get(i) == Some(&b'"') {
        let inner = &rest[i + 1..];
        let end = inner
            .iter()
            .position(|&b| matches!(b, b'"' | b'\\' | b'\r' | b'\n'))
            .unwrap_or(inner.len());
        &inner[..end]
    } else {
        let token = &rest[i..];
        let end = token
            .iter()
            .position(|&b| b.is_ascii_whitespace() || matches!(b, b';' | b'"' | b'('))
            .unwrap_or(token.len());
        &token[..end]
    };
    let mut value = value;
    if extended {
        // `charset'language'value`, the value percent-encoded.
        if let Some(second) = value
            .iter()
            .enumerate()
            .filter(|(_, &b)| b == b'\'')
            .nth(1)
            .map(|(i, _)| i)
        {
            value = &value[second + 1..];
        }
        value = until(value, |rest| rest.first() == Some(&b'%'));
    }
    // An encoded word, or blanks the parser may read differently: the part before them.
    let value = until(value, |rest| {
        rest.starts_with(b"=?") || rest.first().is_some_and(u8::is_ascii_whitespace)
    });
    Some(value[..value.len().min(BOUNDARY_PREFIX)].to_vec())
}

/// `value` up to where `stop` first holds.
fn until(value: &[u8], stop: impl Fn(&[u8]) -> bool) -> &[u8] {
    let end = (0..value.len())
        .find(|&i| stop(&value[i..]))
        .unwrap_or(value.len());
    &value[..end]
}

fn skip_blanks(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(|b| matches!(b, b' ' | b'\t')) {
        i += 1;
    }
    i
}

/// An automaton finding `--` and any of `boundaries`. Boundaries that begin with another
/// are left out (the shorter finds them all), so at most one matches at any place.
fn delimiters(mut boundaries: Vec<Vec<u8>>) -> Option<AhoCorasick> {
    if boundaries.is_empty() {
        return None;
    }
    boundaries.sort();
    boundaries.dedup();
    let mut kept: Vec<Vec<u8>> = Vec::with_capacity(boundaries.len());
    for b in boundaries {
        if !kept.last().is_some_and(|k| b.starts_with(k)) {
            kept.push(b);
        }
    }
    let patterns = kept.into_iter().map(|b| [b"--".as_slice(), &b].concat());
    // A build fails only past the automaton's size limits, far beyond a mail's worth of
    // boundaries; then every `--` counts.
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(patterns)
        .or_else(|_| AhoCorasick::new(["--"]))
        .ok()
}

/// The field whose line starts at `at`, when it is `Content-Type` or
/// `Content-Transfer-Encoding`: which, and its value (its first [`FIELD_VALUE`] bytes,
/// folded lines included).
fn field(bytes: &[u8], at: usize) -> Option<(Field, &[u8])> {
    let line = bytes.get(at..)?;
    let name_end = line.iter().position(|&b| b == b':' || b == b'\n')?;
    if line[name_end] != b':' {
        return None;
    }
    let field = match line[..name_end].trim_ascii_end() {
        name if name.eq_ignore_ascii_case(b"content-type") => Field::ContentType,
        name if name.eq_ignore_ascii_case(b"content-transfer-encoding") => Field::TransferEncoding,
        _ => return None,
    };
    let value = &line[name_end + 1..];
    let mut end = 0;
    while end < value.len().min(FIELD_VALUE) {
        if value[end] == b'\n' && !matches!(value.get(end + 1), Some(b' ' | b'\t')) {
            break;
        }
        end += 1;
    }
    Some((field, &value[..end]))
}

/// Where the header block holding the line at `at` starts (after a blank line or a
/// delimiter-looking line), and where its part's body starts (after the blank line that
/// ends it).
fn header_block(bytes: &[u8], at: usize) -> (usize, usize) {
    let mut start = at;
    while start > 0 {
        let before = &bytes[..start - 1];
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let line = trim_cr(&before[line_start..]);
        if line.is_empty() || line.starts_with(b"--") {
            break;
        }
        start = line_start;
    }
    let mut line_start = at;
    loop {
        let Some(len) = bytes[line_start..].iter().position(|&b| b == b'\n') else {
            return (start, bytes.len());
        };
        if trim_cr(&bytes[line_start..line_start + len]).is_empty() {
            return (start, line_start + len + 1);
        }
        line_start += len + 1;
    }
}

/// The value of the `Content-Type` field among a header block's lines, if it has one.
fn block_content_type(block: &[u8]) -> Option<&[u8]> {
    let mut at = 0;
    loop {
        if let Some((Field::ContentType, value)) = field(block, at) {
            return Some(value);
        }
        at += block[at..].iter().position(|&b| b == b'\n')? + 1;
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Whether `value` holds `word`, in any case.
fn mentions(value: &[u8], word: &[u8]) -> bool {
    value
        .windows(word.len())
        .any(|w| w.eq_ignore_ascii_case(word))
}

/// An encoded part's body decoded as leniently as the parser does: base64 without what is
/// not base64, quoted-printable robustly.
fn decode(body: &[u8], base64: bool) -> Vec<u8> {
    if base64 {
        let data: Vec<u8> = body
            .iter()
            .copied()
            .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/'))
            .collect();
        let whole = data.len() / 4 * 4;
        base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(&data[..whole])
            .unwrap_or_default()
    } else {
        quoted_printable::decode(body, quoted_printable::ParseMode::Robust).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_are_read_as_far_as_they_are_plain() {
        let value = |s: &str| boundary_value(s.as_bytes()).map(|v| String::from_utf8(v).unwrap());
        assert_eq!(value("=\"b1\"; charset=x").as_deref(), Some("b1"));
        assert_eq!(value(" = b2;x").as_deref(), Some("b2"));
        assert_eq!(value("*=utf-8''ab%20c").as_deref(), Some("ab"));
        assert_eq!(value("*0=\"first\"").as_deref(), Some("first"));
        assert_eq!(value("*0*=utf-8''x%41y").as_deref(), Some("x"));
        assert_eq!(value("=\"=?utf-8?q?b?=\"").as_deref(), Some(""));
        assert_eq!(value(" of the garden"), None);
    }

    #[test]
    fn a_plain_mail_is_one_part_and_a_multipart_one_a_part_per_delimiter() {
        assert_eq!(count(b"From: a@x\r\n\r\nHi -- there\r\n", 10).parts, 1);
        let raw = b"Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\n\r\none\r\n--B\r\n\r\ntwo\r\n--B--\r\n";
        assert_eq!(count(raw, 10).parts, 4);
        let over = count(raw, 2);
        assert_eq!(over.parts, 3);
        let at = over.over_at.unwrap();
        assert!(raw[at..].starts_with(b"--B\r\n\r\ntwo"), "{at}");
    }

    #[test]
    fn delimiters_are_found_by_their_boundaries_beginnings_in_any_case() {
        let raw = b"Content-Type: multipart/mixed; boundary=\"Ab\"\r\nX: boundary=\"Abc\"\r\n\r\n--aB\r\n--abcd\r\n--x\r\n";
        assert_eq!(count(raw, 10).parts, 3);
    }

    #[test]
    fn mails_inside_mails_count_and_digests_count_twice() {
        let nested =
            b"Content-Type: message/rfc822\r\n\r\nContent-Type: MESSAGE/rfc822\r\n\r\nhi\r\n";
        assert_eq!(count(nested, 10).parts, 3);
        let digest = b"Content-Type: multipart/digest; boundary=D\r\n\r\n--D\r\n\r\nSubject: a\r\n\r\n--D--\r\n";
        assert_eq!(count(digest, 10).parts, 5);
    }

    #[test]
    fn encoded_mails_are_decoded_and_counted() {
        let inner = b"Content-Type: multipart/mixed; boundary=I\r\n\r\n--I\r\n\r\na\r\n--I\r\n\r\nb\r\n--I--\r\n";
        let encoded = base64::engine::general_purpose::STANDARD.encode(inner);
        let raw = format!(
            "Content-Type: multipart/mixed; boundary=O\r\n\r\n--O\r\nContent-Transfer-Encoding: base64\r\n\
Content-Type: message/rfc822\r\n\r\n{encoded}\r\n--O--\r\n"
        );
        // The outer root, two delimiters, the inner mail, its three delimiters.
        assert_eq!(count(raw.as_bytes(), 100).parts, 7);
        // An encoded file is not a mail and is not looked into.
        let file = raw.replace("message/rfc822", "application/octet-stream");
        assert_eq!(count(file.as_bytes(), 100).parts, 3);
    }

    #[test]
    fn encoded_bodies_that_overlap_are_past_the_limit() {
        // Each body runs to the end, so decoding them all would cost the square of the size.
        let block = "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n";
        let raw = format!("{block}{block}{}\r\n", "QUFB".repeat(1000));
        let over = count(raw.as_bytes(), 100);
        assert_eq!(over.over_at, Some(block.len()), "{over:?}");
    }
}
