import {
  conditionsHold,
  type ApplicabilityCondition,
  type FieldCatalog,
  type LocalizedText,
  type ProcessDefinition,
} from '@sales-process/core';
import { ApiError } from '../http/errors.js';

/**
 * A process's field conditions (`appliesWhen`: 客户类型 = 大客户, 产品线 = 硬件) judged for a
 * customer and an opportunity's values. Departments are judged apart (`usableFor`).
 */

/** The values conditions read: a customer's custom fields, an opportunity's (undefined: not known yet). */
export interface ConditionValues {
  customer?: Record<string, unknown>;
  opportunity?: Record<string, unknown>;
}

/** How a process's conditions stand: `unmet` fail; `undecided` could not be judged (no values of their source). */
export interface Applicability {
  applies: boolean;
  unmet: ApplicabilityCondition[];
  undecided: ApplicabilityCondition[];
}

const plain = ({ source, key, values }: ApplicabilityCondition): ApplicabilityCondition => ({ source, key, values });

/**
 * Each condition against the values of its source: held, unmet, or undecided when that
 * source's values are not given. `applies` when none is unmet (undecided ones may still fail).
 */
export function judgeConditions(def: Pick<ProcessDefinition, 'appliesWhen'>, values: ConditionValues): Applicability {
  const unmet: ApplicabilityCondition[] = [];
  const undecided: ApplicabilityCondition[] = [];
  for (const c of def.appliesWhen) {
    const of = values[c.source];
    if (!of) undecided.push(plain(c));
    else if (!conditionsHold({ appliesWhen: [c] }, { customer: of, opportunity: of })) unmet.push(plain(c));
  }
  return { applies: unmet.length === 0, unmet, undecided };
}

/** A condition in words, by its field's label and its options' labels (as field management names them). */
export function conditionText(catalog: FieldCatalog, c: ApplicabilityCondition): LocalizedText {
  const field = catalog[c.source].find((d) => d.key === c.key);
  const label = field?.label ?? { zh: c.key, en: c.key };
  const value = (v: string) => field?.options?.find((o) => o.value === v)?.label ?? { zh: v, en: v };
  const zhValues = c.values.map((v) => value(v).zh).join('、');
  const enValues = c.values.map((v) => value(v).en).join(' or ');
  const zhSource = c.source === 'customer' ? '客户' : '商机';
  const enSource = c.source === 'customer' ? "The customer's" : "The opportunity's";
  return {
    zh: `${zhSource}的“${label.zh}”须为 ${zhValues}`,
    en: `${enSource} "${label.en}" must be ${enValues}`,
  };
}

/**
 * 422 PROCESS_NOT_APPLICABLE naming each unmet condition (its field and the values it
 * wants, by label): the code a department outside the process's scope has too.
 */
export function conditionsUnmetError(catalog: FieldCatalog, unmet: readonly ApplicabilityCondition[]): ApiError {
  return new ApiError(
    'PROCESS_NOT_APPLICABLE',
    unmet.map((c) => ({ ...plain(c), message: conditionText(catalog, c) })),
    {
      zh: '该销售流程的适用条件不满足（客户或商机字段）',
      en: "The sales process's conditions do not hold for this customer or opportunity",
    },
  );
}
