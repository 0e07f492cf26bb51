import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import type { Principal } from './auth.js';

/** With @hono/node-server, `c.env` holds the Node request; `server.fetch` callers pass none. */
export type AppEnv = {
  Bindings: Partial<HttpBindings>;
  Variables: { principal: Principal; requestId: string; canWrite: boolean };
};

/** The client's address from its socket (not from headers a client can write). */
export function clientAddress(c: Context<AppEnv>): string | undefined {
  return (c.env as Partial<HttpBindings> | undefined)?.incoming?.socket?.remoteAddress;
}

/** Query values that are secrets (`?token=` on websockets) as logs show them. */
export function redactQuery(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return '';
  return url.slice(q).replace(/([?&](?:token|sig)=)[^&#]*/gi, '$1[redacted]');
}
