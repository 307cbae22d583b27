/**
 * A small real SMTP server on loopback (RFC 5321 subset: EHLO/HELO, MAIL, RCPT, DATA
 * with dot-unstuffing, RSET, NOOP, QUIT) that keeps every message it accepts. For
 * testing the e-mail notifier against a real protocol peer. `failNext` answers the next
 * MAIL FROM with a 451 (temporary failure) to exercise retries.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface SmtpMessage {
  from: string;
  to: string[];
  data: string;
}

export interface SmtpSink {
  port: number;
  messages: SmtpMessage[];
  failNext: number;
  close(): Promise<void>;
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const sockets = new Set<net.Socket>();
  const sink: SmtpSink = { port: 0, messages: [], failNext: 0, close: async () => undefined };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setEncoding('utf8');
    let buf = '';
    let inData = false;
    let data: string[] = [];
    let from = '';
    let to: string[] = [];
    const say = (line: string) => socket.write(line + '\r\n');
    say('220 sink.test ESMTP ready');
    socket.on('data', (chunk: string) => {
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
        if (verb === 'EHLO') socket.write('250-sink.test\r\n250-8BITMIME\r\n250 SIZE 1000000\r\n');
        else if (verb === 'HELO') say('250 sink.test');
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
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  sink.port = (server.address() as AddressInfo).port;
  sink.close = () => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(() => r()));
  };
  return sink;
}
