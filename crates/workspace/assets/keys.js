// Keyboard shortcuts shared by every page: `/` search, `?` help, Esc leaves a text box.

import { typing } from './api.js';

/**
 * Calls `handler(key, event)` for shortcut keys pressed outside text boxes; in one, a key is
 * only ever the letter it types. A handler that returns false has used the key: its default
 * is prevented, so a shortcut that moves the focus into a box (n, r) types nothing there.
 */
export function shortcuts(handler) {
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === 'Escape' && typing(e)) {
      e.target.blur();
      return;
    }
    if (typing(e)) return;
    if (handler(e.key, e) !== false) return;
    e.preventDefault();
  });
}

export function globalKeys() {
  const help = document.getElementById('help');
  shortcuts((key) => {
    if (key === '/') {
      document.getElementById('search')?.focus();
      return false;
    }
    if (key === '?' && help) {
      help.showModal();
      return false;
    }
    return true;
  });
}
