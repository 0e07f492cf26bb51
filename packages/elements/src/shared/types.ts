import type { Gate, LocalizedText } from '@sales-process/core';

/** The opportunity as `GET /opportunities/{id}` returns it. */
export interface OpportunityView {
  id: string;
  name: string;
  customerId: string;
  customerName: string | null;
  ownerId: string;
  ownerName: string | null;
  supervisorId: string | null;
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
  updatedAt?: string;
  daysInStage: number;
  overdue: boolean;
  postsaleStaff: string[];
  lostReason: string | null;
  contactCount: number;
  orderCount: number;
  approval: { state: 'pending' | 'approved' | 'rejected'; action: 'complete' | 'win' } | null;
  gates: (Gate & { message: LocalizedText })[];
  actions: string[];
  form: FormFieldView[] | null;
  /** In the live doc's server state: the form's fields without values. */
  formFields?: Omit<FormFieldView, 'value'>[];
  path: {
    presale: { id: string; name: string; winRate: number }[];
    postsale: { id: string; name: string; overdueAfterDays: number | null }[];
    terminal: Record<'won' | 'lost' | 'invalid', { name: string; winRate: number }>;
    maxStageIndex: number;
    rules: {
      orderRequiredToWin: boolean;
      orderAllowedAfterStage: string | null;
      allowSkipStages: boolean;
      allowMoveBack: boolean;
    };
  };
}

export interface FormFieldView {
  source: 'customer' | 'opportunity' | 'stage';
  key: string;
  required: boolean;
  type: string;
  label: LocalizedText;
  options: { value: string; label: LocalizedText }[] | null;
  value: unknown;
}
