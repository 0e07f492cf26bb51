import { z } from 'zod';
import {
  FIELD_TYPES,
  MAX,
  RESERVED_KEYS,
  fieldKeySchema,
  fieldOptionSchema,
  localizedTextSchema,
  noRepeats,
  storableText,
} from './fields.js';
import type { DefinitionProblem } from './publishable.js';
export * from './publishable.js';

export const stageIdSchema = z
  .string()
  .min(1)
  .max(MAX.key)
  .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and -')
  .refine((k) => !RESERVED_KEYS.includes(k), '__proto__, constructor and prototype are reserved');

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
  name: storableText(MAX.name).default(''),
  requirements: storableText(MAX.requirements).default(''),
  /** Remind after this many days in the stage; null or 0 = no reminder. */
  remindAfterDays: days.default(null),
  requiresApproval: z.boolean().default(false),
  /** A stage holds a field once (the draft keys them by source and key: a repeat would be lost). */
  fields: z
    .array(stageFieldSchema)
    .max(MAX.fieldsPerStage)
    .superRefine(noRepeats((f) => `${f.source}.${f.key}`, 'key', 'field'))
    .default([]),
};

/** A list of option values (contact roles, condition values): each once. */
const optionValues = (max: number) =>
  z
    .array(storableText(MAX.key).min(1))
    .max(max)
    .superRefine(noRepeats((v) => v, null, 'value'));

export const presaleStageSchema = z.object({
  ...stageBase,
  winRate: z.number().min(0).max(100).default(0),
  minContacts: z.number().int().min(0).max(100).default(0),
  /**
   * The customer must have, for each of these contact roles (options of the `contact.role`
   * field), a contact holding it (「至少确认项目的直接联系人和关键决策人」).
   */
  requiredContactRoles: optionValues(20).default([]),
});
export type PresaleStage = z.infer<typeof presaleStageSchema>;

/** Who does post-sale work (售后人员): users by id, and the members of departments. */
export const postsaleTeamSchema = z.object({
  userIds: z
    .array(storableText(MAX.key * 2).min(1))
    .max(50)
    .superRefine(noRepeats((v) => v, null, 'user'))
    .default([]),
  departments: z
    .array(storableText(MAX.key * 2).min(1))
    .max(20)
    .superRefine(noRepeats((v) => v, null, 'department'))
    .default([]),
});
export type PostsaleTeam = z.infer<typeof postsaleTeamSchema>;

export const postsaleStageSchema = z.object({
  ...stageBase,
  /** After this many days the stage is overdue (超时); null = never. */
  overdueAfterDays: days.default(null),
  /** Who handles this stage; null = the process's `postsaleTeam`. */
  team: postsaleTeamSchema.nullable().default(null),
});

/**
 * A condition on a customer or opportunity field for a process to apply (适用范围: 客户类型 =
 * 大客户): the field's value is one of `values` (for a multiselect, holds one of them).
 */
export const applicabilityConditionSchema = z.object({
  source: z.enum(['customer', 'opportunity']),
  key: fieldKeySchema,
  values: optionValues(MAX.options).min(1),
});
export type ApplicabilityCondition = z.infer<typeof applicabilityConditionSchema>;
export type PostsaleStage = z.infer<typeof postsaleStageSchema>;

export type Stage = PresaleStage | PostsaleStage;

const terminalStateSchema = (name: string, winRate: number) =>
  z
    .object({ name: storableText(MAX.name).default(name), winRate: z.number().min(0).max(100).default(winRate) })
    .default({ name, winRate });

export const TERMINALS = ['won', 'lost', 'invalid'] as const;
export type Terminal = (typeof TERMINALS)[number];

export const processRulesSchema = z.object({
  orderRequiredToWin: z.boolean().default(false),
  orderAllowedAfterStage: stageIdSchema.nullable().default(null),
  allowSkipStages: z.boolean().default(false),
  allowMoveBack: z.boolean().default(true),
  /**
   * A lost or invalid opportunity may be reopened into a pre-sale stage (admins may also
   * reopen a won one). Definitions stored before the rule existed parse as true.
   */
  allowReopen: z.boolean().default(true),
});
export type ProcessRules = z.infer<typeof processRulesSchema>;

/**
 * The structural ("draft") level: types, ranges and sizes. Co-editing never stores
 * anything that fails this.
 */
export const processDefinitionSchema = z.object({
  // A phase holds a stage id once (the draft keys its stages by id: a repeat would be lost).
  presale: z
    .array(presaleStageSchema)
    .max(MAX.stages)
    .superRefine(noRepeats((s) => s.id, 'id', 'stage id'))
    .default([]),
  postsale: z
    .array(postsaleStageSchema)
    .max(MAX.stages)
    .superRefine(noRepeats((s) => s.id, 'id', 'stage id'))
    .default([]),
  terminal: z
    .object({
      won: terminalStateSchema('赢单', 100),
      lost: terminalStateSchema('输单', 0),
      invalid: terminalStateSchema('无效', 0),
    })
    // Defaults are made afresh for each parse (zod copies a default object only one level deep).
    .default(() => ({
      won: { name: '赢单', winRate: 100 },
      lost: { name: '输单', winRate: 0 },
      invalid: { name: '无效', winRate: 0 },
    })),
  rules: processRulesSchema.default({
    orderRequiredToWin: false,
    orderAllowedAfterStage: null,
    allowSkipStages: false,
    allowMoveBack: true,
    allowReopen: true,
  }),
  /** Assigned to a won opportunity's post-sale work (a stage's own `team` wins over it). */
  postsaleTeam: postsaleTeamSchema.default(() => ({ userIds: [], departments: [] })),
  /** Every condition must hold for the process to be offered (beside its departments). */
  appliesWhen: z
    .array(applicabilityConditionSchema)
    .max(10)
    .superRefine(noRepeats((c) => `${c.source}.${c.key}`, 'key', 'field'))
    .default([]),
});
export type ProcessDefinition = z.infer<typeof processDefinitionSchema>;
export type ProcessDefinitionInput = z.input<typeof processDefinitionSchema>;

/** What admins co-edit: the definition plus the process' name and scope. */
export const processDraftSchema = z.object({
  name: storableText(MAX.name).default(''),
  departments: z
    .array(storableText(MAX.key * 2).min(1))
    .max(MAX.departments)
    .superRefine(noRepeats((d) => d, null, 'department'))
    .default([]),
  definition: processDefinitionSchema.default(() => processDefinitionSchema.parse({})),
});
export type ProcessDraft = z.infer<typeof processDraftSchema>;

/**
 * The draft schema with each phase's stages left unchecked (only their number): with
 * `parseStage` per stage, `parseDraftByStage` gives what `parseDraft` gives, so a
 * validator may re-check only the stages an edit touched.
 */
/** The draft's own settings: everything but its stages. */
const draftSettingsSchema = z.object({
  name: processDraftSchema.shape.name,
  departments: processDraftSchema.shape.departments,
  definition: z
    .object({
      terminal: processDefinitionSchema.shape.terminal,
      rules: processDefinitionSchema.shape.rules,
      postsaleTeam: processDefinitionSchema.shape.postsaleTeam,
      appliesWhen: processDefinitionSchema.shape.appliesWhen,
    })
    .default(() => {
      const { terminal, rules, postsaleTeam, appliesWhen } = processDefinitionSchema.parse({});
      return { terminal, rules, postsaleTeam, appliesWhen };
    }),
});
const stageListSchema = z.array(z.unknown()).max(MAX.stages);

export type SettingsCheck =
  | {
      ok: true;
      settings: Pick<ProcessDraft, 'name' | 'departments'> & {
        definition: Pick<ProcessDefinition, 'terminal' | 'rules' | 'postsaleTeam' | 'appliesWhen'>;
      };
    }
  | { ok: false; problems: DefinitionProblem[] };

/** The draft's settings (name, departments, terminal states, rules, team, conditions) checked apart from its stages. */
export function parseDraftSettings(input: {
  name?: unknown;
  departments?: unknown;
  definition?: { terminal?: unknown; rules?: unknown; postsaleTeam?: unknown; appliesWhen?: unknown };
}): SettingsCheck {
  const result = draftSettingsSchema.safeParse(input);
  return result.success ? { ok: true, settings: result.data } : { ok: false, problems: zodProblems(result.error) };
}

export type StageCheck = { ok: true; stage: Stage } | { ok: false; problems: DefinitionProblem[] };

/** One stage of a draft, checked on its own; problem paths are relative to the stage. */
export function parseStage(phase: 'presale' | 'postsale', input: unknown): StageCheck {
  const result = (phase === 'presale' ? presaleStageSchema : postsaleStageSchema).safeParse(input);
  return result.success ? { ok: true, stage: result.data } : { ok: false, problems: zodProblems(result.error) };
}

/**
 * A stage already checked, with some of its keys given new (plain) values: each value is
 * checked alone, which gives what `parseStage` of the whole stage gives because a stage's
 * schema has no rule across its keys (core's tests hold it to that). Null when a value
 * fails or the key is not one the phase's stages have: check the whole stage then, for its
 * problems and their paths.
 */
export function reparseStageKeys(
  phase: 'presale' | 'postsale',
  stage: Stage,
  values: Record<string, unknown>,
): Stage | null {
  const shape: Record<string, z.ZodType> = (phase === 'presale' ? presaleStageSchema : postsaleStageSchema).shape;
  const out: Record<string, unknown> = { ...stage };
  for (const [key, value] of Object.entries(values)) {
    const schema = key === 'id' || !Object.hasOwn(shape, key) ? undefined : shape[key];
    const result = schema?.safeParse(value);
    if (!result?.success) return null;
    out[key] = result.data;
  }
  return out as Stage;
}

/**
 * `parseDraft` of a draft whose stages were checked one by one (`parseStage`) and whose
 * settings were checked apart (`parseDraftSettings`, computed here unless given).
 */
export function parseDraftByStage(
  shell: {
    name?: unknown;
    departments?: unknown;
    definition?: { presale: StageCheck[]; postsale: StageCheck[]; terminal?: unknown; rules?: unknown };
  },
  settings: SettingsCheck = parseDraftSettings(shell),
): { ok: true; draft: ProcessDraft } | { ok: false; problems: DefinitionProblem[] } {
  const presale = shell.definition?.presale ?? [];
  const postsale = shell.definition?.postsale ?? [];
  const problems = settings.ok ? [] : [...settings.problems];
  for (const [phase, checks] of [
    ['presale', presale],
    ['postsale', postsale],
  ] as const) {
    const count = stageListSchema.safeParse(checks);
    if (!count.success) problems.push(...zodProblems(count.error, ['definition', phase]));
    checks.forEach((c, i) => {
      if (!c.ok) problems.push(...c.problems.map((p) => ({ ...p, path: ['definition', phase, i, ...p.path] })));
    });
  }
  if (problems.length || !settings.ok) return { ok: false, problems };
  const stages = (checks: StageCheck[]) => checks.map((c) => (c as { stage: Stage }).stage);
  const { definition, ...rest } = settings.settings;
  return {
    ok: true,
    draft: {
      ...rest,
      definition: {
        presale: stages(presale) as PresaleStage[],
        postsale: stages(postsale) as PostsaleStage[],
        ...definition,
      },
    },
  };
}

/** The structural check; returns the parsed definition or its problems. */
export function parseDraft(
  input: unknown,
): { ok: true; draft: ProcessDraft } | { ok: false; problems: DefinitionProblem[] } {
  const result = processDraftSchema.safeParse(input);
  if (result.success) return { ok: true, draft: result.data };
  return { ok: false, problems: zodProblems(result.error) };
}

export function zodProblems(error: z.ZodError, prefix: (string | number)[] = []): DefinitionProblem[] {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))],
    code: `INVALID_${issue.code.toUpperCase()}`,
    severity: 'error' as const,
    message: { zh: `格式不正确：${issue.message}`, en: issue.message },
  }));
}
