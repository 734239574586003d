/**
 * @shmkit/bench: measures what IPC costs on this machine, backend by backend, with your payload;
 * and the `shmkit` CLI (bench, recommend, segments, doctor) built on it.
 *
 * @example
 * ```ts
 * import { measure, toHtml } from '@shmkit/bench';
 * const report = await measure({ quick: true, backends: ['postmessage', 'shmkit-thread'] });
 * writeFileSync('bench.html', toHtml(report));
 * ```
 */
export { getBackend } from './backends.js';
export { type Check, type CheckStatus, doctor } from './doctor.js';
export { charts, standaloneSvg, toHtml } from './html.js';
export { describeMachine, machineInfo } from './machine.js';
export { FULL_SIZES, formatSize, type MeasureOptions, measure, QUICK_SIZES } from './measure.js';
export {
  builtinObject,
  bytesTemplate,
  type Envelope,
  fingerprint,
  loadPayloadFile,
  MessageMaker,
  makePool,
  stamp,
  Verifier,
} from './payload.js';
export {
  type Ranked,
  type Recommendation,
  type RecommendOptions,
  recommend,
  TRAITS,
} from './recommend.js';
export { formatHeader, formatTables, headlineTable, toMarkdown, toMarkdownTables } from './report.js';
export type { Backend } from './session.js';
export { capacityFor } from './session-channel.js';
export * from './types.js';
export { FrameReader, frame } from './wire.js';
