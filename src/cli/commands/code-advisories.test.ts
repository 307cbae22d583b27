/**
 * `rampart code --update-advisories` against a local HTTP server serving a zip of the
 * fixture advisories (test/fixtures/code/advisories/), the way osv.dev serves npm/all.zip,
 * and the zip reader on what a zip writer produced.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unzip } from '../../code/dependencies/osv.ts';
import { parseJsonReport } from '../../report/index.ts';
import { main } from '../main.ts';

const fx = (p: string): string => fileURLToPath(new URL(`../../../test/fixtures/code/${p}`, import.meta.url));

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
