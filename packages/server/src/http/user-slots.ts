import type { LocalizedText } from '@sales-process/core';
import type { Principal } from './auth.js';
import { ApiError } from './errors.js';

/** The key of one user across all their connections: tenant and user id. */
export const userKey = (p: Pick<Principal, 'tenantId' | 'userId'>) => `${p.tenantId}\u0000${p.userId}`;

/**
 * Places for one user's long-lived connections (event streams): at most `max` at once;
 * one more is refused with 429 RATE_LIMITED before any work is spent on it.
 */
export class UserSlots {
  private readonly held = new Map<string, number>();

  constructor(
    readonly max: number,
    private readonly what: LocalizedText,
  ) {}

  /** Takes a place for one of `p`'s connections, or throws 429; returns its release (idempotent). */
  take(p: Principal): () => void {
    const key = userKey(p);
    const n = this.held.get(key) ?? 0;
    if (n >= this.max) throw tooManyConnections(this.max, this.what);
    this.held.set(key, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(key) ?? 1) - 1;
      if (left > 0) this.held.set(key, left);
      else this.held.delete(key);
    };
  }
}

/** 429 RATE_LIMITED: a user already holds `max` connections of this kind. */
export const tooManyConnections = (max: number, what: LocalizedText) =>
  new ApiError(
    'RATE_LIMITED',
    [
      {
        limit: max,
        message: {
          zh: `每个用户最多同时打开 ${max} 个${what.zh}`,
          en: `A user may have at most ${max} ${what.en} open at once`,
        },
      },
    ],
    {
      zh: `${what.zh}过多`,
      en: `Too many ${what.en}`,
    },
  ).withRetryAfter(5);

/** A stream's body that gives back its place when it ends, however it ends. */
export const holding =
  <S>(release: () => void, body: (stream: S) => Promise<void>) =>
  async (stream: S) => {
    try {
      await body(stream);
    } finally {
      release();
    }
  };

/** Event streams (SSE: notifications, analytics) one user may hold open at once, all kinds together: 429 past it. */
export const eventStreamSlots = () => new UserSlots(10, { zh: '事件流', en: 'event streams' });
