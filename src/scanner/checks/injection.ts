import { DB_ERROR, type Check, type FindingDraft, type ScanContext } from '../context.ts';
import type { Exchange } from '../http.ts';
import type { Identity } from '../identities.ts';
import { callers, listItems } from '../runner.ts';
import { propertiesOf, requestSchema, typesOf, type ScanOperation } from '../spec.ts';
import { fix, ok, status, who, OWASP } from './util.ts';
import { writableTargets } from './resource.ts';

/** One place a value goes: a query or path parameter, or a top-level body property. */
interface Input {
  sop: ScanOperation;
  where: 'query' | 'path' | 'body';
  name: string;
  identity?: Identity;
  params: Record<string, string | number>;
  body?: Record<string, unknown>;
  fileish: boolean;
  /** A sign-in form: only SQL (error/boolean) and NoSQL operators are tried (each call runs a slow password hash). */
  signIn: boolean;
}

const FILEISH = /file|path|name|doc|template|page|include|dir|folder|attachment|download|resource/i;

function inputs(ctx: ScanContext): Input[] {
  const out: Input[] = [];
  for (const sop of ctx.ops.filter((s) => s.method === 'GET')) {
    const identity = callers(ctx, sop)[0];
    if (sop.secured && !identity) continue;
    for (const p of sop.op.parameters.filter((x) => x.in === 'query' || x.in === 'path')) {
      const t = typesOf(p.schema);
      if (t.length && !t.includes('string')) continue;
      const params = ctx.defaultParams(sop);
      out.push({
        sop,
        where: p.in as 'query' | 'path',
        name: p.name,
        params,
        fileish: p.in === 'path' || FILEISH.test(p.name),
        signIn: false,
        ...(identity ? { identity } : {}),
      });
    }
  }
  for (const t of writableTargets(ctx, ['POST', 'PUT', 'PATCH'])) {
    const props = propertiesOf(requestSchema(t.sop.op));
    const signIn =
      !t.sop.secured &&
      Object.keys(props).some((k) => /pass(word)?$/i.test(k)) &&
      !('201' in t.sop.op.responses);
    for (const [name, s] of Object.entries(propertiesOf(requestSchema(t.sop.op)))) {
      // Passwords are hashed before any use: injecting there costs (slow hashes) and finds nothing.
      if (
        s.readOnly === true ||
        s.writeOnly === true ||
        /pass(word)?$/i.test(name) ||
        (typesOf(s).length && !typesOf(s).includes('string'))
      )
        continue;
      out.push({
        sop: t.sop,
        where: 'body',
        name,
        params: t.params,
        body: ctx.sampleBody(t.sop) ?? {},
        fileish: FILEISH.test(name),
        signIn,
        ...(t.identity ? { identity: t.identity } : {}),
      });
    }
  }
  return out;
}

async function send(ctx: ScanContext, i: Input, value: unknown, rawPathValue?: string): Promise<Exchange> {
  const base = { ...(i.identity ? { identity: i.identity } : {}), params: i.params };
  if (i.where === 'query') return ctx.call(i.sop, { ...base, query: { [i.name]: String(value) } });
  if (i.where === 'path') {
    if (rawPathValue !== undefined) {
      const path = ctx
        .buildPath(i.sop, { ...i.params, [i.name]: '__RAMPART__' })
        .replace('__RAMPART__', rawPathValue);
      return ctx.call(i.sop, { ...base, rawPath: path });
    }
    return ctx.call(i.sop, { ...base, params: { ...i.params, [i.name]: String(value) } });
  }
  return ctx.call(i.sop, { ...base, body: { ...(i.body ?? {}), [i.name]: value } });
}

/** A coarse fingerprint of an answer: status and list length. */
function shape(x: Exchange): string {
  if (!x.response) return 'none';
  const items = listItems(x.response.json);
  // Non-list answers compare by status only: a created object echoing the payload must not count.
  return `${x.response.status}|${items ? items.length : '-'}`;
}

const seed = (ctx: ScanContext): string => `rampart${ctx.tag}`;
const A = 7919;
const B = 13;
const PRODUCT = String(A * B);

const remediation = (kind: string, policy = 'injection-guard'): FindingDraft['remediation'] =>
  fix(
    {
      sql: 'Use parameterised queries (placeholders) for every value and a fixed map for identifiers such as sort columns.',
      nosql:
        'Accept only scalar values where the document says string; never pass request objects into database queries.',
      cmd: 'Do not build shell command lines from input: call programs with argument arrays (no shell) and validate the input against a strict pattern.',
      path: 'Validate names against a strict pattern and check the resolved path stays inside the intended folder.',
      template: 'Never compile templates from input; pass input as data to a fixed template.',
      xss: 'Return JSON with a JSON content type and nosniff; HTML-encode anything reflected into HTML.',
    }[kind]!,
    policy,
    "x-rampart:\n  injectionGuard: true   # and tighten the parameter's schema (pattern, maxLength, enum)",
    [
      OWASP + '0xa8-security-misconfiguration/',
      'https://cheatsheetseries.owasp.org/cheatsheets/Injection_Prevention_Cheat_Sheet.html',
    ],
  );

/**
 * Injection into every string input the scan may send: SQL (error-based confirmed by a
 * balanced quote, boolean-based confirmed by repetition, time-based confirmed twice),
 * NoSQL operators, OS commands (an arithmetic result only a shell computes), template
 * expressions, path traversal (a system file's content) and script reflected in non-JSON
 * answers. Every finding is reproduced before it is reported.
 */
export const injection: Check = {
  id: 'injection',
  title: 'Injection',
  owasp: 'API8:2023',
  cwe: 74,
  severity: 'high',
  applicable: (ctx) => (inputs(ctx).length === 0 ? 'no string input the scan may send' : undefined),
  async *run(ctx) {
    // Inputs are probed four at a time (each input's payloads stay sequential).
    const queue = inputs(ctx).slice(0, 60);
    const results: FindingDraft[] = [];
    const worker = async (): Promise<void> => {
      for (let i = queue.shift(); i; i = queue.shift()) for await (const d of probe(ctx, i)) results.push(d);
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    yield* results;
  },
};

async function* probe(ctx: ScanContext, i: Input): AsyncGenerator<FindingDraft> {
  {
    const found = new Set<string>();
    const draft = (
      kind: string,
      cwe: number,
      title: string,
      description: string,
      exchanges: FindingDraft['exchanges'],
      severity: FindingDraft['severity'] = 'high',
    ): FindingDraft => {
      found.add(kind);
      return {
        operation: i.sop.key,
        key: `${kind}:${i.where}:${i.name}`,
        cwe,
        title,
        description,
        exchanges,
        severity,
        confidence: 'confirmed',
        remediation: remediation(kind),
      };
    };
    const where = `${i.where} ${i.where === 'body' ? 'property' : 'parameter'} '${i.name}'`;
    const s = seed(ctx);
    const baseline = await send(ctx, i, s);
    if (!baseline.response) return;
    // --- SQL, error based
    const quote = await send(ctx, i, `${s}'`);
    if (quote.response && DB_ERROR.test(quote.response.text) && !DB_ERROR.test(baseline.response.text)) {
      const balanced = await send(ctx, i, `${s}''`);
      if (balanced.response && !DB_ERROR.test(balanced.response.text))
        yield draft(
          'sql',
          89,
          `SQL injection in ${where} of ${i.sop.key}`,
          `A single quote in ${where} makes the database report a syntax error (${status(quote)}); two quotes do not (${status(balanced)}): the value is pasted into SQL.`,
          [
            { x: quote, note: `${who(i.identity)}: ' → ${status(quote)} with a database error` },
            { x: balanced, note: `'' → ${status(balanced)}, no error` },
          ],
        );
    }
    // --- SQL, boolean based
    if (!found.has('sql')) {
      const T = ["' OR 1=1 OR 'a'='", '" OR 1=1 OR "a"="', ' OR 1=1'];
      const F = ["' AND 1=2 AND 'a'='", '" AND 1=2 AND "a"="', ' AND 1=2'];
      for (let k = 0; k < T.length && !found.has('sql'); k++) {
        const t1 = await send(ctx, i, T[k]);
        const f1 = await send(ctx, i, F[k]);
        if (!ok(t1) || !ok(f1) || shape(t1) === shape(f1)) continue;
        const t2 = await send(ctx, i, T[k]);
        const f2 = await send(ctx, i, F[k]);
        if (shape(t2) === shape(t1) && shape(f2) === shape(f1))
          yield draft(
            'sql',
            89,
            `SQL injection in ${where} of ${i.sop.key}`,
            `An always-true condition (${JSON.stringify(T[k])}) and an always-false one (${JSON.stringify(F[k])}) in ${where} give different answers, repeatably (${shape(t1)} vs ${shape(f1)}): the value is evaluated as SQL.`,
            [
              { x: t1, note: `true condition: ${shape(t1)}` },
              { x: f1, note: `false condition: ${shape(f1)}` },
            ],
          );
      }
    }
    if (i.signIn) {
      yield* nosql(ctx, i, baseline, draft, where, s);
      return;
    }
    // --- SQL, time based (each delay confirmed twice)
    if (!found.has('sql')) {
      for (const p of [
        "' OR (SELECT 1 FROM pg_sleep(3)) IS NULL OR 'a'='",
        "' OR SLEEP(3) OR 'a'='",
        "'; WAITFOR DELAY '0:0:3'--",
      ]) {
        const x1 = await send(ctx, i, p);
        if (!x1.response || x1.response.durationMs < baseline.response.durationMs + 2500) continue;
        const x2 = await send(ctx, i, p);
        const quick = await send(ctx, i, s);
        if (
          x2.response &&
          x2.response.durationMs >= 2500 &&
          quick.response &&
          quick.response.durationMs < 1500
        ) {
          yield draft(
            'sql',
            89,
            `Time-based SQL injection in ${where} of ${i.sop.key}`,
            `A database sleep in ${where} delays the answer by ~3 s, twice (${Math.round(x1.response.durationMs)} ms, ${Math.round(x2.response.durationMs)} ms; normal ${Math.round(quick.response.durationMs)} ms).`,
            [
              { x: x1, note: `${Math.round(x1.response.durationMs)} ms` },
              { x: x2, note: `${Math.round(x2.response.durationMs)} ms` },
            ],
          );
          break;
        }
      }
    }
    // --- OS command
    for (const p of [
      `${s};echo RPZ$((${A}*${B}))ZPR`,
      `${s}|echo RPZ$((${A}*${B}))ZPR`,
      `${s}$(echo RPZ$((${A}*${B}))ZPR)`,
      `${s}\`echo RPZ$((${A}*${B}))ZPR\``,
      `${s}&&echo RPZ$((${A}*${B}))ZPR`,
    ]) {
      const x = await send(ctx, i, p);
      if (x.response?.text.includes(`RPZ${PRODUCT}ZPR`)) {
        yield draft(
          'cmd',
          78,
          `OS command injection in ${where} of ${i.sop.key}`,
          `${where} was run by a shell: the payload ${JSON.stringify(p)} came back as RPZ${PRODUCT}ZPR — arithmetic only a shell computes.`,
          [{ x, note: `answer contains RPZ${PRODUCT}ZPR` }],
          'critical',
        );
        break;
      }
    }
    // --- template
    for (const p of [`rp{{${A}*${B}}}rp`, `rp\${${A}*${B}}rp`, `rp<%= ${A}*${B} %>rp`, `rp#{${A}*${B}}rp`]) {
      const x = await send(ctx, i, p);
      if (x.response?.text.includes(`rp${PRODUCT}rp`)) {
        yield draft(
          'template',
          1336,
          `Template injection in ${where} of ${i.sop.key}`,
          `The template expression ${JSON.stringify(p)} in ${where} was evaluated (rp${PRODUCT}rp came back).`,
          [{ x, note: `answer contains rp${PRODUCT}rp` }],
          'critical',
        );
        break;
      }
    }
    // --- path traversal
    if (i.fileish) {
      const PASSWD = /root:[^:\n]*:0:0:/;
      const WININI = /\[(fonts|extensions)\]/i;
      for (const p of [
        '../../../../../../../../../../etc/passwd',
        '....//....//....//....//....//....//....//etc/passwd',
        '/etc/passwd',
        '..\\..\\..\\..\\..\\..\\windows\\win.ini',
      ]) {
        const x = i.where === 'path' ? await send(ctx, i, p, encodeURIComponent(p)) : await send(ctx, i, p);
        if (
          x.response &&
          (PASSWD.test(x.response.text) || WININI.test(x.response.text)) &&
          !PASSWD.test(baseline.response.text)
        ) {
          yield draft(
            'path',
            22,
            `Path traversal in ${where} of ${i.sop.key}`,
            `${where} set to ${JSON.stringify(p)} returned a system file's content (${status(x)}): names are joined to a folder without checks.`,
            [{ x, note: `${status(x)}: system file content` }],
          );
          break;
        }
      }
    }
    yield* nosql(ctx, i, baseline, draft, where, s);
    // --- script reflected in a non-JSON answer
    const script = `<script>rampart${ctx.tag}()</script>`;
    const r = await send(ctx, i, script);
    const type = r.response?.headers['content-type'] ?? '';
    if (r.response?.text.includes(script) && !/json/i.test(type) && (/html|xml/i.test(type) || type === ''))
      yield draft(
        'xss',
        79,
        `Script reflected by ${i.sop.key}`,
        `${where} is reflected unencoded in a ${type || 'typeless'} answer: a browser would run it.`,
        [{ x: r, note: `reflected in ${type || 'no content type'}` }],
        'medium',
      );
  }
}

/** NoSQL operators (objects where strings belong): $ne must not turn a refusal into a success $eq does not get. */
async function* nosql(
  ctx: ScanContext,
  i: Input,
  baseline: Exchange,
  draft: (
    kind: string,
    cwe: number,
    title: string,
    description: string,
    exchanges: FindingDraft['exchanges'],
  ) => FindingDraft,
  where: string,
  s: string,
): AsyncGenerator<FindingDraft> {
  if (i.where !== 'body' || ok(baseline)) return;
  const x = await send(ctx, i, { $ne: `${s}-none` });
  const control = await send(ctx, i, { $eq: `${s}-none` });
  if (ok(x) && !ok(control))
    yield draft(
      'nosql',
      943,
      `NoSQL operator injection in ${where} of ${i.sop.key}`,
      `{"$ne": …} in ${where} turned a refused request (${status(baseline)}) into ${status(x)}, while {"$eq": …} did not (${status(control)}).`,
      [
        { x, note: `$ne → ${status(x)}` },
        { x: control, note: `$eq → ${status(control)}` },
      ],
    );
}
