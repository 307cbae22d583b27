import { describe, expect, it } from 'vitest';
import { defaultAlgorithm, mergeLevels } from './limits.ts';

describe('the default algorithm', () => {
  it('is the exact sliding window where a log is affordable, GCRA otherwise', () => {
    expect(defaultAlgorithm({ per: 'user', limit: 100, window: 60 })).toBe('sliding-window');
    expect(defaultAlgorithm({ per: 'user', limit: 10_000, window: '1h' })).toBe('sliding-window');
    // A declared burst is GCRA's concept; large limits and day-long quotas would be huge logs.
    expect(defaultAlgorithm({ per: 'user', limit: 100, window: 60, burst: 20 })).toBe('gcra');
    expect(defaultAlgorithm({ per: 'user', limit: 10_001, window: 60 })).toBe('gcra');
    expect(defaultAlgorithm({ per: 'user', limit: 10_000, window: '1d' })).toBe('gcra');
    expect(defaultAlgorithm({ per: 'user', limit: 100, window: 60, unit: 'content-bytes' })).toBe('gcra');
    // Written out, the choice is the user's (a bytes quota is always GCRA).
    expect(defaultAlgorithm({ per: 'user', limit: 100, window: 60, algorithm: 'gcra' })).toBe('gcra');
    expect(
      defaultAlgorithm({
        per: 'user',
        limit: 100,
        window: 60,
        algorithm: 'sliding-window',
        unit: 'content-bytes',
      }),
    ).toBe('gcra');
    const [l] = mergeLevels(
      [{ level: 'operation', scope: 'op', value: { per: 'user', limit: 5, window: 60 } }],
      'open',
    );
    expect(l!.algorithm).toBe('sliding-window');
  });
});
