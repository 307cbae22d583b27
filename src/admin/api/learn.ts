/**
 * The admin API's learn-mode reads (docs/learn.md, docs/admin-api.md): which API versions
 * learn and what the store holds for them (`GET /learn`), and one version's learned OpenAPI
 * document with its diff against the document it is enforcing now (`GET /learn/{api}`) —
 * what the console's Learn page shows before `rampart learn promote`. The composer
 * (cli/app.ts) hands in a `LearnProvider`; without one both answer 404.
 */
import { ProblemError } from '../../core/errors.ts';
import type { RequestContext } from '../../gateway/policy.ts';
import type { LocalAnswer } from '../../gateway/runtime.ts';

export interface LearnedVersion {
  api: string;
  base: string;
  /** `learn`: no document yet (everything forwarded); `enforce`: `learn: true` beside the document. */
  mode: 'learn' | 'enforce';
  /** What the store holds (0 / undefined before the first flush). */
  exchanges: number;
  operations: number;
  updatedAt?: number;
}

/** One version's learned document and its comparison with the current one (none in mode: learn). */
export interface LearnedDocument {
  api: string;
  base: string;
  mode: 'learn' | 'enforce';
  document: Record<string, unknown>;
  diff?: {
    shadow: Array<{ operation: string; calls: number; public: boolean }>;
    neverCalled: Array<{ operation: string }>;
    undeclared: Array<{ operation: string; status: string; property: string; pii: string[] }>;
    matched: number;
    metrics: Record<string, { matched: number; of: number; value: number }>;
  };
}

export interface LearnProvider {
  list(): Promise<LearnedVersion[]>;
  /** Undefined when nothing was learned for it yet; a ProblemError for an unknown API or version. */
  document(api: string, base: string | undefined): Promise<LearnedDocument | undefined>;
}

type Handler = (ctx: RequestContext, q: URLSearchParams) => Promise<LocalAnswer>;

/** The handlers of the learn operations (by operationId), merged into the admin API's. */
export function learnHandlers(provider: LearnProvider | undefined): Record<string, Handler> {
  const need = (): LearnProvider => {
    if (!provider) throw new ProblemError('not-found', 'Learn mode is not wired in this process');
    return provider;
  };
  return {
    async listLearning() {
      return { status: 200, body: { items: await need().list() } };
    },
    async getLearnedDocument(ctx, q) {
      const api = ctx.route!.params.api!;
      const doc = await need().document(api, q.get('base') ?? undefined);
      if (!doc) throw new ProblemError('not-found', `Nothing learned yet for API '${api}'`);
      return { status: 200, body: doc };
    },
  };
}
