import type { Detail, ErrorCode } from '@sales-process/core';

/** What went wrong, as the elements report it: the server's code, or one of the client's own. */
export type KitErrorCode = ErrorCode | 'NETWORK' | 'NO_TOKEN';

/** A refusal from the server, carrying API.md's envelope; or a client-side failure (`NETWORK`, `NO_TOKEN`, status 0). */
export class ApiClientError extends Error {
  constructor(
    readonly status: number,
    readonly code: KitErrorCode,
    readonly details: Detail[],
    message: string,
    readonly messages?: { zh: string; en: string },
  ) {
    super(message);
  }
}

/** A request of a connection that was replaced (the element found its provider): nothing to show. */
export class SupersededError extends ApiClientError {
  constructor() {
    super(0, 'NETWORK', [], 'connection replaced');
  }
}

/** Called by the kit for a fresh token: when it has none, shortly before `exp`, and after a 401. */
export type TokenProvider = () => Promise<string>;

export interface ClientConfig {
  baseUrl: string;
  token?: string;
  lang?: string;
  tokenProvider?: TokenProvider;
}

/** Seconds before `exp` at which a token is refreshed. */
export const REFRESH_BEFORE_EXP_S = 60;
/** How long a request waits for a token that is not there yet before failing `NO_TOKEN`. */
export const TOKEN_WAIT_MS = 2000;

/** The claims of a JWT, read without verifying it; null for anything unreadable. */
function claims(token: string): { exp?: unknown; sub?: unknown; roles?: unknown } | null {
  try {
    const b64 = token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4))) as {
      exp?: unknown;
      sub?: unknown;
      roles?: unknown;
    };
  } catch {
    return null;
  }
}

/** The `exp` claim (seconds) of a JWT, read without verifying it; null for anything unreadable. */
export function tokenExpiry(token: string): number | null {
  const exp = claims(token)?.exp;
  return typeof exp === 'number' && Number.isFinite(exp) ? exp : null;
}

/** The `sub` claim of a JWT, read without verifying it. */
export function tokenSubject(token: string): string | null {
  const sub = claims(token)?.sub;
  return typeof sub === 'string' ? sub : null;
}

/**
 * The REST client the elements use: JSON in and out, typed errors. It owns the token:
 * every request reads the current one, a missing or nearly expired token is fetched from
 * `tokenProvider` first, and a 401 refreshes the token and retries the request once.
 */
export class ApiClient {
  /** A GET that has no answer after this long fails as `NETWORK` (a hung server is not "loading" forever). */
  static readTimeoutMs = 20_000;
  readonly baseUrl: string;
  lang: string | undefined;
  tokenProvider: TokenProvider | undefined;
  #current: string;
  /** The current token's `sub` claim, read once per token (null when unreadable). */
  subject: string | null = null;
  /**
   * The current token's `roles` claim, read with `subject` ([] when unreadable). Elements use
   * it only to decide what to offer; the server decides what is allowed.
   */
  roles: readonly string[] = [];
  #refreshing: Promise<string> | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #active = true;
  readonly #listeners = new Set<(token: string) => void>();
  readonly #waiters = new Set<() => void>();
  #disposed = false;

  constructor(config: ClientConfig) {
    this.baseUrl = config.baseUrl;
    this.lang = config.lang;
    this.#read((this.#current = config.token ?? ''));
    this.tokenProvider = config.tokenProvider;
    this.#schedule();
  }

  #read(token: string) {
    const c = claims(token);
    this.subject = typeof c?.sub === 'string' ? c.sub : null;
    this.roles = Array.isArray(c?.roles) ? c.roles.filter((r): r is string => typeof r === 'string') : [];
  }

  /** The configuration as it is now (the token changes on refresh). */
  get config(): { baseUrl: string; token: string; lang?: string } {
    return { baseUrl: this.baseUrl, token: this.#current, lang: this.lang };
  }

  get root(): string {
    return `${this.baseUrl.replace(/\/$/, '')}/api/v1`;
  }

  /** The current token ('' when there is none). */
  get token(): string {
    return this.#current;
  }

  /** Sets the token (from the host or a refresh); listeners hear of a change. */
  setToken(token: string): void {
    if (token === this.#current) return;
    this.#read((this.#current = token));
    this.#schedule();
    this.#listeners.forEach((fn) => fn(token));
  }

  setTokenProvider(fn: TokenProvider | undefined): void {
    if (fn === this.tokenProvider) return;
    this.tokenProvider = fn;
    this.#schedule();
    // Someone waiting for a token can now ask for one.
    if (fn && !this.#current) void this.refreshToken().catch(() => {});
  }

  /** Hears every token change; returns the unsubscribe function. */
  onToken(fn: (token: string) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Stops (false) or resumes (true) the timer that refreshes the token before it expires. */
  setActive(active: boolean): void {
    this.#active = active;
    this.#schedule();
  }

  /** Whether the token expires within `REFRESH_BEFORE_EXP_S`. */
  expiresSoon(token = this.#current): boolean {
    const exp = tokenExpiry(token);
    return exp !== null && exp * 1000 - Date.now() < REFRESH_BEFORE_EXP_S * 1000;
  }

  /**
   * A token to send now: the current one; a fresh one from `tokenProvider` when there is
   * none or it is about to expire; without a provider, waits briefly for the host to set
   * one, then fails with `NO_TOKEN`.
   */
  async getToken(): Promise<string> {
    if (this.#current && !(this.tokenProvider && this.expiresSoon())) return this.#current;
    if (this.tokenProvider) {
      try {
        return await this.refreshToken();
      } catch (e) {
        if (this.#current) return this.#current;
        throw e;
      }
    }
    if (this.#disposed) throw new SupersededError();
    const arrived = await new Promise<string>((resolve) => {
      const done = (t: string) => {
        clearTimeout(timer);
        off();
        this.#waiters.delete(gone);
        resolve(t);
      };
      const gone = () => done('\0');
      const timer = setTimeout(() => done(this.#current), TOKEN_WAIT_MS);
      const off = this.onToken((t) => t && done(t));
      this.#waiters.add(gone);
    });
    if (arrived === '\0') throw new SupersededError();
    if (!arrived)
      throw new ApiClientError(0, 'NO_TOKEN', [], 'no token', {
        zh: '未登录：缺少访问令牌',
        en: 'Not signed in: no access token',
      });
    return arrived;
  }

  /** Asks `tokenProvider` for a fresh token (one call at a time); fails `UNAUTHENTICATED` without one. */
  refreshToken(): Promise<string> {
    const provider = this.tokenProvider;
    if (!provider)
      return Promise.reject(
        new ApiClientError(401, 'UNAUTHENTICATED', [], 'no token provider', {
          zh: '登录已过期或令牌无效',
          en: 'Your session has expired or the token is invalid',
        }),
      );
    if (this.#refreshing) return this.#refreshing;
    const run = (async () => {
      let token: unknown;
      try {
        token = await provider();
      } catch (e) {
        throw new ApiClientError(401, 'UNAUTHENTICATED', [], `token provider failed: ${(e as Error)?.message ?? e}`, {
          zh: '无法获取新的访问令牌',
          en: 'Could not get a new access token',
        });
      }
      if (typeof token !== 'string' || !token)
        throw new ApiClientError(401, 'UNAUTHENTICATED', [], 'token provider returned no token', {
          zh: '无法获取新的访问令牌',
          en: 'Could not get a new access token',
        });
      this.setToken(token);
      return token;
    })();
    this.#refreshing = run;
    const clear = () => {
      if (this.#refreshing === run) this.#refreshing = null;
    };
    run.then(clear, clear);
    return run;
  }

  #schedule() {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#active || !this.tokenProvider) return;
    const exp = tokenExpiry(this.#current);
    if (exp === null) return;
    // Timers longer than 2^31 ms fire at once; a day is far enough.
    const wait = Math.min(Math.max(exp * 1000 - Date.now() - REFRESH_BEFORE_EXP_S * 1000, 1000), 86_400_000);
    this.#timer = setTimeout(() => void this.refreshToken().catch(() => this.#schedule()), wait);
  }

  /** Headers every request carries (the token is added per request). */
  headers(token: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
      authorization: `Bearer ${token}`,
      'accept-language': this.lang?.startsWith('en') ? 'en' : 'zh-CN',
      ...extra,
    };
  }

  /**
   * A fetch with the current token; a 401 refreshes the token (when there is a
   * `tokenProvider`) and retries once. Network failures become `NETWORK` errors.
   */
  async fetch(url: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Response> {
    const send = async (token: string) => {
      try {
        return await fetch(url, { ...init, headers: this.headers(token, init.headers) });
      } catch (e) {
        // Aborted by the caller (a stream closing): not a failure. A timeout is the network's.
        if ((e as Error)?.name === 'AbortError') throw e;
        throw new ApiClientError(0, 'NETWORK', [], (e as Error)?.message || 'network error', {
          zh: '无法连接服务器',
          en: 'Cannot reach the server',
        });
      }
    };
    const token = await this.getToken();
    const res = await send(token);
    if (res.status !== 401 || !this.tokenProvider) return res;
    // Someone else may have refreshed meanwhile; otherwise ask for a new token.
    const fresh = this.#current !== token ? this.#current : await this.refreshToken().catch(() => null);
    return fresh ? send(fresh) : res;
  }

  /**
   * One request; `signal` aborts it (an `AbortError` is thrown, not a failure: a superseded
   * load, an element that left the page).
   */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<{ status: number; data: T }> {
    // Reads may give up; commands wait for their answer (they may have acted).
    const timeout = method === 'GET' ? AbortSignal.timeout(ApiClient.readTimeoutMs) : undefined;
    const res = await this.fetch(`${this.root}${path}`, {
      method,
      signal: timeout && signal ? AbortSignal.any([timeout, signal]) : (timeout ?? signal),
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    if (res.status === 204) return { status: 204, data: undefined as T };
    const data = await res.json().catch(() => null);
    if (!res.ok) {
      const err = (
        data as {
          error?: { code: ErrorCode; message: string; messages?: { zh: string; en: string }; details?: Detail[] };
        } | null
      )?.error;
      throw new ApiClientError(
        res.status,
        err?.code ?? (res.status === 401 ? 'UNAUTHENTICATED' : res.status === 403 ? 'FORBIDDEN' : 'INTERNAL'),
        err?.details ?? [],
        err?.message ?? res.statusText,
        err?.messages,
      );
    }
    return { status: res.status, data: data as T };
  }

  get<T>(path: string, signal?: AbortSignal) {
    return this.request<T>('GET', path, undefined, {}, signal).then((r) => r.data);
  }
  post<T>(path: string, body?: unknown) {
    return this.request<T>('POST', path, body ?? {});
  }
  put<T>(path: string, body: unknown) {
    return this.request<T>('PUT', path, body).then((r) => r.data);
  }
  delete(path: string) {
    return this.request<void>('DELETE', path);
  }

  /** Stops the refresh timer and forgets listeners. */
  dispose(): void {
    this.#disposed = true;
    this.setActive(false);
    this.#waiters.forEach((fn) => fn());
    this.#listeners.clear();
  }
}
