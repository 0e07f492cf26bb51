import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pgClient } from './open.js';

/**
 * postgres.js on a fresh connection first asks for the array types (`fetch_types`). When
 * PostgreSQL drops that connection during the question (a restart, pg_terminate_backend,
 * a failover), the question's promise is rejected with nobody listening, and an unhandled
 * rejection ends a Node process: a dropped connection took the server down. Our patch
 * (patches/postgres@3.4.9.patch) settles it quietly; the caller's own query is retried or
 * rejected as before. A proxy in front of PostgreSQL cuts the connection exactly there.
 */
const url = process.env.TEST_DATABASE_URL;

/** Forwards to PostgreSQL; cuts the first `cuts` connections when the client asks for the types. */
async function cuttingProxy(target: URL, cuts: number, how: 'close' | 'reset') {
  let left = cuts;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    sockets.add(client).add(upstream);
    upstream.connect(Number(target.port || 5432), target.hostname);
    upstream.on('data', (chunk) => client.write(chunk));
    client.on('data', (chunk) => {
      if (left > 0 && chunk.includes('typcategory')) {
        left--;
        upstream.destroy();
        if (how === 'reset') client.resetAndDestroy();
        else client.destroy();
        return;
      }
      upstream.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const proxied = new URL(target);
  proxied.hostname = '127.0.0.1';
  proxied.port = String((server.address() as AddressInfo).port);
  return {
    url: proxied.toString(),
    cutsLeft: () => left,
    close: () =>
      new Promise<void>((done) => {
        for (const s of sockets) s.destroy();
        server.close(() => done());
      }),
  };
}

describe.skipIf(!url)('a connection lost while postgres.js fetches the array types', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    process.off('unhandledRejection', onUnhandled);
  });

  async function run(how: 'close' | 'reset', use: (sql: ReturnType<typeof pgClient>) => Promise<unknown>) {
    process.on('unhandledRejection', onUnhandled);
    unhandled.length = 0;
    const proxy = await cuttingProxy(new URL(url!), 1, how);
    cleanups.push(proxy.close);
    const sql = pgClient(proxy.url, { max: 1, onnotice: () => {} });
    cleanups.push(() => sql.end({ timeout: 1 }));
    const outcome = await use(sql).then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    // Let a rejection that nobody handles surface (Node reports them after a macrotask).
    await new Promise((done) => setTimeout(done, 50));
    expect(proxy.cutsLeft()).toBe(0);
    return outcome;
  }

  for (const how of ['close', 'reset'] as const) {
    it(`reserve() gets a connection, with no unhandled rejection (${how})`, async () => {
      const outcome = await run(how, async (sql) => {
        const reserved = await sql.reserve();
        try {
          return (await reserved`select 1 as one`)[0]!.one;
        } finally {
          reserved.release();
        }
      });
      expect(unhandled).toEqual([]);
      expect(outcome).toEqual({ value: 1 });
    });

    it(`a query is retried or answered with a connection error, with no unhandled rejection (${how})`, async () => {
      const outcome = await run(how, async (sql) => (await sql`select 1 as one`)[0]!.one);
      expect(unhandled).toEqual([]);
      if ('error' in outcome) expect((outcome.error as { code?: string }).code).toMatch(/^(CONNECTION_|ECONNRESET)/);
      else expect(outcome).toEqual({ value: 1 });
    });
  }

  it('reserve() on a cold pool without the type fetch gets a connection (it hung: porsager/postgres#1219)', async () => {
    const sql = pgClient(url!, { max: 1, fetch_types: false, onnotice: () => {} });
    cleanups.push(() => sql.end({ timeout: 1 }));
    const reserved = await sql.reserve();
    expect((await reserved`select 1 as one`)[0]!.one).toBe(1);
    reserved.release();
  });

  it('reserve() against a server that is not there is rejected, and leaves no stale waiter behind', async () => {
    const closedPort = new URL(url!);
    closedPort.hostname = '127.0.0.1';
    closedPort.port = '1';
    const sql = pgClient(closedPort.toString(), { max: 1, onnotice: () => {} });
    cleanups.push(() => sql.end({ timeout: 1 }));
    await expect(sql.reserve()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(sql`select 1`).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
