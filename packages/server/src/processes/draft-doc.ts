/**
 * The live doc of a process's draft (kind PROCESS_DRAFT_KIND, named by core's
 * processDraftDocName), co-edited by admins in the designer. Every client update must
 * leave a structurally valid draft with no unknown keys (draft-checker.ts); one that does
 * not is rolled back to the last good draft and its author told why. A draft nobody has
 * opened yet starts as the process's current version.
 */
import { DRAFT_ROOT, PROCESS_DRAFT_KIND, writeDraft, type ProcessDraft } from '@sales-process/core';
import type { Database } from '../db/open.js';
import { ApiError } from '../http/errors.js';
import type { DocKind } from '../live/doc-kind.js';
import { DraftChecker, restoreDraftDoc } from './draft-checker.js';
import type { ProcessService } from './service.js';

export interface DraftDocState {
  /** Checks each update re-reading only the stages it touched. */
  readonly checker: DraftChecker;
  /** The last draft known to be valid, to restore on a refused update. */
  good: ProcessDraft | null;
  /** What the last `check` parsed, so an accepted update is parsed once. */
  lastChecked: ProcessDraft | null;
}

export function processDraftKind(processes: ProcessService, database: Database): DocKind<DraftDocState> {
  return {
    prefix: PROCESS_DRAFT_KIND,

    async authorize(p, id) {
      await processes.row(database.db, p.tenantId, id); // 404 outside the tenant
      if (!p.roles.has('admin'))
        throw new ApiError('FORBIDDEN', [
          { message: { zh: '只有管理员可以编辑销售流程', en: 'Only admins edit processes' } },
        ]);
      return { canWrite: true };
    },

    init: (ydoc) => ({ checker: new DraftChecker(ydoc), good: null, lastChecked: null }),

    async load(doc) {
      const { draft } = doc.state.checker.check();
      doc.state.good = draft;
      if (!draft || !doc.ydoc.getMap(DRAFT_ROOT).size) {
        // A new draft starts as the current version.
        const initial = await processes.currentDraft(doc.id);
        await doc.edit((d) => writeDraft(d, initial), null);
      }
    },

    check(doc) {
      const { problems, draft } = doc.state.checker.check();
      doc.state.lastChecked = draft;
      return problems;
    },

    restore: (doc, origin) => {
      doc.state.lastChecked = null;
      restoreDraftDoc(doc.ydoc, doc.state.good!, origin);
    },

    remember(doc, checked) {
      const draft = checked ? doc.state.lastChecked : doc.state.checker.check().draft;
      // Not kept past its use: a refused draft's parse, or an older copy, would stay beside `good`.
      doc.state.lastChecked = null;
      if (draft) doc.state.good = draft;
    },
  };
}
