/**
 * The dependency check: lockfiles (npm v1/v3, pnpm, yarn) against real npm advisories
 * transcribed in OSV format (test/fixtures/code/advisories/), exact range evaluation,
 * and `rampart code --update-advisories` against a local HTTP server serving a zip.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { parseJsonReport } from '../../report/index.ts';
import { parseNpmLock, parsePnpmLock, parseYarnLock } from './lockfile.ts';
import { inRange, indexAdvisories, loadAdvisories, unzip } from './osv.ts';
import { scanLockfile } from './scan.ts';

const fx = (p: string): string => fileURLToPath(new URL(`../../../test/fixtures/code/${p}`, import.meta.url));
const notes: string[] = [];
const advisories = loadAdvisories(fx('advisories'), notes);
const idx = indexAdvisories(advisories);

/** A zip archive (deflated entries) the way osv.dev publishes npm/all.zip. */
function zip(entries: Array<{ name: string; data: Buffer }>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const comp = deflateRawSync(e.data);
    const name = Buffer.from(e.name);
    const head = Buffer.alloc(30);
    head.writeUInt32LE(0x04034b50, 0);
    head.writeUInt16LE(20, 4);
    head.writeUInt16LE(8, 8);
    head.writeUInt32LE(crc32(e.data), 14);
    head.writeUInt32LE(comp.length, 18);
    head.writeUInt32LE(e.data.length, 22);
    head.writeUInt16LE(name.length, 26);
    const cen = Buffer.alloc(46);
    cen.writeUInt32LE(0x02014b50, 0);
    cen.writeUInt16LE(20, 4);
    cen.writeUInt16LE(20, 6);
    cen.writeUInt16LE(8, 10);
    cen.writeUInt32LE(crc32(e.data), 16);
    cen.writeUInt32LE(comp.length, 20);
    cen.writeUInt32LE(e.data.length, 24);
    cen.writeUInt16LE(name.length, 28);
    cen.writeUInt32LE(offset, 42);
    locals.push(head, name, comp);
    centrals.push(cen, name);
    offset += 30 + name.length + comp.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

describe('OSV ranges', () => {
  it.each([
    ['4.17.20', [{ introduced: '0' }, { fixed: '4.17.21' }], true],
    ['4.17.21', [{ introduced: '0' }, { fixed: '4.17.21' }], false],
    ['3.6.9', [{ introduced: '3.7.0' }, { fixed: '4.17.19' }], false],
    ['3.7.0', [{ introduced: '3.7.0' }, { fixed: '4.17.19' }], true],
    ['8.5.1', [{ introduced: '0' }, { last_affected: '8.5.1' }], true],
    ['9.0.0', [{ introduced: '0' }, { last_affected: '8.5.1' }], false],
    ['5.0.0-beta.2', [{ introduced: '5.0.0-alpha.1' }, { fixed: '5.0.0-beta.3' }], true],
    ['5.0.0', [{ introduced: '5.0.0-alpha.1' }, { fixed: '5.0.0-beta.3' }], false],
    ['1.2.5', [{ introduced: '0' }, { fixed: '0.2.4' }, { introduced: '1.0.0' }, { fixed: '1.2.6' }], true],
    ['0.3.0', [{ introduced: '0' }, { fixed: '0.2.4' }, { introduced: '1.0.0' }, { fixed: '1.2.6' }], false],
  ])('%s in %j → %s', (v, events, expected) => {
    expect(inRange(v, events)).toBe(expected);
  });
});

describe('lockfiles against the advisories', () => {
  it('loads the six advisories without notes', () => {
    expect(advisories.map((a) => a.id).sort()).toHaveLength(6);
    expect(notes).toEqual([]);
  });
  it('package-lock.json v3: affected versions with ids, severity and the fixed version; boundaries exact', () => {
    const rel = 'lockfiles/package-lock.json';
    const found = scanLockfile(rel, readFileSync(fx(rel), 'utf8'), idx, []);
    const got = found.map((f) => [
      f.evidence.details!.package,
      f.evidence.details!.version,
      f.evidence.details!.advisory,
      f.severity,
      f.evidence.details!.fixed ?? null,
    ]);
    expect(got.sort()).toEqual(
      [
        ['jsonwebtoken', '8.5.1', 'GHSA-hjrf-2m68-5959', 'medium', null],
        ['lodash', '4.17.20', 'GHSA-35jh-r3h4-6jhm', 'high', '4.17.21'],
        ['minimist', '1.2.5', 'GHSA-xvch-5gv4-984h', 'critical', '1.2.6'],
        ['semver', '5.7.1', 'GHSA-c2qf-rxjj-qqgw', 'medium', '5.7.2'],
      ].sort(),
    );
    const lodash = found.find((f) => f.evidence.details!.package === 'lodash')!;
    expect(lodash.check).toBe('code/vulnerable-dependency');
    expect(lodash.evidence.location!.line).toBe(
      readFileSync(fx(rel), 'utf8')
        .split('\n')
        .findIndex((l) => l.includes('"node_modules/lodash"')) + 1,
    );
    expect(lodash.description).toContain('CVE-2021-23337');
    expect(found.find((f) => f.evidence.details!.package === 'minimist')!.evidence.details!.dev).toBe(true);
  });
  it('package-lock v1 (nested dependencies)', () => {
    const v1 = JSON.stringify({
      lockfileVersion: 1,
      dependencies: { a: { version: '1.0.0', dependencies: { lodash: { version: '4.17.15' } } } },
    });
    expect(parseNpmLock(v1).map((p) => `${p.path}@${p.version}`)).toEqual([
      'node_modules/a@1.0.0',
      'node_modules/a/node_modules/lodash@4.17.15',
    ]);
  });
  it('pnpm-lock.yaml v9 and yarn.lock v1', () => {
    const pnpm = parsePnpmLock(readFileSync(fx('lockfiles/pnpm-lock.yaml'), 'utf8'));
    expect(pnpm.map((p) => `${p.name}@${p.version}`)).toEqual([
      'lodash@4.17.21',
      'minimist@0.2.1',
      '@scope/pkg@1.0.0',
    ]);
    const yarn = parseYarnLock(readFileSync(fx('lockfiles/yarn.lock'), 'utf8'));
    expect(yarn.map((p) => `${p.name}@${p.version}`)).toEqual(['express@4.18.2', 'semver@6.3.0']);
    const ids = [
      ...scanLockfile('pnpm-lock.yaml', readFileSync(fx('lockfiles/pnpm-lock.yaml'), 'utf8'), idx, []),
      ...scanLockfile('yarn.lock', readFileSync(fx('lockfiles/yarn.lock'), 'utf8'), idx, []),
    ].map(
      (f) => `${f.evidence.details!.package}:${f.evidence.details!.advisory}:${f.evidence.details!.fixed}`,
    );
    expect(ids.sort()).toEqual([
      'express:GHSA-rv95-896h-c2vc:4.19.2',
      'minimist:GHSA-xvch-5gv4-984h:0.2.4',
      'semver:GHSA-c2qf-rxjj-qqgw:6.3.1',
    ]);
  });
  it('a corrupt lockfile is a note', () => {
    const n: string[] = [];
    expect(scanLockfile('package-lock.json', '{ not json', idx, n)).toEqual([]);
    expect(n[0]).toMatch(/^package-lock\.json: lockfile not parsed/);
  });
});

describe('--update-advisories from a local server', () => {
  let server: Server;
  let base = '';
  let requests: string[] = [];
  const archive = zip(
    readdirSync(fx('advisories')).map((name) => ({ name, data: readFileSync(join(fx('advisories'), name)) })),
  );
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      if (req.url === '/npm/all.zip') res.writeHead(200, { 'content-type': 'application/zip' }).end(archive);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const a = server.address();
    base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('the zip reader reads what the writer wrote', () => {
    expect(
      unzip(archive)
        .map((e) => e.name)
        .sort(),
    ).toEqual(readdirSync(fx('advisories')).sort());
  });
  it('downloads the archive, then scans with it', async () => {
    requests = [];
    const dir = mkdtempSync(join(tmpdir(), 'rampart-osv-'));
    writeFileSync(join(dir, 'package-lock.json'), readFileSync(fx('lockfiles/package-lock.json')));
    const dest = join(dir, 'db', 'npm.zip');
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(
      [
        'code',
        dir,
        '--update-advisories',
        `${base}/npm/all.zip`,
        '--advisories',
        dest,
        '--format',
        'json',
        '--fail-on',
        'critical',
      ],
      {
        out: (l) => out.push(l),
        err: (l) => err.push(l),
      },
    );
    expect(requests).toEqual(['/npm/all.zip']);
    expect(readFileSync(dest).equals(archive)).toBe(true);
    const report = parseJsonReport(out.join('\n'));
    expect(report.findings.filter((f) => f.check === 'code/vulnerable-dependency')).toHaveLength(4);
    expect(report.meta.notes).toContain(`dependencies: 6 npm advisories loaded from ${dest}`);
    expect(code).toBe(1); // minimist is critical
    expect(err.join('\n')).toMatch(/downloaded \d+ bytes of advisories/);
  });
  it('a failed download is a precise error and leaves no file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-osv-'));
    const err: string[] = [];
    const code = await main(
      ['code', dir, '--update-advisories', `${base}/missing.zip`, '--advisories', join(dir, 'x.zip')],
      { out: () => {}, err: (l) => err.push(l) },
    );
    expect(code).toBe(1);
    expect(err.join('\n')).toContain(`${base}/missing.zip answered 404`);
    expect(readdirSync(dir)).toEqual([]);
  });
});
