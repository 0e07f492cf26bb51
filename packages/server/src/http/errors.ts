import { ERROR_MESSAGES, ERROR_STATUS, type Detail, type ErrorCode, type LocalizedText } from '@sales-process/core';
import type { Context, ErrorHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from 'pino';
import { z, type ZodError } from 'zod';
import { MAX_BODY_BYTES } from './body-limit.js';
import type { AppEnv } from './env.js';

/** A refusal with a stable code; rendered as API.md's envelope. */
export class ApiError extends Error {
  /** Seconds, sent as `Retry-After` (RATE_LIMITED, UNAVAILABLE). */
  retryAfter?: number;

  constructor(
    readonly code: ErrorCode,
    readonly details: Detail[] = [],
    readonly text: LocalizedText = ERROR_MESSAGES[code],
  ) {
    super(`${code}: ${text.en}`);
  }

  withRetryAfter(seconds: number): this {
    this.retryAfter = Math.max(1, Math.ceil(seconds));
    return this;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export const notFound = (what = 'record') =>
  new ApiError('NOT_FOUND', [], { zh: `${whatZh[what] ?? '记录'}不存在`, en: `No such ${what}` });
const whatZh: Record<string, string> = {
  process: '销售流程',
  opportunity: '商机',
  customer: '客户',
  department: '部门',
  contact: '联系人',
  approval: '审批',
  notification: '通知',
  route: '接口',
  user: '用户',
  file: '文件',
};

/** zh unless the client prefers English. */
export function preferredLang(c: Context): 'zh' | 'en' {
  const accept = c.req.header('accept-language') ?? '';
  return /^\s*en/i.test(accept) ? 'en' : 'zh';
}

/** API.md's envelope of a refusal, in one language; the one builder of it. */
function envelope(error: ApiError, lang: 'zh' | 'en') {
  return { error: { code: error.code, message: error.text[lang], messages: error.text, details: error.details } };
}

export function errorResponse(c: Context, error: ApiError): Response {
  return c.json(
    envelope(error, preferredLang(c)),
    error.status as ContentfulStatusCode,
    error.retryAfter === undefined ? undefined : { 'retry-after': String(error.retryAfter) },
  );
}

/** The envelope as bytes, for answers written outside Hono (refused upgrades, Node's parser errors). */
export function envelopeBody(error: ApiError, lang: 'zh' | 'en' = 'zh'): string {
  return JSON.stringify(envelope(error, lang));
}

// postgres.js connection errors, Node socket errors, and SQLSTATEs of a server going away
// (class 08 connection exceptions, 57P01–57P03 shutdown / not accepting, 53300 no slots).
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);

/** Whether an error (or one of its causes, as Drizzle wraps them) is a lost or refused database connection. */
export function isConnectionLost(error: unknown): boolean {
  for (
    let e = error, depth = 0;
    e && typeof e === 'object' && depth < 5;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
    const errors = (e as { errors?: unknown }).errors; // AggregateError from a dual-stack connect
    if (Array.isArray(errors) && errors.some((inner) => isConnectionLost(inner))) return true;
    // PGlite: an instance that was closed (or whose WebAssembly runtime died).
    if (e instanceof Error && /^PGlite is closed/.test(e.message)) return true;
  }
  return false;
}

export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** A framework exception's status as the envelope code it stands for. */
export function codeForStatus(status: number): ErrorCode {
  const byStatus: Record<number, ErrorCode> = {
    400: 'VALIDATION_FAILED',
    401: 'UNAUTHENTICATED',
    403: 'FORBIDDEN',
    404: 'NOT_FOUND',
    405: 'NOT_FOUND',
    409: 'CONFLICT',
    413: 'PAYLOAD_TOO_LARGE',
    429: 'RATE_LIMITED',
    503: 'UNAVAILABLE',
  };
  const declared = (Object.keys(ERROR_STATUS) as ErrorCode[]).find((code) => ERROR_STATUS[code] === status);
  return byStatus[status] ?? declared ?? (status >= 400 && status < 500 ? 'VALIDATION_FAILED' : 'INTERNAL');
}

/** One detail per bad path, as VALIDATION_FAILED lists them. */
export function validationError(error: ZodError, where: 'body' | 'query' | 'param' = 'body'): ApiError {
  return new ApiError(
    'VALIDATION_FAILED',
    error.issues.map((issue) => ({
      path: [where, ...issue.path.map(String)].join('.'),
      code: issue.code,
      message: {
        zh: `${issue.path.join('.') || where}：${issue.message}`,
        en: `${issue.path.join('.') || where}: ${issue.message}`,
      },
    })),
  );
}

const badJson = () =>
  new ApiError('VALIDATION_FAILED', [
    { path: 'body', message: { zh: '请求体不是合法的 JSON', en: 'The body is not valid JSON' } },
  ]);

/**
 * Every error a request ends in, as API.md's envelope (`app.onError`): refusals as they are,
 * schema and parse failures as 400, framework refusals by their status, a lost database as
 * 503 with Retry-After, anything else as 500 (logged).
 */
export function errorHandler(logger: Logger): ErrorHandler<AppEnv> {
  return (error, c) => {
    if (error instanceof ApiError) return errorResponse(c, error);
    if (error instanceof z.ZodError) return errorResponse(c, validationError(error));
    if (error instanceof HTTPException) {
      if (error.status === 413)
        return errorResponse(
          c,
          new ApiError('PAYLOAD_TOO_LARGE', [
            { limit: MAX_BODY_BYTES, message: { zh: '请求体不能超过 1 MiB', en: 'The body may not exceed 1 MiB' } },
          ]),
        );
      if (error.status === 400) return errorResponse(c, badJson());
      // Any other framework refusal: its status as the envelope's code.
      const code = codeForStatus(error.status);
      if (code !== 'INTERNAL') return errorResponse(c, new ApiError(code));
    }
    if (error instanceof SyntaxError) return errorResponse(c, badJson());
    if (error instanceof URIError)
      return errorResponse(
        c,
        new ApiError('VALIDATION_FAILED', [
          { path: 'request', message: { zh: '百分号编码不合法', en: 'Malformed percent-encoding' } },
        ]),
      );
    if (isConnectionLost(error)) {
      logger.warn({ err: error, requestId: c.get('requestId') }, 'database unavailable');
      return errorResponse(c, new ApiError('UNAVAILABLE').withRetryAfter(DATABASE_RETRY_AFTER_SECONDS));
    }
    logger.error(
      { err: error, requestId: c.get('requestId'), method: c.req.method, path: c.req.path },
      'unhandled error',
    );
    return errorResponse(c, new ApiError('INTERNAL'));
  };
}
