/**
 * The e-mail notifier as rampart.yaml configures it, against the real SMTP sink on loopback:
 * a relay whose certificate a throw-away private CA signed (openssl) is trusted through
 * `ca: ./ca.pem` for STARTTLS and implicit TLS, and not without it; `rampart check` says at
 * the option's line when the CA file is missing, unreadable or not PEM; and the SSRF guard
 * the HTTP receivers use refuses a relay on a private, loopback, link-local, CGNAT or
 * IPv4-mapped address — by literal, by DNS answer, and by a DNS answer that changes between
 * the check and the connection — unless the notifier says `allowPrivate: true`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../src/cli/app.ts';
import type { CommandIO } from '../../src/cli/command.ts';
import { main } from '../../src/cli/main.ts';
import { ManualClock } from '../../src/core/clock.ts';
import type { Resolve } from '../../src/core/ssrf.ts';
import { buildNotifier } from '../../src/monitor/index.ts';
import type { Alert } from '../../src/monitor/rules/engine.ts';
import { startSmtpSink, throwAwayCa, type SmtpSink, type ThrowAwayCa } from '../helpers/smtp-sink.ts';

const dir = mkdtempSync(join(tmpdir(), 'rampart-smtp-relay-'));
const sinks: SmtpSink[] = [];
let ca: ThrowAwayCa;

const alert: Alert = {
  fingerprint: '0123456789abcdef',
  rule: 'failed-logins',
  severity: 'critical',
  state: 'firing',
  labels: { alertname: 'failed-logins', severity: 'critical' },
  summary: '50 failed logins in 1m',
  value: 50,
  threshold: 50,
  startsAt: Date.UTC(2026, 0, 1),
};

beforeAll(() => {
  ca = throwAwayCa(dir);
});
afterAll(async () => {
  for (const s of sinks) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function sink(tls: 'implicit' | 'starttls' | undefined) {
  const s = await startSmtpSink(tls ? { tls, key: ca.key, cert: ca.cert } : {});
  sinks.push(s);
  return s;
}

/** A rampart.yaml with one e-mail notifier (its lines as given), read as `start` reads it. */
function configFile(name: string, notifier: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `store: 'sqlite::memory:'
monitor:
  notifiers:
    - type: email
      name: mail
      from: rampart@example.test
      to: [ops@example.test]
${notifier
  .trim()
  .split('\n')
  .map((l) => '      ' + l)
  .join('\n')}
apis: []
`,
  );
  return file;
}

async function notifierFrom(file: string, resolve?: Resolve) {
  const { config } = await readConfig(file);
  return buildNotifier(config.monitor.notifiers[0]!, new ManualClock(), 'http://127.0.0.1', resolve);
}

async function check(file: string): Promise<{ code: number; err: string }> {
  const lines: string[] = [];
  const io: CommandIO = { out: (l) => lines.push(l), err: (l) => lines.push(l) };
  const code = await main(['check', '-c', file], io);
  return { code, err: lines.join('\n') };
}

describe('e-mail relay with a private CA (ca: in rampart.yaml)', () => {
  it('STARTTLS and implicit TLS verify the relay against the configured CA file', async () => {
    const st = await sink('starttls');
    const file = configFile(
      'ca-starttls',
      `host: 127.0.0.1\nport: ${st.port}\nsecurity: starttls\nca: ./ca.pem\nallowPrivate: true`,
    );
    expect((await check(file)).code).toBe(0);
    await (await notifierFrom(file)).send(alert, { id: 'ca-1', attempt: 1 });
    expect(st.handshakes).toBe(1);
    expect(st.messages).toHaveLength(1);

    const imp = await sink('implicit');
    const byName = configFile(
      'ca-implicit',
      `host: localhost\nport: ${imp.port}\nsecurity: tls\nca: ./ca.pem\nallowPrivate: true`,
    );
    await (await notifierFrom(byName)).send(alert, { id: 'ca-2', attempt: 1 });
    expect(imp.messages).toHaveLength(1);
    expect(imp.messages[0]!.data).toContain('Message-ID: <ca-2@rampart>');
  });

  it('without the CA file the same relay is not trusted (system roots only)', async () => {
    const st = await sink('starttls');
    const file = configFile('no-ca', `host: 127.0.0.1\nport: ${st.port}\nallowPrivate: true`);
    await expect((await notifierFrom(file)).send(alert, { id: 'no-ca', attempt: 1 })).rejects.toMatchObject({
      message: expect.stringMatching(/^SMTP STARTTLS: .*unable to verify the first certificate/),
    });
    expect(st.messages).toHaveLength(0);
  });

  it('rampart check refuses a CA file that is missing, unreadable or not PEM, at its line', async () => {
    mkdirSync(join(dir, 'a-directory'), { recursive: true });
    writeFileSync(join(dir, 'key-only.pem'), ca.key);
    writeFileSync(
      join(dir, 'broken.pem'),
      '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n',
    );
    const cases: Array<[string, RegExp]> = [
      ['./missing.pem', /CA file not found: .*missing\.pem/],
      ['./a-directory', /cannot read the CA file .*a-directory: EISDIR/],
      ['./key-only.pem', /not a PEM certificate: .*key-only\.pem \(no -----BEGIN CERTIFICATE----- block\)/],
      ['./broken.pem', /not a PEM certificate: .*broken\.pem \(/],
    ];
    for (const [path, message] of cases) {
      const file = configFile('bad-ca', `host: smtp.example.com\nca: ${path}`);
      const r = await check(file);
      expect(r.code).toBe(1);
      // file:line:column of the `ca:` value (line 9 of the generated file).
      expect(r.err).toMatch(new RegExp(`bad-ca\\.yaml:9:\\d+.*${message.source}`));
      await expect(
        readConfig(file).then((c) => buildNotifier(c.config.monitor.notifiers[0]!, new ManualClock(), '')),
      ).rejects.toThrow(message);
    }
  });
});

describe('the SSRF guard on SMTP relays', () => {
  it('refuses a relay on a non-public address before connecting, and does not retry', async () => {
    const st = await sink(undefined);
    const literal = configFile('ssrf-literal', `host: 127.0.0.1\nport: ${st.port}\nsecurity: none`);
    await expect((await notifierFrom(literal)).send(alert, { id: 's-1', attempt: 1 })).rejects.toMatchObject({
      message: expect.stringMatching(
        /^SMTP relay refused by the SSRF guard: host '127\.0\.0\.1' is not a public address/,
      ),
      retry: false,
    });
    const named = configFile('ssrf-named', `host: relay.example.com\nport: ${st.port}\nsecurity: none`);
    for (const answer of [
      '10.1.2.3',
      '169.254.169.254',
      '100.64.0.1',
      '::ffff:127.0.0.1',
      'fd00::1',
      '127.0.0.1',
    ]) {
      const n = await notifierFrom(named, async () => [answer]);
      await expect(n.send(alert, { id: `s-${answer}`, attempt: 1 }), answer).rejects.toMatchObject({
        message: expect.stringMatching(/SSRF guard: host 'relay\.example\.com' is not a public address/),
        retry: false,
      });
    }
    expect(st.connections).toBe(0);
    expect(st.messages).toHaveLength(0);
  });

  it('checks again when the socket connects: a DNS answer that turns private in between is refused', async () => {
    const st = await sink(undefined);
    const named = configFile('ssrf-rebind', `host: relay.example.com\nport: ${st.port}\nsecurity: none`);
    const answers = [['93.184.216.34'], ['127.0.0.1']];
    const n = await notifierFrom(named, async () => answers.shift() ?? ['127.0.0.1']);
    await expect(n.send(alert, { id: 'rebind', attempt: 1 })).rejects.toMatchObject({
      message: expect.stringMatching(/refused to connect to relay\.example\.com: not a public address/),
    });
    expect(answers).toHaveLength(0); // resolved twice: at the check and at connect
    expect(st.connections).toBe(0);
  });

  it('allowPrivate: true lets a relay inside the network through', async () => {
    const st = await sink(undefined);
    const file = configFile(
      'ssrf-allowed',
      `host: 127.0.0.1\nport: ${st.port}\nsecurity: none\nallowPrivate: true`,
    );
    await (await notifierFrom(file)).send(alert, { id: 'inside', attempt: 1 });
    expect(st.messages).toHaveLength(1);
  });
});
