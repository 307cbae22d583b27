import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { problem, PROBLEM_CONTENT_TYPE } from '../core/errors.ts';
import { CONSOLE_DIST, type ConsoleManifest } from './build.ts';

/** The console's route prefix on the admin listener. */
export const CONSOLE_PREFIX = '/console/';

/**
 * Strict CSP: scripts and styles only from the console's own files (no inline script,
 * no inline style attribute), XHR/SSE only to the same origin, no frames, no plugins,
 * no base or form targets elsewhere.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

export const CONSOLE_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
};

export interface ConsoleRoute {
  method: 'GET' | 'HEAD';
  path: string;
  handle(req: IncomingMessage, res: ServerResponse): void;
}

interface Asset {
  body: Buffer;
  gzip: Buffer;
  type: string;
  cache: string;
}

/**
 * Routes serving the built console from `dir`: `/console/` (the page, revalidated each
 * load) and its content-hashed assets (immutable for a year). Gzip when the client
 * accepts it. Exact paths only (the app routes with `#/…`), so the admin listener needs
 * no prefix matching and nothing outside the build can be requested. Returns no routes
 * when the console is not built (the caller logs it).
 */
export function consoleRoutes(dir = CONSOLE_DIST): ConsoleRoute[] {
  let manifest: ConsoleManifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ConsoleManifest;
  } catch {
    return [];
  }
  const routes: ConsoleRoute[] = [];
  for (const f of manifest.files) {
    if (!/^[A-Za-z0-9._-]+$/.test(f.name)) continue;
    const body = readFileSync(join(dir, f.name));
    const asset: Asset = {
      body,
      gzip: gzipSync(body, { level: 9 }),
      type: f.type,
      cache: f.name === 'index.html' ? 'no-cache' : 'public, max-age=31536000, immutable',
    };
    const paths =
      f.name === 'index.html' ? [CONSOLE_PREFIX, '/console/index.html'] : [CONSOLE_PREFIX + f.name];
    for (const path of paths)
      for (const method of ['GET', 'HEAD'] as const)
        routes.push({ method, path, handle: (req, res) => send(req, res, asset) });
  }
  // `/console` without the slash: relative asset URLs need the slash.
  for (const method of ['GET', 'HEAD'] as const)
    routes.push({
      method,
      path: '/console',
      handle: (_req, res) => {
        res.writeHead(308, { location: CONSOLE_PREFIX, 'cache-control': 'no-store', ...CONSOLE_HEADERS });
        res.end();
      },
    });
  return routes;
}

function send(req: IncomingMessage, res: ServerResponse, a: Asset): void {
  const accepts = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = accepts ? a.gzip : a.body;
  res.writeHead(200, {
    'content-type': a.type,
    'content-length': body.length,
    'cache-control': a.cache,
    vary: 'accept-encoding',
    ...(accepts ? { 'content-encoding': 'gzip' } : {}),
    ...CONSOLE_HEADERS,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** The answer for `/console/` when the console was not built (`npm run build`). */
export function notBuilt(res: ServerResponse): void {
  const p = problem('not-found', { detail: 'The console is not built: run `npm run build`' });
  res.writeHead(404, {
    'content-type': PROBLEM_CONTENT_TYPE,
    'cache-control': 'no-store',
    ...CONSOLE_HEADERS,
  });
  res.end(JSON.stringify(p));
}
