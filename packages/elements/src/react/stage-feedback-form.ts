/** React wrapper (@lit/react) of `<stage-feedback-form>`; importing it registers the tag. */
import { createComponent, type EventName } from '@lit/react';
import * as React from 'react';
import { define, StageFeedbackForm as StageFeedbackFormElement } from '../form/stage-feedback-form.js';
import type { SpErrorEvent } from '../shared/events.js';

define();

/** `<stage-feedback-form>`: The current stage's form, co-filled live, form-associated. */
export const StageFeedbackForm = createComponent({
  tagName: 'stage-feedback-form',
  elementClass: StageFeedbackFormElement,
  react: React,
  displayName: 'StageFeedbackForm',
  events: {
    onSpError: 'sp-error' as EventName<SpErrorEvent>,
  },
});
