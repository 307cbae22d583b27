import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { ScanHttp, Exchange } from './http.ts';
import { isObj, ScanSetupError } from './spec.ts';

/** A login recipe: the request that signs in, where the token is, how to send it. */
export interface LoginRecipe {
  method: string;
  path: string;
  /** JSON body (values may use `${ENV_VAR}`). */
  json?: Record<string, unknown>;
  /** Form body instead of JSON. */
  form?: Record<string, string>;
  /** Where the token is: `body.<dotted.path>` (default `body.token`) or `header.<name>`. */
  token: string;
  /** The header to send, `{token}` replaced: default `Authorization: Bearer {token}`. */
  apply: string;
  /** Seconds after which the recipe runs again before the next request (0 = never). */
  refresh: number;
}

export interface Identity {
  name: string;
  role?: string;
  /** Headers that authenticate this identity (kept out of logs and evidence). */
  headers: Record<string, string>;
  recipe?: LoginRecipe;
  /** The bearer token, when the identity's credential is one (JWT checks read it). */
  token?: string;
  /** The exchange that obtained the token (jwt-no-expiry names its operation). */
  loginExchange?: Exchange;
  loggedInAt?: number;
  /** Credentials from the recipe body (user-enumeration reads the username field). */
  loginFields?: Record<string, unknown>;
}

export const isAdmin = (i: Identity): boolean => /admin|root|super|staff|operator/i.test(i.role ?? '');

/** Parses `NAME[:ROLE]=Header-Name: value`. */
export function parseIdentityFlag(flag: string): Identity {
  const eq = flag.indexOf('=');
  if (eq <= 0) throw new Error(`--identity expects NAME[:ROLE]=HEADER, got '${flag.slice(0, 40)}'`);
  const [name, role] = flag.slice(0, eq).split(':', 2) as [string, string | undefined];
  if (!/^[A-Za-z0-9._-]{1,32}$/.test(name))
    throw new Error(`--identity name '${name}' must be letters, digits, . _ -`);
  const header = flag.slice(eq + 1);
  const colon = header.indexOf(':');
  if (colon <= 0) throw new Error(`--identity ${name}: the header must look like 'Authorization: Bearer …'`);
  const hName = header.slice(0, colon).trim();
  const hValue = header.slice(colon + 1).trim();
  if (!/^[A-Za-z0-9-]+$/.test(hName) || hValue === '')
    throw new Error(`--identity ${name}: '${hName}' is not a valid header`);
  const bearer = /^Bearer\s+(\S+)$/i.exec(hValue);
  return {
    name,
    ...(role ? { role } : {}),
    headers: { [hName]: hValue },
    ...(bearer ? { token: bearer[1]! } : {}),
  };
}

const env = (s: string, where: string): string =>
  s.replace(/\$\{([A-Z0-9_]+)\}/gi, (_m, v: string) => {
    const val = process.env[v];
    if (val === undefined) throw new ScanSetupError(`${where}: environment variable ${v} is not set`);
    return val;
  });

function envDeep(v: unknown, where: string): unknown {
  if (typeof v === 'string') return env(v, where);
  if (Array.isArray(v)) return v.map((x) => envDeep(x, where));
  if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, envDeep(x, where)]));
  return v;
}

/** Reads an `--auth FILE` (YAML): `identities: { NAME: { role, header | login } }`. */
export async function loadAuthFile(file: string): Promise<Identity[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new ScanSetupError(`cannot read the auth file ${file}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ScanSetupError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!isObj(doc) || !isObj(doc.identities))
    throw new ScanSetupError(`${file}: expected a top-level 'identities:' mapping`);
  const out: Identity[] = [];
  for (const [name, raw] of Object.entries(doc.identities)) {
    const where = `${file}: identities.${name}`;
    if (!/^[A-Za-z0-9._-]{1,32}$/.test(name)) throw new ScanSetupError(`${where}: invalid identity name`);
    if (!isObj(raw)) throw new ScanSetupError(`${where}: expected a mapping`);
    const role = typeof raw.role === 'string' ? raw.role : undefined;
    if (typeof raw.header === 'string') {
      const id = parseIdentityFlag(`${name}${role ? ':' + role : ''}=${env(raw.header, where)}`);
      out.push(id);
      continue;
    }
    const l = raw.login;
    if (!isObj(l)) throw new ScanSetupError(`${where}: needs 'header' or 'login'`);
    const path = l.path ?? l.url;
    if (typeof path !== 'string' || !path.startsWith('/'))
      throw new ScanSetupError(`${where}.login.path: an absolute path on the target, e.g. /auth/login`);
    const token = typeof l.token === 'string' ? l.token : 'body.token';
    if (!/^(body(\.[A-Za-z0-9_-]+)+|header\.[A-Za-z0-9-]+)$/.test(token))
      throw new ScanSetupError(`${where}.login.token: 'body.<path>' or 'header.<name>'`);
    const apply = typeof l.apply === 'string' ? l.apply : 'Authorization: Bearer {token}';
    if (!apply.includes('{token}') || !apply.includes(':'))
      throw new ScanSetupError(`${where}.login.apply: 'Header: … {token} …'`);
    const recipe: LoginRecipe = {
      method: typeof l.method === 'string' ? l.method.toUpperCase() : 'POST',
      path,
      ...(isObj(l.json) ? { json: envDeep(l.json, where) as Record<string, unknown> } : {}),
      ...(isObj(l.form) ? { form: envDeep(l.form, where) as Record<string, string> } : {}),
      token,
      apply,
      refresh: typeof raw.refresh === 'number' ? raw.refresh : 0,
    };
    out.push({
      name,
      ...(role ? { role } : {}),
      headers: {},
      recipe,
      ...(recipe.json ? { loginFields: recipe.json } : recipe.form ? { loginFields: recipe.form } : {}),
    });
  }
  return out;
}

/** Runs an identity's login recipe; a failure is a ScanSetupError naming the identity (never the secret). */
export async function login(http: ScanHttp, id: Identity, now: number): Promise<void> {
  const r = id.recipe;
  if (!r) return;
  const x = await http.send({
    method: r.method,
    path: r.path,
    ...(r.json
      ? { body: r.json }
      : r.form
        ? { body: new URLSearchParams(r.form).toString(), contentType: 'application/x-www-form-urlencoded' }
        : {}),
  });
  if (!x.response) throw new ScanSetupError(`login of identity '${id.name}' failed: ${x.error}`);
  if (x.response.status < 200 || x.response.status > 299)
    throw new ScanSetupError(
      `login of identity '${id.name}' failed: ${r.method} ${r.path} answered ${x.response.status}`,
    );
  let token: unknown;
  if (r.token.startsWith('header.')) token = x.response.headers[r.token.slice(7).toLowerCase()];
  else {
    token = x.response.json;
    for (const part of r.token.split('.').slice(1)) token = isObj(token) ? token[part] : undefined;
  }
  if (typeof token !== 'string' || token === '')
    throw new ScanSetupError(`login of identity '${id.name}' failed: no token at ${r.token} in the answer`);
  const colon = r.apply.indexOf(':');
  id.headers = {
    [r.apply.slice(0, colon).trim()]: r.apply
      .slice(colon + 1)
      .trim()
      .replace('{token}', token),
  };
  id.token = token;
  id.loginExchange = x;
  id.loggedInAt = now;
}
