import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import {
  checkConfigFile,
  ConfigErrors,
  describeSchema,
  editDistance,
  formatConfigError,
  loadConfigFile,
  parsePointer,
  parseYamlSource,
  resolveRelative,
  suggest,
  toPointer,
  writeJsonSchema,
  type ConfigError,
} from './config-loader.ts';

const dir = mkdtempSync(join(tmpdir(), 'rampart-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const schema = Type.Object({
  listen: Type.Object(
    {
      host: Type.String({ default: '0.0.0.0', description: 'Listener address.' }),
      port: Type.Integer({ minimum: 1, maximum: 65535, default: 8443, description: 'Listener port.' }),
    },
    { default: {} },
  ),
  store: Type.String({ default: 'sqlite://./data/rampart.db' }),
  debug: Type.Boolean({ default: false }),
  mode: Type.Optional(Type.Union([Type.Literal('strict'), Type.Literal('audit')])),
  tls: Type.Optional(
    Type.Union([
      Type.Object({
        cert: Type.String({ 'x-rampart-path': true }),
        key: Type.String({ 'x-rampart-path': true }),
      }),
      Type.Literal(false),
    ]),
  ),
  apis: Type.Array(
    Type.Object({
      name: Type.String({ minLength: 1 }),
      upstream: Type.String({ format: 'uri' }),
      versions: Type.Array(Type.Object({ base: Type.String({ pattern: '^/' }), spec: Type.String() }), {
        minItems: 1,
      }),
    }),
    { default: [] },
  ),
  secret: Type.Optional(Type.String()),
  ratio: Type.Optional(Type.Number()),
});

let counter = 0;
function writeConfig(text: string, name = `c${++counter}.yaml`, sub = ''): string {
  const d = join(dir, sub);
  mkdirSync(d, { recursive: true });
  const file = join(d, name);
  writeFileSync(file, text);
  return file;
}

/** Walks a plain JSON value by keys (tests only). */
function dig(value: unknown, ...keys: string[]): unknown {
  let v = value;
  for (const k of keys) v = (v as Record<string, unknown> | undefined)?.[k];
  return v;
}

type Expected = Pick<ConfigError, 'line' | 'column' | 'path' | 'message'>;

const errorCases: Array<{ name: string; yaml: string; env?: Record<string, string>; errors: Expected[] }> = [
  {
    name: 'unknown key with a suggestion',
    yaml: 'lisen:\n  port: 80\n',
    errors: [{ line: 1, column: 1, path: '/lisen', message: "unknown key 'lisen' — did you mean 'listen'?" }],
  },
  {
    name: 'nested unknown key with a suggestion',
    yaml: 'listen:\n  prot: 80\n',
    errors: [
      { line: 2, column: 3, path: '/listen/prot', message: "unknown key 'prot' — did you mean 'port'?" },
    ],
  },
  {
    name: 'unknown key without a close match lists the allowed keys',
    yaml: 'listen:\n  address: x\n',
    errors: [
      { line: 2, column: 3, path: '/listen/address', message: "unknown key 'address' (allowed: host, port)" },
    ],
  },
  {
    name: 'wrong type',
    yaml: 'listen:\n  port: abc\n',
    errors: [
      {
        line: 2,
        column: 9,
        path: '/listen/port',
        message: 'expected integer between 1 and 65535, got "abc"',
      },
    ],
  },
  {
    name: 'out of range',
    yaml: 'listen: { port: 70000 }\n',
    errors: [
      {
        line: 1,
        column: 17,
        path: '/listen/port',
        message: 'expected integer between 1 and 65535, got 70000',
      },
    ],
  },
  {
    name: 'a quoted literal is not coerced',
    yaml: 'listen: { port: "8443" }\n',
    errors: [
      {
        line: 1,
        column: 17,
        path: '/listen/port',
        message: 'expected integer between 1 and 65535, got "8443"',
      },
    ],
  },
  {
    name: 'missing required key points at the object',
    yaml: 'apis:\n  - upstream: http://127.0.0.1:9000\n    versions: [{ base: /v1, spec: a.yaml }]\n',
    errors: [{ line: 2, column: 5, path: '/apis/0/name', message: "missing required key 'name'" }],
  },
  {
    name: 'union of literals',
    yaml: 'mode: fast\n',
    errors: [{ line: 1, column: 7, path: '/mode', message: 'expected "strict" or "audit", got "fast"' }],
  },
  {
    name: 'union: the alternative that fits the shape reports its own errors',
    yaml: 'tls:\n  cert: a.pem\n',
    errors: [{ line: 2, column: 3, path: '/tls/key', message: "missing required key 'key'" }],
  },
  {
    name: 'union: no alternative fits',
    yaml: 'tls: yes\n',
    errors: [{ line: 1, column: 6, path: '/tls', message: 'expected object or false, got "yes"' }],
  },
  {
    name: 'format, pattern and minItems, all collected',
    yaml: [
      'apis:',
      '  - name: a',
      '    upstream: not a url',
      '    versions: []',
      '  - name: b',
      '    upstream: http://x',
      '    versions:',
      '      - { base: v1, spec: b.yaml }',
      '',
    ].join('\n'),
    errors: [
      {
        line: 3,
        column: 15,
        path: '/apis/0/upstream',
        message: 'expected string in format "uri", got "not a url"',
      },
      {
        line: 4,
        column: 15,
        path: '/apis/0/versions',
        message: 'expected array with at least 1 item, got an array',
      },
      {
        line: 8,
        column: 17,
        path: '/apis/1/versions/0/base',
        message: 'expected string matching pattern "^/", got "v1"',
      },
    ],
  },
  {
    name: 'invalid YAML: duplicate key',
    yaml: 'store: a\nstore: b\n',
    errors: [{ line: 2, column: 1, path: '', message: 'invalid YAML: Map keys must be unique' }],
  },
  {
    name: 'invalid YAML: ${…} unquoted in a flow map gets a hint',
    yaml: 'listen: { port: ${PORT} }\n',
    env: { PORT: '1' },
    errors: [
      {
        line: 1,
        column: 18,
        path: '',
        message:
          'invalid YAML: Unexpected flow-map-start at node end (quote values containing "${…}" inside { } or [ ])',
      },
    ],
  },
  {
    name: 'missing environment variable',
    yaml: 'listen:\n  host: ${NOPE}\n',
    errors: [
      {
        line: 2,
        column: 9,
        path: '/listen/host',
        message: 'environment variable NOPE is not set (use "${NOPE:-default}" for a default)',
      },
    ],
  },
  {
    name: 'missing file',
    yaml: 'secret: ${file:nope.txt}\n',
    errors: [
      {
        line: 1,
        column: 9,
        path: '/secret',
        message: 'cannot read file \'nope.txt\' for "${file:nope.txt}" (ENOENT)',
      },
    ],
  },
  {
    name: 'unterminated interpolation',
    yaml: 'secret: "${OOPS"\n',
    errors: [
      { line: 1, column: 9, path: '/secret', message: 'unterminated "${" (write "$${" for a literal "${")' },
    ],
  },
  {
    name: 'invalid variable name',
    yaml: 'secret: "${A-B}"\n',
    errors: [
      {
        line: 1,
        column: 9,
        path: '/secret',
        message: 'invalid variable name in "${A-B}": use letters, digits and _',
      },
    ],
  },
  {
    name: 'an interpolated value that fails validation is not shown',
    yaml: 'listen:\n  port: ${PORT}\nmode: ${MODE}\n',
    env: { PORT: 'hunter2-port', MODE: 'hunter2-mode' },
    errors: [
      {
        line: 2,
        column: 9,
        path: '/listen/port',
        message: 'expected integer between 1 and 65535, got the value of ${PORT} (not shown)',
      },
      {
        line: 3,
        column: 7,
        path: '/mode',
        message: 'expected "strict" or "audit", got the value of ${MODE} (not shown)',
      },
    ],
  },
  {
    name: 'the root must be an object',
    yaml: '- a\n- b\n',
    errors: [{ line: 1, column: 1, path: '', message: 'expected object, got an array' }],
  },
];

describe('config loader errors', () => {
  it.each(errorCases)('$name', async ({ yaml, env, errors }) => {
    const file = writeConfig(yaml);
    const result = await checkConfigFile(file, schema, { env: env ?? {} });
    expect(result.config).toBeUndefined();
    expect(result.errors).toEqual(errors.map((e) => ({ file, ...e })));
    // Never an interpolated value in an error.
    const text = result.errors.map(formatConfigError).join('\n');
    for (const v of Object.values(env ?? {})) if (v.length > 2) expect(text).not.toContain(v);
  });

  it('throws ConfigErrors from loadConfigFile with every error formatted', async () => {
    const file = writeConfig('lisen: 1\nmode: x\n');
    const err = await loadConfigFile(file, schema, { env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigErrors);
    const errors = (err as ConfigErrors).errors;
    expect(errors).toHaveLength(2);
    expect((err as Error).message).toContain(`${file}:1:1  /lisen  unknown key 'lisen'`);
    expect((err as Error).message).toContain(`${file}:2:7  /mode  expected`);
  });

  it('understands TypeBox Intersect (allOf + unevaluatedProperties)', async () => {
    const both = Type.Intersect([Type.Object({ a: Type.String() }), Type.Object({ b: Type.Integer() })], {
      unevaluatedProperties: false,
    });
    const file = writeConfig('a: x\nb: 1\nc: 2\n');
    const result = await checkConfigFile(file, both, { env: {} });
    expect(result.errors).toEqual([{ file, line: 3, column: 1, path: '/c', message: "unknown key 'c'" }]);
    const ok = await checkConfigFile(writeConfig('a: x\nb: 1\n'), both, { env: {} });
    expect(ok.errors).toEqual([]);
  });

  it('reports an unreadable config file without a position', async () => {
    const file = join(dir, 'does-not-exist.yaml');
    const result = await checkConfigFile(file, schema);
    expect(result.errors).toEqual([{ file, path: '', message: 'cannot read config file (ENOENT)' }]);
  });

  it('never leaks a secret from a file or an env var in any message', async () => {
    writeConfig('topsecret-value\n', 'pw.txt', 'leak');
    const file = writeConfig(
      'listen:\n  port: "${file:pw.txt}"\nratio: ${RATIO}\ndebug: ${DBG}\n',
      'rampart.yaml',
      'leak',
    );
    const result = await checkConfigFile(file, schema, {
      env: { RATIO: 'topsecret-ratio', DBG: 'topsecret-dbg' },
    });
    expect(result.errors.map((e) => e.path)).toEqual(['/listen/port', '/debug', '/ratio']);
    const text = result.errors.map(formatConfigError).join('\n');
    expect(text).not.toContain('topsecret');
    expect(text).toContain('${file:pw.txt}');
  });
});

describe('config loader values', () => {
  it('applies defaults to an empty file', async () => {
    const file = writeConfig('');
    const config = await loadConfigFile(file, schema, { env: {} });
    expect(config).toEqual({
      listen: { host: '0.0.0.0', port: 8443 },
      store: 'sqlite://./data/rampart.db',
      debug: false,
      apis: [],
    });
  });

  const valueCases: Array<{
    name: string;
    yaml: string;
    env?: Record<string, string>;
    expect: Record<string, unknown>;
  }> = [
    {
      name: 'env var, coerced to the schema type',
      yaml: 'listen:\n  port: ${PORT}\n',
      env: { PORT: '9000' },
      expect: { listen: { host: '0.0.0.0', port: 9000 } },
    },
    {
      name: 'quoted interpolation is coerced too',
      yaml: 'listen: { port: "${PORT}" }\n',
      env: { PORT: '9001' },
      expect: { listen: { host: '0.0.0.0', port: 9001 } },
    },
    {
      name: 'boolean and number coercion',
      yaml: 'debug: ${DEBUG}\nratio: ${RATIO}\n',
      env: { DEBUG: 'true', RATIO: '0.25' },
      expect: { debug: true, ratio: 0.25 },
    },
    {
      name: 'no coercion where the schema wants a string',
      yaml: 'store: ${NUM}\n',
      env: { NUM: '123' },
      expect: { store: '123' },
    },
    {
      name: 'default when unset',
      yaml: 'listen:\n  port: ${PORT:-8080}\n',
      expect: { listen: { host: '0.0.0.0', port: 8080 } },
    },
    {
      name: 'default when empty',
      yaml: 'store: ${STORE:-sqlite::memory:}\n',
      env: { STORE: '' },
      expect: { store: 'sqlite::memory:' },
    },
    {
      name: 'set value wins over default',
      yaml: 'store: ${STORE:-x}\n',
      env: { STORE: 'postgres://db/r' },
      expect: { store: 'postgres://db/r' },
    },
    {
      name: 'several in one string',
      yaml: 'store: postgres://${U}:${P}@db:${DBPORT:-5432}/r\n',
      env: { U: 'app', P: 'pw' },
      expect: { store: 'postgres://app:pw@db:5432/r' },
    },
    {
      name: '$${ escapes',
      yaml: 'store: "$${HOME}/x and ${A}"\n',
      env: { A: 'a', HOME: '/root' },
      expect: { store: '${HOME}/x and a' },
    },
    {
      name: 'keys starting with x- are allowed (YAML anchors)',
      yaml: 'x-common: &c 1\nstore: s\n',
      expect: { store: 's', 'x-common': 1 },
    },
    {
      name: 'YAML merge keys with an x- anchor',
      yaml: 'x-api: &api { name: a, upstream: "http://127.0.0.1:9000" }\napis:\n  - <<: *api\n    versions: [{ base: /v1, spec: a.yaml }]\n',
      expect: {
        apis: [{ name: 'a', upstream: 'http://127.0.0.1:9000', versions: [{ base: '/v1', spec: 'a.yaml' }] }],
      },
    },
    { name: 'JSON works too', yaml: '{ "store": "j", "debug": true }', expect: { store: 'j', debug: true } },
  ];

  it.each(valueCases)('$name', async ({ yaml, env, expect: want }) => {
    const file = writeConfig(yaml);
    const result = await checkConfigFile(file, schema, { env: env ?? {} });
    expect(result.errors).toEqual([]);
    expect(result.config).toMatchObject(want);
  });

  it('reads ${file:…} relative to the config file and trims one trailing newline', async () => {
    writeConfig('s3cret\n\n', 'token.txt', 'sub/secrets');
    const file = writeConfig('secret: ${file:secrets/token.txt}\n', 'rampart.yaml', 'sub');
    const config = await loadConfigFile<{ secret: string }>(file, schema, { env: {} });
    expect(config.secret).toBe('s3cret\n');
  });

  it('resolves x-rampart-path fields against the config directory', async () => {
    const file = writeConfig('tls: { cert: ./tls/cert.pem, key: /etc/key.pem }\n', 'rampart.yaml', 'paths');
    const config = await loadConfigFile<{ tls: { cert: string; key: string } }>(file, schema, { env: {} });
    expect(config.tls).toEqual({ cert: join(dir, 'paths', 'tls', 'cert.pem'), key: '/etc/key.pem' });
  });
});

describe('helpers', () => {
  it.each([
    ['/etc/rampart', './tls/cert.pem', '/etc/rampart/tls/cert.pem'],
    ['/etc/rampart', 'specs/a.yaml', '/etc/rampart/specs/a.yaml'],
    ['/etc/rampart', '../shared/a.yaml', '/etc/shared/a.yaml'],
    ['/etc/rampart', '/abs/a.yaml', '/abs/a.yaml'],
    ['/etc/rampart', 'sqlite://./x.db', 'sqlite://./x.db'],
  ])('resolveRelative(%s, %s) = %s', (base, p, want) => {
    expect(resolveRelative(base, p)).toBe(want);
  });

  it.each([
    ['lisen', ['listen', 'store'], 'listen'],
    ['Listen', ['listen'], 'listen'],
    ['upstrem', ['upstream', 'name'], 'upstream'],
    ['zzz', ['listen', 'store'], undefined],
  ])('suggest(%s) = %s', (word, candidates, want) => {
    expect(suggest(word, candidates)).toBe(want);
  });

  it('editDistance', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('prot', 'port')).toBe(1);
  });

  it('JSON pointers round-trip with ~0 and ~1', () => {
    expect(toPointer(['paths', '/a/{id}', 'x~y'])).toBe('/paths/~1a~1{id}/x~0y');
    expect(parsePointer('/paths/~1a~1{id}/x~0y')).toEqual(['paths', '/a/{id}', 'x~y']);
    expect(parsePointer('#/components')).toEqual(['components']);
    expect(parsePointer('')).toEqual([]);
  });

  it('formatConfigError', () => {
    expect(
      formatConfigError({
        file: 'r.yaml',
        line: 3,
        column: 9,
        path: '/listen/port',
        message: 'expected integer',
      }),
    ).toBe('r.yaml:3:9  /listen/port  expected integer');
    expect(formatConfigError({ file: 'r.yaml', path: '', message: 'cannot read' })).toBe(
      'r.yaml  /  cannot read',
    );
  });

  it('describeSchema', () => {
    expect(describeSchema({ type: 'integer', minimum: 1 })).toBe('integer at least 1');
    expect(describeSchema({ type: 'string', minLength: 1, maxLength: 5 })).toBe('string of 1–5 characters');
    expect(describeSchema({ enum: ['a', 'b'] })).toBe('one of "a", "b"');
  });

  it('parseYamlSource locates keys and values', () => {
    const src = parseYamlSource('a:\n  b: [1, 2]\n', 'x.yaml');
    expect(src.locate(['a', 'b', '1'])).toEqual({ line: 2, column: 10 });
    expect(src.locate(['a', 'b'], { key: true })).toEqual({ line: 2, column: 3 });
    expect(src.locate(['a', 'missing'])).toEqual({ line: 2, column: 3 });
  });

  it('writeJsonSchema writes a closed draft-07 schema with $id, title and descriptions', async () => {
    const out = join(dir, 'out', 'rampart.schema.json');
    await writeJsonSchema(schema, out);
    const json = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
    expect(json.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(json.$id).toBe('https://rampart.dev/schemas/rampart.schema.json');
    expect(json.title).toBe('Rampart configuration (rampart.yaml)');
    expect(json.additionalProperties).toBe(false);
    expect(dig(json, 'properties', 'listen', 'properties', 'port', 'description')).toBe('Listener port.');
    expect(dig(json, 'properties', 'listen', 'additionalProperties')).toBe(false);
    expect(readFileSync(out, 'utf8').endsWith('}\n')).toBe(true);
  });
});

describe('config loader hostile input (#19)', () => {
  /** Nine levels of nine-fold aliases: 9^9 (≈ 387 M) strings if every alias were expanded. */
  const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    .concat(
      'bcdefghi'.split('').map((k, i) => {
        const prev = 'abcdefghi'[i]!;
        return `${k}: &${k} [${Array(9).fill(`*${prev}`).join(',')}]`;
      }),
    )
    .join('\n');

  it('refuses a YAML alias bomb (maxAliasCount) quickly, as an invalid-YAML error at 1:1', async () => {
    const file = writeConfig(bomb + '\n');
    const started = Date.now();
    const err = await loadConfigFile(file, schema, { env: {} }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(err).toBeInstanceOf(ConfigErrors);
    const errors = (err as ConfigErrors).errors;
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ line: 1, column: 1, path: '' });
    expect(errors[0]!.message).toMatch(/^invalid YAML: .*alias/i);
  });

  it('resolves aliases within the limit (the bound is on expansion, not on anchors)', () => {
    const src = parseYamlSource('a: &a [1, 2]\nb: *a\nc: { <<: { k: v } }\n', 'ok.yaml');
    expect(src.errors).toEqual([]);
    expect(src.value).toEqual({ a: [1, 2], b: [1, 2], c: { k: 'v' } });
  });

  it('never interpolates keys: "${KEY}" as a key stays literal (an unknown property), the value is interpolated', async () => {
    const file = writeConfig('listen:\n  "${KEY}": 9000\n  host: "${HOST}"\n');
    const err = await loadConfigFile(file, schema, { env: { KEY: 'port', HOST: '10.0.0.1' } }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigErrors);
    const errors = (err as ConfigErrors).errors;
    expect(errors.map((e) => e.path)).toEqual(['/listen/${KEY}']);
    expect(errors[0]!.line).toBe(2);
    // Escaped the same way in a value: `$${` is a literal.
    const ok = await loadConfigFile(writeConfig('store: "$${KEY}"\n'), schema, { env: { KEY: 'x' } });
    expect((ok as { store: string }).store).toBe('${KEY}');
  });
});
