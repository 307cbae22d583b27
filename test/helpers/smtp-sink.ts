/**
 * A small real SMTP server on loopback (RFC 5321 subset: EHLO/HELO, MAIL, RCPT, DATA
 * with dot-unstuffing, RSET, NOOP, QUIT) that keeps every message it accepts. For
 * testing the e-mail notifier against a real protocol peer. `failNext` answers the next
 * MAIL FROM with a 451 (temporary failure) to exercise retries.
 *
 * With a certificate it speaks TLS: `tls: 'implicit'` (port-465 style: TLS from the first
 * byte) or `tls: 'starttls'` (RFC 3207: STARTTLS offered in EHLO, the same socket upgraded).
 * `AUTH PLAIN` is accepted and recorded with whether the connection was encrypted then.
 * `throwAwayCa` makes a private CA and a relay certificate it signed (openssl), for relays
 * that are trusted through the notifier's `ca:` file rather than the system roots.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';

export interface SmtpMessage {
  from: string;
  to: string[];
  data: string;
}

export interface SmtpSink {
  port: number;
  messages: SmtpMessage[];
  /** AUTH PLAIN credentials seen, and whether the connection was TLS at that moment. */
  logins: { user: string; password: string; encrypted: boolean }[];
  /** Connections that completed a TLS handshake (implicit or STARTTLS). */
  handshakes: number;
  /** TCP connections accepted (whatever happened next). */
  connections: number;
  failNext: number;
  close(): Promise<void>;
}

export interface SmtpSinkOptions {
  tls?: 'implicit' | 'starttls';
  key?: string;
  cert?: string;
}

export async function startSmtpSink(opts: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const sockets = new Set<net.Socket>();
  const sink: SmtpSink = {
    port: 0,
    messages: [],
    logins: [],
    handshakes: 0,
    connections: 0,
    failNext: 0,
    close: async () => undefined,
  };
  const secure = { key: opts.key, cert: opts.cert, minVersion: 'TLSv1.2' as const };
  const session = (raw: net.Socket, encryptedFromStart: boolean) => {
    let socket: net.Socket = raw;
    let encrypted = encryptedFromStart;
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    socket.setEncoding('utf8');
    let buf = '';
    let inData = false;
    let data: string[] = [];
    let from = '';
    let to: string[] = [];
    const say = (line: string) => socket.write(line + '\r\n');
    say('220 sink.test ESMTP ready');
    const onData = (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\r\n')) !== -1) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            sink.messages.push({ from, to, data: data.join('\r\n') });
            data = [];
            say('250 2.0.0 queued');
          } else data.push(line.startsWith('..') ? line.slice(1) : line);
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO')
          socket.write(
            `250-sink.test\r\n250-8BITMIME\r\n${opts.tls === 'starttls' && !encrypted ? '250-STARTTLS\r\n' : ''}${encrypted ? '250-AUTH PLAIN\r\n' : ''}250 SIZE 1000000\r\n`,
          );
        else if (line.toUpperCase() === 'STARTTLS' && opts.tls === 'starttls' && !encrypted) {
          say('220 2.0.0 ready to start TLS');
          // RFC 3207: the upgraded connection starts afresh (anything buffered is discarded).
          buf = '';
          socket.off('data', onData);
          const up = new tls.TLSSocket(socket, { isServer: true, ...secure });
          up.once('secure', () => {
            sink.handshakes++;
            encrypted = true;
          });
          up.setEncoding('utf8');
          up.on('data', onData);
          up.on('error', () => raw.destroy());
          socket = up;
          return;
        } else if (verb === 'AUTH') {
          const m = /^AUTH PLAIN (\S+)$/i.exec(line);
          const parts = m ? Buffer.from(m[1]!, 'base64').toString('utf8').split('\u0000') : [];
          sink.logins.push({ user: parts[1] ?? '', password: parts[2] ?? '', encrypted });
          say(encrypted ? '235 2.7.0 authenticated' : '538 5.7.11 encryption required');
        } else if (verb === 'HELO') say('250 sink.test');
        else if (verb === 'MAIL') {
          if (sink.failNext > 0) {
            sink.failNext--;
            say('451 4.3.0 try again later');
            continue;
          }
          from = /<([^>]*)>/.exec(line)?.[1] ?? '';
          to = [];
          say('250 2.1.0 ok');
        } else if (verb === 'RCPT') {
          to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
          say('250 2.1.5 ok');
        } else if (verb === 'DATA') {
          inData = true;
          say('354 end with <CRLF>.<CRLF>');
        } else if (verb === 'RSET' || verb === 'NOOP') say('250 ok');
        else if (verb === 'QUIT') {
          say('221 bye');
          socket.end();
        } else say('502 5.5.2 command not implemented');
      }
    };
    socket.on('data', onData);
  };
  const server =
    opts.tls === 'implicit'
      ? tls.createServer(secure, (s) => {
          sink.handshakes++;
          session(s, true);
        })
      : net.createServer((s) => session(s, false));
  server.on('connection', () => sink.connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  sink.port = (server.address() as AddressInfo).port;
  sink.close = () => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(() => r()));
  };
  return sink;
}

export interface ThrowAwayCa {
  /** The CA certificate file (what a notifier's `ca:` names). */
  caFile: string;
  /** PEM of the relay's key and of its certificate, signed by the CA, for localhost and 127.0.0.1. */
  key: string;
  cert: string;
}

/** A private CA and one relay certificate it signed, written under `dir` (openssl, EC P-256, one day). */
export function throwAwayCa(dir: string): ThrowAwayCa {
  const f = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f('ca.key'));
  ssl(
    'req',
    '-x509',
    '-new',
    '-key',
    f('ca.key'),
    '-sha256',
    '-days',
    '1',
    '-subj',
    '/CN=Rampart test CA',
    '-out',
    f('ca.pem'),
  );
  ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f('relay.key'));
  ssl('req', '-new', '-key', f('relay.key'), '-subj', '/CN=localhost', '-out', f('relay.csr'));
  writeFileSync(
    f('relay.ext'),
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n',
  );
  ssl(
    'x509',
    '-req',
    '-in',
    f('relay.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-sha256',
    '-extfile',
    f('relay.ext'),
    '-out',
    f('relay.pem'),
  );
  return {
    caFile: f('ca.pem'),
    key: readFileSync(f('relay.key'), 'utf8'),
    cert: readFileSync(f('relay.pem'), 'utf8'),
  };
}
