/**
 * HTTP load generation for the benchmarks: wrk (/usr/bin/wrk, a C load generator that costs
 * the server's core little) when installed, else autocannon's programmatic API. Either way the
 * server under test runs in another process, so it never shares this thread.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One load run. */
export interface LoadOptions {
  url: string;
  durationMs: number;
  /** Concurrent keep-alive connections. Default 64. */
  connections?: number;
  method?: 'GET' | 'POST';
  body?: Buffer;
  contentType?: string;
}

/** What a load run measured. */
export interface LoadResult {
  requestsPerSec: number;
  requests: number;
  /** Responses outside 2xx/3xx, plus connect/read/write/timeout errors. */
  failures: number;
  tool: 'wrk' | 'autocannon';
}

const WRK = '/usr/bin/wrk';

/** Which load generator {@link runLoad} uses. */
export function loadTool(): 'wrk' | 'autocannon' {
  return existsSync(WRK) ? 'wrk' : 'autocannon';
}

/** Run load against `url`; rejects if the tool fails or reports failed requests. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const result = loadTool() === 'wrk' ? await runWrk(options) : await runAutocannon(options);
  if (result.failures > 0) {
    throw new Error(`${options.url}: ${result.failures} failed requests of ${result.requests}`);
  }
  if (result.requests === 0) throw new Error(`${options.url}: no request completed`);
  return result;
}

async function runWrk(options: LoadOptions): Promise<LoadResult> {
  const seconds = Math.max(1, Math.round(options.durationMs / 1000));
  const args = ['-t1', `-c${options.connections ?? 64}`, `-d${seconds}s`];
  let dir: string | undefined;
  if (options.method === 'POST') {
    dir = mkdtempSync(join(tmpdir(), 'typhoon-wrk-'));
    const body = (options.body ?? Buffer.alloc(0)).toString('latin1');
    // A Lua long string cannot hold "]]"; the bodies used here are plain ASCII.
    if (body.includes(']]')) throw new Error('wrk body must not contain "]]"');
    const script = join(dir, 'post.lua');
    writeFileSync(
      script,
      `wrk.method = "POST"\nwrk.body = [[${body}]]\n` +
        `wrk.headers["Content-Type"] = "${options.contentType ?? 'application/octet-stream'}"\n`,
    );
    args.push('-s', script);
  }
  args.push(options.url);
  try {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(WRK, args, { timeout: seconds * 1000 + 15_000 }, (error, out, err) => {
        if (error) reject(new Error(`wrk failed: ${error.message}\n${err}`));
        else resolve(out);
      });
    });
    const rps = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
    const total = /(\d+) requests in/.exec(stdout);
    if (!rps || !total) throw new Error(`cannot parse wrk output:\n${stdout}`);
    let failures = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1] ?? 0);
    const socketErrors =
      /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
    // wrk counts the in-flight requests it abandons at the deadline as read errors on some
    // servers (they see the connection close); only connect/write/timeout errors are failures.
    if (socketErrors)
      failures += Number(socketErrors[1]) + Number(socketErrors[3]) + Number(socketErrors[4]);
    return { requestsPerSec: Number(rps[1]), requests: Number(total[1]), failures, tool: 'wrk' };
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

interface AutocannonResult {
  requests: { average: number; total: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}

async function runAutocannon(options: LoadOptions): Promise<LoadResult> {
  // autocannon ships no types; a non-literal specifier keeps tsc from looking for them.
  const specifier = 'autocannon';
  const mod = (await import(specifier)) as {
    default: (opts: Record<string, unknown>) => Promise<AutocannonResult>;
  };
  const opts: Record<string, unknown> = {
    url: options.url,
    connections: options.connections ?? 64,
    duration: Math.max(1, Math.round(options.durationMs / 1000)),
    method: options.method ?? 'GET',
  };
  if (options.body) {
    opts.body = options.body;
    opts.headers = { 'content-type': options.contentType ?? 'application/octet-stream' };
  }
  const r = await mod.default(opts);
  return {
    requestsPerSec: r.requests.total / r.duration,
    requests: r.requests.total,
    failures: r.non2xx + r.errors + r.timeouts,
    tool: 'autocannon',
  };
}
