'use strict';
// Drives openfc's versions and aliases with the official FC 2.0 Node SDK
// (@alicloud/fc2): publishVersion, listVersions, createAlias, getAlias,
// updateAlias, listAliases, deleteVersion (refused while an alias uses
// it), deleteAlias, and a call through the alias. Run by
// test/e2e/sdk_test.go (TestOfficialNodeSDKVersions) with the
// environment flow.js takes. Prints one JSON line on success; on the
// first failed check, "FAIL: <step>: <message>" on stderr and exit 1.

const fs = require('fs');
const FCClient = require('@alicloud/fc2');

const { env, check, eq, run, rejects, steps, unexpected } = require('./steps');

async function main() {
  const endpoint = env('OPENFC_ENDPOINT').replace(/\/+$/, '');
  const accountID = env('OPENFC_ACCOUNT_ID');
  const zipFile = fs.readFileSync(env('OPENFC_ZIP_B64_FILE'), 'utf8').trim();
  const svc = process.env.OPENFC_SERVICE || 'sdk-versions';
  const fn = 'echo';
  const client = new FCClient(accountID, {
    accessKeyID: env('OPENFC_ACCESS_KEY_ID'),
    accessKeySecret: env('OPENFC_ACCESS_KEY_SECRET'),
    region: 'cn-hangzhou',
    endpoint,
    timeout: 60000,
  });

  await run('createService', () => client.createService(svc));
  await run('createFunction', () => client.createFunction(svc, {
    functionName: fn, runtime: 'custom.debian10', handler: 'index.handler', code: { zipFile },
    customRuntimeConfig: { command: ['python3'], args: ['server.py'], port: 9000 },
    environmentVariables: { ECHO_NAME: 'one' },
  }));
  const v1 = await run('publishVersion', () => client.publishVersion(svc, 'first'));
  eq(v1.data.versionId, '1', 'publishVersion versionId');
  eq(v1.data.description, 'first', 'publishVersion description');
  await run('updateFunction', () => client.updateFunction(svc, fn, { environmentVariables: { ECHO_NAME: 'two' } }));
  const v2 = await run('publishVersion again', () => client.publishVersion(svc));
  eq(v2.data.versionId, '2', 'second publishVersion versionId');

  const list = await run('listVersions', () => client.listVersions(svc));
  eq(list.data.versions.map(v => v.versionId), ['2', '1'], 'listVersions (newest first)');
  const fwd = await run('listVersions forward', () => client.listVersions(svc, { direction: 'FORWARD', limit: 1 }));
  eq(fwd.data.versions.map(v => v.versionId), ['1'], 'listVersions FORWARD limit 1');
  eq(fwd.data.nextToken, '2', 'listVersions FORWARD nextToken');

  const alias = await run('createAlias', () => client.createAlias(svc, 'prod', '1', { description: 'live', additionalVersionWeight: { 2: 0.25 } }));
  eq(alias.data.aliasName, 'prod', 'createAlias aliasName');
  eq(alias.data.additionalVersionWeight, { 2: 0.25 }, 'createAlias additionalVersionWeight');
  const got = await run('getAlias', () => client.getAlias(svc, 'prod'));
  eq([got.data.versionId, got.data.description], ['1', 'live'], 'getAlias');
  await rejects('deleteVersion used by an alias', 'VersionInUse', () => client.deleteVersion(svc, '2'));

  const upd = await run('updateAlias', () => client.updateAlias(svc, 'prod', '2', { additionalVersionWeight: {} }));
  eq(upd.data.versionId, '2', 'updateAlias versionId');
  eq(upd.data.additionalVersionWeight, {}, 'updateAlias additionalVersionWeight');
  const aliases = await run('listAliases', () => client.listAliases(svc));
  eq(aliases.data.aliases.map(a => [a.aliasName, a.versionId]), [['prod', '2']], 'listAliases');

  const inv = await run('invokeFunction through the alias', () => client.invokeFunction(svc, fn, 'hi', {}, 'prod'));
  const echoed = (typeof inv.data === 'string' || Buffer.isBuffer(inv.data)) ? JSON.parse(inv.data.toString()) : inv.data;
  eq([echoed.name, echoed.headers['x-fc-qualifier'], echoed.headers['x-fc-version-id']], ['two', 'prod', '2'], 'invokeFunction through prod');

  await run('deleteVersion', () => client.deleteVersion(svc, '1'));
  await rejects('getFunction of a deleted version', 'VersionNotFound', () => client.getFunction(svc, fn, {}, '1'));
  await run('deleteAlias', () => client.deleteAlias(svc, 'prod'));
  await rejects('getAlias after delete', 'AliasNotFound', () => client.getAlias(svc, 'prod'));
  await run('deleteVersion 2', () => client.deleteVersion(svc, '2'));
  await run('deleteFunction', () => client.deleteFunction(svc, fn));
  await run('deleteService', () => client.deleteService(svc));
  process.stdout.write(JSON.stringify({ ok: true, service: svc, steps }) + '\n');
}

main().catch(unexpected);
