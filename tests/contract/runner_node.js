#!/usr/bin/env node
// runner_node.js - the contract suite (tests/contract/README.md) through the
// Node client, client/node (@mnemo/client on @grpc/grpc-js).
//
//   MNEMO_SERVER=... MNEMO_CONTRACT_ROOT=... node runner_node.js CASES_JSON [CASE...]
//
// (run_with_server.sh sets both.) MNEMO_NODE_CLIENT names the built client
// package (default: ../../client/node from here); GRPC_PROTO_DIR where
// Debian's grpc-proto keeps reflection.proto (default /usr/share/grpc-proto).
//
// DESIGN: `call` and `stream` steps go through the client as its users call
// it: the promise methods of Mnemo for mnemo's unary RPCs, its generated
// health client, and Mnemo.sync/Mnemo.watch for the streams (cancel_after
// aborts the stream's AbortSignal). The client speaks camelCase objects
// (proto-loader's defaults), the cases proto names; the same .proto files,
// parsed once more with protobufjs and keepCase, give the field names and
// types that translate between the two (map keys are data, never renamed).
// `list_services` and `reflect_call` use only what grpc.reflection.v1
// returns: the FileDescriptorProtos (and their dependencies, asked for by
// file name) become a FileDescriptorSet that proto-loader turns into a
// client at run time, as grpcurl-style tools do.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const clientDir = path.resolve(process.env.MNEMO_NODE_CLIENT || path.join(__dirname, '..', '..', 'client', 'node'));
const grpcProtoDir = process.env.GRPC_PROTO_DIR || '/usr/share/grpc-proto';
const OPS = new Set(['call', 'stream', 'pages', 'tree', 'list_services', 'reflect_call']);
const REFLECTION = 'grpc.reflection.v1.ServerReflection';

let mnemoPkg, grpc, protoLoader, protobuf, descriptor;

class StepFailure extends Error {}

// ---------------------------------------------------------------- values

const GENERATORS = {
  $repeat: ([s, n]) => s.repeat(n),
  $seq: ([p, n]) => Array.from({ length: n }, (_, i) => `${p}${i}`),
  $sha256: (s) => crypto.createHash('sha256').update(s, 'utf8').digest('hex'),
  $tree: (name) => path.join(process.env.MNEMO_CONTRACT_ROOT, name),
  $ref: (ref, results) => {
    const dot = ref.indexOf('.');
    const label = dot < 0 ? ref : ref.slice(0, dot);
    if (!(label in results)) throw new StepFailure(`$ref ${ref}: no step labelled ${label}`);
    const got = resolve(results[label], dot < 0 ? [] : ref.slice(dot + 1).split('.'));
    if (!got.ok) throw new StepFailure(`$ref ${ref}: ${got.why}`);
    return got.value;
  },
};

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function expand(v, results) {
  if (Array.isArray(v)) return v.map((x) => expand(x, results));
  if (!isObject(v)) return v;
  const out = {};
  for (const [k, x] of Object.entries(v)) out[k] = expand(x, results);
  const keys = Object.keys(out);
  if (keys.length === 1 && keys[0] in GENERATORS) return GENERATORS[keys[0]](out[keys[0]], results);
  return out;
}

// -> {ok, value} or {ok: false, why}
function resolve(value, segs) {
  if (segs.length === 0) return { ok: true, value };
  const [seg, ...rest] = segs;
  if (seg === '*') {
    if (!Array.isArray(value)) return { ok: false, why: `'*' on a non-array` };
    const out = [];
    for (const el of value) {
      const r = resolve(el, rest);
      if (!r.ok) return r;
      out.push(r.value);
    }
    return { ok: true, value: out };
  }
  if (Array.isArray(value) && /^-?\d+$/.test(seg)) {
    const i = Number(seg) < 0 ? value.length + Number(seg) : Number(seg);
    if (i < 0 || i >= value.length) return { ok: false, why: `index ${seg} out of range (${value.length} elements)` };
    return resolve(value[i], rest);
  }
  if (isObject(value) && Object.prototype.hasOwnProperty.call(value, seg)) return resolve(value[seg], rest);
  return { ok: false, why: `no '${seg}'` };
}

function asNumber(v) {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  return undefined;
}

function equal(a, b) {
  const na = asNumber(a), nb = asNumber(b);
  if (na !== undefined && nb !== undefined && (typeof a === 'number' || typeof b === 'number')) return na === nb;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => equal(x, b[i]));
  }
  if (isObject(a) || isObject(b)) {
    if (!isObject(a) || !isObject(b)) return false;
    const ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => k in b && equal(a[k], b[k]));
  }
  return a === b;
}

function isDefault(v) {
  if (v === null || v === undefined || v === false || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isObject(v)) return Object.keys(v).length === 0;
  const n = asNumber(v);
  return n === 0;
}

function unorderedEqual(got, want) {
  if (!Array.isArray(got) || got.length !== want.length) return false;
  const left = [...got];
  for (const w of want) {
    const i = left.findIndex((g) => equal(g, w));
    if (i < 0) return false;
    left.splice(i, 1);
  }
  return true;
}

const MATCHERS = {
  $set: (v, want) => isDefault(v) !== want,
  $len: (v, n) => (typeof v === 'string' ? Buffer.byteLength(v, 'utf8') === n
    : Array.isArray(v) ? v.length === n : isObject(v) && Object.keys(v).length === n),
  $gte: (v, x) => asNumber(v) !== undefined && asNumber(v) >= x,
  $lte: (v, x) => asNumber(v) !== undefined && asNumber(v) <= x,
  $in: (v, list) => list.some((x) => equal(v, x)),
  $contains: (v, x) => Array.isArray(v) && v.some((el) => equal(el, x)),
  $unordered: (v, list) => unorderedEqual(v, list),
  $sorted: (v, dir) => Array.isArray(v) && v.every((x, i) => i === 0 ||
    (dir === 'asc' ? asNumber(v[i - 1]) <= asNumber(x) : asNumber(v[i - 1]) >= asNumber(x))),
};

function isMatcher(want) {
  return isObject(want) && Object.keys(want).length > 0 && Object.keys(want).every((k) => k.startsWith('$'));
}

function show(v) {
  const s = JSON.stringify(v);
  return s === undefined ? 'undefined' : s.length > 200 ? `${s.slice(0, 200)}...` : s;
}

// null when every assertion holds, else what failed.
function check(step, got) {
  const want = step.code || 'OK';
  if (got.code !== want) return `want code ${want}, got ${got.code}${got.message ? ` (${got.message})` : ''}`;
  if (step.message_contains !== undefined && !(got.message || '').includes(step.message_contains)) {
    return `want a message containing ${show(step.message_contains)}, got ${show(got.message)}`;
  }
  for (const [p, w] of Object.entries(step.expect || {})) {
    const r = got.result === undefined ? { ok: false, why: 'no result' } : resolve(got.result, p.split('.'));
    if (!r.ok) return `${p}: ${r.why}`;
    if (isMatcher(w)) {
      for (const [m, arg] of Object.entries(w)) {
        if (!(m in MATCHERS)) return `${p}: unknown matcher ${m}`;
        if (!MATCHERS[m](r.value, arg)) return `${p}: want ${m} ${show(arg)}, got ${show(r.value)}`;
      }
    } else if (!equal(r.value, w)) {
      return `${p}: want ${show(w)}, got ${show(r.value)}`;
    }
  }
  return null;
}

// ------------------------------------------- proto names <-> client objects

// The client's objects name fields as protobufjs's camelCase of the proto
// name (proto-loader, keepCase false); `schema` holds the proto names.
let schema;

function lookupType(name) {
  return schema.lookupType(name);
}

function convertValue(field, v, toClient) {
  const t = field.resolvedType;
  const one = (x) => (t instanceof protobuf.Type && x !== null && x !== undefined ? convert(t, x, toClient) : x);
  if (field.map) {
    const out = {};
    for (const [k, x] of Object.entries(v || {})) out[k] = one(x);
    return out;
  }
  if (field.repeated) return (v || []).map(one);
  return one(v);
}

function convert(type, obj, toClient) {
  const out = {};
  for (const field of type.fieldsArray) {
    const camel = protobuf.util.camelCase(field.name);
    const from = toClient ? [field.name, field.options?.json_name, camel] : [camel];
    const key = from.find((k) => k !== undefined && Object.prototype.hasOwnProperty.call(obj, k));
    if (key === undefined) continue;
    out[toClient ? camel : field.name] = convertValue(field, obj[key], toClient);
  }
  if (toClient) {
    const known = new Set(type.fieldsArray.flatMap((f) => [f.name, protobuf.util.camelCase(f.name)]));
    const unknown = Object.keys(obj).filter((k) => !known.has(k));
    if (unknown.length) throw new StepFailure(`${type.fullName}: no field ${unknown.join(', ')}`);
  }
  return out;
}

function methodOf(name) {
  const [service, method] = name.split('/');
  const svc = schema.lookupService(service);
  const m = svc && svc.methods[method];
  if (!m) throw new StepFailure(`unknown method ${name}`);
  m.resolve();
  return { service, method, requestType: m.resolvedRequestType, responseType: m.resolvedResponseType,
    streaming: Boolean(m.responseStream) };
}

// ------------------------------------------------------------------- ops

function failure(err) {
  if (err instanceof StepFailure) throw err;
  if (err && typeof err.code === 'number') return { code: grpc.status[err.code], message: err.details || '' };
  throw err;
}

function lowerFirst(s) {
  return s[0].toLowerCase() + s.slice(1);
}

async function unary(mnemo, name, request, timeoutMs) {
  const m = methodOf(name);
  const req = convert(m.requestType, request, true);
  let res;
  if (m.service.startsWith('mnemo.v1.')) {
    res = await mnemo[lowerFirst(m.method)](req, { timeoutMs });
  } else if (name === 'grpc.health.v1.Health/Check') {
    res = await new Promise((ok, fail) => mnemo.healthService.check(req,
      { deadline: Date.now() + timeoutMs }, (err, r) => (err ? fail(err) : ok(r))));
  } else {
    throw new StepFailure(`no client method for ${name}`);
  }
  return convert(m.responseType, res, false);
}

async function opCall(mnemo, step, request, timeoutMs) {
  try {
    return { code: 'OK', result: await unary(mnemo, step.method, request, timeoutMs) };
  } catch (err) {
    return failure(err);
  }
}

async function opStream(mnemo, step, request, timeoutMs) {
  const m = methodOf(step.method);
  const req = convert(m.requestType, request, true);
  const run = { 'mnemo.v1.RepositoryService/SyncRepository': (o) => mnemo.sync(req, o),
    'mnemo.v1.RepositoryService/WatchSync': (o) => mnemo.watch(req, o) }[step.method];
  if (!run) throw new StepFailure(`no stream method for ${step.method}`);
  const abort = new AbortController();
  const events = [];
  let got = { code: 'OK' };
  try {
    for await (const ev of run({ signal: abort.signal, timeoutMs })) {
      events.push(convert(m.responseType, ev, false));
      if (events.length === step.cancel_after) abort.abort();
    }
  } catch (err) {
    got = failure(err);
  }
  return { ...got, result: { events } };
}

async function opPages(mnemo, step, request, timeoutMs) {
  const items = [];
  let req = { ...request };
  for (let pages = 1; pages <= 1000; pages++) {
    let res;
    try {
      res = await unary(mnemo, step.method, req, timeoutMs);
    } catch (err) {
      return { ...failure(err), result: { pages, items } };
    }
    items.push(...(res[step.items] || []));
    if (!res.next_page_token) return { code: 'OK', result: { pages, items } };
    req = { ...request, page_token: res.next_page_token };
  }
  throw new StepFailure('pages: more than 1000 calls');
}

function opTree(step) {
  const dir = path.join(process.env.MNEMO_CONTRACT_ROOT, step.name);
  fs.mkdirSync(dir); // fails when it exists, as the format wants
  for (let i = 0; i < step.files; i++) {
    const n = String(i).padStart(4, '0');
    const id = `${step.name}${String(i).padStart(5, '0')}q`;
    fs.writeFileSync(path.join(dir, `f${n}.c`),
      `/* contract tree ${step.name} file ${i} */\nint ${id}(int x)\n{\n    return x + ${i};\n}\n`);
  }
  return { code: 'OK' };
}

// --------------------------------------------------------- reflection

let reflectionClient;

function reflection() {
  if (!reflectionClient) {
    const def = protoLoader.loadSync('grpc/reflection/v1/reflection.proto',
      { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [grpcProtoDir] });
    const Ctor = grpc.loadPackageDefinition(def).grpc.reflection.v1.ServerReflection;
    reflectionClient = new Ctor(process.env.MNEMO_SERVER, grpc.credentials.createInsecure());
  }
  return reflectionClient;
}

// Sends the requests on one ServerReflectionInfo stream; resolves with the
// responses, in order.
function reflect(requests, timeoutMs) {
  return new Promise((ok, fail) => {
    const call = reflection().ServerReflectionInfo({ deadline: Date.now() + timeoutMs });
    const responses = [];
    call.on('data', (r) => {
      responses.push(r);
      if (responses.length === requests.length) call.end();
    });
    call.on('error', fail);
    call.on('end', () => ok(responses));
    for (const r of requests) call.write(r);
  });
}

function reflectionError(resp) {
  if (resp.message_response !== 'error_response') return null;
  const e = resp.error_response;
  return Object.assign(new Error(e.error_message), { code: e.error_code, details: e.error_message });
}

async function opListServices(step, timeoutMs) {
  try {
    const [resp] = await reflect([{ list_services: '' }], timeoutMs);
    const err = reflectionError(resp);
    if (err) throw err;
    return { code: 'OK', result: { services: resp.list_services_response.service.map((s) => s.name) } };
  } catch (err) {
    return failure(err);
  }
}

// The FileDescriptorSet of the file defining `symbol` and every file it
// imports, all from reflection.
async function descriptorSet(symbol, timeoutMs) {
  const files = new Map();
  let ask = [{ file_containing_symbol: symbol }];
  while (ask.length) {
    for (const resp of await reflect(ask, timeoutMs)) {
      const err = reflectionError(resp);
      if (err) throw err;
      for (const bytes of resp.file_descriptor_response.file_descriptor_proto) {
        const fd = descriptor.FileDescriptorProto.decode(bytes);
        files.set(fd.name, fd);
      }
    }
    const missing = new Set([...files.values()].flatMap((fd) => fd.dependency).filter((d) => !files.has(d)));
    ask = [...missing].map((name) => ({ file_by_filename: name }));
  }
  return descriptor.FileDescriptorSet.encode({ file: [...files.values()] }).finish();
}

async function opReflectCall(step, request, timeoutMs) {
  const [service, method] = step.method.split('/');
  try {
    const set = await descriptorSet(service, timeoutMs);
    const def = protoLoader.loadFileDescriptorSetFromBuffer(Buffer.from(set),
      { keepCase: true, longs: String, enums: String, defaults: true });
    const Ctor = service.split('.').reduce((o, k) => o && o[k], grpc.loadPackageDefinition(def));
    if (!Ctor || !Ctor.service || !Ctor.service[method]) {
      throw new StepFailure(`reflection did not describe ${step.method}`);
    }
    const client = new Ctor(process.env.MNEMO_SERVER, grpc.credentials.createInsecure());
    try {
      const res = await new Promise((ok, fail) => client[method](request,
        { deadline: Date.now() + timeoutMs }, (err, r) => (err ? fail(err) : ok(r))));
      return { code: 'OK', result: res };
    } finally {
      client.close();
    }
  } catch (err) {
    return failure(err);
  }
}

// -------------------------------------------------------------- the run

async function attempt(mnemo, step, results) {
  const request = expand(step.request || {}, results);
  const timeoutMs = step.timeout_ms || (step.op === 'stream' ? 60000 : 15000);
  switch (step.op) {
    case 'call': return opCall(mnemo, step, request, timeoutMs);
    case 'stream': return opStream(mnemo, step, request, timeoutMs);
    case 'pages': return opPages(mnemo, step, request, timeoutMs);
    case 'tree': return opTree(step);
    case 'list_services': return opListServices(step, timeoutMs);
    case 'reflect_call': return opReflectCall(step, request, timeoutMs);
    default: throw new StepFailure(`unknown op ${step.op}`);
  }
}

async function runStep(mnemo, step, results) {
  const until = Date.now() + (step.retry_ms || 0);
  for (;;) {
    const got = await attempt(mnemo, step, results);
    const expanded = { ...step, expect: expand(step.expect || {}, results) };
    const why = check(expanded, got);
    if (step.label) results[step.label] = got.result;
    if (!why) return;
    if (Date.now() >= until) throw new StepFailure(why);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// 'PASS', 'SKIP: why' or 'FAIL: why'
async function runCase(mnemo, c) {
  const unknown = c.steps.map((s) => s.op).filter((op) => !OPS.has(op));
  if (unknown.length) return `SKIP ${c.name}: op ${unknown[0]} not implemented`;
  const results = {};
  for (const [i, step] of c.steps.entries()) {
    try {
      await runStep(mnemo, step, results);
    } catch (err) {
      const why = err instanceof StepFailure ? err.message : `runner error: ${err.stack || err}`;
      return `FAIL ${c.name}: step ${i} (${step.label || step.op}): ${why}`;
    }
  }
  return `PASS ${c.name}`;
}

function setup() {
  const req = createRequire(path.join(clientDir, 'package.json'));
  mnemoPkg = req(clientDir);
  grpc = req('@grpc/grpc-js');
  protoLoader = req('@grpc/proto-loader');
  protobuf = req('protobufjs');
  descriptor = req('protobufjs/ext/descriptor');
  schema = new protobuf.Root();
  schema.resolvePath = (_origin, target) => path.join(mnemoPkg.PROTO_DIR, target);
  schema.loadSync(['mnemo/v1/memory.proto', 'mnemo/v1/repository.proto', 'grpc/health/v1/health.proto'],
    { keepCase: true });
  schema.resolveAll();
}

async function main(argv) {
  let cases;
  try {
    if (argv.length < 1) throw new Error('usage: runner_node.js CASES_JSON [CASE_NAME...]');
    if (!process.env.MNEMO_SERVER || !process.env.MNEMO_CONTRACT_ROOT) {
      throw new Error('MNEMO_SERVER and MNEMO_CONTRACT_ROOT must be set (run_with_server.sh sets them)');
    }
    cases = JSON.parse(fs.readFileSync(argv[0], 'utf8')).cases;
    const names = new Set(argv.slice(1));
    if (names.size) cases = cases.filter((c) => names.has(c.name));
    setup();
  } catch (err) {
    console.error(`runner_node: ${err.message}`);
    return 2;
  }
  const mnemo = mnemoPkg.connect(process.env.MNEMO_SERVER);
  const count = { PASS: 0, FAIL: 0, SKIP: 0 };
  try {
    for (const c of cases) {
      const line = await runCase(mnemo, c);
      count[line.split(' ')[0]]++;
      console.log(line);
    }
  } finally {
    mnemo.close();
    if (reflectionClient) reflectionClient.close();
  }
  console.log(`contract node: ${count.PASS} passed, ${count.FAIL} failed, ${count.SKIP} skipped of ${cases.length} cases`);
  return count.FAIL ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
