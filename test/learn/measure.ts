/**
 * Shared by the learn-mode proofs: a learning proxy in front of a real API, the learned
 * document written and read back through the OpenAPI loader, and the agreement figures.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { stringify } from 'yaml';
import { loadOpenApi } from '../../src/core/openapi-loader.ts';
import { compare, comparisonFindings, type Comparison, type Documented } from '../../src/learn/compare.ts';
import { learnedDocument } from '../../src/learn/document.ts';
import { Learner } from '../../src/learn/learner.ts';
import { LearningProxy } from '../../src/learn/proxy.ts';
import type { Finding } from '../../src/core/findings.ts';

export interface LearningRun {
  proxy: LearningProxy;
  learner: Learner;
  send(
    method: string,
    path: string,
    opts?: { headers?: Record<string, string>; body?: unknown; raw?: string },
  ): Promise<{ status: number; text: string }>;
  /** Stops the proxy, writes the document as YAML, loads it back and compares it. */
  finish(
    documented: Array<{ spec: string; base?: string }>,
  ): Promise<{ text: string; doc: Record<string, unknown>; comparison: Comparison; findings: Finding[] }>;
}

export async function learningProxy(upstream: string): Promise<LearningRun> {
  const learner = new Learner();
  const proxy = new LearningProxy({ upstream, learner });
  await proxy.start();
  return {
    proxy,
    learner,
    async send(method, path, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers };
      let body: string | undefined;
      if (opts.raw !== undefined || opts.body !== undefined) {
        headers['content-type'] ??= 'application/json';
        body = opts.raw ?? JSON.stringify(opts.body);
      }
      const r = await request(proxy.url + path, { method: method as 'GET', headers, body });
      return { status: r.statusCode, text: await r.body.text() };
    },
    async finish(documented) {
      await proxy.close();
      const doc = learnedDocument(learner, { upstream });
      const dir = await mkdtemp(join(tmpdir(), 'rampart-learn-'));
      try {
        const file = join(dir, 'learned.yaml');
        await writeFile(file, stringify(doc, { lineWidth: 0 }));
        const learned = await loadOpenApi(file);
        const docs: Documented[] = [];
        for (const d of documented) {
          const loaded = await loadOpenApi(d.spec);
          const servers = loaded.raw.servers as Array<{ url: string }> | undefined;
          docs.push({ doc: loaded, base: d.base ?? servers?.[0]?.url ?? '' });
        }
        const comparison = compare(learned, docs);
        return {
          text: await readFile(file, 'utf8'),
          doc,
          comparison,
          findings: comparisonFindings(comparison, file),
        };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** One line per figure, for docs/learn.md. */
export function figures(c: Comparison): string {
  const m = c.metrics;
  return Object.entries(m)
    .map(([k, r]) => `${k.padEnd(20)} ${(r.value * 100).toFixed(1).padStart(5)} % (${r.matched}/${r.of})`)
    .join('\n');
}
