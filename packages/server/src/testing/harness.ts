/**
 * Test harness: real databases (PGlite always; PostgreSQL when TEST_DATABASE_URL is set,
 * one scratch database per call) and a real server driven through `app.fetch`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { createServer, type CreateServerOptions, type SalesProcessServer } from '../app.js';
import { AdjustableClock } from '../context.js';
import { MIGRATIONS_FOLDER, openDatabase, pgClient, type Database } from '../db/open.js';

const require = createRequire(import.meta.url);
import { signToken } from '../http/auth.js';

export interface TestDatabaseKind {
  name: 'pglite' | 'postgres';
  open(): Promise<Database>;
}

/** The databases every database test runs against. */
export function testDatabases(): TestDatabaseKind[] {
  const kinds: TestDatabaseKind[] = [{ name: 'pglite', open: openMigratedPglite }];
  const url = process.env.TEST_DATABASE_URL;
  if (url) kinds.push({ name: 'postgres', open: () => openScratchPostgres(url) });
  return kinds;
}

/**
 * A fresh in-memory PGlite with every migration applied, started from a template: a new
 * cluster and its migrations take ~3 s (PGlite's initdb, in WebAssembly), loading a dump of
 * one well under 1 s, and the suite opens some hundred. The template is made once per set
 * of migrations and PGlite version, in node_modules/.cache, and shared by the test workers
 * (written to a temporary name, then renamed: a reader never sees half a file). Migrations
 * still run on open, so a stale template would only cost time.
 */
export async function openMigratedPglite(): Promise<Database> {
  templateBlob ??= pgliteTemplate();
  return openDatabase({ dataDir: 'memory://', pgliteTemplate: await templateBlob });
}
let templateBlob: Promise<Blob> | undefined;

async function pgliteTemplate(): Promise<Blob> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(process.versions));
  hash.update(realpathSync(require.resolve('@electric-sql/pglite'))); // its version is in pnpm's path
  for (const file of readdirSync(MIGRATIONS_FOLDER, { recursive: true, withFileTypes: true }).sort((a, b) =>
    join(a.parentPath, a.name).localeCompare(join(b.parentPath, b.name)),
  )) {
    if (!file.isFile()) continue;
    const path = join(file.parentPath, file.name);
    hash.update(path.slice(MIGRATIONS_FOLDER.length)).update(readFileSync(path));
  }
  const dir = join(MIGRATIONS_FOLDER, '..', 'node_modules', '.cache', 'sales-process');
  const file = join(dir, `pglite-template-${hash.digest('hex').slice(0, 16)}.tar`);
  if (existsSync(file)) return new Blob([readFileSync(file)]);
  const database = await openDatabase({ dataDir: 'memory://' });
  try {
    const blob = await database.dump!();
    mkdirSync(dir, { recursive: true });
    const partial = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(partial, new Uint8Array(await blob.arrayBuffer()));
    renameSync(partial, file);
    return blob;
  } finally {
    await database.close();
  }
}

/** A fresh database on the test server, dropped when closed. */
export async function openScratchPostgres(url: string): Promise<Database> {
  const name = `sp_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = pgClient(url, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const u = new URL(url);
  u.pathname = `/${name}`;
  const database = await openDatabase({ url: u.toString() });
  const close = database.close;
  database.close = async () => {
    await close();
    const a = pgClient(url, { max: 1, onnotice: () => {} });
    await a.unsafe(`drop database if exists ${name} with (force)`);
    await a.end();
  };
  return database;
}

export const TEST_SECRET = 'test-secret-0123456789abcdef0123456789';

export interface TestServer {
  server: SalesProcessServer;
  database: Database;
  clock: AdjustableClock;
  /** A request as a user of a tenant. */
  as(user: string, roles?: string[], tenant?: string): Requester;
  token(user: string, roles?: string[], tenant?: string): Promise<string>;
  close(): Promise<void>;
}

export interface Requester {
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  get(path: string): Promise<{ status: number; body: any }>;
  post(path: string, body?: unknown): Promise<{ status: number; body: any }>;
  put(path: string, body: unknown): Promise<{ status: number; body: any }>;
  patch(path: string, body: unknown): Promise<{ status: number; body: any }>;
  delete(path: string): Promise<{ status: number; body: any }>;
}

export async function startTestServer(
  database: Database,
  options: Partial<CreateServerOptions> = {},
): Promise<TestServer> {
  const clock = new AdjustableClock();
  const server = await createServer({
    database,
    authSecret: TEST_SECRET,
    dev: false,
    clock,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    // Tests drive the scheduler and the webhook worker themselves unless they ask otherwise.
    schedulerIntervalMs: 0,
    ...options,
    webhooks: { pollMs: 0, baseDelayMs: 20, ...options.webhooks },
  });
  const token = (user: string, roles: string[] = ['sales'], tenant = 't1') =>
    signToken(TEST_SECRET, { sub: user, tenant, roles }, clock.now());
  const as = (user: string, roles: string[] = ['sales'], tenant = 't1'): Requester => {
    const request = async (method: string, path: string, body?: unknown) => {
      const headers: Record<string, string> = { authorization: `Bearer ${await token(user, roles, tenant)}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await server.fetch(
        new Request(`http://test/api/v1${path}`, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
        }),
      );
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    };
    return {
      request,
      get: (p) => request('GET', p),
      post: (p, b) => request('POST', p, b ?? {}),
      put: (p, b) => request('PUT', p, b),
      patch: (p, b) => request('PATCH', p, b),
      delete: (p) => request('DELETE', p),
    };
  };
  return {
    server,
    database,
    clock,
    as,
    token,
    close: async () => {
      await server.close();
      await database.close();
    },
  };
}

/** Polls until `check` passes (returns truthy / does not throw), or fails after `ms`. */
export async function waitFor<T>(check: () => T | Promise<T>, ms = 5000, what = 'condition'): Promise<T> {
  const started = Date.now();
  let last: unknown;
  while (Date.now() - started < ms) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/** A TCP port on 127.0.0.1 that was free a moment ago, for a server started in another process. */
export const freePort = () =>
  new Promise<number>((done) => {
    const s = createNetServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => done(port));
    });
  });
