// Raw HTTP over a socket for tests that must send exactly the bytes they mean (malformed
// requests, pipelining, slow clients), and read exactly what came back.
import * as net from 'node:net';
import {
  HTTPHeaders,
  type HTTPConnection,
  type HTTPServerConnectionDelegate,
  type HTTPServerRequest,
} from '../../src/httputil/index.ts';
import {
  addLogInterceptor,
  configureLogging,
  type LogRecord,
  type LoggerName,
} from '../../src/log.ts';

/** What a raw exchange produced. */
export interface RawResult {
  /** Everything the server sent, as latin1 text. */
  text: string;
  /** True if the server closed the connection (as opposed to our timeout ending the read). */
  closedByServer: boolean;
  /** The socket error, if one ended the exchange (e.g. ECONNRESET). */
  error?: string;
}

/** Options of {@link sendRaw}. */
export interface SendRawOptions {
  /** Stop reading after this many ms without the server closing. Default 2000. */
  timeout?: number;
  /** Resolve as soon as the received text matches. */
  until?: RegExp;
  /** Half-close our side after sending. Default false. */
  end?: boolean;
  /**
   * With `end`, half-close only once the server has gone quiet: `ms` after the last byte it
   * sent, or `ms * 10` after our last chunk when it sent nothing. A server (node's, Tornado's)
   * takes a client's FIN for its leaving and drops an answer not yet written, so a FIN sent
   * at once races an answer that takes a turn of the loop (a file stat).
   */
  endWhenQuiet?: number;
}

/**
 * Connect to 127.0.0.1:port, write each chunk in `chunks` (strings are latin1; a number means
 * "wait that many ms"), and collect the response until the server closes, `until` matches,
 * or `timeout` passes. Always destroys the socket at the end.
 */
export function sendRaw(
  port: number,
  chunks: string | Buffer | Array<string | Buffer | number>,
  options: SendRawOptions = {},
): Promise<RawResult> {
  const list = Array.isArray(chunks) ? chunks : [chunks];
  const timeout = options.timeout ?? 2000;
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const done = (closedByServer: boolean, error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const result: RawResult = { text, closedByServer };
      if (error !== undefined) result.error = error;
      resolve(result);
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => done(false), timeout);
    };
    let lastData = 0;
    socket.on('data', (data: Buffer) => {
      lastData = performance.now();
      text += data.toString('latin1');
      if (options.until?.test(text)) done(false);
      else arm();
    });
    socket.on('end', () => done(true));
    socket.on('close', () => done(true));
    socket.on('error', (e: NodeJS.ErrnoException) => done(true, e.code ?? e.message));
    socket.on('connect', async () => {
      arm();
      for (const chunk of list) {
        if (settled) return;
        if (typeof chunk === 'number') {
          await new Promise((r) => setTimeout(r, chunk));
          arm();
        } else {
          socket.write(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
        }
      }
      const quiet = options.endWhenQuiet;
      if (options.end && quiet !== undefined) {
        const sent = performance.now();
        for (;;) {
          await new Promise((r) => setTimeout(r, quiet));
          if (settled) return;
          const now = performance.now();
          if (lastData > 0 ? now - lastData >= quiet : now - sent >= quiet * 10) break;
        }
      }
      if (options.end) socket.end();
    });
  });
}

/** One parsed response from a raw byte stream. */
export interface ParsedResponse {
  status: number;
  reason: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * Split a raw stream into responses (Content-Length or chunked bodies; a response without
 * either takes the rest of the stream). Good enough for tests, not a general parser.
 */
export function parseResponses(text: string, headRequests = 0): ParsedResponse[] {
  const out: ParsedResponse[] = [];
  let rest = text;
  let heads = headRequests;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const lines = rest.slice(0, end).split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0]!);
    if (m === null) break;
    const headers: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      const name = line.slice(0, i).trim().toLowerCase();
      const value = line.slice(i + 1).trim();
      headers[name] = name in headers ? `${headers[name]!}, ${value}` : value;
    }
    rest = rest.slice(end + 4);
    const status = Number(m[1]);
    let body = '';
    const noBody = status === 304 || status === 204 || status < 200 || (heads > 0 && status >= 200);
    if (status >= 200 && heads > 0) heads--;
    if (noBody) {
      // nothing
    } else if (headers['transfer-encoding'] === 'chunked') {
      for (;;) {
        const lineEnd = rest.indexOf('\r\n');
        const size = parseInt(rest.slice(0, lineEnd), 16);
        rest = rest.slice(lineEnd + 2);
        if (size === 0) {
          rest = rest.slice(rest.indexOf('\r\n') + 2);
          break;
        }
        body += rest.slice(0, size);
        rest = rest.slice(size + 2);
      }
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      body = rest.slice(0, n);
      rest = rest.slice(n);
    } else {
      body = rest;
      rest = '';
    }
    out.push({ status, reason: m[2]!, headers, body });
  }
  return out;
}

/** A simple GET request's bytes. */
export function get(path: string, headers: Record<string, string> = {}, close = true): string {
  let text = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`;
  for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
  if (close) text += 'Connection: close\r\n';
  return text + '\r\n';
}

/**
 * Run `fn` with every record of `logger` at or above `level` captured (and swallowed): the
 * way tests check that something was logged exactly once.
 */
export async function captureLogs<T>(
  logger: LoggerName,
  fn: () => Promise<T>,
  level: 'debug' | 'info' = 'info',
): Promise<[T, LogRecord[]]> {
  const records: LogRecord[] = [];
  configureLogging({ level });
  const remove = addLogInterceptor((record) => {
    if (record.logger !== logger) return false;
    records.push(record);
    return true;
  });
  try {
    return [await fn(), records];
  } finally {
    remove();
    configureLogging({ level: 'warning' });
  }
}

/** Answer `200 OK` with `text` as the body, straight through the connection. */
export function replyText(connection: HTTPConnection, text: string): void {
  const body = Buffer.from(text);
  connection.writeHeaders(
    200,
    'OK',
    new HTTPHeaders({ 'Content-Length': String(body.length) }),
    body,
  );
  connection.finish();
}

/**
 * A connection delegate that answers every request with `PATH LENGTH` (the path and how many
 * body bytes arrived); `onHeaders` runs when each request's headers are in, to set a per-request
 * limit or timeout on the connection.
 */
export function pathLengthDelegate(
  onHeaders: (request: HTTPServerRequest, connection: HTTPConnection) => void,
): HTTPServerConnectionDelegate {
  return {
    startRequest(connection) {
      let request: HTTPServerRequest;
      let length = 0;
      return {
        headersReceived(r) {
          request = r;
          onHeaders(r, connection);
        },
        dataReceived(chunk) {
          length += chunk.length;
        },
        finish() {
          replyText(connection, `${request.path} ${length}`);
        },
        onConnectionClose() {},
      };
    },
  };
}
