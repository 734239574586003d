/**
 * Layout helpers: alignment, cache-line isolation and type tags.
 *
 * Fields written by different threads go on different cache lines, or every write by one
 * thread invalidates the line the other is reading ("false sharing"). 128 bytes covers the
 * adjacent-line prefetcher of current x86 cores, which moves lines in pairs of 64 bytes.
 */

/** Bytes between fields written by different threads. */
export const CACHE_LINE = 128;

/** Rounds `n` up to a multiple of `alignment` (a power of two). */
export function alignUp(n: number, alignment: number): number {
  return (n + alignment - 1) & ~(alignment - 1);
}

/**
 * Builds a struct layout: plain fields packed with alignment, isolated fields each on a cache
 * line of their own.
 *
 * @example
 * ```ts
 * const l = new LayoutBuilder();
 * const TAG = l.field(4);          // 0
 * const HEAD = l.isolated(4);      // 128: written by the consumer only
 * const TAIL = l.isolated(4);      // 256: written by the producer only
 * const SIZE = l.size();           // 384
 * ```
 */
export class LayoutBuilder {
  private offset = 0;

  /** Reserves `bytes` at the next offset aligned to `alignment`; returns that offset. */
  field(bytes: number, alignment = 4): number {
    const at = alignUp(this.offset, alignment);
    this.offset = at + bytes;
    return at;
  }

  /** Reserves `bytes` starting on a fresh cache line, and keeps the rest of that line empty. */
  isolated(bytes: number): number {
    const at = alignUp(this.offset, CACHE_LINE);
    this.offset = at + alignUp(bytes, CACHE_LINE);
    return at;
  }

  /** Total size so far, rounded to 8 bytes so that objects can be packed back to back. */
  size(): number {
    return alignUp(this.offset, 8);
  }
}

const tagNames = new Map<number, string>();

/**
 * Registers the type tag of a kind of shared object: four ASCII characters read as a
 * little-endian int32, stored in the object's first word so that attaching the wrong kind of
 * object (a Condition's handle passed to Mutex.from) is caught instead of corrupting it.
 */
export function defineTag(fourChars: string, typeName: string): number {
  if (fourChars.length !== 4) throw new RangeError('a tag is four ASCII characters');
  let tag = 0;
  for (let i = 3; i >= 0; i--) tag = (tag << 8) | (fourChars.charCodeAt(i) & 0xff);
  const known = tagNames.get(tag);
  if (known !== undefined && known !== typeName) throw new Error(`tag ${fourChars} is taken by ${known}`);
  tagNames.set(tag, typeName);
  return tag;
}

/** The type registered for `tag`, if any (for error messages). */
export function tagName(tag: number): string | undefined {
  return tagNames.get(tag);
}
