import { describe, expect, it } from 'vitest';
import { checkOutboundUrl, isPublicAddress } from './ssrf.ts';

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
