// Bootstrap of the benchmarks' TypeScript workers: registers the tsx loader in this thread, then
// runs the worker module named in workerData.fixture. (On Node 20, `--import tsx` in a Worker's
// execArgv does not apply to the worker's own entry module.)
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.fixture);
