import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.ts';
import { silentLogger } from '../core/logger.ts';
import { checkExpiry, loadCertificate } from './tls.ts';

const DAY = 86_400_000;

describe('development certificate and expiry warnings', () => {
  it('generates once, keeps the key private, reuses it, and warns at the thresholds', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rampart-tls-'));
    try {
      const clock = new ManualClock(Date.parse('2026-11-28T00:00:00Z'));
      const first = await loadCertificate({ devCertDir: dir }, silentLogger, clock);
      expect(first.generated).toBe(true);
      expect((await stat(join(dir, 'dev-key.pem'))).mode & 0o777).toBe(0o600);
      const again = await loadCertificate({ devCertDir: dir }, silentLogger, clock);
      expect(again.cert).toBe(first.cert);

      expect(checkExpiry(first.cert, [30, 7], clock)).toMatchObject({ daysLeft: 90, threshold: undefined });
      clock.advance(65 * DAY);
      expect(checkExpiry(first.cert, [30, 7], clock)).toMatchObject({ daysLeft: 25, threshold: 30 });
      clock.advance(20 * DAY);
      expect(checkExpiry(first.cert, [30, 7], clock)).toMatchObject({ daysLeft: 5, threshold: 7 });
      // Near expiry the kept dev certificate is replaced.
      const renewed = await loadCertificate({ devCertDir: dir }, silentLogger, clock);
      expect(renewed.cert).not.toBe(first.cert);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
