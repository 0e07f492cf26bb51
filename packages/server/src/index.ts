export {
  createServer,
  MAX_BODY_BYTES,
  type CreateServerOptions,
  type SalesProcessServer,
  type Services,
} from './app.js';
export { openDatabase, migrateDatabase, pgClient, rowsOf, type Database, type Db } from './db/open.js';
export { AdjustableClock, type Clock } from './context.js';
export { signToken, type Principal } from './http/auth.js';
export { seedDemo, DEMO_TENANT, DEMO_USERS } from './seed/demo.js';
