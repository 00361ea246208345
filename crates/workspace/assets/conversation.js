// One conversation: live thread and controls, who else is here (collision detection), the
// reply box (reply or private note, with canned replies and a suggested reply), and the
// r/n/e/a keys, which work outside text boxes only.

import { api, fragment, me, say } from './api.js';
import { connect } from './live.js';
import { shortcuts } from './keys.js';

const TYPING_IDLE_MS = 4000;

let id = '';
let send = () => {};

const url = (suffix = '') => `/api/v1/conversations/${encodeURIComponent(id)}${suffix}`;

/**
 * Fetches a part of the page. Answers can arrive out of order; one that was asked for before
 * an answer already shown is older than it and dropped.
 */
const order = { thread: { asked: 0, shown: 0 }, controls: { asked: 0, shown: 0 } };
async function latest(part) {
  const n = ++order[part].asked;
  const doc = await fragment(`/conversations/${encodeURIComponent(id)}?fragment=${part}`);
  if (n < order[part].shown) return null;
  order[part].shown = n;
  return doc;
}

async function refreshThread() {
  try {
    const doc = await latest('thread');
    if (!doc) return;
    const fresh = doc.getElementById('thread');
    const old = document.getElementById('thread');
    if (fresh && old) {
      const atEnd = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
      old.replaceWith(fresh);
      if (atEnd) fresh.lastElementChild?.scrollIntoView({ block: 'nearest' });
    }
  } catch { /* the next event refreshes again */ }
}

/** Fetches the controls again. A colleague's change waits while the agent is using a
 * control (`own` is false), so nothing moves under their hands; their own change applies now. */
async function refreshControls(own = false) {
  const old = document.getElementById('controls');
  const focused = old?.contains(document.activeElement) ? document.activeElement.id : '';
  if (focused && !own) {
    old.addEventListener('focusout', () => setTimeout(refreshControls, 0), { once: true });
    return;
  }
  try {
    const doc = await latest('controls');
    if (!doc) return;
    const fresh = doc.getElementById('controls');
    const current = document.getElementById('controls');
    if (fresh && current) {
      current.replaceWith(fresh);
      bindControls();
      if (focused) document.getElementById(focused)?.focus();
    }
  } catch { /* the next event refreshes again */ }
}

function showPresence(frame) {
  if (frame.conversation_id !== id) return;
  const box = document.getElementById('presence');
  const others = frame.agents.filter((a) => a.id !== me());
  // One entry per agent, typing if any of their tabs is.
  const byAgent = new Map();
  for (const a of others) byAgent.set(a.id, { name: a.name, typing: a.typing || byAgent.get(a.id)?.typing });
  const list = [...byAgent.values()];
  if (!list.length) {
    box.hidden = true;
    box.textContent = '';
    return;
  }
  const typingNow = list.filter((a) => a.typing).map((a) => a.name);
  const viewing = list.filter((a) => !a.typing).map((a) => a.name);
  const parts = [];
  if (typingNow.length) parts.push(`${typingNow.join(', ')} ${typingNow.length > 1 ? 'are' : 'is'} typing a reply`);
  if (viewing.length) parts.push(`${viewing.join(', ')} ${viewing.length > 1 ? 'are' : 'is'} viewing this conversation`);
  box.textContent = `${parts.join('; ')}.`;
  box.hidden = false;
  box.classList.toggle('typing', typingNow.length > 0);
}

async function patch(body) {
  const error = document.getElementById('controls-error');
  say(error, '');
  try {
    await api('PATCH', url(), body);
    await refreshControls(true);
  } catch (err) {
    say(document.getElementById('controls-error'), err.message);
  }
}

function bindControls() {
  const on = (elId, event, fn) => document.getElementById(elId)?.addEventListener(event, fn);
  on('status', 'change', (e) => {
    if (e.target.value !== 'snoozed') patch({ status: e.target.value });
  });
  on('resolve', 'click', () => patch({ status: 'resolved' }));
  on('snooze-form', 'submit', (e) => {
    e.preventDefault();
    const v = document.getElementById('snooze-until').value;
    const when = new Date(v);
    if (!v || Number.isNaN(when.getTime())) return say(document.getElementById('controls-error'), 'Choose when the conversation should come back.');
    patch({ status: 'snoozed', snooze_until: when.toISOString() });
  });
  on('priority', 'change', (e) => patch({ priority: e.target.value }));
  on('assignee', 'change', (e) => patch({ assignee_id: e.target.value || null }));
  on('assign-me', 'click', () => patch({ assignee_id: me() }));
  on('assistant-toggle', 'click', async (e) => {
    try {
      await api('PUT', url('/assistant'), { active: e.currentTarget.dataset.active === 'true' });
      await refreshControls(true);
    } catch (err) {
      say(document.getElementById('controls-error'), err.message);
    }
  });
  on('team', 'change', (e) => patch({ team_id: e.target.value || null }));
  on('tags-form', 'submit', (e) => {
    e.preventDefault();
    const tags = document.getElementById('tags').value.split(',').map((t) => t.trim()).filter(Boolean);
    patch({ tags });
  });
  on('merge-form', 'submit', async (e) => {
    e.preventDefault();
    const into = document.getElementById('merge-into').value;
    if (!window.confirm('Merge this conversation into the chosen one? Its messages move there, and this one closes.')) return;
    try {
      await api('POST', url('/merge'), { into });
      location.assign(`/conversations/${encodeURIComponent(into)}`);
    } catch (err) {
      say(document.getElementById('controls-error'), err.message);
    }
  });
}

/**
 * Reply or private note: the one state both what the agent sees and what is sent read
 * (`#composer[data-mode]`). The tab, the label above the box, its colour (by the stylesheet),
 * the placeholder and the button all follow it here; sending reads it. `focus` puts the
 * cursor back in the box, where it was.
 */
function setMode(value, { focus = true } = {}) {
  const form = document.getElementById('composer');
  const note = value === 'note';
  form.dataset.mode = note ? 'note' : 'reply';
  const radio = document.getElementById(note ? 'mode-note' : 'mode-reply');
  if (radio) radio.checked = true;
  document.getElementById('mode-label').textContent = note ? form.dataset.noteLabel : form.dataset.replyLabel;
  const body = document.getElementById('body');
  body.placeholder = note
    ? 'Write a private note for the team…'
    : 'Write a reply… Type / for canned replies.';
  document.getElementById('send').textContent = note ? 'Add note' : 'Send reply';
  if (focus) body.focus();
}

function bindComposer() {
  const form = document.getElementById('composer');
  const body = document.getElementById('body');
  const status = document.getElementById('composer-status');
  const sent = document.getElementById('composer-sent');
  const list = document.getElementById('canned-list');
  const options = () => [...list.querySelectorAll('li')].filter((li) => !li.hidden);
  let typingTimer = null;
  let typingSent = 0;

  const stopTyping = () => {
    clearTimeout(typingTimer);
    typingTimer = null;
    if (typingSent) send({ type: 'typing', conversation_id: id, active: false });
    typingSent = 0;
  };

  // A browser may bring back the checked tab from before a reload: the mode follows it.
  setMode(form.querySelector('input[name="mode"]:checked')?.value, { focus: false });
  form.addEventListener('change', (e) => {
    if (e.target.name === 'mode') setMode(e.target.value);
  });

  const insert = async (replyId) => {
    say(status, '');
    try {
      const filled = await api('GET', url(`/canned-replies/${encodeURIComponent(replyId)}`));
      const token = body.value.match(/(^|\s)\/[\w-]*$/);
      body.value = token ? body.value.slice(0, token.index + token[1].length) + filled.body : body.value + filled.body;
      if (filled.missing.length) say(status, `No value here for: ${filled.missing.join(', ')}. Fill those in before sending.`);
      list.hidden = true;
      body.focus();
    } catch (err) {
      say(status, err.message);
    }
  };

  const filterList = () => {
    const token = body.value.match(/(^|\s)\/([\w-]*)$/);
    if (!token || !list.children.length) {
      list.hidden = true;
      return;
    }
    let any = false;
    for (const li of list.querySelectorAll('li')) {
      li.hidden = !li.dataset.shortcut.startsWith(token[2].toLowerCase());
      li.removeAttribute('aria-selected');
      any ||= !li.hidden;
    }
    const first = options()[0];
    if (first) first.setAttribute('aria-selected', 'true');
    list.hidden = !any;
  };

  body.addEventListener('input', () => {
    say(sent, ''); // what was last sent is old news once the next message is begun
    filterList();
    const now = Date.now();
    if (now - typingSent > 2000) {
      send({ type: 'typing', conversation_id: id, active: true });
      typingSent = now;
    }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
  });

  body.addEventListener('keydown', (e) => {
    if (!list.hidden) {
      const opts = options();
      const at = opts.findIndex((li) => li.getAttribute('aria-selected') === 'true');
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const next = opts[(at + (e.key === 'ArrowDown' ? 1 : opts.length - 1)) % opts.length];
        opts.forEach((li) => li.removeAttribute('aria-selected'));
        next?.setAttribute('aria-selected', 'true');
        return;
      }
      if ((e.key === 'Enter' || e.key === 'Tab') && at >= 0 && !e.ctrlKey) {
        e.preventDefault();
        insert(opts[at].dataset.id);
        return;
      }
      if (e.key === 'Escape') {
        list.hidden = true;
        e.stopPropagation();
        return;
      }
    }
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      form.requestSubmit();
    }
  });

  list.addEventListener('click', (e) => {
    const li = e.target.closest('li');
    if (li) insert(li.dataset.id);
  });
  document.getElementById('canned')?.addEventListener('change', (e) => {
    if (e.target.value) insert(e.target.value);
    e.target.value = '';
  });

  // Messages go out one after another, in the order they were written, however fast.
  let queue = Promise.resolve();

  const deliver = async (text, mode) => {
    try {
      await api('POST', url('/messages'), { body: text, private: mode === 'note' });
      say(sent, mode === 'note' ? 'Note added: only your team sees it.' : 'Reply sent to the customer.');
      await refreshThread();
    } catch (err) {
      say(sent, '');
      // Nothing is lost: the text comes back in its own mode when the box is still empty.
      if (!body.value.trim()) {
        body.value = text;
        setMode(mode);
        say(status, `Not sent: ${err.message} It is back in the box.`);
      } else {
        say(status, `Not sent: ${err.message} You wrote: “${text}”`);
      }
    }
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    say(status, '');
    const text = body.value.trim();
    if (!text) return say(status, 'Write something first.');
    // Sent in the mode the page shows, and reported in it.
    const mode = form.dataset.mode === 'note' ? 'note' : 'reply';
    say(sent, mode === 'note' ? 'Adding the note…' : 'Sending the reply…');
    // The box is emptied and left at once, before the server answers: the next key is a
    // shortcut again (n for a note, r for a reply), never a letter typed into a box the
    // agent has stopped looking at. The focus waits on the tab of the mode it sent in.
    body.value = '';
    list.hidden = true;
    stopTyping();
    document.getElementById(mode === 'note' ? 'mode-note' : 'mode-reply')?.focus();
    queue = queue.then(() => deliver(text, mode));
  });
}

/** Puts text into the reply box where the cursor is (on a line of its own), for the agent to
 * edit before sending. */
function putInReply(text) {
  const body = document.getElementById('body');
  const at = body.selectionStart ?? body.value.length;
  const before = body.value.slice(0, at);
  const gap = before && !/\s$/.test(before) ? '\n' : '';
  body.value = before + gap + text + body.value.slice(body.selectionEnd ?? at);
  const end = (before + gap + text).length;
  body.focus();
  body.setSelectionRange(end, end);
}

/**
 * Agent assist: the suggested reply to the shopper's open question, asked for when the page
 * opens and again whenever a message arrives (an agent's reply answers it, a shopper's new
 * message asks again). Insert puts it in the reply box to edit; nothing is sent. One inserted
 * or dismissed stays away until the shopper writes again. Text only, never HTML.
 */
const suggestion = { shown: null, asked: 0, done: new Set() };
const suggestionKey = (s) => `${s.message_id} ${s.source} ${s.id}`;

async function refreshSuggestion() {
  const ticket = ++suggestion.asked;
  let answer;
  try {
    answer = await api('GET', url('/suggestion'));
  } catch {
    return; // the next message asks again
  }
  if (ticket !== suggestion.asked) return;
  const s = answer?.suggestion;
  showSuggestion(s && !suggestion.done.has(suggestionKey(s)) ? s : null);
}

function showSuggestion(s) {
  const card = document.getElementById('suggestion');
  if (!card) return;
  suggestion.shown = s;
  card.hidden = !s;
  if (!s) return;
  document.getElementById('suggestion-kind').textContent = s.source === 'article' ? 'Help article' : 'Canned reply';
  document.getElementById('suggestion-name').textContent = s.title;
  document.getElementById('suggestion-text').textContent = s.body;
}

function bindSuggestion() {
  const done = () => {
    if (suggestion.shown) suggestion.done.add(suggestionKey(suggestion.shown));
    showSuggestion(null);
  };
  document.getElementById('suggestion-insert')?.addEventListener('click', () => {
    const s = suggestion.shown;
    if (!s) return;
    done();
    setMode('reply');
    putInReply(s.body);
    const status = document.getElementById('composer-status');
    say(status, s.missing.length ? `No value here for: ${s.missing.join(', ')}. Fill those in before sending.` : '');
  });
  document.getElementById('suggestion-dismiss')?.addEventListener('click', () => {
    done();
    // The card is gone; the keyboard carries on in the reply box rather than the page.
    document.getElementById('body').focus();
  });
  refreshSuggestion();
}

/** Help articles from the composer: search the knowledge base, then put a link to an
 * article, or its text, into the reply where the cursor is. */
function bindArticles() {
  const input = document.getElementById('kb-q');
  const results = document.getElementById('kb-results');
  const status = document.getElementById('kb-status');
  if (!input || !results) return;
  const base = document.querySelector('[data-help-url]')?.dataset.helpUrl || location.origin;
  let latest = 0;
  let timer = null;
  let hits = [];

  const render = () => {
    results.replaceChildren();
    for (const [i, a] of hits.entries()) {
      const li = document.createElement('li');
      const title = document.createElement('a');
      title.href = a.url;
      title.target = '_blank';
      title.rel = 'noopener';
      title.textContent = a.title;
      const link = document.createElement('button');
      link.type = 'button';
      link.dataset.insert = 'link';
      link.dataset.index = String(i);
      link.textContent = 'Insert link';
      const text = document.createElement('button');
      text.type = 'button';
      text.dataset.insert = 'text';
      text.dataset.index = String(i);
      text.textContent = 'Insert text';
      li.append(title, ' ', link, ' ', text);
      if (a.summary) {
        const p = document.createElement('p');
        p.className = 'muted';
        p.textContent = a.summary;
        li.append(p);
      }
      results.append(li);
    }
  };

  const search = async () => {
    const q = input.value.trim();
    const ticket = ++latest;
    if (!q) {
      hits = [];
      render();
      say(status, '');
      return;
    }
    try {
      const page = await api('GET', `/api/v1/articles?published=true&limit=5&q=${encodeURIComponent(q)}`);
      if (ticket !== latest) return;
      hits = page.items;
      render();
      say(status, hits.length ? '' : 'No articles match.');
    } catch (err) {
      if (ticket === latest) say(status, err.message);
    }
  };

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(search, 200);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      clearTimeout(timer);
      search();
    }
  });
  results.addEventListener('click', (e) => {
    const button = e.target.closest('button[data-insert]');
    if (!button) return;
    const a = hits[Number(button.dataset.index)];
    if (!a) return;
    if (button.dataset.insert === 'link') putInReply(`${a.title}: ${base}${a.url}`);
    else putInReply(a.body_text.trim());
  });
}

/** "Send again" on a message whose delivery failed (the thread is redrawn, so the click is
 * caught on the document), and merging this customer into another one by their address. */
function bindThreadAndCustomer() {
  document.addEventListener('click', async (e) => {
    const button = e.target.closest('button.retry');
    if (!button) return;
    button.disabled = true;
    try {
      await api('POST', `/api/v1/messages/${encodeURIComponent(button.dataset.messageId)}/retry`);
      await refreshThread();
    } catch (err) {
      button.disabled = false;
      say(document.getElementById('composer-status'), err.message);
    }
  });
  const form = document.getElementById('customer-merge-form');
  form?.addEventListener('submit', async (e) => {
    e.preventDefault();
    const error = document.getElementById('customer-merge-error');
    say(error, '');
    const email = document.getElementById('customer-merge-email').value.trim();
    try {
      const found = await api('GET', `/api/v1/customers?email=${encodeURIComponent(email)}`);
      const other = found.items[0];
      if (!other) return say(error, `No customer has the address ${email}.`);
      if (other.id === form.dataset.customerId) return say(error, 'That is this customer.');
      if (!window.confirm(`Merge this customer into ${other.name || email}? Their addresses, conversations and orders move there.`)) return;
      await api('POST', `/api/v1/customers/${encodeURIComponent(form.dataset.customerId)}/merge`, { into: other.id });
      location.reload();
    } catch (err) {
      say(error, err.message);
    }
  });
}

/** Order actions from the sidebar: the outcome (or the platform's refusal) is shown, and
 * noted in the thread by the server. */
function bindOrderActions() {
  document.addEventListener('submit', async (e) => {
    const form = e.target.closest('form.order-action');
    if (!form) return;
    e.preventDefault();
    const status = form.closest('details')?.querySelector('.order-action-status');
    const body = { action: form.dataset.action, conversation_id: id };
    if (body.action === 'cancel') body.reason = form.elements.reason.value;
    if (body.action === 'refund') {
      body.line_items = [...form.querySelectorAll('input[name="qty"]')]
        .filter((i) => Number(i.value) > 0)
        .map((i) => ({ id: i.dataset.lineItem, quantity: Number(i.value) }));
      if (form.elements.refund_shipping.checked) body.refund_shipping = true;
    }
    if (body.action === 'change_address') {
      body.shipping_address = {};
      for (const f of form.querySelectorAll('input[type="text"]')) if (f.value.trim()) body.shipping_address[f.name] = f.value.trim();
    }
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    const button = form.querySelector('button');
    button.disabled = true;
    say(status, 'Working…');
    try {
      const done = await api('POST', `/api/v1/orders/${encodeURIComponent(form.dataset.orderId)}/actions`, body);
      say(status, done.note);
      await refreshThread();
    } catch (err) {
      say(status, err.message);
    } finally {
      button.disabled = false;
    }
  });
}

export function start() {
  id = document.querySelector('[data-conversation-id]')?.dataset.conversationId ?? '';
  if (!id) return;
  bindControls();
  bindComposer();
  bindArticles();
  bindSuggestion();
  bindThreadAndCustomer();
  bindOrderActions();
  shortcuts((key) => {
    switch (key) {
      case 'r': setMode('reply'); return false;
      case 'n': setMode('note'); return false;
      case 'e': patch({ status: 'resolved' }); return false;
      case 'a': patch({ assignee_id: me() }); return false;
      default: return true;
    }
  });
  send = connect({
    // The page is as new as its last event id, and a reconnection replays what it missed,
    // so (re)connecting needs no refresh of its own.
    open: () => send({ type: 'viewing', conversation_id: id }),
    event: (frame) => {
      if (frame.conversation_id !== id) return;
      if (frame.kind === 'message.created' || frame.kind === 'message.updated') refreshThread();
      if (frame.kind === 'message.created') refreshSuggestion();
      refreshControls();
    },
    presence: showPresence,
  });
}
