import {
  startLab,
  startThirdPartyStub,
  type LabMode,
  type LabServer,
  type StubServer,
} from '../../src/lab/index.ts';
import type { Identity } from '../../src/scanner/identities.ts';
import { TamperRelay } from '../../src/scanner/relay.ts';

/** A lab (either twin) whose insurer calls go through the scanner's tampering relay. */
export interface ScannableLab {
  lab: LabServer;
  relay: TamperRelay;
  close(): Promise<void>;
}

export async function startScannableLab(mode: LabMode): Promise<ScannableLab> {
  const insurer: StubServer = await startThirdPartyStub();
  const relay = await TamperRelay.start(insurer.url);
  const lab = await startLab({ mode, thirdPartyUrl: relay.url });
  return {
    lab,
    relay,
    async close() {
      await lab.close();
      await relay.close();
      await insurer.close();
    },
  };
}

/** The lab's public demo accounts as login-recipe identities (two patients and the admin). */
export function labIdentities(): Identity[] {
  const recipe = (username: string, password: string) => ({
    method: 'POST',
    path: '/v2/auth/login',
    json: { username, password },
    token: 'body.token',
    apply: 'Authorization: Bearer {token}',
    refresh: 0,
  });
  return [
    {
      name: 'alice',
      role: 'patient',
      headers: {},
      recipe: recipe('alice', 'alice-demo-pass'),
      loginFields: { username: 'alice' },
    },
    {
      name: 'bob',
      role: 'patient',
      headers: {},
      recipe: recipe('bob', 'bob-demo-pass'),
      loginFields: { username: 'bob' },
    },
    {
      name: 'admin',
      role: 'admin',
      headers: {},
      recipe: recipe('admin', 'admin-demo-pass'),
      loginFields: { username: 'admin' },
    },
  ];
}

/** A recording reverse proxy: every request the scanner sends, before it reaches `upstream`. */
export async function startRecorder(
  upstream: string,
): Promise<{ url: string; seen: Array<{ method: string; path: string }>; close(): Promise<void> }> {
  const { createServer } = await import('node:http');
  const { request } = await import('undici');
  const seen: Array<{ method: string; path: string }> = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? 'GET', path: req.url ?? '/' });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(([k]) => !['host', 'connection', 'content-length'].includes(k)),
      ) as Record<string, string>;
      request(upstream + (req.url ?? '/'), {
        method: (req.method ?? 'GET') as 'GET',
        headers,
        ...(chunks.length ? { body: Buffer.concat(chunks) } : {}),
      })
        .then(async (r) => {
          const body = Buffer.from(await r.body.arrayBuffer());
          const out: Record<string, string> = {};
          for (const [k, v] of Object.entries(r.headers))
            if (typeof v === 'string' && !['connection', 'transfer-encoding', 'keep-alive'].includes(k))
              out[k] = v;
          res.writeHead(r.statusCode, { ...out, 'content-length': String(body.length) });
          res.end(body);
        })
        .catch(() => {
          res.writeHead(502);
          res.end();
        });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as import('node:net').AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
