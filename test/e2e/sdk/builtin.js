'use strict';
// Creates a nodejs18 function (FC 2.0's HTTP handler, code as a zip) with
// the official FC 2.0 Node SDK (@alicloud/fc2), gives it an HTTP trigger
// and calls it. Run by test/e2e/sdk_test.go; inputs as for flow.js, with
// OPENFC_ZIP_B64_FILE the zip of examples/nodejs-echo/code. Prints one
// JSON line ({"ok":true,…}) or "FAIL: …" on stderr with exit status 1.

const fs = require('fs');
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
  const svc = e.OPENFC_SERVICE || 'sdk-node';
  const zipFile = fs.readFileSync(e.OPENFC_ZIP_B64_FILE, 'utf8');
  await client.createService(svc);
  const created = await client.createFunction(svc, {
    functionName: 'echo',
    runtime: 'nodejs18',
    handler: 'index.handler',
    code: { zipFile },
    memorySize: 256,
    timeout: 10,
  });
  const got = await client.getFunction(svc, 'echo');
  await client.createTrigger(svc, 'echo', {
    triggerName: 'http',
    triggerType: 'http',
    triggerConfig: { authType: 'anonymous', methods: ['GET', 'POST'] },
  });
  const resp = await fetch(`${e.OPENFC_ENDPOINT}/2016-08-15/proxy/${svc}/echo/hi?a=1&a=2`, { method: 'POST', body: 'payload' });
  const text = await resp.text();
  if (resp.status !== 200) {
    throw new Error(`trigger: status ${resp.status}: ${text}`);
  }
  const echo = JSON.parse(text);
  console.log(JSON.stringify({
    ok: true,
    runtime: created.data.runtime,
    handlerStyle: got.data.handlerStyle,
    method: echo.method,
    path: echo.path,
    queries: echo.queries,
    body: Buffer.from(echo.body, 'base64').toString(),
  }));
}

main().catch((err) => {
  process.stderr.write(`FAIL: ${err.name || 'Error'} code=${err.code}: ${err.message}\n`);
  process.exit(1);
});
