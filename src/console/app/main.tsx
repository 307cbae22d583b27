import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import './style.css';
import { API, AUTH, get, post, reauthenticate, session, signOut, type ConsoleSession } from './api.ts';
import { getAssertion } from './webauthn.ts';
import { Alerts } from './pages/alerts.tsx';
import { Apis } from './pages/apis.tsx';
import { Dashboard } from './pages/dashboard.tsx';
import { Findings } from './pages/findings.tsx';
import { Learn } from './pages/learn.tsx';
import { Posture } from './pages/posture.tsx';
import { SignIn } from './pages/signin.tsx';
import { Users } from './pages/users.tsx';
import { Button, Dialog, ErrorBox, Field, setReauthPrompt } from './ui.tsx';

const PAGES = [
  { id: 'dashboard', label: 'Dashboard', view: Dashboard },
  { id: 'alerts', label: 'Alerts', view: Alerts },
  { id: 'apis', label: 'APIs', view: Apis },
  { id: 'findings', label: 'Findings', view: Findings },
  { id: 'learn', label: 'Learn', view: Learn },
  { id: 'users', label: 'Users and keys', view: Users },
  { id: 'posture', label: 'Posture', view: Posture },
] as const;
type PageId = (typeof PAGES)[number]['id'];

/** Routes are `#/<page>`: the server serves one page, deep links need no server route. */
const route = (): PageId => {
  const id = location.hash.replace(/^#\/?/, '').split('/')[0];
  return (PAGES.find((p) => p.id === id)?.id ?? 'dashboard') as PageId;
};

function App() {
  const [signedIn, setSignedIn] = useState(session.signedIn);
  const [checked, setChecked] = useState(false);
  const [page, setPage] = useState<PageId>(route());

  useEffect(() => session.onChange(() => setSignedIn(session.signedIn)), []);
  useEffect(() => {
    const on = () => setPage(route());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  // A console session survives a reload (its cookie); a bearer token does not.
  useEffect(() => {
    get<ConsoleSession>(`${API}/session`)
      .then((s) => session.setCookie(s))
      .catch(() => undefined)
      .finally(() => setChecked(true));
  }, []);

  if (!checked) return <p class="muted center">Loading…</p>;
  if (!signedIn) return <SignIn />;
  const View = PAGES.find((p) => p.id === page)!.view;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Rampart</span>
        <nav aria-label="Console">
          <ul>
            {PAGES.map((p) => (
              <li key={p.id}>
                <a href={`#/${p.id}`} aria-current={p.id === page ? 'page' : undefined}>
                  {p.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          {session.user && <span data-testid="whoami">{session.user.username}</span>}
          <Button onClick={() => void signOut()}>Sign out</Button>
        </div>
      </header>
      <main id="main" class="page">
        <View />
      </main>
      <ReauthDialog />
    </>
  );
}

/**
 * The re-authentication dialog: a sensitive action past the recent-authentication window
 * asks for a fresh code. A wrong code is said in the dialog (which stays open); the action
 * runs again once the server accepted a code.
 */
function ReauthDialog() {
  const [open, setOpen] = useState(false);
  const [code, setCode] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const resolver = useRef<((ok: boolean) => void) | undefined>(undefined);
  const passkeys = typeof window.PublicKeyCredential === 'function';
  useEffect(() => {
    setReauthPrompt(
      () =>
        new Promise((resolve) => {
          resolver.current = resolve;
          setCode('');
          setError(undefined);
          setOpen(true);
        }),
    );
    return () => setReauthPrompt(undefined);
  }, []);
  const finish = (ok: boolean) => {
    setOpen(false);
    resolver.current?.(ok);
    resolver.current = undefined;
  };
  const submit = async (passkey = false) => {
    setBusy(true);
    setError(undefined);
    try {
      if (passkey) {
        const o = await post<{ challenge_id: string; options: Parameters<typeof getAssertion>[0] }>(
          `${AUTH}/passkeys/login/options`,
          {},
        );
        await reauthenticate({ challenge_id: o.challenge_id, response: await getAssertion(o.options) });
      } else await reauthenticate({ code: code.trim() });
      finish(true);
    } catch (e) {
      setError(e);
      setCode('');
      document.getElementById('reauth-code')?.focus();
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title="Confirm it is you" open={open} onClose={() => finish(false)}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <p>
          This change needs a recent sign-in: enter a fresh code from your authenticator app
          {passkeys ? ', or use your passkey' : ''}.
        </p>
        <Field
          id="reauth-code"
          label="Authenticator code"
          inputMode="numeric"
          autocomplete="one-time-code"
          pattern="[0-9]{6,10}"
          maxLength={10}
          required
          value={code}
          onInput={(e) => setCode(e.currentTarget.value)}
        />
        <ErrorBox error={error} />
        <button type="submit" class="btn btn-primary" disabled={busy}>
          Confirm
        </button>
        {passkeys ? (
          <button type="button" class="btn" disabled={busy} onClick={() => void submit(true)}>
            Use a passkey
          </button>
        ) : null}
      </form>
    </Dialog>
  );
}

render(<App />, document.getElementById('root')!);
