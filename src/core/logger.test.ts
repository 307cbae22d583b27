import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

describe('logger', () => {
  it('writes JSON and redacts secrets wherever they appear', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = createLogger({ destination, pretty: false });
    log.info(
      {
        password: 'hunter2-hunter2',
        user: { token: 'eyJhbGciOi.secret', name: 'ann' },
        headers: { authorization: 'Bearer abc.def.ghi' },
        code: '123456',
      },
      'login',
    );
    const out = lines.join('');
    const parsed = JSON.parse(out) as Record<string, unknown>;
    expect(parsed.msg).toBe('login');
    for (const secret of ['hunter2-hunter2', 'eyJhbGciOi.secret', 'Bearer abc.def.ghi', '123456'])
      expect(out).not.toContain(secret);
    expect(out).toContain('ann');
  });
});
