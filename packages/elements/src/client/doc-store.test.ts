import { FORM_ROOT } from '@sales-process/core';
import { expect } from '@open-wc/testing';
import { IndexeddbPersistence } from 'y-indexeddb';
import * as Y from 'yjs';
import { DocStore, TRIM_SIZE } from './doc-store.js';

let n = 0;
const fresh = () => `doc-store-test:${Date.now()}:${n++}`;
const count = (name: string) =>
  new Promise<number>((resolve, reject) => {
    const open = indexedDB.open(name);
    open.onsuccess = () => {
      const req = open.result.transaction(['updates']).objectStore('updates').count();
      req.onsuccess = () => (open.result.close(), resolve(req.result));
      req.onerror = () => reject(req.error);
    };
    open.onerror = () => reject(open.error);
  });
const until = async (fn: () => boolean | Promise<boolean>, ms = 3000) => {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('DocStore (a live doc in IndexedDB)', () => {
  it('keeps edits made before and after it opened, and gives them back to a new doc', async () => {
    const name = fresh();
    const doc = new Y.Doc();
    doc.getMap(FORM_ROOT).set('before', 1);
    const store = new DocStore(name, doc);
    doc.getMap(FORM_ROOT).set('early', 2);
    await store.whenSynced;
    doc.getMap(FORM_ROOT).set('after', 3);
    doc.getText('notes').insert(0, '见了林总');
    await until(async () => (await count(name)) >= 3);
    await store.destroy();

    const again = new Y.Doc();
    await new DocStore(name, again).whenSynced;
    expect(again.getMap(FORM_ROOT).toJSON()).to.deep.equal({ before: 1, early: 2, after: 3 });
    expect(again.getText('notes').toString()).to.equal('见了林总');
  });

  it('reads what y-indexeddb wrote, and y-indexeddb reads what it writes (the same format)', async () => {
    const name = fresh();
    const theirs = new Y.Doc();
    const stock = new IndexeddbPersistence(name, theirs);
    await stock.whenSynced;
    theirs.getMap('m').set('by', 'y-indexeddb');
    await until(async () => (await count(name)) >= 2);
    await stock.destroy();

    const mine = new Y.Doc();
    const store = new DocStore(name, mine);
    await store.whenSynced;
    expect(mine.getMap('m').get('by')).to.equal('y-indexeddb');
    const stored = await count(name);
    mine.getMap('m').set('then', 'DocStore');
    await until(async () => (await count(name)) > stored);
    await store.destroy();

    const back = new Y.Doc();
    const stockAgain = new IndexeddbPersistence(name, back);
    await stockAgain.whenSynced;
    // biome-ignore lint/suspicious/noThenProperty: a plain map key in a Yjs doc, never awaited.
    expect(back.getMap('m').toJSON()).to.deep.equal({ by: 'y-indexeddb', then: 'DocStore' });
    await stockAgain.destroy();
  });

  it(`merges its updates into one once there are ${TRIM_SIZE}`, async () => {
    const name = fresh();
    const doc = new Y.Doc();
    const store = new DocStore(name, doc);
    await store.whenSynced;
    for (let i = 0; i < TRIM_SIZE + 5; i++) doc.getMap('m').set('k', i);
    await until(async () => (await count(name)) < 10, 5000);
    await store.destroy();
    const again = new Y.Doc();
    await new DocStore(name, again).whenSynced;
    expect(again.getMap('m').get('k')).to.equal(TRIM_SIZE + 4);
  });

  it('stops writing once destroyed', async () => {
    const name = fresh();
    const doc = new Y.Doc();
    const store = new DocStore(name, doc);
    await store.whenSynced;
    await store.destroy();
    const before = await count(name);
    doc.getMap('m').set('late', true);
    await new Promise((r) => setTimeout(r, 100));
    expect(await count(name)).to.equal(before);
  });
});

/** Makes `indexedDB.open` fail (as a private window or a full disk may) until the returned function is called. */
function failingIndexedDB(): () => void {
  const real = indexedDB.open;
  indexedDB.open = () => {
    const request = { error: new DOMException('no IndexedDB here', 'UnknownError') } as unknown as IDBOpenDBRequest;
    setTimeout(() => request.onerror?.(new Event('error')));
    return request;
  };
  return () => (indexedDB.open = real);
}

describe('DocStore without IndexedDB (it fails to open)', () => {
  it('rejects whenSynced, destroys quietly and leaves no unhandled rejection', async () => {
    const restore = failingIndexedDB();
    const unhandled: unknown[] = [];
    const hear = (e: PromiseRejectionEvent) => (unhandled.push(e.reason), e.preventDefault());
    window.addEventListener('unhandledrejection', hear);
    try {
      const doc = new Y.Doc();
      const store = new DocStore(fresh(), doc);
      doc.getMap('m').set('k', 1);
      let failed: unknown = null;
      await store.whenSynced.catch((e) => (failed = e));
      expect(failed).to.be.instanceOf(DOMException);
      await store.destroy();
      doc.destroy();
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).to.deep.equal([]);
    } finally {
      window.removeEventListener('unhandledrejection', hear);
      restore();
    }
  });
});
