// The admin pages' forms: agents, teams, canned replies, store webhooks, shipment notices, the
// assistant's replies, business hours and API tokens, all through the API.

import { api, say } from './api.js';
import { start as startKnowledge } from './knowledge.js';

const fields = (form) => Object.fromEntries(new FormData(form).entries());
const errorOf = (form) => form.querySelector('.error');

/**
 * Shows why the server refused `form`: every field it names, each by the label of the input
 * that holds it (`data-field`) and marked invalid, one per line; else its one message.
 */
function showRefusal(form, err) {
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  const problems = err.fields?.length ? err.fields : (err.field ? [{ field: err.field, message: err.message }] : []);
  if (!problems.length) return say(errorOf(form), err.message);
  const lines = problems.map(({ field, message }) => {
    const input = form.querySelector(`[data-field="${CSS.escape(field)}"]`);
    input?.setAttribute('aria-invalid', 'true');
    return `${input?.dataset.label ?? field}: ${message}`;
  });
  say(errorOf(form), lines.join('\n'));
}

/** Submits `form` with `action(values)`, showing failures in its alert and reloading after. */
function onSubmit(form, action, { reload = true } = {}) {
  form?.addEventListener('submit', async (e) => {
    e.preventDefault();
    say(errorOf(form), '');
    try {
      await action(fields(form));
      if (reload) location.reload();
    } catch (err) {
      showRefusal(form, err);
    }
  });
}

/** The shop's wording for something we say: Save puts it at `path`, "back to" deletes it. */
function wordingForm(form, path, question) {
  onSubmit(form, (v) => api('PUT', path, v));
  form.querySelector('button.reset')?.addEventListener('click', async () => {
    if (!window.confirm(question)) return;
    try {
      await api('DELETE', path);
      location.reload();
    } catch (err) {
      say(errorOf(form), err.message);
    }
  });
}

export function start() {
  startKnowledge();
  onSubmit(document.getElementById('agent-form'), (v) => api('POST', '/api/v1/agents', v));
  onSubmit(document.getElementById('team-form'), (v) => api('POST', '/api/v1/teams', v));

  for (const select of document.querySelectorAll('select.agent-role')) {
    select.addEventListener('change', async () => {
      try {
        await api('PATCH', `/api/v1/agents/${encodeURIComponent(select.dataset.id)}`, { role: select.value });
      } catch (err) {
        window.alert(err.message);
      }
      location.reload();
    });
  }
  for (const button of document.querySelectorAll('button.agent-active')) {
    button.addEventListener('click', async () => {
      try {
        await api('PATCH', `/api/v1/agents/${encodeURIComponent(button.dataset.id)}`, { active: button.dataset.active === 'true' });
        location.reload();
      } catch (err) {
        window.alert(err.message);
      }
    });
  }

  for (const button of document.querySelectorAll('button.agent-reset-2fa')) {
    button.addEventListener('click', async () => {
      if (!window.confirm('Turn off this agent\'s two-factor sign-in? They are signed out and sign in with their password alone until they enrol again.')) return;
      try {
        await api('PATCH', `/api/v1/agents/${encodeURIComponent(button.dataset.id)}`, { reset_two_factor: true });
        location.reload();
      } catch (err) {
        window.alert(err.message);
      }
    });
  }

  for (const form of document.querySelectorAll('form.canned-form')) {
    const id = form.dataset.id;
    onSubmit(form, (v) => (id
      ? api('PUT', `/api/v1/canned-replies/${encodeURIComponent(id)}`, v)
      : api('POST', '/api/v1/canned-replies', v)));
    form.querySelector('button.delete')?.addEventListener('click', async () => {
      if (!window.confirm('Delete this canned reply?')) return;
      try {
        await api('DELETE', `/api/v1/canned-replies/${encodeURIComponent(id)}`);
        location.reload();
      } catch (err) {
        say(errorOf(form), err.message);
      }
    });
  }

  for (const button of document.querySelectorAll('button.delivery-retry')) {
    button.addEventListener('click', async () => {
      const error = button.parentElement.querySelector('.error');
      button.disabled = true;
      try {
        await api('POST', `/api/v1/webhook-deliveries/${encodeURIComponent(button.dataset.id)}/retry`);
        location.reload();
      } catch (err) {
        say(error, err.message);
        button.disabled = false;
      }
    });
  }

  for (const form of document.querySelectorAll('form.notice-form')) {
    wordingForm(form, `/api/v1/notice-templates/${encodeURIComponent(form.dataset.kind)}`,
      'Go back to the standard wording for this notice?');
  }
  for (const form of document.querySelectorAll('form.assistant-reply-form')) {
    wordingForm(form, `/api/v1/assistant/replies/${encodeURIComponent(form.dataset.key)}`,
      'Go back to the default wording for this reply?');
  }

  const hoursForm = document.getElementById('hours-form');
  const list = (text) => (text || '').split(/[\s,]+/).filter(Boolean);
  onSubmit(hoursForm, (v) => {
    const week = {};
    for (const [name, value] of Object.entries(v)) {
      // "09:00-12:30, 13:30 - 17:00": spans apart by commas, spaces allowed around the dash.
      if (name.startsWith('day-') && value.trim()) {
        week[name.slice(4)] = value.split(',').map((s) => s.trim()).filter(Boolean);
      }
    }
    return api('PUT', '/api/v1/business-hours',
      { timezone: v.timezone.trim(), week, closed_dates: list(v.closed_dates) });
  });
  hoursForm?.querySelector('button.reset')?.addEventListener('click', async () => {
    if (!window.confirm('Drop the business hours? The widget then goes only by who is online.')) return;
    try {
      await api('DELETE', '/api/v1/business-hours');
      location.reload();
    } catch (err) {
      say(errorOf(hoursForm), err.message);
    }
  });

  const tokenForm = document.getElementById('token-form');
  onSubmit(tokenForm, async (v) => {
    const t = await api('POST', '/api/v1/tokens', v);
    document.getElementById('new-token-value').textContent = t.token;
    document.getElementById('new-token').hidden = false;
    tokenForm.reset();
  }, { reload: false });
  for (const button of document.querySelectorAll('button.revoke')) {
    button.addEventListener('click', async () => {
      if (!window.confirm('Revoke this token? Whatever uses it stops working at once.')) return;
      try {
        await api('DELETE', `/api/v1/tokens/${encodeURIComponent(button.dataset.id)}`);
        location.reload();
      } catch (err) {
        window.alert(err.message);
      }
    });
  }
}
