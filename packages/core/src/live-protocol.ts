/**
 * The live-document wire contract, spelled once: the server's live-doc engine and the
 * elements' live client both import it, and a test (`live-protocol.test.ts`) fails if any
 * file outside core writes a doc name or a message type literally.
 *
 * The transport is y-websocket's protocol (sync, awareness, auth, query-awareness) with
 * one message type of ours, a notice: a JSON `LiveNotice` the server sends when it refuses
 * or rolls back an update. Docs are named `<kind>:<id>`.
 */
import type { ProcessDefinition, ProcessRules } from './definition.js';
import type { LocalizedText } from './errors.js';
import type { Gate } from './rules.js';

// ---- doc names -------------------------------------------------------------------------

/** A process's draft, co-edited by admins in the designer. */
export const PROCESS_DRAFT_KIND = 'process-draft';
/** An opportunity's stage form and the server's view of it. */
export const OPPORTUNITY_KIND = 'opportunity';
/** The kinds of live doc; a new kind adds its prefix here and a `DocKind` on the server. */
export const DOC_KINDS = [PROCESS_DRAFT_KIND, OPPORTUNITY_KIND] as const;
export type DocKindName = (typeof DOC_KINDS)[number];

/** Ids in doc names: what our id generator makes, and nothing a path or a log could misread. */
const DOC_ID = /^[A-Za-z0-9_-]{1,128}$/;

export interface DocRef<K extends DocKindName = DocKindName> {
  kind: K;
  id: string;
}

/** `docName('opportunity', 'opp_1')` → `opportunity:opp_1`. */
export const docName = (kind: DocKindName, id: string): string => `${kind}:${id}`;
/** The live doc of a process's draft (admins co-edit it in the designer). */
export const processDraftDocName = (processId: string): string => docName(PROCESS_DRAFT_KIND, processId);
/** The live doc of an opportunity's stage form (and the server's view of it). */
export const opportunityDocName = (opportunityId: string): string => docName(OPPORTUNITY_KIND, opportunityId);

/** Splits a doc name into its kind and id; null for anything that is not exactly one of ours. */
export function parseDocName(name: string): DocRef | null {
  const colon = name.indexOf(':');
  if (colon < 0) return null;
  const kind = name.slice(0, colon);
  const id = name.slice(colon + 1);
  if (!(DOC_KINDS as readonly string[]).includes(kind) || !DOC_ID.test(id)) return null;
  return { kind: kind as DocKindName, id };
}

/** What the server says about a name `parseDocName` refused. */
const docNamePatterns = (or: string) => DOC_KINDS.map((k) => `${k}:{id}`).join(or);
// Pure: a bundle that never reads the hint (the elements') drops it.
export const DOC_NAME_HINT: LocalizedText = {
  zh: `文档名应为 ${/* @__PURE__ */ docNamePatterns(' 或 ')}`,
  en: `Doc names are ${/* @__PURE__ */ docNamePatterns(' or ')}`,
};

// ---- roots -----------------------------------------------------------------------------

/** Opportunity docs: the current stage's field values keyed `source.key`, co-filled by users. */
export const FORM_ROOT = 'form';
/** Opportunity docs: what only the server writes after a validated command (an `OpportunityView`). */
export const SERVER_ROOT = 'server';
/** Process-draft docs: the draft (see ydraft.ts for its shape). */
export { DRAFT_ROOT } from './ydraft.js';

/** The keys a draft's root, its stages and their fields may have; anything else is refused. */
export const DRAFT_ROOT_KEYS: ReadonlySet<string> = new Set([
  'name',
  'departments',
  'presale',
  'postsale',
  'terminal',
  'rules',
  'postsaleTeam',
  'appliesWhen',
]);
export const DRAFT_STAGE_KEYS: ReadonlySet<string> = new Set([
  'order',
  'name',
  'requirements',
  'winRate',
  'remindAfterDays',
  'overdueAfterDays',
  'requiresApproval',
  'minContacts',
  'requiredContactRoles',
  'team',
  'fields',
]);
export const DRAFT_FIELD_KEYS: ReadonlySet<string> = new Set([
  'order',
  'source',
  'key',
  'required',
  'label',
  'type',
  'options',
]);

// ---- messages --------------------------------------------------------------------------

/** y-websocket's message types, then ours. */
export const MESSAGE_SYNC = 0;
export const MESSAGE_AWARENESS = 1;
export const MESSAGE_AUTH = 2;
export const MESSAGE_QUERY_AWARENESS = 3;
/** Server → client: a JSON `LiveNotice` (an update was refused or rolled back, and why). */
export const MESSAGE_NOTICE = 100;

export interface LiveNotice {
  code: string;
  message: LocalizedText;
  /** What was wrong: a path and its problem, or the client id of a presence the sender may not change. */
  details: { code?: string; path?: string; message?: LocalizedText; clientId?: number }[];
}

/** The subprotocol the kit's client speaks; the token travels as a second entry `bearer.<jwt>`. */
export const LIVE_SUBPROTOCOL = 'sales-process';
export const BEARER_SUBPROTOCOL_PREFIX = 'bearer.';

/**
 * Close codes. 4400–4499 mean "do not retry" (as in y-websocket), except 4429: over the
 * server's budget, come back later.
 */
export const CLOSE_MALFORMED = 4400;
export const CLOSE_FORBIDDEN = 4403;
export const CLOSE_TOO_LARGE = 4413;
export const CLOSE_RATE_LIMITED = 4429;

// ---- the opportunity view --------------------------------------------------------------

/** A field of the current stage's form, with its value. */
export interface FormFieldView {
  source: 'customer' | 'opportunity' | 'stage';
  key: string;
  required: boolean;
  type: string;
  label: LocalizedText;
  options: { value: string; label: LocalizedText }[] | null;
  value: unknown;
}

/**
 * The opportunity as `GET /opportunities/{id}` returns it and as the server writes it into
 * an opportunity doc's `server` root (there `form` is null and `formFields` has the fields
 * without values: the values live in the `form` root).
 */
export interface OpportunityView {
  id: string;
  name: string;
  customerId: string;
  customerName: string | null;
  ownerId: string;
  ownerName: string | null;
  supervisorId: string | null;
  departmentId: string | null;
  amount: number;
  currency: string;
  expectedCloseDate: string | null;
  processId: string;
  processVersion: number;
  stageId: string | null;
  stageName: string | null;
  stageRequirements: string;
  status: 'open' | 'won' | 'lost' | 'invalid';
  phase: 'presale' | 'postsale' | 'done';
  terminalName: string | null;
  winRate: number;
  weightedAmount: number;
  stageEnteredAt: string;
  daysInStage: number;
  overdue: boolean;
  fields: Record<string, unknown>;
  stageValues: Record<string, Record<string, unknown>>;
  postsaleStaff: string[];
  lostReason: string | null;
  contactCount: number;
  orderCount: number;
  approval: { state: 'pending' | 'approved' | 'rejected'; action: 'complete' | 'win' } | null;
  gates: (Gate & { message: LocalizedText })[];
  actions: string[];
  form: FormFieldView[] | null;
  /** In the live doc's server root: the form's fields without values. */
  formFields?: Omit<FormFieldView, 'value'>[];
  /** The stages of the version it is on, for drawing its path. */
  path: {
    presale: { id: string; name: string; winRate: number }[];
    postsale: { id: string; name: string; overdueAfterDays: number | null }[];
    terminal: ProcessDefinition['terminal'];
    maxStageIndex: number;
    rules: ProcessRules;
  };
  createdAt: string;
  closedAt: string | null;
  updatedAt: string;
}
