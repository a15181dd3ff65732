/**
 * Loading `node:async_hooks` switches Node 24's async context frames (what its
 * `AsyncLocalStorage` is built on) from the inactive implementation to the active one, once
 * per process. Typhoon uses neither; it loads the module for what the switch does to every
 * `process.nextTick` and tick run: with the inactive frames still in place, node's tick queue
 * reads the frame class's methods through V8's generic property lookup on every tick. A raw
 * node:http server answering a keep-alive GET cost 50 000 instructions per request without the
 * import and 42 600 with it (callgrind, 64 connections, after 20 000 warm-up requests), and a
 * typhoon server pays the same toll until it is loaded. Node 22, where the frames are off by
 * default, is unaffected either way.
 *
 * Layer 0.
 * @module
 */
import 'node:async_hooks';
