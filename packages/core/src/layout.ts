/**
 * Layout helpers: alignment, cache-line isolation and type tags.
 *
 * Fields written by different threads go on different cache lines, or every write by one
 * thread invalidates the line the other is reading ("false sharing"). 128 bytes covers the
 * adjacent-line prefetcher of current x86 cores, which moves lines in pairs of 64 bytes.
 *
 * Naming of layout constants in core and sync: a field's constant is the field's name in capitals
 * (`STATE`, `READ_SEQ`) and holds its Int32 index (`i32[STATE]`); a byte count ends in `_BYTES`
 * (`HEADER_BYTES`); a group of bits within a word ends in `_MASK` (`TAG_KIND_MASK`, `TOKEN_MASK`),
 * a single flag bit in `_BIT` (`WAITERS_BIT`). A constant named outside its struct's module says
 * which word it is (`TAG_INDEX`: word 0 of every object). docs/format.md's tables use these names,
 * and mark byte-valued ones "(bytes)".
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

/** Bits of a tag that name the kind of object; the high byte is its layout version. */
export const TAG_KIND_MASK = 0x00ff_ffff;
/** The first byte of every tag: 'S'. */
const TAG_FAMILY = 0x53;

const tagNames = new Map<number, string>();

/**
 * Registers the type tag of a kind of shared object and returns it. A tag is one int32, stored in
 * the object's first word, last, when the object is initialised (docs/format.md, "Type tags and
 * layout versions"). Read as little-endian bytes:
 *
 * | byte | holds                                                    |
 * |------|----------------------------------------------------------|
 * | 0    | 'S' (0x53)                                               |
 * | 1-2  | the kind, two ASCII letters ('mx' for Mutex)             |
 * | 3    | the kind's layout version, 1..255                        |
 *
 * So attaching tells apart memory not initialised yet (0), another layout version of the same
 * kind, another kind, and something that is no shmkit object at all. Bump the version with any
 * change to the kind's layout table.
 *
 * @example
 * ```ts fragment
 * const TAG = defineTag('mx', 'Mutex', 1);   // 0x01786d53: 'S' 'm' 'x' 0x01
 * ```
 */
export function defineTag(kind: string, typeName: string, version: number): number {
  if (kind.length !== 2 || !/^[\x21-\x7e]{2}$/.test(kind)) {
    throw new RangeError(`a tag's kind is two printable ASCII characters, got ${JSON.stringify(kind)}`);
  }
  if (!Number.isInteger(version) || version < 1 || version > 255) {
    throw new RangeError(`a layout version is an integer in [1, 255], got ${version}`);
  }
  const code = TAG_FAMILY | (kind.charCodeAt(0) << 8) | (kind.charCodeAt(1) << 16);
  const known = tagNames.get(code);
  if (known !== undefined && known !== typeName) throw new Error(`tag kind ${kind} is taken by ${known}`);
  tagNames.set(code, typeName);
  return code | (version << 24) | 0;
}

/** The type registered for the kind of `tag` (whatever its layout version), if any. */
export function tagName(tag: number): string | undefined {
  return tagNames.get(tag & TAG_KIND_MASK);
}

/** The layout version carried by `tag` (its high byte). */
export function tagVersion(tag: number): number {
  return tag >>> 24;
}
