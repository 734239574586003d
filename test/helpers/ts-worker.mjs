// Bootstrap of every test worker: registers the tsx loader in this thread, then runs the
// TypeScript fixture named in workerData. (On Node 20, `--import tsx` in a Worker's execArgv does
// not apply to the worker's own entry module, so the loader is registered here instead.)
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.fixture);
