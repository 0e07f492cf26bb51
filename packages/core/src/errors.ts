/**
 * The stable error codes of API.md, their HTTP statuses and their human messages.
 * Core refusals carry the code; the server wraps them into the envelope
 * `{error: {code, message, details}}`.
 */
export const ERROR_STATUS = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  VALIDATION_FAILED: 400,
  CONFLICT: 409,
  STALE_STATE: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  STAGE_GATES_UNMET: 422,
  ORDER_REQUIRED: 422,
  ORDER_STAGE_NOT_REACHED: 422,
  PROCESS_DISABLED: 422,
  PROCESS_NOT_APPLICABLE: 422,
  PROCESS_IN_USE: 409,
  INVALID_TRANSITION: 422,
  APPROVAL_PENDING: 409,
  PUBLISH_MAPPING_REQUIRED: 422,
  DEFINITION_INVALID: 422,
  RATE_LIMITED: 429,
  UNAVAILABLE: 503,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface LocalizedText {
  zh: string;
  en: string;
}

export const ERROR_MESSAGES: Record<ErrorCode, LocalizedText> = {
  UNAUTHENTICATED: { zh: '未登录或令牌无效', en: 'Missing, expired or invalid token' },
  FORBIDDEN: { zh: '没有权限执行此操作', en: 'You are not allowed to do this' },
  NOT_FOUND: { zh: '记录不存在', en: 'Not found' },
  VALIDATION_FAILED: { zh: '输入不合法', en: 'The input is not valid' },
  CONFLICT: { zh: '与当前状态冲突', en: 'This conflicts with the current state' },
  STALE_STATE: {
    zh: '商机已被他人更新，请刷新后重试',
    en: 'The opportunity has changed since you loaded it; reload and try again',
  },
  PAYLOAD_TOO_LARGE: { zh: '请求内容过大', en: 'The request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: {
    zh: '请求体应为 JSON（Content-Type: application/json）',
    en: 'The body must be JSON (Content-Type: application/json)',
  },
  STAGE_GATES_UNMET: { zh: '阶段完成条件未满足', en: 'The stage cannot be completed yet' },
  ORDER_REQUIRED: { zh: '必须新建订单方可赢单', en: 'An order must be created before winning' },
  ORDER_STAGE_NOT_REACHED: {
    zh: '完成售前指定阶段后方可新建订单',
    en: 'Orders can be created only after the configured pre-sale stage is completed',
  },
  PROCESS_DISABLED: { zh: '销售流程已停用', en: 'The sales process is disabled' },
  PROCESS_NOT_APPLICABLE: {
    zh: '该销售流程不适用于负责人所在部门',
    en: "The sales process does not apply to the owner's department",
  },
  PROCESS_IN_USE: {
    zh: '已有商机关联此销售流程，不能删除；如不再使用请停用',
    en: 'Opportunities use this process, so it cannot be deleted; disable it instead',
  },
  INVALID_TRANSITION: { zh: '当前状态下不能执行此操作', en: 'This move is not allowed now' },
  APPROVAL_PENDING: { zh: '已在等待直属上级确认', en: 'An approval is already pending' },
  PUBLISH_MAPPING_REQUIRED: {
    zh: '有商机处于被删除的阶段，请为其选择目标阶段',
    en: 'Opportunities sit in removed stages: choose a target stage for each',
  },
  DEFINITION_INVALID: { zh: '销售流程配置有误，无法发布', en: 'The process definition cannot be published' },
  RATE_LIMITED: { zh: '请求过于频繁', en: 'Too many requests' },
  UNAVAILABLE: { zh: '服务暂时不可用，请稍后重试', en: 'The service is briefly unavailable; try again shortly' },
  INTERNAL: { zh: '服务器内部错误', en: 'Internal server error' },
};

/** A refusal from core: a code plus the details the envelope lists. */
export interface Refusal {
  code: ErrorCode;
  details: Detail[];
}

/** One unmet condition or bad path; always has a human message in both languages. */
export interface Detail {
  message: LocalizedText;
  [key: string]: unknown;
}
