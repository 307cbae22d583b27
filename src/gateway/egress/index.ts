/**
 * Egress (API10, unsafe consumption of APIs): a plain-HTTP listener on loopback through
 * which the protected API sends its calls to third-party APIs. Each third party is declared
 * with a base URL and its OpenAPI document; a call to `http://127.0.0.1:9902/<name>/<path>`
 * goes to `<baseUrl>/<path>` when the document declares the operation and the call matches
 * it, through the SSRF guard (addresses pinned at connect time, no redirects followed) and
 * with timeouts. The third party's answer is validated against the document — declared
 * status, Content-Type and body schema — before the API sees it: on a violation `block`
 * answers 502 `response-invalid`, `report` passes it on; both emit a `contract-violation`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Type, type Static } from '@sinclair/typebox';
import { request, type Agent } from 'undici';
import type { Clock } from '../../core/clock.ts';
import { PROBLEM_CONTENT_TYPE, problem, type Problem, type ProblemCode } from '../../core/errors.ts';
import type { RampartEvent } from '../../core/events.ts';
import type { Logger } from '../../core/logger.ts';
import type { OpenApiDocument } from '../../core/openapi.ts';
import { decodeAnswer } from '../contract/encoding.ts';
import { outboundGuard, SsrfBlocked, type Resolve } from '../../core/ssrf.ts';
import {
  mismatchViolation,
  compileRequestContract,
  compileResponseContract,
  dialectOf,
  type RequestContract,
  type ResponseContract,
} from '../contract/operation.ts';
import { Router } from '../router.ts';
import { HOP_BY_HOP, MAX_INSPECTED_RESPONSE_BYTES } from '../upstream.ts';

export const thirdPartySchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[a-z0-9][a-z0-9-]*$',
      description: 'Short name: the first path segment on the egress listener (`/<name>/…`), and in events.',
    }),
    baseUrl: Type.String({
      format: 'uri',
      description: 'Where the third party lives, e.g. https://api.insurer.example/v1.',
    }),
    spec: Type.String({
      description: "The third party's OpenAPI 3.0/3.1 document (relative to rampart.yaml).",
      'x-rampart-path': true,
    }),
    allowPrivate: Type.Boolean({
      description:
        "Allow the base URL's host to resolve to a private or loopback address (a third party on the internal network). Off: only public addresses.",
      default: false,
    }),
  },
  { additionalProperties: false },
);

export const egressSchema = Type.Object(
  {
    host: Type.String({ description: 'Listener address; keep it on loopback.', default: '127.0.0.1' }),
    port: Type.Integer({
      minimum: 0,
      maximum: 65535,
      description: 'Listener port (0 = any free port).',
      default: 9902,
    }),
    mode: Type.Union([Type.Literal('block'), Type.Literal('report')], {
      description:
        'On an answer that breaks the contract: block (502 response-invalid) or report (pass on, emit an event).',
      default: 'block',
    }),
    timeoutMs: Type.Integer({
      minimum: 100,
      description: 'Connect, response-head and body timeout of a third-party call (504 beyond).',
      default: 5000,
    }),
    thirdParties: Type.Array(thirdPartySchema, {
      minItems: 1,
      description: 'Third-party APIs the protected API calls.',
    }),
  },
  {
    additionalProperties: false,
    description: 'Egress listener for the protected API’s calls to third-party APIs (docs/egress.md).',
  },
);

export type EgressConfig = Static<typeof egressSchema>;
export type ThirdPartyConfig = Static<typeof thirdPartySchema>;

export interface EgressOptions {
  config: EgressConfig;
  /** The third parties' documents, by name (loaded by the caller, relative paths resolved). */
  documents: ReadonlyMap<string, OpenApiDocument>;
  log: Logger;
  clock: Clock;
  emit: (e: RampartEvent) => void;
  /** DNS for the SSRF guard (tests play a rebinding resolver). */
  resolve?: Resolve;
}

interface CompiledOperation {
  request: RequestContract;
  response: ResponseContract;
  route: string;
}

interface Party {
  config: ThirdPartyConfig;
  /** Base URL without a trailing slash: origin + path prefix. */
  prefix: string;
  guard: ReturnType<typeof outboundGuard>;
  agent: Agent;
  ops: Map<unknown, CompiledOperation>;
}

/** Request headers never forwarded to a third party (hop-by-hop, and who the caller is). */
const DROP_REQUEST = new Set([
  ...HOP_BY_HOP,
  'host',
  'content-length',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
]);

/**
 * The running egress listener.
 * @example
 * const egress = await EgressServer.start({ config, documents, log, clock, emit });
 * // the protected API calls `${egress.url}/insurer/eligibility/M-1001`
 */
export class EgressServer {
  private constructor(
    private readonly server: Server,
    private readonly parties: Map<string, Party>,
    readonly url: string,
  ) {}

  static async start(opts: EgressOptions): Promise<EgressServer> {
    const { config, log, clock, emit } = opts;
    const parties = new Map<string, Party>();
    const versions = [];
    for (const tp of config.thirdParties) {
      const doc = opts.documents.get(tp.name);
      if (!doc) throw new Error(`egress: no OpenAPI document loaded for third party '${tp.name}'`);
      const guard = outboundGuard({
        ...(opts.resolve ? { resolve: opts.resolve } : {}),
        ...(tp.allowPrivate ? { allowPrivate: [new URL(tp.baseUrl).hostname] } : {}),
      });
      const dialect = dialectOf(doc.openapi);
      const ops = new Map<unknown, CompiledOperation>();
      for (const op of doc.operations)
        ops.set(op, {
          request: compileRequestContract(op, dialect, { closeObjects: true }),
          response: compileResponseContract(op, dialect),
          route: `${op.method.toUpperCase()} ${op.path}`,
        });
      parties.set(tp.name, {
        config: tp,
        prefix: new URL(tp.baseUrl).href.replace(/\/+$/, ''),
        guard,
        agent: guard.agent({ connectTimeoutMs: config.timeoutMs }),
        ops,
      });
      versions.push({ key: tp.name, api: tp.name, base: `/${tp.name}`, document: doc });
    }
    const router = new Router(versions);

    const reply = (res: ServerResponse, p: Problem): void => {
      const text = JSON.stringify(p);
      res.writeHead(p.status, {
        'content-type': PROBLEM_CONTENT_TYPE,
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    const fail = (
      res: ServerResponse,
      code: ProblemCode,
      detail: string,
      extra: Record<string, unknown> = {},
    ): void => reply(res, problem(code, { detail, ...extra }));

    async function handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
      const raw = req.url ?? '/';
      const q = raw.indexOf('?');
      const path = q < 0 ? raw : raw.slice(0, q);
      const query = q < 0 ? '' : raw.slice(q + 1);
      const method = (req.method ?? 'GET').toUpperCase();
      const m = router.match(method, path);
      if (m.kind !== 'match') {
        return fail(
          res,
          m.kind === 'method-not-allowed' ? 'method-not-allowed' : 'not-found',
          'No third-party operation declared for this call',
        );
      }
      const party = parties.get(m.route.api)!;
      const op = party.ops.get(m.route.operation)!;
      const event = (
        action: 'blocked' | 'reported',
        problemCode: string,
        violations: Array<{ pointer: string; keyword: string }>,
      ): void =>
        emit({
          type: 'contract-violation',
          at: clock.now(),
          policy: 'egress',
          direction: 'egress',
          action,
          api: party.config.name,
          route: op.route,
          problem: problemCode,
          violations,
        });
      // The protected API's own call must match the third party's contract too.
      const verdict = op.request.check({
        pathParams: m.route.params,
        query,
        headers: req.headers,
        body,
        json: () => JSON.parse(body.toString('utf8')) as unknown,
      });
      if (verdict) {
        event(
          'blocked',
          verdict.code,
          verdict.errors.map(({ pointer, keyword }) => ({ pointer, keyword })),
        );
        return reply(res, problem(verdict.code, { detail: verdict.detail, errors: verdict.errors }));
      }
      const target = new URL(party.prefix + m.route.path + (query ? `?${query}` : ''));
      try {
        await party.guard.check(target.href);
      } catch (err) {
        if (!(err instanceof SsrfBlocked)) throw err;
        event('blocked', 'url-not-allowed', [{ pointer: '/url', keyword: err.reason }]);
        return fail(res, 'url-not-allowed', `The third party's address is not allowed (${err.reason})`);
      }
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (v !== undefined && !DROP_REQUEST.has(k)) headers[k] = v;
      let answer: { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer };
      try {
        const r = await request(target, {
          method: method as 'GET',
          headers,
          ...(body.length ? { body } : {}),
          dispatcher: party.agent,
          headersTimeout: config.timeoutMs,
          bodyTimeout: config.timeoutMs,
        });
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of r.body) {
          size += (chunk as Buffer).length;
          if (size > MAX_INSPECTED_RESPONSE_BYTES) {
            r.body.destroy();
            event('blocked', 'bad-gateway', [{ pointer: '/body', keyword: 'maxLength' }]);
            return fail(res, 'bad-gateway', 'The third party answered more than 8 MiB');
          }
          chunks.push(chunk as Buffer);
        }
        answer = { status: r.statusCode, headers: r.headers, body: Buffer.concat(chunks, size) };
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const timeout =
          code === 'UND_ERR_HEADERS_TIMEOUT' ||
          code === 'UND_ERR_BODY_TIMEOUT' ||
          code === 'UND_ERR_CONNECT_TIMEOUT';
        log.warn({ api: party.config.name, code }, 'third-party call failed');
        emit({ type: 'upstream-error', at: clock.now(), api: party.config.name, reason: code ?? 'error' });
        if (code === 'ERR_SSRF_BLOCKED')
          return fail(res, 'url-not-allowed', "The third party's address is not allowed");
        return fail(
          res,
          timeout ? 'gateway-timeout' : 'upstream-unavailable',
          'The third party did not answer',
        );
      }
      // A compressed answer is decoded (bounded) and checked; one that cannot be is a violation.
      const undecodable = decodeAnswer(answer);
      const violations = undecodable
        ? [{ pointer: '/header/content-encoding', keyword: 'contentEncoding', detail: undecodable.detail }]
        : checkAnswer(op.response, answer);
      if (violations.length) {
        const mode = config.mode;
        log.warn(
          { api: party.config.name, route: op.route, status: answer.status, violations },
          'third-party answer breaks its contract',
        );
        event(
          mode === 'block' ? 'blocked' : 'reported',
          'response-invalid',
          violations.map(({ pointer, keyword }) => ({ pointer, keyword })),
        );
        if (mode === 'block')
          return fail(res, 'response-invalid', `The ${party.config.name} answer does not match its contract`);
      }
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(answer.headers))
        if (v !== undefined && !HOP_BY_HOP.has(k) && k !== 'content-length') out[k] = v;
      out['content-length'] = String(answer.body.length);
      res.writeHead(answer.status, out);
      res.end(method === 'HEAD' ? undefined : answer.body);
    }

    const server = createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 30_000 }, (req, res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > 1024 * 1024) {
          fail(res, 'payload-too-large', 'Calls through egress are limited to 1 MiB');
          req.destroy();
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => {
        handle(req, res, Buffer.concat(chunks, size)).catch((err: unknown) => {
          log.error({ err: (err as Error).message }, 'egress failed');
          if (!res.headersSent) fail(res, 'internal', 'Egress failed');
          else res.destroy();
        });
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    log.info({ url: `http://${host}:${port}`, thirdParties: [...parties.keys()] }, 'egress listening');
    return new EgressServer(server, parties, `http://${host}:${port}`);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    await Promise.all([...this.parties.values()].map((p) => p.agent.close()));
  }
}

/** Status, Content-Type and body schema of a third party's answer; [] when it keeps its contract. */
export function checkAnswer(
  contract: ResponseContract,
  answer: { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer },
): Array<{ pointer: string; keyword: string; detail: string }> {
  const m = contract.match(answer.status, answer.headers['content-type'], answer.body.length);
  if (!m.ok) return [mismatchViolation(m)];
  const entry = m.entry;
  if (!entry?.schema) return [];
  let value: unknown;
  if (entry.json) {
    try {
      value = JSON.parse(answer.body.toString('utf8'));
    } catch {
      return [{ pointer: '/body', keyword: 'json', detail: 'the body is not JSON' }];
    }
  } else value = answer.body.toString('utf8');
  return entry.schema.check(value, '/body');
}
