// Rampart identity page: password (+ TOTP) sign-in, passkey registration, passwordless
// passkey sign-in and passkey management. Plain browser script, no build step, no
// third-party code, no inline handlers (works under CSP script-src 'self').
//
// Tokens are kept in this closure only: never in localStorage/sessionStorage/cookies
// (an XSS could read storage, and a reload simply signs the user out).
'use strict';

(() => {
  // ── API base: the page is {prefix}/ui, the API is {prefix}/… ────────────────
  const prefix = location.pathname.replace(/\/ui(?:\/.*)?$/, '');

  /** In-memory session. */
  let session = null; // { accessToken, refreshToken, claims }
  let mfaToken = null;

  const $ = (id) => {
    const el = document.getElementById(id);
    if (!el) throw new Error(`missing #${id}`);
    return el;
  };

  // ── Styles (CSSOM, so no inline <style> is needed under a strict CSP) ──────
  const CSS = `
    :root { color-scheme: light dark; --fg: #1b1f24; --bg: #f6f7f9; --card: #fff; --muted: #57606a;
            --accent: #0b5cad; --accent-fg: #fff; --danger: #b42318; --ok: #116329; --border: #d0d7de; }
    @media (prefers-color-scheme: dark) {
      :root { --fg: #e6edf3; --bg: #0d1117; --card: #161b22; --muted: #9da7b3; --accent: #4493f8;
              --accent-fg: #0d1117; --danger: #ff7b72; --ok: #3fb950; --border: #30363d; }
    }
    * { box-sizing: border-box; }
    body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
    header, main { max-width: 32rem; margin: 0 auto; padding: 0 1rem; }
    h1 { font-size: 1.5rem; margin: 2rem 0 1rem; }
    h2 { font-size: 1.25rem; margin-top: 0; }
    h3 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
    section { background: var(--card); border: 1px solid var(--border); border-radius: .5rem; padding: 1.25rem; margin-bottom: 1rem; }
    .field { margin-bottom: 1rem; }
    label { display: block; font-weight: 600; margin-bottom: .25rem; }
    input { width: 100%; padding: .55rem .65rem; font: inherit; color: inherit; background: transparent; border: 1px solid var(--border); border-radius: .375rem; }
    button { font: inherit; font-weight: 600; padding: .55rem 1rem; border-radius: .375rem; border: 1px solid var(--accent); background: var(--accent); color: var(--accent-fg); cursor: pointer; }
    button.secondary { background: transparent; color: var(--accent); }
    button.danger { background: transparent; border-color: var(--danger); color: var(--danger); padding: .25rem .75rem; }
    button[disabled] { opacity: .6; cursor: progress; }
    :focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
    .help { color: var(--muted); font-size: .9rem; margin: .35rem 0 0; }
    .divider { display: flex; align-items: center; gap: .75rem; color: var(--muted); margin: 1.25rem 0; }
    .divider::before, .divider::after { content: ""; flex: 1; border-top: 1px solid var(--border); }
    #status:empty, #error:empty { display: none; }
    #status { color: var(--ok); }
    #error { color: var(--danger); font-weight: 600; }
    dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
    dt { color: var(--muted); }
    dd { margin: 0; overflow-wrap: anywhere; }
    ul { list-style: none; padding: 0; margin: 0 0 1rem; }
    li { display: flex; justify-content: space-between; align-items: center; gap: 1rem; padding: .5rem 0; border-bottom: 1px solid var(--border); }
    li .meta { color: var(--muted); font-size: .85rem; display: block; }
    #logout { margin-top: .5rem; }
    .notice { border: 1px solid var(--accent); border-radius: .375rem; padding: .75rem 1rem; margin: 1rem 0; background: transparent; }
    .codes { list-style: decimal inside; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; columns: 2; }
    .codes li { display: list-item; border: 0; padding: .15rem 0; }
    details { margin: 1rem 0; }
    summary { cursor: pointer; color: var(--accent); }
    #mfa-step > button { margin: .25rem .5rem .75rem 0; }
    [hidden] { display: none !important; }
  `;
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  } catch {
    // Older browsers: unstyled but fully usable.
  }

  // ── base64url <-> bytes (WebAuthn JSON encoding) ────────────────────────────
  function b64urlToBytes(value) {
    const b64 = String(value).replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function bytesToB64url(buffer) {
    const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
    let bin = '';
    for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  const descriptor = (c) => ({ ...c, id: b64urlToBytes(c.id) });

  /** PublicKeyCredentialCreationOptionsJSON → options for navigator.credentials.create(). */
  function creationOptions(json) {
    return {
      ...json,
      challenge: b64urlToBytes(json.challenge),
      user: { ...json.user, id: b64urlToBytes(json.user.id) },
      excludeCredentials: (json.excludeCredentials || []).map(descriptor),
    };
  }

  /** PublicKeyCredentialRequestOptionsJSON → options for navigator.credentials.get(). */
  function requestOptions(json) {
    const out = { ...json, challenge: b64urlToBytes(json.challenge) };
    if (Array.isArray(json.allowCredentials)) out.allowCredentials = json.allowCredentials.map(descriptor);
    return out;
  }

  /** A credential's JSON (WebAuthn L3 §5.1 toJSON) around its encoded `response`. */
  function credentialJSON(cred, response) {
    const id = bytesToB64url(cred.rawId);
    return {
      id,
      rawId: id,
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response,
    };
  }

  /** RegistrationResponseJSON from a created credential. */
  function registrationJSON(cred) {
    const r = cred.response;
    return credentialJSON(cred, {
      clientDataJSON: bytesToB64url(r.clientDataJSON),
      attestationObject: bytesToB64url(r.attestationObject),
      transports: typeof r.getTransports === 'function' ? r.getTransports() : [],
    });
  }

  /** AuthenticationResponseJSON from an assertion. */
  function authenticationJSON(cred) {
    const r = cred.response;
    return credentialJSON(cred, {
      clientDataJSON: bytesToB64url(r.clientDataJSON),
      authenticatorData: bytesToB64url(r.authenticatorData),
      signature: bytesToB64url(r.signature),
      userHandle: r.userHandle && r.userHandle.byteLength > 0 ? bytesToB64url(r.userHandle) : undefined,
    });
  }

  // ── HTTP ────────────────────────────────────────────────────────────────────
  class ApiError extends Error {
    constructor(status, body) {
      const text = body && typeof body === 'object' ? body.detail || body.title : '';
      super(text || `Request failed (HTTP ${status})`);
      this.status = status;
      this.body = body;
    }
  }

  async function request(method, path, body, accessToken) {
    const headers = { Accept: 'application/json, application/problem+json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (accessToken) headers.Authorization = `Bearer ${accessToken}`;
    const res = await fetch(prefix + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'same-origin',
      redirect: 'error',
    });
    let data = null;
    if (res.status !== 204) {
      const type = res.headers.get('content-type') || '';
      if (type.includes('json')) data = await res.json().catch(() => null);
    }
    if (!res.ok) throw new ApiError(res.status, data);
    return data;
  }

  /** Calls the API; with `auth`, sends the access token and renews it once (refresh token) when it expired. */
  async function api(method, path, body, auth) {
    if (!auth) return request(method, path, body);
    if (!session) throw new ApiError(401, { detail: 'Please sign in first.' });
    try {
      return await request(method, path, body, session.accessToken);
    } catch (err) {
      const expired =
        err instanceof ApiError &&
        err.status === 401 &&
        err.body &&
        /invalid-token/.test(String(err.body.type));
      if (!expired || !session.refreshToken) throw err;
      const renewed = await request('POST', '/token', {
        grant_type: 'refresh_token',
        refresh_token: session.refreshToken,
      });
      session.accessToken = renewed.access_token;
      session.refreshToken = renewed.refresh_token || session.refreshToken;
      session.claims = decodeClaims(renewed.access_token);
      return request(method, path, body, session.accessToken);
    }
  }

  // ── UI state ────────────────────────────────────────────────────────────────
  function setStatus(message) {
    $('status').textContent = message || '';
  }

  function setError(message) {
    const el = $('error');
    el.textContent = message || '';
    el.hidden = !message;
  }

  /** Runs an action with its button disabled and errors shown in the page. */
  async function busy(button, fn) {
    setError('');
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      await fn();
    } catch (err) {
      setStatus('');
      setError(describeError(err));
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }

  function describeError(err) {
    if (err && err.name === 'NotAllowedError') return 'The passkey request was cancelled or timed out.';
    if (err && err.name === 'InvalidStateError')
      return 'This authenticator already holds a passkey for your account.';
    if (err && err.name === 'SecurityError')
      return 'Passkeys are not allowed on this address (check the relying-party id and origin).';
    if (err && err.name === 'NotSupportedError')
      return 'This browser or authenticator does not support the requested passkey type.';
    if (err instanceof ApiError) {
      if (err.status === 401 && session)
        return `${err.message} Your session may have expired: sign in again.`;
      if (err.status === 429) return 'Too many attempts. Please wait and try again.';
      return err.message;
    }
    if (err instanceof TypeError) return 'Could not reach the identity service.';
    return (err && err.message) || 'Something went wrong.';
  }

  function decodeClaims(token) {
    try {
      const payload = token.split('.')[1];
      return JSON.parse(new TextDecoder().decode(b64urlToBytes(payload)));
    } catch {
      return {};
    }
  }

  const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  const formatTime = (ms) => (typeof ms === 'number' ? dateFmt.format(new Date(ms)) : '');

  function showSignedOut() {
    session = null;
    mfaToken = null;
    $('signed-in').hidden = true;
    $('signed-out').hidden = false;
    $('login-form').hidden = false;
    $('passwordless').hidden = false;
    $('mfa-step').hidden = true;
    $('recovery-codes').hidden = true;
    $('recovery-list').replaceChildren();
    $('passkey-list').replaceChildren();
    clearSecrets();
  }

  function clearSecrets() {
    for (const id of ['password', 'totp-code', 'recovery-code']) $(id).value = '';
  }

  /** Second step after the password: offer the factors the account has. */
  function showMfaStep(data) {
    mfaToken = data.mfa_token;
    const methods = Array.isArray(data.methods) ? data.methods : ['totp'];
    $('password').value = '';
    $('login-form').hidden = true;
    $('passwordless').hidden = true;
    $('mfa-step').hidden = false;
    $('mfa-passkey').hidden = !methods.includes('passkey');
    $('totp-form').hidden = !methods.includes('totp');
    $('recovery-step').hidden = !methods.includes('recovery_code');
    setStatus('Password accepted. Confirm with your second factor.');
    (methods.includes('totp')
      ? $('totp-code')
      : methods.includes('passkey')
        ? $('mfa-passkey')
        : $('mfa-heading')
    ).focus();
  }

  async function startSession(tokens, how) {
    if (!tokens || typeof tokens.access_token !== 'string')
      throw new Error('The identity service returned no access token.');
    session = {
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token || null,
      claims: decodeClaims(tokens.access_token),
    };
    mfaToken = null;
    const c = session.claims;
    $('session-sub').textContent = c.preferred_username || c.sub || '';
    $('session-amr').textContent = Array.isArray(c.amr) ? c.amr.join(', ') : '';
    $('session-exp').textContent = typeof c.exp === 'number' ? formatTime(c.exp * 1000) : '';
    $('enrol-notice').hidden = !(tokens.mfa_enrollment_required || c.mfa_enrollment_required);
    clearSecrets();
    $('signed-out').hidden = true;
    $('signed-in').hidden = false;
    setStatus(`Signed in ${how}.`);
    $('account-heading').focus();
    const me = await api('GET', '/me', undefined, true).catch(() => null);
    if (me && me.username)
      $('session-sub').textContent = me.display_name ? `${me.display_name} (${me.username})` : me.username;
    await refreshPasskeys();
  }

  /** Recovery codes come back once, with the first second factor: show them until dismissed. */
  function showRecoveryCodes(codes) {
    $('recovery-list').replaceChildren(
      ...codes.map((code) => {
        const li = document.createElement('li');
        li.textContent = code;
        return li;
      }),
    );
    $('recovery-codes').hidden = false;
    $('enrol-notice').hidden = true;
    $('recovery-heading').focus();
  }

  async function refreshPasskeys() {
    const data = await api('GET', '/passkeys', undefined, true);
    const items = Array.isArray(data) ? data : (data && (data.passkeys || data.items)) || [];
    const list = $('passkey-list');
    list.replaceChildren(
      ...items.map((pk) => {
        const li = document.createElement('li');
        li.dataset.testid = 'passkey-item';
        li.dataset.passkeyId = pk.id;
        const text = document.createElement('span');
        const name = document.createElement('span');
        name.className = 'name';
        name.dataset.testid = 'passkey-item-name';
        name.textContent = pk.name;
        const meta = document.createElement('span');
        meta.className = 'meta';
        const created = pk.createdAt ?? pk.created_at;
        const used = pk.lastUsedAt ?? pk.last_used_at;
        meta.textContent = `Added ${formatTime(created)}${used ? ` · last used ${formatTime(used)}` : ' · never used'}`;
        text.append(name, meta);
        const remove = document.createElement('button');
        remove.type = 'button';
        remove.className = 'danger';
        remove.textContent = 'Remove';
        remove.dataset.testid = 'passkey-remove';
        remove.setAttribute('aria-label', `Remove passkey ${pk.name}`);
        remove.addEventListener('click', () =>
          busy(remove, async () => {
            if (
              !window.confirm(
                `Remove the passkey “${pk.name}”? You will no longer be able to sign in with it.`,
              )
            )
              return;
            await api('DELETE', `/passkeys/${encodeURIComponent(pk.id)}`, undefined, true);
            await refreshPasskeys();
            setStatus(`Passkey “${pk.name}” removed.`);
          }),
        );
        li.append(text, remove);
        return li;
      }),
    );
    $('passkeys-empty').hidden = items.length > 0;
    list.dataset.count = String(items.length);
  }

  // ── Actions ─────────────────────────────────────────────────────────────────
  $('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    busy($('login-submit'), async () => {
      const username = $('username').value.trim();
      const password = $('password').value;
      if (!username || !password) throw new Error('Enter your username and password.');
      setStatus('Signing in…');
      const data = await api('POST', '/login', { username, password });
      if (data && data.mfa_token) return showMfaStep(data);
      await startSession(data, 'with your password');
    });
  });

  $('totp-form').addEventListener('submit', (event) => {
    event.preventDefault();
    busy($('totp-submit'), async () => {
      const code = $('totp-code').value.replace(/\s+/g, '');
      if (!/^\d{6}$/.test(code)) throw new Error('Enter the 6-digit code.');
      if (!mfaToken) throw new Error('Start again with your password.');
      setStatus('Checking the code…');
      const data = await api('POST', '/login/totp', { mfa_token: mfaToken, code });
      await startSession(data, 'with your password and a one-time code');
    });
  });

  $('recovery-form').addEventListener('submit', (event) => {
    event.preventDefault();
    busy($('recovery-submit'), async () => {
      const code = $('recovery-code').value.trim();
      if (!code) throw new Error('Enter a recovery code.');
      if (!mfaToken) throw new Error('Start again with your password.');
      setStatus('Checking the recovery code…');
      const data = await api('POST', '/login/recovery', { mfa_token: mfaToken, code });
      await startSession(data, 'with your password and a recovery code');
      if (typeof data.recovery_codes_left === 'number') {
        setStatus(`Signed in with a recovery code. ${data.recovery_codes_left} recovery code(s) left.`);
      }
    });
  });

  function requirePasskeys() {
    if (!window.PublicKeyCredential || !navigator.credentials)
      throw new Error('This browser does not support passkeys.');
  }

  /** Passkey sign-in: passwordless (`bound` = {}) or as the second step (`bound` = { mfa_token }). */
  async function passkeySignIn(bound, how) {
    setStatus('Waiting for your passkey…');
    const { challenge_id, options } = await api('POST', '/passkeys/login/options', bound);
    const credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
    if (!credential) throw new Error('No passkey was selected.');
    setStatus('Verifying…');
    const data = await api('POST', '/passkeys/login/verify', {
      challenge_id,
      ...bound,
      response: authenticationJSON(credential),
    });
    await startSession(data, how);
  }

  $('mfa-passkey').addEventListener('click', () => {
    busy($('mfa-passkey'), async () => {
      requirePasskeys();
      if (!mfaToken) throw new Error('Start again with your password.');
      await passkeySignIn({ mfa_token: mfaToken }, 'with your password and a passkey');
    });
  });

  $('mfa-cancel').addEventListener('click', () => {
    showSignedOut();
    setStatus('');
    setError('');
    $('username').focus();
  });

  $('passkey-login').addEventListener('click', () => {
    busy($('passkey-login'), async () => {
      requirePasskeys();
      await passkeySignIn({}, 'with a passkey');
    });
  });

  $('register-form').addEventListener('submit', (event) => {
    event.preventDefault();
    busy($('passkey-register'), async () => {
      requirePasskeys();
      const name = $('passkey-name').value.trim() || defaultPasskeyName();
      setStatus('Follow your browser’s prompt to create the passkey…');
      const { challenge_id, options } = await api('POST', '/passkeys/register/options', {}, true);
      const credential = await navigator.credentials.create({ publicKey: creationOptions(options) });
      if (!credential) throw new Error('No passkey was created.');
      setStatus('Saving…');
      const created = await api(
        'POST',
        '/passkeys/register/verify',
        { challenge_id, name, response: registrationJSON(credential) },
        true,
      );
      $('passkey-name').value = '';
      await refreshPasskeys();
      setStatus(`Passkey “${(created && created.name) || name}” added.`);
      if (created && Array.isArray(created.recovery_codes) && created.recovery_codes.length > 0) {
        showRecoveryCodes(created.recovery_codes);
      }
    });
  });

  $('recovery-done').addEventListener('click', () => {
    $('recovery-codes').hidden = true;
    $('recovery-list').replaceChildren();
    $('passkeys-heading').focus();
  });

  $('logout').addEventListener('click', () => {
    busy($('logout'), async () => {
      const current = session;
      // Best effort: end the server-side session (refresh-token family) too.
      if (current) {
        await api(
          'POST',
          '/logout',
          current.refreshToken ? { refresh_token: current.refreshToken } : {},
          true,
        ).catch(() => undefined);
      }
      showSignedOut();
      setStatus('Signed out.');
      $('signin-heading').focus();
    });
  });

  function defaultPasskeyName() {
    const ua = navigator.userAgentData && navigator.userAgentData.platform;
    return ua ? `Passkey on ${ua}` : 'Passkey';
  }

  showSignedOut();
  document.body.dataset.ready = 'true';
})();
