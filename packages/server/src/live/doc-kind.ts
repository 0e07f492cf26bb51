/**
 * What a kind of live document is to the engine. The engine (LiveDocs and the files
 * beside it) knows connections, sync, persistence and replication; everything that
 * depends on what a doc means (who may open it, what it starts as, which client updates
 * stand, what reaches the database) is its kind's. Kinds live in their features
 * (processes/draft-doc.ts, opportunities/form-doc.ts) and are registered in the
 * composition root; a new kind is one file, one registration and its prefix in core's
 * DOC_KINDS.
 *
 * Every method taking a doc runs inside the doc's serial chain, or synchronously on it
 * (`check`, `restore`, `remember`, `accepted`): nothing else touches the doc meanwhile.
 */
import type { DocKindName, LocalizedText } from '@sales-process/core';
import type { Logger } from 'pino';
import type * as Y from 'yjs';
import type { Principal } from '../http/auth.js';
import type { LiveOptions } from './options.js';

/** What a kind found wrong with a client's update: the update is rolled back and its author told (a notice). */
export interface Problem {
  code: string;
  message: LocalizedText;
  path?: string;
}

/** A connection to a doc as its kind sees it: who, whether they may write (a kind may change that), and a way out. */
export interface KindConnection {
  readonly principal: Principal;
  canWrite: boolean;
  close(code: number, reason: string): void;
}

/** A loaded doc as its kind sees it. */
export interface KindDoc<State> {
  readonly name: string;
  /** The id in its name, `<prefix>:<id>`. */
  readonly id: string;
  readonly ydoc: Y.Doc;
  /** The kind's own state for this doc: what `init` made. */
  readonly state: State;
  readonly connections: ReadonlySet<KindConnection>;
  readonly options: LiveOptions;
  readonly logger: Logger;
  /** Queues work on the doc behind what is queued (client updates, other server work). */
  serial<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * A server write: applied, stored and sent to every client, then `remember`ed. Call
   * inside `serial` (the kind's `load`, `flush` and `refresh` are).
   */
  edit(fn: (ydoc: Y.Doc) => void, author: string | null): Promise<void>;
}

export interface DocKind<State = unknown> {
  /** The doc names it serves: `<prefix>:<id>` (core's DOC_KINDS). */
  readonly prefix: DocKindName;
  /**
   * Before the upgrade (and before any doc is loaded): may `principal` open the doc of
   * `id`, and write? Throws an ApiError (404 outside the tenant, 403 without the right).
   */
  authorize(principal: Principal, id: string): Promise<{ canWrite: boolean }>;
  /** The kind's state for a doc just read from the store (kept on the doc as `state`). */
  init(ydoc: Y.Doc, id: string): State;
  /** Brings a freshly loaded doc up to date before anyone is synced with it (a new draft, the server's view). */
  load(doc: KindDoc<State>): Promise<void>;
  /**
   * A client's update has just been applied: what is wrong with the doc now (nothing: it
   * stands). The hot path: runs on every keystroke, synchronously.
   */
  check(doc: KindDoc<State>): readonly Problem[];
  /** `check` found problems: puts the doc back to what `remember` last recorded, in a transaction of `origin`. */
  restore(doc: KindDoc<State>, origin: unknown): void;
  /**
   * The doc as it is now is good (after an accepted update, a server edit, or what another
   * instance wrote): the state to restore to. `checked`: `check` has just found it so
   * (what it parsed may be reused).
   */
  remember(doc: KindDoc<State>, checked: boolean): void;
  /** A client's update was accepted (sent to the others, being stored). */
  accepted?(doc: KindDoc<State>, author: Principal): void;
  /** Writes what the doc holds to the database now: before a command decides, and before the doc is unloaded or the server stops. */
  flush?(doc: KindDoc<State>): Promise<void>;
  /** What the doc mirrors changed in the database: the doc follows (and connections' rights are checked again). */
  refresh?(doc: KindDoc<State>): Promise<void>;
  /** The server is stopping: drop timers (a last `flush` follows). */
  dispose?(doc: KindDoc<State>): void;
}
