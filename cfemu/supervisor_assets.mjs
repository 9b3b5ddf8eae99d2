// cfemu runtime supervisor, assets part: makes miniflare serve each asset with the Content-Type and the ETag it
// would have on Cloudflare (used by supervisor.mjs; see cfemu/miniflare_runtime.py for the Python side).

import path from "node:path";

// ---------------------------------------------------------------------------------------------
// Asset Content-Types and ETags.
//
// miniflare derives each asset's Content-Type from its file extension (`getContentType` in
// miniflare/dist/src/index.js, via the `mime` package) and hands the result to its assets KV worker in
// the JSON binding ASSETS_REVERSE_MAP ({contentHash: {filePath, contentType}}); the KV worker returns it
// as `cf-kv-metadata: {"contentType": "..."}` and the asset worker sets `Content-Type` from it, or sends
// no Content-Type when the entry's contentType is null. There is no option for it, so this wraps the
// assets plugin's getServices and rewrites ASSETS_REVERSE_MAP with the Content-Type stored at upload
// (keyed by the file's path relative to the assets directory). Files not in the table keep miniflare's
// guess. The KV worker splices the value into a JSON string literal without escaping it, so it is
// pre-escaped here.
//
// The same wrapper puts the upload's content hashes into the asset manifest. Cloudflare's asset worker answers
// with `ETag: "<content hash>"`, a strong tag (cloudflare/workers-sdk
// packages/workers-shared/asset-worker/src/utils/headers.ts: ETag: `"${eTag}"`), and with 304 to an
// If-None-Match of that tag, strong or `W/` (handler.ts), the content hash being what the manifest holds for
// the path (assets-manifest.ts). In production that is the hash the deploy's manifest gave the file;
// miniflare instead hashes the file's absolute path and mtime (its `walk`, to spare hashing in `wrangler dev`).
// So every 16-byte content hash in the ASSETS_MANIFEST binding (entries of 40 bytes after a 20-byte header:
// path hash, content hash, tail) is replaced by the file's upload hash, and ASSETS_REVERSE_MAP is keyed by it,
// which is how the asset worker finds the file again (`getByETag`). Two paths with one upload hash have the
// same bytes and type (assets are stored by hash), so they may share the reverse-map entry.
// ---------------------------------------------------------------------------------------------

// resolved assets directory -> {content_types: {relativePath: type | null}, hashes: {relativePath: upload hash}}
export const assetTablesByDirectory = new Map();
const MANIFEST_HEADER_BYTES = 20;
const MANIFEST_ENTRY_BYTES = 40;
const MANIFEST_CONTENT_HASH_OFFSET = 16;
const HASH_BYTES = 16;

function escapeForJsonString(value) {
  return JSON.stringify(value).slice(1, -1);
}

function hexOf(bytes) {
  return Buffer.from(bytes).toString("hex");
}

function findBinding(services, servicePrefix, bindingName) {
  for (const service of services) {
    if (!String(service?.name ?? "").startsWith(servicePrefix)) continue;
    const binding = (service.worker?.bindings ?? []).find((candidate) => candidate.name === bindingName);
    if (binding) return binding;
  }
  return undefined;
}

// Rewrite one instance's ASSETS_REVERSE_MAP (types, upload hashes) and ASSETS_MANIFEST (upload hashes).
function applyAssetTables(services, tables, log) {
  const reverseBinding = findBinding(services, "assets:kv:", "ASSETS_REVERSE_MAP");
  if (!reverseBinding || typeof reverseBinding.json !== "string") return;
  const contentTypes = tables.content_types ?? {};
  const hashes = tables.hashes ?? {};
  const renamed = new Map(); // miniflare's content hash -> the upload's
  const reverseMap = {};
  for (const [contentHash, entry] of Object.entries(JSON.parse(reverseBinding.json))) {
    const key = entry.filePath.split(path.sep).join("/");
    if (Object.prototype.hasOwnProperty.call(contentTypes, key)) {
      const stored = contentTypes[key];
      entry.contentType = stored === null ? null : escapeForJsonString(stored);
    }
    const uploadHash = hashes[key];
    const usable = typeof uploadHash === "string" && /^[0-9a-f]{32}$/i.test(uploadHash);
    const newKey = usable ? uploadHash.toLowerCase() : contentHash;
    if (usable) renamed.set(contentHash, newKey);
    reverseMap[newKey] = entry;
  }
  reverseBinding.json = JSON.stringify(reverseMap);
  const manifestBinding = findBinding(services, "assets:", "ASSETS_MANIFEST");
  if (!manifestBinding || manifestBinding.data === undefined || renamed.size === 0) return;
  const manifest = Uint8Array.from(manifestBinding.data);
  if ((manifest.length - MANIFEST_HEADER_BYTES) % MANIFEST_ENTRY_BYTES !== 0) {
    log(`cfemu: unexpected asset manifest layout (${manifest.length} bytes); ETags left as miniflare made them`);
    return;
  }
  for (let offset = MANIFEST_HEADER_BYTES; offset < manifest.length; offset += MANIFEST_ENTRY_BYTES) {
    const at = offset + MANIFEST_CONTENT_HASH_OFFSET;
    const uploadHash = renamed.get(hexOf(manifest.subarray(at, at + HASH_BYTES)));
    if (uploadHash !== undefined) manifest.set(Buffer.from(uploadHash, "hex"), at);
  }
  manifestBinding.data = manifest;
}

// Wrap `assetsPlugin.getServices` (miniflare's PLUGINS.assets) so that every instance whose assets directory has
// tables in `assetTablesByDirectory` gets them applied; returns whether the plugin could be patched. `log` writes
// one line to the supervisor's log.
export function installAssetPatch(assetsPlugin, log) {
  if (!assetsPlugin || typeof assetsPlugin.getServices !== "function") return false;
  const originalGetServices = assetsPlugin.getServices.bind(assetsPlugin);
  assetsPlugin.getServices = async (args) => {
    const services = await originalGetServices(args);
    const directory = args?.options?.assets?.directory;
    const tables = directory === undefined ? undefined : assetTablesByDirectory.get(path.resolve(directory));
    if (tables && Array.isArray(services)) applyAssetTables(services, tables, log);
    return services;
  };
  return true;
}
