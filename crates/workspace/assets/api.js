// Talking to the server: JSON API calls with the session's CSRF token, page fragments for
// live updates, and showing times in the agent's own time zone.

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? '';

export const me = () => meta('agent-id');

/** An API failure, with the error format's code, message and field(s). */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `The server answered ${status}.`);
    this.status = status;
    this.code = body?.error?.code;
    this.field = body?.error?.field;
    /** Every field at fault, `[{field, message}]`, when the server names several. */
    this.fields = body?.error?.fields ?? [];
  }
}

/** Calls the JSON API; resolves to the parsed answer, or throws an ApiError. */
export async function api(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': meta('csrf-token') },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { error: { message: 'The server cannot be reached. Check the connection and try again.' } });
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (res.status === 401 && data?.error?.code === 'unauthenticated' && document.body.dataset.page !== 'signin') {
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** Fetches a server-rendered part of a page and returns it as a parsed document. */
export async function fragment(url) {
  const res = await fetch(url, { credentials: 'same-origin' });
  if (res.redirected && new URL(res.url).pathname === '/login') {
    location.reload();
    throw new Error('signed out');
  }
  if (!res.ok) throw new Error(`fragment ${res.status}`);
  const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
  localTimes(doc);
  return doc;
}

const clock = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

/** Rewrites every <time datetime> under `root` in the browser's time zone. */
export function localTimes(root = document) {
  for (const t of root.querySelectorAll('time[datetime]')) {
    const d = new Date(t.getAttribute('datetime'));
    if (!Number.isNaN(d.getTime())) {
      t.textContent = clock.format(d);
      t.title = d.toISOString();
    }
  }
}

/** Shows `message` in the element (an alert region), or clears it. */
export function say(el, message) {
  if (el) el.textContent = message ?? '';
}

/** Inputs that take no typed text: a letter pressed on one of them is a shortcut. */
const KEYLESS_INPUTS = new Set(['button', 'checkbox', 'color', 'file', 'image', 'radio', 'range', 'reset', 'submit']);

/** Whether a key event happened while typing somewhere: a text field, a text box, a list to
 * pick from, or editable content. */
export function typing(event) {
  const t = event.target;
  if (!(t instanceof HTMLElement)) return false;
  if (t.isContentEditable || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT') return true;
  return t.tagName === 'INPUT' && !KEYLESS_INPUTS.has(t.type);
}
