/**
 * Embedding, as a host on another origin does it: a kit server (production mode, a shared
 * HS256 secret, ALLOWED_ORIGINS), and host servers on their own ports (so their own
 * origins), each serving its pages and a `/token` endpoint that mints tokens the way a
 * host's backend would. React and Vue hosts are built with Vite from the packed tarballs,
 * installed with npm in a scratch folder, never through the workspace.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { createServer, openDatabase, seedDemo, signToken, type SalesProcessServer } from '@sales-process/server';
import pino from 'pino';
import { packKit } from '../package/pack.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const HOSTS = resolve(import.meta.dirname, 'hosts');
export const KIT_DIR = resolve(ROOT, 'packages/elements/dist/kit');
export const SECRET = 'embedding-test-secret-0123456789abcdef';

/** The users the hosts sign in (the demo tenant's). */
const USERS: Record<string, string[]> = {
  admin: ['admin', 'analyst'],
  zhang: ['sales'],
  li: ['supervisor', 'sales', 'analyst'],
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
};

export interface Host {
  url: string;
  close(): Promise<void>;
}

/**
 * A host: static files from `root` (`%KIT%`, `%PROCESS%`, `%OPPORTUNITY%` in HTML replaced
 * from the query string, as a server-rendered portal page would) and `/token?user=`.
 */
export async function startHost(root: string, mint: (user: string) => Promise<string>): Promise<Host> {
  const server: Server = createHttpServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://host');
    if (url.pathname === '/token') {
      const user = url.searchParams.get('user') ?? '';
      if (!USERS[user]) return void res.writeHead(403).end();
      const token = await mint(user);
      return void res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' }).end(token);
    }
    const rel = normalize(url.pathname === '/' ? '/index.html' : url.pathname).replace(/^(\.\.[/\\])+/, '');
    const file = join(root, rel);
    if (!file.startsWith(root) || !existsSync(file)) return void res.writeHead(404).end();
    let body: string | Buffer = readFileSync(file);
    if (extname(file) === '.html') {
      const q = url.searchParams;
      body = body
        .toString('utf8')
        .replaceAll('%KIT%', q.get('kit') ?? '')
        .replaceAll('%PROCESS%', q.get('process') ?? '')
        .replaceAll('%OPPORTUNITY%', q.get('opportunity') ?? '');
    }
    res
      .writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'cache-control': 'no-store',
      })
      .end(body);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** A host's backend minting a token for its signed-in user, valid one hour on the kit server's clock. */
export function minter(kit: () => SalesProcessServer): (user: string) => Promise<string> {
  return (user) => signToken(SECRET, { sub: user, tenant: 'demo', roles: USERS[user]! }, kit().clock.now(), 3600);
}

/** The kit's server in production mode, trusting the given origins, serving the built kit. */
export async function startKitServer(
  allowedOrigins: string[],
): Promise<{ server: SalesProcessServer; url: string; close(): Promise<void> }> {
  if (!existsSync(join(KIT_DIR, 'sales-process-kit.js'))) throw new Error('build the kit first: pnpm build');
  const database = await openDatabase({ dataDir: 'memory://' });
  const server = await createServer({
    database,
    authSecret: SECRET,
    allowedOrigins,
    kitDir: KIT_DIR,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
  });
  await seedDemo(server.services);
  const { url } = await server.listen(0, '127.0.0.1');
  return {
    server,
    url,
    async close() {
      await server.close();
      await database.close();
    },
  };
}

/**
 * The hosts' files: the plain page as it is; the React and Vue hosts built with Vite in a scratch folder from the packed tarballs
 * (`npm install`, as an outside project would). Returns the folders to serve.
 */
export async function buildHosts(): Promise<{ plain: string; react: string; vue: string; scratch: string }> {
  const scratch = mkdtempSync(join(tmpdir(), 'sp-embed-hosts-'));
  // The plain page needs no build: the kit comes from the kit server by one script.
  cpSync(join(HOSTS, 'plain'), join(scratch, 'plain'), { recursive: true });
  cpSync(join(HOSTS, 'probe.js'), join(scratch, 'plain', 'probe.js'));
  const { core, elements } = await packKit(join(scratch, 'tarballs'));
  const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  const demoPkg = JSON.parse(readFileSync(join(ROOT, 'apps/demo/package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  writeFileSync(
    join(scratch, 'package.json'),
    JSON.stringify(
      {
        name: 'embedding-hosts',
        private: true,
        type: 'module',
        dependencies: {
          '@sales-process/core': `file:${core}`,
          '@sales-process/elements': `file:${elements}`,
          '@lit/react': demoPkg.dependencies['@lit/react'],
          react: demoPkg.dependencies.react,
          'react-dom': demoPkg.dependencies['react-dom'],
          '@types/react': demoPkg.devDependencies['@types/react'],
          '@types/react-dom': demoPkg.devDependencies['@types/react-dom'],
          vue: '3.5.45',
          vite: rootPkg.devDependencies.vite,
        },
      },
      null,
      2,
    ),
  );
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
    cwd: scratch,
    stdio: 'inherit',
    timeout: 240_000,
  });
  for (const app of ['react', 'vue']) {
    mkdirSync(join(scratch, app), { recursive: true });
    cpSync(join(HOSTS, app), join(scratch, app), { recursive: true });
    cpSync(join(HOSTS, 'probe.js'), join(scratch, app, 'probe.js'));
  }
  writeFileSync(
    join(scratch, 'vite.react.config.mjs'),
    `export default { root: 'react', base: './', logLevel: 'warn', build: { outDir: '../dist-react', emptyOutDir: true }, oxc: { jsx: { runtime: 'automatic' } } };\n`,
  );
  // The full build of Vue compiles the template string at run time.
  writeFileSync(
    join(scratch, 'vite.vue.config.mjs'),
    `export default { root: 'vue', base: './', logLevel: 'warn', resolve: { alias: { vue: 'vue/dist/vue.esm-bundler.js' } }, build: { outDir: '../dist-vue', emptyOutDir: true } };\n`,
  );
  // The React host type-checks against the package's own declarations.
  writeFileSync(
    join(scratch, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        target: 'ES2022',
        module: 'ESNext',
        moduleResolution: 'bundler',
        jsx: 'react-jsx',
        lib: ['ES2023', 'DOM', 'DOM.Iterable'],
        noEmit: true,
        allowJs: true,
        skipLibCheck: true,
      },
      include: ['react/main.tsx'],
    }),
  );
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
    cwd: scratch,
    stdio: 'inherit',
  });
  const vite = join(scratch, 'node_modules/vite/bin/vite.js');
  execFileSync(process.execPath, [vite, 'build', '--config', 'vite.react.config.mjs'], {
    cwd: scratch,
    stdio: 'inherit',
  });
  execFileSync(process.execPath, [vite, 'build', '--config', 'vite.vue.config.mjs'], {
    cwd: scratch,
    stdio: 'inherit',
  });
  return { plain: join(scratch, 'plain'), react: join(scratch, 'dist-react'), vue: join(scratch, 'dist-vue'), scratch };
}

export function removeScratch(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}
