/**
 * The live doc of an opportunity (kind OPPORTUNITY_KIND, named by core's
 * opportunityDocName). Root `form` (FORM_ROOT) holds the current stage's field values
 * keyed `source.key`, co-filled by the owner, the supervisor and post-sale staff; root
 * `server` (SERVER_ROOT) holds what only the server writes after a validated command (an
 * OpportunityView: stage, status, gates, the form's fields). A client write to the
 * server root, to a field the stage does not have, or of a value of the wrong type is
 * rolled back. Accepted form values reach the database `formFlushMs` after the last
 * keystroke (the path of PUT stage-form), and before any command decides.
 */
import { checkFieldValue, FORM_ROOT, OPPORTUNITY_KIND, SERVER_ROOT, CLOSE_FORBIDDEN } from '@sales-process/core';
import * as Y from 'yjs';
import type { Principal } from '../http/auth.js';
import { ApiError, notFound } from '../http/errors.js';
import type { DocKind, KindDoc, Problem } from '../live/doc-kind.js';
import { clearUnknownRoots, unknownKeyProblem, unknownRoots } from '../live/yjs-roots.js';
import { opportunityAccess, type OpportunityService } from './service.js';

export interface FormField {
  source: 'customer' | 'opportunity' | 'stage';
  key: string;
  type: string;
  options?: { value: string }[] | null;
}

export interface FormDocState {
  /** The current stage's fields: which form keys a client may write, and their types. */
  fields: FormField[];
  /** The last form values and server state known to be valid, to restore on a refused update. */
  goodForm: Record<string, unknown>;
  goodServer: Record<string, unknown>;
  /** The pending flush of typed values, and whose they are. */
  flushTimer: NodeJS.Timeout | null;
  author: Principal | null;
  /** The form values the database holds. */
  flushed: Record<string, unknown>;
}

type FormDoc = KindDoc<FormDocState>;

export function opportunityFormKind(opportunities: OpportunityService): DocKind<FormDocState> {
  /** Server state and form values from the database into the doc (and each connection's rights again). */
  async function sync(doc: FormDoc) {
    const view = await opportunities.systemView(doc.id).catch(() => null);
    if (!view) return;
    // Each connection's rights again, by the same rule as REST (a reassignment, post-sale staff
    // changed, the opportunity won or closed): who may no longer read is closed, who may still
    // read but no longer write becomes read-only (and the other way round).
    const row = {
      ownerId: view.ownerId,
      managerId: view.supervisorId,
      postsaleStaff: view.postsaleStaff,
      status: view.status,
      phase: view.phase,
    };
    for (const conn of [...doc.connections]) {
      const access = opportunityAccess(conn.principal, row);
      if (!access.read) conn.close(CLOSE_FORBIDDEN, 'you may no longer open this document');
      else conn.canWrite = access.write;
    }
    const state = doc.state;
    state.fields = (view.form ?? []).map((f) => ({ source: f.source, key: f.key, type: f.type, options: f.options }));
    const stored: Record<string, unknown> = Object.fromEntries(
      (view.form ?? []).map((f) => [formKey(f), f.value ?? null]),
    );
    const form = { ...stored };
    // Keep what someone is typing and has not reached the database yet: it stays unflushed
    // (`flushed` below is what the database holds), so the pending flush still saves it.
    if (state.flushTimer) for (const [k, v] of Object.entries(readForm(doc.ydoc))) if (k in form) form[k] = v;
    const { form: fullForm, ...rest } = view;
    // The form's shape (labels, types, options) is server state; its values are co-edited.
    const server = { ...rest, formFields: (fullForm ?? []).map(({ value: _v, ...f }) => f) };
    await doc.edit((d) => {
      writeMap(d, SERVER_ROOT, JSON.parse(JSON.stringify(server)));
      writeMap(d, FORM_ROOT, form);
    }, null);
    state.flushed = stored;
  }

  /** Writes co-filled form values to the database (the same path as PUT stage-form). */
  async function flush(doc: FormDoc) {
    const state = doc.state;
    if (state.flushTimer) clearTimeout(state.flushTimer);
    state.flushTimer = null;
    if (!state.author) return;
    const form = readForm(doc.ydoc);
    const changed = Object.fromEntries(
      Object.entries(form).filter(([k, v]) => JSON.stringify(state.flushed[k]) !== JSON.stringify(v)),
    );
    if (!Object.keys(changed).length) return;
    try {
      await opportunities.saveStageForm(state.author, doc.id, changed);
      state.flushed = { ...state.flushed, ...changed };
    } catch (e) {
      doc.logger.warn({ err: e, doc: doc.name }, 'form values refused by the database; resyncing');
      await sync(doc);
    }
  }

  return {
    prefix: OPPORTUNITY_KIND,

    async authorize(p, id) {
      const access = await opportunities.accessFor(p, id).catch(() => null);
      if (!access) throw notFound('opportunity');
      if (!access.read) throw new ApiError('FORBIDDEN');
      return { canWrite: access.write };
    },

    init: () => ({ fields: [], goodForm: {}, goodServer: {}, flushTimer: null, author: null, flushed: {} }),
    load: sync,
    refresh: sync,
    check: (doc) => checkFormDoc(doc.ydoc, doc.state.fields, doc.state.goodServer),
    restore: (doc, origin) => restoreFormDoc(doc.ydoc, doc.state.goodForm, doc.state.goodServer, origin),

    remember(doc) {
      doc.state.goodForm = readForm(doc.ydoc);
      doc.state.goodServer = readServerState(doc.ydoc);
    },

    /** Typed values reach the database `formFlushMs` after the last keystroke. */
    accepted(doc, author) {
      const state = doc.state;
      state.author = author;
      if (state.flushTimer) clearTimeout(state.flushTimer);
      state.flushTimer = setTimeout(
        () => void doc.serial(() => flush(doc)).catch((e) => doc.logger.warn({ err: e }, 'form flush failed')),
        doc.options.formFlushMs,
      );
    },

    flush,

    dispose(doc) {
      if (doc.state.flushTimer) clearTimeout(doc.state.flushTimer);
    },
  };
}

export const formKey = (f: { source: string; key: string }) => `${f.source}.${f.key}`;

/** The form map as plain values. */
export function readForm(doc: Y.Doc): Record<string, unknown> {
  return doc.getMap(FORM_ROOT).toJSON();
}

export function readServerState(doc: Y.Doc): Record<string, unknown> {
  return doc.getMap(SERVER_ROOT).toJSON();
}

/** Every client-written key must be a field of the current stage, with a value of its type. */
export function checkFormDoc(
  doc: Y.Doc,
  fields: readonly FormField[],
  serverBefore: Record<string, unknown>,
): Problem[] {
  const problems: Problem[] = unknownRoots(doc, [FORM_ROOT, SERVER_ROOT]).map(unknownKeyProblem);
  if (JSON.stringify(readServerState(doc)) !== JSON.stringify(serverBefore))
    problems.push({
      code: 'SERVER_OWNED',
      path: SERVER_ROOT,
      message: { zh: '阶段、状态等只能由服务器修改', en: 'Stage, status and gates are written by the server only' },
    });
  const byKey = new Map(fields.map((f) => [formKey(f), f]));
  doc.getMap(FORM_ROOT).forEach((value, key) => {
    const f = byKey.get(key);
    if (!f)
      return void problems.push({
        code: 'UNKNOWN_FIELD',
        path: `form.${key}`,
        message: { zh: `当前阶段没有字段 ${key}`, en: `The current stage has no field ${key}` },
      });
    if (value instanceof Y.AbstractType)
      return void problems.push({
        code: 'INVALID_VALUE',
        path: `form.${key}`,
        message: { zh: `${key} 的值不合法`, en: `${key} has an invalid value` },
      });
    const problem = checkFieldValue(f.type as never, value, f.options as never);
    if (problem)
      problems.push({
        code: 'INVALID_VALUE',
        path: `form.${key}`,
        message: { zh: `${key}：${problem.message.zh}`, en: `${key}: ${problem.message.en}` },
      });
  });
  return problems;
}

/** Writes plain values into a root map, changing only what differs (inside the caller's transaction when there is one). */
export function writeMap(
  doc: Y.Doc,
  root: string,
  values: Record<string, unknown>,
  origin: unknown = null,
  removeOthers = true,
): void {
  doc.transact(() => {
    const map = doc.getMap(root);
    if (removeOthers) for (const k of [...map.keys()]) if (!(k in values)) map.delete(k);
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) continue;
      const json = JSON.stringify(v);
      const cur = map.get(k);
      if (cur instanceof Y.AbstractType || JSON.stringify(cur) !== json)
        map.set(k, v === null ? null : JSON.parse(json));
    }
  }, origin);
}

/** Restores an opportunity doc to known-good form values and server state. */
export function restoreFormDoc(
  doc: Y.Doc,
  form: Record<string, unknown>,
  server: Record<string, unknown>,
  origin: unknown,
): void {
  doc.transact((tr) => {
    clearUnknownRoots(doc, [FORM_ROOT, SERVER_ROOT], tr);
    writeMap(doc, FORM_ROOT, form, origin);
    writeMap(doc, SERVER_ROOT, server, origin);
  }, origin);
}
