/**
 * The publishable check and stage lookups: pure functions on a parsed definition, with
 * no zod, so the designer element can run them without carrying the schemas.
 */
import type { LocalizedText } from './errors.js';
import { CONTACT_ROLE_KEY, SYSTEM_FIELDS } from './field-values.js';
import type { FieldDefinition, FieldObject } from './fields.js';

export type { FieldDefinition } from './fields.js';
import type { PostsaleStage, PresaleStage, ProcessDefinition, ProcessDraft } from './definition.js';

export type { ProcessDraft, ProcessDefinition } from './definition.js';

export interface DefinitionProblem {
  path: (string | number)[];
  code: string;
  severity: 'error' | 'warning';
  message: LocalizedText;
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

  if (name !== undefined && name.trim() === '')
    err(['name'], 'NAME_REQUIRED', '请填写销售流程名称', 'The process needs a name');
  if (def.presale.length === 0)
    err(['presale'], 'PRESALE_REQUIRED', '至少需要一个售前阶段', 'At least one pre-sale stage is needed');

  const ids = new Map<string, string>();
  const names = new Map<string, string>();
  (['presale', 'postsale'] as const).forEach((phase) => {
    def[phase].forEach((stage, i) => {
      const at = [phase, i];
      if (ids.has(stage.id))
        err([...at, 'id'], 'DUPLICATE_STAGE_ID', `阶段标识 ${stage.id} 重复`, `Stage id ${stage.id} is used twice`);
      ids.set(stage.id, phase);
      const trimmed = stage.name.trim();
      if (trimmed === '') err([...at, 'name'], 'STAGE_NAME_REQUIRED', '阶段名称不能为空', 'The stage needs a name');
      else if (names.has(trimmed))
        err(
          [...at, 'name'],
          'DUPLICATE_STAGE_NAME',
          `阶段名称“${trimmed}”重复`,
          `Stage name "${trimmed}" is used twice`,
        );
      else names.set(trimmed, stage.id);

      const fieldKeys = new Set<string>();
      stage.fields.forEach((field, j) => {
        const fat = [...at, 'fields', j];
        const ref = `${field.source}.${field.key}`;
        if (fieldKeys.has(ref))
          err([...fat, 'key'], 'DUPLICATE_FIELD', `字段 ${ref} 重复`, `Field ${ref} is listed twice`);
        fieldKeys.add(ref);
        if (field.source === 'stage') {
          if (!field.type)
            err([...fat, 'type'], 'FIELD_TYPE_REQUIRED', '本阶段字段需要类型', 'A stage field needs a type');
          if (!field.label || (field.label.zh.trim() === '' && field.label.en.trim() === ''))
            err([...fat, 'label'], 'FIELD_LABEL_REQUIRED', '本阶段字段需要名称', 'A stage field needs a label');
          if ((field.type === 'select' || field.type === 'multiselect') && !field.options?.length)
            err([...fat, 'options'], 'FIELD_OPTIONS_REQUIRED', '选项字段需要选项', 'A select field needs options');
        } else if (catalog) {
          const known = [...SYSTEM_FIELDS[field.source], ...catalog[field.source]].find((f) => f.key === field.key);
          if (!known)
            err(
              [...fat, 'key'],
              'FIELD_UNKNOWN',
              `字段 ${ref} 不存在`,
              `Field ${ref} is not defined in field management`,
            );
          else if ('archived' in known && known.archived)
            err(
              [...fat, 'key'],
              'FIELD_ARCHIVED',
              `字段 ${ref} 已归档`,
              `Field ${ref} is archived in field management`,
            );
        }
      });
    });
  });

  // Contact roles and applicability conditions name options of managed fields.
  const optionsOf = (source: FieldObject, key: string) => {
    const f = catalog?.[source]?.find((d) => d.key === key);
    return f && !('system' in f && f.system) ? f : undefined;
  };
  if (catalog) {
    const roles = optionsOf('contact', CONTACT_ROLE_KEY)?.options ?? [];
    def.presale.forEach((stage, i) => {
      stage.requiredContactRoles.forEach((role, j) => {
        const option = roles.find((o) => o.value === role);
        if (!option || option.archived)
          err(
            ['presale', i, 'requiredContactRoles', j],
            'CONTACT_ROLE_UNKNOWN',
            `联系人角色 ${role} ${option ? '已归档' : '不存在'}`,
            `Contact role ${role} ${option ? 'is archived' : 'is not defined'} in field management`,
          );
      });
    });
    def.appliesWhen.forEach((c, i) => {
      const ref = `${c.source}.${c.key}`;
      const field = optionsOf(c.source, c.key);
      if (!field || field.archived || !field.options) {
        err(
          ['appliesWhen', i, 'key'],
          'CONDITION_FIELD_UNKNOWN',
          `适用条件的字段 ${ref} 不存在、已归档或不是选项字段`,
          `Condition field ${ref} is not defined, archived or not a select field`,
        );
        return;
      }
      c.values.forEach((v, j) => {
        if (!field.options?.some((o) => o.value === v))
          err(
            ['appliesWhen', i, 'values', j],
            'CONDITION_VALUE_UNKNOWN',
            `字段 ${ref} 没有选项 ${v}`,
            `Field ${ref} has no option ${v}`,
          );
      });
    });
  }

  def.presale.forEach((stage, i) => {
    const prev = def.presale[i - 1];
    if (prev && stage.winRate < prev.winRate)
      warn(
        ['presale', i, 'winRate'],
        'WIN_RATE_DECREASES',
        `赢率低于上一阶段（${prev.winRate}%）`,
        `Win rate is lower than the previous stage's (${prev.winRate}%)`,
      );
  });
  def.postsale.forEach((stage, i) => {
    if (stage.overdueAfterDays && stage.remindAfterDays && stage.overdueAfterDays < stage.remindAfterDays)
      warn(
        ['postsale', i, 'overdueAfterDays'],
        'OVERDUE_BEFORE_REMINDER',
        '超时天数早于提醒天数',
        'Overdue comes before the reminder',
      );
  });

  const after = def.rules.orderAllowedAfterStage;
  if (after !== null) {
    const idx = def.presale.findIndex((s) => s.id === after);
    if (idx < 0)
      err(
        ['rules', 'orderAllowedAfterStage'],
        'STAGE_UNKNOWN',
        '指定的售前阶段不存在',
        'The named pre-sale stage does not exist',
      );
    else if (def.rules.orderRequiredToWin && idx === def.presale.length - 1)
      // The last pre-sale stage is completed only by winning, and winning needs an order: a deadlock.
      err(
        ['rules', 'orderAllowedAfterStage'],
        'ORDER_RULE_DEADLOCK',
        '赢单需要订单，而订单需在最后阶段完成后创建，无法赢单',
        'Winning needs an order, but orders need the last stage completed: no deal could ever be won',
      );
  }
  return problems;
}

export function stageById(
  def: ProcessDefinition,
  id: string | null | undefined,
):
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

const DEFAULT_TERMINAL = {
  won: { name: '赢单', winRate: 100 },
  lost: { name: '输单', winRate: 0 },
  invalid: { name: '无效', winRate: 0 },
};
const DEFAULT_RULES = {
  orderRequiredToWin: false,
  orderAllowedAfterStage: null,
  allowSkipStages: false,
  allowMoveBack: true,
  allowReopen: true,
};

/**
 * A draft read from a Y.Doc with the schema's defaults filled in, without the schema:
 * for display in the designer (the server validates every update with the schema; a
 * property test keeps the two equal on valid drafts).
 */
export function normalizeDraft(raw: unknown): ProcessDraft {
  const r = (raw ?? {}) as Record<string, any>;
  const d = (r.definition ?? {}) as Record<string, any>;
  const str = (v: unknown, dflt = '') => (typeof v === 'string' ? v : dflt);
  const num = (v: unknown, dflt: number) => (typeof v === 'number' && Number.isFinite(v) ? v : dflt);
  const days = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x) => typeof x === 'string') : []);
  const team = (t: Record<string, any>) => ({ userIds: strings(t.userIds), departments: strings(t.departments) });
  const fields = (list: unknown) =>
    (Array.isArray(list) ? list : []).map((f: Record<string, any>) => {
      const out: Record<string, unknown> = { source: f.source, key: str(f.key), required: f.required === true };
      if (f.label !== undefined) out.label = f.label;
      if (f.type !== undefined) out.type = f.type;
      if (f.options !== undefined) out.options = f.options;
      return out;
    });
  const base = (s: Record<string, any>) => ({
    id: str(s.id),
    name: str(s.name),
    requirements: str(s.requirements),
    remindAfterDays: days(s.remindAfterDays),
    requiresApproval: s.requiresApproval === true,
    fields: fields(s.fields),
  });
  const terminal = (d.terminal ?? {}) as Record<string, any>;
  const rules = (d.rules ?? {}) as Record<string, any>;
  return {
    name: str(r.name),
    departments: Array.isArray(r.departments) ? r.departments.filter((x: unknown) => typeof x === 'string') : [],
    definition: {
      presale: (Array.isArray(d.presale) ? d.presale : []).map((s: Record<string, any>) => ({
        ...base(s),
        winRate: num(s.winRate, 0),
        minContacts: num(s.minContacts, 0),
        requiredContactRoles: strings(s.requiredContactRoles),
      })) as PresaleStage[],
      postsale: (Array.isArray(d.postsale) ? d.postsale : []).map((s: Record<string, any>) => ({
        ...base(s),
        overdueAfterDays: days(s.overdueAfterDays),
        team: s.team && typeof s.team === 'object' ? team(s.team) : null,
      })) as PostsaleStage[],
      terminal: Object.fromEntries(
        (['won', 'lost', 'invalid'] as const).map((k) => [
          k,
          {
            name: str(terminal[k]?.name, DEFAULT_TERMINAL[k].name),
            winRate: num(terminal[k]?.winRate, DEFAULT_TERMINAL[k].winRate),
          },
        ]),
      ) as ProcessDefinition['terminal'],
      rules: {
        orderRequiredToWin:
          typeof rules.orderRequiredToWin === 'boolean' ? rules.orderRequiredToWin : DEFAULT_RULES.orderRequiredToWin,
        orderAllowedAfterStage: typeof rules.orderAllowedAfterStage === 'string' ? rules.orderAllowedAfterStage : null,
        allowSkipStages:
          typeof rules.allowSkipStages === 'boolean' ? rules.allowSkipStages : DEFAULT_RULES.allowSkipStages,
        allowMoveBack: typeof rules.allowMoveBack === 'boolean' ? rules.allowMoveBack : DEFAULT_RULES.allowMoveBack,
        allowReopen: typeof rules.allowReopen === 'boolean' ? rules.allowReopen : DEFAULT_RULES.allowReopen,
      },
      postsaleTeam: team(d.postsaleTeam ?? {}),
      appliesWhen: (Array.isArray(d.appliesWhen) ? d.appliesWhen : []).map((c: Record<string, any>) => ({
        source: c.source,
        key: str(c.key),
        values: strings(c.values),
      })),
    },
  };
}
