/**
 * The README's first application: a JSON hello, a path argument, and a coroutine handler.
 *
 * Run it: `node examples/hello.ts` (serves on http://127.0.0.1:8888 until Ctrl-C).
 */
import { Application, RequestHandler } from '../src/web/index.ts';
import { sleep } from '../src/gen.ts';

class MainHandler extends RequestHandler {
  override get() {
    this.write({ hello: 'world' });
  }
}

class GreetHandler extends RequestHandler {
  // Positional groups of the route become the method's arguments.
  override async get(name: string) {
    await sleep(10); // any awaitable: a fetch, a query, a Future
    this.write(`Hello, ${name}!\n`);
  }
}

/** Build the application (tests start it on a free port). */
export function makeHelloApp(): Application {
  return new Application([
    ['/', MainHandler],
    ['/greet/([a-z]+)', GreetHandler],
  ]);
}

if (import.meta.filename === process.argv[1]) {
  const server = await makeHelloApp().listen(8888, '127.0.0.1');
  console.log('listening on http://127.0.0.1:8888/');
  process.on('SIGINT', () => void server.stop().then(() => process.exit(0)));
}
