import type { Detail } from '@sales-process/core';
import type { ApiClientError, KitErrorCode } from '../client/api-client.js';
import type { Messages } from './i18n.js';

/** Why an element cannot show what it should: `sp-error`'s detail, and what its error box says. */
export interface KitFailure {
  /** The server's error code, or `NETWORK` (server down, origin refused), `NO_TOKEN`. */
  code: KitErrorCode;
  /** The HTTP status; 0 when no answer came (network, no token, live connection). */
  status: number;
  message: string;
  details: Detail[];
  /** The server's message in both languages, when it gave one. */
  messages?: { zh: string; en: string };
  /** `live` when the live connection failed (not a request). */
  source?: 'live';
}

export const failureMessages = {
  NO_TOKEN: ['未登录：缺少访问令牌', 'Not signed in: no access token'],
  UNAUTHENTICATED: ['登录已过期或令牌无效', 'Your session has expired or the token is invalid'],
  FORBIDDEN: ['没有权限查看此内容', 'You do not have access to this'],
  NOT_FOUND: ['记录不存在', 'Not found'],
  NETWORK: ['无法连接服务器', 'Cannot reach the server'],
  LIVE: ['无法建立实时连接', 'Cannot open the live connection'],
  STALE_STATE: ['商机已被他人更新，已重新加载', 'The opportunity changed; reloaded'],
  other: ['加载失败', 'Could not load'],
  retry: ['重试', 'Retry'],
} satisfies Messages;

/** Any thrown value as a failure. */
export function toFailure(e: unknown): KitFailure {
  const err = e as Partial<ApiClientError> | null;
  if (err && typeof err === 'object' && typeof err.code === 'string')
    return {
      code: err.code,
      status: err.status ?? 0,
      message: err.message ?? String(err.code),
      details: err.details ?? [],
      ...(err.messages ? { messages: err.messages } : {}),
    };
  return { code: 'NETWORK', status: 0, message: (e as Error)?.message ?? String(e), details: [] };
}

/** Failures worth a retry button: the network, the server's transient troubles, auth a new token may fix. */
export const retryable = (f: KitFailure): boolean =>
  f.code === 'NETWORK' || f.code === 'UNAUTHENTICATED' || f.status === 0 || f.status >= 500 || f.status === 429;
