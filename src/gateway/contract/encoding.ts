/**
 * Content codings of an upstream answer (RFC 9110 §8.4.1: gzip, deflate, br; `x-gzip` as
 * gzip), undone so the contract policies check and minimise the representation itself
 * instead of refusing it as unreadable. Bounded: the decoded size may not pass the 8 MiB
 * inspection limit (zlib stops at `maxOutputLength`, so a zip bomb costs at most that much
 * memory and the CPU to produce it), and a corrupt stream is a failure, never a crash.
 * Codings listed in order of application are undone in reverse. The decoded answer leaves
 * the gateway as identity (the encoding and any ETag of the encoded bytes are dropped):
 * re-compressing would cost CPU on every answer for bandwidth on loopback-near clients.
 */
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import type { OutgoingHttpHeaders } from 'node:http';
import { MAX_INSPECTED_RESPONSE_BYTES } from '../upstream.ts';

export type Decoded =
  | { ok: true; body: Buffer; decoded: boolean }
  | { ok: false; reason: 'unsupported' | 'too-large' | 'corrupt'; detail: string };

function codings(header: unknown): string[] {
  const raw = Array.isArray(header) ? header.join(',') : typeof header === 'string' ? header : '';
  return raw
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
}

/** True when the answer carries a content coding other than identity. */
export function isEncoded(headers: OutgoingHttpHeaders | Record<string, unknown>): boolean {
  const h = headers['content-encoding'];
  return h !== undefined && codings(h).length > 0;
}

/**
 * The body with every content coding undone, at most `limit` bytes.
 * @example
 * decodeContent(gzipSync('{"a":1}'), 'gzip') // { ok: true, body: <Buffer 7b 22 …>, decoded: true }
 */
export function decodeContent(
  body: Buffer,
  encoding: unknown,
  limit = MAX_INSPECTED_RESPONSE_BYTES,
): Decoded {
  const list = codings(encoding);
  if (list.length === 0) return { ok: true, body, decoded: false };
  if (list.length > 3) return { ok: false, reason: 'unsupported', detail: 'more than three content codings' };
  let out = body;
  for (const c of list.reverse()) {
    const opts = { maxOutputLength: limit };
    try {
      if (c === 'gzip' || c === 'x-gzip') out = gunzipSync(out, opts);
      else if (c === 'br') out = brotliDecompressSync(out, opts);
      else if (c === 'deflate') {
        // RFC 9110 deflate is zlib-wrapped; some servers send raw deflate.
        try {
          out = inflateSync(out, opts);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw err;
          out = inflateRawSync(out, opts);
        }
      } else return { ok: false, reason: 'unsupported', detail: `content coding '${c}' cannot be decoded` };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError)
        return { ok: false, reason: 'too-large', detail: `the decoded body is over ${limit} bytes` };
      return { ok: false, reason: 'corrupt', detail: `the ${c} stream is corrupt` };
    }
  }
  return { ok: true, body: out, decoded: true };
}

/**
 * Replaces an encoded answer's body by its decoded bytes in place (headers made true:
 * no Content-Encoding, the new Content-Length, no ETag of the encoded bytes). Returns the
 * failure when it cannot be decoded; the answer is then left as it was.
 */
export function decodeAnswer(answer: {
  headers: OutgoingHttpHeaders | Record<string, string | string[] | number | undefined>;
  body: Buffer | undefined;
}): Extract<Decoded, { ok: false }> | undefined {
  const body = answer.body;
  if (body === undefined || !isEncoded(answer.headers)) return undefined;
  const d = decodeContent(body, answer.headers['content-encoding']);
  if (!d.ok) return d;
  answer.body = d.body;
  delete answer.headers['content-encoding'];
  delete answer.headers.etag;
  answer.headers['content-length'] = String(d.body.length);
  return undefined;
}
