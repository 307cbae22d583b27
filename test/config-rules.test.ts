import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readConfig, StartupErrors } from '../src/cli/app.ts';
import { FIXTURES } from './helpers/gateway.ts';

// `rampart start` (readConfig) applies the same cross-field rules as `rampart check`.
describe('config rules at start', () => {
  it('refuses duplicate base paths, unknown successors and sunset before deprecation, with positions', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rampart-rules-'));
    try {
      const spec = join(FIXTURES, 'gateway/shop-v2.yaml');
      const file = join(dir, 'rampart.yaml');
      await writeFile(
        file,
        `apis:
  - name: shop
    upstream: http://127.0.0.1:9000
    versions:
      - { base: /v2, spec: ${spec} }
      - { base: /v1, spec: ${spec}, successor: /v3, deprecated: 2026-06-30, sunset: 2026-01-01 }
  - name: other
    upstream: http://127.0.0.1:9001
    versions:
      - { base: /v2, spec: ${spec} }
`,
      );
      const err = await readConfig(file).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StartupErrors);
      const text = (err as StartupErrors).message;
      expect(text).toMatch(
        /rampart\.yaml:6:\d+\s+\/apis\/0\/versions\/1\/successor\s+successor '\/v3' is not a base path/,
      );
      expect(text).toMatch(
        /rampart\.yaml:6:\d+\s+\/apis\/0\/versions\/1\/sunset\s+sunset 2026-01-01 is before deprecation/,
      );
      expect(text).toMatch(
        /rampart\.yaml:10:\d+\s+\/apis\/1\/versions\/0\/base\s+base path '\/v2' is already used/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses impossible lifecycle dates and compares date-times as instants', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rampart-rules-'));
    try {
      const spec = join(FIXTURES, 'gateway/shop-v2.yaml');
      const file = join(dir, 'rampart.yaml');
      await writeFile(
        file,
        `apis:
  - name: shop
    upstream: http://127.0.0.1:9000
    versions:
      - { base: /v2, spec: ${spec} }
      - { base: /v1, spec: ${spec}, deprecated: '2026-02-30', sunset: '2026-03-01T00:00:00+02:00' }
      - { base: /v0, spec: ${spec}, deprecated: '2026-03-01T10:00:00Z', sunset: '2026-03-01T11:00:00+02:00' }
`,
      );
      const text = await readConfig(file).then(
        () => '',
        (e: unknown) => (e as Error).message,
      );
      expect(text).toMatch(/\/apis\/0\/versions\/1\/deprecated\s+'2026-02-30' is not a valid date/);
      // 11:00+02:00 is 09:00Z, an hour before the deprecation instant.
      expect(text).toMatch(/\/apis\/0\/versions\/2\/sunset\s+sunset .* is before deprecation/);
      expect(text).not.toMatch(/versions\/1\/sunset/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('limit rules at start and check', () => {
  it('refuses contradictory default limits and a flow declared twice differently, with positions', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rampart-rules-'));
    try {
      const spec = join(FIXTURES, 'gateway/shop-v2.yaml');
      const file = join(dir, 'rampart.yaml');
      await writeFile(
        file,
        `apis:
  - name: shop
    upstream: http://127.0.0.1:9000
    versions: [{ base: /v2, spec: ${spec} }]
policies:
  rate-limit:
    defaults:
      - { per: ip, limit: 5, window: 60 }
      - { per: ip, limit: 9, window: 1m, name: other }
  flow-limit:
    flows:
      - { name: f, limit: 1, window: 1d, per: user, operations: ['POST /v2/items'] }
      - { name: f, limit: 2, window: 1d, per: user, operations: ['POST /v2/items'] }
`,
      );
      const err = await readConfig(file).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StartupErrors);
      const text = (err as StartupErrors).message;
      expect(text).toMatch(
        /rampart\.yaml:9:\d+\s+\/policies\/rate-limit\/defaults\/1\/limit\s+contradicts item 0: the same 'per' and window with limit 5 vs 9/,
      );
      expect(text).toMatch(
        /rampart\.yaml:13:\d+\s+\/policies\/flow-limit\/flows\/1\s+flow 'f' is also declared/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
