// Deploy for the Code tab: zips the files (deflating where it pays),
// sends UpdateFunction with the zip as code.zipFile and reports the
// upload's progress (api.signedUpload).
import * as api from './api.js';
import { makeZip, deflateEntry, base64 } from './zip.js';

// zipFiles builds the code package of files ({name, data, mode}).
export async function zipFiles(files) {
  const entries = await Promise.all(files.map((f) => deflateEntry({ name: f.name, data: f.data, mode: f.mode })));
  return makeZip(entries);
}

// updateCode sends UpdateFunction with zip as the function's code. It
// calls onProgress(sent, total) as the body goes out, and resolves with
// the updated function or rejects with an FCError; signal aborts it.
export function updateCode(service, fn, zip, onProgress, signal) {
  const path = `${api.apiVersion}/services/${api.seg(service)}/functions/${api.seg(fn)}`;
  const body = JSON.stringify({ code: { zipFile: base64(zip) } });
  return api.signedUpload('PUT', path, '', body, 'application/json', onProgress, signal);
}
