/**
 * The stage path and the stage form as one chunk of the one-script embed: salespeople's pages
 * show them together (the path of an opportunity with its feedback form), and in one file they
 * compress 0.9 KB gzip smaller than apart. A page with only one of them loads the other's code
 * too (≈ 4.5 KB gzip), which the kit accepts for its main page.
 */
export { define as defineStagePath } from '../stage-path/opportunity-stage-path.js';
export { define as defineStageForm } from '../form/stage-feedback-form.js';
