// A fast upstream for benchmarks: answers every request with the same ~1 KB JSON body.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const body = Buffer.from(
  JSON.stringify({
    items: Array.from({ length: 12 }, (_, i) => ({
      id: i + 1,
      name: `item-${i + 1}`,
      price: 10 + i,
      tags: ['a', 'b'],
    })),
  }).slice(0, 1000),
);
/** What ownership lookups (`GET /v2/owners/{id}`, the authz scenarios) read: the object's owner. */
const ownerBody = Buffer.from(JSON.stringify({ id: 1, ownerId: 'bench-user' }));
const server = http.createServer((req, res) => {
  // POST/PUT (the contract scenarios): echo the JSON body, so answers are as large as requests.
  const echo = req.method === 'POST' || req.method === 'PUT';
  const chunks: Buffer[] = [];
  if (echo) req.on('data', (c: Buffer) => chunks.push(c));
  else req.resume();
  req.on('end', () => {
    const out = echo ? Buffer.concat(chunks) : req.url!.startsWith('/v2/owners/') ? ownerBody : body;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': out.length });
    res.end(out);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
