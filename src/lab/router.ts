import type { IncomingMessage } from 'node:http';
import { LabError, type LabResponse } from './http.ts';

/** What a route handler sees: the parsed request, nothing of node:http's response. */
export interface LabRequest {
  method: string;
  path: string;
  /** Route template that matched, e.g. `/v2/records/{recordId}`. */
  route: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  raw: IncomingMessage;
}

export type Handler = (req: LabRequest) => Promise<LabResponse>;

interface Route {
  method: string;
  template: string;
  parts: string[];
  handler: Handler;
}

/** A tiny router: literal segments and `{name}` parameters, no regular expressions. */
export class Router {
  private readonly routes: Route[] = [];

  add(method: string, template: string, handler: Handler): this {
    this.routes.push({
      method: method.toUpperCase(),
      template,
      parts: template.split('/').slice(1),
      handler,
    });
    return this;
  }

  /** The matching route, or a 404/405 LabError. */
  match(method: string, path: string): { route: Route; params: Record<string, string> } {
    const segs = path.split('/').slice(1);
    let decoded: string[];
    try {
      decoded = segs.map((s) => decodeURIComponent(s));
    } catch {
      throw new LabError('invalid-path', 'The request path is not valid percent-encoding');
    }
    const allowed = new Set<string>();
    for (const r of this.routes) {
      const params = bind(r.parts, decoded);
      if (!params) continue;
      if (r.method === method || (method === 'HEAD' && r.method === 'GET')) return { route: r, params };
      allowed.add(r.method);
    }
    if (allowed.size > 0) {
      throw new LabError('method-not-allowed', `Use one of: ${[...allowed].join(', ')}`, {
        allow: [...allowed].join(', '),
      });
    }
    throw new LabError('not-found', `No resource at ${path}`);
  }
}

/** The `{name}` parameters when the decoded segments fit the template's parts (a parameter is never empty). */
function bind(parts: readonly string[], segs: readonly string[]): Record<string, string> | undefined {
  if (parts.length !== segs.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, p] of parts.entries()) {
    const seg = segs[i]!;
    if (p.startsWith('{') && p.endsWith('}')) {
      if (seg === '') return undefined;
      params[p.slice(1, -1)] = seg;
    } else if (p !== seg) return undefined;
  }
  return params;
}
