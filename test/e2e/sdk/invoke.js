'use strict';
// Calls InvokeFunction once with the official FC 2.0 Node SDK
// (@alicloud/fc2) and prints one JSON line saying how the call ended:
// {"resolved":true,"status":200,"length":N} when the SDK returned an
// answer, {"resolved":false,"error":"…"} when it rejected. Run by
// test/e2e/broken_test.go. Inputs come from the environment:
//
//   OPENFC_ENDPOINT, OPENFC_ACCOUNT_ID, OPENFC_ACCESS_KEY_ID,
//   OPENFC_ACCESS_KEY_SECRET  as for flow.js
//   OPENFC_SERVICE, OPENFC_FUNCTION  the function to invoke
//   OPENFC_EVENT               the event (the request body)

const FCClient = require('@alicloud/fc2');

async function main() {
  const e = process.env;
  const client = new FCClient(e.OPENFC_ACCOUNT_ID, {
    accessKeyID: e.OPENFC_ACCESS_KEY_ID,
    accessKeySecret: e.OPENFC_ACCESS_KEY_SECRET,
    region: 'cn-hangzhou',
    endpoint: e.OPENFC_ENDPOINT,
    timeout: 30000,
  });
  try {
    const resp = await client.invokeFunction(e.OPENFC_SERVICE, e.OPENFC_FUNCTION, e.OPENFC_EVENT);
    const data = Buffer.isBuffer(resp.data) ? resp.data : Buffer.from(String(resp.data));
    console.log(JSON.stringify({ resolved: true, status: resp.headers && resp.statusCode, length: data.length }));
  } catch (err) {
    console.log(JSON.stringify({ resolved: false, error: `${err.name || 'Error'} ${err.code || ''}: ${err.message}` }));
  }
}

main();
