/**
 * `pnpm start`: migrate, seed the demo once, serve the API and the built demo app.
 * Configuration by environment: PORT, HOST, DATABASE_URL, DATABASE_POOL, DATA_DIR, AUTH_SECRET, AUTH_JWKS_URL,
 * AUTH_MAX_TOKEN_TTL, ALLOWED_ORIGINS, LINK_SECRET, WEBHOOK_ALLOW_PRIVATE, WEBHOOK_ALLOW_HTTP, LOG_LEVEL.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { createServer } from './app.js';
import { warmDatabase, warmLiveEdits, warmLiveEditsInSlices } from './live/warm-up.js';
import { openDatabase } from './db/open.js';
import { normalizeOrigins } from './http/cors.js';
import { seedDemo } from './seed/demo.js';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' });
const root = resolve(fileURLToPath(import.meta.url), '../../../..');

const pool = process.env.DATABASE_POOL ? Number(process.env.DATABASE_POOL) : undefined;
if (pool !== undefined && !(Number.isInteger(pool) && pool >= 1 && pool <= 1000)) {
  console.error(
    `DATABASE_POOL must be a whole number of connections from 1 to 1000, not "${process.env.DATABASE_POOL}"`,
  );
  process.exit(2);
}
const ttl = process.env.AUTH_MAX_TOKEN_TTL ? Number(process.env.AUTH_MAX_TOKEN_TTL) : undefined;
if (ttl !== undefined && !(Number.isInteger(ttl) && ttl >= 60)) {
  console.error(
    `AUTH_MAX_TOKEN_TTL must be a whole number of seconds, at least 60, not "${process.env.AUTH_MAX_TOKEN_TTL}"`,
  );
  process.exit(2);
}
const port = Number(process.env.PORT ?? 8787);
const dev = !process.env.AUTH_SECRET && !process.env.AUTH_JWKS_URL;
// Dev mode mints admin tokens for anyone who asks: only this machine may ask, unless HOST says otherwise.
const host = process.env.HOST || (dev ? '127.0.0.1' : '0.0.0.0');
// Pages on these origins may use the API and live documents. Dev mode: the server's own.
let allowedOrigins: string[];
try {
  allowedOrigins = normalizeOrigins(
    process.env.ALLOWED_ORIGINS !== undefined
      ? process.env.ALLOWED_ORIGINS.split(',')
      : dev
        ? [`http://localhost:${port}`, `http://127.0.0.1:${port}`]
        : [],
  );
} catch (e) {
  console.error((e as Error).message);
  process.exit(2);
}
const database = await openDatabase({
  url: process.env.DATABASE_URL || undefined,
  max: pool,
  dataDir: process.env.DATA_DIR ?? resolve(root, '.data'),
});
const server = await createServer({
  database,
  authSecret: process.env.AUTH_SECRET || undefined,
  jwksUrl: process.env.AUTH_JWKS_URL || undefined,
  logger,
  staticDir: resolve(root, 'apps/demo/dist'),
  kitDir: resolve(root, 'packages/elements/dist/kit'),
  allowedOrigins,
  maxTokenTtlSeconds: ttl,
  linkSecret: process.env.LINK_SECRET || undefined,
  // Webhooks reach only public https: targets unless these say otherwise (local receivers).
  webhooks: {
    allowPrivate: process.env.WEBHOOK_ALLOW_PRIVATE === 'true',
    allowHttp: process.env.WEBHOOK_ALLOW_HTTP !== undefined ? process.env.WEBHOOK_ALLOW_HTTP === 'true' : undefined,
  },
});
if (server.dev && (await seedDemo(server.services))) logger.info('seeded the demo tenant');
// The first clients of a fresh process get a compiled edit path and an open pool (live/warm-up.ts).
const warm = {
  liveEditsMs: Math.round(warmLiveEdits()),
  databaseMs: Math.round(await warmDatabase(database, pool, (n) => server.services.sync.prepareAppend(n))),
};
const { url } = await server.listen(port, host);
// More of the same between the first requests, until V8 has optimized the edit path.
void warmLiveEditsInSlices().then(
  (ms) => logger.debug({ ms: Math.round(ms) }, 'warmed the live edit path'),
  (err) => logger.warn({ err }, 'warming the live edit path failed'),
);
logger.info(
  { database: database.kind, dev: server.dev, host, allowedOrigins, warm },
  `sales process kit listening on ${url}`,
);
console.log(`\n  Sales process kit: ${url}  (database: ${database.kind}${server.dev ? ', dev mode' : ''})\n`);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  const force = setTimeout(() => process.exit(1), 10_000);
  force.unref();
  await server.close();
  await database.close();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
