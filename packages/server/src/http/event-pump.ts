import type { SSEStreamingApi } from 'hono/streaming';

/**
 * Sends what `subscribe` hands over, each as an SSE event named `event`, until the client
 * goes: `ready` first, then the items in order, and a `ping` after 25 s without one (so
 * proxies keep the stream open). `subscribe` returns its unsubscribe.
 */
export async function pumpEvents<T>(
  stream: SSEStreamingApi,
  event: string,
  subscribe: (push: (item: T) => void) => () => void,
): Promise<void> {
  const queue: T[] = [];
  let wake: (() => void) | null = null;
  const off = subscribe((item) => {
    queue.push(item);
    wake?.();
  });
  stream.onAbort(() => {
    off();
    wake?.();
  });
  await stream.writeSSE({ event: 'ready', data: '{}' });
  while (!stream.aborted && !stream.closed) {
    while (queue.length) await stream.writeSSE({ event, data: JSON.stringify(queue.shift()) });
    await new Promise<void>((r) => {
      wake = r;
      setTimeout(r, 25_000); // keep-alive
    });
    wake = null;
    if (!queue.length && !stream.aborted) await stream.writeSSE({ event: 'ping', data: '{}' });
  }
  off();
}
