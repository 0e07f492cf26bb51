/** Hocuspocus with its database extension on our PostgreSQL, for bench/sync.ts. */
import { Database } from '@hocuspocus/extension-database';
import { Server } from '@hocuspocus/server';
import { pgClient } from '@sales-process/server';

const sql = pgClient(process.env.DATABASE_URL!, { max: 4, onnotice: () => {} });
await sql`create table if not exists hocuspocus_documents (name text primary key, data bytea not null)`;
const server = new Server({
  port: Number(process.env.PORT),
  address: '127.0.0.1',
  quiet: true,
  extensions: [
    new Database({
      fetch: async ({ documentName }) =>
        (await sql`select data from hocuspocus_documents where name = ${documentName}`)[0]?.data ?? null,
      store: async ({ documentName, state }) => {
        await sql`insert into hocuspocus_documents (name, data) values (${documentName}, ${state}) on conflict (name) do update set data = excluded.data`;
      },
    }),
  ],
});
await server.listen();
