import { brotliCompressSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeAnswer, decodeContent } from './encoding.ts';

describe('content codings', () => {
  const json = Buffer.from('{"a":1}');
  it('identity and no coding pass the same buffer', () => {
    expect(decodeContent(json, undefined)).toEqual({ ok: true, body: json, decoded: false });
    expect(decodeContent(json, 'identity')).toEqual({ ok: true, body: json, decoded: false });
  });
  it('layered codings are undone in reverse order of application', () => {
    const d = decodeContent(gzipSync(brotliCompressSync(json)), 'br, gzip');
    expect(d).toMatchObject({ ok: true, decoded: true });
    expect((d as { body: Buffer }).body.toString()).toBe('{"a":1}');
  });
  it('bounded: a bomb stops at the limit; corrupt and unknown codings are failures, never throws', () => {
    const bomb = gzipSync(Buffer.alloc(4 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(10_000);
    expect(decodeContent(bomb, 'gzip', 1024 * 1024)).toEqual({
      ok: false,
      reason: 'too-large',
      detail: 'the decoded body is over 1048576 bytes',
    });
    expect(decodeContent(Buffer.from('nope'), 'gzip')).toMatchObject({ ok: false, reason: 'corrupt' });
    expect(decodeContent(json, 'zstd')).toMatchObject({
      ok: false,
      reason: 'unsupported',
      detail: "content coding 'zstd' cannot be decoded",
    });
    expect(decodeContent(json, 'gzip, gzip, gzip, gzip')).toMatchObject({ ok: false, reason: 'unsupported' });
  });
  it('decodeAnswer makes the headers true (no coding, new length, no ETag of the encoded bytes)', () => {
    const a = {
      headers: { 'content-encoding': 'gzip', etag: '"x"', 'content-length': '99', vary: 'accept-encoding' },
      body: gzipSync(json) as Buffer | undefined,
    };
    expect(decodeAnswer(a)).toBeUndefined();
    expect(a.headers).toEqual({ 'content-length': '7', vary: 'accept-encoding' });
    expect(a.body!.toString()).toBe('{"a":1}');
  });
});
