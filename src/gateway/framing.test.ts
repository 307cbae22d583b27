/**
 * `RequestFraming` and `closeAfterAccepted` built inside each test (so mutation testing
 * counts them: docs/testing.md) behind a bare Node HTTP server on loopback, driven with raw
 * sockets: each refusal's problem and `detail`, that a refusal closes the connection and an
 * accepted request does not, the Host-less HTTP/1.0 branches, `*` targets, the absolute
 * form's authority, and the close after an accepted request.
 * The gateway-level behaviour (what reaches the upstream) is test/gateway/framing.test.ts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawExchange, type RawResponse } from '../../test/helpers/raw.ts';
import { closeAfterAccepted, RequestFraming, type FramingOptions } from './framing.ts';

const P = 'https://rampart.dev/problems/';

interface Verdict {
  /** What `check` returned (undefined: passed). */
  result?: {
    problem?: { type: string; status: number; detail?: string };
    authority?: string;
    target?: string;
  };
  /** `res.shouldKeepAlive` right after `check`. */
  keepAlive: boolean;
}

let server: http.Server;
let url: string;
let handle: (req: http.IncomingMessage, res: http.ServerResponse) => void;

beforeAll(async () => {
  // As the listener does: framing.ts, not Node, answers a Host-less HTTP/1.1 request.
  server = http.createServer({ requireHostHeader: false }, (req, res) => handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

/** Sends `head` (a request line and headers, no blank line) and returns check's verdict. */
async function verdict(
  opts: FramingOptions,
  head: string,
  body = '',
): Promise<{ v: Verdict; r: RawResponse }> {
  const framing = new RequestFraming(opts);
  handle = (req, res) => {
    const result = framing.check(req, res);
    const v: Verdict = { result: result as Verdict['result'], keepAlive: res.shouldKeepAlive };
    req.resume();
    const json = JSON.stringify(v);
    res.setHeader('content-type', 'application/json');
    res.setHeader('content-length', Buffer.byteLength(json));
    res.end(json);
  };
  const ex = await rawExchange(url, `${head}\r\n\r\n${body}`, 300);
  expect(ex.responses).toHaveLength(1);
  const r = ex.responses[0]!;
  return { v: JSON.parse(r.body) as Verdict, r };
}

const open: FramingOptions = { maxHeaderCount: 3, acceptedHosts: [], secure: false };
const listed: FramingOptions = { maxHeaderCount: 10, acceptedHosts: ['api.example.com'], secure: false };

function expectRefusal(
  out: { v: Verdict; r: RawResponse },
  code: string,
  status: number,
  detail: string,
): void {
  expect(out.v.result?.problem).toMatchObject({ type: P + code, status, detail });
  expect(out.v.keepAlive).toBe(false);
  expect(out.r.headers.connection).toBe('close');
}

describe('RequestFraming.check', () => {
  it('more header fields than maxHeaderCount: 431 naming the limit, connection closed', async () => {
    const out = await verdict(open, 'GET /a HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3');
    expectRefusal(out, 'headers-too-large', 431, 'At most 3 header fields are allowed');
  });

  it('exactly maxHeaderCount fields pass and the connection stays open', async () => {
    const out = await verdict(open, 'GET /a HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2');
    expect(out.v.result).toBeUndefined();
    expect(out.v.keepAlive).toBe(true);
    expect(out.r.headers.connection).toBe('keep-alive');
  });

  it('HTTP/1.1 with Transfer-Encoding passes (only HTTP/1.0 is refused)', async () => {
    const out = await verdict(
      open,
      'POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked',
      '2\r\nhi\r\n0\r\n\r\n',
    );
    expect(out.v.result).toBeUndefined();
    expect(out.v.keepAlive).toBe(true);
  });

  it('HTTP/1.0 with Transfer-Encoding: request-smuggling', async () => {
    const out = await verdict(open, 'POST /a HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked', '0\r\n\r\n');
    expect(out.v.result?.problem).toMatchObject({
      type: P + 'request-smuggling',
      status: 400,
      detail: 'Transfer-Encoding is not allowed in an HTTP/1.0 request',
    });
  });

  it('HTTP/1.1 without Host: invalid-host, connection closed', async () => {
    const out = await verdict(open, 'GET /a HTTP/1.1');
    expectRefusal(out, 'invalid-host', 400, 'The Host header must be one host[:port]');
  });

  it('HTTP/1.0 with an invalid Host: invalid-host (only a missing Host is allowed)', async () => {
    const out = await verdict(open, 'GET /a HTTP/1.0\r\nHost: a b');
    expect(out.v.result?.problem).toMatchObject({
      type: P + 'invalid-host',
      detail: 'The Host header must be one host[:port]',
    });
  });

  it('HTTP/1.0 without Host: passes without acceptedHosts, misdirected with them', async () => {
    expect((await verdict(open, 'GET /health HTTP/1.0')).v.result).toBeUndefined();
    const out = await verdict(listed, 'GET /health HTTP/1.0');
    expect(out.v.result?.problem).toMatchObject({
      type: P + 'misdirected-request',
      status: 421,
      detail: 'This listener does not serve that host',
    });
  });

  it('HTTP/1.0 without Host and a * target: not taken for an absolute-form target', async () => {
    expect((await verdict(open, 'OPTIONS * HTTP/1.0')).v.result).toBeUndefined();
    expect((await verdict(listed, 'OPTIONS * HTTP/1.0')).v.result?.problem?.type).toBe(
      P + 'misdirected-request',
    );
  });

  it('HTTP/1.0 without Host and an absolute-form target: its authority must be listed', async () => {
    const ok = await verdict(listed, 'GET http://api.example.com/v1?q=1 HTTP/1.0');
    expect(ok.v.result).toEqual({ authority: 'api.example.com', target: '/v1?q=1' });
    const other = await verdict(listed, 'GET http://evil.example/v1 HTTP/1.0');
    expect(other.v.result?.problem).toMatchObject({
      type: P + 'invalid-host',
      detail: 'The request target names another host',
    });
    // Without acceptedHosts an absolute-form target must match the Host header; there is none.
    const none = await verdict(open, 'GET http://api.example.com/v1 HTTP/1.0');
    expect(none.v.result?.problem).toMatchObject({
      type: P + 'invalid-host',
      detail: 'The request target names another host',
    });
  });

  it('a * target with a Host is origin-form: passes, connection kept', async () => {
    const out = await verdict(open, 'OPTIONS * HTTP/1.1\r\nHost: x');
    expect(out.v.result).toBeUndefined();
    expect(out.v.keepAlive).toBe(true);
  });

  it('a Host acceptedHosts does not list: misdirected, connection closed', async () => {
    const out = await verdict(listed, 'GET /a HTTP/1.1\r\nHost: other.example.com');
    expectRefusal(out, 'misdirected-request', 421, 'This listener does not serve that host');
    expect((await verdict(listed, 'GET /a HTTP/1.1\r\nHost: api.example.com')).v.result).toBeUndefined();
  });

  it('an accepted absolute-form target keeps the connection open', async () => {
    const out = await verdict(listed, 'GET http://api.example.com/v1 HTTP/1.1\r\nHost: evil.example');
    expect(out.v.result).toEqual({ authority: 'api.example.com', target: '/v1' });
    expect(out.v.keepAlive).toBe(true);
    expect(out.r.headers.connection).toBe('keep-alive');
  });

  it('an absolute-form target the host module refuses: its reason is the detail', async () => {
    const out = await verdict(open, 'GET https://x/v1 HTTP/1.1\r\nHost: x');
    expectRefusal(out, 'invalid-host', 400, 'absolute-form target must use http');
  });

  it('without acceptedHosts the target authority must equal Host, compared case-insensitively', async () => {
    const same = await verdict(open, 'GET http://api.EXAMPLE.com/v1 HTTP/1.1\r\nHost: Api.example.COM');
    expect(same.v.result).toEqual({ authority: 'api.EXAMPLE.com', target: '/v1' });
    const other = await verdict(open, 'GET http://api.example.com/v1 HTTP/1.1\r\nHost: evil.example');
    expectRefusal(other, 'invalid-host', 400, 'The request target names another host');
  });
});

describe('closeAfterAccepted', () => {
  it('false while the request in flight is still being received (its body is incomplete)', async () => {
    let answer: boolean | undefined;
    handle = (req, res) => {
      answer = closeAfterAccepted(req.socket);
      req.resume();
      req.on('end', () => res.end('ok'));
    };
    const ex = await rawExchange(url, 'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab', 300);
    expect(answer).toBe(false);
    expect(ex.responses).toHaveLength(0);
  });

  it('false on a socket with no response in flight', async () => {
    let answer: boolean | undefined;
    handle = (req, res) => {
      res.end('ok');
      res.on('finish', () => {
        answer = closeAfterAccepted(req.socket);
      });
    };
    const ex = await rawExchange(url, 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n', 300);
    expect(ex.responses[0]!.status).toBe(200);
    expect(answer).toBe(false);
  });

  it('after an accepted request whose head is already sent keep-alive: the answer completes, then the server closes', async () => {
    let answer: boolean | undefined;
    handle = (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.flushHeaders(); // the head says keep-alive; only the socket's end can close now
      req.resume();
      req.on('end', () => {
        answer = closeAfterAccepted(req.socket);
        res.end('done');
      });
    };
    // A generous idle window: the close must come from the server, not from the wait.
    const ex = await rawExchange(url, 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n', 5000);
    expect(answer).toBe(true);
    expect(ex.responses).toHaveLength(1);
    expect(ex.responses[0]!.headers.connection).toBe('keep-alive');
    expect(ex.responses[0]!.body).toBe('done');
    expect(ex.closedByServer).toBe(true);
  });

  it('after an accepted request whose head is not sent: it says Connection: close', async () => {
    handle = (req, res) => {
      req.resume();
      req.on('end', () => {
        closeAfterAccepted(req.socket);
        res.end('done');
      });
    };
    const ex = await rawExchange(url, 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n', 5000);
    expect(ex.responses[0]!.headers.connection).toBe('close');
    expect(ex.closedByServer).toBe(true);
  });
});
