//! Splits the body of a customer's email reply into what the customer just
//! wrote and what merely came along with it: quoted history, forwarded or
//! embedded earlier mails, signatures and "Sent from my iPhone"-style footers.
//!
//! The rules are line-based heuristics shaped by real mail from Gmail, Outlook,
//! Apple Mail, Thunderbird, Yahoo, Hotmail, mobile clients and non-English
//! clients. Wherever a rule is unsure it keeps text visible: hiding a
//! customer's words costs an agent far more than showing an old quote.
//!
//! Everything is linear in the size of the input: each line is looked at a
//! bounded number of times, lines too long to be a header or footer are never
//! run through the header patterns, and the patterns themselves are compiled
//! once and run on the `regex` crate's linear-time engine. HTML is scanned
//! with a small single-pass tag scanner; block nesting is capped before
//! html2text sees it, as its cost grows with the square of the depth.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// What a reply holds: the new text and what was cut from it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reply {
    /// What the sender wrote in this message, trimmed. Never empty when the input had any non-quote text; when the whole message is a quote (nothing new), fall back to the whole text so nothing is hidden.
    pub visible: String,
    /// Everything cut away (quoted history, signature, footers), trimmed; empty when nothing was cut.
    pub quoted: String,
}

/// Splits a plain-text email body (already decoded; `\r\n` or `\n` line ends).
///
/// Top-posted replies keep the text above the quote; bottom-posted replies
/// keep the text below it; inline replies (answers written between pieces of
/// the quote) keep the quoted pieces they answer, with their attribution line,
/// so the answers still make sense.
pub fn split(text: &str) -> Reply {
    let text = normalize_line_ends(text);
    let lines: Vec<&str> = text.split('\n').collect();
    let range = visible_range(&lines, &|_| false);
    assemble(&lines, range, &|line, out| out.push_str(line))
}

/// Readable plain text from an email's HTML body: paragraphs and line breaks kept, links as their text (with the URL when it differs), lists as "- " items, no wrapping of long lines, no markup. Used for HTML-only mail.
pub fn html_to_text(html: &str) -> String {
    let html = prepare_html(html);
    let raw = render_html(&html).unwrap_or_else(|| strip_tags(&html));
    tidy_rendered_text(&raw)
}

/// Like `split`, for an HTML body: removes the quote containers mail clients mark (Gmail's `gmail_quote`, Apple/Thunderbird `blockquote type=cite`, Outlook's `divRplyFwdMsg` / `OLK_SRC_BODY_SECTION` / `appendonsend` / border-top header blocks, Yahoo's `yahoo_quoted`, moz-cite-prefix, …) before converting to text, then applies the text rules.
///
/// Each removed container leaves a placeholder line behind, so the text rules
/// see it as a quote block in its place: a container between two pieces of new
/// text (an inline reply) stays visible, as the container renders itself
/// (a cited blockquote as `> ` lines).
pub fn split_html(html: &str) -> Reply {
    // Placeholders are two private-use characters of the last plane, which no
    // real mail uses; any already in the input become U+FFFD, so that a message
    // cannot forge one (and a message made only of them still shows something).
    let clean: Cow<str> = if html.contains([PLACEHOLDER_OPEN, PLACEHOLDER_CLOSE]) {
        Cow::Owned(
            html.chars()
                .map(|c| match c {
                    PLACEHOLDER_OPEN | PLACEHOLDER_CLOSE => char::REPLACEMENT_CHARACTER,
                    c => c,
                })
                .collect(),
        )
    } else {
        Cow::Borrowed(html)
    };
    let (marked, containers) = replace_quote_containers(&clean);
    let text = html_to_text(&marked);
    let container_texts: Vec<String> = containers.iter().map(|c| html_to_text(c)).collect();
    let lines: Vec<&str> = text.split('\n').collect();
    let range = visible_range(&lines, &|line| line.contains(PLACEHOLDER_OPEN));
    assemble(&lines, range, &|line, out| {
        expand_placeholders(line, &container_texts, out)
    })
}

// ---------------------------------------------------------------------------
// Assembling the result
// ---------------------------------------------------------------------------

/// Writes one line of the analysed text into the output.
type LineWriter<'w> = dyn Fn(&str, &mut String) + 'w;

fn assemble(lines: &[&str], range: Option<(usize, usize)>, write: &LineWriter) -> Reply {
    if let Some((start, end)) = range {
        let visible = join_lines(lines[start..end].iter(), write);
        if !visible.is_empty() {
            let hidden = lines[..start].iter().chain(lines[end..].iter());
            return Reply {
                visible,
                quoted: join_lines(hidden, write),
            };
        }
    }
    // Nothing new was found: show everything rather than hide the message.
    Reply {
        visible: join_lines(lines.iter(), write),
        quoted: String::new(),
    }
}

fn join_lines<'a>(lines: impl Iterator<Item = &'a &'a str>, write: &LineWriter) -> String {
    let mut out = String::new();
    for (n, line) in lines.enumerate() {
        if n > 0 {
            out.push('\n');
        }
        write(line, &mut out);
    }
    let trimmed = out.trim();
    if trimmed.len() == out.len() {
        out
    } else {
        trimmed.to_string()
    }
}

fn normalize_line_ends(text: &str) -> Cow<'_, str> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    if text.contains('\r') {
        Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(text)
    }
}

// ---------------------------------------------------------------------------
// Line classification
// ---------------------------------------------------------------------------

/// Lines longer than this are never headers, separators or footers; skipping
/// them keeps the pattern work bounded on pathological input.
const MAX_MARKER_LINE: usize = 1000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Blank,
    Text,
    Quote,
}

#[derive(Clone, Copy, Debug)]
struct LineInfo {
    kind: Kind,
    /// Inside a fenced code block: never a quote, header or signature.
    code: bool,
    /// Part of an attribution ("On … wrote:") or of a client-marked quote
    /// container, i.e. history the mail client inserted on its own.
    attributed: bool,
}

/// Returns the `[start, end)` line range the customer wrote, or `None` when
/// there is no new text at all.
fn visible_range(lines: &[&str], forced_quote: &dyn Fn(&str) -> bool) -> Option<(usize, usize)> {
    let mut infos = classify(lines, forced_quote);
    mark_lazy_continuations(lines, &mut infos);
    let history = history_start(lines, &mut infos);
    let cut = signature_start(lines, &infos, history).unwrap_or(history);
    reply_range(lines, &infos, cut)
}

fn classify(lines: &[&str], forced_quote: &dyn Fn(&str) -> bool) -> Vec<LineInfo> {
    // Only fences that are closed count, so a stray ``` cannot shield the
    // quoted history below it from being recognised.
    let fences: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("```"))
        .map(|(i, _)| i)
        .collect();
    let mut code = vec![false; lines.len()];
    for pair in fences.chunks_exact(2) {
        for flag in &mut code[pair[0]..=pair[1]] {
            *flag = true;
        }
    }
    lines
        .iter()
        .zip(code)
        .map(|(line, code)| {
            let (kind, attributed) = if is_blank(line) {
                (Kind::Blank, false)
            } else if forced_quote(line) {
                (Kind::Quote, true)
            } else if !code && is_quote_line(line) {
                (Kind::Quote, false)
            } else {
                (Kind::Text, false)
            };
            LineInfo {
                kind,
                code,
                attributed,
            }
        })
        .collect()
}

fn is_blank(line: &str) -> bool {
    line.chars().all(|c| {
        c.is_whitespace() || matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
    })
}

/// `> text`, or the supercite form `RC> text` some older clients use.
fn is_quote_line(line: &str) -> bool {
    let t = line.trim_start_matches([' ', '\t']);
    if t.starts_with('>') {
        return true;
    }
    for (count, (i, c)) in t.char_indices().enumerate() {
        if c == '>' {
            let rest = &t[i + 1..];
            return count > 0 && (rest.is_empty() || rest.starts_with([' ', '>']));
        }
        if !c.is_alphabetic() || count >= 10 {
            return false;
        }
    }
    false
}

fn quote_body(line: &str) -> &str {
    line.trim_start().trim_start_matches(['>', ' ', '\t'])
}

/// A long quoted line that the sender's client re-wrapped loses its `>` on
/// the wrapped remainder ("> … pharetra d" / "ignissim odio?" / "> …").
/// Such a remainder, squeezed between quote lines and starting in lower case
/// mid-sentence, belongs to the quote and is not an inline answer.
fn mark_lazy_continuations(lines: &[&str], infos: &mut [LineInfo]) {
    for i in 1..lines.len().saturating_sub(1) {
        let info = infos[i];
        if info.kind != Kind::Text
            || info.code
            || infos[i - 1].kind != Kind::Quote
            || infos[i + 1].kind != Kind::Quote
        {
            continue;
        }
        let line = lines[i].trim();
        let starts_lower = line.chars().next().is_some_and(char::is_lowercase);
        let wrapped = quote_body(lines[i - 1]).chars().take(50).count() >= 50;
        if starts_lower && wrapped && !line.ends_with(':') {
            infos[i].kind = Kind::Quote;
        }
    }
}

// ---------------------------------------------------------------------------
// Where the history starts
// ---------------------------------------------------------------------------

/// Finds the first line from which everything is history: an "Original
/// Message" or forward separator, an Outlook-style header block, or an
/// attribution line followed by unquoted text. Attribution lines followed by a
/// `>` quote are marked as part of that quote instead, since the reply may go
/// on below it.
fn history_start(lines: &[&str], infos: &mut [LineInfo]) -> usize {
    let n = lines.len();
    // Each header line is looked at by every block start above it within
    // reach, so its field is worked out once.
    let keys: Vec<u8> = lines
        .iter()
        .zip(infos.iter())
        .map(|(line, info)| {
            let eligible = info.kind == Kind::Text && !info.code && line.len() <= MAX_MARKER_LINE;
            if eligible {
                header_key(line)
            } else {
                0
            }
        })
        .collect();
    let mut i = 0;
    while i < n {
        let info = infos[i];
        if info.kind != Kind::Text || info.code || lines[i].len() > MAX_MARKER_LINE {
            i += 1;
            continue;
        }
        let line = lines[i];
        if is_separator(line) || is_header_block(&keys, infos, i) {
            return include_rule_above(lines, infos, i);
        }
        if let Some(end) = attribution_span(lines, infos, i) {
            let next = (end..n).find(|&j| infos[j].kind != Kind::Blank);
            if next.is_some_and(|j| infos[j].kind == Kind::Quote) {
                for info in &mut infos[i..end] {
                    info.kind = Kind::Quote;
                    info.attributed = true;
                }
                i = end;
                continue;
            }
            return include_rule_above(lines, infos, i);
        }
        i += 1;
    }
    n
}

/// Outlook and others draw a rule ("____…", "-----…") just above the header
/// of the previous mail; it belongs to the history, not to the reply.
fn include_rule_above(lines: &[&str], infos: &[LineInfo], start: usize) -> usize {
    let mut j = start;
    while j > 0 && start - j < 3 && infos[j - 1].kind == Kind::Blank {
        j -= 1;
    }
    if j > 0 && infos[j - 1].kind == Kind::Text && !infos[j - 1].code && is_rule(lines[j - 1]) {
        j - 1
    } else {
        start
    }
}

fn is_rule(line: &str) -> bool {
    let t = line.trim();
    t.len() >= 2
        && t.len() <= MAX_MARKER_LINE
        && t.chars()
            .all(|c| matches!(c, '-' | '_' | '=' | '*' | '~' | '─'))
}

static SEPARATOR: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?i)^[\s*_]*(?:-{2,}[\s*_]*(?:original message|original-nachricht|ursprüngliche nachricht|message d'origine|message original|mensaje original|mensagem original|messaggio originale|oorspronkelijk bericht|origineel bericht|originalmeddelande|oprindelig meddelelse|opprinnelig melding|alkuperäinen viesti|wiadomość oryginalna|oryginalna wiadomość|исходное сообщение|оригинальное сообщение|původní zpráva|pôvodná správa|eredeti üzenet|orijinal mesaj|原始邮件|原始郵件|元のメッセージ|forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado|mensagem encaminhada|messaggio inoltrato|doorgestuurd bericht|vidarebefordrat meddelande|videresendt meddelelse|videresendt melding|välitetty viesti|przekazana wiadomość|wiadomość przekazana dalej|пересылаемое сообщение|пересланное сообщение|přeposlaná zpráva|转发的邮件|轉寄的郵件|転送されたメッセージ)[\s*_]*-{2,}|(?:begin forwarded message|anfang der weitergeleiteten nachricht|début du message réexpédié|début du message transféré|inicio del mensaje reenviado|comienzo del mensaje reenviado|inizio messaggio inoltrato|begin doorgestuurd bericht|início da mensagem reencaminhada|vidarebefordrat brev|videresendt besked|välitetty viesti alkaa)\s*[:：])[\s*_]*$",
    )
});

fn is_separator(line: &str) -> bool {
    // Every separator has a dash run or ends in a colon; checking that first
    // keeps the big pattern off ordinary lines.
    line.len() <= 200
        && (line.contains("--") || line.trim_end().ends_with([':', '：']))
        && SEPARATOR.is_match(line)
}

// --- Outlook-style header blocks ("From: … Sent: … To: … Subject: …") ------

const KEY_FROM: u8 = 1;
const KEY_SENT: u8 = 2;
const KEY_TO: u8 = 4;
const KEY_CC: u8 = 8;
const KEY_SUBJECT: u8 = 16;
const KEY_REPLY_TO: u8 = 32;

/// Header field names as mail clients localise them, by field.
const HEADER_FIELDS: &[(u8, &str)] = &[
    (KEY_FROM, "from|von|de|van|från|fra|od|от|da|від|发件人|發件人|寄件者|寄件人|差出人|lähettäjä|kimden|feladó|afzender|remetente|mittente|nadawca|odesílatel|보낸 사람"),
    (KEY_SENT, "sent|date|gesendet|datum|envoyé|envoyé le|date d'envoi|enviado|enviado el|enviada|fecha|verzonden|verzonden op|verstuurd|skickat|sendt|dato|wysłano|wysłane|data|отправлено|дата|inviato|发送时间|發送時間|日期|時間|傳送時間|送信日時|日付|lähetetty|päivämäärä|gönderildi|gönderilme tarihi|tarih|elküldve|dátum|odesláno|надіслано|보낸 날짜"),
    (KEY_TO, "to|an|à|a|para|aan|till|til|do|кому|收件人|收件者|宛先|vastaanottaja|kime|címzett|komu|받는 사람"),
    (KEY_CC, "cc|kopie|kopia|копия|抄送|副本|kopio|bilgi|másolat"),
    (KEY_SUBJECT, "subject|betreff|objet|asunto|assunto|onderwerp|ämne|emne|temat|тема|oggetto|主题|主旨|件名|aihe|konu|tárgy|předmět|제목"),
    (KEY_REPLY_TO, "reply-to|antwort an|répondre à"),
];

static HEADER_KEY: LazyLock<Regex> = LazyLock::new(|| {
    let names: Vec<String> = HEADER_FIELDS
        .iter()
        .flat_map(|(_, names)| names.split('|'))
        .map(regex::escape)
        .collect();
    compile(&format!(r"(?i)^[\s*_]*(?:{})[\s*_]*[:：]", names.join("|")))
});

/// The field a header line names (one of the `KEY_*` bits, 0 for none). A
/// "Sent:"/"Date:" line only counts when it holds a date, which prose like
/// "Date: to be confirmed" does not.
fn header_key(line: &str) -> u8 {
    // Field names are short, so the colon comes early (a cheap first test).
    if !line.chars().take(40).any(|c| c == ':' || c == '：') {
        return 0;
    }
    let Some(found) = HEADER_KEY.find(line) else {
        return 0;
    };
    let name = found
        .as_str()
        .trim_matches(|c: char| c.is_whitespace() || matches!(c, '*' | '_' | ':' | '：'))
        .to_lowercase();
    let key = HEADER_FIELDS
        .iter()
        .find(|(_, names)| names.split('|').any(|n| n == name))
        .map_or(0, |(key, _)| *key);
    if key == KEY_SENT && !line.bytes().any(|b| b.is_ascii_digit()) {
        return 0;
    }
    key
}

/// A run of header lines naming the sender, the date and at least one other
/// field. One "From:" or "Date:" line alone is too common in prose to cut on.
fn is_header_block(keys: &[u8], infos: &[LineInfo], start: usize) -> bool {
    if keys[start] == 0 {
        return false;
    }
    let complete =
        |seen: u8| seen & (KEY_FROM | KEY_SENT) == KEY_FROM | KEY_SENT && seen.count_ones() >= 3;
    let mut seen = keys[start];
    let mut unkeyed = 0;
    let mut blanks = 0;
    for j in start + 1..keys.len().min(start + 14) {
        match infos[j].kind {
            Kind::Blank => {
                blanks += 1;
                if blanks > 1 {
                    break;
                }
                continue;
            }
            Kind::Quote => break,
            Kind::Text => blanks = 0,
        }
        match keys[j] {
            0 => {
                // Wrapped values ("On Behalf Of …", long recipient lists).
                unkeyed += 1;
                if unkeyed > 2 {
                    break;
                }
            }
            key => {
                seen |= key;
                unkeyed = 0;
                if complete(seen) {
                    return true;
                }
            }
        }
    }
    complete(seen)
}

// --- Attribution lines ("On <date>, <name> wrote:") --------------------------

/// The verbs clients put in attribution lines, in many languages.
const ATTRIBUTION_VERBS: &str = r"\b(?:wrote|writes|schrieb|schreibt|écrit|escribió|escribio|escreveu|scritto|scrisse|schreef|geschreven|skrev|skriver|kirjoitti|napisał|napisała|napisal|napisala|napsal|napsala|napísal|napísala|написал|написала|написав|пише|писал|yazdı|írta|έγραψε)|写道|寫道|書きました|작성";

static ATTRIBUTION_VERB: LazyLock<Regex> =
    LazyLock::new(|| compile(&format!("(?i)(?:{ATTRIBUTION_VERBS})")));

static ENDS_WITH_VERB: LazyLock<Regex> =
    LazyLock::new(|| compile(&format!(r"(?i)(?:{ATTRIBUTION_VERBS})\s*$")));

/// Words attribution lines open with ("On", "Am", "Le", "El", "Il", "Op", …).
static LEAD_IN: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"(?i)^(?:on|am|le|el|il|op|den|em|dne|dňa|w dniu|στις|pada|vào|в|у|在|於)\s")
});

/// "Thu, 26 Jun …", "tir. 18. apr. …", "30 серп. …", "02.04.2012 …", "2013/7/20 …".
static STARTS_WITH_DATE: LazyLock<Regex> =
    LazyLock::new(|| compile(r"^(?:\p{L}{2,12}\.?,?\s+)?\d{1,4}(?:[./\-年]|\s*\p{L})"));

static STARTS_WITH_ISO_DATE: LazyLock<Regex> =
    LazyLock::new(|| compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\b"));

static HAS_TIME: LazyLock<Regex> = LazyLock::new(|| compile(r"\b\d{1,2}[:.]\d{2}\b"));

static HAS_YEAR: LazyLock<Regex> = LazyLock::new(|| compile(r"\b(?:19|20)\d{2}\b"));

/// Gmail's older numeric form: "2016-03-03 17:21 GMT+01:00 Some One <…>:".
static GMAIL_NUMERIC: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"^\d{4}-\d{1,2}-\d{1,2}\s+\d{1,2}:\d{2}\s+GMT[+-]\d{1,2}:?\d{2}\s+\S")
});

/// Whether `text` (one line, or several lines joined with spaces) is a whole
/// attribution line. Besides the verb it needs evidence of a date or an
/// address, so that "my colleague wrote:" in prose does not count.
fn is_attribution(text: &str) -> bool {
    let (core, wrapped) = unwrap_attribution(text);
    if core.is_empty() || core.len() > 400 {
        return false;
    }
    let colon = core.ends_with([':', '：']);
    let has_address = core.contains('@');
    let date_first = STARTS_WITH_DATE.is_match(core);
    let has_time = HAS_TIME.is_match(core);
    if ATTRIBUTION_VERB.is_match(core) {
        let evidence = has_address
            || has_time
            || date_first
            || HAS_YEAR.is_match(core)
            || (LEAD_IN.is_match(core) && core.bytes().any(|b| b.is_ascii_digit()));
        if evidence && (colon || (wrapped && ENDS_WITH_VERB.is_match(core))) {
            return true;
        }
    }
    // Forms without a verb: mail.ru "Thu, 26 Jun 2014 14:00:51 +0400 от Name
    // <a@b>:" and Gmail's "2013/7/20 Name <a@b>". Both end on the bracketed
    // address, which a sentence mentioning an address and a time does not.
    let ends_with_address =
        has_address && core.trim_end_matches([':', '：']).trim_end().ends_with('>');
    (ends_with_address && colon && (date_first || has_time))
        || (ends_with_address && STARTS_WITH_ISO_DATE.is_match(core))
        || GMAIL_NUMERIC.is_match(core)
}

/// Strips bold markers and Zoho's "---- On … wrote ----" dashes; the flag
/// tells whether dashes were stripped (that form has no trailing colon).
fn unwrap_attribution(text: &str) -> (&str, bool) {
    let t = text.trim().trim_matches('*').trim();
    if t.starts_with("--") && t.ends_with("--") {
        let inner = t.trim_matches('-').trim();
        if !inner.is_empty() {
            return (inner, true);
        }
    }
    (t, false)
}

/// "weeks." or "right?" end a sentence; "Fr., 28." and "Aug." do not.
fn ends_sentence(line: &str) -> bool {
    let t = line.trim_end();
    if t.ends_with(['?', '!', '…']) || t.ends_with("...") {
        return true;
    }
    match t.strip_suffix('.') {
        Some(rest) => {
            rest.chars()
                .rev()
                .take_while(|c| c.is_alphabetic())
                .take(4)
                .count()
                >= 4
        }
        None => false,
    }
}

/// If an attribution starts at line `i`, returns the end (exclusive) of its
/// lines. Clients wrap long attributions over two to four lines, sometimes
/// with a blank line or a stray `>` inside.
fn attribution_span(lines: &[&str], infos: &[LineInfo], i: usize) -> Option<usize> {
    let first = lines[i].trim();
    if first.len() > 300 || !first.bytes().any(|b| b.is_ascii_digit() || b == b'@') {
        return None;
    }
    let n = lines.len();
    if is_attribution(first) {
        // "2016-10-24 15:36 GMT+02:00 Foo bar <" may still go on with
        // "info@foo.bar>:" on the next line.
        if i + 1 < n && infos[i + 1].kind != Kind::Blank && !infos[i + 1].code {
            let next = lines[i + 1].trim();
            if next.len() <= 80
                && next.ends_with([':', '：'])
                && is_attribution(&format!("{first} {next}"))
            {
                return Some(i + 2);
            }
        }
        return Some(i + 1);
    }
    // A wrapped attribution starts like one: "On …", a date, or a name with
    // its address ("Max <max@example.com> schrieb am …").
    let strong_start = |line: &str| LEAD_IN.is_match(line) || STARTS_WITH_DATE.is_match(line);
    let first_strong = strong_start(first);
    if !(first_strong || first.contains('<')) || ends_sentence(first) {
        return None;
    }
    let mut later_strong: Option<usize> = None;
    let mut joined = first.to_string();
    let mut nonblank = 1;
    let mut blanks = 0;
    for j in i + 1..n.min(i + 6) {
        let info = infos[j];
        if info.code {
            break;
        }
        if info.kind == Kind::Blank {
            blanks += 1;
            if blanks > 1 {
                break;
            }
            continue;
        }
        let line = lines[j].trim();
        if line.len() > 120 || (info.kind == Kind::Quote && quote_body(line).chars().count() > 30) {
            break;
        }
        joined.push(' ');
        joined.push_str(line);
        nonblank += 1;
        if later_strong.is_none() && !first_strong && strong_start(line) {
            later_strong = Some(j);
        }
        if is_attribution(&joined) {
            // The customer's last line may run straight into an attribution
            // ("… <3" / "On 5 May, … wrote:"); then it starts further down.
            let starts_later =
                later_strong.is_some_and(|k| attribution_span(lines, infos, k).is_some());
            return (!starts_later).then_some(j + 1);
        }
        if nonblank >= 4 || ends_sentence(line) {
            break;
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Signatures and footers
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SigMarker {
    /// "-- " (RFC 3676) or "--".
    Dashes,
    /// "____…" (mailing-list footers, Outlook) or Gmail's "ᐧ" tracking mark.
    Rule,
    /// "-Name" closing a message.
    DashName,
    /// "Sent from my iPhone", "Get Outlook for iOS", …
    Footer,
}

static DASH_NAME: LazyLock<Regex> =
    LazyLock::new(|| compile(r"^-\p{Lu}[\p{L}.'’]*(?:\s+\p{Lu}[\p{L}.'’-]*){0,2}\s*$"));

/// One-line footers mobile and desktop clients append. The product part is
/// a few words at most, so a sentence that merely starts with "Sent from my"
/// ("Sent from my desk, is much easier …") does not match.
static MOBILE_FOOTER: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?i)^(?:(?:sent|envoyé|enviado|inviato|verzonden|verstuurd|skickat|sendt|gesendet|lähetetty|wysłane|odesláno|gönderildi|отправлено|надіслано)\s+(?:from|via|with|using|on|de|depuis|desde|da|vanaf|met|från|fra|von|mit|z|ze|с|з|iz)\s+(?:(?:my|mon|ma|mi|meu|il mio|mijn|min|mitt|meinem|moim|мого|моего|моєї)\s+)?[\p{L}\p{N}][\p{L}\p{N}\p{S}'’&().\-]*(?:\s+[\p{L}\p{N}\p{S}'’&().\-]+){0,5}|von\s+meinem\s+\S+(?:\s+\S+){0,2}\s+gesendet|get\s+outlook\s+for\s+\S+|发自我的\s*\S+|从我的\s*\S+\s*发送|\S+\s*から送信)\s*(?:<[^<>\s]*>)?(?:\s*[,;–—-]\s*(?:please\s+)?(?:excuse|pardon|sorry)[^<>]{0,60})?\s*$",
    )
});

/// Cheap first test for `MOBILE_FOOTER`: a short line opening with one of
/// its words, or one of the CJK forms.
fn could_be_footer(line: &str) -> bool {
    const OPENERS: &str = "sent|envoyé|enviado|inviato|verzonden|verstuurd|skickat|sendt|gesendet|lähetetty|wysłane|odesláno|gönderildi|отправлено|надіслано|von|get";
    if line.split_whitespace().nth(16).is_some() {
        return false;
    }
    let first = line.split_whitespace().next().unwrap_or("").to_lowercase();
    OPENERS.split('|').any(|w| w == first)
        || line.contains(['发', '从'])
        || line.contains("から送信")
}

fn sig_marker(line: &str) -> Option<SigMarker> {
    if line.len() > 200 {
        return None;
    }
    let t = line.trim_end();
    if t == "--" {
        return Some(SigMarker::Dashes);
    }
    let t = t.trim_start();
    if !t.is_empty() && (t.len() >= 2 && t.chars().all(|c| c == '_') || t.chars().all(|c| c == 'ᐧ'))
    {
        return Some(SigMarker::Rule);
    }
    if t.starts_with('-') && DASH_NAME.is_match(t) {
        return Some(SigMarker::DashName);
    }
    if could_be_footer(t) && MOBILE_FOOTER.is_match(t) {
        return Some(SigMarker::Footer);
    }
    None
}

/// Finds where a signature or footer starts before `cut`. A marker only
/// counts when little new text follows it, so a rule or dash line in the
/// middle of a message does not hide what comes after it.
fn signature_start(lines: &[&str], infos: &[LineInfo], cut: usize) -> Option<usize> {
    let markers: Vec<Option<SigMarker>> = (0..cut)
        .map(|i| match infos[i] {
            LineInfo {
                kind: Kind::Text,
                code: false,
                ..
            } => sig_marker(lines[i]),
            _ => None,
        })
        .collect();
    // substantive[i]: text lines in [i, cut) that are not markers themselves;
    // questions[i]: those of them asking something, which signatures never do.
    let mut substantive = vec![0usize; cut + 1];
    let mut questions = vec![0usize; cut + 1];
    for i in (0..cut).rev() {
        let counts = infos[i].kind == Kind::Text && markers[i].is_none();
        substantive[i] = substantive[i + 1] + usize::from(counts);
        let asks = counts && lines[i].trim_end().ends_with(['?', '？']);
        questions[i] = questions[i + 1] + usize::from(asks);
    }
    let mut seen_text = false;
    for i in 0..cut {
        if infos[i].kind != Kind::Text {
            continue;
        }
        if let (Some(marker), true) = (markers[i], seen_text) {
            let after_blank = infos[i - 1].kind == Kind::Blank;
            let accepted = match marker {
                SigMarker::Dashes => substantive[i + 1] <= 20 && questions[i + 1] == 0,
                SigMarker::Rule => after_blank && substantive[i + 1] <= 15 && questions[i + 1] == 0,
                SigMarker::DashName => after_blank && next_text_is_rule_or_none(infos, &markers, i),
                SigMarker::Footer => substantive[i + 1] == 0,
            };
            if accepted {
                return Some(i);
            }
        }
        seen_text = true;
    }
    None
}

fn next_text_is_rule_or_none(infos: &[LineInfo], markers: &[Option<SigMarker>], i: usize) -> bool {
    match (i + 1..markers.len()).find(|&j| infos[j].kind == Kind::Text) {
        None => true,
        Some(j) => matches!(markers[j], Some(SigMarker::Dashes | SigMarker::Rule)),
    }
}

// ---------------------------------------------------------------------------
// Top-, bottom- and inline-posting
// ---------------------------------------------------------------------------

#[derive(Debug)]
struct Block {
    quote: bool,
    start: usize,
    end: usize,
    nonblank: usize,
    attributed: bool,
}

static GREETING: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?i)^(?:hi|hello|hey|dear|hallo|hola|bonjour|salut|ciao|hej|hoi|olá|ola|привет|здравствуйте|good\s+(?:morning|afternoon|evening))\b",
    )
});

/// Decides which part of `[0, cut)` is the reply, from the alternation of
/// text blocks and quote blocks.
fn reply_range(lines: &[&str], infos: &[LineInfo], cut: usize) -> Option<(usize, usize)> {
    let mut blocks: Vec<Block> = Vec::new();
    for (i, info) in infos[..cut].iter().enumerate() {
        if info.kind == Kind::Blank {
            continue;
        }
        let quote = info.kind == Kind::Quote;
        match blocks.last_mut() {
            Some(block) if block.quote == quote => {
                block.end = i + 1;
                block.nonblank += 1;
                block.attributed |= info.attributed;
            }
            _ => blocks.push(Block {
                quote,
                start: i,
                end: i + 1,
                nonblank: 1,
                attributed: info.attributed,
            }),
        }
    }
    let texts: Vec<usize> = (0..blocks.len()).filter(|&b| !blocks[b].quote).collect();
    let (&first, &last) = (texts.first()?, texts.last()?);

    // A quote above the reply is history when the client put it there (it
    // carries an attribution) and the reply is one bottom-posted block. In an
    // inline reply the first answer needs it, and a quote without attribution
    // is a snippet the customer chose to quote.
    let start = if first > 0 && !(blocks[0].attributed && texts.len() == 1) {
        blocks[0].start
    } else {
        blocks[first].start
    };

    // Top-posted reply, attributed quote, then a few trailing lines and
    // nothing else: those lines are nearly always the quoted mail's signature
    // or a footer that lost its `>` — unless the reply above is only a
    // greeting, in which case the text below the quote is the answer.
    let mut end_block = last;
    if blocks.len() == 3
        && first == 0
        && blocks[1].attributed
        && blocks[2].nonblank <= 4
        && !is_greeting(lines, &blocks[0])
    {
        end_block = first;
    }
    Some((start, blocks[end_block].end))
}

fn is_greeting(lines: &[&str], block: &Block) -> bool {
    if block.nonblank != 1 {
        return false;
    }
    let line = lines[block.start].trim();
    line.chars().count() <= 40 && (line.ends_with(',') || GREETING.is_match(line))
}

/// The patterns are constants: a broken one is a bug that the first test
/// run catches, not something input can trigger.
pub(super) fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).expect("built-in pattern compiles")
}

mod html;

pub(crate) use html::flatten;
#[cfg(test)]
mod tests;

use html::{
    expand_placeholders, prepare_html, render_html, replace_quote_containers, strip_tags,
    tidy_rendered_text, PLACEHOLDER_CLOSE, PLACEHOLDER_OPEN,
};
