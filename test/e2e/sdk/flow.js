'use strict';
// Drives a running openfc with the official FC 2.0 Node SDK (@alicloud/fc2)
// through the whole life of a service, functions and HTTP triggers. Run by
// test/e2e/sdk_test.go. Inputs come from the environment:
//
//   OPENFC_ENDPOINT           e.g. http://127.0.0.1:8080
//   OPENFC_ACCOUNT_ID         the account ID
//   OPENFC_ACCESS_KEY_ID      the admin access key
//   OPENFC_ACCESS_KEY_SECRET
//   OPENFC_ZIP_B64_FILE       a file holding the base64 code zip (pyecho)
//   OPENFC_SERVICE            optional service name (default sdk-flow)
//
// On success it prints one JSON line of results and exits 0; on the first
// failed check it prints "FAIL: <step>: <message>" to stderr and exits 1.

const fs = require('fs');
const FCClient = require('@alicloud/fc2');

const { env, check, eq, run, rejects, steps, unexpected } = require('./steps');

async function main() {
  const endpoint = env('OPENFC_ENDPOINT').replace(/\/+$/, '');
  const accountID = env('OPENFC_ACCOUNT_ID');
  const zipFile = fs.readFileSync(env('OPENFC_ZIP_B64_FILE'), 'utf8').trim();
  const svc = process.env.OPENFC_SERVICE || 'sdk-flow';
  const fn = 'echo';
  const sigFn = 'signed';

  const client = new FCClient(accountID, {
    accessKeyID: env('OPENFC_ACCESS_KEY_ID'),
    accessKeySecret: env('OPENFC_ACCESS_KEY_SECRET'),
    region: 'cn-hangzhou',
    endpoint,
    timeout: 60000,
  });
  const results = { service: svc, steps };

  const created = await run('createService', () => client.createService(svc, { description: 'made by the Node SDK' }));
  eq(created.data.serviceName, svc, 'createService serviceName');
  check(created.headers['x-fc-request-id'], 'createService response lacks x-fc-request-id');

  await rejects('createService again', 'ServiceAlreadyExists', () => client.createService(svc));

  const gotSvc = await run('getService', () => client.getService(svc));
  eq(gotSvc.data.serviceName, svc, 'getService serviceName');
  eq(gotSvc.data.description, 'made by the Node SDK', 'getService description');

  const services = await run('listServices', () => client.listServices());
  check(Array.isArray(services.data.services), `listServices: no services array in ${JSON.stringify(services.data)}`);
  check(services.data.services.some(s => s.serviceName === svc), `listServices does not include ${svc}: ${JSON.stringify(services.data.services)}`);

  const fnConfig = {
    functionName: fn,
    description: 'first',
    runtime: 'custom.debian10',
    handler: 'index.handler',
    code: { zipFile },
    customRuntimeConfig: { command: ['python3'], args: ['server.py'], port: 9000 },
    memorySize: 256,
    timeout: 10,
    environmentVariables: { ECHO_NAME: 'before', KEEP: 'kept' },
  };
  const createdFn = await run('createFunction', () => client.createFunction(svc, fnConfig));
  eq(createdFn.data.functionName, fn, 'createFunction functionName');
  check(/^[0-9]+$/.test(String(createdFn.data.codeChecksum)), `createFunction codeChecksum = ${createdFn.data.codeChecksum}`);
  check(createdFn.data.codeSize > 0, `createFunction codeSize = ${createdFn.data.codeSize}`);

  const gotFn = await run('getFunction', () => client.getFunction(svc, fn));
  eq(gotFn.data.runtime, 'custom.debian10', 'getFunction runtime');
  eq(gotFn.data.memorySize, 256, 'getFunction memorySize');
  eq(gotFn.data.timeout, 10, 'getFunction timeout');
  eq(gotFn.data.customRuntimeConfig, { command: ['python3'], args: ['server.py'], port: 9000 }, 'getFunction customRuntimeConfig');
  eq(gotFn.data.environmentVariables, { ECHO_NAME: 'before', KEEP: 'kept' }, 'getFunction environmentVariables');
  eq(gotFn.data.codeChecksum, createdFn.data.codeChecksum, 'getFunction codeChecksum');

  const fns = await run('listFunctions', () => client.listFunctions(svc));
  eq((fns.data.functions || []).map(f => f.functionName), [fn], 'listFunctions names');

  await run('updateFunction', () => client.updateFunction(svc, fn, {
    description: 'second',
    environmentVariables: { ECHO_NAME: 'after', KEEP: 'kept' },
  }));
  const updated = await run('getFunction after update', () => client.getFunction(svc, fn));
  eq(updated.data.description, 'second', 'description after update');
  eq(updated.data.environmentVariables, { ECHO_NAME: 'after', KEEP: 'kept' }, 'environmentVariables after update');
  eq(updated.data.memorySize, 256, 'memorySize after update (not in the update)');
  eq(updated.data.customRuntimeConfig, fnConfig.customRuntimeConfig, 'customRuntimeConfig after update (not in the update)');
  eq(updated.data.codeChecksum, createdFn.data.codeChecksum, 'codeChecksum after update (not in the update)');

  const trig = await run('createTrigger', () => client.createTrigger(svc, fn, {
    triggerName: 'http',
    triggerType: 'http',
    triggerConfig: { authType: 'anonymous', methods: ['GET', 'POST'] },
  }));
  eq(trig.data.triggerName, 'http', 'createTrigger triggerName');
  // urlIntranet is the proxy form on the server's address; urlInternet the
  // trigger's own subdomain, http://{function}-{service}-{id}.fcapp.localhost:{port}/.
  const wantURL = `${endpoint}/2016-08-15/proxy/${svc}/${fn}/`;
  eq(trig.data.urlIntranet, wantURL, 'createTrigger urlIntranet');
  const port = new URL(endpoint).port;
  const subdomain = new RegExp(`^http://${fn}-${svc}-[0-9a-f]+\\.fcapp\\.localhost:${port}/$`);
  check(subdomain.test(trig.data.urlInternet), `createTrigger urlInternet ${trig.data.urlInternet} does not match ${subdomain}`);
  results.triggerURL = trig.data.urlIntranet;

  const gotTrig = await run('getTrigger', () => client.getTrigger(svc, fn, 'http'));
  eq(gotTrig.data.triggerType, 'http', 'getTrigger triggerType');
  eq(gotTrig.data.triggerConfig.authType, 'anonymous', 'getTrigger authType');
  eq(gotTrig.data.triggerConfig.methods, ['GET', 'POST'], 'getTrigger methods');
  const trigs = await run('listTriggers', () => client.listTriggers(svc, fn));
  eq((trigs.data.triggers || []).map(t => t.triggerName), ['http'], 'listTriggers names');

  // A plain, unsigned HTTP call of the anonymous trigger.
  const anon = await run('fetch anonymous trigger', async () => {
    const resp = await fetch(`${endpoint}/2016-08-15/proxy/${svc}/${fn}/hello?x=1`);
    const text = await resp.text();
    check(resp.status === 200, `status ${resp.status}: ${text}`);
    check(resp.headers.get('x-fc-request-id'), 'response lacks x-fc-request-id');
    return JSON.parse(text);
  });
  eq(anon.method, 'GET', 'function saw method');
  eq(anon.path, '/hello?x=1', 'function saw path');
  eq(anon.name, 'after', 'function saw ECHO_NAME (the updated environment)');
  eq(anon.headers['x-fc-function-memory'], '256', 'function saw x-fc-function-memory');
  eq(anon.headers['x-fc-function-timeout'], '10', 'function saw x-fc-function-timeout');
  results.anonymous = { method: anon.method, path: anon.path, name: anon.name };

  // A second function behind a trigger with authType function: the SDK's
  // own request helpers sign proxy paths together with their query.
  await run('createFunction signed', () => client.createFunction(svc, Object.assign({}, fnConfig, {
    functionName: sigFn,
    environmentVariables: { ECHO_NAME: sigFn },
  })));
  const sigTrig = await run('createTrigger signed', () => client.createTrigger(svc, sigFn, {
    triggerName: 'http',
    triggerType: 'http',
    triggerConfig: { authType: 'function', methods: ['GET', 'POST'] },
  }));
  eq(sigTrig.data.triggerConfig.authType, 'function', 'createTrigger signed authType');

  const unsigned = await run('fetch signed trigger unsigned', async () => {
    const resp = await fetch(`${endpoint}/2016-08-15/proxy/${svc}/${sigFn}/echo?q=1`, { method: 'POST', body: 'body' });
    return { status: resp.status, errorType: resp.headers.get('x-fc-error-type'), body: await resp.text() };
  });
  check(unsigned.status === 400 || unsigned.status === 403,
    `unsigned call of an authType function trigger: status ${unsigned.status}; want 400 or 403: ${unsigned.body}`);
  eq(unsigned.errorType, 'FcCommonError', 'unsigned call x-fc-error-type');
  results.unsigned = { status: unsigned.status, errorCode: JSON.parse(unsigned.body).ErrorCode };

  const signedPost = await run('SDK post proxy', () => client.post(`/proxy/${svc}/${sigFn}/echo`, 'body', {}, { q: '1' }));
  eq(signedPost.data.name, sigFn, 'signed POST reached');
  eq(signedPost.data.method, 'POST', 'signed POST method');
  eq(signedPost.data.path, '/echo?q=1', 'signed POST path');
  eq(signedPost.data.body, 'body', 'signed POST body');
  results.signedPost = { method: signedPost.data.method, path: signedPost.data.path, body: signedPost.data.body };

  // GET with several query values, a space and a slash: the SDK signs the
  // decoded values, the server must too.
  const q = { b: ['2', '1'], 'a key': 'x/y z' };
  const signedGet = await run('SDK get proxy', () => client.get(`/proxy/${svc}/${sigFn}/list`, q));
  eq(signedGet.data.method, 'GET', 'signed GET method');
  eq(signedGet.data.path, '/list?b=2&b=1&a%20key=x%2Fy%20z', 'signed GET path');
  results.signedGet = { method: signedGet.data.method, path: signedGet.data.path };

  await rejects('deleteFunction with a trigger', 'FunctionNotEmpty', () => client.deleteFunction(svc, sigFn));
  await run('deleteTrigger signed', () => client.deleteTrigger(svc, sigFn, 'http'));
  await run('deleteFunction signed', () => client.deleteFunction(svc, sigFn));

  await run('deleteTrigger', () => client.deleteTrigger(svc, fn, 'http'));
  await rejects('getTrigger after delete', 'TriggerNotFound', () => client.getTrigger(svc, fn, 'http'));
  await run('deleteFunction', () => client.deleteFunction(svc, fn));
  await rejects('getFunction after delete', 'FunctionNotFound', () => client.getFunction(svc, fn));
  await run('deleteService', () => client.deleteService(svc));
  results.afterDelete = (await rejects('getService after delete', 'ServiceNotFound', () => client.getService(svc))).code;

  results.ok = true;
  process.stdout.write(JSON.stringify(results) + '\n');
}

main().catch(unexpected);
