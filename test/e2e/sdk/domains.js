'use strict';
// The custom-domain calls of the official FC 2.0 Node SDK (@alicloud/fc2)
// against openfc: create, get, list, update, a request through the
// domain (Host header) and delete. Prints one JSON line with what each
// step saw. Run by test/e2e/sdk_test.go. Inputs come from the
// environment: OPENFC_ENDPOINT, OPENFC_ACCOUNT_ID, OPENFC_ACCESS_KEY_ID,
// OPENFC_ACCESS_KEY_SECRET as for flow.js; OPENFC_SERVICE and
// OPENFC_FUNCTION, a deployed function with an anonymous HTTP trigger.

const http = require('http');
const FCClient = require('@alicloud/fc2');

// viaHost GETs path on the endpoint with the Host header set to host.
function viaHost(endpoint, host, path) {
  const u = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname: u.hostname, port: u.port, path, method: 'GET', headers: { Host: host } }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function main() {
  const e = process.env;
  const client = new FCClient(e.OPENFC_ACCOUNT_ID, {
    accessKeyID: e.OPENFC_ACCESS_KEY_ID,
    accessKeySecret: e.OPENFC_ACCESS_KEY_SECRET,
    region: 'cn-hangzhou',
    endpoint: e.OPENFC_ENDPOINT,
    timeout: 30000,
  });
  const out = { steps: [] };
  const name = 'sdk.example.test';
  const route = (path) => ({ routes: [{ path, serviceName: e.OPENFC_SERVICE, functionName: e.OPENFC_FUNCTION, qualifier: 'LATEST' }] });

  let r = await client.createCustomDomain(name, { protocol: 'HTTP', routeConfig: route('/*') });
  out.created = r.data.domainName;
  out.steps.push('createCustomDomain');
  r = await client.getCustomDomain(name);
  out.gotPath = r.data.routeConfig.routes[0].path;
  out.steps.push('getCustomDomain');
  r = await client.listCustomDomains({ prefix: 'sdk.' });
  out.listed = r.data.customDomains.map((d) => d.domainName);
  out.steps.push('listCustomDomains');
  r = await client.updateCustomDomain(name, { routeConfig: route('/only/*') });
  out.updatedPath = r.data.routeConfig.routes[0].path;
  out.steps.push('updateCustomDomain');
  const call = await viaHost(e.OPENFC_ENDPOINT, name, '/only/x?y=1');
  out.call = { status: call.status, path: JSON.parse(call.body).path };
  out.steps.push('request through the domain');
  await client.deleteCustomDomain(name);
  out.steps.push('deleteCustomDomain');
  try {
    await client.getCustomDomain(name);
    out.afterDelete = 'found';
  } catch (err) {
    out.afterDelete = err.code;
  }
  out.steps.push('getCustomDomain after delete');
  console.log(JSON.stringify(out));
}

main().catch((err) => {
  console.log(JSON.stringify({ error: `${err.name || 'Error'} ${err.code || ''}: ${err.message}` }));
  process.exit(1);
});
