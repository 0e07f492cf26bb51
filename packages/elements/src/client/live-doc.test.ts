import { FORM_ROOT, opportunityDocName, SERVER_ROOT } from '@sales-process/core';
import { expect } from '@open-wc/testing';
import * as Y from 'yjs';
import { FakeSocket, fakeSyncServer, until } from '../testing/network.js';
import { ApiClient } from './api-client.js';
import { acquireLiveDoc } from './live-doc.js';

describe('live docs', () => {
  let restore: () => void = () => {};
  beforeEach(() => (restore = FakeSocket.install()));
  afterEach(() => restore());

  it('authenticates with subprotocols, never with the token in the URL', async () => {
    FakeSocket.behaviour = () => 'open';
    const live = acquireLiveDoc(
      new ApiClient({ baseUrl: 'https://kit.example', token: 'jwt' }),
      opportunityDocName('o1'),
      {
        offline: false,
      },
    );
    try {
      await until(() => FakeSocket.sockets.length, 1000, 'a socket');
      expect(FakeSocket.sockets[0]!.url).to.equal('wss://kit.example/sync/opportunity:o1');
      expect(FakeSocket.sockets[0]!.protocols).to.deep.equal(['sales-process', 'bearer.jwt']);
    } finally {
      live.release();
    }
  });

  it('without IndexedDB (it fails to open) still connects, and releasing it leaves no unhandled rejection', async () => {
    const realOpen = indexedDB.open;
    indexedDB.open = () => {
      const request = { error: new DOMException('no IndexedDB here', 'UnknownError') } as unknown as IDBOpenDBRequest;
      setTimeout(() => request.onerror?.(new Event('error')));
      return request;
    };
    const unhandled: unknown[] = [];
    const hear = (e: PromiseRejectionEvent) => (unhandled.push(e.reason), e.preventDefault());
    window.addEventListener('unhandledrejection', hear);
    try {
      fakeSyncServer(new Y.Doc(), 0);
      const live = acquireLiveDoc(new ApiClient({ baseUrl: 'http://x', token: 't' }), opportunityDocName('no-idb'));
      await live.ready;
      expect(live.connected()).to.equal(true);
      live.release();
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).to.deep.equal([]);
    } finally {
      window.removeEventListener('unhandledrejection', hear);
      indexedDB.open = realOpen;
    }
  });

  it('a flush right after connecting waits for what was typed, not for the first sync', async () => {
    const serverDoc = new Y.Doc();
    serverDoc.getMap(SERVER_ROOT).set('name', 'O1');
    fakeSyncServer(serverDoc, 150);
    const live = acquireLiveDoc(new ApiClient({ baseUrl: 'http://x', token: 't' }), opportunityDocName('o2'), {
      offline: false,
    });
    try {
      await until(() => live.connected(), 1000, 'the socket');
      live.doc.getMap(FORM_ROOT).set('stage.notes', '见了林总');
      await live.flush();
      expect(serverDoc.getMap(FORM_ROOT).get('stage.notes')).to.equal('见了林总');
    } finally {
      live.release();
    }
  });

  it('a token change reconnects the same doc, and an edit made meanwhile reaches the server', async () => {
    const serverDoc = new Y.Doc();
    fakeSyncServer(serverDoc, 20);
    const client = new ApiClient({ baseUrl: 'http://x', token: 't1' });
    const live = acquireLiveDoc(client, opportunityDocName('o3'), { offline: false });
    try {
      await until(() => live.connected(), 1000, 'the socket');
      client.setToken('t2');
      live.doc.getMap(FORM_ROOT).set('stage.notes', 'typed while reconnecting');
      await until(
        () => serverDoc.getMap(FORM_ROOT).get('stage.notes') === 'typed while reconnecting',
        3000,
        'the edit on the server',
      );
      expect(FakeSocket.sockets.map((s) => s.protocols[1])).to.deep.equal(['bearer.t1', 'bearer.t2']);
      expect(FakeSocket.sockets[0]!.readyState).to.equal(3);
    } finally {
      live.release();
    }
  });
});
