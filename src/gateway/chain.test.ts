import { describe, expect, it } from 'vitest';
import { problem } from '../core/errors.ts';
import { Chain } from './chain.ts';
import { deny, type Policy, type RequestContext, type ResponseContext } from './policy.ts';

function recorder(
  log: string[],
  name: string,
  priority: number,
  opts: { deny?: boolean; async?: boolean } = {},
): Policy {
  return {
    name,
    priority,
    onRequest: () => {
      log.push(`req:${name}`);
      const result = opts.deny ? deny(problem('forbidden')) : undefined;
      return opts.async ? Promise.resolve(result) : result;
    },
    onResponse: () => {
      log.push(`res:${name}`);
    },
  };
}

const ctx = {} as RequestContext;
const res = {} as ResponseContext;

describe('Chain', () => {
  it('runs requests by ascending priority (ties by name) and responses in reverse', async () => {
    const log: string[] = [];
    const chain = new Chain(
      [recorder(log, 'c', 300), recorder(log, 'b', 100), recorder(log, 'a', 100, { async: true })],
      350,
    );
    const out = await chain.runRequest(ctx, 0, chain.policies.length);
    expect(out.denial).toBeUndefined();
    await chain.runResponse(ctx, res, out.ran);
    expect(log).toEqual(['req:a', 'req:b', 'req:c', 'res:c', 'res:b', 'res:a']);
  });

  it('short-circuits on the first denial; only policies that ran see the response', async () => {
    const log: string[] = [];
    const chain = new Chain(
      [
        recorder(log, 'first', 10),
        recorder(log, 'denier', 20, { deny: true, async: true }),
        recorder(log, 'never', 30),
      ],
      350,
    );
    const out = await chain.runRequest(ctx, 0, chain.policies.length);
    expect(out.policy).toBe('denier');
    expect(out.denial?.problem.status).toBe(403);
    await chain.runResponse(ctx, res, out.ran);
    expect(log).toEqual(['req:first', 'req:denier', 'res:denier', 'res:first']);
  });

  it('splits at the routing priority and refuses duplicate names', () => {
    const log: string[] = [];
    const chain = new Chain([recorder(log, 'pre', 100), recorder(log, 'post', 400)], 350);
    expect(chain.routeIndex).toBe(1);
    expect(() => new Chain([recorder(log, 'x', 1), recorder(log, 'x', 2)], 350)).toThrow(/configured twice/);
  });

  it('runs synchronous chains without creating promises', () => {
    const log: string[] = [];
    const chain = new Chain([recorder(log, 'a', 1), recorder(log, 'b', 2)], 350);
    const out = chain.runRequest(ctx, 0, 2);
    expect(out).not.toBeInstanceOf(Promise);
  });
});
