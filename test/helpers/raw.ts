import net from 'node:net';
import tls from 'node:tls';

/** One HTTP/1.x response read off a raw socket. */
export interface RawResponse {
  status: number;
  /** Lower-cased names; repeated fields joined with ", ". */
  headers: Record<string, string>;
  body: string;
}

export interface RawExchange {
  /** Everything the server sent, latin1. */
  text: string;
  /** The responses found in `text`, in order. */
  responses: RawResponse[];
  /** True when the server closed the connection (rather than the idle timer ending it). */
  closedByServer: boolean;
}

/**
 * Sends bytes the high-level clients refuse to send (pipelined garbage, duplicate Host,
 * absolute-form targets, thousands of header lines) over TLS — or plain TCP for an
 * `http:` URL — and collects everything until the server closes the connection or
 * `idleMs` passes without data.
 */
export function rawExchange(url: string, payload: string | Buffer, idleMs = 400): Promise<RawExchange> {
  const u = new URL(url);
  return new Promise((resolvePromise, reject) => {
    const port = Number(u.port);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const socket =
      u.protocol === 'https:'
        ? tls.connect({ host, port, rejectUnauthorized: false }, () => socket.write(payload))
        : net.connect({ host, port }, () => socket.write(payload));
    let text = '';
    let idle = false;
    let timer = setTimeout(stop, idleMs);
    function stop(): void {
      idle = true;
      socket.destroy();
    }
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      clearTimeout(timer);
      timer = setTimeout(stop, idleMs);
    });
    socket.on('error', (e) => {
      if (!text) reject(e);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolvePromise({ text, responses: parseResponses(text), closedByServer: !idle });
    });
  });
}

/** Splits a byte stream into HTTP/1.x responses (Content-Length or chunked bodies). */
export function parseResponses(text: string): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < text.length) {
    const headEnd = text.indexOf('\r\n\r\n', at);
    if (headEnd < 0) break;
    const lines = text.slice(at, headEnd).split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!);
    if (!m) break;
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      const name = line.slice(0, i).trim().toLowerCase();
      const value = line.slice(i + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    let bodyStart = headEnd + 4;
    let body = '';
    if (headers['transfer-encoding']?.includes('chunked')) {
      for (;;) {
        const sizeEnd = text.indexOf('\r\n', bodyStart);
        if (sizeEnd < 0) break;
        const size = parseInt(text.slice(bodyStart, sizeEnd), 16);
        bodyStart = sizeEnd + 2;
        if (!(size > 0)) {
          bodyStart += 2;
          break;
        }
        body += text.slice(bodyStart, bodyStart + size);
        bodyStart += size + 2;
      }
    } else {
      const length = Number(headers['content-length'] ?? 0);
      body = text.slice(bodyStart, bodyStart + length);
      bodyStart += length;
    }
    out.push({ status: Number(m[1]), headers, body });
    at = bodyStart;
  }
  return out;
}
