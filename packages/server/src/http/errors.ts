import { ERROR_MESSAGES, ERROR_STATUS, type Detail, type ErrorCode, type LocalizedText } from '@sales-process/core';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ZodError } from 'zod';

/** A refusal with a stable code; rendered as API.md's envelope. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly details: Detail[] = [],
    readonly text: LocalizedText = ERROR_MESSAGES[code],
  ) {
    super(`${code}: ${text.en}`);
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

export function errorResponse(c: Context, error: ApiError): Response {
  const lang = preferredLang(c);
  return c.json(
    { error: { code: error.code, message: error.text[lang], messages: error.text, details: error.details } },
    error.status as ContentfulStatusCode,
  );
}

/** One detail per bad path, as VALIDATION_FAILED lists them. */
export function validationError(error: ZodError, where: 'body' | 'query' | 'param' = 'body'): ApiError {
  return new ApiError(
    'VALIDATION_FAILED',
    error.issues.map((issue) => ({
      path: [where, ...issue.path.map(String)].join('.'),
      code: issue.code,
      message: { zh: `${issue.path.join('.') || where}：${issue.message}`, en: `${issue.path.join('.') || where}: ${issue.message}` },
    })),
  );
}
