import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkOpenApiFile } from '../../src/core/openapi-loader.ts';
import { flaws } from '../../src/lab/flaws.ts';
import { LAB_SPECS, startLab, type LabServer } from '../../src/lab/index.ts';

type Obj = Record<string, unknown>;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function load(file: string): Obj {
  return parse(readFileSync(file, 'utf8')) as Obj;
}

function operations(doc: Obj): Array<{ method: string; path: string; op: Obj }> {
  const out: Array<{ method: string; path: string; op: Obj }> = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Obj>)) {
    for (const m of METHODS) if (item[m]) out.push({ method: m.toUpperCase(), path, op: item[m] as Obj });
  }
  return out;
}

/** Resolves a local `#/…` JSON pointer. */
function resolveRef(doc: Obj, ref: string): Obj {
  return ref
    .slice(2)
    .split('/')
    .reduce<Obj>((o, k) => o[k] as Obj, doc);
}

function allRefs(node: unknown, acc: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => allRefs(n, acc));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') acc.push(v);
      else allRefs(v, acc);
    }
  }
  return acc;
}

const docs = { v1: load(LAB_SPECS.v1), v2: load(LAB_SPECS.v2) };

describe.each(Object.entries(docs))('lab-%s.yaml', (version, doc) => {
  it('is an OpenAPI 3.1 document with info, servers and paths', () => {
    expect(doc.openapi).toBe('3.1.0');
    const info = doc.info as Obj;
    expect(typeof info.title).toBe('string');
    expect(typeof info.version).toBe('string');
    expect((doc.servers as Obj[])[0]!.url).toBe(`/${version}`);
    expect(Object.keys(doc.paths as Obj).length).toBeGreaterThan(0);
    for (const p of Object.keys(doc.paths as Obj)) expect(p.startsWith('/')).toBe(true);
  });

  it("passes Rampart's own OpenAPI loader without errors", async () => {
    const { document, errors } = await checkOpenApiFile(LAB_SPECS[version as 'v1' | 'v2']);
    expect(errors).toEqual([]);
    expect(document?.operations.length).toBe(operations(doc).length);
  });

  it('resolves every $ref', () => {
    for (const ref of allRefs(doc)) {
      expect(ref.startsWith('#/'), ref).toBe(true);
      expect(resolveRef(doc, ref), ref).toBeDefined();
    }
  });

  it('gives every operation a unique operationId, responses and an explicit or inherited bearer requirement', () => {
    const ids = new Set<string>();
    const schemes = Object.keys(((doc.components as Obj).securitySchemes ?? {}) as Obj);
    expect(schemes).toContain('bearerAuth');
    for (const { method, path, op } of operations(doc)) {
      const where = `${method} ${path}`;
      expect(typeof op.operationId, where).toBe('string');
      expect(ids.has(op.operationId as string), where).toBe(false);
      ids.add(op.operationId as string);
      expect(Object.keys(op.responses as Obj).length, where).toBeGreaterThan(0);
      const security = (op.security ?? doc.security) as Array<Record<string, string[]>>;
      expect(Array.isArray(security), where).toBe(true);
      for (const req of security) for (const name of Object.keys(req)) expect(schemes, where).toContain(name);
    }
  });

  it('never declares the fields the vulnerable twin leaks', () => {
    const text = JSON.stringify(doc);
    for (const leaked of ['passwordHash', 'nationalId', 'apiToken', 'preview', 'jwtSecret'])
      expect(text).not.toContain(`"${leaked}"`);
  });

  it('does not document the debug endpoint', () => {
    expect(Object.keys(doc.paths as Obj).some((p) => p.includes('debug'))).toBe(false);
  });
});

describe('contract details', () => {
  it('marks every v1 operation deprecated', () => {
    for (const { op } of operations(docs.v1)) expect(op.deprecated).toBe(true);
  });

  it('marks privileged properties readOnly and admin operations with x-rampart roles', () => {
    const schemas = (docs.v2.components as Obj).schemas as Record<
      string,
      { properties: Record<string, Obj> }
    >;
    expect(schemas.User!.properties.role!.readOnly).toBe(true);
    expect(schemas.UserPatch!.properties.role!.readOnly).toBe(true);
    for (const { path, op } of operations(docs.v2).filter((o) => o.path.startsWith('/admin/'))) {
      expect((op['x-rampart'] as Obj | undefined)?.roles, path).toEqual(['admin']);
    }
    const rec = operations(docs.v2).find((o) => o.method === 'GET' && o.path === '/records/{recordId}')!;
    expect((rec.op['x-rampart'] as Obj).owner).toMatchObject({ field: 'patientId', claim: 'sub' });
  });

  it('public operations say security: [] and the rest require a bearer token', () => {
    const publicOps = operations(docs.v2).filter(
      (o) => Array.isArray(o.op.security) && (o.op.security as unknown[]).length === 0,
    );
    expect(publicOps.map((o) => `${o.method} ${o.path}`).sort()).toEqual([
      'GET /doctors',
      'GET /health',
      'POST /auth/login',
      'POST /auth/register',
    ]);
    expect(docs.v2.security).toEqual([{ bearerAuth: [] }]);
  });

  it('places every documented flaw on an operation of its document', () => {
    for (const f of flaws) {
      if (f.version === 'none') continue;
      const doc = docs[f.version];
      const rel = f.operation.path.slice(`/${f.version}`.length);
      const found = operations(doc).some((o) => o.method === f.operation.method && o.path === rel);
      expect(found, `${f.id}: ${f.operation.method} ${f.operation.path}`).toBe(true);
    }
  });
});

describe('the lab serves what its documents describe', () => {
  let lab: LabServer;
  beforeAll(async () => {
    lab = await startLab({ mode: 'secure' });
  });
  afterAll(async () => {
    await lab?.close();
  });

  it('routes every documented operation (no 404/405 from the router)', async () => {
    for (const [version, doc] of Object.entries(docs)) {
      for (const { method, path } of operations(doc)) {
        const concrete = path.replace('{name}', 'visiting-hours.txt').replace(/\{[^}]+\}/g, '1');
        const res = await fetch(`${lab.url}/${version}${concrete}`, { method });
        const body = (await res.json()) as Obj;
        expect(String(body.detail ?? ''), `${method} /${version}${path}`).not.toMatch(
          /^No resource at|^Use one of/,
        );
      }
    }
  });
});
