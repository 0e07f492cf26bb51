import { z } from 'zod';
import type { LocalizedText } from './errors.js';
import {
  FIELD_TYPES,
  MAX,
  SYSTEM_FIELDS,
  fieldKeySchema,
  fieldOptionSchema,
  localizedTextSchema,
  type FieldDefinition,
  type FieldObject,
} from './fields.js';

export const stageIdSchema = z
  .string()
  .min(1)
  .max(MAX.key)
  .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and -');

const days = z.number().int().min(0).max(MAX.days).nullable();

export const stageFieldSchema = z.object({
  source: z.enum(['customer', 'opportunity', 'stage']),
  key: fieldKeySchema,
  required: z.boolean().default(false),
  /** Stage-only fields carry their own label and type. */
  label: localizedTextSchema.optional(),
  type: z.enum(FIELD_TYPES).optional(),
  options: z.array(fieldOptionSchema).max(MAX.options).optional(),
});
export type StageField = z.infer<typeof stageFieldSchema>;

const stageBase = {
  id: stageIdSchema,
  /** Empty while being typed in a draft; a publishable stage needs a name. */
  name: z.string().max(MAX.name).default(''),
  requirements: z.string().max(MAX.requirements).default(''),
  /** Remind after this many days in the stage; null or 0 = no reminder. */
  remindAfterDays: days.default(null),
  requiresApproval: z.boolean().default(false),
  fields: z.array(stageFieldSchema).max(MAX.fieldsPerStage).default([]),
};

export const presaleStageSchema = z.object({
  ...stageBase,
  winRate: z.number().min(0).max(100).default(0),
  minContacts: z.number().int().min(0).max(100).default(0),
});
export type PresaleStage = z.infer<typeof presaleStageSchema>;

export const postsaleStageSchema = z.object({
  ...stageBase,
  /** After this many days the stage is overdue (超时); null = never. */
  overdueAfterDays: days.default(null),
});
export type PostsaleStage = z.infer<typeof postsaleStageSchema>;

export type Stage = PresaleStage | PostsaleStage;

const terminalStateSchema = (name: string, winRate: number) =>
  z
    .object({ name: z.string().max(MAX.name).default(name), winRate: z.number().min(0).max(100).default(winRate) })
    .default({ name, winRate });

export const TERMINALS = ['won', 'lost', 'invalid'] as const;
export type Terminal = (typeof TERMINALS)[number];

export const processRulesSchema = z.object({
  orderRequiredToWin: z.boolean().default(false),
  orderAllowedAfterStage: stageIdSchema.nullable().default(null),
  allowSkipStages: z.boolean().default(false),
  allowMoveBack: z.boolean().default(true),
});
export type ProcessRules = z.infer<typeof processRulesSchema>;

/**
 * The structural ("draft") level: types, ranges and sizes. Co-editing never stores
 * anything that fails this.
 */
export const processDefinitionSchema = z.object({
  presale: z.array(presaleStageSchema).max(MAX.stages).default([]),
  postsale: z.array(postsaleStageSchema).max(MAX.stages).default([]),
  terminal: z
    .object({
      won: terminalStateSchema('赢单', 100),
      lost: terminalStateSchema('输单', 0),
      invalid: terminalStateSchema('无效', 0),
    })
    .default({ won: { name: '赢单', winRate: 100 }, lost: { name: '输单', winRate: 0 }, invalid: { name: '无效', winRate: 0 } }),
  rules: processRulesSchema.default({
    orderRequiredToWin: false,
    orderAllowedAfterStage: null,
    allowSkipStages: false,
    allowMoveBack: true,
  }),
});
export type ProcessDefinition = z.infer<typeof processDefinitionSchema>;
export type ProcessDefinitionInput = z.input<typeof processDefinitionSchema>;

/** What admins co-edit: the definition plus the process' name and scope. */
export const processDraftSchema = z.object({
  name: z.string().max(MAX.name).default(''),
  departments: z.array(z.string().min(1).max(MAX.key * 2)).max(MAX.departments).default([]),
  definition: processDefinitionSchema.default(processDefinitionSchema.parse({})),
});
export type ProcessDraft = z.infer<typeof processDraftSchema>;

export interface DefinitionProblem {
  path: (string | number)[];
  code: string;
  severity: 'error' | 'warning';
  message: LocalizedText;
}

/** The structural check; returns the parsed definition or its problems. */
export function parseDraft(input: unknown):
  | { ok: true; draft: ProcessDraft }
  | { ok: false; problems: DefinitionProblem[] } {
  const result = processDraftSchema.safeParse(input);
  if (result.success) return { ok: true, draft: result.data };
  return { ok: false, problems: zodProblems(result.error) };
}

export function zodProblems(error: z.ZodError, prefix: (string | number)[] = []): DefinitionProblem[] {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))],
    code: 'INVALID_' + issue.code.toUpperCase(),
    severity: 'error' as const,
    message: { zh: `格式不正确：${issue.message}`, en: issue.message },
  }));
}

/** Field definitions the publishable check resolves references against. */
export type FieldCatalog = Record<FieldObject, readonly FieldDefinition[]>;

/**
 * The publishable level: on top of structure, what a process needs to run.
 * Errors block publishing; warnings (e.g. win rates going down) do not.
 */
export function checkPublishable(def: ProcessDefinition, catalog?: FieldCatalog, name?: string): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  const err = (path: (string | number)[], code: string, zh: string, en: string) =>
    problems.push({ path, code, severity: 'error', message: { zh, en } });
  const warn = (path: (string | number)[], code: string, zh: string, en: string) =>
    problems.push({ path, code, severity: 'warning', message: { zh, en } });

  if (name !== undefined && name.trim() === '') err(['name'], 'NAME_REQUIRED', '请填写销售流程名称', 'The process needs a name');
  if (def.presale.length === 0) err(['presale'], 'PRESALE_REQUIRED', '至少需要一个售前阶段', 'At least one pre-sale stage is needed');

  const ids = new Map<string, string>();
  const names = new Map<string, string>();
  (['presale', 'postsale'] as const).forEach((phase) => {
    def[phase].forEach((stage, i) => {
      const at = [phase, i];
      if (ids.has(stage.id)) err([...at, 'id'], 'DUPLICATE_STAGE_ID', `阶段标识 ${stage.id} 重复`, `Stage id ${stage.id} is used twice`);
      ids.set(stage.id, phase);
      const trimmed = stage.name.trim();
      if (trimmed === '') err([...at, 'name'], 'STAGE_NAME_REQUIRED', '阶段名称不能为空', 'The stage needs a name');
      else if (names.has(trimmed)) err([...at, 'name'], 'DUPLICATE_STAGE_NAME', `阶段名称“${trimmed}”重复`, `Stage name "${trimmed}" is used twice`);
      else names.set(trimmed, stage.id);

      const fieldKeys = new Set<string>();
      stage.fields.forEach((field, j) => {
        const fat = [...at, 'fields', j];
        const ref = `${field.source}.${field.key}`;
        if (fieldKeys.has(ref)) err([...fat, 'key'], 'DUPLICATE_FIELD', `字段 ${ref} 重复`, `Field ${ref} is listed twice`);
        fieldKeys.add(ref);
        if (field.source === 'stage') {
          if (!field.type) err([...fat, 'type'], 'FIELD_TYPE_REQUIRED', '本阶段字段需要类型', 'A stage field needs a type');
          if (!field.label || (field.label.zh.trim() === '' && field.label.en.trim() === ''))
            err([...fat, 'label'], 'FIELD_LABEL_REQUIRED', '本阶段字段需要名称', 'A stage field needs a label');
          if ((field.type === 'select' || field.type === 'multiselect') && !field.options?.length)
            err([...fat, 'options'], 'FIELD_OPTIONS_REQUIRED', '选项字段需要选项', 'A select field needs options');
        } else if (catalog) {
          const known = [...SYSTEM_FIELDS[field.source], ...catalog[field.source]].some((f) => f.key === field.key);
          if (!known)
            err([...fat, 'key'], 'FIELD_UNKNOWN', `字段 ${ref} 不存在`, `Field ${ref} is not defined in field management`);
        }
      });
    });
  });

  def.presale.forEach((stage, i) => {
    const prev = def.presale[i - 1];
    if (prev && stage.winRate < prev.winRate)
      warn(['presale', i, 'winRate'], 'WIN_RATE_DECREASES', `赢率低于上一阶段（${prev.winRate}%）`, `Win rate is lower than the previous stage's (${prev.winRate}%)`);
  });
  def.postsale.forEach((stage, i) => {
    if (stage.overdueAfterDays && stage.remindAfterDays && stage.overdueAfterDays < stage.remindAfterDays)
      warn(['postsale', i, 'overdueAfterDays'], 'OVERDUE_BEFORE_REMINDER', '超时天数早于提醒天数', 'Overdue comes before the reminder');
  });

  const after = def.rules.orderAllowedAfterStage;
  if (after !== null) {
    const idx = def.presale.findIndex((s) => s.id === after);
    if (idx < 0)
      err(['rules', 'orderAllowedAfterStage'], 'STAGE_UNKNOWN', '指定的售前阶段不存在', 'The named pre-sale stage does not exist');
    else if (def.rules.orderRequiredToWin && idx === def.presale.length - 1)
      // The last pre-sale stage is completed only by winning, and winning needs an order: a deadlock.
      err(['rules', 'orderAllowedAfterStage'], 'ORDER_RULE_DEADLOCK', '赢单需要订单，而订单需在最后阶段完成后创建，无法赢单', 'Winning needs an order, but orders need the last stage completed: no deal could ever be won');
  }
  return problems;
}

export function stageById(def: ProcessDefinition, id: string | null | undefined):
  | { phase: 'presale'; index: number; stage: PresaleStage }
  | { phase: 'postsale'; index: number; stage: PostsaleStage }
  | null {
  if (!id) return null;
  const pi = def.presale.findIndex((s) => s.id === id);
  if (pi >= 0) return { phase: 'presale', index: pi, stage: def.presale[pi]! };
  const qi = def.postsale.findIndex((s) => s.id === id);
  if (qi >= 0) return { phase: 'postsale', index: qi, stage: def.postsale[qi]! };
  return null;
}
