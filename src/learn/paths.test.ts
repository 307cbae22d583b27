import { describe, expect, it } from 'vitest';
import { PathTrie, templateText, DEFAULT_PATH_LIMITS } from './paths.ts';

function learn(trie: PathTrie, paths: string[], useful = true): string[] {
  return paths.map((p) => {
    const o = trie.observe(p, useful);
    if ('rejected' in o) throw new Error(o.rejected);
    return templateText(trie.template(o.key));
  });
}

describe('path templates', () => {
  it('folds integers, UUIDs and dates at once and names them after the preceding segment', () => {
    const t = new PathTrie();
    const [a, b, c, d] = learn(t, [
      '/orders/17',
      '/orders/42/items/3',
      '/accounts/3f2504e0-4f89-11d3-9a0c-0305e82c3301',
      '/reports/2026-12-01',
    ]);
    expect(a).toBe('/orders/{orderId}');
    expect(b).toBe('/orders/{orderId}/items/{itemId}');
    expect(c).toBe('/accounts/{accountId}');
    expect(d).toBe('/reports/{reportId}');
  });

  it('keeps a literal beside a parameter (/orders/export stays)', () => {
    const t = new PathTrie();
    learn(t, ['/orders/17', '/orders/18', '/orders/export']);
    const o = t.observe('/orders/export', true);
    expect('key' in o && templateText(t.template(o.key))).toBe('/orders/export');
  });

  it('folds slugs from three distinct ones and file names from two; fewer stay literals', () => {
    const t = new PathTrie();
    learn(t, ['/posts/post-2024-recap', '/posts/how-to-learn-x']);
    expect(learn(t, ['/posts/how-to-learn-x'])[0]).toBe('/posts/how-to-learn-x');
    learn(t, ['/posts/a-third-post']);
    expect(learn(t, ['/posts/how-to-learn-x'])[0]).toBe('/posts/{postId}');
    learn(t, ['/docs/a.txt']);
    expect(learn(t, ['/docs/a.txt'])[0]).toBe('/docs/a.txt');
    learn(t, ['/docs/b.txt']);
    expect(learn(t, ['/docs/a.txt'])[0]).toBe('/docs/{docId}');
  });

  it('opens a node past the high-cardinality threshold, and names clash-free', () => {
    const t = new PathTrie({ ...DEFAULT_PATH_LIMITS, highCardinality: 5 });
    const names = Array.from({ length: 8 }, (_, i) => `/users/user${'abcdefgh'[i]}`);
    const out = learn(t, names);
    expect(out.slice(0, 5)).toEqual(names.slice(0, 5));
    expect(out.slice(5)).toEqual(['/users/{userId}', '/users/{userId}', '/users/{userId}']);
    expect(t.stats.opened).toBe(1);
    expect(learn(t, ['/pairs/1/2'])[0]).toBe('/pairs/{pairId}/{id}');
  });

  it('evicts unconfirmed (404-only) candidates instead of opening, and stays within maxNodes', () => {
    const t = new PathTrie({ ...DEFAULT_PATH_LIMITS, highCardinality: 10, maxNodes: 50 });
    learn(t, ['/api/orders']);
    for (let i = 0; i < 100_000; i++) t.observe(`/api/probe-${i.toString(36)}x/deeper/still`, false);
    expect(t.stats.opened).toBe(0);
    expect(t.stats.nodes).toBeLessThanOrEqual(50);
    expect(t.stats.evicted).toBeGreaterThan(99_000);
    expect(learn(t, ['/api/orders'])[0]).toBe('/api/orders');
  });

  it('refuses hostile paths', () => {
    const t = new PathTrie();
    expect(t.observe('/a/%E0%A4%A', true)).toEqual({ rejected: 'bad-escape' });
    expect(t.observe('/a/%00', true)).toEqual({ rejected: 'hostile-path' });
    expect(t.observe('/a/' + 'x'.repeat(500), true)).toEqual({ rejected: 'hostile-path' });
    expect(t.observe('/' + 'a/'.repeat(100), true)).toEqual({ rejected: 'hostile-path' });
    expect(t.observe('/a/%7B%7D', true)).toEqual({ rejected: 'hostile-path' });
  });
});
