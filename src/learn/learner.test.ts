import { describe, expect, it } from 'vitest';
import { learnedDocument } from './document.ts';
import { Learner, type Exchange } from './learner.ts';

const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = (claims: Record<string, unknown>): string => `${b64({ alg: 'HS256' })}.${b64(claims)}.c2ln`;
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

function x(
  method: string,
  target: string,
  status: number,
  opts: Partial<Exchange> & { token?: string; body?: unknown; answer?: unknown } = {},
): Exchange {
  return {
    method,
    target,
    status,
    requestHeaders: {
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...opts.requestHeaders,
    },
    responseHeaders: {
      ...(opts.answer !== undefined ? { 'content-type': 'application/json' } : {}),
      ...opts.responseHeaders,
    },
    ...(opts.body !== undefined ? { requestBody: json(opts.body) } : {}),
    ...(opts.answer !== undefined ? { responseBody: json(opts.answer) } : {}),
    ...(opts.requestBody ? { requestBody: opts.requestBody } : {}),
    ...(opts.responseBody ? { responseBody: opts.responseBody } : {}),
    ...(opts.requestBodyTruncated ? { requestBodyTruncated: true } : {}),
  };
}

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('the learner', () => {
  const alice = jwt({ sub: '3', role: 'patient' });
  const carol = jwt({ sub: '5', role: 'doctor' });
  const admin = jwt({ sub: '1', role: 'admin' });

  function clinic(): Obj {
    const l = new Learner();
    l.observe(x('GET', '/health', 200, { answer: { status: 'ok' } }));
    l.observe(x('GET', '/records/1', 200, { token: alice, answer: { id: 1, patientId: 3, doctorId: 5 } }));
    l.observe(x('GET', '/records/4', 200, { token: alice, answer: { id: 4, patientId: 3, doctorId: null } }));
    l.observe(x('GET', '/records/2', 200, { token: carol, answer: { id: 2, patientId: 4, doctorId: 5 } }));
    l.observe(x('GET', '/records/2', 200, { token: admin, answer: { id: 2, patientId: 4, doctorId: 5 } }));
    l.observe(
      x('GET', '/records/2', 401, {
        answer: { type: 'about:blank' },
        responseHeaders: { 'content-type': 'application/problem+json' },
      }),
    );
    l.observe(
      x('GET', '/records?limit=5&sort=title', 200, {
        token: alice,
        answer: { items: [{ id: 1, patientId: 3 }] },
      }),
    );
    l.observe(x('GET', '/admin/users', 200, { token: admin, answer: { items: [] } }));
    l.observe(x('GET', '/admin/users', 403, { token: alice }));
    l.observe(
      x('GET', '/users/3', 200, {
        token: alice,
        answer: { id: 3, email: 'alice@patients.example', fullName: 'Alice Moreau' },
      }),
    );
    l.observe(
      x('POST', '/login', 200, {
        body: { username: 'alice', password: 'alice-pass-123' },
        answer: { token: alice },
      }),
    );
    return learnedDocument(l, { upstream: 'http://clinic' }) as Obj;
  }

  it('documents operations, parameters, bodies and statuses', () => {
    const d = clinic();
    expect(Object.keys(d.paths).sort()).toEqual([
      '/admin/users',
      '/health',
      '/login',
      '/records',
      '/records/{recordId}',
      '/users/{userId}',
    ]);
    const get = d.paths['/records/{recordId}'].get;
    expect(get.parameters[0]).toEqual({
      name: 'recordId',
      in: 'path',
      required: true,
      schema: { type: 'integer' },
    });
    expect(Object.keys(get.responses)).toEqual(['200', '401']);
    expect(get.responses['200'].content['application/json'].schema.required).toEqual([
      'doctorId',
      'id',
      'patientId',
    ]);
    expect(get.responses['401'].content['application/problem+json']).toBeDefined();
    const list = d.paths['/records'].get;
    expect(list.parameters.map((p: Obj) => [p.name, p.in, p.schema.type])).toEqual([
      ['limit', 'query', 'integer'],
      ['sort', 'query', 'string'],
    ]);
    expect(
      d.paths['/login'].post.requestBody.content['application/json'].schema.properties.password.type,
    ).toBe('string');
  });

  it('infers security from credentials and 401/403, and keeps no token, password or personal value', () => {
    const d = clinic();
    expect(d.paths['/health'].get.security).toEqual([]);
    expect(d.paths['/records/{recordId}'].get.security).toEqual([{ bearerAuth: [] }]);
    expect(d.paths['/records/{recordId}'].get['x-rampart-observed'].security).toMatch(/401\/403/);
    expect(d.components.securitySchemes.bearerAuth).toEqual({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
    const text = JSON.stringify(d);
    for (const secret of [alice, carol, admin, 'alice-pass-123', 'alice@patients.example', 'Alice Moreau'])
      expect(text).not.toContain(secret);
  });

  it('suggests roles, owner and minimisation — marked as suggestions', () => {
    const d = clinic();
    const admin = d.paths['/admin/users'].get['x-rampart-suggested'];
    expect(admin.roles).toMatchObject({ value: ['admin'], confidence: 'firm' });
    expect(admin.note).toMatch(/Nothing here is enforced/);
    const rec = d.paths['/records/{recordId}'].get['x-rampart-suggested'];
    expect(rec.owner.value).toEqual({
      field: 'patientId',
      claim: 'sub',
      alsoField: 'doctorId',
      bypassRoles: ['admin'],
    });
    const user = d.paths['/users/{userId}'].get['x-rampart-suggested'];
    expect(user.owner.value).toEqual({ param: 'userId', claim: 'sub' });
    expect(user.minimise.value).toEqual(
      expect.arrayContaining([
        { status: 200, pointer: '/email', kinds: ['email'] },
        { status: 200, pointer: '/fullName', kinds: ['name'] },
      ]),
    );
    expect(d.paths['/records/{recordId}'].get['x-rampart']).toBeUndefined();
  });

  it('skips hostile input with counts, and does not document 404-only paths nor a down upstream', () => {
    const l = new Learner();
    l.observe(
      x('POST', '/upload', 200, {
        requestHeaders: { 'content-type': 'application/json' },
        requestBody: Buffer.from('[[[['.repeat(10_000)),
      }),
    );
    l.observe(
      x('POST', '/upload', 200, {
        requestHeaders: { 'content-type': 'application/json' },
        requestBody: Buffer.from('{"a":'),
      }),
    );
    l.observe(
      x('POST', '/upload', 200, {
        requestHeaders: { 'content-type': 'application/json' },
        requestBody: Buffer.from([0x7b, 0, 0x7d]),
      }),
    );
    l.observe(
      x('POST', '/upload', 200, {
        requestHeaders: { 'content-type': 'image/png' },
        requestBody: Buffer.from([0x89, 0x50]),
      }),
    );
    l.observe(
      x('POST', '/upload', 200, {
        requestHeaders: { 'content-type': 'application/json' },
        requestBody: json({ a: 1 }),
        requestBodyTruncated: true,
      }),
    );
    l.observe(x('GET', '/x/%E0%A4%A', 200));
    l.observe(x('BREW', '/pot', 200));
    for (let i = 0; i < 5000; i++) l.observe(x('GET', `/wp-admin/probe${i}.php`, 404));
    l.upstreamDown('connect ECONNREFUSED 127.0.0.1:9');
    const d = learnedDocument(l) as Obj;
    expect(Object.keys(d.paths)).toEqual(['/upload']);
    expect(d['x-rampart-observed'].skipped).toEqual({
      'too-deep': 1,
      'invalid-json': 1,
      binary: 2,
      'too-large': 1,
      'bad-escape': 1,
      'bad-method': 1,
      'upstream-down': 1,
    });
    expect(d['x-rampart-observed'].upstreamErrors).toBe(1);
    expect(JSON.stringify(d)).not.toMatch(/"502"/);
    expect(l.candidates.size).toBeLessThanOrEqual(l.limits.maxCandidates);
    expect(d.paths['/upload'].post.requestBody.content['image/png'].schema).toEqual({
      type: 'string',
      contentMediaType: 'image/png',
    });
  });
});
