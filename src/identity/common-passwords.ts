/**
 * The blocklist of common and breached passwords (NIST SP 800-63B-4, OWASP ASVS 6.2.12):
 * 474,743 entries from the SecLists top-1M list (see blocklist/README.md). Loaded once, on
 * first use, into one sorted buffer; a lookup is a binary search (≈19 comparisons),
 * with no per-entry objects in memory.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

const FILE = new URL('./blocklist/common-passwords.txt.gz', import.meta.url);

interface Blocklist {
  data: Buffer;
  /** Start offset of each entry; entries end at the next '\n'. */
  starts: Uint32Array;
}

let list: Blocklist | undefined;

function load(): Blocklist {
  if (list) return list;
  const data = gunzipSync(readFileSync(FILE));
  let n = 0;
  for (let i = 0; i < data.length; i++) if (data[i] === 10) n++;
  const starts = new Uint32Array(n);
  let k = 0;
  let start = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i] === 10) {
      starts[k++] = start;
      start = i + 1;
    }
  }
  list = { data, starts };
  return list;
}

/** Number of entries in the shipped list. */
export function commonPasswordCount(): number {
  return load().starts.length;
}

/**
 * True when the password (NFKC-normalised by the caller) is on the list, compared
 * case-insensitively.
 */
export function isCommonPassword(password: string): boolean {
  const { data, starts } = load();
  const needle = Buffer.from(password.toLowerCase(), 'utf8');
  let lo = 0;
  let hi = starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const s = starts[mid]!;
    const e = data.indexOf(10, s);
    const cmp = Buffer.compare(data.subarray(s, e), needle);
    if (cmp === 0) return true;
    if (cmp < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
