/*
 * Concierge live chat widget. A shop adds one tag to its pages:
 *   <script src="https://desk.example/widget.js" data-title="Acme support" async></script>
 * and this renders a chat talking to the server the script came from (README, "Live chat").
 * Everything lives in a shadow root so the shop's CSS and ours never meet.
 */
(function () {
  "use strict";

  // Only set during this first synchronous run (async scripts included): capture it now.
  const script = document.currentScript;
  if (!script || !script.src || window.ConciergeWidget) return;

  const BASE = new URL(script.src).origin;
  const WS_BASE = BASE.replace(/^http/, "ws"); // http → ws, https → wss
  const SESSIONS = "/api/widget/v1/sessions";
  const MESSAGES = "/api/widget/v1/messages";
  const TEAM = "/api/widget/v1/team";
  const EMAIL = "/api/widget/v1/email";
  const TRANSCRIPT = "/api/widget/v1/transcript";
  const FILES = "/api/widget/v1/files";
  const FILE_TYPES = "image/png,image/jpeg,image/gif,image/webp,application/pdf";
  const MAX_FILE_BYTES = 10 * 1024 * 1024;
  const KEY = "concierge.widget.v1";
  const OPEN_KEY = "concierge.widget.v1.open";
  const SOUND_KEY = "concierge.widget.v1.sound";
  const HANDOVER_TEXT = "I'd like to talk to a person, please.";
  const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
  const SENDERS = ["customer", "bot", "agent", "system"];
  const MAX_BACKOFF = 30000;

  const data = script.dataset;
  const TITLE = data.title || "Chat with us";
  const identity = data.identityEmail && data.identitySignature
    ? { email: data.identityEmail, signature: data.identitySignature }
    : null;
  // A vouched-for customer's email is already known: never ask for it again.
  const PRECHAT = (data.prechat || "").split(",").map((f) => f.trim().toLowerCase())
    .filter((f, i, all) => (f === "name" || (f === "email" && !identity)) && all.indexOf(f) === i);
  const PRECHAT_REQUIRED = data.prechatRequired === "true";
  // An invalid colour in a custom property would silently make every accent transparent.
  const ACCENT = data.color && window.CSS && CSS.supports("color", data.color) ? data.color : "#2f5bea";

  const CSS_TEXT = `
:host { all: initial !important; }
.root { all: initial; font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  font-size: 14px; line-height: 1.45; color: #1f2328; }
.root *, .root *::before, .root *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
button, input, textarea { font: inherit; color: inherit; margin: 0; }
button { cursor: pointer; }
:focus-visible { outline: 2px solid var(--cw-accent); outline-offset: 2px; }
.header :focus-visible { outline-color: #fff; outline-offset: -3px; }
.launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; width: 56px; height: 56px;
  padding: 0; border: 0; border-radius: 50%; background: var(--cw-accent); color: #fff;
  display: flex; align-items: center; justify-content: center; box-shadow: 0 4px 14px rgba(0,0,0,.25); }
.launcher svg { width: 26px; height: 26px; fill: currentColor; }
.badge { position: fixed; right: 14px; bottom: 62px; z-index: 2147483001; min-width: 20px; height: 20px;
  padding: 0 6px; border-radius: 10px; background: #d1242f; color: #fff; font-size: 12px; font-weight: 600;
  line-height: 20px; text-align: center; pointer-events: none; }
.panel { position: fixed; right: 20px; bottom: 88px; z-index: 2147483002; width: 370px;
  max-width: calc(100vw - 40px); height: 560px; max-height: calc(100vh - 108px); display: flex;
  flex-direction: column; overflow: hidden; background: #fff; border-radius: 12px;
  box-shadow: 0 12px 40px rgba(0,0,0,.25); }
.header { display: flex; align-items: center; justify-content: space-between; gap: 8px; padding: 10px 10px 10px 16px;
  background: var(--cw-accent); color: #fff; }
.title { font-size: 15px; font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.close { width: 34px; height: 34px; padding: 0; border: 0; border-radius: 6px; background: transparent;
  color: #fff; font-size: 22px; line-height: 1; flex: none; }
.close:hover { background: rgba(255,255,255,.18); }
.header-buttons { display: flex; align-items: center; gap: 2px; flex: none; }
.sound { width: 34px; height: 34px; padding: 0; border: 0; border-radius: 6px; background: transparent;
  color: #fff; font-size: 16px; line-height: 1; opacity: .55; }
.sound[aria-pressed="true"] { opacity: 1; }
.sound:hover { background: rgba(255,255,255,.18); }
.messages { flex: 1; overflow-y: auto; overscroll-behavior: contain; padding: 12px; display: flex;
  flex-direction: column; gap: 8px; background: #f6f7f9; }
.intro { margin: 0 0 4px; color: #57606a; font-size: 13px; text-align: center; }
.msg { max-width: 80%; padding: 8px 11px; border-radius: 14px; overflow-wrap: anywhere; }
.msg .body { white-space: pre-wrap; }
.msg .body a { color: inherit; text-decoration: underline; }
.msg .label { display: block; margin-bottom: 2px; color: #57606a; font-size: 11px; font-weight: 600; }
.msg[data-sender="customer"] { align-self: flex-end; background: var(--cw-accent); color: #fff; border-bottom-right-radius: 4px; }
.msg[data-sender="bot"], .msg[data-sender="agent"] { align-self: flex-start; background: #fff;
  border: 1px solid #e1e4e8; border-bottom-left-radius: 4px; }
.msg[data-sender="system"] { align-self: center; max-width: 90%; padding: 2px 8px; color: #57606a;
  font-size: 12px; text-align: center; }
.msg.pending { opacity: .6; }
.msg.failed { background: #fff; color: #1f2328; border: 1px solid #d1242f; }
.state { display: flex; align-items: center; gap: 8px; margin-top: 4px; color: #d1242f; font-size: 12px; }
.retry { padding: 2px 8px; border: 1px solid #d1242f; border-radius: 6px; background: #fff; color: #d1242f; font-size: 12px; }
.typing { padding: 4px 16px; background: #f6f7f9; color: #57606a; font-size: 12px; font-style: italic; }
.composer { display: flex; flex-direction: column; gap: 6px; padding: 8px 10px 10px; border-top: 1px solid #e1e4e8; background: #fff; }
.suggestions-box p { margin: 0 0 4px; color: #57606a; font-size: 12px; }
.suggestions { margin: 0; padding: 0; list-style: none; display: flex; flex-direction: column; gap: 4px; }
.suggestion { display: block; padding: 6px 8px; border: 1px solid #e1e4e8; border-radius: 8px; color: inherit; text-decoration: none; }
.suggestion:hover { border-color: var(--cw-accent); }
.suggestion-title { display: block; color: var(--cw-accent); font-weight: 600; }
.suggestion-summary { display: block; color: #57606a; font-size: 12px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.handover { align-self: flex-start; padding: 3px 10px; border: 1px solid var(--cw-accent); border-radius: 14px;
  background: #fff; color: var(--cw-accent); font-size: 12px; }
.row { display: flex; align-items: flex-end; gap: 8px; }
.input { flex: 1; min-height: 38px; max-height: 120px; padding: 8px 10px; resize: none; border: 1px solid #d0d7de;
  border-radius: 8px; background: #fff; }
.send { flex: none; width: 38px; height: 38px; padding: 0; border: 0; border-radius: 8px; background: var(--cw-accent);
  color: #fff; display: flex; align-items: center; justify-content: center; }
.send svg { width: 18px; height: 18px; fill: currentColor; }
.attach { flex: none; width: 38px; height: 38px; padding: 0; border: 1px solid #d0d7de; border-radius: 8px; background: #fff;
  color: #57606a; display: flex; align-items: center; justify-content: center; }
.attach svg { width: 18px; height: 18px; fill: currentColor; }
.file-input { display: none; }
.prechat { display: flex; flex-direction: column; gap: 10px; padding: 12px 14px 14px; border-top: 1px solid #e1e4e8; background: #fff; }
.prechat-intro { margin: 0; color: #57606a; font-size: 13px; }
.field { display: flex; flex-direction: column; gap: 3px; }
.field label { font-size: 12px; font-weight: 600; }
.field input { padding: 7px 9px; border: 1px solid #d0d7de; border-radius: 8px; background: #fff; }
.field input[aria-invalid="true"] { border-color: #d1242f; }
.field-error { color: #d1242f; font-size: 12px; }
.field-error:empty { display: none; }
.away { display: flex; flex-direction: column; gap: 6px; padding: 10px 12px; border-top: 1px solid #e1e4e8; background: #fff8e1; font-size: 13px; }
.away p { margin: 0; }
.away form { display: flex; gap: 6px; }
.away input { flex: 1; min-width: 0; padding: 6px 8px; border: 1px solid #d0d7de; border-radius: 8px; background: #fff; }
.away button { padding: 6px 10px; border: 0; border-radius: 8px; background: var(--cw-accent); color: #fff; font-weight: 600; }
.actions { display: flex; gap: 6px; flex-wrap: wrap; }
.transcript { align-self: flex-start; padding: 3px 10px; border: 1px solid #d0d7de; border-radius: 14px;
  background: #fff; color: #57606a; font-size: 12px; }
.prechat-submit { padding: 8px 12px; border: 0; border-radius: 8px; background: var(--cw-accent); color: #fff; font-weight: 600; }
@media (max-width: 479.98px) {
  .panel { top: 0; left: 0; right: 0; bottom: 0; width: auto; max-width: none; height: auto; max-height: none; border-radius: 0; }
}`;

  // --- State -------------------------------------------------------------------------------
  let session = loadSession(); // {token, conversationId, lastId, readAt}
  // The last message id this page has shown. Kept apart from session.lastId (which other tabs
  // overwrite): the first connection of a page asks for the whole transcript to show it,
  // reconnections pass this as `after`.
  let lastId = null;
  let ws = null;
  let backoff = 1000;
  let reconnectTimer = null;
  let pollTimer = null;
  let polling = false;
  const seen = new Set(); // message ids shown, to drop the socket's and polls' repeats
  const pending = new Map(); // client_id → {cid, body, el, state: "sending"|"failed"}
  let wsInflight = []; // client_ids sent on the socket, unacknowledged, in order sent
  let isOpen = false;
  let unread = 0;
  let newestAt = ""; // created_at of the newest message seen (RFC 3339, UTC: sorts as text)
  let sentAny = !!session; // suggestions only help before the conversation starts
  let prechatDone = PRECHAT.length === 0;
  let visitor = {};
  let identityRejected = false;
  let creating = null;
  let lastTypingSent = 0;
  let typingTimer = null;
  let suggestTimer = null;
  let suggestSeq = 0;
  let openWhenReady = null;
  let ui = null;

  window.ConciergeWidget = Object.freeze({ open: () => open(true), close: () => close(false) });

  // --- Storage (may throw: blocked cookies, private modes) -----------------------------------
  function loadSession() {
    try {
      const s = JSON.parse(localStorage.getItem(KEY));
      if (s && typeof s.token === "string") return s;
    } catch (e) { /* no storage: the chat lasts as long as the page */ }
    return null;
  }
  function saveSession() {
    try { if (session) localStorage.setItem(KEY, JSON.stringify(session)); } catch (e) { /* see loadSession */ }
  }
  function clearSession() {
    try { localStorage.removeItem(KEY); } catch (e) { /* see loadSession */ }
  }
  function rememberOpen(open) {
    try { sessionStorage.setItem(OPEN_KEY, open ? "1" : "0"); } catch (e) { /* see loadSession */ }
  }
  function soundOn() {
    try { return localStorage.getItem(SOUND_KEY) === "1"; } catch (e) { return false; }
  }
  function rememberSound(on) {
    try { localStorage.setItem(SOUND_KEY, on ? "1" : "0"); } catch (e) { /* see loadSession */ }
  }
  function wasOpen() {
    try { return sessionStorage.getItem(OPEN_KEY) === "1"; } catch (e) { return false; }
  }

  // --- DOM helpers: text only ever goes in as text nodes -------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const c of children) if (c) node.append(c); // strings become Text nodes
    return node;
  }
  function icon(d) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.append(path);
    return svg;
  }
  function applyStyles(shadow) {
    if ("adoptedStyleSheets" in shadow && typeof CSSStyleSheet === "function") {
      try {
        const sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS_TEXT);
        shadow.adoptedStyleSheets = [sheet];
        return;
      } catch (e) { /* constructable sheets unsupported: fall through */ }
    }
    shadow.append(el("style", { text: CSS_TEXT }));
  }

  function build() {
    const host = el("div", { id: "concierge-widget" });
    const shadow = host.attachShadow({ mode: "open" });
    applyStyles(shadow);
    const root = el("div", { class: "root" });
    root.style.setProperty("--cw-accent", ACCENT);

    const close_ = el("button", { type: "button", class: "close", "aria-label": "Close chat", text: "\u00d7" });
    // Off unless the shopper turns it on (remembered in this browser).
    const sound = el("button", { type: "button", class: "sound", "aria-label": "Sound for new messages",
      "aria-pressed": soundOn() ? "true" : "false", text: "\u266a" });
    sound.addEventListener("click", () => {
      const on = sound.getAttribute("aria-pressed") !== "true";
      sound.setAttribute("aria-pressed", on ? "true" : "false");
      rememberSound(on);
    });
    const list = el("div", { class: "messages", role: "log", "aria-live": "polite", "aria-label": "Conversation", tabindex: "0" },
      el("p", { class: "intro", text: "Hi! How can we help?" }));
    const typing = el("div", { class: "typing", hidden: "", text: "Support is typing\u2026" });
    const pre = buildPrechat();
    const suggestions = el("ul", { class: "suggestions" });
    const suggestionBox = el("div", { class: "suggestions-box", hidden: "" },
      el("p", { text: "These articles might help:" }), suggestions);
    const handover = el("button", { type: "button", class: "handover", text: "Talk to a person" });
    const transcript = el("button", { type: "button", class: "transcript", text: "Email me this chat" });
    const awayText = el("p", { class: "away-text" });
    const awayEmail = el("input", { type: "email", class: "away-email", autocomplete: "email", "aria-label": "Your email address", placeholder: "you@example.com" });
    const awayForm = el("form", { class: "away-form", novalidate: "" }, awayEmail,
      el("button", { type: "submit", class: "away-submit", text: "Reply by email" }));
    const awayError = el("span", { class: "field-error", role: "alert" });
    const away = el("div", { class: "away", hidden: "" }, awayText, awayForm, awayError);
    const input = el("textarea", { class: "input", "aria-label": "Message", maxlength: "4000", rows: "1", placeholder: "Type your message\u2026" });
    const send = el("button", { type: "button", class: "send", "aria-label": "Send" }, icon("M3 20.5V14l11-2-11-2V3.5L22 12z"));
    const attach = el("button", { type: "button", class: "attach", "aria-label": "Send a photo or PDF" },
      icon("M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6z"));
    const fileInput = el("input", { type: "file", class: "file-input", accept: FILE_TYPES, tabindex: "-1", "aria-hidden": "true" });
    const composer = el("div", { class: "composer" }, suggestionBox,
      el("div", { class: "actions" }, handover, transcript), el("div", { class: "row" }, attach, input, send, fileInput));
    const panel = el("div", { class: "panel", id: "cw-panel", role: "dialog", "aria-label": TITLE, hidden: "" },
      el("div", { class: "header" }, el("span", { class: "title", text: TITLE }),
        el("span", { class: "header-buttons" }, sound, close_)),
      list, typing, away, pre.form, composer);
    const launcher = el("button", { type: "button", class: "launcher", "aria-label": "Open chat", "aria-expanded": "false", "aria-controls": "cw-panel" },
      icon("M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-4 4V5a2 2 0 0 1 2-2z"));
    const badge = el("span", { class: "badge", role: "status", hidden: "", "aria-label": "0 unread" });
    root.append(panel, launcher, badge);
    shadow.append(root);
    document.body.append(host);

    launcher.addEventListener("click", () => (isOpen ? close(true) : open(true)));
    close_.addEventListener("click", () => close(true));
    root.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && isOpen) { e.preventDefault(); close(true); }
    });
    send.addEventListener("click", submitComposer);
    handover.addEventListener("click", () => say(HANDOVER_TEXT));
    transcript.addEventListener("click", emailTranscript);
    attach.addEventListener("click", () => fileInput.click());
    fileInput.addEventListener("change", () => {
      const file = fileInput.files && fileInput.files[0];
      fileInput.value = "";
      if (file) sendFile(file);
    });
    awayForm.addEventListener("submit", (e) => { e.preventDefault(); submitAwayEmail(); });
    input.addEventListener("keydown", (e) => {
      // isComposing: Enter that confirms an IME composition is not a send.
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submitComposer(); }
    });
    input.addEventListener("input", () => { autosize(); sendTyping(); suggestSoon(); });

    return { shadow, panel, list, typing, launcher, badge, composer, input, suggestions, suggestionBox, prechat: pre.form, fields: pre.fields,
      away, awayText, awayForm, awayEmail, awayError };
  }

  function buildPrechat() {
    const form = el("form", { class: "prechat", novalidate: "", hidden: "" },
      el("p", { class: "prechat-intro", text: "Before we start, tell us who you are." }));
    const fields = {};
    for (const f of PRECHAT) {
      const id = "cw-" + f;
      const input = el("input", {
        id, name: f, class: "prechat-" + f, type: f === "email" ? "email" : "text",
        autocomplete: f, "aria-describedby": id + "-error", "aria-invalid": "false",
      });
      if (PRECHAT_REQUIRED) input.setAttribute("aria-required", "true");
      const label = (f === "name" ? "Name" : "Email") + (PRECHAT_REQUIRED ? "" : " (optional)");
      const error = el("span", { class: "field-error", id: id + "-error", "data-field": f });
      form.append(el("div", { class: "field" }, el("label", { for: id, text: label }), input, error));
      fields[f] = { input, error };
    }
    form.append(el("button", { type: "submit", class: "prechat-submit", text: "Start chat" }));
    form.addEventListener("submit", (e) => { e.preventDefault(); submitPrechat(); });
    return { form, fields };
  }

  // --- Panel ---------------------------------------------------------------------------------
  function open(focus) {
    if (!ui) { openWhenReady = !!focus; return; }
    isOpen = true;
    ui.panel.hidden = false;
    ui.launcher.setAttribute("aria-expanded", "true");
    rememberOpen(true);
    unread = 0;
    renderBadge();
    markRead();
    showPrechat(!prechatDone && !session);
    checkTeam();
    updatePolling();
    scrollDown();
    if (focus) (ui.prechat.hidden ? ui.input : ui.fields[PRECHAT[0]].input).focus();
  }

  function close(focusLauncher) {
    if (!ui) { openWhenReady = null; return; }
    const focusInside = !!ui.shadow.activeElement;
    isOpen = false;
    ui.panel.hidden = true;
    ui.launcher.setAttribute("aria-expanded", "false");
    rememberOpen(false);
    updatePolling();
    if (focusLauncher || focusInside) ui.launcher.focus();
  }

  function showPrechat(show) {
    ui.prechat.hidden = !show;
    ui.composer.hidden = show;
  }

  function setFieldError(field, message) {
    const f = ui.fields[field];
    f.error.textContent = message || "";
    f.input.setAttribute("aria-invalid", message ? "true" : "false");
  }

  function submitPrechat() {
    const values = {};
    let firstBad = null;
    for (const f of PRECHAT) {
      const input = ui.fields[f].input;
      const v = input.value.trim();
      let problem = "";
      if (!v && PRECHAT_REQUIRED) problem = "Please fill this in.";
      else if (v && f === "email" && !EMAIL_RE.test(v)) problem = "Please enter a valid email address.";
      setFieldError(f, problem);
      if (problem && !firstBad) firstBad = input;
      if (v) values[f] = v;
    }
    if (firstBad) { firstBad.focus(); return; }
    visitor = values;
    prechatDone = true;
    showPrechat(false);
    ui.input.focus();
    // Messages refused along with the details (422 on a field) go again with the new ones.
    for (const p of pending.values()) if (p.state === "failed") deliver(p);
  }

  function renderBadge() {
    ui.badge.hidden = unread === 0;
    ui.badge.textContent = unread > 99 ? "99+" : String(unread);
    ui.badge.setAttribute("aria-label", unread + " unread");
  }

  // "Read" is kept as a timestamp in the session, so the next page (which gets the whole
  // transcript again) counts as unread only what nobody has seen with the panel open.
  function markRead() {
    if (session && newestAt > (session.readAt || "")) { session.readAt = newestAt; saveSession(); }
  }

  function scrollDown() { ui.list.scrollTop = ui.list.scrollHeight; }

  function autosize() {
    ui.input.style.height = "auto";
    ui.input.style.height = Math.min(ui.input.scrollHeight + 2, 120) + "px";
  }

  function setTyping(active) {
    clearTimeout(typingTimer);
    ui.typing.hidden = !active;
    // A lost "active: false" must not leave the indicator up for good.
    if (active) typingTimer = setTimeout(() => { ui.typing.hidden = true; }, 6000);
  }

  // --- Messages ------------------------------------------------------------------------------
  function addBubble(sender, body, id) {
    const bubble = el("div", { class: "msg", "data-sender": sender });
    if (id) bubble.setAttribute("data-id", id);
    const label = sender === "bot" ? "Assistant" : sender === "agent" ? "Support" : "";
    if (label) bubble.append(el("span", { class: "label", text: label }));
    bubble.append(linked(body));
    ui.list.append(bubble);
    scrollDown();
    return bubble;
  }

  // Web addresses in a message (a tracking page, a help article) become links; the rest
  // stays text. Only what the URL parser reads as http(s) is linked, and a link opens in a new
  // tab with no hold on this page.
  const ADDRESS = /https?:\/\/[^\s<>"']+/g;
  function linked(text) {
    const body = el("div", { class: "body" });
    let done = 0;
    for (const match of text.matchAll(ADDRESS)) {
      // Punctuation that ends the sentence is not part of the address.
      const address = match[0].replace(/[.,;:!?)\]]+$/, "");
      let url = null;
      try { url = new URL(address); } catch (e) { url = null; }
      if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) continue;
      body.append(text.slice(done, match.index));
      body.append(el("a", { href: url.href, target: "_blank", rel: "noopener noreferrer nofollow", text: address }));
      done = match.index + address.length;
    }
    body.append(text.slice(done));
    return body;
  }

  function onMessage(m) {
    if (!m || typeof m.id !== "string" || typeof m.body !== "string") return;
    const sender = SENDERS.indexOf(m.sender_type) >= 0 ? m.sender_type : "system";
    const at = typeof m.created_at === "string" ? m.created_at : "";
    // Frames without client_id come in store order (transcript, polls); an echo with one can
    // overtake an earlier message still on its way, so it must not move `after` past it.
    if (!m.client_id) setLastId(m.id);
    const mine = typeof m.client_id === "string" ? pending.get(m.client_id) : null;
    if (seen.has(m.id)) {
      if (mine) settle(mine, null); // already shown: the pending copy is a duplicate
      return;
    }
    seen.add(m.id);
    if (at > newestAt) newestAt = at;
    // A message sent on a socket that died before echoing it comes back without client_id.
    const p = mine || (sender === "customer" ? pendingWithBody(m.body) : null);
    if (p) { settle(p, m.id); return; }
    addBubble(sender, Array.isArray(m.attachments) && m.attachments.length ? "\ud83d\udcce " + m.body : m.body, m.id);
    if (sender === "agent") setTyping(false);
    if (sender === "agent" || sender === "bot") {
      if (!isOpen || document.hidden) chime();
      if (isOpen) markRead();
      else if (!session || at > (session.readAt || "")) { unread++; renderBadge(); }
    }
  }

  function setLastId(id) {
    lastId = id;
    if (session) { session.lastId = id; saveSession(); }
  }

  function pendingWithBody(body) {
    for (const p of pending.values()) if (p.body === body.trim()) return p;
    return null;
  }

  // A pending message is stored (id) or turned out to be a duplicate (null): done with it.
  function settle(p, id) {
    pending.delete(p.cid);
    wsInflight = wsInflight.filter((c) => c !== p.cid);
    if (!id) { p.el.remove(); return; }
    p.el.classList.remove("pending", "failed");
    const state = p.el.querySelector(".state");
    if (state) state.remove();
    p.el.setAttribute("data-id", id);
  }

  function setSending(p) {
    p.state = "sending";
    p.el.classList.remove("failed");
    p.el.classList.add("pending");
    const state = p.el.querySelector(".state");
    if (state) state.remove();
  }

  function markFailed(p, message) {
    if (pending.get(p.cid) !== p) return;
    setSending(p);
    p.state = "failed";
    p.el.classList.remove("pending");
    p.el.classList.add("failed");
    const retry = el("button", { type: "button", class: "retry", text: "Retry" });
    retry.addEventListener("click", () => deliver(p));
    p.el.append(el("div", { class: "state" }, el("span", { class: "error", text: message || "Not sent." }), retry));
    scrollDown();
  }

  function submitComposer() {
    if (!say(ui.input.value)) return;
    ui.input.value = "";
    autosize();
    ui.input.focus();
  }

  // Whether the message was taken (the composer keeps the text otherwise).
  function say(text) {
    const body = text.trim();
    if (!body) return false;
    // Details first (also after a 401, which starts a new conversation); the text waits.
    if (!prechatDone && !session) {
      showPrechat(true);
      ui.fields[PRECHAT[0]].input.focus();
      return false;
    }
    sentAny = true;
    hideSuggestions();
    const bubble = addBubble("customer", body, null);
    bubble.classList.add("pending");
    const p = { cid: clientId(), body, el: bubble, state: "sending" };
    pending.set(p.cid, p);
    deliver(p);
    return true;
  }

  async function deliver(p) {
    setSending(p);
    let s;
    try {
      s = await ensureSession();
    } catch (e) {
      markFailed(p, e.message);
      return;
    }
    if (socketOpen()) {
      ws.send(JSON.stringify({ type: "message", body: p.body, client_id: p.cid }));
      wsInflight.push(p.cid);
      return;
    }
    post(p, s.token);
  }

  async function post(p, token) {
    try {
      const r = await call("POST", MESSAGES, { body: p.body, client_id: p.cid }, token);
      if (r.status === 200 || r.status === 201) { onMessage(r.data); return; }
      if (r.status === 401) {
        sessionGone(token);
        markFailed(p, "This chat has ended. Press Retry to start a new one.");
        return;
      }
      markFailed(p, errorText(r.data, "Not sent."));
    } catch (e) {
      markFailed(p, "Not sent: no connection.");
    }
  }

  function clientId() {
    if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
    // randomUUID needs a secure context; a shop page on plain http comes here.
    let s = "c" + Date.now().toString(36);
    if (window.crypto && crypto.getRandomValues) {
      for (const n of crypto.getRandomValues(new Uint32Array(4))) s += n.toString(36);
    } else {
      s += Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);
    }
    return s;
  }

  // --- HTTP ----------------------------------------------------------------------------------
  async function call(method, path, body, token) {
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = "Bearer " + token;
    const res = await fetch(BASE + path, {
      method, headers, credentials: "omit",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let json = null;
    try { json = await res.json(); } catch (e) { /* empty or not JSON */ }
    return { status: res.status, data: json };
  }

  function errorText(json, fallback) {
    return json && json.error && typeof json.error.message === "string" ? json.error.message : fallback;
  }

  // One session however many messages are sent while it is being created.
  function ensureSession() {
    if (session) return Promise.resolve(session);
    if (!creating) creating = createSession().finally(() => { creating = null; });
    return creating;
  }

  async function createSession() {
    const body = {};
    if (visitor.name) body.name = visitor.name;
    if (visitor.email) body.email = visitor.email;
    if (identity && !identityRejected) body.identity = identity;
    let r;
    try {
      r = await call("POST", SESSIONS, body);
    } catch (e) {
      throw new Error("Not sent: no connection.");
    }
    if (r.status === 201 && r.data && typeof r.data.session_token === "string") {
      session = { token: r.data.session_token, conversationId: r.data.conversation_id, lastId: null, readAt: "",
        email: body.identity ? body.identity.email : (body.email || null), byEmail: false };
      lastId = null;
      saveSession();
      connect();
      return session;
    }
    const err = (r.data && r.data.error) || {};
    const field = typeof err.field === "string" ? err.field : "";
    // A signature the service does not accept (wrong secret, stale page) must not keep the
    // customer from chatting at all: go on unverified.
    if (body.identity && (r.status === 401 || field.indexOf("identity") === 0)) {
      identityRejected = true;
      return createSession();
    }
    if (r.status === 422 && ui.fields[field]) {
      setFieldError(field, errorText(r.data, "Please check this."));
      prechatDone = false;
      showPrechat(true);
      ui.fields[field].input.focus();
    }
    throw new Error(errorText(r.data, "Could not start the chat. Try again."));
  }

  // 401: the token is no longer valid. Forget it; the next send opens a fresh session.
  function sessionGone(token) {
    if (!session || session.token !== token) return;
    session = null;
    lastId = null;
    clearSession();
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    closeSocket();
    setTyping(false);
    const unacked = wsInflight;
    wsInflight = [];
    for (const cid of unacked) {
      const p = pending.get(cid);
      if (p) markFailed(p, "This chat has ended. Press Retry to start a new one.");
    }
    updatePolling();
  }

  async function poll() {
    if (!session || polling) return;
    polling = true;
    const token = session.token;
    try {
      const r = await call("GET", MESSAGES + (lastId ? "?after=" + encodeURIComponent(lastId) : ""), undefined, token);
      if (r.status === 401) sessionGone(token);
      else if (r.status === 200 && r.data && session && session.token === token) {
        if (Array.isArray(r.data.items)) r.data.items.forEach(onMessage);
        setStatus(r.data.status);
      }
    } catch (e) { /* offline: the next poll or the socket catches up */ }
    polling = false;
  }

  function updatePolling() {
    const want = !!session && isOpen && !ws; // no socket, not even one connecting
    if (want && !pollTimer) { pollTimer = setInterval(poll, 5000); poll(); }
    if (!want && pollTimer) { clearInterval(pollTimer); pollTimer = null; }
  }

  function setStatus(status) {
    if (typeof status === "string") ui.panel.setAttribute("data-status", status);
  }

  // --- WebSocket -----------------------------------------------------------------------------
  function socketOpen() { return !!ws && ws.readyState === WebSocket.OPEN; }

  function connect() {
    if (!session || ws) return;
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    const token = session.token;
    let url = WS_BASE + "/api/widget/v1/ws?token=" + encodeURIComponent(token);
    if (lastId) url += "&after=" + encodeURIComponent(lastId);
    let sock;
    try { sock = new WebSocket(url); } catch (e) { scheduleReconnect(); return; }
    ws = sock;
    let opened = false;
    updatePolling();
    sock.addEventListener("open", () => {
      if (ws !== sock) return;
      opened = true;
      backoff = 1000;
    });
    sock.addEventListener("message", (e) => {
      if (ws === sock && typeof e.data === "string") handleFrame(e.data);
    });
    sock.addEventListener("close", () => {
      if (ws !== sock) return; // closed on purpose
      ws = null;
      setTyping(false);
      // Taken by the socket, never acknowledged: the same client_id makes a resend harmless.
      const unacked = wsInflight;
      wsInflight = [];
      for (const cid of unacked) {
        const p = pending.get(cid);
        if (p) post(p, token);
      }
      // A refused handshake does not say why; one GET tells whether the session is gone.
      if (!opened) poll();
      updatePolling();
      scheduleReconnect();
    });
  }

  function closeSocket() {
    const s = ws;
    ws = null;
    if (s) { try { s.close(); } catch (e) { /* already closing */ } }
  }

  function scheduleReconnect() {
    if (!session || ws || reconnectTimer) return;
    const delay = backoff;
    backoff = Math.min(backoff * 2, MAX_BACKOFF);
    reconnectTimer = setTimeout(() => { reconnectTimer = null; connect(); }, delay);
  }

  function handleFrame(text) {
    let f;
    try { f = JSON.parse(text); } catch (e) { return; }
    if (!f || typeof f !== "object") return;
    if (f.type === "message") onMessage(f);
    else if (f.type === "status") setStatus(f.status);
    else if (f.type === "typing") setTyping(f.active === true);
    else if (f.type === "error") {
      // Error frames carry no client_id, but the server answers frames in order: this one
      // is about the oldest message still waiting for its echo.
      const cid = wsInflight.shift();
      const p = cid && pending.get(cid);
      if (p) markFailed(p, typeof f.message === "string" ? f.message : "Not sent.");
    }
  }

  function sendTyping() {
    const now = Date.now();
    if (socketOpen() && ui.input.value.trim() && now - lastTypingSent >= 2000) {
      lastTypingSent = now;
      ws.send(JSON.stringify({ type: "typing" }));
    }
  }

  // --- Article suggestions -------------------------------------------------------------------
  function suggestSoon() {
    clearTimeout(suggestTimer);
    const q = ui.input.value.trim();
    if (sentAny || q.length < 3) { hideSuggestions(); return; }
    suggestTimer = setTimeout(async () => {
      const mine = ++suggestSeq; // a slow answer to an older text must not win
      try {
        const res = await fetch(BASE + "/help/suggest?q=" + encodeURIComponent(q), { credentials: "omit" });
        if (!res.ok) return;
        const json = await res.json();
        if (mine === suggestSeq && !sentAny) renderSuggestions(json && Array.isArray(json.items) ? json.items : []);
      } catch (e) { /* suggestions are a nicety: fail silently */ }
    }, 300);
  }

  function hideSuggestions() {
    clearTimeout(suggestTimer);
    suggestSeq++;
    ui.suggestions.textContent = "";
    ui.suggestionBox.hidden = true;
  }

  function renderSuggestions(items) {
    ui.suggestions.textContent = "";
    let shown = 0;
    for (const item of items) {
      if (shown === 3) break;
      const href = item && typeof item.title === "string" ? safeHref(item.url) : null;
      if (!href) continue;
      const link = el("a", { class: "suggestion", href, target: "_blank", rel: "noopener" },
        el("span", { class: "suggestion-title", text: item.title }));
      if (typeof item.summary === "string" && item.summary) {
        link.append(el("span", { class: "suggestion-summary", text: item.summary }));
      }
      ui.suggestions.append(el("li", null, link));
      shown++;
    }
    ui.suggestionBox.hidden = shown === 0;
  }

  // Only links into the help desk itself: a path, or a URL on its origin. "//host" is
  // another host to a browser, so it is not taken as a path.
  function safeHref(url) {
    if (typeof url !== "string" || url.indexOf("//") === 0) return null;
    const abs = url.charAt(0) === "/" ? BASE + url : url.indexOf(BASE + "/") === 0 ? url : null;
    if (!abs) return null;
    try { return new URL(abs).origin === BASE ? abs : null; } catch (e) { return null; }
  }

  // A short tone made on the spot (no sound file to fetch), only if the shopper turned it on.
  let audio = null;
  function chime() {
    if (!soundOn() || !(window.AudioContext || window.webkitAudioContext)) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.08, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.25);
    } catch (e) { /* no sound: nothing lost */ }
  }

  // --- Files ---------------------------------------------------------------------------------
  async function sendFile(file) {
    if (FILE_TYPES.split(",").indexOf(file.type) < 0) {
      addBubble("system", "Only photos (PNG, JPEG, GIF, WebP) and PDFs can be sent here.");
      return;
    }
    if (file.size > MAX_FILE_BYTES) {
      addBubble("system", "That file is too big: 10 MB at most.");
      return;
    }
    const note = addBubble("customer", "\ud83d\udcce " + file.name + " \u2026");
    note.classList.add("pending");
    try {
      const s = await ensureSession();
      const query = "?filename=" + encodeURIComponent(file.name) + "&client_id=" + encodeURIComponent(clientId());
      const res = await fetch(BASE + FILES + query, {
        method: "POST", credentials: "omit", body: file,
        headers: { "Content-Type": file.type, Authorization: "Bearer " + s.token },
      });
      let json = null;
      try { json = await res.json(); } catch (e) { /* not JSON */ }
      note.remove();
      if ((res.status === 201 || res.status === 200) && json) onMessage(json);
      else addBubble("system", errorText(json, "The file could not be sent. Try again."));
    } catch (e) {
      note.remove();
      addBubble("system", "The file could not be sent: no connection.");
    }
  }

  // --- Away: closed or nobody online, replies by email, the transcript -------------------------
  // Asked each time the panel opens: whether the team is in (business hours) and online now.
  let teamOnline = null;
  let teamBack = null; // outside business hours: when the team is next in, as the server words it
  let awayPurpose = "replies"; // what the away form's address is for: "replies" or "transcript"
  async function checkTeam() {
    try {
      const r = await call("GET", TEAM);
      if (r.status === 200 && r.data) {
        teamOnline = r.data.online === true;
        teamBack = r.data.open === false && typeof r.data.opens === "string" ? r.data.opens : null;
      }
    } catch (e) { /* unknown: say nothing */ }
    renderAway();
  }

  // "We're closed right now and back Monday, 7 December, 09:00 CET": the shop's time, as
  // the server writes it, word for word what the assistant says in the chat. (Written here
  // in the shopper's own zone, the two would give two times for one opening.)
  function awayWords() {
    if (!teamBack) return "We're away right now.";
    return "We're closed right now and back " + teamBack + ".";
  }

  function renderAway() {
    const byEmail = session && session.byEmail && session.email;
    if (awayPurpose === "transcript" && !(session && session.email)) {
      ui.away.hidden = false;
      ui.awayForm.hidden = false;
      ui.awayText.textContent = "Where should we send this chat?";
    } else if (teamOnline === false) {
      const confirming = !byEmail && session && session.confirming && session.email;
      ui.away.hidden = false;
      ui.awayForm.hidden = !!(byEmail || confirming);
      ui.awayText.textContent = awayWords() + (byEmail
        ? " We'll reply here and by email to " + session.email + "."
        : confirming
          ? " Once you confirm " + session.email + " with the link we sent, we'll reply there too."
          : " Leave your email and we'll reply there too.");
      if (!byEmail && session && session.email && !ui.awayEmail.value) ui.awayEmail.value = session.email;
    } else {
      ui.away.hidden = true;
    }
  }

  async function submitAwayEmail() {
    const email = ui.awayEmail.value.trim();
    if (!EMAIL_RE.test(email)) {
      ui.awayError.textContent = "Please enter a valid email address.";
      ui.awayEmail.setAttribute("aria-invalid", "true");
      ui.awayEmail.focus();
      return;
    }
    ui.awayError.textContent = "";
    ui.awayEmail.setAttribute("aria-invalid", "false");
    try {
      const s = await ensureSession();
      const r = await call("POST", EMAIL, { email }, s.token);
      if ((r.status !== 200 && r.status !== 202) || !r.data) throw new Error(mailRefusal(r, "Could not save your email. Try again."));
      session.email = r.data.email || email;
      session.byEmail = r.data.replies_by_email === true;
      session.confirming = r.data.confirmation_sent === true;
      saveSession();
      const forTranscript = awayPurpose === "transcript";
      awayPurpose = "replies";
      renderAway();
      if (forTranscript) emailTranscript();
      else if (r.data.confirmation_sent) addBubble("system", "We've sent a link to " + session.email + ". Open it to confirm it's your address, and we'll reply there too.");
      else addBubble("system", "Thanks! We'll also reply to " + session.email + ".");
    } catch (e) {
      ui.awayError.textContent = e.message || "Could not save your email. Try again.";
    }
  }

  // What to tell the shopper when mail was refused: said plainly, never as if it went.
  function mailRefusal(r, fallback) {
    const code = r.data && r.data.error && r.data.error.code;
    if (code === "mail_unavailable") return "Sorry, we can't send email from this chat. Your messages here still reach us.";
    if (code === "mail_limit") return "Sorry, we can't send more email to this address today.";
    return errorText(r.data, fallback);
  }

  async function emailTranscript() {
    if (!session || !session.email) {
      awayPurpose = "transcript";
      renderAway();
      ui.awayEmail.focus();
      return;
    }
    try {
      const r = await call("POST", TRANSCRIPT, {}, session.token);
      if (r.status === 202 && r.data && r.data.status === "confirmation_sent") {
        addBubble("system", "We've sent a link to " + session.email + ". Open it to confirm it's your address, and the chat will follow.");
      } else if (r.status === 202) {
        addBubble("system", "We're emailing this chat to " + session.email + ".");
      } else {
        addBubble("system", mailRefusal(r, "Could not email the chat. Try again."));
      }
    } catch (e) {
      addBubble("system", "Could not email the chat: no connection.");
    }
    scrollDown();
  }

  // --- Start ---------------------------------------------------------------------------------
  function init() {
    if (ui || document.getElementById("concierge-widget")) return;
    ui = build();
    if (session) connect(); // at once, so messages arriving while closed are counted
    if (openWhenReady !== null) open(openWhenReady);
    else if (wasOpen()) open(false); // restored, not asked for: do not steal focus
  }

  // Another tab started the chat: join it rather than open a second conversation.
  window.addEventListener("storage", (e) => {
    if (e.key !== KEY || session || !ui) return;
    const s = loadSession();
    if (s) { session = s; sentAny = true; showPrechat(false); connect(); updatePolling(); }
  });
  window.addEventListener("online", () => {
    if (session && !ws) { backoff = 1000; connect(); }
  });

  if (document.body) init();
  else document.addEventListener("DOMContentLoaded", init);
})();
