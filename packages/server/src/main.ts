/**
 * `pnpm start`: migrate, seed the demo once, serve the API and the built demo app.
 * Configuration by environment: PORT, DATABASE_URL, DATABASE_POOL, DATA_DIR, AUTH_SECRET, AUTH_JWKS_URL, LOG_LEVEL.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { createServer } from './app.js';
import { openDatabase } from './db/open.js';
import { seedDemo } from './seed/demo.js';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' });
const root = resolve(fileURLToPath(import.meta.url), '../../../..');

const pool = process.env.DATABASE_POOL ? Number(process.env.DATABASE_POOL) : undefined;
if (pool !== undefined && !(Number.isInteger(pool) && pool >= 1 && pool <= 1000)) {
  console.error(`DATABASE_POOL must be a whole number of connections from 1 to 1000, not "${process.env.DATABASE_POOL}"`);
  process.exit(2);
}
const database = await openDatabase({ url: process.env.DATABASE_URL || undefined, max: pool, dataDir: process.env.DATA_DIR ?? resolve(root, '.data') });
const server = await createServer({
  database,
  authSecret: process.env.AUTH_SECRET || undefined,
  jwksUrl: process.env.AUTH_JWKS_URL || undefined,
  logger,
  staticDir: resolve(root, 'apps/demo/dist'),
});
if (server.dev && (await seedDemo(server.services))) logger.info('seeded the demo tenant');
const { url } = await server.listen(Number(process.env.PORT ?? 8787), process.env.HOST ?? '0.0.0.0');
logger.info({ database: database.kind, dev: server.dev }, `sales process kit listening on ${url}`);
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
