/**
 * The authority of a request (RFC 9112 §3.2, §3.2.2): the Host header must be one valid
 * `uri-host[:port]`, an absolute-form target's authority must be one this listener serves,
 * and a listener may name the hosts it accepts (421 Misdirected Request otherwise).
 *
 * Rampart is stricter than RFC 3986's reg-name, which also allows sub-delims (`!$&'()*+,;=`)
 * and percent-encoding: a Host is a DNS name (letters, digits, `-`, `_`, dot-separated
 * labels of at most 63, an optional final dot), an IPv4 address, or a bracketed IPv6
 * literal, with an optional port of 1–5 digits up to 65535. Everything else — two Host
 * fields (Node joins them with ", "), userinfo (`a@evil.example`), a path, a query, a
 * space, an empty port — is refused, so what reaches the upstream as X-Forwarded-Host is
 * always a plain authority.
 */
import { isIPv6 } from 'node:net';

const IP_LITERAL = /^\[([0-9A-Fa-f:.]{2,45})\](?::\d{1,5})?$/;

/** True when `value` is one valid `uri-host[:port]` (see above). */
export function validHost(value: string | undefined): value is string {
  if (value === undefined || value.length === 0 || value.length > 261) return false;
  if (value.charCodeAt(0) === 0x5b /* [ */) {
    const m = IP_LITERAL.exec(value);
    if (m === null || !isIPv6(m[1]!)) return false;
    return portOk(value, value.indexOf(']') + 1);
  }
  return validName(value);
}

/** `[A-Za-z0-9_-]{1,63}` is a label character (a letter, digit, `-` or `_`). */
function isLabelChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2d ||
    c === 0x5f
  );
}

/**
 * Dot-separated labels of 1–63 label characters, an optional final dot, an optional
 * `:port` of 1–5 digits ≤ 65535. A scan rather than a regular expression: this runs for
 * every request, and the bounded repetitions cost V8's regexp engine ~10× more.
 */
function validName(v: string): boolean {
  const n = v.length;
  let label = 0;
  let i = 0;
  for (; i < n; i++) {
    const c = v.charCodeAt(i);
    if (isLabelChar(c)) {
      if (++label > 63) return false;
    } else if (c === 0x2e /* . */) {
      if (label === 0) return false; // a leading or doubled dot
      label = 0;
    } else if (c === 0x3a /* : */) break;
    else return false;
  }
  if (i === 0 || (label === 0 && v.charCodeAt(i - 1) !== 0x2e)) return false;
  if (i === n) return true;
  const digits = n - i - 1;
  if (digits < 1 || digits > 5) return false;
  let port = 0;
  for (let k = i + 1; k < n; k++) {
    const c = v.charCodeAt(k);
    if (c < 0x30 || c > 0x39) return false;
    port = port * 10 + c - 0x30;
  }
  return port <= 65535;
}

/** The digits after `colon` (the regular expressions checked there are 1–5) are ≤ 65535; no slice. */
function portOk(value: string, colon: number): boolean {
  if (colon <= 0 || colon >= value.length) return true;
  let port = 0;
  for (let i = colon + 1; i < value.length; i++) port = port * 10 + value.charCodeAt(i) - 0x30;
  return port <= 65535;
}

/** The host part of a valid authority, without the port (brackets kept for IPv6). */
export function hostnameOf(authority: string): string {
  if (authority.charCodeAt(0) === 0x5b) return authority.slice(0, authority.indexOf(']') + 1);
  const colon = authority.indexOf(':');
  return colon === -1 ? authority : authority.slice(0, colon);
}

/**
 * A listener's accepted hosts: `api.example.com` accepts that name on any port,
 * `api.example.com:8443` only with that port. Case-insensitive; a final dot is ignored.
 * @example
 * new AcceptedHosts(['api.example.com']).has('API.example.com:443') // true
 */
export class AcceptedHosts {
  private readonly exact = new Set<string>();
  private readonly anyPort = new Set<string>();

  constructor(entries: readonly string[]) {
    for (const e of entries) {
      const lower = e.toLowerCase();
      if (!validHost(lower)) throw new Error(`not a host[:port]: ${e}`);
      const host = hostnameOf(lower);
      const name = stripDot(host);
      if (host.length === lower.length) this.anyPort.add(name);
      else this.exact.add(name + lower.slice(host.length));
    }
  }

  /** Any host accepted (no list configured). */
  get open(): boolean {
    return this.exact.size === 0 && this.anyPort.size === 0;
  }

  /** Whether a valid authority is one of the accepted hosts. */
  has(authority: string): boolean {
    const lower = authority.toLowerCase();
    const host = hostnameOf(lower);
    const name = stripDot(host);
    if (this.anyPort.has(name)) return true;
    return this.exact.size > 0 && this.exact.has(name + lower.slice(host.length));
  }
}

function stripDot(name: string): string {
  return name.length > 1 && name.charCodeAt(name.length - 1) === 0x2e ? name.slice(0, -1) : name;
}

/** An absolute-form request target split into its authority and origin-form target. */
export type AbsoluteForm = { ok: true; authority: string; target: string } | { ok: false; reason: string };

const ABSOLUTE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/s;

/**
 * Splits `https://host:port/path?query` (RFC 9112 §3.2.2) for a listener that speaks
 * `https` (TLS) or `http`. Another scheme, userinfo, or an invalid authority is refused;
 * an empty path is `/`. Whether the authority is one this listener serves is the caller's
 * decision (the accepted-host list, else the Host header).
 */
export function splitAbsoluteForm(url: string, secure: boolean): AbsoluteForm {
  const m = ABSOLUTE.exec(url);
  if (m === null) return { ok: false, reason: 'request target is neither origin-form nor absolute-form' };
  const scheme = m[1]!.toLowerCase();
  if (scheme !== (secure ? 'https' : 'http'))
    return { ok: false, reason: `absolute-form target must use ${secure ? 'https' : 'http'}` };
  const authority = m[2]!;
  if (authority.includes('@')) return { ok: false, reason: 'userinfo is not allowed in the request target' };
  if (!validHost(authority)) return { ok: false, reason: 'invalid authority in the request target' };
  let rest = m[3]!;
  if (rest.length === 0 || rest.charCodeAt(0) === 0x3f /* ? */) rest = '/' + rest;
  return { ok: true, authority, target: rest };
}
