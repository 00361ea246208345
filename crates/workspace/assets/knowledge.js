// The knowledge-base admin pages: the article editor with its live preview (the server
// renders it, exactly as the help center will), file uploads, categories and synonyms.
// Everything goes through the JSON API.

import { api, ApiError, say } from './api.js';

const PREVIEW_WAIT_MS = 250;

function editor() {
  const form = document.getElementById('article-form');
  if (!form) return;
  const id = form.dataset.id;
  const body = document.getElementById('article-body');
  const preview = document.getElementById('article-preview');
  const error = document.getElementById('article-error');
  let timer = null;
  let latest = 0;

  const render = async () => {
    const ticket = ++latest;
    try {
      const out = await api('POST', '/api/v1/articles/preview', { body_markdown: body.value });
      // Sanitised by the server (no script, no handlers); the page's CSP forbids inline
      // script besides.
      if (ticket === latest) {
        preview.innerHTML = out.html;
        say(error, '');
      }
    } catch (err) {
      if (ticket === latest) say(error, err.message);
    }
  };
  body.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(render, PREVIEW_WAIT_MS);
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    say(error, '');
    const v = Object.fromEntries(new FormData(form).entries());
    const payload = {
      title: v.title,
      body_markdown: v.body_markdown,
      published: form.elements.published.checked,
      summary: v.summary?.trim() ? v.summary : null,
      position: Number(v.position || 0),
    };
    if (v.slug?.trim()) payload.slug = v.slug.trim();
    try {
      if (id) {
        payload.category = v.category || null;
        await api('PATCH', `/api/v1/articles/${encodeURIComponent(id)}`, payload);
        location.reload();
      } else {
        if (v.category) payload.category = v.category;
        if (!payload.summary) delete payload.summary;
        payload.locale = v.locale;
        if (v.translation_of) payload.translation_of = v.translation_of;
        const created = await api('POST', '/api/v1/articles', payload);
        location.assign(`/admin/articles/${encodeURIComponent(created.id)}`);
      }
    } catch (err) {
      say(error, err.field ? `${err.field}: ${err.message}` : err.message);
    }
  });

  document.getElementById('article-delete')?.addEventListener('click', async () => {
    if (!window.confirm('Delete this article? Links to it stop working.')) return;
    try {
      await api('DELETE', `/api/v1/articles/${encodeURIComponent(id)}`);
      location.assign('/admin/articles');
    } catch (err) {
      say(error, err.message);
    }
  });

  const upload = document.getElementById('article-file');
  upload?.addEventListener('submit', async (e) => {
    e.preventDefault();
    const out = upload.querySelector('.error');
    const file = upload.elements.file.files[0];
    if (!file) return say(out, 'Choose a file first.');
    say(out, 'Uploading…');
    try {
      const res = await fetch(`/api/v1/articles/${encodeURIComponent(id)}/files?filename=${encodeURIComponent(file.name)}`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: {
          'content-type': file.type || 'application/octet-stream',
          'x-csrf-token': document.querySelector('meta[name="csrf-token"]')?.content ?? '',
        },
        body: file,
      });
      const data = await res.json().catch(() => null);
      if (!res.ok) throw new ApiError(res.status, data);
      const label = file.name.replace(/\.[^.]+$/, '').replace(/[[\]]/g, '');
      const snippet = `![${label}](${data.url})`;
      const at = body.selectionStart ?? body.value.length;
      body.value = `${body.value.slice(0, at)}${snippet}${body.value.slice(at)}`;
      body.dispatchEvent(new Event('input'));
      say(out, 'Added to the Markdown. Save the article to keep it.');
      upload.reset();
    } catch (err) {
      say(out, err.message);
    }
  });
}

function categories() {
  for (const form of document.querySelectorAll('form.category-form')) {
    const slug = form.dataset.slug;
    const out = form.querySelector('.error');
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const v = Object.fromEntries(new FormData(form).entries());
      const target = slug ?? v.slug?.trim();
      try {
        await api('PUT', `/api/v1/categories/${encodeURIComponent(target)}`, {
          name: v.name,
          description: v.description?.trim() ? v.description : null,
          position: Number(v.position || 0),
        });
        location.reload();
      } catch (err) {
        say(out, err.field ? `${err.field}: ${err.message}` : err.message);
      }
    });
    form.querySelector('button.delete')?.addEventListener('click', async () => {
      if (!window.confirm('Delete this category?')) return;
      try {
        await api('DELETE', `/api/v1/categories/${encodeURIComponent(slug)}`);
        location.reload();
      } catch (err) {
        say(out, err.message);
      }
    });
  }
}

function synonyms() {
  const form = document.getElementById('synonym-form');
  form?.addEventListener('submit', async (e) => {
    e.preventDefault();
    const terms = form.elements.terms.value.split(',').map((t) => t.trim()).filter(Boolean);
    try {
      await api('POST', '/api/v1/synonyms', { terms });
      location.reload();
    } catch (err) {
      say(form.querySelector('.error'), err.message);
    }
  });
  for (const button of document.querySelectorAll('button.synonym-delete')) {
    button.addEventListener('click', async () => {
      try {
        await api('DELETE', `/api/v1/synonyms/${encodeURIComponent(button.dataset.id)}`);
        location.reload();
      } catch (err) {
        window.alert(err.message);
      }
    });
  }
}

export function start() {
  editor();
  categories();
  synonyms();
}
