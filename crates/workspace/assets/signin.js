// Signing in (with the authenticator's code when asked for one) and turning on two-factor
// sign-in from the account page.

import { api, say } from './api.js';

export function start() {
  const form = document.getElementById('signin');
  if (form) signIn(form);
  const totp = document.getElementById('totp-start');
  if (totp) enroll(totp);
}

function signIn(form) {
  const error = document.getElementById('signin-error');
  const codeField = document.getElementById('code-field');
  const code = document.getElementById('code');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    say(error, '');
    const body = {
      email: document.getElementById('email').value,
      password: document.getElementById('password').value,
    };
    if (!codeField.hidden && code.value.trim()) body.code = code.value.trim();
    try {
      await api('POST', '/api/v1/session', body);
      location.assign(form.dataset.next || '/inbox');
    } catch (err) {
      if (err.code === 'totp_required') {
        if (codeField.hidden) {
          codeField.hidden = false;
          code.required = true;
          code.focus();
          say(error, 'Enter the code from your authenticator app.');
        } else {
          say(error, 'That code is not right. Codes change every 30 seconds; try the current one.');
          code.select();
        }
      } else if (err.status === 429) {
        say(error, err.message);
      } else if (err.status === 401) {
        say(error, 'The email or password is not right.');
      } else {
        say(error, err.message);
      }
    }
  });
}

function enroll(button) {
  const error = document.getElementById('totp-error');
  button.addEventListener('click', async () => {
    say(error, '');
    try {
      const e = await api('POST', '/api/v1/session/totp');
      document.getElementById('totp-secret').textContent = e.secret;
      document.getElementById('totp-url').textContent = e.otpauth_url;
      document.getElementById('totp-setup').hidden = false;
      button.hidden = true;
      document.getElementById('totp-code').focus();
    } catch (err) {
      say(error, err.message);
    }
  });
  document.getElementById('totp-confirm').addEventListener('submit', async (e) => {
    e.preventDefault();
    say(error, '');
    try {
      const r = await api('POST', '/api/v1/session/totp/confirm', { code: document.getElementById('totp-code').value.trim() });
      const list = document.getElementById('recovery-codes');
      list.replaceChildren(...r.recovery_codes.map((c) => {
        const li = document.createElement('li');
        li.textContent = c;
        return li;
      }));
      document.getElementById('totp-setup').hidden = true;
      document.getElementById('recovery').hidden = false;
      document.getElementById('totp-state').textContent = 'On. Signing in needs a code from your authenticator app.';
    } catch (err) {
      say(error, err.message);
    }
  });
}
