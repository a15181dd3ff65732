"""Python Tornado 6 peer for typhoon's HTTP and long-poll benchmarks (one process).

Endpoints, as every peer serves them:
  GET /hello   -> "Hello, world"
  GET /json    -> a small JSON document
  POST /echo   -> the request body back
  GET /poll    -> held until POST /publish; the waiter is dropped when its client goes away
  POST /publish, GET /stats ({"waiters": n}), POST /gc (gc.collect())

Usage: python3 bench/peers/tornado_server.py PORT   -> prints "listening PORT" when ready.
Exits when its stdin closes, so it never outlives the benchmark that started it.
"""

import asyncio
import gc
import os
import sys
import threading

import tornado.httpserver
import tornado.ioloop
import tornado.netutil
import tornado.web

JSON_DOC = {"message": "Hello, world", "id": 42, "tags": ["fast", "async", "typed"]}
waiters = set()


class HelloHandler(tornado.web.RequestHandler):
    def get(self):
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        self.write("Hello, world")


class JsonHandler(tornado.web.RequestHandler):
    def get(self):
        self.write(JSON_DOC)


class EchoHandler(tornado.web.RequestHandler):
    def post(self):
        self.set_header("Content-Type", "application/octet-stream")
        self.write(self.request.body)


class PollHandler(tornado.web.RequestHandler):
    async def get(self):
        self.waiter = asyncio.get_running_loop().create_future()
        waiters.add(self.waiter)
        try:
            message = await self.waiter
        except asyncio.CancelledError:
            return
        self.write(message)

    def on_connection_close(self):
        waiter = getattr(self, "waiter", None)
        if waiter is not None:
            waiters.discard(waiter)
            waiter.cancel()


class PublishHandler(tornado.web.RequestHandler):
    def post(self):
        released = list(waiters)
        waiters.clear()
        for waiter in released:
            if not waiter.done():
                waiter.set_result({"message": "published"})
        self.write({"released": len(released)})


class StatsHandler(tornado.web.RequestHandler):
    def get(self):
        self.write({"waiters": len(waiters)})


class GcHandler(tornado.web.RequestHandler):
    def post(self):
        gc.collect()
        self.write("ok")


def watch_parent():
    # The parent holds our stdin open; end-of-file means it has gone.
    try:
        sys.stdin.buffer.read()
    finally:
        os._exit(0)


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    app = tornado.web.Application(
        [
            (r"/hello", HelloHandler),
            (r"/json", JsonHandler),
            (r"/echo", EchoHandler),
            (r"/poll", PollHandler),
            (r"/publish", PublishHandler),
            (r"/stats", StatsHandler),
            (r"/gc", GcHandler),
        ]
    )
    sockets = tornado.netutil.bind_sockets(port, "127.0.0.1", backlog=511)
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    threading.Thread(target=watch_parent, daemon=True).start()
    print("listening %d" % sockets[0].getsockname()[1], flush=True)
    tornado.ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
