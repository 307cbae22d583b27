import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import tls from 'node:tls';
import { Agent, request } from 'undici';
import { ManualClock } from '../../src/core/clock.ts';
import type { RampartEvent } from '../../src/core/events.ts';
import { configFromObject, loadApis } from '../../src/cli/app.ts';
import { buildPolicies } from '../../src/gateway/policies/index.ts';
import { Gateway } from '../../src/gateway/listener.ts';
import { loadCertificate } from '../../src/gateway/tls.ts';
import { silentLogger } from '../../src/core/logger.ts';
import type { Policy, PolicyServices } from '../../src/gateway/policy.ts';

export const FIXTURES = resolve(import.meta.dirname, '../fixtures');

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
  body: string;
}

/**
 * The default upstream answer: echoes method, URL and body as JSON, with the headers a
 * careless upstream sends (version-revealing ones, a Connection-listed hop-by-hop header)
 * so tests can check the gateway strips them.
 */
export function echo(req: IncomingMessage, res: ServerResponse, body: string): void {
  res.writeHead(200, {
    'content-type': 'application/json',
    server: 'nginx/1.2.3',
    'x-powered-by': 'Express',
    connection: 'keep-alive, x-hop',
    'x-hop': 'secret',
  });
  res.end(JSON.stringify({ method: req.method, url: req.url, body }));
}

/** A real upstream on 127.0.0.1 that records what it received and answers per a handler. */
export async function startUpstream(
  handler?: (req: IncomingMessage, res: ServerResponse, body: string) => void,
): Promise<{ url: string; seen: SeenRequest[]; close(): Promise<void>; server: http.Server }> {
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
      });
      if (handler) return handler(req, res, body);
      echo(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    server,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

export interface TestGateway {
  gateway: Gateway;
  url: string;
  events: RampartEvent[];
  clock: ManualClock;
  dir: string;
  close(): Promise<void>;
}

/**
 * Starts the real gateway (TLS 1.3 with a generated dev certificate in a temp dir)
 * in front of `upstream`, with the shop fixture as its contract.
 */
export async function startTestGateway(
  upstream: string,
  overrides: Record<string, unknown> = {},
  extraPolicies: Policy[] = [],
  serviceOverrides: Partial<PolicyServices> = {},
): Promise<TestGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'rampart-gw-'));
  const clock = new ManualClock(Date.now());
  const config = configFromObject(
    {
      listen: { host: '127.0.0.1', port: 0, tls: { devCertDir: join(dir, 'tls') } },
      store: 'sqlite::memory:',
      apis: [
        { name: 'shop', upstream, versions: [{ base: '/v2', spec: join(FIXTURES, 'gateway/shop-v2.yaml') }] },
      ],
      ...overrides,
    },
    dir,
  );
  const apis = await loadApis(config);
  const services: PolicyServices = {
    clock,
    log: silentLogger,
    localIssuer: undefined,
    apiKeys: undefined,
    ...serviceOverrides,
  };
  const policies = [...buildPolicies(config.policies, services), ...extraPolicies];
  const events: RampartEvent[] = [];
  const tlsCfg = config.listen.tls;
  const certificate = !tlsCfg.enabled
    ? undefined
    : await loadCertificate({ devCertDir: tlsCfg.devCertDir }, silentLogger, clock);
  const gateway = await Gateway.start({
    config,
    apis,
    policies,
    clock,
    log: silentLogger,
    emit: (e) => events.push(e),
    ...(certificate ? { certificate } : {}),
  });
  return {
    gateway,
    url: gateway.url,
    events,
    clock,
    dir,
    close: async () => {
      await gateway.close(1000);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** An undici agent that accepts the self-signed test certificate. */
export const insecureAgent = new Agent({ connect: { rejectUnauthorized: false } });

export async function call(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => unknown;
}> {
  const r = await request(url, {
    method: (opts.method ?? 'GET') as 'GET',
    headers: opts.headers,
    body: opts.body,
    dispatcher: insecureAgent,
  });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers, text, json: () => JSON.parse(text) };
}

/**
 * Sends raw bytes over TLS and collects everything until the server closes or
 * `idleMs` passes without data — for malformed HTTP the high-level clients refuse to send.
 */
export function rawTls(hostPort: string, payload: string | Buffer, idleMs = 1500): Promise<string> {
  const u = new URL(hostPort);
  return new Promise((resolvePromise, reject) => {
    const socket = tls.connect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false }, () =>
      socket.write(payload),
    );
    let out = '';
    let timer = setTimeout(() => socket.end(), idleMs);
    socket.on('data', (d) => {
      out += d.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(() => socket.end(), idleMs);
    });
    socket.on('error', (e) => (out ? resolvePromise(out) : reject(e)));
    socket.on('close', () => {
      clearTimeout(timer);
      resolvePromise(out);
    });
  });
}
