import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Database } from './db/open.js';

export interface Clock {
  now(): Date;
}

/** A clock that can be moved forward (dev mode's `/dev/clock`, tests). */
export class AdjustableClock implements Clock {
  private offsetMs = 0;
  constructor(private readonly base: () => number = Date.now) {}
  now(): Date {
    return new Date(this.base() + this.offsetMs);
  }
  set(to: Date): void {
    this.offsetMs = to.getTime() - this.base();
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export type IdGenerator = (prefix: string) => string;
export const defaultIds: IdGenerator = (prefix) => `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 20)}`;

/** Everything a service needs, built once per server from explicit options. */
export interface ServerContext {
  database: Database;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
}
