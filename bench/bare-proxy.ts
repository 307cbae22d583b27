// The floor: a bare node:http reverse proxy over an undici Pool, no policies at all.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
// The same body pump as the gateway, so the floor is the best bare proxy, not a slower one.
import { pump } from '../src/gateway/upstream.ts';

const upstream = process.argv[2]!;
const pool = new Pool(upstream, { connections: 64, pipelining: 1 });
const HOP = new Set([
  'connection',
  'keep-alive',
  'host',
  'transfer-encoding',
  'te',
  'upgrade',
  'proxy-connection',
]);
const server = http.createServer(async (req, res) => {
  try {
    const headers: string[] = [];
    for (const k in req.headers) if (!HOP.has(k)) headers.push(k, String(req.headers[k]));
    const r = await pool.request({
      path: req.url!,
      method: req.method as 'GET',
      headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? null : req,
    });
    delete (r.headers as Record<string, unknown>)['connection'];
    delete (r.headers as Record<string, unknown>)['keep-alive'];
    res.writeHead(r.statusCode, r.headers as http.OutgoingHttpHeaders);
    pump(r.body, res);
  } catch {
    res.writeHead(502);
    res.end();
  }
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
