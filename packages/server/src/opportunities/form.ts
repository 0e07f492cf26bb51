import {
  CONTACT_ROLE_KEY,
  checkFieldValue,
  gateDetail,
  offeredOptions,
  stageById,
  type FieldCatalog,
  type FormFieldView,
  type LocalizedText,
  type OpportunityState,
  type ProcessDefinition,
  type Refusal,
  type StageField,
} from '@sales-process/core';
import type { ValueRef } from '../directory/fields.js';
import { ApiError } from '../http/errors.js';

/** Stage forms: their fields as views show them, submitted values checked onto them, refusals naming them. */

/** The label of a stage form field: its own (stage-only) or its definition's. */
export function fieldLabel(
  def: ProcessDefinition,
  catalog: FieldCatalog,
  stageId: string | null,
  source: string,
  key: string,
): LocalizedText | string {
  const f = stageById(def, stageId)?.stage.fields.find((x) => x.source === source && x.key === key);
  if (f?.label) return f.label;
  if (source === 'customer' || source === 'opportunity')
    return catalog[source].find((d) => d.key === key)?.label ?? key;
  // A role required by the stage: an option of the contact.role field.
  if (source === 'contactRole')
    return catalog.contact.find((d) => d.key === CONTACT_ROLE_KEY)?.options?.find((o) => o.value === key)?.label ?? key;
  return key;
}

/**
 * The current stage's form: each field with its type, label, options and value. Options are
 * those offered for a new value, plus an archived one the value holds (shown with its label).
 */
export function formOf(fields: readonly StageField[], catalog: FieldCatalog, state: OpportunityState): FormFieldView[] {
  return fields.map((f) => {
    const def = f.source === 'stage' ? null : catalog[f.source].find((d) => d.key === f.key);
    const value = state.values[f.source][f.key] ?? null;
    return {
      source: f.source,
      key: f.key,
      required: f.required,
      type: f.type ?? def?.type ?? 'text',
      label: f.label ?? def?.label ?? { zh: f.key, en: f.key },
      options: offeredOptions(f.options ?? def?.options, value) ?? null,
      value,
    };
  });
}

/**
 * Maps submitted values onto the stage's fields, checking each by type; an archived option
 * only where `current` (the values now) already holds it.
 */
export function resolveFormValues(
  fields: readonly StageField[],
  catalog: FieldCatalog,
  values: Record<string, unknown>,
  current?: Record<StageField['source'], Record<string, unknown>>,
) {
  const out = {
    customer: {} as Record<string, unknown>,
    opportunity: {} as Record<string, unknown>,
    stage: {} as Record<string, unknown>,
    /** Values naming a user or a file, for `checkValueRefs`. */
    refs: [] as (ValueRef & { source: StageField['source']; key: string })[],
  };
  const details = [];
  for (const [name, value] of Object.entries(values)) {
    const dot = name.indexOf('.');
    const matches =
      dot > 0 ? fields.filter((f) => `${f.source}.${f.key}` === name) : fields.filter((f) => f.key === name);
    if (matches.length !== 1) {
      details.push({
        path: `body.values.${name}`,
        message: matches.length
          ? { zh: `${name} 有歧义，请写成 来源.字段`, en: `${name} is ambiguous: use source.key` }
          : { zh: `本阶段没有字段 ${name}`, en: `This stage has no field ${name}` },
      });
      continue;
    }
    const f = matches[0]!;
    const def = f.source === 'stage' ? null : catalog[f.source].find((d) => d.key === f.key);
    const type = f.type ?? def?.type;
    if (!type) {
      details.push({
        path: `body.values.${name}`,
        message: { zh: `字段 ${name} 未定义`, en: `Field ${name} is not defined` },
      });
      continue;
    }
    const problem = checkFieldValue(type, value, offeredOptions(f.options ?? def?.options, current?.[f.source][f.key]));
    if (problem)
      details.push({
        path: `body.values.${name}`,
        message: { zh: `${name}：${problem.message.zh}`, en: `${name}: ${problem.message.en}` },
      });
    else if (
      f.source === 'opportunity' &&
      f.key === 'amount' &&
      value !== null &&
      (typeof value !== 'number' || value < 0)
    )
      details.push({
        path: `body.values.${name}`,
        message: { zh: '金额不能为负', en: 'The amount cannot be negative' },
      });
    else {
      out[f.source][f.key] = value;
      if (type === 'file' || type === 'user')
        out.refs.push({ path: `body.values.${name}`, type, value, source: f.source, key: f.key });
    }
  }
  if (details.length) throw new ApiError('VALIDATION_FAILED', details);
  return out;
}

/** A core refusal as an ApiError, naming required fields by their labels. */
export function refusalError(
  refusal: Refusal,
  def: ProcessDefinition,
  catalog: FieldCatalog,
  stageId: string | null,
): ApiError {
  const labelOf = (source: string, key: string) => fieldLabel(def, catalog, stageId, source, key);
  const details = refusal.details.map((d) =>
    d.gate === 'requiredField'
      ? gateDetail(
          { gate: 'requiredField', source: d.source as 'stage', key: String(d.key), met: false },
          def,
          stageId,
          labelOf,
        )
      : d.gate === 'contactRole'
        ? gateDetail({ gate: 'contactRole', role: String(d.role), met: false }, def, stageId, labelOf)
        : d,
  );
  return new ApiError(refusal.code, details);
}
