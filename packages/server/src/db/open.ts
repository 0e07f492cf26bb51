import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SQL } from 'drizzle-orm';
import { PgDialect, type PgDatabase, type PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import * as schema from './schema.js';

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
/** A transaction handle has the same query API as the database. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** LISTEN on a channel; returns an unlisten function. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  notify(channel: string, payload: string): Promise<void>;
  /**
   * Runs a hot statement as a named prepared statement (postgres.js): parsed and planned
   * once per connection, then one round trip a call instead of a describe and an execute.
   * PGlite runs it as is.
   */
  prepared<T>(query: SQL): Promise<T[]>;
  /**
   * `prepared` for a statement whose text never changes: built once by the caller, so a
   * call only binds its parameters (`$1`…) instead of building the text from a `SQL`.
   */
  preparedText<T>(text: string, params: readonly unknown[]): Promise<T[]>;
  close(): Promise<void>;
  /** postgres.js only: the URL it was opened with. */
  url?: string;
  /** postgres.js only: a dedicated connection (session locks). */
  reserve?: () => Promise<postgres.ReservedSql>;
  /** PGlite only: its data folder as a tarball, to start another database from (`pgliteTemplate`). */
  dump?: () => Promise<Blob>;
}

/**
 * The repository's `drizzle/` folder: the nearest one above this module, which is
 * `src/db/open.ts`, `dist/db/open.js` or, bundled, `dist/main.js`.
 */
export const MIGRATIONS_FOLDER = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 6; up++, dir = dirname(dir)) {
    if (existsSync(resolve(dir, 'drizzle/meta/_journal.json'))) return resolve(dir, 'drizzle');
  }
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../../../drizzle');
})();

export interface OpenDatabaseOptions {
  /** A PostgreSQL URL; when absent, PGlite in `dataDir`. */
  url?: string;
  /** PGlite data folder; `memory://` for an in-memory database. */
  dataDir?: string;
  /** Apply migrations (default true). */
  migrate?: boolean;
  /** postgres.js pool size. */
  max?: number;
  /** postgres.js only: called with every statement (query counting in benchmarks). */
  debug?: (query: string) => void;
  /** PGlite in memory only: start from this dump (`Database.dump`) instead of an empty cluster. */
  pgliteTemplate?: Blob;
}

/** Rows of a raw `execute` result; postgres.js returns an array, PGlite `{rows}`. */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}

/**
 * Opens the database: PostgreSQL through postgres.js when a URL is given, PGlite in a
 * data folder otherwise. Same schema, same migrations.
 */
export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<Database> {
  const database = options.url
    ? openPostgres(options.url, options.max, options.debug)
    : await openPglite(options.dataDir ?? './.data', options.pgliteTemplate);
  if (options.migrate !== false) await migrateDatabase(database);
  return database;
}

/**
 * A postgres.js client for a URL. Takes libpq's `?host=/dir` to reach the server over its
 * Unix socket (`postgres://user@localhost/db?host=/var/run/postgresql`), which postgres.js
 * only takes as an option: cheaper than TCP loopback for every statement.
 */
export function pgClient(url: string, options: postgres.Options<Record<string, postgres.PostgresType>> = {}) {
  const u = new URL(url);
  const socketDir = u.searchParams.get('host');
  if (!socketDir?.startsWith('/')) return postgres(url, options);
  u.searchParams.delete('host');
  return postgres(u.toString(), { ...options, host: socketDir });
}

function openPostgres(url: string, max = 10, debug?: (query: string) => void): Database {
  const client = pgClient(url, {
    max,
    onnotice: () => {},
    connection: { application_name: 'sales-process' },
    ...(debug ? { debug: (_c: number, q: string) => debug(q) } : {}),
  });
  const db = drizzlePostgres(client, { schema }) as unknown as Db;
  const dialect = new PgDialect();
  const preparedText = async <T>(text: string, params: readonly unknown[]) =>
    (await client.unsafe(text, params as never[], { prepare: true })) as unknown as T[];
  return {
    db,
    kind: 'postgres',
    url,
    async listen(channel, onPayload) {
      const sub = await client.listen(channel, onPayload);
      return () => sub.unlisten();
    },
    async notify(channel, payload) {
      await client.notify(channel, payload);
    },
    prepared<T>(query: SQL) {
      const { sql: text, params } = dialect.sqlToQuery(query);
      return preparedText<T>(text, params);
    },
    preparedText,
    close: () => client.end({ timeout: 5 }),
    reserve: () => client.reserve(),
  };
}

/**
 * PGlite and its drizzle driver are imported only when used: a server on PostgreSQL never
 * loads them (half a megabyte of JavaScript held in every instance's heap otherwise).
 */
async function openPglite(dataDir: string, template?: Blob): Promise<Database> {
  const [{ PGlite }, { drizzle: drizzlePglite }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('drizzle-orm/pglite'),
  ]);
  const inMemory = dataDir.startsWith('memory://');
  if (!inMemory) mkdirSync(resolve(dataDir), { recursive: true });
  const client = await PGlite.create(
    inMemory ? (template ? { loadDataDir: template } : undefined) : { dataDir: resolve(dataDir) },
  );
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    async listen(channel, onPayload) {
      const unsub = await client.listen(channel, onPayload);
      return async () => unsub();
    },
    async notify(channel, payload) {
      await client.query('select pg_notify($1, $2)', [channel, payload]);
    },
    prepared: async <T>(query: SQL) => rowsOf<T>(await db.execute(query)),
    preparedText: async <T>(text: string, params: readonly unknown[]) =>
      (await client.query<T>(text, params as unknown[])).rows,
    close: () => client.close(),
    dump: async () => (await client.dumpDataDir('none')) as Blob,
  };
}

/** Applies pending migrations; an advisory lock keeps several instances from racing. */
export async function migrateDatabase(database: Database): Promise<void> {
  const config = { migrationsFolder: MIGRATIONS_FOLDER };
  if (database.kind === 'pglite') {
    const { migrate: migratePglite } = await import('drizzle-orm/pglite/migrator');
    await migratePglite(database.db as never, config);
    return;
  }
  // Hold a session lock on a reserved connection while the pool migrates.
  const lock = await database.reserve!();
  try {
    await lock`select pg_advisory_lock(727001)`;
    await migratePostgres(database.db as never, config);
  } finally {
    await lock`select pg_advisory_unlock(727001)`;
    lock.release();
  }
}
