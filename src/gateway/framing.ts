/**
 * Framing and authority rules the gateway applies to every request before anything else
 * reads it (RFC 9112; docs/architecture.md "Framing rules"). Node's parser already
 * refuses CL+TE, duplicate Content-Length, bad chunk sizes and bad header tokens; this
 * adds what it lets through:
 *
 * - more header fields than `limits.maxHeaderCount` → 431 (Node would keep the first
 *   1,000 and drop the rest without a word — a trailing Authorization would vanish);
 * - HTTP/1.0 with Transfer-Encoding → 400 `request-smuggling` (RFC 9112 §6.1: faulty framing);
 * - a Host that is not one `uri-host[:port]` → 400 `invalid-host` (RFC 9112 §3.2);
 * - an absolute-form target (`GET https://host/path`) → accepted when its authority is
 *   served here, else 400 (RFC 9112 §3.2.2);
 * - a Host the listener's `acceptedHosts` does not list → 421 `misdirected-request`.
 *
 * Every refusal closes the connection. The checks cost two comparisons and one regular
 * expression per ordinary request; the refusals are built once.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { problem } from '../core/errors.ts';
import { AcceptedHosts, splitAbsoluteForm, validHost } from './host.ts';
import type { Denial } from './policy.ts';

/** An absolute-form request accepted: the authority it names and its origin-form target. */
export interface AbsoluteTarget {
  authority: string;
  target: string;
}

export interface FramingOptions {
  /** `limits.maxHeaderCount`. */
  maxHeaderCount: number;
  /** `listen.acceptedHosts`; empty: any valid host. */
  acceptedHosts: readonly string[];
  /** Whether the listener speaks TLS (the scheme an absolute-form target must use). */
  secure: boolean;
}

export class RequestFraming {
  private readonly maxRawHeaders: number;
  private readonly hosts: AcceptedHosts;
  private readonly tooManyHeaders: Denial;
  private static readonly teInHttp10: Denial = {
    problem: problem('request-smuggling', {
      detail: 'Transfer-Encoding is not allowed in an HTTP/1.0 request',
    }),
  };
  private static readonly badHost: Denial = {
    problem: problem('invalid-host', { detail: 'The Host header must be one host[:port]' }),
  };
  private static readonly otherAuthority: Denial = {
    problem: problem('invalid-host', { detail: 'The request target names another host' }),
  };
  private static readonly misdirected: Denial = {
    problem: problem('misdirected-request', { detail: 'This listener does not serve that host' }),
  };

  constructor(private readonly opts: FramingOptions) {
    this.maxRawHeaders = opts.maxHeaderCount * 2; // rawHeaders is [name, value, name, value, …]
    this.hosts = new AcceptedHosts(opts.acceptedHosts);
    this.tooManyHeaders = {
      problem: problem('headers-too-large', {
        detail: `At most ${opts.maxHeaderCount} header fields are allowed`,
      }),
    };
  }

  /** Whether a valid authority is one this listener serves (any, without `acceptedHosts`). */
  serves(authority: string): boolean {
    return this.hosts.open || this.hosts.has(authority);
  }

  /**
   * Undefined for an ordinary origin-form request that passes; an `AbsoluteTarget` for an
   * accepted absolute-form one; else the refusal to answer (the response is already
   * marked to close the connection).
   */
  check(req: IncomingMessage, res: ServerResponse): Denial | AbsoluteTarget | undefined {
    const refusal = this.refusal(req);
    if (refusal !== undefined && 'problem' in refusal) res.shouldKeepAlive = false;
    return refusal;
  }

  private refusal(req: IncomingMessage): Denial | AbsoluteTarget | undefined {
    // Node's own count limit truncates the parsed headers but keeps every raw line.
    if (req.rawHeaders.length > this.maxRawHeaders) return this.tooManyHeaders;
    if (req.httpVersionMinor === 0 && req.headers['transfer-encoding'] !== undefined)
      return RequestFraming.teInHttp10;
    const host = req.headers.host;
    // Stryker disable next-line StringLiteral: a server-side IncomingMessage always has a url
    const url = req.url ?? '';
    if (!validHost(host)) {
      // HTTP/1.0 may omit Host (load-balancer health checks do); HTTP/1.1 may not (RFC 9112
      // §3.2: 400). Without Host no accepted-host list is met.
      if (host !== undefined || req.httpVersionMinor !== 0) return RequestFraming.badHost;
      if (url.charCodeAt(0) !== 0x2f && url !== '*') return this.absolute(url, undefined);
      return this.hosts.open ? undefined : RequestFraming.misdirected;
    }
    if (url.charCodeAt(0) !== 0x2f /* / */ && url !== '*') return this.absolute(url, host);
    if (!this.serves(host)) return RequestFraming.misdirected;
    return undefined;
  }

  /** RFC 9112 §3.2.2: the target's authority counts, not the Host header. */
  private absolute(url: string, host: string | undefined): Denial | AbsoluteTarget {
    const split = splitAbsoluteForm(url, this.opts.secure);
    if (!split.ok) return { problem: problem('invalid-host', { detail: split.reason }) };
    const served = this.hosts.open
      ? host !== undefined && split.authority.toLowerCase() === host.toLowerCase()
      : this.hosts.has(split.authority);
    if (!served) return RequestFraming.otherAuthority;
    return { authority: split.authority, target: split.target };
  }
}

/** The response Node is writing (or will write next) on a socket; undefined when none. */
function inflight(socket: Socket): ServerResponse | undefined {
  return (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage ?? undefined;
}

/**
 * A parse error after an accepted request (pipelined garbage, bytes after `Connection:
 * close` or after HTTP/1.0): the answers to the requests already accepted are written
 * completely, then the connection closes; the bytes that follow get no answer and reach
 * no upstream. Returns false when the error belongs to the request being received (its
 * body is broken): the caller answers that with a 400 problem and closes at once.
 */
export function closeAfterAccepted(socket: Socket): boolean {
  const res = inflight(socket);
  // Stryker disable next-line OptionalChaining: Node sets res.req on every server response
  if (res === undefined || !(res.req as IncomingMessage | undefined)?.complete) return false;
  socket.pause(); // nothing more to parse
  const next = (): void => {
    const current = inflight(socket);
    if (current === undefined || current.writableFinished) {
      socket.end();
      return;
    }
    // Effective while the head is not written: it then says Connection: close.
    current.shouldKeepAlive = false;
    current.once('finish', next);
    // Stryker disable next-line StringLiteral,BlockStatement: an unfinished response closes only with its socket (or res.destroy(), which destroys it), so this destroy is a safeguard with no effect on the wire
    current.once('close', () => {
      // Stryker disable next-line ConditionalExpression,BooleanLiteral: same; after 'finish' the bytes are written and socket.end() has run, so destroying too changes nothing seen
      if (!current.writableFinished) socket.destroy();
    });
  };
  next();
  return true;
}
