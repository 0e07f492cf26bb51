/**
 * A live doc's copy in IndexedDB, so edits made offline survive a reload and sync on
 * reconnect: y-indexeddb's `IndexeddbPersistence`, in its storage format, without lib0's
 * IndexedDB wrapper and the `get`/`set` of custom values the kit never used (0.4 KB gzip less
 * on every live page). Same database (the name given), same stores (`updates`, auto-numbered
 * Yjs updates; `custom`, kept empty), same steps, so copies written by either read in the other
 * (doc-store.test.ts checks both ways):
 * - on open: writes the doc's state so far, applies every stored update (origin: this store),
 *   then counts them and resolves `whenSynced`;
 * - every later update of the doc (not its own) is appended;
 * - past 500 stored updates, a second later, they are replaced by one with the whole state.
 */
import * as Y from 'yjs';

const UPDATES = 'updates';
/** y-indexeddb's: this many stored updates are merged into one. */
export const TRIM_SIZE = 500;

const done = <T>(request: IDBRequest<T>) =>
  new Promise<T>((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

export class DocStore {
  readonly whenSynced: Promise<this>;
  #db: Promise<IDBDatabase>;
  #ref = 0;
  #size = 0;
  #destroyed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #onUpdate: (update: Uint8Array, origin: unknown) => void;

  constructor(
    readonly name: string,
    readonly doc: Y.Doc,
  ) {
    const open = indexedDB.open(name);
    open.onupgradeneeded = () => {
      open.result.createObjectStore(UPDATES, { autoIncrement: true });
      open.result.createObjectStore('custom');
    };
    this.#db = done(open).then((db) => {
      db.onversionchange = () => db.close();
      return db;
    });
    let db: IDBDatabase | null = null;
    this.whenSynced = this.#db.then(async (opened) => {
      db = opened;
      // What the doc has so far (edits made before the database opened) goes in first.
      await this.#fetch((store) => store.add(Y.encodeStateAsUpdate(doc)));
      return this;
    });
    this.#onUpdate = (update, origin) => {
      if (!db || origin === this) return;
      db.transaction([UPDATES], 'readwrite').objectStore(UPDATES).add(update);
      if (++this.#size < TRIM_SIZE) return;
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => void this.#compact(), 1000);
    };
    doc.on('update', this.#onUpdate);
    this.destroy = this.destroy.bind(this);
    doc.on('destroy', this.destroy);
  }

  /** Applies the updates stored since the last fetch; then knows the last key and the count. */
  async #fetch(before?: (store: IDBObjectStore) => void): Promise<IDBObjectStore> {
    const store = (await this.#db).transaction([UPDATES], 'readwrite').objectStore(UPDATES);
    const updates = await done(store.getAll(IDBKeyRange.lowerBound(this.#ref, false)));
    if (!this.#destroyed) {
      before?.(store);
      Y.transact(this.doc, () => updates.forEach((u: Uint8Array) => Y.applyUpdate(this.doc, u)), this, false);
    }
    const last = await done(store.openKeyCursor(null, 'prev'));
    this.#ref = (last?.key as number) + 1;
    this.#size = await done(store.count());
    return store;
  }

  /** Many updates become one holding the whole state. */
  async #compact(): Promise<void> {
    const store = await this.#fetch();
    if (this.#size < TRIM_SIZE) return;
    await done(store.add(Y.encodeStateAsUpdate(this.doc)));
    await done(store.delete(IDBKeyRange.upperBound(this.#ref, true)));
    this.#size = await done(store.count());
  }

  async destroy(): Promise<void> {
    clearTimeout(this.#timer);
    this.doc.off('update', this.#onUpdate);
    this.doc.off('destroy', this.destroy);
    this.#destroyed = true;
    // A database that never opened has nothing to close (and its failure was whenSynced's).
    await this.#db.then(
      (db) => db.close(),
      () => {},
    );
  }
}
