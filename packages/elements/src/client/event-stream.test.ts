import { expect } from '@open-wc/testing';
import { FakeStream, headersOf, json, until } from '../testing/network.js';
import { SalesProcessConnection } from '../shared/connection.js';
import { EventStreamParser, type StreamEvent } from './event-stream.js';

describe('server-sent events over fetch', () => {
  it('parses events, multi-line data, comments and CR/LF/CRLF split anywhere', () => {
    const got: StreamEvent[] = [];
    const parser = new EventStreamParser((e) => got.push(e));
    const text =
      ': hi\r\nevent: notification\r\ndata: {"a":\r\ndata: 1}\r\n\r\ndata: plain\n\nevent: changed\rdata: x\r\rid: 7\ndata: y\n\n';
    for (const ch of text) parser.feed(ch);
    expect(got).to.deep.equal([
      { event: 'notification', data: '{"a":\n1}', id: undefined },
      { event: 'message', data: 'plain', id: undefined },
      { event: 'changed', data: 'x', id: undefined },
      { event: 'message', data: 'y', id: '7' },
    ]);
  });

  describe('a shared stream', () => {
    const realFetch = window.fetch;
    let streams: FakeStream[] = [];
    let refuse = 0;
    beforeEach(() => {
      streams = [];
      refuse = 0;
      window.fetch = (async (input: RequestInfo, init?: RequestInit) => {
        const headers = headersOf(init);
        if (refuse > 0 && headers.authorization === 'Bearer old') {
          refuse--;
          return json(401, { error: { code: 'UNAUTHENTICATED', message: 'expired' } });
        }
        const s = new FakeStream(String(input), headers, init?.signal);
        streams.push(s);
        return s.response;
      }) as typeof fetch;
    });
    afterEach(() => (window.fetch = realFetch));

    it('reconnects with backoff when the server drops it, and after a 401 with a fresh token', async () => {
      refuse = 1;
      const conn = new SalesProcessConnection('http://x', { token: 'old', tokenProvider: async () => 'new' });
      const events: string[] = [];
      const stop = conn.listen('/notifications/stream', { onEvent: (e) => events.push(e.data) });
      try {
        await until(() => streams.length === 1, 2000, 'the first stream');
        expect(streams[0]!.headers.authorization).to.equal('Bearer new');
        streams[0]!.send('notification', 1);
        // The server goes away: the reader sees an error and tries again about a second later.
        (streams[0] as unknown as { controller: ReadableStreamDefaultController }).controller.error(
          new TypeError('network'),
        );
        await until(() => streams.length === 2, 3000, 'a second stream');
        streams[1]!.send('notification', 2);
        await until(() => events.length === 2, 1000, 'both events');
        expect(events).to.deep.equal(['1', '2']);
      } finally {
        stop();
        conn.dispose();
      }
      expect(streams.at(-1)!.closed).to.be.true;
    });
  });
});
