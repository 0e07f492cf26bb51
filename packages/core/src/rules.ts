import { stageById, type PostsaleTeam, type ProcessDefinition, type Stage, type Terminal } from './definition.js';
import type { Detail, ErrorCode, Refusal } from './errors.js';
import { isEmptyValue } from './fields.js';

export const OPPORTUNITY_STATUSES = ['open', 'won', 'lost', 'invalid'] as const;
export type OpportunityStatus = (typeof OPPORTUNITY_STATUSES)[number];
export type Phase = 'presale' | 'postsale' | 'done';
export type ApprovalState = 'pending' | 'approved' | 'rejected';
export type ApprovalAction = 'complete' | 'win';

/** Values a stage form reads, by source. `stage` holds the current stage's own fields. */
export interface FormValues {
  customer: Record<string, unknown>;
  opportunity: Record<string, unknown>;
  stage: Record<string, unknown>;
}

/** Everything the rule engine needs to know about an opportunity. */
export interface OpportunityState {
  status: OpportunityStatus;
  phase: Phase;
  /** Current stage; when closed, the stage it was closed from (for analytics). */
  stageId: string | null;
  values: FormValues;
  contactCount: number;
  /** The contact roles (`contact.role` options) some contact of the customer holds. */
  contactRoles: readonly string[];
  /** The approval of the current stage entry, if one was requested. */
  approval: { state: ApprovalState; action: ApprovalAction } | null;
  orderCount: number;
}

export type Gate =
  | { gate: 'requiredField'; source: 'customer' | 'opportunity' | 'stage'; key: string; met: boolean }
  | { gate: 'minContacts'; have: number; need: number; met: boolean }
  | { gate: 'contactRole'; role: string; met: boolean }
  | { gate: 'approval'; state: ApprovalState | 'notRequested'; met: boolean };

export type Action =
  | { type: 'completeStage'; toStageId?: string }
  | { type: 'moveBack'; stageId: string }
  | { type: 'win' }
  | { type: 'lose'; reason?: string | null; reasonRequired?: boolean }
  | { type: 'invalidate' }
  | { type: 'createOrder' }
  | { type: 'approve' }
  | { type: 'reject' }
  /**
   * Back into a pre-sale stage of its version, from lost or invalid (`rules.allowReopen`);
   * from won only when `admin` (the caller says whether its user is one).
   */
  | { type: 'reopen'; stageId: string; admin?: boolean };

export type HistoryAction =
  | 'create'
  | 'complete'
  | 'skip'
  | 'move-back'
  | 'win'
  | 'lose'
  | 'invalidate'
  | 'approve'
  | 'reject'
  | 'change-process'
  | 'migrate'
  | 'reopen';

export type Outcome =
  | { ok: true; kind: 'moved'; action: HistoryAction; next: Pick<OpportunityState, 'status' | 'phase' | 'stageId'> }
  | { ok: true; kind: 'approvalRequested'; action: ApprovalAction }
  | { ok: true; kind: 'allowed' }
  | ({ ok: false } & Refusal);

const text = (zh: string, en: string) => ({ zh, en });

function refuse(code: ErrorCode, details: Detail[]): Outcome {
  return { ok: false, code, details };
}

function invalid(zh: string, en: string, extra: Record<string, unknown> = {}): Outcome {
  return refuse('INVALID_TRANSITION', [{ ...extra, message: text(zh, en) }]);
}

/** Every gate of a stage, met or not, in a fixed order: fields, contacts, contact roles, approval. */
export function evaluateGates(def: ProcessDefinition, state: OpportunityState, stageId = state.stageId): Gate[] {
  const found = stageById(def, stageId);
  if (!found) return [];
  const stage: Stage = found.stage;
  const gates: Gate[] = [];
  for (const field of stage.fields) {
    if (!field.required) continue;
    const value = state.values[field.source][field.key];
    gates.push({ gate: 'requiredField', source: field.source, key: field.key, met: !isEmptyValue(value) });
  }
  if (found.phase === 'presale' && found.stage.minContacts > 0) {
    const need = found.stage.minContacts;
    gates.push({ gate: 'minContacts', have: state.contactCount, need, met: state.contactCount >= need });
  }
  if (found.phase === 'presale')
    for (const role of found.stage.requiredContactRoles)
      gates.push({ gate: 'contactRole', role, met: state.contactRoles.includes(role) });
  if (stage.requiresApproval) {
    const s = state.approval?.state ?? 'notRequested';
    gates.push({ gate: 'approval', state: s, met: s === 'approved' });
  }
  return gates;
}

export function gateDetail(
  g: Gate,
  def: ProcessDefinition,
  stageId: string | null,
  /** A field's label (`'contactRole'` and a value: a role's); a string serves both languages. */
  labelOf?: (source: string, key: string) => string | { zh: string; en: string } | undefined,
): Detail {
  switch (g.gate) {
    case 'requiredField': {
      const label = bilingual(labelOf?.(g.source, g.key) ?? stageFieldLabel(def, stageId, g.source, g.key), g.key);
      return {
        gate: g.gate,
        source: g.source,
        key: g.key,
        message: text(`必填字段“${label.zh}”未填写`, `Required field "${label.en}" is empty`),
      };
    }
    case 'minContacts':
      return {
        gate: g.gate,
        have: g.have,
        need: g.need,
        message: text(
          `客户至少需要 ${g.need} 个联系人（现有 ${g.have} 个）`,
          `The customer needs at least ${g.need} contacts (has ${g.have})`,
        ),
      };
    case 'contactRole': {
      // `labelOf('contactRole', value)` names a role (an option of the contact.role field).
      const label = bilingual(labelOf?.('contactRole', g.role), g.role);
      return {
        gate: g.gate,
        role: g.role,
        message: text(`客户还没有“${label.zh}”角色的联系人`, `The customer has no contact with the role "${label.en}"`),
      };
    }
    case 'approval':
      return {
        gate: g.gate,
        state: g.state,
        message:
          g.state === 'pending'
            ? text('正在等待直属上级确认', "Waiting for the supervisor's approval")
            : g.state === 'rejected'
              ? text('直属上级已驳回，请修改后重新提交', 'The supervisor rejected it; revise and request again')
              : text('需直属上级确认', "Needs the supervisor's approval"),
      };
  }
}

function stageFieldLabel(
  def: ProcessDefinition,
  stageId: string | null,
  source: string,
  key: string,
): { zh: string; en: string } | undefined {
  const label = stageById(def, stageId)?.stage.fields.find((x) => x.source === source && x.key === key)?.label;
  return label && (label.zh || label.en) ? label : undefined;
}

/** A label in both languages (an empty side takes the other's), else `fallback` in both. */
function bilingual(label: string | { zh: string; en: string } | undefined, fallback: string) {
  if (typeof label === 'string') return { zh: label, en: label };
  return { zh: label?.zh || label?.en || fallback, en: label?.en || label?.zh || fallback };
}

/**
 * Decides one action against the opportunity's process version. The server is the
 * authority and calls this inside the command's transaction; elements call it to
 * show what is possible.
 */
export function decide(def: ProcessDefinition, state: OpportunityState, action: Action): Outcome {
  const current = stageById(def, state.stageId);
  const gatesOf = () => evaluateGates(def, state);
  // Unmet gates other than approval: these refuse; approval alone is "requested".
  const hardUnmet = (gates: Gate[]) => gates.filter((g) => !g.met && g.gate !== 'approval');
  const gateRefusal = (gates: Gate[]) =>
    refuse(
      'STAGE_GATES_UNMET',
      gates.filter((g) => !g.met).map((g) => gateDetail(g, def, state.stageId)),
    );

  switch (action.type) {
    case 'completeStage': {
      if (state.status !== 'open' && state.phase !== 'postsale')
        return invalid('商机已结束', 'The opportunity is closed');
      if (!current) return invalid('商机不在任何阶段', 'The opportunity is not in a stage');
      const list = current.phase === 'presale' ? def.presale : def.postsale;
      const isLast = current.index === list.length - 1;
      if (current.phase === 'presale' && isLast && !action.toStageId)
        return invalid(
          '已是最后一个售前阶段：请赢单、输单或标记无效',
          'This is the last pre-sale stage: win, lose or invalidate',
        );
      let target: string | null = isLast ? null : list[current.index + 1]!.id;
      let historyAction: HistoryAction = 'complete';
      if (action.toStageId && action.toStageId !== target) {
        const to = stageById(def, action.toStageId);
        if (!to || to.phase !== current.phase || to.index <= current.index)
          return invalid('目标阶段不在当前阶段之后', 'The target stage is not ahead of the current one', {
            stageId: action.toStageId,
          });
        if (!def.rules.allowSkipStages)
          return invalid('不允许跳过阶段', 'Skipping stages is not allowed in this process', {
            stageId: action.toStageId,
          });
        target = to.stage.id;
        historyAction = 'skip';
      }
      const gates = gatesOf();
      const hard = hardUnmet(gates);
      if (hard.length) return gateRefusal(gates);
      const approval = gates.find((g) => g.gate === 'approval');
      if (approval && !approval.met) {
        if (approval.state === 'pending') return refuse('APPROVAL_PENDING', [gateDetail(approval, def, state.stageId)]);
        return { ok: true, kind: 'approvalRequested', action: 'complete' };
      }
      if (current.phase === 'postsale' && target === null)
        return {
          ok: true,
          kind: 'moved',
          action: historyAction,
          next: { status: state.status, phase: 'done', stageId: null },
        };
      return {
        ok: true,
        kind: 'moved',
        action: historyAction,
        next: { status: state.status, phase: current.phase, stageId: target },
      };
    }

    case 'moveBack': {
      if (!current || (state.status !== 'open' && state.phase !== 'postsale'))
        return invalid('商机已结束', 'The opportunity is closed');
      if (!def.rules.allowMoveBack)
        return invalid('此流程不允许退回阶段', 'Moving back is not allowed in this process');
      const to = stageById(def, action.stageId);
      if (!to || to.phase !== current.phase || to.index >= current.index)
        return invalid('只能退回到当前阶段之前的阶段', 'You can only move back to an earlier stage', {
          stageId: action.stageId,
        });
      return {
        ok: true,
        kind: 'moved',
        action: 'move-back',
        next: { status: state.status, phase: current.phase, stageId: to.stage.id },
      };
    }

    case 'win': {
      if (state.status !== 'open' || current?.phase !== 'presale')
        return invalid('只有进行中的售前商机可以赢单', 'Only an open pre-sale opportunity can be won');
      const isLast = current.index === def.presale.length - 1;
      if (!isLast && !def.rules.allowSkipStages)
        return invalid('需在最后一个售前阶段赢单', 'Win from the last pre-sale stage', {
          stageId: def.presale.at(-1)?.id,
        });
      const gates = gatesOf();
      const hard = hardUnmet(gates);
      if (hard.length) return gateRefusal(gates);
      if (def.rules.orderRequiredToWin && state.orderCount < 1)
        return refuse('ORDER_REQUIRED', [
          {
            rule: 'orderRequiredToWin',
            orders: state.orderCount,
            message: text('必须新建订单方可赢单', 'Create an order before winning'),
          },
        ]);
      const approval = gates.find((g) => g.gate === 'approval');
      if (approval && !approval.met) {
        if (approval.state === 'pending') return refuse('APPROVAL_PENDING', [gateDetail(approval, def, state.stageId)]);
        return { ok: true, kind: 'approvalRequested', action: 'win' };
      }
      return { ok: true, kind: 'moved', action: 'win', next: afterWin(def) };
    }

    case 'lose':
    case 'invalidate': {
      if (state.status !== 'open' || current?.phase !== 'presale')
        return invalid(
          '只有进行中的售前商机可以输单或标记无效',
          'Only an open pre-sale opportunity can be lost or invalidated',
        );
      if (action.type === 'lose' && action.reasonRequired && isEmptyValue(action.reason))
        return refuse('VALIDATION_FAILED', [
          { path: 'reason', message: text('请选择输单原因', 'Choose a lost reason') },
        ]);
      const status: Terminal = action.type === 'lose' ? 'lost' : 'invalid';
      return { ok: true, kind: 'moved', action: action.type, next: { status, phase: 'done', stageId: state.stageId } };
    }

    case 'createOrder': {
      if (state.status === 'lost' || state.status === 'invalid')
        return invalid('已输单或无效的商机不能新建订单', 'A lost or invalid opportunity cannot take orders');
      if (!orderStageReached(def, state)) {
        const after = def.rules.orderAllowedAfterStage!;
        const name = stageById(def, after)?.stage.name ?? after;
        return refuse('ORDER_STAGE_NOT_REACHED', [
          {
            rule: 'orderAllowedAfterStage',
            stageId: after,
            message: text(`完成“${name}”阶段后方可新建订单`, `Orders can be created once "${name}" is completed`),
          },
        ]);
      }
      return { ok: true, kind: 'allowed' };
    }

    case 'approve':
    case 'reject': {
      if (state.approval?.state !== 'pending') return invalid('没有待确认的申请', 'There is no pending approval');
      return { ok: true, kind: 'allowed' };
    }

    case 'reopen': {
      if (state.status === 'open')
        return invalid('商机进行中，无需重新打开', 'The opportunity is open: nothing to reopen');
      if (!def.rules.allowReopen)
        return invalid('此流程不允许重新打开商机', 'Reopening is not allowed in this process', {
          rule: 'allowReopen',
        });
      if (state.status === 'won' && !action.admin)
        return refuse('FORBIDDEN', [
          {
            status: 'won',
            message: text('只有管理员可以重新打开已赢单的商机', 'Only an admin can reopen a won opportunity'),
          },
        ]);
      const to = stageById(def, action.stageId);
      if (to?.phase !== 'presale')
        return invalid('只能重新打开到本流程的售前阶段', 'Reopen into a pre-sale stage of its process', {
          stageId: action.stageId,
        });
      return {
        ok: true,
        kind: 'moved',
        action: 'reopen',
        next: { status: 'open', phase: 'presale', stageId: to.stage.id },
      };
    }
  }
}

/** Where a won opportunity goes: the first post-sale stage, or done. */
export function afterWin(def: ProcessDefinition): Pick<OpportunityState, 'status' | 'phase' | 'stageId'> {
  const first = def.postsale[0];
  return first
    ? { status: 'won', phase: 'postsale', stageId: first.id }
    : { status: 'won', phase: 'done', stageId: null };
}

/** "Orders only after stage X is completed": X is behind the current stage, or the deal is won. */
export function orderStageReached(
  def: ProcessDefinition,
  state: Pick<OpportunityState, 'status' | 'stageId'>,
): boolean {
  const after = def.rules.orderAllowedAfterStage;
  if (!after) return true;
  if (state.status === 'won') return true;
  const need = def.presale.findIndex((s) => s.id === after);
  if (need < 0) return true;
  const at = stageById(def, state.stageId);
  return at?.phase === 'presale' && at.index > need;
}

/** The win rate of an opportunity: its stage's, or its terminal state's. */
export function winRateOf(def: ProcessDefinition, state: Pick<OpportunityState, 'status' | 'stageId'>): number {
  if (state.status !== 'open') return def.terminal[state.status].winRate;
  const at = stageById(def, state.stageId);
  return at?.phase === 'presale' ? at.stage.winRate : def.terminal.won.winRate;
}

/** The state a new opportunity (or one that changes process) starts in. */
export function initialState(def: ProcessDefinition): Pick<OpportunityState, 'status' | 'phase' | 'stageId'> {
  return { status: 'open', phase: 'presale', stageId: def.presale[0]?.id ?? null };
}

/** Which actions the UI should offer now (the server still decides). */
export function availableActions(def: ProcessDefinition, state: OpportunityState): Action['type'][] {
  const probes: Action[] = [
    { type: 'completeStage' },
    { type: 'win' },
    { type: 'lose' },
    { type: 'invalidate' },
    { type: 'createOrder' },
  ];
  const out: Action['type'][] = probes
    .filter((a) => {
      const o = decide(def, state, a);
      return o.ok || o.code === 'STAGE_GATES_UNMET' || o.code === 'ORDER_REQUIRED';
    })
    .map((a) => a.type);
  const at = stageById(def, state.stageId);
  if (def.rules.allowMoveBack && at && at.index > 0 && (state.status === 'open' || state.phase === 'postsale'))
    out.push('moveBack');
  // Reopening a won one is for admins: offered, and decided with the caller's roles.
  const first = def.presale[0];
  if (first && decide(def, state, { type: 'reopen', stageId: first.id, admin: true }).ok) out.push('reopen');
  return out;
}

/**
 * Whether a process's field conditions (`appliesWhen`) hold for a customer and an
 * opportunity's values: each condition's field holds one of its values (a multiselect,
 * any of them). No conditions: it applies. Departments are checked apart (by the server,
 * which knows the user).
 */
export function conditionsHold(
  def: Pick<ProcessDefinition, 'appliesWhen'>,
  values: Pick<FormValues, 'customer' | 'opportunity'>,
): boolean {
  return def.appliesWhen.every((c) => {
    const v = values[c.source][c.key];
    return Array.isArray(v) ? v.some((x) => c.values.includes(String(x))) : v != null && c.values.includes(String(v));
  });
}

/** Who handles a post-sale stage: its own team when it names one, else the process's. */
export function postsaleTeamFor(
  def: Pick<ProcessDefinition, 'postsale' | 'postsaleTeam'>,
  stageId: string | null,
): PostsaleTeam {
  const stage = def.postsale.find((s) => s.id === stageId);
  return stage?.team ?? def.postsaleTeam;
}
