import { z } from 'zod';
import { processDefinitionSchema, stageIdSchema } from './definition.js';
import { fieldDefinitionSchema, MAX } from './fields.js';

/** Request bodies of API.md, shared by the server (validation, OpenAPI) and the client. */
const id = z.string().min(1).max(128);
const name = z.string().trim().min(1).max(200);
const values = z.record(z.string().max(MAX.key), z.unknown());

export const directorySyncSchema = z.object({
  departments: z.array(z.object({ id, name, parentId: id.nullable().optional() })).max(10_000).default([]),
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
    .default([]),
});

export const createFieldSchema = fieldDefinitionSchema;

export const createCustomerSchema = z.object({ name, fields: values.default({}) });
export const createContactSchema = z.object({
  name,
  title: z.string().max(200).optional(),
  phone: z.string().max(40).optional(),
  email: z.string().max(200).optional(),
});

export const createProcessSchema = z.object({
  name: z.string().trim().min(1).max(MAX.name),
  departments: z.array(id).max(MAX.departments).default([]),
  definition: processDefinitionSchema.default(processDefinitionSchema.parse({})),
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
  amount: z.number().finite().min(0).max(1e13),
  currency: z.string().regex(/^[A-Z]{3}$/).default('CNY'),
  expectedCloseDate: z.string().regex(/^\d{4}-\d{2}-\d{2}$/).nullable().optional(),
  processId: id,
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
export const loseSchema = z.object({ reason: z.string().max(MAX.key).nullable().optional(), comment: z.string().max(2000).optional(), ...expected }).default({});
/** win and invalidate: nothing but the expected stage. */
export const plainCommandSchema = z.object({ ...expected }).default({});
export const changeProcessSchema = z.object({ processId: id, ...expected });
export const createOrderSchema = z.object({ amount: z.number().finite().min(0).max(1e13), ...expected });
export const postSaleStaffSchema = z.object({ userIds: z.array(id).max(50), ...expected });
export const decisionSchema = z.object({ comment: z.string().max(2000).default('') }).default({ comment: '' });
export const webhookSchema = z.object({ url: z.string().url().max(2000), secret: z.string().min(8).max(200) });
export const listOpportunitiesQuery = z.object({
  processId: id.optional(),
  status: z.enum(['open', 'won', 'lost', 'invalid']).optional(),
  ownerId: id.optional(),
  stageId: stageIdSchema.optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export const devTokenSchema = z.object({
  sub: id,
  tenant: id,
  roles: z.array(z.enum(['admin', 'sales', 'supervisor', 'postsale', 'analyst'])).default([]),
  name: z.string().max(200).optional(),
  expiresIn: z.number().int().min(1).max(30 * 86400).optional(),
});
export const targetPlanSchema = z.object({
  processId: id,
  target: z.union([z.number().positive().max(1e13), z.array(z.number().min(0).max(1e13)).min(1).max(36)]),
  period: z.enum(['month', 'quarter']),
  start: z.string().regex(/^\d{4}-(\d{2}|Q[1-4])$/).optional(),
  periods: z.number().int().min(1).max(36).optional(),
});
export const ROLES = ['admin', 'sales', 'supervisor', 'postsale', 'analyst'] as const;
export type Role = (typeof ROLES)[number];
