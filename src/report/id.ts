/**
 * Stable finding ids: the same problem at the same place gets the same id across runs
 * (Finding.id), so baselines, run-to-run diffs and `--replay` work. A SHA-256 over the
 * distinguishing parts, shortened to 16 hex digits (64 bits: collisions are not a
 * practical concern within one report or baseline).
 */
import { createHash } from 'node:crypto';

/**
 * @example
 * findingId('audit', 'audit/bola-no-owner', 'GET /records/{recordId}') // '5e0c…' (16 hex digits)
 */
export function findingId(...parts: ReadonlyArray<string | number | undefined>): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(String(p ?? '')).update('\0');
  return h.digest('hex').slice(0, 16);
}
