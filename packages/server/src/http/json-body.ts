import { RESERVED_KEYS, UNSTORABLE_CHAR as UNSTORABLE } from '@sales-process/core';
import type { MiddlewareHandler } from 'hono';
import { ApiError } from './errors.js';

/**
 * What every JSON request must be before a route's schema sees it. Bodies:
 * - with `Content-Type: application/json` (parameters and `+json` types too; the same
 *   media types the route validators accept; a charset, if given, is UTF-8): the body must
 *   be JSON in valid UTF-8 (an empty body is not JSON);
 * - with no `Content-Type`: the body must be empty (a bodiless command, e.g. `enable`);
 * - anything else is 415 `UNSUPPORTED_MEDIA_TYPE`.
 * A JSON body nested deeper than `MAX_JSON_DEPTH` is refused before it is parsed, so no
 * schema, serializer or database walks it. Then every string and key is checked: no NUL
 * (PostgreSQL cannot store it in text or jsonb), no unpaired UTF-16 surrogate (not Unicode;
 * it would be stored as U+FFFD or refused by jsonb), no non-finite number (`1e400` parses
 * as Infinity and would be stored as null), and no `__proto__`, `constructor` or
 * `prototype` key (they would set or shadow a prototype in free-form maps).
 * The path and query of every request are held to the same text rules.
 */
export const MAX_JSON_DEPTH = 32;
/** At most this many problems are listed; the rest are the same mistake again. */
const MAX_PROBLEMS = 20;

/** hono's and @hono/zod-openapi's test for a JSON request body, so both agree on what is JSON. */
export const JSON_CONTENT_TYPE = /^application\/([a-z-.]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i;
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** JSON is UTF-8 (RFC 8259): a charset parameter, if any, must say so. */
const UTF8_CHARSET = /^(?!.*;\s*charset\s*=)|;\s*charset\s*=\s*"?utf-8"?\s*(;|$)/i;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

export interface JsonRequestOptions {
  /** Requests whose body is not JSON (raw uploads): only their path and query are checked. */
  rawBody?: (method: string, path: string) => boolean;
}

export function jsonRequests(options: JsonRequestOptions = {}): MiddlewareHandler {
  return async (c, next) => {
    checkUrl(c.req.url);
    if (!WRITES.has(c.req.method) || options.rawBody?.(c.req.method, c.req.path)) return next();
    const type = c.req.header('content-type');
    if (type === undefined) {
      if (await hasBody(c.req)) throw unsupported(null);
      return next();
    }
    if (!JSON_CONTENT_TYPE.test(type) || !UTF8_CHARSET.test(type)) throw unsupported(type);
    // Decoded strictly (invalid UTF-8 would otherwise become U+FFFD without a word), once:
    // the route's validator parses the same text again from hono's body cache.
    let text: string;
    try {
      text = UTF8.decode(await c.req.arrayBuffer());
    } catch {
      throw new ApiError('VALIDATION_FAILED', [
        {
          path: 'body',
          code: 'invalid_utf8',
          message: { zh: '请求体不是合法的 UTF-8', en: 'The body is not valid UTF-8' },
        },
      ]);
    }
    // hono caches body reads as promises (its BodyCache type names the resolved values).
    (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(text);
    const problems = checkJsonText(text);
    if (problems.length) throw new ApiError('VALIDATION_FAILED', problems);
    return next();
  };
}

type Problem = { path: string; code: string; message: { zh: string; en: string } };

/** The problems of a JSON body (empty when it may go on to its route's schema). */
export function checkJsonText(text: string): Problem[] {
  const depth = depthOf(text, MAX_JSON_DEPTH);
  if (depth > MAX_JSON_DEPTH)
    return [
      {
        path: 'body',
        code: 'too_deep',
        message: {
          zh: `JSON 嵌套超过 ${MAX_JSON_DEPTH} 层`,
          en: `The JSON is nested deeper than ${MAX_JSON_DEPTH} levels`,
        },
      },
    ];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return [
      {
        path: 'body',
        code: 'invalid_json',
        message: { zh: '请求体不是合法的 JSON', en: 'The body is not valid JSON' },
      },
    ];
  }
  return checkJsonValue(value, 'body');
}

/**
 * How deep the arrays and objects of a JSON text nest, counted without parsing it; stops
 * counting past `limit`. Brackets inside strings do not count.
 */
export function depthOf(text: string, limit = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92 /* \ */) i++;
      else if (ch === 34 /* " */) inString = false;
    } else if (ch === 34) inString = true;
    else if (ch === 91 /* [ */ || ch === 123 /* { */) {
      if (++depth > max && (max = depth) > limit) return max;
    } else if (ch === 93 /* ] */ || ch === 125 /* } */) depth--;
  }
  return max;
}

/** Text rules on every string, key and number of a parsed JSON value (iterative: no stack depth). */
export function checkJsonValue(root: unknown, rootPath: string): Problem[] {
  const problems: Problem[] = [];
  // Children go on the stack last to first, so problems come in document order.
  const stack: [unknown, string, string?][] = [[root, rootPath]];
  while (stack.length && problems.length < MAX_PROBLEMS) {
    const [value, path, key] = stack.pop()!;
    if (key !== undefined) {
      if (RESERVED_KEYS.includes(key)) {
        problems.push({
          path,
          code: 'reserved_key',
          message: { zh: `${path}：不允许使用键名 ${key}`, en: `${path}: the key ${key} is not allowed` },
        });
        continue;
      }
      if (UNSTORABLE.test(key)) {
        problems.push(badText(path));
        continue;
      }
    }
    if (typeof value === 'string') {
      if (UNSTORABLE.test(value)) problems.push(badText(path));
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value))
        problems.push({
          path,
          code: 'not_finite',
          message: { zh: `${path}：数值超出范围`, en: `${path}: the number is out of range` },
        });
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push([value[i], `${path}.${i}`]);
    } else if (value !== null && typeof value === 'object') {
      const keys = Object.keys(value);
      for (let i = keys.length - 1; i >= 0; i--)
        stack.push([(value as Record<string, unknown>)[keys[i]!], `${path}.${keys[i]}`, keys[i]]);
    }
  }
  return problems;
}

const badText = (path: string): Problem => ({
  path,
  code: 'invalid_text',
  message: {
    zh: `${path}：含有不允许的字符（NUL 或不成对的代理项）`,
    en: `${path}: contains a character that is not allowed (NUL or an unpaired surrogate)`,
  },
});

/** NUL (or an unpaired surrogate) in the decoded path or in a query parameter: 400. */
function checkUrl(url: string) {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  const q = url.indexOf('?', start);
  const path = q < 0 ? url.slice(start) : url.slice(start, q);
  const problems: Problem[] = [];
  if (path.includes('%')) {
    let decoded = '';
    try {
      decoded = decodeURIComponent(path);
    } catch {
      // A malformed escape stays as written (the router does the same): no NUL comes of it.
    }
    if (UNSTORABLE.test(decoded)) problems.push(badText('path'));
  }
  if (q >= 0)
    for (const [key, value] of new URLSearchParams(url.slice(q + 1)))
      if (UNSTORABLE.test(key) || UNSTORABLE.test(value))
        problems.push(badText(`query.${key.replace(UNSTORABLE, '?')}`));
  if (problems.length) throw new ApiError('VALIDATION_FAILED', problems.slice(0, MAX_PROBLEMS));
}

async function hasBody(req: {
  header(name: string): string | undefined;
  arrayBuffer(): Promise<ArrayBuffer>;
}): Promise<boolean> {
  const length = req.header('content-length');
  if (length !== undefined && req.header('transfer-encoding') === undefined) return Number(length) !== 0;
  return (await req.arrayBuffer()).byteLength > 0;
}

function unsupported(type: string | null) {
  return new ApiError('UNSUPPORTED_MEDIA_TYPE', [
    {
      path: 'header.content-type',
      received: type?.slice(0, 100) ?? null,
      expected: 'application/json',
      message:
        type === null
          ? { zh: '请求体需要 Content-Type: application/json', en: 'A body needs Content-Type: application/json' }
          : {
              zh: `不支持的 Content-Type：${type.slice(0, 100)}，应为 application/json`,
              en: `Unsupported Content-Type ${type.slice(0, 100)}; send application/json`,
            },
    },
  ]);
}
