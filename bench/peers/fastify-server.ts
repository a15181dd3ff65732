/**
 * The fastify peer for the HTTP benchmark: `GET /hello`, `GET /json`, `POST /echo` (see
 * node-http-server.ts for what each returns). Logging off, as a benchmark of the framework
 * rather than of its logger.
 *
 * Usage: `node bench/peers/fastify-server.ts PORT` → prints `listening PORT`.
 */
import Fastify from 'fastify';
import { announce, exitWithParent, JSON_DOC, portArgument } from './child.ts';

const app = Fastify({ logger: false });
// Take any body as raw bytes, so /echo returns exactly what it was sent.
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

app.get('/hello', async (_request, reply) => {
  await reply.type('text/plain; charset=UTF-8').send('Hello, world');
});
app.get('/json', async () => JSON_DOC);
app.post('/echo', async (request, reply) => {
  await reply.type('application/octet-stream').send(request.body as Buffer);
});

exitWithParent();
await app.listen({ port: portArgument(), host: '127.0.0.1', backlog: 511 });
const address = app.server.address();
announce(typeof address === 'object' && address ? address.port : 0);
