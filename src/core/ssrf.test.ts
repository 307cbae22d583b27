import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPublicAddress, outboundGuard, type Resolve } from './ssrf.ts';

describe('isPublicAddress', () => {
  it.each([
    ['100.127.255.254', false], // CGNAT
    ['169.254.169.254', false], // metadata
    ['fd00:ec2::254', false], // AWS IPv6 metadata (unique-local)
    ['::ffff:169.254.169.254', false],
    ['::ffff:7f00:1', false], // IPv4-mapped, hex form of 127.0.0.1
    ['0:0:0:0:0:ffff:10.0.0.1', false],
    ['64:ff9b::a00:1', false], // NAT64 of 10.0.0.1
    ['192.88.99.1', false],
    ['93.184.215.14', true],
  ])('%s → %s', (ip, expected) => expect(isPublicAddress(ip)).toBe(expected));
});

describe('outboundGuard.check', () => {
  const dns: Record<string, string[]> = {
    'public.example': ['93.184.215.14'],
    'internal.example': ['10.0.0.5'],
    'mixed.example': ['93.184.215.14', '127.0.0.1'],
    'cdn.example': ['93.184.215.14'],
    'img.cdn.example': ['93.184.215.14'],
  };
  const resolve: Resolve = async (h) => {
    const a = dns[h];
    if (!a) throw new Error('ENOTFOUND');
    return a;
  };
  it.each([
    ['ftp://public.example/', 'scheme'],
    ['http://user:pw@public.example/', 'credentials'],
    ['http://internal.example/', 'private-address'],
    ['http://mixed.example/', 'private-address'],
    ['http://[::ffff:127.0.0.1]/', 'private-address'],
    ['http://0x7f.1/', 'private-address'],
    ['http://nowhere.example/', 'unresolvable'],
    ['nope', 'invalid-url'],
  ])('%s → %s', async (url, reason) => {
    await expect(outboundGuard({ resolve }).check(url)).rejects.toMatchObject({
      name: 'SsrfBlocked',
      reason,
    });
  });
  it('host allow-list with wildcards and ports', async () => {
    const g = outboundGuard({
      resolve,
      allowHosts: ['*.cdn.example', 'public.example:8443'],
      schemes: ['https'],
    });
    await expect(g.check('https://img.cdn.example/a.png')).resolves.toMatchObject({
      addresses: ['93.184.215.14'],
    });
    await expect(g.check('https://cdn.example/a.png')).rejects.toMatchObject({ reason: 'host-not-allowed' });
    await expect(g.check('https://public.example:8443/')).resolves.toBeDefined();
    await expect(g.check('https://public.example/')).rejects.toMatchObject({ reason: 'host-not-allowed' });
    await expect(g.check('http://img.cdn.example/')).rejects.toMatchObject({ reason: 'scheme' });
  });
  it('allowPrivate exempts a named internal host:port only', async () => {
    const g = outboundGuard({ resolve, allowPrivate: ['internal.example:80'] });
    await expect(g.check('http://internal.example/')).resolves.toBeDefined();
    await expect(g.check('http://internal.example:81/')).rejects.toMatchObject({ reason: 'private-address' });
  });
});

describe('outboundGuard.agent pins addresses at connect time', () => {
  let server: http.Server;
  let port: number;
  let hits = 0;
  beforeAll(async () => {
    server = http.createServer((_q, s) => {
      hits++;
      s.end('internal');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('a rebinding DNS (public at check, loopback at connect) is refused at connect', async () => {
    let calls = 0;
    const rebinding: Resolve = async () => (calls++ === 0 ? ['93.184.215.14'] : ['127.0.0.1']);
    const g = outboundGuard({ resolve: rebinding });
    const { url } = await g.check(`http://rebind.example:${port}/`);
    const agent = g.agent();
    const before = hits;
    await expect(fetch(url, { dispatcher: agent, redirect: 'error' })).rejects.toThrow();
    expect(hits).toBe(before);
    await agent.close();
  });
  it('an allow-listed private host connects to the address it resolved', async () => {
    const g = outboundGuard({ resolve: async () => ['127.0.0.1'], allowPrivate: [`cdn.internal:${port}`] });
    const { url } = await g.check(`http://cdn.internal:${port}/`);
    const agent = g.agent();
    const r = await fetch(url, { dispatcher: agent, redirect: 'error' });
    expect(await r.text()).toBe('internal');
    await agent.close();
  });
});
