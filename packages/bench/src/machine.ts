/** The machine a benchmark ran on: recorded in every report, since numbers only mean something with it. */
import os from 'node:os';
import type { Machine } from './types.js';

export function machineInfo(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    platform: process.platform,
    arch: process.arch,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** One line: "AMD EPYC, 2 cores, Node v20.20.2, Linux 6.18.44 x64". */
export function describeMachine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, Node ${m.node}, ${m.kernel} ${m.arch}, ${m.memoryGiB} GiB`;
}
