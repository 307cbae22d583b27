import type { AdminPrefix, AdminRoute } from '../admin/server.ts';
import { cookieValue, type ConsoleSessions } from '../admin/api/session.ts';
import type { AdminGuard } from '../admin/auth.ts';
import { consoleRoutes } from '../console/serve.ts';
import type { LiveSummary } from '../console/summary.ts';
import type { IdentityService } from '../identity/index.ts';
import { sendProblem } from '../monitor/http.ts';

/** Identity endpoints the console signs in and manages users and keys through (never signup or its own page). */
const RELAYED =
  /^\/(login(\/totp|\/recovery)?|passkeys\/login\/(options|verify)|token|logout|me|step-up|totp\/(enroll|confirm)|api-keys(\/[^/]+(\/rotate)?)?|admin\/users(\/[^/]+(\/(disable|enable|unlock|reset-mfa))?)?)$/;

/**
 * The console on the admin listener: its files under `/console/`, the per-second live
 * summary (`/admin/console/live`, a viewer or admin credential) and, when the identity service runs,
 * a same-origin relay `/console/auth/…` → `{identity prefix}/…` for the endpoints the
 * console uses, so the page signs in without cross-origin requests. The identity service
 * applies its own rules (throttles, MFA, admin role, recent authentication) as on the
 * gateway's listener.
 */
export function consoleAdminRoutes(o: {
  summary: LiveSummary;
  guard: AdminGuard;
  identity: IdentityService | undefined;
  /** The admin API's console sessions: the live summary accepts their cookie too. */
  sessions?: ConsoleSessions | undefined;
  dir?: string;
}): { routes: AdminRoute[]; prefixes: AdminPrefix[] } {
  const routes: AdminRoute[] = [
    ...consoleRoutes(o.dir),
    {
      method: 'GET',
      path: '/admin/console/live',
      handle: async (req, res) => {
        // A console session (cookie, Path=/admin) stands for its access token, as on the admin API.
        const id = req.headers.authorization === undefined ? cookieValue(req.headers.cookie) : undefined;
        const found = id !== undefined ? await o.sessions?.lookup(id) : undefined;
        if (found?.ok) req.headers.authorization = `Bearer ${found.session.tokens.accessToken}`;
        const verdict = await o.guard.read(req);
        if (!verdict.ok) return sendProblem(res, verdict.code, verdict.detail, verdict.headers);
        if (!o.summary.attach(req, res))
          sendProblem(res, 'too-many-requests', 'Too many live dashboard clients', { 'retry-after': '10' });
      },
    },
  ];
  const identity = o.identity;
  const prefixes: AdminPrefix[] = identity
    ? [
        {
          prefix: '/console/auth',
          handle: (req, res) => {
            const url = new URL(req.url ?? '/', 'http://admin');
            const rest = url.pathname.slice('/console/auth'.length);
            if (!RELAYED.test(rest))
              return sendProblem(res, 'not-found', 'The console relays no such identity endpoint');
            req.url = identity.config.prefix + rest + url.search;
            return identity.handle(req, res);
          },
        },
      ]
    : [];
  return { routes, prefixes };
}
