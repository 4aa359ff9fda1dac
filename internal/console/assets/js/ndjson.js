// NDJSON (one JSON value a line) read from a streamed fetch body, as the
// logs endpoint answers: chunks arrive split anywhere, even inside a
// line or a UTF-8 character, so lines are cut only at '\n'.

// LineSplitter turns text chunks into whole lines: push returns the
// lines a chunk completes, end what is left after the last newline.
export class LineSplitter {
  constructor() {
    this.rest = '';
  }

  push(text) {
    const parts = (this.rest + text).split('\n');
    this.rest = parts.pop();
    return parts.map(trimCR).filter((l) => l !== '');
  }

  end() {
    const last = trimCR(this.rest);
    this.rest = '';
    return last === '' ? [] : [last];
  }
}

function trimCR(line) {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

// readNDJSON reads a byte stream (a fetch Response's body) to its end,
// calling onValues with the values each chunk completes (one call per
// chunk, so a page can draw them at once). A line that is not JSON is
// passed as { message: line } rather than ending the stream. Aborting
// the fetch's signal rejects the read with an AbortError.
export async function readNDJSON(stream, onValues) {
  const decoder = new TextDecoder();
  const lines = new LineSplitter();
  const reader = stream.getReader();
  const deliver = (ls) => {
    if (ls.length > 0) onValues(ls.map(parseLine));
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      deliver(lines.push(decoder.decode(value, { stream: true })));
    }
    deliver(lines.push(decoder.decode()));
    deliver(lines.end());
  } finally {
    reader.releaseLock();
  }
}

function parseLine(line) {
  try {
    return JSON.parse(line);
  } catch {
    return { message: line };
  }
}
