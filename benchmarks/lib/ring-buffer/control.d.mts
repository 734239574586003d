// Types of control.mjs (plain JavaScript, shared with the worker).

export const READY: number;
export const GO: number;
export const DONE: number;
export const ERR: number;
export const SUM: number;
export function newControl(): Int32Array;
export function reportError(ctl: Int32Array, e: unknown): void;
export function throwIfFailed(ctl: Int32Array): void;
export function waitFor(ctl: Int32Array, index: number, value: number, timeoutMs: number, what: string): void;
export function spinFor(ctl: Int32Array, index: number, timeoutMs: number): void;
