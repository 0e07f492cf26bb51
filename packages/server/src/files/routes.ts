import { createRoute } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { ApiError } from '../http/errors.js';
import { documented, featureRoutes, idParam, principalOf as P, route } from '../http/routes.js';
import { NOSNIFF } from '../http/security-headers.js';
import { MAX_FILE_BYTES, type FileService } from './service.js';

/** Stage form attachments: upload (raw body), download, and signed links that need no token. */
export function fileRoutes(s: { files: FileService }) {
  const api = featureRoutes();
  api.post(
    '/files',
    bodyLimit({
      maxSize: MAX_FILE_BYTES + 4096,
      onError: () => {
        throw new ApiError('PAYLOAD_TOO_LARGE', [
          { limit: MAX_FILE_BYTES, message: { zh: '文件不能超过 10 MiB', en: 'Files may not exceed 10 MiB' } },
        ]);
      },
    }),
    async (c) => {
      const header = c.req.header('x-file-name');
      const name =
        header !== undefined
          ? decodeFileName(header, 'header.x-file-name')
          : decodeFileName(c.req.query('name') ?? 'file', 'query.name');
      const data = new Uint8Array(await c.req.arrayBuffer());
      return c.json(
        await s.files.upload(P(c), name, c.req.header('content-type') ?? 'application/octet-stream', data),
        201,
      );
    },
  );
  api.get('/files/:id', async (c) => {
    const f = await s.files.get(P(c), c.req.param('id'));
    return c.body(f.data as Uint8Array<ArrayBuffer>, 200, downloadHeaders(f));
  });
  // Signed links: a URL that downloads one file for 5 minutes without a token, for `<a href>`
  // and `window.open` (which cannot send Authorization) with no token in the URL.
  api.openapi(
    route({
      method: 'post',
      path: '/files/{id}/link',
      tags: ['files'],
      request: { params: idParam },
      description:
        'A download link for the file, valid 5 minutes, that needs no Authorization: `{url, expiresAt}`; `url` is relative to the server.',
    }),
    async (c) => c.json(await s.files.link(P(c), c.req.valid('param').id), 200),
  );
  // Served without a token (the composition root's bearerAuth lets it through): the link is the proof.
  api.openapi(
    createRoute({
      method: 'get',
      path: '/files/{id}/content',
      tags: ['files'],
      security: [],
      description:
        'The bytes of a file by a signed link from `POST /files/{id}/link` (no Authorization). 403 FORBIDDEN for a wrong, tampered or expired link.',
      request: {
        params: idParam,
        query: z.object({ exp: z.string().max(20).optional(), sig: z.string().max(128).optional() }),
      },
      responses: {
        200: { description: 'The file, as an attachment' },
        403: { description: 'FORBIDDEN: the link is not valid or has expired' },
      },
    }),
    async (c) => {
      const { exp, sig } = c.req.valid('query');
      const f = await s.files.content(c.req.valid('param').id, exp, sig);
      return c.body(f.data as Uint8Array<ArrayBuffer>, 200, downloadHeaders(f)) as never;
    },
  );

  api.openAPIRegistry.registerPath({
    ...documented,
    method: 'post',
    path: '/files',
    tags: ['files'],
    summary: 'Upload a stage form attachment (the raw file as the body, any media type)',
    request: {
      headers: z.object({
        'x-file-name': z.string().optional().describe('The file name, percent-encoded (encodeURIComponent)'),
      }),
      query: z.object({
        name: z.string().optional().describe('The file name when there is no X-File-Name, percent-encoded'),
      }),
      body: { content: { '*/*': { schema: z.string().describe('binary') } }, required: true },
    },
    responses: {
      ...documented.responses,
      201: { description: '{id, name, size}: the value a `file` field takes' },
      413: { description: 'PAYLOAD_TOO_LARGE' },
    },
  });
  api.openAPIRegistry.registerPath({
    ...documented,
    method: 'get',
    path: '/files/{id}',
    tags: ['files'],
    summary: 'Download an attachment',
    request: { params: idParam },
  });
  return api;
}

/** Whether a request is a signed link's download (`GET /api/v1/files/{id}/content`), which needs no token. */
export const isSignedDownload = (method: string, path: string) =>
  (method === 'GET' || method === 'HEAD') && /^\/api\/v1\/files\/[^/]+\/content$/.test(path);

/** Whether a request is an upload (`POST /api/v1/files`), which has its own, larger body limit. */
export const isUpload = (method: string, path: string) => method === 'POST' && path === '/api/v1/files';

/** A file as a download: never rendered in place, never sniffed into something runnable. */
function downloadHeaders(f: { mime: string; name: string }): Record<string, string> {
  const ascii = f.name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(f.name).replace(
    /['()*]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return {
    'content-type': f.mime,
    'content-disposition': `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`,
    ...NOSNIFF,
    'content-security-policy': "default-src 'none'; sandbox",
    'cache-control': 'private, no-store',
  };
}

/** A percent-encoded file name (encodeURIComponent); a malformed escape is 400 at `where`. */
function decodeFileName(raw: string, where: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ApiError('VALIDATION_FAILED', [
      { path: where, message: { zh: '文件名的百分号编码不正确', en: 'The file name is not validly percent-encoded' } },
    ]);
  }
}
