/**
 * The e-mail notifier over TLS against a real SMTP server written in the test helper
 * (node:net + node:tls, certificate generated with `selfsigned`): STARTTLS (RFC 3207) with
 * AUTH PLAIN only after the upgrade, implicit TLS (port-465 style), the relay's certificate
 * verified (an untrusted one refused, the right CA accepted, a wrong name refused), and a
 * relay that does not offer STARTTLS refused instead of downgrading to plain text.
 */
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmailNotifier, type EmailOptions } from '../../src/monitor/notifiers/email.ts';
import type { Alert } from '../../src/monitor/rules/engine.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';

const T0 = Date.UTC(2026, 0, 1, 12);
const alert: Alert = {
  fingerprint: 'f00dfeedf00dfeed',
  rule: 'failed-logins-per-ip',
  severity: 'critical',
  state: 'firing',
  labels: { alertname: 'failed-logins-per-ip', severity: 'critical', ip: '10.0.0.9' },
  summary: '50 failed logins from 10.0.0.9 in 1m',
  description: 'One address keeps failing to sign in.',
  value: 50,
  threshold: 50,
  startsAt: T0,
};

let pem: { private: string; cert: string };
let other: { private: string; cert: string };
let misnamed: { private: string; cert: string };
const sinks: SmtpSink[] = [];

async function cert(cn: string, ip = true) {
  const now = Date.now();
  return generate([{ name: 'commonName', value: cn }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now - 60_000),
    notAfterDate: new Date(now + 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [{ type: 2, value: cn }, ...(ip ? [{ type: 7 as const, ip: '127.0.0.1' }] : [])],
      },
    ],
  });
}

beforeAll(async () => {
  [pem, other, misnamed] = await Promise.all([
    cert('localhost'),
    cert('elsewhere.test'),
    cert('elsewhere.test', false),
  ]);
});
afterAll(async () => {
  for (const s of sinks) await s.close();
});

async function sink(tls: 'implicit' | 'starttls' | undefined, pair = pem) {
  const s = await startSmtpSink(tls ? { tls, key: pair.private, cert: pair.cert } : {});
  sinks.push(s);
  return s;
}

const notifier = (port: number, over: Partial<EmailOptions>) =>
  new EmailNotifier(
    {
      name: 'mail',
      host: '127.0.0.1',
      port,
      security: 'starttls',
      from: 'rampart@example.test',
      to: ['ops@example.test'],
      minSeverity: 'warning',
      timeoutMs: 3000,
      ca: pem.cert,
      ...over,
    },
    () => T0,
  );

describe('e-mail over TLS (a real SMTP server with a generated certificate)', () => {
  it('STARTTLS: upgrades, verifies the relay, authenticates only over TLS, delivers', async () => {
    const s = await sink('starttls');
    await notifier(s.port, { username: 'alerts', password: 'relay-pass' }).send(alert, { id: 'st-1' });
    expect(s.handshakes).toBe(1);
    expect(s.logins).toEqual([{ user: 'alerts', password: 'relay-pass', encrypted: true }]);
    expect(s.messages).toHaveLength(1);
    expect(s.messages[0]!.data).toMatch(/^Subject: \[Rampart FIRING\] failed-logins-per-ip: /m);
  });

  it('implicit TLS: TLS from the first byte, then the same conversation', async () => {
    const s = await sink('implicit');
    await notifier(s.port, { security: 'tls', username: 'alerts', password: 'relay-pass' }).send(alert, {
      id: 'tls-1',
    });
    expect(s.handshakes).toBe(1);
    expect(s.logins[0]).toMatchObject({ encrypted: true });
    expect(s.messages[0]!.data).toContain('Message-ID: <tls-1@rampart>');
  });

  it('refuses a relay whose certificate is not trusted or names another host', async () => {
    const s = await sink('starttls');
    // Trusting another certificate: the relay's is not verified.
    await expect(notifier(s.port, { ca: other.cert }).send(alert, { id: 'x-1' })).rejects.toMatchObject({
      message: expect.stringMatching(/^SMTP STARTTLS: /),
    });
    const i = await sink('implicit');
    await expect(
      notifier(i.port, { security: 'tls', ca: other.cert }).send(alert, { id: 'x-2' }),
    ).rejects.toThrow(/SMTP/);
    // A trusted certificate that does not name the relay's address.
    const m = await sink('implicit', misnamed);
    await expect(
      notifier(m.port, { security: 'tls', ca: misnamed.cert }).send(alert, { id: 'x-3' }),
    ).rejects.toThrow(/does not match certificate's altnames/);
    // By name: SNI is sent and the name is checked (the certificate names localhost).
    await notifier(i.port, { security: 'tls', host: 'localhost' }).send(alert, { id: 'ok-1' });
    expect(i.messages).toHaveLength(1);
    expect(m.messages).toHaveLength(0);
    expect(s.messages).toHaveLength(0);
  });

  it('a relay that does not offer STARTTLS is refused, never used in plain text', async () => {
    const plain = await sink(undefined);
    await expect(
      notifier(plain.port, { username: 'alerts', password: 'relay-pass' }).send(alert, { id: 'p-1' }),
    ).rejects.toMatchObject({ message: 'SMTP relay does not offer STARTTLS', retry: false });
    expect(plain.logins).toHaveLength(0);
    expect(plain.messages).toHaveLength(0);
  });
});
