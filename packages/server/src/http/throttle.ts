import { ApiError } from './errors.js';

/**
 * Failed authentications per client address: after `max` in `windowMs`, a token from that
 * address that fails verification gets 429 until the window ends; a token that verifies is
 * still accepted (verifying is cheap, and a valid token is no guess), so junk sent from an
 * address many people share (a proxy) locks nobody out. A fixed window per address: failures
 * while blocked are not counted and do not extend it. In a bounded map (expired windows are
 * swept first, then the oldest goes), so a flood of addresses costs at most `maxAddresses`
 * entries.
 */
export interface FailureLimit {
  /** Failures allowed per window (default 30). */
  max: number;
  /** Window length (default 10 s). */
  windowMs: number;
}

export const DEFAULT_AUTH_FAILURE_LIMIT: FailureLimit = { max: 30, windowMs: 10_000 };

export class FailureThrottle {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly limit: FailureLimit,
    private readonly now: () => number,
    private readonly maxAddresses = 10_000,
  ) {}

  /**
   * Runs `attempt` (a verification) for a request from `address` (none: an in-process caller,
   * not throttled). An error `isFailure` holds for is counted against the address, or, once
   * the address is over its limit, answered 429 RATE_LIMITED with `Retry-After` instead.
   * Success is never refused.
   */
  async guard<T>(
    address: string | undefined,
    attempt: () => Promise<T>,
    isFailure: (e: unknown) => boolean,
  ): Promise<T> {
    try {
      return await attempt();
    } catch (e) {
      if (address === undefined || !isFailure(e)) throw e;
      const wait = this.retryAfter(address);
      if (wait > 0)
        throw new ApiError('RATE_LIMITED', [
          {
            retryAfterSeconds: wait,
            message: { zh: '身份验证失败次数过多，请稍后重试', en: 'Too many failed authentications; try again later' },
          },
        ]).withRetryAfter(wait);
      this.fail(address);
      throw e;
    }
  }

  /** Seconds until the address may try again, or 0 when it may try now. */
  retryAfter(address: string): number {
    const w = this.current(address);
    if (!w || w.count < this.limit.max) return 0;
    return Math.max(1, Math.ceil((w.start + this.limit.windowMs - this.now()) / 1000));
  }

  fail(address: string): void {
    const w = this.current(address);
    if (w) {
      w.count++;
      return;
    }
    if (this.windows.size >= this.maxAddresses) this.evict();
    this.windows.set(address, { start: this.now(), count: 1 });
  }

  get size(): number {
    return this.windows.size;
  }

  private current(address: string) {
    const w = this.windows.get(address);
    if (!w) return undefined;
    if (this.now() - w.start < this.limit.windowMs) return w;
    this.windows.delete(address);
    return undefined;
  }

  private evict(): void {
    const t = this.now();
    for (const [address, w] of this.windows) if (t - w.start >= this.limit.windowMs) this.windows.delete(address);
    // Insertion order is start order: the first entry is the oldest window.
    while (this.windows.size >= this.maxAddresses) this.windows.delete(this.windows.keys().next().value!);
  }
}
