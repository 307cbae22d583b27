import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkOutboundUrl, isPublicAddress, pinnedAgent, type Resolve } from './ssrf.ts';

describe('isPublicAddress', () => {
  it.each([
    ['127.0.0.1', false],
    ['127.1.2.3', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['172.31.255.255', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['224.0.0.1', false],
    ['::1', false],
    ['::', false],
    ['fe80::1', false],
    ['fd00::1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:10.0.0.1', false],
    ['8.8.8.8', true],
    ['1.1.1.1', true],
    ['172.32.0.1', true],
    ['2606:4700:4700::1111', true],
    ['not-an-ip', false],
  ])('%s → %s', (ip, expected) => {
    expect(isPublicAddress(ip)).toBe(expected);
  });
});

describe('checkOutboundUrl', () => {
  it.each([
    'file:///etc/passwd',
    'gopher://127.0.0.1:6379/_INFO',
    'ftp://example.org/x',
    'not a url',
    'http://127.0.0.1:9000/',
    'http://[::1]/',
    'http://169.254.169.254/latest/meta-data/',
    'http://0x7f000001/',
    'http://2130706433/',
    'http://localhost/',
    'http://user:pw@example.org/',
  ])('refuses %s', async (url) => {
    await expect(checkOutboundUrl(url, [])).rejects.toMatchObject({ code: 'validation-failed' });
  });

  it('accepts an allow-listed host:port even on loopback', async () => {
    expect((await checkOutboundUrl('http://127.0.0.1:4567/a.png', ['127.0.0.1:4567'])).href).toBe(
      'http://127.0.0.1:4567/a.png',
    );
    await expect(checkOutboundUrl('http://127.0.0.1:4568/a.png', ['127.0.0.1:4567'])).rejects.toThrow();
  });
});

describe('pinnedAgent: addresses checked again at connect time (DNS rebinding)', () => {
  let internal: http.Server;
  let port = 0;
  let hits = 0;
  beforeAll(async () => {
    internal = http.createServer((_req, res) => {
      hits++;
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end('internal secret');
    });
    await new Promise<void>((r) => internal.listen(0, '127.0.0.1', r));
    port = (internal.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => internal.close(() => r())));

  it('refuses a name that resolved to a public address at check time and to loopback at connect time', async () => {
    // A rebinding DNS server: the first answer is public, every later one internal.
    let answers = 0;
    const rebinding: Resolve = async () => (answers++ === 0 ? ['93.184.216.34'] : ['127.0.0.1']);
    const url = `http://images.rebind.example:${port}/a.png`;
    await expect(checkOutboundUrl(url, [], rebinding)).resolves.toBeInstanceOf(URL);
    const agent = pinnedAgent([], rebinding);
    try {
      const err = await fetch(url, { dispatcher: agent }).then(
        () => undefined,
        (e: Error & { cause?: { code?: string } }) => e,
      );
      expect(err?.cause?.code).toBe('ERR_SSRF_BLOCKED');
      expect(hits).toBe(0);
    } finally {
      await agent.close();
    }
  });

  it('connects to exactly the checked addresses, and to allow-listed hosts on private ones', async () => {
    const agent = pinnedAgent([`images.internal.example:${port}`], async () => ['127.0.0.1']);
    try {
      const res = await fetch(`http://images.internal.example:${port}/a.png`, { dispatcher: agent });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('internal secret');
      expect(hits).toBe(1);
    } finally {
      await agent.close();
    }
  });
});
