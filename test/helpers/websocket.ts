// Shared pieces of the WebSocket tests: an echo handler and a raw handshake request.
import { WebSocketHandler, type WebSocketMessage } from '../../src/websocket/index.ts';

/** Echoes every message back, binary as binary. */
export class EchoHandler extends WebSocketHandler {
  override onMessage(message: WebSocketMessage): void {
    void this.writeMessage(message, { binary: typeof message !== 'string' });
  }
}

/** The sample key of RFC 6455 section 1.3. */
export const HANDSHAKE_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** A raw upgrade request for `path`, with `extra` header lines. */
export function handshake(path: string, extra = ''): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${HANDSHAKE_KEY}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`
  );
}
