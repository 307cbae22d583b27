/**
 * Step 2 of the request path: the request body. Every body is read (bounded by
 * `limits.maxBodyBytes`, 413 beyond) before any policy runs, so no denial leaves an unread
 * body on a keep-alive connection and the upstream gets a Content-Length the gateway
 * computed. JSON is parsed lazily, once, when a policy first calls `ctx.json()`.
 */
import type { IncomingMessage } from 'node:http';
import { problem, ProblemError, type Problem } from '../core/errors.ts';

export function hasBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  if (cl !== undefined) return cl !== '0';
  // Without Content-Length or Transfer-Encoding a request has no body (RFC 9112 §6.3).
  return req.headers['transfer-encoding'] !== undefined;
}

/** Reads the whole body up to `max` bytes; 413 beyond (checked on Content-Length first). */
export function readBody(req: IncomingMessage, max: number): Promise<{ body?: Buffer; problem?: Problem }> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > max) {
    req.resume();
    return Promise.resolve({
      problem: problem('payload-too-large', { detail: `Request bodies are limited to ${max} bytes` }),
    });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > max) {
        done = true;
        resolve({
          problem: problem('payload-too-large', { detail: `Request bodies are limited to ${max} bytes` }),
        });
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!done) {
        done = true;
        resolve({ body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
      }
    });
    req.on('error', () => {
      if (!done) {
        done = true;
        resolve({ problem: problem('bad-request', { detail: 'The request body was cut short' }) });
      }
    });
  });
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** True for `application/json` and `application/<anything>+json` (parameters allowed). */
export function isJsonType(contentType: string | undefined): boolean {
  return contentType !== undefined && JSON_TYPE.test(contentType);
}

/**
 * Parses a JSON body (strict UTF-8). Throws a `ProblemError` `invalid-json` (400) whose
 * detail names a position, never content.
 */
export function parseJsonBody(body: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new ProblemError('invalid-json', 'The body is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    // JSON.parse messages name a position, not content: safe and useful to the client.
    throw new ProblemError('invalid-json', (err as Error).message.slice(0, 200));
  }
}
