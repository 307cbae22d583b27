import { describe, expect, it } from 'vitest';
import { problem, ProblemError } from '../core/errors.ts';
import { Chain, ChainCompiler, type ChainEntry } from './chain.ts';
import { deny, type Policy, type RequestContext, type ResponseContext } from './policy.ts';
import { testRoute } from './policies/test-context.ts';

function recorder(
  log: string[],
  name: string,
  priority: number,
  opts: { deny?: boolean; async?: boolean; throws?: boolean } = {},
): ChainEntry {
  return {
    name,
    priority,
    onRequest: () => {
      log.push(`req:${name}`);
      if (opts.throws) throw new ProblemError('invalid-json', 'bad body');
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
    const chain = new Chain([
      recorder(log, 'c', 300),
      recorder(log, 'b', 100),
      recorder(log, 'a', 100, { async: true }),
    ]);
    const out = await chain.runRequest(ctx, 0, chain.length);
    expect(out.denial).toBeUndefined();
    await chain.runResponse(ctx, res, out.ran);
    expect(log).toEqual(['req:a', 'req:b', 'req:c', 'res:c', 'res:b', 'res:a']);
  });

  it('short-circuits on the first denial; only policies that ran see the response', async () => {
    const log: string[] = [];
    const chain = new Chain([
      recorder(log, 'first', 10),
      recorder(log, 'denier', 20, { deny: true, async: true }),
      recorder(log, 'never', 30),
    ]);
    const out = await chain.runRequest(ctx, 0, chain.length);
    expect(out.policy).toBe('denier');
    expect(out.denial?.problem.status).toBe(403);
    await chain.runResponse(ctx, res, out.ran);
    expect(log).toEqual(['req:first', 'req:denier', 'res:denier', 'res:first']);
  });

  it("answers a hook's ProblemError with its problem, as that policy's denial", async () => {
    const log: string[] = [];
    const chain = new Chain([recorder(log, 'parser', 10, { throws: true }), recorder(log, 'never', 20)]);
    const out = await chain.runRequest(ctx, 0, chain.length);
    expect(out.policy).toBe('parser');
    expect(out.denial?.problem.type).toBe('https://rampart.dev/problems/invalid-json');
    expect(log).toEqual(['req:parser']);
  });

  it('splits at the routing priority', () => {
    const log: string[] = [];
    const chain = new Chain([recorder(log, 'pre', 100), recorder(log, 'post', 400)]);
    expect(chain.routeIndex).toBe(1);
  });

  it('runs synchronous chains without creating promises', () => {
    const log: string[] = [];
    const chain = new Chain([recorder(log, 'a', 1), recorder(log, 'b', 2)]);
    const out = chain.runRequest(ctx, 0, 2);
    expect(out).not.toBeInstanceOf(Promise);
  });
});

describe('ChainCompiler', () => {
  const policy = (name: string, priority: number, hooks: Policy['hooks']): Policy => ({
    name,
    priority,
    hooks,
  });

  it('compiles per route: a policy whose forRoute returns nothing is not in that chain', () => {
    const seen: string[] = [];
    const compiler = new ChainCompiler([
      policy('pre', 100, { onRequest: () => undefined }),
      policy('admin-only', 600, {
        forRoute: (route) => {
          seen.push(route.template);
          return route.rampart.admin ? { onRequest: () => undefined, needsResponseBody: true } : undefined;
        },
      }),
    ]);
    const plain = compiler.forRoute(testRoute({ template: '/a' }));
    const admin = compiler.forRoute(testRoute({ template: '/b', rampart: { admin: true } }));
    expect(plain.entries.map((e) => e.name)).toEqual(['pre']);
    expect(plain.needsResponseBody).toBe(false);
    expect(admin.entries.map((e) => e.name)).toEqual(['pre', 'admin-only']);
    expect(admin.needsResponseBody).toBe(true);
    expect(compiler.global.entries.map((e) => e.name)).toEqual(['pre']);
    expect(seen).toEqual(['/a', '/b']);
  });

  it('refuses duplicate names and per-route hooks before routing', () => {
    expect(() => new ChainCompiler([policy('x', 1, {}), policy('x', 2, {})])).toThrow(/configured twice/);
    expect(() => new ChainCompiler([policy('early', 100, { forRoute: () => undefined })])).toThrow(
      /cannot have forRoute/,
    );
  });
});
