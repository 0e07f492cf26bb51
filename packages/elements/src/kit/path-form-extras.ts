/**
 * What the stage path and the stage form load on first use, as one chunk of the one-script
 * embed: the path's record actions (its 更多 / More menu and dialogs) and the form's contact
 * gates. In the kit (vite.kit.config.ts, `oneExtrasChunk`) both import this module instead of
 * their own: one file compresses 0.6 KB gzip smaller than two, and a page that uses one soon
 * uses the other (a salesperson's page shows the path with its form). The published package
 * keeps the two imports apart.
 */
export { RecordActions } from '../stage-path/record-actions.js';
export { ContactGates } from '../form/contact-gates.js';
