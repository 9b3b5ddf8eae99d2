// cfemu runtime supervisor: runs Workers in workerd through miniflare, driven by cfemu/miniflare_runtime.py.
//
// Protocol: one JSON object per line.
//   stdin  (requests): {"id": 1, "op": "start", "key": "...", "spec": {...}}
//                      {"id": 2, "op": "dispose", "key": "..."}
//                      {"id": 3, "op": "ping"}
//                      {"id": 4, "op": "shutdown"}
//                      {"id": 5, "op": "scheduled", "key": "...", "cron": "*/5 * * * *", "scheduled_time": <ms>}
//                        → {"outcome": "ok"|"exception"|…, "no_retry": bool} once the handler and its
//                          ctx.waitUntil() work are done (workerd's Fetcher.scheduled())
//   stdout (replies):  {"id": 1, "ok": true, ...} or {"id": 1, "ok": false, "error": "..."}
// Nothing else is ever written to stdout; logs (miniflare's, workerd's stdout/stderr with a
// "[script@version]" prefix) go to stderr, which the Python side sends to a log file.
//
// Every request is answered, in any order; requests run concurrently (a start does not block a dispose).
// When stdin closes (the Python parent exited or died) or on SIGTERM/SIGINT, every Miniflare instance is
// disposed (which stops its workerd) and the process exits, so no workerd outlives its parent.
//
// The miniflare package is resolved next to this file (../node_modules) or, when CFEMU_NODE_MODULES is
// set, inside that node_modules directory.

import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { createInterface } from "node:readline";
import { assetTablesByDirectory, installAssetPatch } from "./supervisor_assets.mjs";

async function loadMiniflare() {
  const nodeModules = process.env.CFEMU_NODE_MODULES;
  if (nodeModules) {
    const require = createRequire(path.join(path.resolve(nodeModules), "..", "cfemu-resolve.js"));
    return import(pathToFileURL(require.resolve("miniflare")).href);
  }
  return import("miniflare");
}

const mfModule = await loadMiniflare();
const { Miniflare, Log, LogLevel, PLUGINS } = mfModule;

// Never let a library print to stdout: it carries the protocol.
console.log = (...args) => console.error(...args);
console.info = (...args) => console.error(...args);

function writeReply(reply) {
  process.stdout.write(JSON.stringify(reply) + "\n");
}

function logLine(text) {
  process.stderr.write(text.endsWith("\n") ? text : text + "\n");
}

class StderrLog extends Log {
  constructor(prefix) {
    super(LogLevel.INFO, { prefix });
  }
  log(message) {
    logLine(message);
  }
}

// Asset Content-Types and ETags: miniflare's assets plugin is patched (see supervisor_assets.mjs); each start
// registers its version's tables in `assetTablesByDirectory` while miniflare builds its services.
const assetPatchInstalled = installAssetPatch(PLUGINS?.assets, logLine);

// ---------------------------------------------------------------------------------------------
// Handler introspection: a second, tiny worker in the same workerd imports the user's main module and
// reports which handlers its default export has. If only it fails to start, the version is started
// again without it (handlers then unknown).
// ---------------------------------------------------------------------------------------------

const INTROSPECT_WORKER = "cfemu-introspect";
const INTROSPECT_MODULE = "__cfemu_introspect__.mjs";

function introspectSource(mainName) {
  return `import * as userModule from ${JSON.stringify("./" + mainName)};
const KNOWN = ["fetch", "tail", "trace", "tailStream", "scheduled", "queue", "email", "test"];
function handlerNames(value) {
  const found = [];
  const add = (key, fn) => { if (KNOWN.includes(key) && typeof fn === "function" && !found.includes(key)) found.push(key); };
  if (typeof value === "function" && value.prototype) {
    for (let proto = value.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
      for (const key of Object.getOwnPropertyNames(proto)) add(key, Object.getOwnPropertyDescriptor(proto, key)?.value);
    }
  } else if (value !== null && typeof value === "object") {
    for (const key of Object.keys(value)) add(key, value[key]);
  }
  return found;
}
export default { fetch() { return Response.json({ handlers: handlerNames(userModule.default) }); } };
`;
}

// ---------------------------------------------------------------------------------------------
// Instances
// ---------------------------------------------------------------------------------------------

const instances = new Map(); // key -> {mf, label}
const starting = new Set(); // keys whose start is under way
const abandoned = new Set(); // keys disposed while starting: dispose them as soon as they are up
let shuttingDown = false;

const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

function workerOptions(spec, { introspect }) {
  const worker = {
    name: spec.name,
    compatibilityDate: spec.compatibility_date,
    compatibilityFlags: spec.compatibility_flags,
    bindings: spec.bindings,
    d1Databases: spec.d1_databases,
    kvNamespaces: spec.kv_namespaces ?? {},
    r2Buckets: spec.r2_buckets ?? {},
  };
  if (spec.format === "modules") {
    worker.modulesRoot = spec.root;
    worker.modules = spec.modules.map((m) => ({ type: m.type, path: m.path }));
  } else if (spec.format === "service-worker") {
    worker.modules = false;
    worker.modulesRoot = spec.root;
    worker.scriptPath = spec.script_path;
  } else {
    // Assets-only Worker: no user code ever runs (the router never calls it: has_user_worker is false).
    worker.modules = true;
    worker.modulesRoot = spec.root;
    worker.script = "export default {};";
    worker.scriptPath = path.join(spec.root, "__cfemu_assets_only__.mjs");
  }
  if (spec.assets) {
    worker.assets = {
      directory: spec.assets.directory,
      routerConfig: spec.assets.router_config,
      assetConfig: spec.assets.asset_config,
    };
    if (spec.assets.binding) worker.assets.binding = spec.assets.binding;
  }
  const workers = [worker];
  if (introspect) {
    const main = spec.modules[0];
    workers.push({
      name: INTROSPECT_WORKER,
      compatibilityDate: spec.compatibility_date,
      compatibilityFlags: spec.compatibility_flags,
      // The same text/JSON/D1/KV/R2 bindings, for top-level code that reads `env` from "cloudflare:workers".
      bindings: spec.bindings,
      d1Databases: spec.d1_databases,
      kvNamespaces: spec.kv_namespaces ?? {},
      r2Buckets: spec.r2_buckets ?? {},
      modulesRoot: spec.root,
      modules: [
        { type: "ESModule", path: path.join(spec.root, INTROSPECT_MODULE), contents: introspectSource(main.name) },
        ...spec.modules.map((m) => ({ type: m.type, path: m.path })),
      ],
    });
  }
  return workers;
}

// workerd reports a failing service as "service core:user:<name>: <message>" followed by indented lines.
function userErrorText(output, spec) {
  const clean = output.replace(ANSI, "");
  const blocks = [];
  let current = null;
  for (const line of clean.split("\n")) {
    const match = /^service (\S+?): (.*)$/.exec(line);
    if (match) {
      current = { service: match[1], lines: [match[2]] };
      blocks.push(current);
    } else if (current && line.trim() !== "") {
      current.lines.push(line);
    } else {
      current = null;
    }
  }
  const mine = blocks.filter((b) => b.service === `core:user:${spec.name}`);
  const text = mine.map((b) => b.lines.join("\n")).join("\n");
  // File names in stack traces: show them relative to the version directory, as Cloudflare shows module names.
  const root = spec.root.endsWith("/") ? spec.root : spec.root + "/";
  return text.split(pathToFileURL(root).href).join("").split(root).join("").trim();
}

async function startMiniflare(spec, { introspect }) {
  let startupOutput = "";
  let starting = true;
  const label = `[${spec.name}@${spec.version_id}]`;
  const pipe = (stream) => {
    stream.setEncoding("utf8");
    let pending = "";
    stream.on("data", (chunk) => {
      if (starting) startupOutput += chunk;
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop();
      for (const line of lines) logLine(`${label} ${line}`);
    });
    stream.on("end", () => {
      if (pending) logLine(`${label} ${pending}`);
    });
  };
  const options = {
    host: "127.0.0.1",
    port: 0,
    cf: false, // miniflare's placeholder `request.cf`; never fetch the real one from the network
    d1Persist: spec.d1_persist,
    kvPersist: spec.kv_persist,
    r2Persist: spec.r2_persist,
    log: new StderrLog(`mf:${spec.name}`),
    logRequests: false,
    handleRuntimeStdio(stdout, stderr) {
      pipe(stdout);
      pipe(stderr);
    },
    workers: workerOptions(spec, { introspect }),
  };
  let mf;
  try {
    mf = new Miniflare(options);
    const url = await mf.ready;
    starting = false;
    return { mf, url, label, introspect };
  } catch (error) {
    // Give workerd's last output a moment to arrive before reading it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    starting = false;
    if (mf) await mf.dispose().catch(() => {});
    const runtimeText = userErrorText(startupOutput, spec);
    const failure = new Error(runtimeText || (error?.message ?? String(error)).replace(ANSI, ""));
    failure.userError = runtimeText !== "";
    failure.raw = startupOutput.replace(ANSI, "");
    throw failure;
  }
}

async function readHandlers(mf) {
  const worker = await mf.getWorker(INTROSPECT_WORKER);
  const response = await worker.fetch("http://introspect.invalid/");
  const body = await response.json();
  return Array.isArray(body?.handlers) ? body.handlers : null;
}

async function opStart(request) {
  const { key } = request;
  if (shuttingDown) throw new Error("the runtime supervisor is shutting down");
  if (instances.has(key) || starting.has(key)) throw new Error(`instance ${key} already exists`);
  starting.add(key);
  try {
    return await startInstance(request);
  } finally {
    starting.delete(key);
    abandoned.delete(key);
  }
}

async function startInstance(request) {
  const { key, spec } = request;
  if (spec.assets) {
    assetTablesByDirectory.set(path.resolve(spec.assets.directory), {
      content_types: spec.assets.content_types ?? {},
      hashes: spec.assets.hashes ?? {},
    });
  }
  const started = performance.now();
  let instance;
  let handlers = null;
  const introspect = Boolean(spec.introspect) && spec.format === "modules" && spec.modules.length > 0;
  try {
    try {
      instance = await startMiniflare(spec, { introspect });
    } catch (error) {
      if (!introspect || error.userError) throw error;
      logLine(`[${spec.name}@${spec.version_id}] retrying without handler introspection: ${error.message}`);
      instance = await startMiniflare(spec, { introspect: false });
    }
  } finally {
    if (spec.assets) assetTablesByDirectory.delete(path.resolve(spec.assets.directory));
  }
  if (instance.introspect) {
    try {
      handlers = await readHandlers(instance.mf);
    } catch (error) {
      logLine(`${instance.label} handler introspection failed: ${error?.message ?? error}`);
    }
  }
  const startupMs = performance.now() - started;
  if (shuttingDown || abandoned.has(key)) {
    logLine(`${instance.label} started but ${shuttingDown ? "the supervisor is shutting down" : "was abandoned"}: disposing (key ${key})`);
    await instance.mf.dispose().catch(() => {});
    throw new Error(shuttingDown ? "the runtime supervisor is shutting down" : `instance ${key} was abandoned`);
  }
  instances.set(key, instance);
  logLine(`${instance.label} ready at ${instance.url} in ${Math.round(startupMs)} ms (key ${key})`);
  return { url: String(instance.url), startup_ms: startupMs, handlers };
}

async function opDispose(request) {
  if (starting.has(request.key)) {
    abandoned.add(request.key);
    return { disposed: false, abandoned: true };
  }
  const instance = instances.get(request.key);
  if (!instance) return { disposed: false };
  instances.delete(request.key);
  await instance.mf.dispose();
  logLine(`${instance.label} disposed (key ${request.key})`);
  return { disposed: true };
}

// Runs the user Worker's scheduled handler (the first worker of the instance) as a Cron Trigger would.
async function opScheduled(request) {
  const instance = instances.get(request.key);
  if (!instance) throw new Error(`no instance ${request.key}`);
  const worker = await instance.mf.getWorker();
  const result = await worker.scheduled({ cron: request.cron, scheduledTime: new Date(request.scheduled_time) });
  logLine(`${instance.label} scheduled "${request.cron}": ${result.outcome}`);
  return { outcome: String(result.outcome), no_retry: Boolean(result.noRetry) };
}

async function disposeAll() {
  const all = [...instances.values()];
  instances.clear();
  if (all.length) logLine(`cfemu supervisor: disposing ${all.length} instance(s): ${all.map((i) => i.label).join(" ")}`);
  await Promise.allSettled(all.map((instance) => instance.mf.dispose()));
}

let exiting = false;
async function shutdownAndExit(code) {
  if (exiting) return;
  exiting = true;
  shuttingDown = true;
  await disposeAll();
  logLine(`cfemu supervisor ${process.pid} exiting`);
  process.stdout.write("", () => process.exit(code));
}

async function handle(request) {
  switch (request.op) {
    case "start":
      return opStart(request);
    case "dispose":
      return opDispose(request);
    case "scheduled":
      return opScheduled(request);
    case "ping":
      return { pid: process.pid, content_type_patch: assetPatchInstalled, instances: [...instances.keys()] };
    case "shutdown":
      shuttingDown = true;
      await disposeAll();
      return {};
    default:
      throw new Error(`unknown op ${JSON.stringify(request.op)}`);
  }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
  if (!line.trim()) return;
  let request;
  try {
    request = JSON.parse(line);
  } catch (error) {
    logLine(`cfemu supervisor: bad request line: ${line.slice(0, 200)}`);
    return;
  }
  handle(request).then(
    (result) => writeReply({ id: request.id, ok: true, ...result }),
    (error) => writeReply({ id: request.id, ok: false, error: error?.message ?? String(error) }),
  );
});
lines.on("close", () => {
  void shutdownAndExit(0);
});
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) {
  process.on(signal, () => void shutdownAndExit(0));
}
process.on("unhandledRejection", (error) => {
  logLine(`cfemu supervisor: unhandled rejection: ${error?.stack ?? error}`);
});
logLine(`cfemu supervisor ${process.pid} up (miniflare assets patch: ${assetPatchInstalled})`);
