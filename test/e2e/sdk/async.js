'use strict';
// Calls InvokeFunction asynchronously with the official FC 2.0 Node SDK
// (@alicloud/fc2): invokeFunction with the header
// x-fc-invocation-type: Async. Prints one JSON line:
// {"resolved":true,"status":202,"requestId":"…","body":""} or
// {"resolved":false,"error":"…"}. The SDK returns headers and data but not
// the status, so the status is read from its HTTP client's response
// (httpx.request, which the SDK calls for every request). Run by
// test/e2e/async_test.go. Inputs come from the environment:
//
//   OPENFC_ENDPOINT, OPENFC_ACCOUNT_ID, OPENFC_ACCESS_KEY_ID,
//   OPENFC_ACCESS_KEY_SECRET  as for flow.js
//   OPENFC_SERVICE, OPENFC_FUNCTION  the function to invoke
//   OPENFC_EVENT               the event (the request body)

const httpx = require('httpx');
const FCClient = require('@alicloud/fc2');

let lastStatus = 0;
const request = httpx.request;
httpx.request = async function (...args) {
  const response = await request.apply(this, args);
  lastStatus = response.statusCode;
  return response;
};

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
    const resp = await client.invokeFunction(e.OPENFC_SERVICE, e.OPENFC_FUNCTION, e.OPENFC_EVENT,
      { 'x-fc-invocation-type': 'Async' });
    console.log(JSON.stringify({
      resolved: true,
      status: lastStatus,
      requestId: resp.headers['x-fc-request-id'] || '',
      body: String(resp.data),
    }));
  } catch (err) {
    console.log(JSON.stringify({ resolved: false, status: lastStatus, error: `${err.name || 'Error'} ${err.code || ''}: ${err.message}` }));
  }
}

main();
