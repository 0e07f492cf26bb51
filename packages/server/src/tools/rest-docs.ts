/**
 * `pnpm docs:api`: writes docs/rest-api.md, the REST reference, from the OpenAPI document
 * the server serves (so the reference and the server cannot drift apart: a test compares).
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  additionalProperties?: boolean | Schema;
  $ref?: string;
  description?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  default?: unknown;
};
type Operation = {
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: { name: string; in: string; required?: boolean; schema?: Schema; description?: string }[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string }>;
};
export type OpenApiDocument = {
  info?: { title?: string; version?: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
};

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** A schema in a few words: `string (≤ 200)`, `"a" | "b"`, `array of object`. */
function typeOf(s: Schema | undefined, doc: OpenApiDocument, depth = 0): string {
  if (!s) return 'any';
  if (s.$ref) {
    const name = s.$ref.split('/').pop()!;
    return depth > 2 ? name : typeOf(doc.components?.schemas?.[name], doc, depth + 1);
  }
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  const union = s.anyOf ?? s.oneOf;
  if (union) return union.map((u) => typeOf(u, doc, depth + 1)).join(' \\| ');
  if (s.allOf) return s.allOf.map((u) => typeOf(u, doc, depth + 1)).join(' & ');
  const type = Array.isArray(s.type) ? s.type.join(' \\| ') : s.type;
  if (type === 'array')
    return `array of ${typeOf(s.items, doc, depth + 1)}${s.maxItems !== undefined ? ` (≤ ${s.maxItems})` : ''}`;
  if (type === 'object' && !s.properties && s.additionalProperties && typeof s.additionalProperties === 'object')
    return `map of ${typeOf(s.additionalProperties, doc, depth + 1)}`;
  const bounds: string[] = [];
  if (s.format) bounds.push(s.format);
  if (s.minimum !== undefined) bounds.push(`≥ ${s.minimum}`);
  if (s.maximum !== undefined) bounds.push(`≤ ${s.maximum}`);
  if (s.maxLength !== undefined) bounds.push(`≤ ${s.maxLength} chars`);
  return `${type ?? 'any'}${bounds.length ? ` (${bounds.join(', ')})` : ''}`;
}

function resolveRef(s: Schema | undefined, doc: OpenApiDocument): Schema | undefined {
  if (s?.$ref) return doc.components?.schemas?.[s.$ref.split('/').pop()!];
  return s;
}

const cell = (text: string) =>
  text
    .replace(/\n/g, ' ')
    .replace(/\|/g, '\\|')
    .replace(/\\\\\|/g, '\\|');

/** The Markdown reference of every operation, grouped by tag, in path order. */
export function renderRestReference(doc: OpenApiDocument): string {
  const byTag = new Map<string, string[]>();
  for (const path of Object.keys(doc.paths).sort()) {
    for (const method of METHODS) {
      const op = doc.paths[path]![method];
      if (!op) continue;
      const lines: string[] = [`### \`${method.toUpperCase()} ${path}\``, ''];
      if (op.summary) lines.push(op.summary, '');
      if (op.description) lines.push(op.description, '');
      const params = op.parameters ?? [];
      if (params.length) {
        lines.push('| parameter | in | type | required |', '| --- | --- | --- | --- |');
        for (const p of params)
          lines.push(`| \`${p.name}\` | ${p.in} | ${cell(typeOf(p.schema, doc))} | ${p.required ? 'yes' : ''} |`);
        lines.push('');
      }
      const content = op.requestBody?.content;
      if (content) {
        const [type, media] = Object.entries(content)[0]!;
        const schema = resolveRef(media.schema, doc);
        lines.push(`Body (\`${type}\`${op.requestBody?.required ? '' : ', optional'}):`, '');
        if (schema?.properties) {
          lines.push('| field | type | required |', '| --- | --- | --- |');
          for (const [name, prop] of Object.entries(schema.properties))
            lines.push(
              `| \`${name}\` | ${cell(typeOf(prop, doc))} | ${schema.required?.includes(name) ? 'yes' : ''} |`,
            );
          lines.push('');
        } else lines.push(`${typeOf(schema, doc)}`, '');
      }
      const responses = Object.entries(op.responses ?? {});
      if (responses.length)
        lines.push(`Answers: ${responses.map(([code, r]) => `${code} ${r.description ?? ''}`.trim()).join(' · ')}`, '');
      const tag = op.tags?.[0] ?? 'other';
      byTag.set(tag, [...(byTag.get(tag) ?? []), lines.join('\n')]);
    }
  }
  const out = [
    '# REST reference',
    '',
    `Generated by \`pnpm docs:api\` from the OpenAPI document the server serves at \`/api/v1/openapi.json\` (${doc.info?.title ?? ''} ${doc.info?.version ?? ''}). Do not edit by hand.`,
    '',
    'Every path is under `/api/v1`. Requests carry `Authorization: Bearer <JWT>`; JSON bodies need `Content-Type: application/json`. Any non-2xx answer has the body `{"error": {"code", "message", "details"}}`.',
    '',
  ];
  for (const tag of [...byTag.keys()].sort()) out.push(`## ${tag}`, '', ...byTag.get(tag)!);
  return `${out.join('\n').trimEnd()}\n`;
}

/** The OpenAPI document of a freshly built server (embedded database, nothing seeded). */
export async function currentOpenApi(): Promise<OpenApiDocument> {
  const { createServer } = await import('../app.js');
  const { openDatabase } = await import('../db/open.js');
  const pino = (await import('pino')).default;
  const database = await openDatabase({ dataDir: 'memory://' });
  const server = await createServer({
    database,
    authSecret: 'docs-only-secret-0123456789abcdef',
    logger: pino({ level: 'silent' }),
    schedulerIntervalMs: 0,
  });
  try {
    const res = await server.fetch(new Request('http://docs/api/v1/openapi.json'));
    return (await res.json()) as OpenApiDocument;
  } finally {
    await server.close();
    await database.close();
  }
}

export const REST_REFERENCE = resolve(fileURLToPath(import.meta.url), '../../../../../docs/rest-api.md');

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(REST_REFERENCE, renderRestReference(await currentOpenApi()));
  console.log(`wrote ${REST_REFERENCE}`);
}
