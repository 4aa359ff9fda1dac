// A zip writer: stored entries, or deflated ones the caller compressed
// (deflateEntry, with the browser's CompressionStream). Entries are
// {name, data: Uint8Array, mode?, deflated?}: mode is the Unix file mode
// (default 0100644; a bootstrap keeps its execute bits), deflated the
// raw-deflate bytes of data when the entry is compressed.

function crcTable() {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

export function crc32(data, table = crcTable()) {
  let c = 0xffffffff;
  for (const b of data) c = table[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// dosTime returns the DOS time and date of d (local time, 2 s steps).
function dosTime(d) {
  const time = (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1);
  const date = ((d.getFullYear() - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate();
  return [time, date];
}

// makeZip returns the zip archive of entries as bytes.
export function makeZip(entries, now = new Date()) {
  const enc = new TextEncoder();
  const table = crcTable();
  const [time, date] = dosTime(now);
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const crc = crc32(e.data, table);
    const method = e.deflated ? 8 : 0;
    const body = e.deflated || e.data;
    const mode = !e.mode ? 0o100644 : e.mode & 0o170000 ? e.mode : e.mode | 0o100000;
    const head = new DataView(new ArrayBuffer(30));
    // local file header: signature, version 2.0, flags (UTF-8 names),
    // method (0 stored, 8 deflated), time, date, crc, sizes, name length,
    // no extra
    [[0, 0x04034b50, 4], [4, 20, 2], [6, 0x0800, 2], [8, method, 2], [10, time, 2], [12, date, 2],
      [14, crc, 4], [18, body.length, 4], [22, e.data.length, 4], [26, name.length, 2], [28, 0, 2]]
      .forEach(([at, v, n]) => (n === 4 ? head.setUint32(at, v, true) : head.setUint16(at, v, true)));
    const cen = new DataView(new ArrayBuffer(46));
    // central directory header: made by Unix (3) v2.0, external attributes
    // give the file mode
    [[0, 0x02014b50, 4], [4, 0x0314, 2], [6, 20, 2], [8, 0x0800, 2], [10, method, 2], [12, time, 2],
      [14, date, 2], [16, crc, 4], [20, body.length, 4], [24, e.data.length, 4], [28, name.length, 2],
      [30, 0, 2], [32, 0, 2], [34, 0, 2], [36, 0, 2], [38, (mode << 16) >>> 0, 4], [42, offset, 4]]
      .forEach(([at, v, n]) => (n === 4 ? cen.setUint32(at, v, true) : cen.setUint16(at, v, true)));
    locals.push(new Uint8Array(head.buffer), name, body);
    centrals.push(new Uint8Array(cen.buffer), name);
    offset += 30 + name.length + body.length;
  }
  const cdSize = centrals.reduce((n, b) => n + b.length, 0);
  const end = new DataView(new ArrayBuffer(22));
  [[0, 0x06054b50, 4], [4, 0, 2], [6, 0, 2], [8, entries.length, 2], [10, entries.length, 2],
    [12, cdSize, 4], [16, offset, 4], [20, 0, 2]]
    .forEach(([at, v, n]) => (n === 4 ? end.setUint32(at, v, true) : end.setUint16(at, v, true)));
  const parts = [...locals, ...centrals, new Uint8Array(end.buffer)];
  const out = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// deflateEntry returns entry with its data compressed (raw deflate) when
// that makes it smaller, else entry as it is (stored).
export async function deflateEntry(entry) {
  const stream = new Blob([entry.data]).stream().pipeThrough(new CompressionStream('deflate-raw'));
  const deflated = new Uint8Array(await new Response(stream).arrayBuffer());
  return deflated.length < entry.data.length ? { ...entry, deflated } : entry;
}

// base64 encodes bytes (the API's code.zipFile).
export function base64(bytes) {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}
