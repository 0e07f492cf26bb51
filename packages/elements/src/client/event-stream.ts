import { ApiClientError, type ApiClient } from './api-client.js';

/** One server-sent event. */
export interface StreamEvent {
  event: string;
  data: string;
  id?: string;
}

export type StreamStatus = 'connecting' | 'open' | 'error';

export interface StreamListener {
  onEvent?(e: StreamEvent): void;
  /** The stream opened, dropped (it retries) or was refused; `error` has the reason. */
  onStatus?(status: StreamStatus, error?: ApiClientError): void;
}

/**
 * Splits a `text/event-stream` body into events (the WHATWG parsing rules: `event`,
 * `data`, `id`, `retry` fields, comments, CR/LF/CRLF line ends).
 */
export class EventStreamParser {
  #buffer = '';
  #event = '';
  #data: string[] = [];
  #id: string | undefined;
  retry: number | undefined;

  readonly #emit: (e: StreamEvent) => void;

  constructor(emit: (e: StreamEvent) => void) {
    this.#emit = emit;
  }

  feed(chunk: string): void {
    this.#buffer += chunk;
    let start = 0;
    for (;;) {
      const cr = this.#buffer.indexOf('\r', start);
      const lf = this.#buffer.indexOf('\n', start);
      if (cr < 0 && lf < 0) break;
      const end = cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf);
      // A CR at the very end may be the first half of a CRLF still on its way.
      if (end === cr && end === this.#buffer.length - 1) break;
      this.#line(this.#buffer.slice(start, end));
      start = end + (end === cr && this.#buffer[end + 1] === '\n' ? 2 : 1);
    }
    this.#buffer = this.#buffer.slice(start);
  }

  #line(line: string) {
    if (line === '') {
      if (this.#data.length) this.#emit({ event: this.#event || 'message', data: this.#data.join('\n'), id: this.#id });
      this.#event = '';
      this.#data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#event = value;
    else if (field === 'data') this.#data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.#id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
  }
}

const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;

/**
 * A server-sent event stream read with `fetch`, so the token goes in the `Authorization`
 * header (EventSource cannot send headers). Reconnects with backoff and the client's
 * current token (a 401 refreshes it first), resumes with `Last-Event-ID`, and stops when
 * its last listener leaves.
 */
export class SharedEventStream {
  readonly listeners = new Set<StreamListener>();
  status: StreamStatus = 'connecting';
  lastError: ApiClientError | undefined;
  #abort: AbortController | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #attempts = 0;
  #lastEventId: string | undefined;
  #stopped = false;

  readonly #client: ApiClient;
  readonly #onIdle: () => void;

  constructor(
    client: ApiClient,
    readonly url: string,
    onIdle: () => void,
  ) {
    this.#client = client;
    this.#onIdle = onIdle;
  }

  add(listener: StreamListener): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1 && !this.#abort && !this.#timer) void this.#open();
    else listener.onStatus?.(this.status, this.lastError);
    return () => {
      if (!this.listeners.delete(listener) || this.listeners.size) return;
      this.close();
      this.#onIdle();
    };
  }

  /** Reconnects at once (after a token change, or the user's retry). */
  reconnect(): void {
    if (this.#stopped) return;
    this.#abort?.abort();
    this.#abort = null;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#attempts = 0;
    void this.#open();
  }

  close(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#abort?.abort();
    this.#abort = null;
  }

  #setStatus(status: StreamStatus, error?: ApiClientError) {
    this.status = status;
    this.lastError = error;
    this.listeners.forEach((l) => l.onStatus?.(status, error));
  }

  async #open(): Promise<void> {
    const abort = new AbortController();
    this.#abort = abort;
    let retryAfter: number | undefined;
    try {
      const res = await this.#client.fetch(this.url, {
        headers: { accept: 'text/event-stream', ...(this.#lastEventId ? { 'last-event-id': this.#lastEventId } : {}) },
        signal: abort.signal,
        cache: 'no-store',
      });
      if (!res.ok || !res.body) {
        const body = (await res.json().catch(() => null)) as {
          error?: { code: string; message: string; messages?: { zh: string; en: string } };
        } | null;
        retryAfter = Number(res.headers.get('retry-after')) * 1000 || undefined;
        throw new ApiClientError(
          res.status,
          (body?.error?.code ??
            (res.status === 401 ? 'UNAUTHENTICATED' : res.status === 403 ? 'FORBIDDEN' : 'INTERNAL')) as 'INTERNAL',
          [],
          body?.error?.message ?? res.statusText,
          body?.error?.messages,
        );
      }
      this.#attempts = 0;
      this.#setStatus('open');
      const parser = new EventStreamParser((e) => {
        if (e.id !== undefined) this.#lastEventId = e.id;
        this.listeners.forEach((l) => l.onEvent?.(e));
      });
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
      retryAfter = parser.retry;
      if (abort.signal.aborted) return;
      this.#setStatus('connecting');
    } catch (e) {
      if (abort.signal.aborted || this.#stopped) return;
      const err =
        e instanceof ApiClientError
          ? e
          : new ApiClientError(0, 'NETWORK', [], (e as Error)?.message ?? 'stream failed', {
              zh: '无法连接服务器',
              en: 'Cannot reach the server',
            });
      this.#setStatus('error', err);
    }
    if (this.#abort !== abort || this.#stopped) return;
    this.#abort = null;
    const backoff = retryAfter ?? Math.min(MIN_BACKOFF_MS * 2 ** this.#attempts, MAX_BACKOFF_MS);
    this.#attempts++;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#open();
    }, backoff);
  }
}

/**
 * Adds `listener` to the stream of `url` in `streams` (a connection's), opening it when it is
 * the first: one stream per connection and URL, removed from `streams` when its last listener leaves.
 */
export function listen(
  streams: Map<string, SharedEventStream>,
  client: ApiClient,
  url: string,
  listener: StreamListener,
): () => void {
  let stream = streams.get(url);
  if (!stream) {
    const created = new SharedEventStream(client, url, () => {
      if (streams.get(url) === created) streams.delete(url);
    });
    streams.set(url, created);
    stream = created;
  }
  return stream.add(listener);
}
