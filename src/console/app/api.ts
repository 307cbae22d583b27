/**
 * The console's only way to the server: same-origin fetches to the admin listener.
 * Two ways to be signed in: a console session (the admin API's `HttpOnly; Secure;
 * SameSite=Strict` cookie, with its CSRF token sent back in `X-CSRF-Token` on every
 * change — after password + TOTP or a passkey), or, on a server without console sessions,
 * an access token of the identity service held in memory only — never in localStorage.
 * Every answer that is not 2xx becomes an `ApiError` carrying the RFC 9457 problem.
 */

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  [k: string]: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }
  /** The problem's short code (`…/problems/mfa-required` → `mfa-required`). */
  get code(): string {
    return (this.problem.type ?? '').split('/').pop() ?? '';
  }
}

export interface TokenResponse {
  access_token: string;
  refresh_token?: string;
  expires_in?: number;
}

/** The admin API's console session (docs/admin-api.md). */
export interface ConsoleSession {
  user: { id: string; username: string; roles: string[] };
  csrfToken: string;
  authenticatedAt: number;
  idleExpiresAt: number;
  expiresAt: number;
}

let accessToken: string | undefined;
let refreshToken: string | undefined;
let cookie: ConsoleSession | undefined;
const listeners = new Set<() => void>();
const changed = () => {
  for (const l of listeners) l();
};

export const session = {
  get signedIn(): boolean {
    return accessToken !== undefined || cookie !== undefined;
  },
  /** `cookie` (console session) or `token` (bearer). */
  get mode(): 'cookie' | 'token' | undefined {
    return cookie ? 'cookie' : accessToken ? 'token' : undefined;
  },
  get user(): ConsoleSession['user'] | undefined {
    return cookie?.user;
  },
  set(t: TokenResponse): void {
    accessToken = t.access_token;
    refreshToken = t.refresh_token;
    cookie = undefined;
    changed();
  },
  setCookie(s: ConsoleSession): void {
    cookie = s;
    accessToken = undefined;
    refreshToken = undefined;
    changed();
  },
  clear(): void {
    accessToken = undefined;
    refreshToken = undefined;
    cookie = undefined;
    changed();
  },
  onChange(l: () => void): () => void {
    listeners.add(l);
    return () => listeners.delete(l);
  },
  get refresh(): string | undefined {
    return refreshToken;
  },
};

function headers(json: boolean, method = 'GET', bearer = accessToken): Record<string, string> {
  const h: Record<string, string> = { accept: 'application/json, application/problem+json' };
  if (json) h['content-type'] = 'application/json';
  if (bearer) h.authorization = `Bearer ${bearer}`;
  if (cookie && method !== 'GET' && method !== 'HEAD') h['x-csrf-token'] = cookie.csrfToken;
  return h;
}

async function problemOf(res: Response): Promise<Problem> {
  try {
    const body = (await res.json()) as Problem;
    return typeof body === 'object' && body !== null ? body : { status: res.status };
  } catch {
    return { status: res.status, title: res.statusText };
  }
}

/** `as`: a token for this request only (the enrolment's password-only token), never the session's. */
export async function request<T>(method: string, path: string, body?: unknown, as?: string): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: headers(body !== undefined, method, as ?? accessToken),
    credentials: 'same-origin',
    cache: 'no-store',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  // RFC 9470 step-up (a change wants a recent authentication): the session stands, withReauth asks for a code.
  const stepUp =
    res.status === 401 &&
    (res.headers.get('www-authenticate') ?? '').includes('insufficient_user_authentication');
  if (res.status === 401 && accessToken && !as && !stepUp && path !== AUTH + '/token') {
    // An expired access token: one refresh, then the request again; else sign in anew.
    if (await refresh()) return request<T>(method, path, body);
    session.clear();
  } else if (res.status === 401 && cookie && !stepUp) session.clear(); // idle or absolute timeout
  if (!res.ok) throw new ApiError(res.status, await problemOf(res));
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  return (type.includes('json') ? await res.json() : await res.text()) as T;
}

async function refresh(): Promise<boolean> {
  if (!refreshToken) return false;
  try {
    session.set(
      await request<TokenResponse>('POST', AUTH + '/token', {
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
      }),
    );
    return true;
  } catch {
    return false;
  }
}

export const get = <T>(path: string): Promise<T> => request<T>('GET', path);
/** No body unless given: the admin API refuses a body where its document declares none. */
export const post = <T>(path: string, body?: unknown, as?: string): Promise<T> =>
  request<T>('POST', path, body, as);
export const del = <T>(path: string): Promise<T> => request<T>('DELETE', path);

/** The admin API (its own OpenAPI document: src/admin/api/openapi.yaml). */
export const API = '/admin/api';

/** Builds `path?k=v…` from the defined values. */
export const q = (path: string, params: Record<string, string | number | undefined>): string => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `${path}?${s}` : path;
};

/** A page of the admin API's lists. */
export interface Page<T> {
  items: T[];
  next: string | null;
}

/** Problems after which a fresh second factor lets the action through (re-authentication). */
export const needsReauth = (e: unknown): boolean =>
  e instanceof ApiError &&
  ['insufficient-user-authentication', 'reauthentication-required', 'step-up-required'].includes(e.code);

/** Re-authenticates with a one-time code: the console session's reauth, or the identity service's step-up. */
export async function reauth(code: string): Promise<void> {
  if (session.mode === 'cookie')
    session.setCookie(await post<ConsoleSession>(`${API}/session/reauth`, { code }));
  else session.set(await post<TokenResponse>(`${AUTH}/step-up`, { method: 'totp', code }));
}

export async function signOut(): Promise<void> {
  try {
    if (session.mode === 'cookie') await del(`${API}/session`);
    else if (session.mode === 'token')
      await post(`${AUTH}/logout`, refreshToken ? { refresh_token: refreshToken } : {});
  } catch {
    // Signed out locally whatever the server said.
  }
  session.clear();
}

/** The identity service, relayed by the admin listener (same origin). */
export const AUTH = '/console/auth';

/** Path segments are encoded: ids come from the server and are never trusted as paths. */
export const seg = (s: string): string => encodeURIComponent(s);

/**
 * A Server-Sent Events stream read with fetch (EventSource cannot send the bearer
 * token). Calls `on(event, data)` per message until `signal` aborts; reconnects after
 * `retry` ms when the server closes the stream.
 */
export function stream(
  path: string,
  on: (event: string, data: string) => void,
  signal: AbortSignal,
  onError: (e: unknown) => void = () => {},
): void {
  let retry = 2000;
  const run = async (): Promise<void> => {
    const res = await fetch(path, { headers: { ...headers(false), accept: 'text/event-stream' }, signal });
    if (!res.ok || !res.body) throw new ApiError(res.status, await problemOf(res));
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let end: number;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          else if (line.startsWith('retry:')) retry = Number(line.slice(6)) || retry;
        }
        if (data.length > 0) on(event, data.join('\n'));
      }
    }
  };
  const loop = async (): Promise<void> => {
    while (!signal.aborted) {
      try {
        await run();
      } catch (e) {
        if (signal.aborted) return;
        onError(e);
        if (e instanceof ApiError && (e.status === 401 || e.status === 403)) return;
      }
      await new Promise((r) => setTimeout(r, retry));
    }
  };
  void loop();
}

/**
 * Re-authentication for the console's dialog (the same endpoints as {@link reauth}) with a
 * code or a passkey assertion, which keeps the session when the proof is refused: the server
 * answers a wrong code 401 `invalid-otp` (another account's passkey: `invalid-credentials`),
 * which `request` would take for an ended session. Any other 401 (the session timed out
 * meanwhile) still signs out.
 */
export async function reauthenticate(
  proof: { code: string } | { challenge_id: string; response: Record<string, unknown> },
): Promise<void> {
  const cookieMode = session.mode === 'cookie';
  const method = 'code' in proof ? 'totp' : 'passkey';
  const res = await fetch(cookieMode ? `${API}/session/reauth` : `${AUTH}/step-up`, {
    method: 'POST',
    headers: headers(true, 'POST'),
    credentials: 'same-origin',
    cache: 'no-store',
    body: JSON.stringify(cookieMode ? proof : { method, ...proof }),
  });
  if (!res.ok) {
    const e = new ApiError(res.status, await problemOf(res));
    // A wrong code or a passkey the server refused leaves the session as it is.
    const refusedProof = e.code === 'invalid-otp' || e.code === 'invalid-credentials';
    if (res.status === 401 && !refusedProof) session.clear();
    throw e;
  }
  if (cookieMode) session.setCookie((await res.json()) as ConsoleSession);
  else session.set((await res.json()) as TokenResponse);
}
