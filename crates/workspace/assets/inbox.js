// The inbox: live counts and rows, j/k/o/x/e/a keys, bulk actions, filters that apply on
// change.

import { api, fragment, localTimes, me, say } from './api.js';
import { connect } from './live.js';
import { shortcuts } from './keys.js';

let cursor = -1;

const rows = () => [...document.querySelectorAll('#conversation-list .row')];

function select(i) {
  const all = rows();
  if (!all.length) return;
  cursor = Math.max(0, Math.min(i, all.length - 1));
  all.forEach((r, n) => r.classList.toggle('current', n === cursor));
  all[cursor].querySelector('a.open')?.focus();
}

const current = () => rows()[cursor] ?? null;

function checked() {
  return [...document.querySelectorAll('#conversation-list .select:checked')].map((c) => c.value);
}

function countSelected() {
  const n = checked().length;
  document.getElementById('bulk-count').textContent = `${n} selected`;
}

let refreshing = null;
let again = false;

/** Asks the server for the counts and rows again, keeping what the agent had selected. */
async function refresh() {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      again = false;
      const url = new URL(location.href);
      url.searchParams.set('fragment', 'live');
      try {
        const doc = await fragment(url);
        const fresh = doc.getElementById('inbox-list');
        const old = document.getElementById('inbox-list');
        if (!fresh || !old) return;
        const keep = new Set(checked());
        const currentId = current()?.dataset.id;
        const focused = document.activeElement && old.contains(document.activeElement);
        old.replaceWith(fresh);
        const views = doc.getElementById('inbox-views');
        if (views) document.getElementById('inbox-views')?.replaceWith(views);
        for (const box of fresh.querySelectorAll('.select')) box.checked = keep.has(box.value);
        const i = rows().findIndex((r) => r.dataset.id === currentId);
        if (i >= 0) {
          cursor = i;
          rows()[i].classList.add('current');
          if (focused) rows()[i].querySelector('a.open')?.focus();
        }
        countSelected();
      } catch {
        // The next event or reconnection refreshes again.
      }
    } while (again);
  })();
  try { await refreshing; } finally { refreshing = null; }
}

async function bulk(patch) {
  const error = document.getElementById('bulk-error');
  say(error, '');
  const ids = checked();
  if (!ids.length) {
    say(error, 'Select conversations first (x, or the boxes).');
    return;
  }
  try {
    const result = await api('POST', '/api/v1/conversations/bulk', { ids, patch });
    const failed = result.items.filter((i) => !i.ok);
    if (failed.length) say(error, `${failed.length} not changed: ${failed[0].error.message}`);
    for (const box of document.querySelectorAll('#conversation-list .select')) box.checked = false;
    document.getElementById('select-all').checked = false;
    await refresh();
  } catch (err) {
    say(error, err.message);
  }
}

export function start() {
  localTimes();
  document.getElementById('filters')?.addEventListener('change', (e) => {
    if (e.target instanceof HTMLSelectElement) e.currentTarget.requestSubmit();
  });
  document.getElementById('main').addEventListener('change', (e) => {
    if (e.target.classList?.contains('select')) countSelected();
  });
  document.getElementById('select-all')?.addEventListener('change', (e) => {
    for (const box of document.querySelectorAll('#conversation-list .select')) box.checked = e.target.checked;
    countSelected();
  });
  document.getElementById('bulk')?.addEventListener('click', (e) => {
    const action = e.target.closest('[data-bulk]')?.dataset.bulk;
    if (action === 'resolve') bulk({ status: 'resolved' });
    if (action === 'assign') {
      const v = document.getElementById('bulk-assignee').value;
      if (!v) return say(document.getElementById('bulk-error'), 'Choose whom to assign to.');
      bulk({ assignee_id: v === 'none' ? null : v });
    }
    if (action === 'tag') addTag();
  });

  shortcuts((key) => {
    const row = current();
    switch (key) {
      case 'j': select(cursor + 1); return false;
      case 'k': select(cursor - 1); return false;
      case 'o':
      case 'Enter':
        if (row) { location.assign(row.querySelector('a.open').href); return false; }
        return true;
      case 'x':
        if (row) {
          const box = row.querySelector('.select');
          box.checked = !box.checked;
          countSelected();
          return false;
        }
        return true;
      case 'e':
        if (row) { patchOne(row.dataset.id, { status: 'resolved' }); return false; }
        return true;
      case 'a':
        if (row) { patchOne(row.dataset.id, { assignee_id: me() }); return false; }
        return true;
      default: return true;
    }
  });

  // Reconnections replay what was missed as events, which refresh.
  connect({ event: () => refresh() });
}

async function addTag() {
  const input = document.getElementById('bulk-tag');
  const tag = input.value.trim();
  if (!tag) return say(document.getElementById('bulk-error'), 'Type the tag to add.');
  await bulk({ add_tags: [tag] });
  input.value = '';
}

async function patchOne(id, patch) {
  const error = document.getElementById('bulk-error');
  try {
    await api('PATCH', `/api/v1/conversations/${encodeURIComponent(id)}`, patch);
    await refresh();
  } catch (err) {
    say(error, err.message);
  }
}
