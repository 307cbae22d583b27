import { useState } from 'preact/hooks';
import { API, ApiError, AUTH, post, session, type ConsoleSession, type TokenResponse } from '../api.ts';
import { Button, ErrorBox, Field } from '../ui.tsx';
import { getAssertion } from '../webauthn.ts';

interface LoginAnswer extends Partial<TokenResponse> {
  mfa_required?: boolean;
  mfa_token?: string;
  methods?: string[];
  mfa_enrollment_required?: boolean;
}

type Step =
  | { kind: 'password' }
  | { kind: 'second'; mfaToken: string; methods: string[] }
  | { kind: 'enrol'; qrSvg: string; secret: string; token: TokenResponse }
  | { kind: 'recovery'; codes: string[] };

/**
 * Sign-in: username + password, then the second factor (TOTP code or passkey); a
 * passkey alone (passwordless, user verification). An account without a second factor
 * (the first admin) enrols TOTP here: the QR code, then a code to confirm, then signs
 * in again with it.
 */
export function SignIn() {
  const [step, setStep] = useState<Step>({ kind: 'password' });
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');

  const act = async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await fn();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  /** No second factor yet (the first admin): enrol TOTP with the password-only token. */
  const enrol = async (r: LoginAnswer) => {
    if (!r.access_token) throw new Error('The server answered without a token');
    // The password-only token is used for the enrolment only: it never becomes the session.
    const e = await post<{ qr_svg: string; secret: string }>(`${AUTH}/totp/enroll`, {}, r.access_token);
    setStep({ kind: 'enrol', qrSvg: e.qr_svg, secret: e.secret, token: r as TokenResponse });
  };

  const signIn = (e: Event) => {
    e.preventDefault();
    void act(async () => {
      const otp = code.trim();
      if (otp) {
        // The admin API's console session: cookie + CSRF token, password and code in one request.
        try {
          session.setCookie(await post<ConsoleSession>(`${API}/session`, { username, password, code: otp }));
          setPassword('');
          setCode('');
          return;
        } catch (err) {
          if (!(err instanceof ApiError && (err.status === 404 || err.status === 405))) throw err;
        }
      }
      // No console sessions on this server, or no code given: the identity service's sign-in.
      const r = await post<LoginAnswer>(`${AUTH}/login`, { username, password });
      setPassword('');
      if (!r.mfa_required || !r.mfa_token) return enrol(r);
      if (otp && r.methods?.includes('totp')) {
        setCode('');
        return session.set(
          await post<TokenResponse>(`${AUTH}/login/totp`, { mfa_token: r.mfa_token, code: otp }),
        );
      }
      setStep({ kind: 'second', mfaToken: r.mfa_token, methods: r.methods ?? [] });
    });
  };

  const totp = (mfaToken: string) => (e: Event) => {
    e.preventDefault();
    void act(async () => {
      const t = await post<TokenResponse>(`${AUTH}/login/totp`, { mfa_token: mfaToken, code: code.trim() });
      setCode('');
      session.set(t);
    });
  };

  const passkey = (mfaToken?: string) =>
    void act(async () => {
      const body = mfaToken ? { mfa_token: mfaToken } : {};
      const o = await post<{ challenge_id: string; options: Parameters<typeof getAssertion>[0] }>(
        `${AUTH}/passkeys/login/options`,
        body,
      );
      const assertion = { ...body, challenge_id: o.challenge_id, response: await getAssertion(o.options) };
      // The admin API's console session (HttpOnly cookie + CSRF token), as with password + code.
      try {
        session.setCookie(await post<ConsoleSession>(`${API}/session/passkey`, assertion));
        return;
      } catch (err) {
        if (!(err instanceof ApiError && (err.status === 404 || err.status === 405))) throw err;
      }
      // No console sessions on this server: the identity service's token, in memory only.
      session.set(await post<TokenResponse>(`${AUTH}/passkeys/login/verify`, assertion));
    });

  const confirm = (token: TokenResponse) => (e: Event) => {
    e.preventDefault();
    void act(async () => {
      const r = await post<{ recovery_codes?: string[] }>(
        `${AUTH}/totp/confirm`,
        { code: code.trim() },
        token.access_token,
      );
      setCode('');
      setStep({ kind: 'recovery', codes: r.recovery_codes ?? [] });
    });
  };

  return (
    <main class="signin" aria-labelledby="signin-h">
      <div class="card">
        <h1 id="signin-h">Rampart console</h1>
        <ErrorBox error={error} />
        {step.kind === 'password' && (
          <>
            <form onSubmit={signIn} aria-label="Sign in with password">
              <Field
                id="username"
                label="Username"
                autocomplete="username webauthn"
                required
                value={username}
                onInput={(e) => setUsername(e.currentTarget.value)}
              />
              <Field
                id="password"
                label="Password"
                type="password"
                autocomplete="current-password"
                required
                value={password}
                onInput={(e) => setPassword(e.currentTarget.value)}
              />
              <Field
                id="code"
                label="Authenticator code"
                hint="The 6-digit code of your authenticator app; leave empty the first time, to set one up."
                inputMode="numeric"
                autocomplete="one-time-code"
                pattern="[0-9]{6,8}"
                value={code}
                onInput={(e) => setCode(e.currentTarget.value)}
              />
              <button class="btn btn-primary" type="submit" disabled={busy}>
                Sign in
              </button>
            </form>
            <p class="or">or</p>
            <Button onClick={() => passkey()} busy={busy}>
              Sign in with a passkey
            </Button>
          </>
        )}
        {step.kind === 'second' && (
          <>
            {step.methods.includes('totp') && (
              <form onSubmit={totp(step.mfaToken)} aria-label="Authenticator code">
                <Field
                  id="otp"
                  label="Code from your authenticator app"
                  inputMode="numeric"
                  autocomplete="one-time-code"
                  pattern="[0-9 ]{6,8}"
                  required
                  value={code}
                  onInput={(e) => setCode(e.currentTarget.value)}
                />
                <button class="btn btn-primary" type="submit" disabled={busy}>
                  Verify
                </button>
              </form>
            )}
            {step.methods.includes('passkey') && (
              <Button onClick={() => passkey(step.mfaToken)} busy={busy}>
                Use my passkey
              </Button>
            )}
            <Button onClick={() => setStep({ kind: 'password' })}>Back</Button>
          </>
        )}
        {step.kind === 'enrol' && (
          <form onSubmit={confirm(step.token)} aria-label="Enrol an authenticator">
            <h2>Set up two-factor authentication</h2>
            <p>
              The console needs a second factor. Scan the code with an authenticator app, then enter the code
              it shows.
            </p>
            <img
              class="qr"
              alt="QR code of the authenticator secret"
              src={`data:image/svg+xml;base64,${btoa(step.qrSvg)}`}
              width={200}
              height={200}
            />
            <p>
              Or type this secret: <code data-testid="totp-secret">{step.secret}</code>
            </p>
            <Field
              id="enrol-otp"
              label="Code from your authenticator app"
              inputMode="numeric"
              autocomplete="one-time-code"
              required
              value={code}
              onInput={(e) => setCode(e.currentTarget.value)}
            />
            <button class="btn btn-primary" type="submit" disabled={busy}>
              Confirm
            </button>
          </form>
        )}
        {step.kind === 'recovery' && (
          <>
            <h2>Save your recovery codes</h2>
            <p>Each code signs you in once if you lose your authenticator. They are shown only now.</p>
            <ul class="codes" data-testid="recovery-codes">
              {step.codes.map((c) => (
                <li key={c}>
                  <code>{c}</code>
                </li>
              ))}
            </ul>
            <Button kind="primary" onClick={() => setStep({ kind: 'password' })}>
              I saved them — sign in
            </Button>
          </>
        )}
      </div>
    </main>
  );
}
