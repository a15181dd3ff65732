/**
 * The typhoon peer: the same endpoints as node-http-server.ts, written as a user would write
 * them with typhoon's `Application` and `RequestHandler`. The long poll is Tornado's chat-demo
 * shape: an `async get()` awaiting a Future that `onConnectionClose` cancels.
 *
 * Access logging is at info level, and the benchmark runs typhoon at `warning`, as Tornado
 * runs when nobody configured logging — neither server writes a line per request here.
 *
 * Usage: `node bench/peers/typhoon-server.ts PORT` → prints `listening PORT`.
 */
import { Future } from '../../src/concurrent.ts';
import { CancelledError } from '../../src/errors.ts';
import { configureLogging } from '../../src/log.ts';
import { Application, RequestHandler } from '../../src/web/index.ts';
import { announce, collectGarbage, exitWithParent, JSON_DOC, portArgument } from './child.ts';

configureLogging({ level: 'warning' });

const waiters = new Set<Future<string>>();

class HelloHandler extends RequestHandler {
  override get(): void {
    this.setHeader('Content-Type', 'text/plain; charset=UTF-8');
    this.write('Hello, world');
  }
}

class JsonHandler extends RequestHandler {
  override get(): void {
    this.write(JSON_DOC);
  }
}

class EchoHandler extends RequestHandler {
  override post(): void {
    this.setHeader('Content-Type', 'application/octet-stream');
    this.write(this.request.body);
  }
}

class PollHandler extends RequestHandler {
  #waiter: Future<string> | null = null;

  override async get(): Promise<void> {
    const waiter = new Future<string>();
    this.#waiter = waiter;
    waiters.add(waiter);
    let message: string;
    try {
      message = await waiter;
    } catch (error) {
      if (error instanceof CancelledError) return;
      throw error;
    }
    this.setHeader('Content-Type', 'application/json; charset=UTF-8');
    this.write(message);
  }

  override onConnectionClose(): void {
    if (this.#waiter === null) return;
    waiters.delete(this.#waiter);
    this.#waiter.cancel();
  }
}

class PublishHandler extends RequestHandler {
  override post(): void {
    const released = [...waiters];
    waiters.clear();
    const message = JSON.stringify({ message: 'published' });
    for (const waiter of released) if (!waiter.done()) waiter.setResult(message);
    this.write({ released: released.length });
  }
}

class StatsHandler extends RequestHandler {
  override get(): void {
    this.write({ waiters: waiters.size });
  }
}

class GcHandler extends RequestHandler {
  override post(): void {
    collectGarbage();
    this.write('ok');
  }
}

const app = new Application([
  ['/hello', HelloHandler],
  ['/json', JsonHandler],
  ['/echo', EchoHandler],
  ['/poll', PollHandler],
  ['/publish', PublishHandler],
  ['/stats', StatsHandler],
  ['/gc', GcHandler],
]);

exitWithParent();
const server = await app.listen(portArgument(), '127.0.0.1');
announce(server.address()?.port ?? 0);
