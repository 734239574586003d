// Self-checking test messages for fixture processes (plain JavaScript, imported by child processes).
// Message `seq` of producer `id`, `len` >= 16 bytes: [id, seq, length, checksum] as little-endian
// u32, then bytes derived from them, so a receiver can tell a lost, repeated, reordered or torn
// message from a good one. The tests that verify them compute the same FNV-1a checksum.

/** Message `seq` of producer `id`, `len` bytes long. */
export function message(id, seq, len) {
  const m = new Uint8Array(len);
  const v = new DataView(m.buffer);
  v.setUint32(0, id, true);
  v.setUint32(4, seq, true);
  v.setUint32(8, len, true);
  for (let i = 16; i < len; i++) m[i] = (id * 31 + seq * 7 + i) & 0xff;
  v.setUint32(12, checksum(m), true);
  return m;
}

/** FNV-1a over the payload after the 16-byte header, mixed with the length. */
export function checksum(m) {
  let sum = 0x811c9dc5;
  for (let i = 16; i < m.length; i++) sum = Math.imul(sum ^ m[i], 16777619) >>> 0;
  return (sum ^ m.length) >>> 0;
}

/**
 * The cross-language test message (python/tests and test/python's peer.py build the same bytes):
 * message `seq` of producer `id`, 12-192 bytes long by a hash of both, [id, seq, length] as
 * little-endian u32, then bytes derived from all three.
 */
export function hashedMessage(id, seq) {
  const len = 12 + (((seq * 2654435761 + id * 40503) >>> 0) % 181);
  const m = new Uint8Array(len);
  const v = new DataView(m.buffer);
  v.setUint32(0, id, true);
  v.setUint32(4, seq, true);
  v.setUint32(8, len, true);
  for (let i = 12; i < len; i++) m[i] = (id * 31 + seq * 7 + i) & 0xff;
  return m;
}
