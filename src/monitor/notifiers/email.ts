import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { outboundGuard, SsrfBlocked, type OutboundGuard, type Resolve } from '../../core/ssrf.ts';
import type { Alert } from '../rules/engine.ts';
import { slackText } from './slack.ts';
import { DeliveryError, severityAtLeast, type Notifier } from './types.ts';

export interface EmailOptions {
  name: string;
  host: string;
  port: number;
  /** `tls`: implicit TLS (port 465); `starttls`: upgrade after EHLO (587); `none`: plain (loopback relays only). */
  security: 'tls' | 'starttls' | 'none';
  username?: string;
  password?: string;
  from: string;
  to: string[];
  minSeverity: 'info' | 'warning' | 'critical';
  timeoutMs: number;
  /** Accept a self-signed relay certificate (tests). Default false. */
  insecureTls?: boolean;
  /** PEM of the CA (or the self-signed certificate) the relay's certificate is verified against, instead of the system roots. */
  ca?: string;
  /**
   * The SSRF guard (core/ssrf.ts) the relay must pass: its host is checked before connecting
   * and resolved again, checked and pinned when the socket connects. Without one (a relay
   * configured with `allowPrivate`), any address.
   */
  guard?: OutboundGuard;
}

/** The SSRF guard of an SMTP relay: public addresses only (the same ranges as every outbound call). */
export function relayGuard(resolve?: Resolve): OutboundGuard {
  return outboundGuard({ schemes: ['smtp'], ...(resolve ? { resolve } : {}) });
}

/**
 * Reads a private CA file (`ca:` of an e-mail notifier): the PEM text, or why it cannot be
 * used — missing, unreadable, or holding no parsable PEM certificate. `rampart check` reports
 * the reason at the option's line; `start` refuses the same way.
 */
export function readCaFile(path: string): { pem: string } | { error: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { error: `CA file not found: ${path}` };
    return { error: `cannot read the CA file ${path}: ${code ?? (err as Error).message}` };
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) return { error: `not a PEM certificate: ${path} (no -----BEGIN CERTIFICATE----- block)` };
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch (err) {
      return { error: `not a PEM certificate: ${path} (${(err as Error).message})` };
    }
  }
  return { pem: blocks.join('\n') + '\n' };
}

/** TLS client options for a relay: verified against `ca` or the system roots; SNI only for names (RFC 6066). */
function tlsOptions(o: Pick<EmailOptions, 'host' | 'insecureTls' | 'ca'>): tls.ConnectionOptions {
  return {
    host: o.host,
    ...(net.isIP(o.host) ? {} : { servername: o.host }),
    rejectUnauthorized: o.insecureTls !== true,
    ...(o.ca !== undefined ? { ca: o.ca } : {}),
  };
}

/** A line-oriented SMTP conversation (RFC 5321) with a deadline on every reply. */
class SmtpSession {
  private buf = '';
  private waiter: ((line: string) => void) | undefined;
  private failed: Error | undefined;
  constructor(
    private socket: net.Socket,
    private readonly timeoutMs: number,
  ) {
    this.attach(socket);
  }
  private attach(s: net.Socket): void {
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      this.buf += d;
      this.pump();
    });
    s.on('error', (err) => (this.failed = err));
    s.on('close', () => (this.failed ??= new Error('connection closed')));
  }
  private pump(): void {
    // A complete reply: last line "NNN text" (continuations are "NNN-text").
    const lines = this.buf.split('\r\n');
    for (let i = 0; i < lines.length - 1; i++) {
      if (/^\d{3} /.test(lines[i]!) || /^\d{3}$/.test(lines[i]!)) {
        const reply = lines.slice(0, i + 1).join('\n');
        this.buf = lines.slice(i + 1).join('\r\n');
        const w = this.waiter;
        this.waiter = undefined;
        w?.(reply);
        return;
      }
    }
  }
  reply(expect: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new DeliveryError('SMTP server did not answer in time', true)),
        this.timeoutMs,
      );
      this.waiter = (r) => {
        clearTimeout(timer);
        const code = Number(r.slice(0, 3));
        if (code === expect) resolve(r);
        else
          reject(new DeliveryError(`SMTP ${r.split('\n').pop()!.slice(0, 120)}`, code >= 400 && code < 500));
      };
      if (this.failed) {
        clearTimeout(timer);
        reject(new DeliveryError(`SMTP: ${this.failed.message}`, true));
      }
      this.pump();
    });
  }
  async cmd(line: string, expect: number): Promise<string> {
    this.socket.write(line + '\r\n');
    return this.reply(expect);
  }
  async upgrade(options: tls.ConnectionOptions): Promise<void> {
    this.socket.removeAllListeners('data');
    const secure = tls.connect({ ...options, socket: this.socket });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', (err) => reject(new DeliveryError(`SMTP STARTTLS: ${err.message}`, true)));
    });
    this.socket = secure;
    this.attach(secure);
  }
  end(): void {
    this.socket.end();
  }
}

function header(v: string): string {
  // No header injection: CR/LF never reach the message head.
  return v.replace(/[\r\n]+/g, ' ');
}

/** RFC 5322 message text with dot-stuffing (RFC 5321 4.5.2) and CRLF line ends. */
export function emailMessage(a: Alert, from: string, to: string[], date: Date, id: string): string {
  const subject = `[Rampart ${a.state.toUpperCase()}] ${a.rule}: ${a.summary}`;
  const body = [
    slackText(a).replace(/:[a-z_]+: /, ''),
    '',
    ...(a.description ? [a.description, ''] : []),
    `Started: ${new Date(a.startsAt).toISOString()}`,
    ...(a.endsAt !== undefined ? [`Ended: ${new Date(a.endsAt).toISOString()}`] : []),
    `Value: ${a.value}${a.threshold !== undefined ? ` (threshold ${a.threshold})` : ''}`,
    ...(a.explanation ? [`Explanation: ${JSON.stringify(a.explanation)}`] : []),
    `Fingerprint: ${a.fingerprint}`,
  ];
  const lines = [
    `From: ${header(from)}`,
    `To: ${to.map(header).join(', ')}`,
    `Subject: ${header(subject).slice(0, 200)}`,
    `Date: ${date.toUTCString()}`,
    `Message-ID: <${id}@rampart>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    ...body.flatMap((l) => l.split('\n')),
  ];
  return lines.map((l) => (l.startsWith('.') ? '.' + l : l)).join('\r\n');
}

/** E-mail through an SMTP relay (EHLO, optional STARTTLS and AUTH PLAIN over TLS). */
export class EmailNotifier implements Notifier {
  readonly type = 'email';
  readonly name: string;
  constructor(
    private readonly o: EmailOptions,
    private readonly now: () => number,
  ) {
    this.name = o.name;
  }
  wants(a: Alert): boolean {
    return severityAtLeast(a, this.o.minSeverity);
  }
  async send(a: Alert, d: { id: string }): Promise<void> {
    const o = this.o;
    if (o.guard) {
      try {
        await o.guard.check(`smtp://${net.isIPv6(o.host) ? `[${o.host}]` : o.host}:${o.port}`);
      } catch (err) {
        if (!(err instanceof SsrfBlocked)) throw err;
        throw new DeliveryError(
          `SMTP relay refused by the SSRF guard: ${err.message} (allowPrivate: true for an internal relay)`,
          false,
        );
      }
    }
    // Resolved again, checked and pinned when the socket connects (a DNS answer that changed since).
    const lookup = o.guard ? { lookup: o.guard.lookup } : {};
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s =
        o.security === 'tls'
          ? tls.connect({ ...tlsOptions(o), port: o.port, ...lookup })
          : net.connect({ host: o.host, port: o.port, ...lookup });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new DeliveryError('SMTP connect timed out', true));
      }, o.timeoutMs);
      s.once(o.security === 'tls' ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(new DeliveryError(`SMTP: ${err.message}`, true));
      });
    });
    const smtp = new SmtpSession(socket, o.timeoutMs);
    try {
      await smtp.reply(220);
      let ehlo = await smtp.cmd('EHLO rampart', 250);
      if (o.security === 'starttls') {
        if (!/STARTTLS/i.test(ehlo)) throw new DeliveryError('SMTP relay does not offer STARTTLS', false);
        await smtp.cmd('STARTTLS', 220);
        await smtp.upgrade(tlsOptions(o));
        ehlo = await smtp.cmd('EHLO rampart', 250);
      }
      if (o.username !== undefined) {
        if (o.security === 'none')
          throw new DeliveryError('refusing SMTP AUTH over a plain connection', false);
        const token = Buffer.from(`\u0000${o.username}\u0000${o.password ?? ''}`).toString('base64');
        await smtp.cmd(`AUTH PLAIN ${token}`, 235);
      }
      await smtp.cmd(`MAIL FROM:<${o.from}>`, 250);
      for (const rcpt of o.to) await smtp.cmd(`RCPT TO:<${rcpt}>`, 250);
      await smtp.cmd('DATA', 354);
      await smtp.cmd(emailMessage(a, o.from, o.to, new Date(this.now()), d.id) + '\r\n.', 250);
      await smtp.cmd('QUIT', 221).catch(() => undefined);
    } finally {
      smtp.end();
    }
  }
}
