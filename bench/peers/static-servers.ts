/**
 * Static file peers for bench/static.bench.ts, one per process:
 * `node bench/peers/static-servers.ts KIND PORT DIR` serves DIR under `/static/` and prints
 * `listening PORT`. KIND is `typhoon` (StaticFileHandler through the `staticPath` setting),
 * `node:http` (the raw baseline: `fs.stat` then `fs.createReadStream(file).pipe(res)`, with
 * Content-Type and Content-Length, and no path checks at all) or `fastify` (@fastify/static).
 * Each exits when its parent goes away (see child.ts).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { announce, exitWithParent } from './child.ts';

const [kind, portText = '0', dir] = process.argv.slice(2);
const port = Number(portText);
if (dir === undefined || !Number.isInteger(port)) {
  console.error('usage: static-servers.ts typhoon|node:http|fastify PORT DIR');
  process.exit(2);
}
exitWithParent();

if (kind === 'typhoon') {
  const { Application } = await import('../../src/web/index.ts');
  const { configureLogging } = await import('../../src/log.ts');
  configureLogging({ level: 'warning' }); // no access line per request
  const server = await new Application([], { staticPath: dir }).listen(port, '127.0.0.1');
  announce(server.address()!.port);
} else if (kind === 'node:http') {
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const file = path.join(dir, url.slice('/static/'.length));
    fs.stat(file, (error, stats) => {
      if (error !== null || !stats.isFile()) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, {
        'Content-Type': 'application/octet-stream',
        'Content-Length': stats.size,
      });
      fs.createReadStream(file).pipe(res);
    });
  });
  server.listen(port, '127.0.0.1', 511, () => {
    const address = server.address();
    announce(typeof address === 'object' && address ? address.port : 0);
  });
} else if (kind === 'fastify') {
  const { default: Fastify } = await import('fastify');
  const { default: fastifyStatic } = await import('@fastify/static');
  const app = Fastify({ logger: false });
  await app.register(fastifyStatic, { root: path.resolve(dir), prefix: '/static/' });
  await app.listen({ port, host: '127.0.0.1' });
  const address = app.server.address();
  announce(typeof address === 'object' && address ? address.port : 0);
} else {
  console.error(`unknown kind ${String(kind)}`);
  process.exit(2);
}
