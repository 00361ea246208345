// The entry module every page loads: common behaviour, then the page's own module.

import { api, localTimes } from './api.js';
import { globalKeys } from './keys.js';

localTimes();
globalKeys();

document.getElementById('sign-out')?.addEventListener('click', async () => {
  try { await api('DELETE', '/api/v1/session'); } finally { location.assign('/login'); }
});

const page = document.body.dataset.page ?? '';
const modules = {
  signin: './signin.js',
  account: './signin.js',
  inbox: './inbox.js',
  conversation: './conversation.js',
};
const module = modules[page] ?? (page.startsWith('admin-') ? './admin.js' : null);
if (module) {
  import(module).then((m) => m.start?.()).then(() => { document.body.dataset.ready = 'true'; });
} else {
  document.body.dataset.ready = 'true';
}
