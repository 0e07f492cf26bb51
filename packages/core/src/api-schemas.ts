import { z } from 'zod';
import {
  postsaleStageSchema,
  presaleStageSchema,
  processDefinitionSchema,
  processDraftSchema,
  processRulesSchema,
  stageIdSchema,
} from './definition.js';
import {
  definedOptionsSchema,
  fieldDefinitionSchema,
  fieldKeySchema,
  isCalendarDate,
  localizedTextSchema,
  MAX,
  noRepeats,
  RESERVED_KEYS,
  STORABLE_TEXT,
  storableText,
} from './fields.js';

/** Request bodies of API.md, shared by the server (validation, OpenAPI) and the client. */
const id = storableText(128).min(1);
/** YYYY-MM-DD of a day that exists (2024-02-30 would reach PostgreSQL's date cast and fail there). */
export const isoDateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD')
  .refine(isCalendarDate, 'not a calendar date');
const name = z.string().trim().min(1).max(200).regex(STORABLE_TEXT, 'must not contain NUL or an unpaired surrogate');
/**
 * Free-form values by field key (`source.key` on stage forms): each value is checked against
 * its field's type by the server, and no key may name a prototype.
 */
const values = z.record(
  storableText(MAX.key * 2).refine(
    (k) => !RESERVED_KEYS.includes(k),
    '__proto__, constructor and prototype are reserved',
  ),
  z.unknown(),
);

export const directorySyncSchema = z.object({
  departments: z
    .array(z.object({ id, name, parentId: id.nullable().optional() }))
    .max(10_000)
    .superRefine(noRepeats((d) => d.id, 'id', 'id'))
    .default([]),
  users: z
    .array(
      z.object({
        id,
        name,
        departmentId: id.nullable().optional(),
        managerId: id.nullable().optional(),
        roles: z.array(z.enum(['admin', 'sales', 'supervisor', 'postsale', 'analyst'])).optional(),
      }),
    )
    .max(10_000)
    .superRefine(noRepeats((u) => u.id, 'id', 'id'))
    .default([]),
});

export const createFieldSchema = fieldDefinitionSchema;
/**
 * `PATCH /fields/{object}/{key}`: what an admin changes of a field (its key and type stay).
 * `options` is the whole list in display order: options are renamed or archived, never removed.
 */
export const updateFieldSchema = z.object({
  label: localizedTextSchema.optional(),
  options: definedOptionsSchema.optional(),
  required: z.boolean().optional(),
  /** `false` restores an archived field (`DELETE` archives). */
  archived: z.boolean().optional(),
});
/** `PUT /fields/{object}/order`: every custom field of the object that is not archived, in the new order. */
export const fieldOrderSchema = z.object({
  keys: z
    .array(fieldKeySchema)
    .min(1)
    .max(500)
    .superRefine(noRepeats((k) => k, null, 'key')),
});

export const createCustomerSchema = z.object({ name, fields: values.default({}) });
/**
 * A contact's roles: option values of the `contact.role` field (直接联系人, 关键决策人, …),
 * each once. The server refuses a value that is not an option, or an archived one the
 * contact does not already hold, at `body.roles.N`.
 */
const contactRoles = z
  .array(storableText(MAX.key).min(1))
  .max(20)
  .superRefine(noRepeats((r) => r, null, 'role'));
export const createContactSchema = z.object({
  name,
  title: storableText(200).optional(),
  phone: storableText(40).optional(),
  email: storableText(200).optional(),
  roles: contactRoles.optional(),
});
/** `PATCH /customers/{id}/contacts/{cid}`: only what is given changes; null empties title, phone or email. */
export const updateContactSchema = z.object({
  name: name.optional(),
  title: storableText(200).nullable().optional(),
  phone: storableText(40).nullable().optional(),
  email: storableText(200).nullable().optional(),
  roles: contactRoles.optional(),
});

export const createProcessSchema = z.object({
  name: z.string().trim().min(1).max(MAX.name).regex(STORABLE_TEXT, 'must not contain NUL or an unpaired surrogate'),
  departments: z
    .array(id)
    .max(MAX.departments)
    .superRefine(noRepeats((d) => d, null, 'department'))
    .default([]),
  definition: processDefinitionSchema.default(() => processDefinitionSchema.parse({})),
  /** Create it unpublished (disabled, no version) to design it in the designer first. */
  asDraft: z.boolean().default(false),
});

export const publishSchema = z.object({
  mode: z.enum(['update-existing', 'new-process']),
  stageMapping: z.record(stageIdSchema, stageIdSchema).default({}),
  disableOld: z.boolean().default(false),
});

export const createOpportunitySchema = z.object({
  name,
  customerId: id,
  amount: z.number().finite().min(0).max(MAX.money),
  /** Left out: the tenant's base currency. */
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .optional(),
  expectedCloseDate: isoDateSchema.nullable().optional(),
  /**
   * Left out: the one enabled process usable by the owner whose conditions (`appliesWhen`)
   * hold for the customer and `fields`; none or several is 400 at `body.processId`.
   */
  processId: id.optional(),
  ownerId: id.optional(),
  fields: values.default({}),
});

/**
 * Every opportunity command may name the stage its caller saw (`expectedStageId`; null for
 * an opportunity without a stage): if it is elsewhere now, the command is 409 STALE_STATE
 * instead of acting again (a double click, a retry after a timeout).
 */
const expected = { expectedStageId: stageIdSchema.nullable().optional() };
export const stageFormSchema = z.object({ values, ...expected });
export const completeStageSchema = z.object({ toStageId: stageIdSchema.optional(), ...expected }).default({});
export const moveBackSchema = z.object({ stageId: stageIdSchema, ...expected });
export const loseSchema = z
  .object({ reason: storableText(MAX.key).nullable().optional(), comment: storableText(2000).optional(), ...expected })
  .default({});
/** win and invalidate: nothing but the expected stage. */
export const plainCommandSchema = z.object({ ...expected }).default({});
/**
 * change-process: `stageId`, a pre-sale stage of the target's current version, is where it
 * lands; left out, the stage with the id it is in now if the target has one, else the
 * target's first stage.
 */
export const changeProcessSchema = z.object({ processId: id, stageId: stageIdSchema.optional(), ...expected });
/** `GET /opportunities/{id}/change-process`: what the POST with the same values would do. */
export const changeProcessPreviewQuery = z.object({ processId: id, stageId: stageIdSchema.optional() });
/**
 * `GET /processes`: `usableBy` keeps the enabled ones the user's department may use;
 * `customerId` and/or `fields` (the opportunity's custom field values as a JSON object)
 * judge each process's conditions (`applies`, `unmet`, `undecided`, and `suggestedId`).
 */
export const listProcessesQuery = z.object({
  status: z.enum(['enabled', 'disabled']).optional(),
  usableBy: z.string().max(128).optional(),
  customerId: z.string().min(1).max(128).optional(),
  fields: z.string().max(20_000).optional(),
});
export const createOrderSchema = z.object({ amount: z.number().finite().min(0).max(MAX.money), ...expected });
export const postSaleStaffSchema = z.object({
  userIds: z
    .array(id)
    .max(50)
    .superRefine(noRepeats((u) => u, null, 'user')),
  ...expected,
});
/** reopen: back into a pre-sale stage of its version (API.md "Records"). */
export const reopenSchema = z.object({ stageId: stageIdSchema, comment: storableText(2000).optional(), ...expected });
/** The commands `POST /opportunities/commands` takes, each as its single endpoint does it. */
export const OPPORTUNITY_COMMAND_TYPES = ['completeStage', 'moveBack', 'win', 'lose', 'invalidate', 'reopen'] as const;
export type OpportunityCommandType = (typeof OPPORTUNITY_COMMAND_TYPES)[number];
/** The most commands one batch holds. */
export const MAX_BATCH_COMMANDS = 500;
/** The keys each command type takes besides `opportunityId`, `type` and `expectedStageId` (its single endpoint's body). */
const COMMAND_KEYS: Record<OpportunityCommandType, readonly string[]> = {
  completeStage: ['toStageId'],
  moveBack: ['stageId'],
  win: [],
  lose: ['reason', 'comment'],
  invalidate: [],
  reopen: ['stageId', 'comment'],
};
/**
 * One command of a batch: the body of its single endpoint (`complete-stage` takes
 * `toStageId`; `move-back` and `reopen` need `stageId`; `lose` takes `reason` and `comment`;
 * `reopen` a `comment`) with the opportunity's id and the command's type. A key its type
 * does not take is refused at its path, as an unknown key of the single body is.
 */
export const opportunityCommandSchema = z
  .object({
    opportunityId: id,
    type: z.enum(OPPORTUNITY_COMMAND_TYPES),
    toStageId: stageIdSchema.optional(),
    stageId: stageIdSchema.optional(),
    reason: storableText(MAX.key).nullable().optional(),
    comment: storableText(2000).optional(),
    ...expected,
  })
  .superRefine((c, ctx) => {
    const takes = COMMAND_KEYS[c.type];
    for (const key of ['toStageId', 'stageId', 'reason', 'comment'] as const)
      if (c[key] !== undefined && !takes.includes(key))
        ctx.addIssue({ code: 'custom', path: [key], message: `${c.type} does not take ${key}` });
    if ((c.type === 'moveBack' || c.type === 'reopen') && c.stageId === undefined)
      ctx.addIssue({ code: 'custom', path: ['stageId'], message: `${c.type} needs stageId` });
  });
export type OpportunityCommand = z.infer<typeof opportunityCommandSchema>;
/** `POST /opportunities/commands`: 1 to 500 commands, each opportunity at most once. */
export const commandBatchSchema = z.object({
  commands: z
    .array(opportunityCommandSchema)
    .min(1)
    .max(MAX_BATCH_COMMANDS)
    .superRefine(noRepeats((c) => c.opportunityId, 'opportunityId', 'opportunity')),
});
/**
 * `PATCH /opportunities/{id}`: only what is given changes; custom `fields` are merged into
 * the stored ones (null empties one). `reason` goes into the change's history row.
 */
export const editOpportunitySchema = z.object({
  name: name.optional(),
  amount: z.number().finite().min(0).max(MAX.money).optional(),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .optional(),
  expectedCloseDate: isoDateSchema.nullable().optional(),
  fields: values.optional(),
  reason: storableText(500).optional(),
  ...expected,
});
/** `PATCH /customers/{id}`: the name and/or custom fields (merged, null empties one). */
export const editCustomerSchema = z.object({ name: name.optional(), fields: values.optional() });
/**
 * `POST /opportunities/reassign`: the opportunities named, or every open one (post-sale
 * ones still moving included) of `fromOwnerId`, to `toOwnerId`; exactly one of the two.
 */
export const reassignSchema = z
  .object({
    opportunityIds: z
      .array(id)
      .min(1)
      .max(500)
      .superRefine(noRepeats((o) => o, null, 'opportunity'))
      .optional(),
    fromOwnerId: id.optional(),
    toOwnerId: id,
    reason: storableText(500).optional(),
  })
  .superRefine((b, ctx) => {
    if ((b.opportunityIds === undefined) === (b.fromOwnerId === undefined))
      ctx.addIssue({
        code: 'custom',
        path: [b.opportunityIds === undefined ? 'opportunityIds' : 'fromOwnerId'],
        message: 'give either opportunityIds or fromOwnerId',
      });
  });
export const decisionSchema = z.object({ comment: storableText(2000).default('') }).default({ comment: '' });
export const webhookSchema = z.object({ url: z.string().url().max(2000), secret: storableText(200).min(8) });
export const listOpportunitiesQuery = z.object({
  processId: id.optional(),
  status: z.enum(['open', 'won', 'lost', 'invalid']).optional(),
  ownerId: id.optional(),
  stageId: stageIdSchema.optional(),
  cursor: z.string().max(200).optional(),
  /** Up to 500: a board loads a process's open opportunities in a few pages. */
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
/** `GET /opportunities/stream`: the opportunities of one process, or of all. */
export const opportunityStreamQuery = z.object({ processId: id.optional() });
/** Dev mode's token request; strict like every body (it is parsed outside the API routes). */
export const devTokenSchema = strictBody(
  z.object({
    sub: id,
    tenant: id,
    roles: z.array(z.enum(['admin', 'sales', 'supervisor', 'postsale', 'analyst'])).default([]),
    name: storableText(200).optional(),
    expiresIn: z
      .number()
      .int()
      .min(1)
      .max(30 * 86400)
      .optional(),
  }),
);
export const targetPlanSchema = z.object({
  processId: id,
  target: z.union([z.number().positive().max(1e13), z.array(z.number().min(0).max(1e13)).min(1).max(36)]),
  period: z.enum(['month', 'quarter']),
  start: z
    .string()
    .regex(/^\d{4}-(\d{2}|Q[1-4])$/)
    .optional(),
  periods: z.number().int().min(1).max(36).optional(),
});
export const ROLES = ['admin', 'sales', 'supervisor', 'postsale', 'analyst'] as const;
export type Role = (typeof ROLES)[number];

/**
 * The same schema with every object in it strict (an unknown key is an issue at its path),
 * however deep: request bodies never drop what they do not understand (API.md). Free-form
 * maps (records) keep any key their key schema allows. Defaults, checks and metadata stay.
 */
export function strictBody<T extends z.ZodType>(schema: T): T {
  return strict(schema) as T;
}

/** The schema with some parts of its def replaced; the rest (checks, metadata) kept. */
function rebuild(schema: z.ZodType, changes: Record<string, unknown>): z.ZodType {
  const def = schema._zod.def as unknown as Record<string, unknown>;
  // Keep the def's getters (a default's value is computed afresh on each parse).
  const next = Object.defineProperties({}, Object.getOwnPropertyDescriptors(def));
  for (const [k, v] of Object.entries(changes))
    Object.defineProperty(next, k, { value: v, enumerable: true, configurable: true, writable: true });
  return schema.clone(next as never);
}

function strict(schema: z.ZodType): z.ZodType {
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  const rebuilt = (changes: Record<string, unknown>) => rebuild(schema, changes);
  switch (def.type) {
    case 'object': {
      const shape = Object.fromEntries(
        Object.entries(def.shape as Record<string, z.ZodType>).map(([k, v]) => [k, strict(v)]),
      );
      return rebuilt({ shape, catchall: def.catchall ?? z.never() });
    }
    case 'array':
      return rebuilt({ element: strict(def.element as z.ZodType) });
    case 'record':
      return rebuilt({ valueType: strict(def.valueType as z.ZodType) });
    case 'union':
      return rebuilt({ options: (def.options as z.ZodType[]).map(strict) });
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'nonoptional':
      return rebuilt({ innerType: strict(def.innerType as z.ZodType) });
    case 'pipe':
      return rebuilt({ in: strict(def.in as z.ZodType), out: strict(def.out as z.ZodType) });
    default:
      return schema;
  }
}

/**
 * The same schema with no defaults, however deep: every key that has one is required. A
 * request that replaces a whole thing sends all of it, so nothing it leaves out is
 * silently reset (optional keys stay optional: their absence is a value).
 */
export function wholeBody<T extends z.ZodType>(
  schema: T,
  /** Parts that keep their defaults (keys added after clients were written against the body). */
  keep: ReadonlySet<z.ZodType> = new Set(),
): z.ZodType<z.output<T>, z.output<T>> {
  return whole(schema, keep) as never;
}

function whole(schema: z.ZodType, keep: ReadonlySet<z.ZodType>): z.ZodType {
  if (keep.has(schema)) return schema;
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  const inner = (s: z.ZodType) => whole(s, keep);
  switch (def.type) {
    case 'default':
    case 'prefault':
      return inner(def.innerType as z.ZodType);
    case 'object':
      return rebuild(schema, {
        shape: Object.fromEntries(
          Object.entries(def.shape as Record<string, z.ZodType>).map(([k, v]) => [k, inner(v)]),
        ),
      });
    case 'array':
      return rebuild(schema, { element: inner(def.element as z.ZodType) });
    case 'record':
      return rebuild(schema, { valueType: inner(def.valueType as z.ZodType) });
    case 'union':
      return rebuild(schema, { options: (def.options as z.ZodType[]).map(inner) });
    case 'optional':
    case 'nullable':
    case 'readonly':
    case 'nonoptional':
      return rebuild(schema, { innerType: inner(def.innerType as z.ZodType) });
    case 'pipe':
      return rebuild(schema, { in: inner(def.in as z.ZodType), out: inner(def.out as z.ZodType) });
    default:
      return schema;
  }
}

/**
 * `PUT /processes/{id}/draft`: the whole draft as `GET` answers it (name, departments, and
 * the definition with its stages, terminal states and rules, each with all its keys), since
 * it replaces the draft; a key left out is 400 at its path, never reset to empty. Repeated
 * stage ids, field keys in a stage or departments are 400 too (the draft holds each once).
 * Keys newer than the body may be left out and take their defaults, as in definitions stored
 * before them: `rules.allowReopen` (true), a pre-sale stage's `requiredContactRoles` ([]), a
 * post-sale stage's `team` (null: the process's), `postsaleTeam` (nobody) and `appliesWhen` ([]).
 */
export const wholeDraftSchema = wholeBody(
  processDraftSchema,
  new Set<z.ZodType>([
    processRulesSchema.shape.allowReopen,
    presaleStageSchema.shape.requiredContactRoles,
    postsaleStageSchema.shape.team,
    processDefinitionSchema.shape.postsaleTeam,
    processDefinitionSchema.shape.appliesWhen,
  ]),
);
