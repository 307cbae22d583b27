import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { crackHs, decodeJwt, signHs } from './checks/jwt.ts';
import { undeclared } from './checks/exposure.ts';
import { maskHeaders, maskText, toEvidence } from './http.ts';
import { parseIdentityFlag } from './identities.ts';
import { tamper } from './relay.ts';
import { sampleFromPattern, sampleObject, ValuePool } from './values.ts';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('sampleFromPattern', () => {
  it.each([
    '^[A-Z0-9-]{3,32}$',
    '^M-[0-9]{4}$',
    '^[a-z0-9._-]{3,32}$',
    '^[a-z0-9-]{1,64}\\.txt$',
    '^\\+?[0-9 ()-]{3,32}$',
    '^(foo|bar)-\\d+$',
  ])('produces a string matching %s', (p) => {
    const s = sampleFromPattern(p);
    expect(s).toBeDefined();
    expect(new RegExp(p).test(s!)).toBe(true);
  });
  it('gives up (undefined) on what it cannot read rather than returning a wrong value', () => {
    expect(sampleFromPattern('^(?=lookahead)x$')).toBeUndefined();
  });
});

describe('sample bodies', () => {
  it('fill required properties from examples, enums, formats and the pool, never readOnly ones', () => {
    const pool = new ValuePool();
    pool.add('code', 'SPRING-25');
    const body = sampleObject(
      {
        type: 'object',
        required: ['code', 'email', 'kind', 'id', 'url'],
        properties: {
          id: { type: 'integer', readOnly: true },
          code: { type: 'string' },
          email: { type: 'string', format: 'email' },
          kind: { type: 'string', enum: ['a', 'b'] },
          url: { type: 'string', format: 'uri' },
          n: { type: 'integer', minimum: 5 },
        },
      },
      { urlValue: 'http://127.0.0.1:1/c/x', pool, tag: 't1' },
    );
    expect(body).toEqual({
      code: 'SPRING-25',
      email: 'rampart.t1@example.com',
      kind: 'a',
      url: 'http://127.0.0.1:1/c/x',
    });
  });
});

describe('secret masking', () => {
  it('masks credential headers (standard and custom), JWTs and secret-like JSON values', () => {
    const jwt = `${b64({ alg: 'HS256' })}.${b64({ sub: '1' })}.c2lnbmF0dXJlc2lnbmF0dXJl`;
    expect(
      maskHeaders({ Authorization: `Bearer ${jwt}`, 'X-Library-Key': 'lib-key-secret-1', Accept: 'x' }),
    ).toEqual({
      Authorization: expect.stringMatching(/^Bearer eyJh…\(\d+ chars, masked\)$/),
      'X-Library-Key': expect.stringMatching(/masked/),
      Accept: 'x',
    });
    const text = maskText(JSON.stringify({ password: 'hunter22', apiToken: 'abc', token: jwt, name: 'Ann' }));
    expect(text).not.toContain('hunter22');
    expect(text).not.toContain(jwt);
    expect(text).toContain('"name":"Ann"');
    const e = toEvidence({
      request: { method: 'GET', url: 'http://h/', headers: { cookie: 'sid=abcdefghijkl' } },
      response: {
        status: 200,
        headers: { 'set-cookie': 'sid=abcdefghijkl' },
        text: 'x'.repeat(5000),
        json: undefined,
        durationMs: 1,
        truncated: false,
      },
    });
    expect(JSON.stringify(e)).not.toContain('abcdefghijkl');
    expect(e.response!.body!.length).toBeLessThan(2100);
  });
});

describe('JWT helpers', () => {
  it('crack a token signed with a word from the list, and not one signed with a random key', () => {
    const header = { alg: 'HS256', typ: 'JWT' };
    const weak = decodeJwt(signHs(header, { sub: '3' }, 'changeme'))!;
    expect(crackHs(weak)).toBe('changeme');
    const input = `${b64(header)}.${b64({ sub: '3' })}`;
    const strong = decodeJwt(
      `${input}.${createHmac('sha256', 'x'.repeat(40) + Math.random())
        .update(input)
        .digest('base64url')}`,
    )!;
    expect(crackHs(strong)).toBeUndefined();
    const custom = decodeJwt(signHs(header, { sub: '3' }, 'zebra-horse-42'))!;
    expect(crackHs(custom)).toBeUndefined();
    expect(crackHs(custom, ['nope', 'zebra-horse-42'])).toBe('zebra-horse-42'); // --jwt-wordlist
    expect(decodeJwt('not-a-jwt')).toBeUndefined();
  });
});

describe('identity flags', () => {
  it('parse NAME[:ROLE]=HEADER and refuse malformed ones', () => {
    expect(parseIdentityFlag('alice:user=Authorization: Bearer abc.def.ghi')).toMatchObject({
      name: 'alice',
      role: 'user',
      token: 'abc.def.ghi',
      headers: { Authorization: 'Bearer abc.def.ghi' },
    });
    expect(parseIdentityFlag('svc=X-Api-Key: k1')).toMatchObject({
      name: 'svc',
      headers: { 'X-Api-Key': 'k1' },
    });
    expect(() => parseIdentityFlag('alice')).toThrow(/NAME\[:ROLE\]=HEADER/);
    expect(() => parseIdentityFlag('alice=Bearer x')).toThrow(/header/);
  });
});

describe('undeclared properties', () => {
  it('grade secrets, personal data and other extras against the schema', () => {
    const schema = {
      type: 'object',
      additionalProperties: false,
      properties: {
        id: { type: 'integer' },
        items: { type: 'array', items: { type: 'object', properties: { a: { type: 'string' } } } },
      },
    };
    const leaks = undeclared(
      { id: 1, passwordHash: '5f4dcc3b5aa765d61d8327deb882cf99', phone: '1', items: [{ a: 'x', extra: 1 }] },
      schema,
    );
    expect(leaks).toEqual([
      { path: 'passwordHash', kind: 'secret', reason: 'MD5/SHA hex digest' },
      { path: 'phone', kind: 'pii' },
      { path: 'items[].extra', kind: 'undeclared' },
    ]);
  });
});

describe('tampering relay rewrites', () => {
  it('turns booleans into strings, grows numbers and poisons strings', () => {
    const t = tamper({ ok: true, pct: 80, name: 'Silver', list: [false, 0] }) as Record<string, unknown>;
    expect(t.ok).toBe('yes');
    expect(t.pct).toBe(800);
    expect(String(t.name)).toMatch(/^<script>.*Silver/);
    expect(String(t.name).length).toBeGreaterThan(4096);
    expect(t.list).toEqual(['no', -1]);
  });
});

describe('scanOperations', () => {
  it('joins the server base, and treats optional security ({} alternative) as public', async () => {
    const { parseOpenApi } = await import('../core/openapi-loader.ts');
    const { scanOperations } = await import('./spec.ts');
    const doc = parseOpenApi(
      `openapi: 3.1.0
info: { title: t, version: '1' }
servers: [{ url: 'https://api.example.com/shop/v4/' }]
components: { securitySchemes: { k: { type: apiKey, in: header, name: X-Key } } }
security: [{ k: [] }]
paths:
  /items/{itemId}:
    get: { parameters: [{ name: itemId, in: path, required: true, schema: { type: string } }], responses: { '200': { description: ok } } }
  /catalogue:
    get: { security: [{}, { k: [] }], responses: { '200': { description: ok } } }
`,
      'inline.yaml',
    );
    expect(scanOperations([doc]).map((s) => [s.key, s.secured])).toEqual([
      ['GET /shop/v4/items/{itemId}', true],
      ['GET /shop/v4/catalogue', false],
    ]);
  });
});

describe('loadSpecs by URL', () => {
  it('bounds the whole fetch, body included: a server that hangs before or during the body is a setup error', async () => {
    const { createServer } = await import('node:http');
    const { loadSpecs, ScanSetupError } = await import('./spec.ts');
    const server = createServer((req, res) => {
      if (req.url === '/mid-body.yaml') {
        res.writeHead(200, { 'content-type': 'application/yaml' });
        res.write('openapi: 3.1.0\n'); // …and never ends
      }
      // '/silent.yaml': never answers at all
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as import('node:net').AddressInfo).port;
    try {
      for (const path of ['/silent.yaml', '/mid-body.yaml']) {
        const err = await loadSpecs([`http://127.0.0.1:${port}${path}`], undefined, 300).catch((e) => e);
        expect(err).toBeInstanceOf(ScanSetupError);
        expect((err as Error).message).toBe(
          `cannot fetch the spec http://127.0.0.1:${port}${path}: timed out after 300 ms`,
        );
      }
      const closed = createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
      const free = (closed.address() as import('node:net').AddressInfo).port;
      await new Promise((r) => closed.close(r));
      const refused = await loadSpecs([`http://127.0.0.1:${free}/spec.yaml`], undefined, 300).catch((e) => e);
      expect((refused as Error).message).toMatch(/^cannot fetch the spec .*: ECONNREFUSED/);
      const bad = await loadSpecs(['http://127.0.0.1:1/spec.yaml'], undefined, 300).catch((e) => e);
      expect((bad as Error).message).toBe(
        'cannot fetch the spec http://127.0.0.1:1/spec.yaml: fetch failed (bad port)',
      );
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
