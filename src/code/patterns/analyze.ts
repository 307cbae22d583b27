/**
 * The pattern analysis: parses one JS/TS file with the TypeScript compiler API and
 * reports rule hits. Taint is tracked intra-file by name: request inputs (`req.query`,
 * `ctx.request.body`, Fastify `request.params`, Hono `c.req.query()` …) taint the
 * variables they are assigned or destructured to; taint flows through concatenation,
 * template literals, string methods, `path.join`, `new URL` and object literals, and is
 * stopped by converting functions (`Number`, `parseInt`, `encodeURIComponent`,
 * `path.basename`). A sink reached by tainted data is a hit with the path as evidence.
 */
import ts from 'typescript';
import { isPlaceholder } from '../secrets/scan.ts';
import { PATTERN_RULES, type PatternRuleName } from './rules.ts';

export interface PatternHit {
  rule: PatternRuleName;
  /** Offsets into the text. */
  start: number;
  end: number;
  message: string;
  /** The data-flow path, source first, sink last. */
  flow?: string[];
  severity?: (typeof PATTERN_RULES)[PatternRuleName]['severity'];
}

export interface PatternResult {
  hits: PatternHit[];
  /** Set when the file does not parse: no hits are reported for it. */
  syntaxError?: { line: number; column: number; message: string };
}

const REQUEST_NAMES = new Set(['req', 'request', 'ctx', 'context', 'c']);
const REQUEST_FIELDS = new Set([
  'query',
  'params',
  'body',
  'headers',
  'cookies',
  'url',
  'originalUrl',
  'path',
  'hostname',
  'files',
  'file',
  'raw',
  'header',
  'param',
  'json',
  'text',
  'formData',
  'parseBody',
  'valid',
]);
const PROPAGATORS = new Set([
  'String',
  'decodeURIComponent',
  'decodeURI',
  'unescape',
  'join',
  'resolve',
  'normalize',
  'format',
  'concat',
  'from',
  'parse',
  'URL',
  'stringify',
  'toString',
  'trim',
  'toLowerCase',
  'toUpperCase',
  'replace',
  'replaceAll',
  'slice',
  'substring',
  'split',
  'at',
  'padStart',
  'padEnd',
]);
const SANITIZERS = new Set([
  'Number',
  'parseInt',
  'parseFloat',
  'Boolean',
  'encodeURIComponent',
  'encodeURI',
  'basename',
  'escape',
  'escapeId',
  'isValid',
  'validate',
  'sanitize',
  'format_ident',
  'quote_ident',
]);
const SQL_METHODS = new Set([
  'query',
  'execute',
  'raw',
  'prepare',
  'exec',
  'run',
  'all',
  'get',
  'literal',
  'unsafe',
  '$queryRawUnsafe',
  '$executeRawUnsafe',
  'whereRaw',
  'orderByRaw',
  'havingRaw',
  'joinRaw',
  'selectRaw',
]);
const SQL_ALWAYS = new Set([
  '$queryRawUnsafe',
  '$executeRawUnsafe',
  'literal',
  'raw',
  'whereRaw',
  'orderByRaw',
  'havingRaw',
  'joinRaw',
  'selectRaw',
  'unsafe',
]);
const CHILD_PROCESS = new Set(['exec', 'execSync', 'spawn', 'spawnSync', 'execFile', 'execFileSync', 'fork']);
const FS_METHODS = new Set([
  'readFile',
  'readFileSync',
  'writeFile',
  'writeFileSync',
  'appendFile',
  'appendFileSync',
  'createReadStream',
  'createWriteStream',
  'unlink',
  'unlinkSync',
  'readdir',
  'readdirSync',
  'rm',
  'rmSync',
  'rmdir',
  'mkdir',
  'mkdirSync',
  'open',
  'openSync',
  'stat',
  'statSync',
  'access',
  'accessSync',
  'copyFile',
  'rename',
  'sendFile',
  'download',
]);
const HTTP_CLIENTS = new Set(['fetch', 'axios', 'got', 'request', 'needle', 'superagent', 'ky']);
const HTTP_METHODS = new Set(['get', 'post', 'put', 'patch', 'delete', 'head', 'request', 'stream']);
const HTTP_MODULES = new Set([
  'axios',
  'http',
  'https',
  'got',
  'undici',
  'needle',
  'superagent',
  'ky',
  'client',
  'httpClient',
]);
const TOKEN_WORDS =
  /token|secret|nonce|salt|otp|session|passw|apikey|api_key|(?:^|[^a-z])key|uuid|(?:^|_|[a-z])id$|Id\b|code|csrf|reset|invite|verif/i;
const CREDENTIAL_PROP =
  /^(?:password|passwd|pwd|pass|secret|clientSecret|client_secret|apiKey|api_key|apiSecret|privateKey|private_key|accessKey|accessKeyId|secretAccessKey|authToken|token)$/i;

function nameOf(n: ts.Node | undefined): string | undefined {
  if (!n) return undefined;
  if (ts.isIdentifier(n) || ts.isPrivateIdentifier(n)) return n.text;
  if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) return n.text;
  if (ts.isPropertyAccessExpression(n)) return n.name.text;
  return undefined;
}

/** `a.b.c` as text for paths and matching (bounded). */
function short(sf: ts.SourceFile, n: ts.Node): string {
  const t = n.getText(sf).replace(/\s+/g, ' ');
  return t.length > 80 ? t.slice(0, 77) + '…' : t;
}

function unwrap(e: ts.Expression): ts.Expression {
  while (
    ts.isParenthesizedExpression(e) ||
    ts.isAwaitExpression(e) ||
    ts.isAsExpression(e) ||
    ts.isNonNullExpression(e) ||
    ts.isTypeAssertionExpression(e) ||
    ts.isSatisfiesExpression(e)
  )
    e = e.expression;
  return e;
}

function scriptKind(file: string): ts.ScriptKind {
  if (/\.tsx$/.test(file)) return ts.ScriptKind.TSX;
  if (/\.jsx$/.test(file)) return ts.ScriptKind.JSX;
  if (/\.[cm]?ts$/.test(file)) return ts.ScriptKind.TS;
  return ts.ScriptKind.JS;
}

export function analyzePatterns(file: string, text: string): PatternResult {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, scriptKind(file));
  const diags = (sf as unknown as { parseDiagnostics?: ts.DiagnosticWithLocation[] }).parseDiagnostics ?? [];
  if (diags.length) {
    const d = diags[0]!;
    const { line, character } = sf.getLineAndCharacterOfPosition(d.start);
    return {
      hits: [],
      syntaxError: {
        line: line + 1,
        column: character + 1,
        message: ts.flattenDiagnosticMessageText(d.messageText, ' '),
      },
    };
  }
  const hits: PatternHit[] = [];
  /** Request-object names: the well-known ones plus the first parameter of route handlers. */
  const requestNames = new Set(REQUEST_NAMES);
  /** Tainted variable name → flow path so far. */
  const taint = new Map<string, string[]>();
  const errorNames = new Set(['err', 'error', 'e', 'ex', 'exception']);
  /** Response-object names: the well-known ones plus the second parameter of route handlers. */
  const responseNames = new Set(['res', 'reply', 'response', 'resp', 'ctx', 'c', 'h']);
  const rootName = (e: ts.Expression): string | undefined => {
    e = unwrap(e);
    while (ts.isPropertyAccessExpression(e) || ts.isCallExpression(e) || ts.isElementAccessExpression(e))
      e = unwrap(e.expression);
    return ts.isIdentifier(e) ? e.text : undefined;
  };

  const isRequestBase = (e: ts.Expression): boolean => {
    e = unwrap(e);
    if (ts.isIdentifier(e)) return requestNames.has(e.text);
    // ctx.request, c.req, request.raw
    if (ts.isPropertyAccessExpression(e)) {
      const n = e.name.text;
      return (n === 'request' || n === 'req' || n === 'raw') && isRequestBase(e.expression);
    }
    return false;
  };

  /** The flow path when `e` carries request input, else undefined. */
  const tainted = (e0: ts.Expression | undefined, depth = 0): string[] | undefined => {
    if (!e0 || depth > 12) return undefined;
    const e = unwrap(e0);
    if (ts.isIdentifier(e)) return taint.get(e.text);
    if (ts.isPropertyAccessExpression(e) || ts.isElementAccessExpression(e)) {
      const field = ts.isPropertyAccessExpression(e) ? e.name.text : nameOf(e.argumentExpression);
      if (field && REQUEST_FIELDS.has(field) && isRequestBase(e.expression)) return [short(sf, e)];
      // Koa: ctx.query / ctx.params / ctx.request.body handled above; ctx.headers too.
      const inner = tainted(e.expression, depth + 1);
      return inner ? [...inner, short(sf, e)] : undefined;
    }
    if (ts.isCallExpression(e)) {
      const callee = unwrap(e.expression);
      const fn = nameOf(callee);
      // Hono: c.req.query('q'), c.req.param('id'), await c.req.json(); Koa ctx.get('X')
      if (
        ts.isPropertyAccessExpression(callee) &&
        fn &&
        REQUEST_FIELDS.has(fn) &&
        isRequestBase(callee.expression)
      )
        return [short(sf, e)];
      if (fn && SANITIZERS.has(fn)) return undefined;
      if (ts.isPropertyAccessExpression(callee)) {
        const recv = tainted(callee.expression, depth + 1);
        if (recv && fn && PROPAGATORS.has(fn)) return [...recv, short(sf, e)];
      }
      if (fn && PROPAGATORS.has(fn))
        for (const a of e.arguments) {
          const t = tainted(a, depth + 1);
          if (t) return [...t, short(sf, e)];
        }
      return undefined;
    }
    if (ts.isNewExpression(e)) {
      if (nameOf(e.expression) === 'URL' && e.arguments?.length) {
        const t = tainted(e.arguments[0], depth + 1);
        return t ? [...t, short(sf, e)] : undefined;
      }
      return undefined;
    }
    if (ts.isBinaryExpression(e)) {
      const k = e.operatorToken.kind;
      if (
        k === ts.SyntaxKind.PlusToken ||
        k === ts.SyntaxKind.BarBarToken ||
        k === ts.SyntaxKind.QuestionQuestionToken
      ) {
        const t = tainted(e.left, depth + 1) ?? tainted(e.right, depth + 1);
        return t ? (k === ts.SyntaxKind.PlusToken ? [...t, short(sf, e)] : t) : undefined;
      }
      return undefined;
    }
    if (ts.isTemplateExpression(e)) {
      for (const s of e.templateSpans) {
        const t = tainted(s.expression, depth + 1);
        if (t) return [...t, short(sf, e)];
      }
      return undefined;
    }
    if (ts.isConditionalExpression(e))
      return tainted(e.whenTrue, depth + 1) ?? tainted(e.whenFalse, depth + 1);
    if (ts.isObjectLiteralExpression(e)) {
      for (const p of e.properties) {
        if (ts.isPropertyAssignment(p)) {
          const t = tainted(p.initializer, depth + 1);
          if (t) return t;
        } else if (ts.isShorthandPropertyAssignment(p) && taint.has(p.name.text))
          return taint.get(p.name.text);
        else if (ts.isSpreadAssignment(p)) {
          const t = tainted(p.expression, depth + 1);
          if (t) return t;
        }
      }
      return undefined;
    }
    if (ts.isArrayLiteralExpression(e)) {
      for (const x of e.elements) {
        const t = tainted(x, depth + 1);
        if (t) return t;
      }
    }
    return undefined;
  };

  const bindTaint = (name: ts.BindingName, from: string[]): void => {
    if (ts.isIdentifier(name)) taint.set(name.text, [...from, name.text]);
    else for (const el of name.elements) if (!ts.isOmittedExpression(el)) bindTaint(el.name, from);
  };

  let reporting = false;
  const hit = (
    rule: PatternRuleName,
    node: ts.Node,
    message: string,
    flow?: string[],
    severity?: PatternHit['severity'],
  ): void => {
    if (!reporting) return;
    hits.push({
      rule,
      start: node.getStart(sf),
      end: node.getEnd(),
      message,
      ...(flow ? { flow } : {}),
      ...(severity ? { severity } : {}),
    });
  };

  const prop = (o: ts.ObjectLiteralExpression, key: string): ts.Expression | undefined => {
    for (const p of o.properties)
      if (ts.isPropertyAssignment(p) && nameOf(p.name) === key) return p.initializer;
    return undefined;
  };
  const isFalse = (e: ts.Expression | undefined): boolean =>
    !!e &&
    (e.kind === ts.SyntaxKind.FalseKeyword ||
      (ts.isNumericLiteral(e) && e.text === '0') ||
      (ts.isStringLiteral(e) && (e.text === '0' || e.text === 'false')));
  const isTrue = (e: ts.Expression | undefined): boolean => !!e && e.kind === ts.SyntaxKind.TrueKeyword;

  /** The nearest enclosing declared name (variable, property, function) — the purpose of a value. */
  const purpose = (n: ts.Node): string => {
    for (let p: ts.Node | undefined = n.parent; p && !ts.isSourceFile(p); p = p.parent) {
      if (
        (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) &&
        nameOf(p.name)
      )
        return nameOf(p.name)!;
      if (ts.isBinaryExpression(p) && p.operatorToken.kind === ts.SyntaxKind.EqualsToken)
        return short(sf, p.left);
      if ((ts.isFunctionDeclaration(p) || ts.isMethodDeclaration(p)) && p.name) return nameOf(p.name) ?? '';
      if (ts.isBlock(p)) break;
    }
    return '';
  };

  /** Route handlers: the first parameter of a function passed to app.get/post/…/use/route is a request. */
  const noteHandler = (call: ts.CallExpression): void => {
    const fn = nameOf(call.expression);
    if (!fn || !/^(?:get|post|put|patch|delete|del|all|use|route|options|head|on|addHook|handler)$/.test(fn))
      return;
    for (const a of call.arguments) {
      if ((ts.isArrowFunction(a) || ts.isFunctionExpression(a)) && a.parameters.length) {
        const first = a.parameters[0]!.name;
        if (ts.isIdentifier(first) && a.parameters.length >= 1) {
          // (err, req, res, next) error handler: the error is the first, the request the second.
          if (a.parameters.length === 4 && ts.isIdentifier(a.parameters[1]!.name)) {
            errorNames.add(first.text);
            requestNames.add((a.parameters[1]!.name as ts.Identifier).text);
            if (a.parameters[2] && ts.isIdentifier(a.parameters[2].name))
              responseNames.add(a.parameters[2].name.text);
          } else {
            requestNames.add(first.text);
            if (a.parameters[1] && ts.isIdentifier(a.parameters[1].name))
              responseNames.add(a.parameters[1].name.text);
          }
        }
      }
    }
  };

  const checkCall = (call: ts.CallExpression): void => {
    const callee = unwrap(call.expression);
    const fn = nameOf(callee);
    if (!fn) return;
    const recv = ts.isPropertyAccessExpression(callee) ? unwrap(callee.expression) : undefined;
    const recvName = recv ? nameOf(recv) : undefined;
    const args = call.arguments;
    const a0 = args[0];

    // --- flow sinks
    if (
      (fn === 'eval' && !recv) ||
      (fn === 'Function' && !recv) ||
      (recvName === 'vm' && /^(?:runIn\w*Context|compileFunction|Script)$/.test(fn))
    ) {
      const t = tainted(a0);
      if (t)
        return hit('code-injection', call, `${fn}() runs request input`, [...t, `${short(sf, callee)}()`]);
    }
    if ((fn === 'setTimeout' || fn === 'setInterval') && a0 && !ts.isFunctionLike(a0)) {
      const t = tainted(a0);
      if (t)
        return hit('code-injection', call, `${fn}() with a string evaluates request input`, [
          ...t,
          `${fn}()`,
        ]);
    }
    const isChildProcess =
      CHILD_PROCESS.has(fn) && (!recv || /^(?:child_process|childProcess|cp|proc)$/.test(recvName ?? ''));
    if (isChildProcess) {
      const shell = args.some((a) => ts.isObjectLiteralExpression(a) && isTrue(prop(a, 'shell')));
      // spawn('sh', ['-c', input]) is a shell too.
      const viaShell =
        shell ||
        (a0 !== undefined &&
          ts.isStringLiteralLike(a0) &&
          /^(?:\/bin\/)?(?:sh|bash|zsh|cmd(?:\.exe)?|powershell)$/.test(a0.text));
      const t = tainted(a0) ?? (viaShell ? tainted(args[1]) : undefined);
      if (t)
        return hit('command-injection', call, `${fn}() runs a command built from request input`, [
          ...t,
          `${short(sf, callee)}()`,
        ]);
      return;
    }
    if (SQL_METHODS.has(fn) && recv && a0) {
      const sqlish = SQL_ALWAYS.has(fn) || (ts.isStringLiteralLike(unwrap(a0)) ? false : true);
      const t = sqlish ? tainted(a0) : undefined;
      // db.get(key) on a Map or cache is not SQL: require SQL text or a known raw-SQL method.
      const sqlWords = /\b(?:select|insert|update|delete|from|where|order by)\b/i;
      const looksSql =
        SQL_ALWAYS.has(fn) || sqlWords.test(a0.getText(sf)) || (t ?? []).some((step) => sqlWords.test(step));
      if (t && looksSql)
        return hit('sql-injection', call, `${short(sf, callee)}() receives SQL built from request input`, [
          ...t,
          `${short(sf, callee)}()`,
        ]);
    }
    if (
      FS_METHODS.has(fn) &&
      a0 &&
      (recv || fn === 'readFile' || fn === 'readFileSync' || fn === 'createReadStream' || fn === 'writeFile')
    ) {
      const t = tainted(a0);
      if (t)
        return hit('path-traversal', call, `${short(sf, callee)}() opens a path from request input`, [
          ...t,
          `${short(sf, callee)}()`,
        ]);
    }
    const httpCall =
      (!recv && HTTP_CLIENTS.has(fn)) ||
      (recvName !== undefined && HTTP_MODULES.has(recvName) && HTTP_METHODS.has(fn));
    if (httpCall && a0) {
      const a = unwrap(a0);
      const t = ts.isObjectLiteralExpression(a)
        ? tainted(prop(a, 'url') ?? prop(a, 'hostname') ?? prop(a, 'host'))
        : tainted(a);
      if (t)
        return hit('ssrf', call, `${short(sf, callee)}() requests a URL from request input`, [
          ...t,
          `${short(sf, callee)}()`,
        ]);
    }
    if (fn === 'redirect' && recv && args.length) {
      const target = args.length > 1 ? args[1] : a0;
      const t = tainted(target);
      if (t)
        return hit('open-redirect', call, 'redirect to a URL from request input', [
          ...t,
          `${short(sf, callee)}()`,
        ]);
    }
    if (
      (fn === 'location' && recv && a0) ||
      ((fn === 'setHeader' || fn === 'header' || fn === 'set') && a0 && /^location$/i.test(nameOf(a0) ?? ''))
    ) {
      const t = tainted(fn === 'location' ? a0 : args[1]);
      if (t)
        return hit('open-redirect', call, 'Location header from request input', [
          ...t,
          `${short(sf, callee)}()`,
        ]);
    }

    // --- rules without flow
    if (recvName && /^(?:jwt|jsonwebtoken|JWT)$/.test(recvName)) {
      if (fn === 'verify') {
        const opts = args[2] ? unwrap(args[2]) : undefined;
        const ok =
          opts &&
          (!ts.isObjectLiteralExpression(opts) ||
            prop(opts, 'algorithms') !== undefined ||
            opts.properties.some(ts.isSpreadAssignment));
        if (!ok && !(opts && ts.isFunctionLike(opts)))
          hit('jwt-verify-no-algorithms', call, 'jwt.verify() without `algorithms`');
        else if (opts && ts.isFunctionLike(opts))
          hit('jwt-verify-no-algorithms', call, 'jwt.verify() without `algorithms`');
      } else if (fn === 'decode') hit('jwt-decode', call, 'jwt.decode() returns unverified claims');
    }
    if (fn === 'createHash' || fn === 'createHmac') {
      const alg = a0 && ts.isStringLiteralLike(a0) ? a0.text.toLowerCase() : '';
      if (/^(?:md4|md5|sha1|sha-1|ripemd160)$/.test(alg)) {
        const why = purpose(call);
        const security = /passw|token|secret|session|otp|sign|api.?key|credential/i.test(why);
        const benign = /etag|cache|checksum|fingerprint|digest.?for|hash.?file|dedupe/i.test(why);
        if (!benign)
          hit(
            'weak-hash',
            call,
            `${alg} ${fn === 'createHmac' ? 'HMAC' : 'hash'}${why ? ` for ${why}` : ''}`,
            undefined,
            security ? 'high' : 'medium',
          );
      }
    }
    if (fn === 'random' && recvName === 'Math') {
      const why = purpose(call);
      if (TOKEN_WORDS.test(why)) hit('insecure-random', call, `Math.random() makes ${why}`);
    }
    if (fn === 'cors' && a0 && ts.isObjectLiteralExpression(unwrap(a0))) {
      const o = unwrap(a0) as ts.ObjectLiteralExpression;
      checkCorsObject(o, call);
    }
    if (
      (fn === 'setHeader' || fn === 'header' || fn === 'set' || fn === 'append') &&
      a0 &&
      /^access-control-allow-origin$/i.test(nameOf(a0) ?? '')
    ) {
      const v = args[1] ? unwrap(args[1]) : undefined;
      const reflected = v && /origin/i.test(v.getText(sf)) && !ts.isStringLiteralLike(v);
      const star = v && ts.isStringLiteralLike(v) && v.text === '*';
      const creds = /access-control-allow-credentials['"`]\s*,\s*(?:true|['"`]true)/i.test(text);
      if (reflected && creds)
        hit(
          'cors-permissive',
          call,
          'Access-Control-Allow-Origin reflects the request Origin with credentials',
        );
      else if (star)
        hit('cors-permissive', call, 'Access-Control-Allow-Origin: *', undefined, creds ? 'high' : 'medium');
    }
    if (
      /^(?:send|json|end|write|body|jsonp|render)$/.test(fn) &&
      recv &&
      responseNames.has(rootName(recv) ?? '')
    ) {
      for (const a of args) {
        const leak = findErrorLeak(a);
        if (leak) {
          hit(
            'error-disclosure',
            call,
            `the response includes ${leak}`,
            undefined,
            /stack/.test(leak) ? 'medium' : 'low',
          );
          break;
        }
      }
    }
    if ((fn === 'cookie' || fn === 'setCookie') && recv && args.length >= 2 && fn !== undefined) {
      const o = args[2] ? unwrap(args[2]) : undefined;
      if (fn === 'cookie' && recvName && /^(?:cookies|cookie)$/.test(recvName)) return;
      const missing: string[] = [];
      if (!o || !ts.isObjectLiteralExpression(o)) missing.push('httpOnly', 'secure');
      else if (!o.properties.some(ts.isSpreadAssignment)) {
        if (!isTrue(prop(o, 'httpOnly'))) missing.push('httpOnly');
        if (!isTrue(prop(o, 'secure'))) missing.push('secure');
      }
      if (!(o && ts.isIdentifier(o)) && missing.length)
        hit('cookie-insecure', call, `cookie set without ${missing.join(' and ')}`);
    }
    if (fn === 'set' && recvName === 'cookies' && args.length >= 2) {
      const o = args[2] ? unwrap(args[2]) : undefined;
      // Koa sets httpOnly by default; secure must be asked for.
      if (
        !o ||
        (ts.isObjectLiteralExpression(o) && (isFalse(prop(o, 'httpOnly')) || !isTrue(prop(o, 'secure'))))
      )
        hit('cookie-insecure', call, 'cookie set without secure (or with httpOnly: false)');
    }
  };

  const checkCorsObject = (o: ts.ObjectLiteralExpression, at: ts.Node): void => {
    const origin = prop(o, 'origin');
    if (!origin)
      return hit(
        'cors-permissive',
        at,
        'cors() without an origin list allows every origin (*)',
        undefined,
        'medium',
      );
    const creds = isTrue(prop(o, 'credentials'));
    const star = ts.isStringLiteralLike(origin) && origin.text === '*';
    const reflect =
      isTrue(origin) ||
      /^(?:\(?\s*\w*\s*,\s*(?:cb|callback|done)\s*\)?\s*=>\s*\w+\(\s*null\s*,\s*true\s*\))$/.test(
        origin.getText(sf),
      );
    if ((star || reflect) && creds)
      hit('cors-permissive', at, `CORS ${star ? "origin '*'" : 'reflects any origin'} with credentials`);
    else if (star) hit('cors-permissive', at, "CORS origin '*'", undefined, 'medium');
    else if (reflect) hit('cors-permissive', at, 'CORS reflects any origin', undefined, 'medium');
  };

  const findErrorLeak = (a: ts.Node): string | undefined => {
    let found: string | undefined;
    const look = (n: ts.Node): void => {
      if (found) return;
      if (ts.isPropertyAccessExpression(n) && (n.name.text === 'stack' || n.name.text === 'message')) {
        const base = unwrap(n.expression);
        if (ts.isIdentifier(base) && errorNames.has(base.text)) {
          found = short(sf, n);
          return;
        }
      }
      if (ts.isShorthandPropertyAssignment(n) && n.name.text === 'stack') {
        found = 'stack';
        return;
      }
      ts.forEachChild(n, look);
    };
    look(a);
    return found;
  };

  const testFile = /(?:^|\/)(?:tests?|__tests__|fixtures?)\/|\.(?:test|spec)\.[cm]?[jt]sx?$/.test(file);

  const visit = (n: ts.Node): void => {
    if (ts.isCatchClause(n) && n.variableDeclaration && ts.isIdentifier(n.variableDeclaration.name))
      errorNames.add(n.variableDeclaration.name.text);
    if (ts.isCallExpression(n)) {
      noteHandler(n);
      // .catch((e) => …) / error handlers
      const fn = nameOf(n.expression);
      if (fn === 'catch' || fn === 'setErrorHandler' || fn === 'onError')
        for (const a of n.arguments)
          if (
            (ts.isArrowFunction(a) || ts.isFunctionExpression(a)) &&
            a.parameters[0] &&
            ts.isIdentifier(a.parameters[0].name)
          )
            errorNames.add(a.parameters[0].name.text);
    }
    if (ts.isVariableDeclaration(n) && n.initializer) {
      const t = tainted(n.initializer);
      if (t) bindTaint(n.name, t);
      // const { query } = req  → query is a request input itself
      else if (ts.isObjectBindingPattern(n.name) && isRequestBase(n.initializer))
        for (const el of n.name.elements) {
          const key = nameOf(el.propertyName ?? el.name);
          if (key && REQUEST_FIELDS.has(key)) bindTaint(el.name, [`${short(sf, n.initializer)}.${key}`]);
        }
    }
    if (
      ts.isBinaryExpression(n) &&
      n.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
      ts.isIdentifier(n.left)
    ) {
      const t = tainted(n.right);
      if (t) taint.set(n.left.text, [...t, n.left.text]);
    }
    if (reporting && ts.isCallExpression(n)) {
      checkCall(n);
      if (ROUTE_METHOD.test(nameOf(n.expression) ?? ''))
        for (const a of n.arguments) {
          if (ts.isArrowFunction(a) || ts.isFunctionExpression(a)) checkHandlerBody(a, n);
          // Fastify: fastify.route({ method, url, schema, handler }) / app.post(url, { schema }, handler)
          if (ts.isObjectLiteralExpression(a)) {
            const h = prop(a, 'handler');
            if (h && (ts.isArrowFunction(h) || ts.isFunctionExpression(h))) checkHandlerBody(h, n, a);
          }
        }
    }
    if (ts.isNewExpression(n)) {
      const fn = nameOf(n.expression);
      if (fn === 'Function' || fn === 'Script') {
        for (const a of n.arguments ?? []) {
          const t = tainted(a);
          if (t) {
            hit('code-injection', n, `new ${fn}() compiles request input`, [...t, `new ${fn}()`]);
            break;
          }
        }
      }
      if (
        fn === 'RegExp' &&
        n.arguments?.[0] &&
        ts.isStringLiteralLike(n.arguments[0]) &&
        catastrophic(n.arguments[0].text)
      )
        hit('redos', n, `nested quantifier in /${n.arguments[0].text}/`);
    }
    if (ts.isRegularExpressionLiteral(n)) {
      const src = n.text.slice(1, n.text.lastIndexOf('/'));
      if (catastrophic(src))
        hit('redos', n, `nested quantifier in ${n.text.length > 60 ? n.text.slice(0, 57) + '…' : n.text}`);
    }
    if (ts.isPropertyAssignment(n)) {
      const key = nameOf(n.name);
      if (key === 'rejectUnauthorized' && isFalse(n.initializer))
        hit('tls-verification-disabled', n, 'rejectUnauthorized: false');
      if (
        key === 'checkServerIdentity' &&
        ts.isArrowFunction(n.initializer) &&
        !ts.isBlock(n.initializer.body) &&
        n.initializer.body.kind === ts.SyntaxKind.UndefinedKeyword
      )
        hit('tls-verification-disabled', n, 'checkServerIdentity accepts every certificate');
      if (key && CREDENTIAL_PROP.test(key) && ts.isStringLiteralLike(n.initializer) && !testFile) {
        const v = n.initializer.text;
        if (v.length >= 4 && !isPlaceholder(v) && !/\s/.test(v) && ts.isObjectLiteralExpression(n.parent))
          hit(
            'hardcoded-credentials',
            n,
            `${key} is a literal in a configuration object (${v.slice(0, Math.min(2, Math.floor(v.length / 4)))}*** (${v.length} chars))`,
          );
      }
      if (
        key === 'origin' &&
        ts.isObjectLiteralExpression(n.parent) &&
        prop(n.parent, 'credentials') &&
        !isInsideCorsCall(n.parent)
      ) {
        // A CORS options object declared apart from its cors() call.
        if (/cors/i.test(purpose(n.parent) || '')) checkCorsObject(n.parent, n.parent);
      }
    }
    if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
      const left = n.left.getText(sf).replace(/\s/g, '');
      if (/NODE_TLS_REJECT_UNAUTHORIZED/.test(left) && isFalse(unwrap(n.right)))
        hit(
          'tls-verification-disabled',
          n,
          'NODE_TLS_REJECT_UNAUTHORIZED=0 turns off verification for the whole process',
        );
      // Koa: ctx.body = err.stack ; ctx.redirect handled as a call
      if (/\.body$/.test(left)) {
        const leak = findErrorLeak(n.right);
        if (leak)
          hit(
            'error-disclosure',
            n,
            `the response includes ${leak}`,
            undefined,
            /stack/.test(leak) ? 'medium' : 'low',
          );
      }
    }
    ts.forEachChild(n, visit);
  };
  // --- Handlers that read the body without validating it (code/unvalidated-body).
  const checkHandlerBody = (
    fnNode: ts.ArrowFunction | ts.FunctionExpression | ts.FunctionDeclaration,
    route?: ts.CallExpression,
    options?: ts.ObjectLiteralExpression,
  ): void => {
    const p0 = fnNode.parameters[0]?.name;
    if (!p0 || !ts.isIdentifier(p0) || !fnNode.body) return;
    const req = p0.text;
    const bodyNames = new Set<string>();
    /** `req.body`, `ctx.request.body`, `await c.req.json()`, or a name bound from them (and members of those). */
    const isBody = (e0: ts.Expression): boolean => {
      let e = unwrap(e0);
      if (ts.isAwaitExpression(e)) e = unwrap(e.expression);
      if (ts.isIdentifier(e)) return bodyNames.has(e.text);
      if (ts.isCallExpression(e)) {
        const c = unwrap(e.expression);
        return (
          ts.isPropertyAccessExpression(c) &&
          /^(?:json|parseBody|formData)$/.test(c.name.text) &&
          rootName(c.expression) === req
        );
      }
      if (ts.isPropertyAccessExpression(e) || ts.isElementAccessExpression(e)) {
        if (ts.isPropertyAccessExpression(e) && e.name.text === 'body') {
          const base = unwrap(e.expression);
          if (ts.isIdentifier(base) && base.text === req) return true;
          if (
            ts.isPropertyAccessExpression(base) &&
            /^(?:request|req)$/.test(base.name.text) &&
            rootName(base) === req
          )
            return true;
        }
        return isBody(e.expression);
      }
      if (ts.isObjectLiteralExpression(e))
        return e.properties.some(
          (p) =>
            (ts.isSpreadAssignment(p) && isBody(p.expression)) ||
            (ts.isPropertyAssignment(p) && isBody(p.initializer)) ||
            (ts.isShorthandPropertyAssignment(p) && bodyNames.has(p.name.text)),
        );
      if (ts.isArrayLiteralExpression(e)) return e.elements.some((x) => isBody(x));
      if (ts.isTemplateExpression(e)) return e.templateSpans.some((t) => isBody(t.expression));
      if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.PlusToken)
        return isBody(e.left) || isBody(e.right);
      return false;
    };
    const bind = (n: ts.BindingName): void => {
      if (ts.isIdentifier(n)) bodyNames.add(n.text);
      else for (const el of n.elements) if (!ts.isOmittedExpression(el)) bind(el.name);
    };
    let validated = false;
    let sink: { call: ts.Node; what: string; from: string } | undefined;
    const scan = (n: ts.Node): void => {
      if (ts.isVariableDeclaration(n) && n.initializer) {
        // const { body } = req / const { body: b } = ctx.request
        if (ts.isObjectBindingPattern(n.name) && (rootName(n.initializer) === req || isBody(n.initializer)))
          for (const el of n.name.elements) {
            const key = nameOf(el.propertyName ?? el.name);
            if (isBody(n.initializer) || key === 'body') bind(el.name);
          }
        else if (isBody(n.initializer)) bind(n.name);
      }
      if (ts.isTypeOfExpression(n) && isBody(n.expression)) validated = true;
      if (ts.isCallExpression(n)) {
        const callee = unwrap(n.expression);
        const fn = nameOf(callee) ?? '';
        const recv = ts.isPropertyAccessExpression(callee) ? (rootName(callee.expression) ?? '') : '';
        const bodyArg = n.arguments.find((a) => isBody(a));
        if (bodyArg && isValidation(fn, recv)) validated = true;
        if (fn === 'validationResult' || fn === 'matchedData') validated = true;
        if (
          !validated &&
          !sink &&
          bodyArg &&
          recv !== 'crypto' &&
          (PERSIST_CALL.test(fn) || (fn === 'assign' && recv === 'Object'))
        )
          sink = { call: n, what: `${short(sf, callee)}()`, from: short(sf, bodyArg) };
      }
      if (
        ts.isNewExpression(n) &&
        !sink &&
        n.arguments?.some((a) => isBody(a)) &&
        /^[A-Z]/.test(nameOf(n.expression) ?? '') &&
        !BUILTIN_CLASSES.has(nameOf(n.expression) ?? '')
      )
        sink = {
          call: n,
          what: `new ${nameOf(n.expression)}()`,
          from: short(
            sf,
            n.arguments.find((a) => isBody(a))!,
          ),
        };
      ts.forEachChild(n, scan);
    };
    scan(fnNode.body);
    // Validation middleware beside the handler (validate(schema), celebrate(…), body('x').isEmail()),
    // or a Fastify route schema for the body.
    if (route)
      for (const a of route.arguments) {
        if (a === fnNode) continue;
        if (
          ts.isCallExpression(a) &&
          /validat|celebrate|schema|zod|joi|yup|check|body/i.test(short(sf, a.expression))
        )
          validated = true;
        if (ts.isArrayLiteralExpression(a) && a.elements.some((x) => ts.isCallExpression(x)))
          validated = true;
        if (ts.isObjectLiteralExpression(a) && prop(a, 'schema')) validated = true;
      }
    if (options && prop(options, 'schema')) validated = true;
    if (validated || !sink) return;
    hit('unvalidated-body', sink.call, `${sink.from} reaches ${sink.what} without a schema validation`, [
      sink.from,
      sink.what,
    ]);
  };

  const isInsideCorsCall = (o: ts.Node): boolean => {
    const p = o.parent;
    return !!p && ts.isCallExpression(p) && nameOf(p.expression) === 'cors';
  };
  // Two passes: the first learns handler parameter names and taint, the second reports
  // (so a variable assigned after the function that uses it is still known).
  visit(sf);
  reporting = true;
  visit(sf);
  return { hits: dedupe(hits) };
}

/** Calls that register a route handler (Express/Koa router/Hono/Fastify). `use` is middleware, not a route. */
const ROUTE_METHOD = /^(?:get|post|put|patch|delete|del|all|route|handler)$/;
/** A schema validation: zod parse/safeParse, Joi/yup validate, ajv, class-validator, io-ts decode. */
const VALIDATOR_CALL =
  /^(?:parse|safeParse|parseAsync|safeParseAsync|validate|validateSync|validateAsync|validateOrReject|decode|check|validateBody|validateRequest)$/;
/** Validators whose names are also ordinary words (superstruct `assert`/`create`, `is`, yup `cast`): bare or on a schema. */
const VALIDATOR_BARE = /^(?:assert|is|create|cast|mask)$/;
const VALIDATOR_RECEIVER = /schema|validator|ajv|joi|zod|yup|^z$|^v$|typia|valibot/i;
/** Constructors that do not persist anything. */
const BUILTIN_CLASSES = new Set([
  'Function',
  'URL',
  'URLSearchParams',
  'Error',
  'TypeError',
  'Date',
  'Map',
  'Set',
  'RegExp',
  'Promise',
  'Buffer',
  'Response',
  'Request',
  'Headers',
  'Blob',
  'Uint8Array',
  'TextEncoder',
]);

function isValidation(fn: string, recv: string): boolean {
  if (recv === 'JSON' || recv === 'Number' || recv === 'Date') return false;
  if (VALIDATOR_CALL.test(fn)) return true;
  if (VALIDATOR_BARE.test(fn)) return recv === '' || VALIDATOR_RECEIVER.test(recv);
  return VALIDATOR_RECEIVER.test(recv);
}
/** Where a body is persisted or used: ORM/ODM writes, SQL drivers, file writes, key-value stores. */
const PERSIST_CALL =
  /^(?:create|createMany|insert|insertOne|insertMany|values|save|update|updateOne|updateMany|upsert|findOneAndUpdate|findByIdAndUpdate|replaceOne|bulkCreate|query|execute|exec|run|raw|set|hset|put|writeFile|writeFileSync|appendFile|appendFileSync)$/;

function dedupe(hits: PatternHit[]): PatternHit[] {
  const seen = new Set<string>();
  return hits.filter((h) => {
    const k = `${h.rule}:${h.start}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Star height above one: a group holding a quantified element, itself quantified with
 * `+`, `*` or `{n,}` — `(a+)+`, `(\w+\s?)*`, `(.*a){2,}`. Also `(a|a)*`-style groups
 * whose alternatives can match the same text (same first token). Heuristic by design;
 * docs/code-scan.md lists what it misses.
 */
export function catastrophic(src: string): boolean {
  const stack: Array<{ quantifiedInside: boolean; alts: string[]; cur: string }> = [];
  let top = { quantifiedInside: false, alts: [] as string[], cur: '' };
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      top.cur += src.slice(i, i + 2);
      i++;
      continue;
    }
    if (c === '[') {
      const end = findClassEnd(src, i);
      top.cur += src.slice(i, end + 1);
      i = end;
      continue;
    }
    if (c === '(') {
      stack.push(top);
      top = { quantifiedInside: false, alts: [], cur: '' };
      if (src[i + 1] === '?')
        i += src[i + 2] === '<' && src[i + 3] !== '=' && src[i + 3] !== '!' ? src.indexOf('>', i) - i : 2;
      continue;
    }
    if (c === '|') {
      top.alts.push(top.cur);
      top.cur = '';
      continue;
    }
    if (c === ')') {
      const inner = top;
      inner.alts.push(inner.cur);
      top = stack.pop() ?? { quantifiedInside: false, alts: [], cur: '' };
      const next = src[i + 1];
      const outer =
        next === '+' ||
        next === '*' ||
        (next === '{' && /^\{\d+,\d*\}/.test(src.slice(i + 1)) && !/^\{\d+,\d{1}\}/.test(src.slice(i + 1)));
      if (outer && inner.quantifiedInside && !inner.alts.every(separatorLed)) return true;
      if (outer && inner.alts.length > 1) {
        const firsts = inner.alts.map((a) => a.slice(0, a[0] === '\\' ? 2 : 1));
        if (new Set(firsts).size < firsts.length && !firsts.includes('')) return true;
      }
      top.cur += '(…)';
      if (inner.quantifiedInside || outer) top.quantifiedInside = true;
      continue;
    }
    if ((c === '+' || c === '*' || (c === '{' && /^\{\d+,\d*\}/.test(src.slice(i)))) && top.cur.length)
      top.quantifiedInside = true;
    top.cur += c;
  }
  return false;
}

/**
 * `[_-][a-z]+`, `\.\w+`, ` [A-Z]+`: the alternative starts with an unquantified atom
 * that none of its repeated atoms can match, so each repetition starts at a separator and
 * there is only one way to split the input — no catastrophic backtracking.
 */
function separatorLed(alt: string): boolean {
  const first = /^(\\.|\[(?:\\.|[^\]])+\]|[^\\[(.|*+?{])(?![*+?{])/.exec(alt);
  if (!first) return false;
  const atoms = [
    ...alt.slice(first[0].length).matchAll(/(\\.|\[(?:\\.|[^\]])+\]|\.|[^\\[(|*+?{])[*+{]/g),
  ].map((m) => m[1]!);
  if (!atoms.length || alt.includes('(…)')) return false;
  try {
    const sep = new RegExp(`^${first[1]}$`);
    const reps = atoms.map((a) => new RegExp(`^${a}$`, 's'));
    for (let c = 0; c < 128; c++) {
      const ch = String.fromCharCode(c);
      if (sep.test(ch) && reps.some((r) => r.test(ch))) return false;
    }
    return true;
  } catch {
    return false;
  }
}

function findClassEnd(src: string, i: number): number {
  for (let j = i + 1; j < src.length; j++) {
    if (src[j] === '\\') j++;
    else if (src[j] === ']' && j > i + 1) return j;
  }
  return src.length - 1;
}
