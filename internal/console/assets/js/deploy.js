// Deploy for the Code tab: zips the files (deflating where it pays),
// sends UpdateFunction with the zip as code.zipFile and reports the
// upload's progress. fetch cannot report upload progress, so this one
// call goes through XMLHttpRequest, signed as api.call signs (fcsign.js).
import * as api from './api.js';
import { sign } from './fcsign.js';
import { makeZip, deflateEntry, base64 } from './zip.js';

// zipFiles builds the code package of files ({name, data, mode}).
export async function zipFiles(files) {
  const entries = await Promise.all(files.map((f) => deflateEntry({ name: f.name, data: f.data, mode: f.mode })));
  return makeZip(entries);
}

// fcError builds the FCError of a failed answer (status, body text and a
// header getter), as api.call does for its own calls.
export function fcError(status, text, header) {
  let data = null;
  try {
    data = JSON.parse(text);
  } catch {
    data = null;
  }
  const requestId = (data && data.RequestId) || header('x-fc-request-id') || '';
  if (data && data.ErrorCode) return new api.FCError(status, data.ErrorCode, data.ErrorMessage || '', requestId);
  return new api.FCError(status, `HTTP ${status}`, text.slice(0, 500), requestId);
}

// updateCode sends UpdateFunction with zip as the function's code. It
// calls onProgress(sent, total) as the body goes out, and resolves with
// the updated function or rejects with an FCError; signal aborts it.
export async function updateCode(service, fn, zip, onProgress, signal) {
  const cred = api.credentials();
  if (!cred) throw new api.FCError(0, 'NotSignedIn', 'sign in with an AccessKey first', '');
  const path = `${api.apiVersion}/services/${api.seg(service)}/functions/${api.seg(fn)}`;
  const body = JSON.stringify({ code: { zipFile: base64(zip) } });
  const headers = { 'content-type': 'application/json' };
  await sign(cred, 'PUT', decodeURIComponent(path), headers, null);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', path);
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.upload.addEventListener('progress', (ev) => onProgress(ev.loaded, ev.lengthComputable ? ev.total : body.length));
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(JSON.parse(xhr.responseText));
        } catch (err) {
          reject(err);
        }
      } else {
        reject(fcError(xhr.status, xhr.responseText, (n) => xhr.getResponseHeader(n)));
      }
    });
    xhr.addEventListener('error', () => reject(new api.FCError(0, 'NetworkError', 'the upload failed: the connection was lost', '')));
    xhr.addEventListener('abort', () => reject(new api.FCError(0, 'Aborted', 'the upload was cancelled', '')));
    if (signal) signal.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}
