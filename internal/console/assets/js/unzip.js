// A zip reader for the Code tab: the entries of a function's code
// package, stored (method 0) or deflated (method 8, inflated with the
// browser's DecompressionStream('deflate-raw')), CRC-32 checked. No
// zip64, no encryption: openfc's code limits keep packages far below
// 4 GiB, and an unreadable archive says why.
import { crc32 } from './zip.js';

const sigEnd = 0x06054b50;
const sigCentral = 0x02014b50;
const sigLocal = 0x04034b50;

// findEnd finds the end of central directory record, searching back over
// a comment of up to 64 KiB.
function findEnd(view) {
  for (let at = view.byteLength - 22; at >= Math.max(0, view.byteLength - 22 - 0xffff); at--) {
    if (view.getUint32(at, true) === sigEnd) return at;
  }
  throw new Error('not a zip archive (no end of central directory record)');
}

// inflateRaw decompresses raw deflate data.
export async function inflateRaw(data) {
  const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// readZip returns the files of a zip archive (directories left out) in
// archive order: {name, data: Uint8Array, mode} where mode is the Unix
// mode the archive records (0 when it records none).
export async function readZip(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = findEnd(view);
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  if (count === 0xffff || at === 0xffffffff) throw new Error('zip64 archives are not supported');
  const names = new TextDecoder();
  const files = [];
  for (let i = 0; i < count; i++) {
    if (at + 46 > bytes.length || view.getUint32(at, true) !== sigCentral) {
      throw new Error(`corrupt zip: central directory entry ${i} is missing`);
    }
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    const csize = view.getUint32(at + 20, true);
    const size = view.getUint32(at + 24, true);
    const nameLen = view.getUint16(at + 28, true);
    const extraLen = view.getUint16(at + 30, true);
    const commentLen = view.getUint16(at + 32, true);
    const madeBy = view.getUint16(at + 4, true) >> 8;
    const external = view.getUint32(at + 38, true);
    const local = view.getUint32(at + 42, true);
    const name = names.decode(bytes.subarray(at + 46, at + 46 + nameLen));
    at += 46 + nameLen + extraLen + commentLen;
    if (name.endsWith('/')) continue;
    if (flags & 1) throw new Error(`${name}: encrypted entries are not supported`);
    if (view.getUint32(local, true) !== sigLocal) throw new Error(`corrupt zip: ${name} has no local header`);
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const raw = bytes.subarray(start, start + csize);
    let data;
    if (method === 0) data = raw.slice();
    else if (method === 8) data = await inflateRaw(raw);
    else throw new Error(`${name}: compression method ${method} is not supported (only stored and deflate)`);
    if (data.length !== size || crc32(data) !== crc) throw new Error(`${name}: size or CRC-32 does not match the archive's`);
    // Unix (3) and macOS (19) archivers keep the mode in the high bits.
    const mode = madeBy === 3 || madeBy === 19 ? external >>> 16 : 0;
    files.push({ name, data, mode });
  }
  return files;
}
