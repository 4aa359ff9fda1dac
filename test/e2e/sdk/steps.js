'use strict';
// The step harness the SDK scripts share: env reads a required variable,
// run performs one named step and records it, rejects runs one that must
// fail with an SDK error code, check and eq fail the script at the step
// under way ("FAIL: <step>: <message>" on stderr, exit 1).

function env(name) {
  const v = process.env[name];
  if (!v) {
    fail('setup', `environment variable ${name} is not set`);
  }
  return v;
}

function fail(step, msg) {
  process.stderr.write(`FAIL: ${step}: ${msg}\n`);
  process.exit(1);
}

let step = 'setup';
// steps are the names of the steps that passed, in order.
const steps = [];

function check(cond, msg) {
  if (!cond) {
    fail(step, msg);
  }
}

function eq(got, want, what) {
  const g = JSON.stringify(got);
  const w = JSON.stringify(want);
  check(g === w, `${what} = ${g}; want ${w}`);
}

async function run(name, fn) {
  step = name;
  try {
    const out = await fn();
    steps.push(name);
    return out;
  } catch (err) {
    fail(name, `${err.name || 'Error'} code=${err.code}: ${err.message}`);
  }
}

async function rejects(name, code, fn) {
  step = name;
  let err = null;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  check(err !== null, `succeeded; want an error with code ${code}`);
  check(err.code === code, `error code = ${JSON.stringify(err.code)} (${err.message}); want ${code}`);
  steps.push(name);
  return err;
}

// unexpected fails the script at the step under way with an error
// nothing caught (main's rejection).
function unexpected(err) {
  fail(step, `unexpected: ${err && err.stack || err}`);
}

module.exports = { env, fail, check, eq, run, rejects, steps, unexpected };
