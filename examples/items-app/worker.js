// items-app: a tiny password-gated list of items.
//
// One ES-module Worker that
//   * checks a single shared password (env.APP_PASSWORD) on POST /login,
//   * keeps the signed-in state in an encrypted + signed cookie (no server-side
//     session table; the key material comes from env.SESSION_SECRET),
//   * serves a small JSON API backed by D1 (env.DB, table `items`),
//   * hands everything else to the static assets binding (env.ASSETS).
//
// Deployed with this assets config (see app.yml):
//   html_handling "none"      asset paths are exact file names: /login.html is
//                             served as /login.html (no 307 to /login), and "/"
//                             matches no file, so the Worker maps it to /app.html.
//   not_found_handling "none" unknown paths are plain 404s.
//   run_worker_first true     REQUIRED for the gate: otherwise a request that
//                             matches an asset file (/app.html, /app.js) is
//                             answered from the asset store without ever
//                             running this Worker.
//
// Bindings: DB (D1), ASSETS (assets), APP_PASSWORD and SESSION_SECRET (secrets),
// and optionally SESSION_SECRET_PREVIOUS (secret), set by a graceful rotation of
// SESSION_SECRET to the value it replaced: cookies signed with the previous key
// stay valid until the next rotation. New cookies are signed with SESSION_SECRET.

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const COOKIE_NAME = "app_session";
const SESSION_SECONDS = 30 * 24 * 60 * 60; // 30 days = 2592000 s
// Attribute string required by the spec, in this exact order.
const COOKIE_ATTRS = "HttpOnly; Secure; SameSite=Lax; Path=/";
const MAX_NAME_LENGTH = 200; // characters (Unicode code points)

/** Bytes -> base64url without padding. */
function toBase64Url(data) {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** base64url (padding optional) -> bytes. Throws on malformed input. */
function fromBase64Url(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error("bad base64url");
  let b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  while (b64.length % 4 !== 0) b64 += "=";
  const binary = atob(b64);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** JSON response. API responses are per-user, so never cache them. */
function jsonResponse(body, status = 200, headers = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      ...headers,
    },
  });
}

/** 302 redirect to a same-origin path. */
function redirect(location, headers = {}) {
  return new Response(null, {
    status: 302,
    headers: { location, "cache-control": "no-store", ...headers },
  });
}

/** Fetch a specific asset (by path) from the assets binding, keeping method/headers. */
function serveAsset(env, req, assetPath) {
  return env.ASSETS.fetch(new Request(new URL(assetPath, req.url), req));
}

// ---------------------------------------------------------------------------
// Session module
//
// Cookie value:  <iv>.<ciphertext>.<sig>   (each part base64url)
//   iv          16 random bytes (AES-CBC IV)
//   ciphertext  AES-CBC-256 of the JSON payload {ok:true, exp:<ms since epoch>}
//   sig         HMAC-SHA256 over the ASCII string "<iv>.<ciphertext>"
// Keys: HKDF-SHA256 over the secret, salt = 32 zero bytes,
//       info "enc" -> 256-bit AES key, info "sig" -> 256-bit HMAC key.
// New cookies are made with the keys of SESSION_SECRET; a cookie is accepted
// when it was made with those of SESSION_SECRET or SESSION_SECRET_PREVIOUS.
// Encrypt-then-MAC: the signature is verified *before* anything is decrypted.
// ---------------------------------------------------------------------------

/** The secrets a session cookie may be signed with, each with its cache slot.
 * SESSION_SECRET_PREVIOUS is optional: the key SESSION_SECRET had before its
 * last graceful rotation (unset before the first one, and after a revoke). */
function sessionSecrets(env) {
  const secrets = [{ slot: "current", secret: env.SESSION_SECRET }];
  const previous = env.SESSION_SECRET_PREVIOUS;
  if (typeof previous === "string" && previous !== "") {
    secrets.push({ slot: "previous", secret: previous });
  }
  return secrets;
}

// Deriving keys costs a few crypto calls; cache the result (an isolate serves
// many requests). One slot per secret, so that the keys of SESSION_SECRET and
// SESSION_SECRET_PREVIOUS are both kept while both are live; a slot is derived
// again when its secret changes (a rotation).
const keyCache = new Map(); // slot -> { secret, keys: Promise<{encKey, sigKey}> }

async function sessionKeys(secret, slot) {
  const cached = keyCache.get(slot);
  if (cached && cached.secret === secret) return cached.keys;
  const keys = (async () => {
    const ikm = await crypto.subtle.importKey(
      "raw", encoder.encode(secret), "HKDF", false, ["deriveBits"]);
    const salt = new Uint8Array(32); // 32 zero bytes
    const derive = (info) => crypto.subtle.deriveBits(
      { name: "HKDF", hash: "SHA-256", salt, info: encoder.encode(info) }, ikm, 256);
    const [encBits, sigBits] = await Promise.all([derive("enc"), derive("sig")]);
    const encKey = await crypto.subtle.importKey(
      "raw", encBits, { name: "AES-CBC" }, false, ["encrypt", "decrypt"]);
    const sigKey = await crypto.subtle.importKey(
      "raw", sigBits, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    return { encKey, sigKey };
  })();
  const entry = { secret, keys };
  keyCache.set(slot, entry);
  try {
    return await keys;
  } catch (err) {
    if (keyCache.get(slot) === entry) keyCache.delete(slot); // don't cache a failure
    throw err;
  }
}

/** Build the Set-Cookie header value for a fresh 30-day session (signed with SESSION_SECRET). */
async function createSessionCookie(env) {
  const { encKey, sigKey } = await sessionKeys(env.SESSION_SECRET, "current");
  const payload = { ok: true, exp: Date.now() + SESSION_SECONDS * 1000 };
  const iv = crypto.getRandomValues(new Uint8Array(16));
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-CBC", iv }, encKey, encoder.encode(JSON.stringify(payload)));
  const signed = `${toBase64Url(iv)}.${toBase64Url(ciphertext)}`;
  const sig = await crypto.subtle.sign("HMAC", sigKey, encoder.encode(signed));
  return `${COOKIE_NAME}=${signed}.${toBase64Url(sig)}; ${COOKIE_ATTRS}; Max-Age=${SESSION_SECONDS}`;
}

/** Set-Cookie value that makes the browser drop the session cookie. */
function clearSessionCookie() {
  return `${COOKIE_NAME}=; ${COOKIE_ATTRS}; Max-Age=0`;
}

/** Return the raw value of our cookie from a Cookie header, or null. */
function getSessionCookie(cookieHeader) {
  if (!cookieHeader) return null;
  for (const part of cookieHeader.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === COOKIE_NAME) return part.slice(eq + 1).trim();
  }
  return null;
}

/**
 * Verify + decrypt the session cookie against each of `secrets` (see
 * sessionSecrets). Returns the payload or null (never throws).
 */
async function readSession(req, secrets) {
  const raw = getSessionCookie(req.headers.get("cookie"));
  if (!raw) return null;
  const parts = raw.split(".");
  if (parts.length !== 3) return null;
  const [ivPart, ctPart, sigPart] = parts;
  try {
    const sig = fromBase64Url(sigPart);
    const signed = encoder.encode(`${ivPart}.${ctPart}`);
    // 1. Authenticate first (crypto.subtle.verify compares in constant time),
    //    and keep the encryption key of the secret whose signature matches.
    let encKey = null;
    for (const { slot, secret } of secrets) {
      const keys = await sessionKeys(secret, slot);
      if (await crypto.subtle.verify("HMAC", keys.sigKey, sig, signed)) {
        encKey = keys.encKey;
        break;
      }
    }
    if (!encKey) return null;
    // 2. Only now decrypt, with that secret's key.
    const iv = fromBase64Url(ivPart);
    if (iv.length !== 16) return null;
    const plain = await crypto.subtle.decrypt(
      { name: "AES-CBC", iv }, encKey, fromBase64Url(ctPart));
    const payload = JSON.parse(decoder.decode(plain));
    // 3. Check contents and expiry.
    if (!payload || payload.ok !== true) return null;
    if (typeof payload.exp !== "number" || payload.exp <= Date.now()) return null;
    return payload;
  } catch {
    return null; // malformed base64, bad padding, bad JSON, ...
  }
}

// ---------------------------------------------------------------------------
// Password check in constant time
//
// A plain `a === b` returns as soon as a byte differs, which leaks (in theory)
// how much of the guess was right, and also the length of the password.
// Instead HMAC both strings with a fresh random key: the digests always have
// the same length (32 bytes) and reveal nothing about the inputs, then compare
// the digests without early exit.
// ---------------------------------------------------------------------------

function bytesEqualConstantTime(a, b) {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  if (typeof crypto.subtle.timingSafeEqual === "function") {
    return crypto.subtle.timingSafeEqual(x, y); // workerd extension
  }
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}

async function passwordMatches(given, expected) {
  const key = await crypto.subtle.generateKey(
    { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const [a, b] = await Promise.all([
    crypto.subtle.sign("HMAC", key, encoder.encode(given)),
    crypto.subtle.sign("HMAC", key, encoder.encode(expected)),
  ]);
  return bytesEqualConstantTime(a, b);
}

// ---------------------------------------------------------------------------
// Route handlers
// ---------------------------------------------------------------------------

async function handleLogin(req, env) {
  let password = "";
  try {
    const form = await req.formData();
    const value = form.get("password");
    password = typeof value === "string" ? value : "";
  } catch {
    // Not a form body: treat it like a wrong password.
  }
  if (!password || !(await passwordMatches(password, env.APP_PASSWORD))) {
    return redirect("/login.html?error=1");
  }
  return redirect("/", { "set-cookie": await createSessionCookie(env) });
}

async function listItems(env) {
  const { results } = await env.DB
    .prepare("SELECT id, name, created_at FROM items ORDER BY id DESC")
    .all();
  return jsonResponse(results);
}

async function createItem(req, env) {
  // CSRF: the session cookie is SameSite=Lax, so browsers don't send it on
  // cross-site POST/fetch requests at all. As a second layer we require a JSON
  // content type: an HTML form (the only cross-site request that needs no CORS
  // preflight) can only send urlencoded, multipart or text/plain bodies, and a
  // cross-site fetch() with application/json triggers a preflight that this
  // Worker never approves (it sends no CORS headers).
  const contentType = (req.headers.get("content-type") || "").toLowerCase();
  if (!contentType.startsWith("application/json")) {
    return jsonResponse({ error: "content-type must be application/json" }, 415);
  }
  let body;
  try {
    body = await req.json();
  } catch {
    return jsonResponse({ error: "invalid JSON" }, 400);
  }
  const name = body && typeof body.name === "string" ? body.name.trim() : "";
  if (!name) return jsonResponse({ error: "name required" }, 400);
  if ([...name].length > MAX_NAME_LENGTH) {
    return jsonResponse({ error: `name too long (max ${MAX_NAME_LENGTH} characters)` }, 400);
  }
  const row = await env.DB
    .prepare("INSERT INTO items (name) VALUES (?) RETURNING id, name, created_at")
    .bind(name)
    .first();
  return jsonResponse(row, 201);
}

async function deleteItem(id, env) {
  // Idempotent: deleting an id that is already gone still answers ok.
  // DELETE is not a "simple" method, so a cross-site page cannot send it
  // without a CORS preflight (and the Lax cookie would not be attached anyway).
  await env.DB.prepare("DELETE FROM items WHERE id = ?").bind(id).run();
  return jsonResponse({ ok: true });
}

/** Routes under /api/ (caller has already checked the session). */
async function handleApi(req, env, path) {
  if (path === "/api/items") {
    if (req.method === "GET") return listItems(env);
    if (req.method === "POST") return createItem(req, env);
    return jsonResponse({ error: "method not allowed" }, 405, { allow: "GET, POST" });
  }
  const match = /^\/api\/items\/(\d{1,15})$/.exec(path);
  if (match) {
    if (req.method === "DELETE") return deleteItem(Number(match[1]), env);
    return jsonResponse({ error: "method not allowed" }, 405, { allow: "DELETE" });
  }
  return jsonResponse({ error: "not found" }, 404);
}

// ---------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------

export default {
  async fetch(req, env) {
    // Fail closed, clearly and without echoing anything secret, when the
    // secrets have not been set on this deployment.
    if (!env.APP_PASSWORD || !env.SESSION_SECRET) {
      return new Response("APP_PASSWORD / SESSION_SECRET are not configured\n", {
        status: 500,
        headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
      });
    }

    const url = new URL(req.url);
    const path = url.pathname;

    // --- Public routes (before the auth gate) ---
    if (path === "/login" && req.method === "POST") return handleLogin(req, env);
    if (path === "/login") return redirect("/login.html"); // GET /login: friendly alias
    if (path === "/logout" && req.method === "POST") {
      return redirect("/login.html", { "set-cookie": clearSessionCookie() });
    }
    if (path === "/login.html") return serveAsset(env, req, "/login.html");

    // --- Auth gate: everything below needs a valid session ---
    const session = await readSession(req, sessionSecrets(env));
    if (!session) {
      if (path === "/api" || path.startsWith("/api/")) {
        return jsonResponse({ error: "unauthorized" }, 401);
      }
      return redirect("/login.html");
    }

    if (path === "/api" || path.startsWith("/api/")) return handleApi(req, env, path);

    // "/" is the app page. With html_handling "none" the assets binding does
    // not map "/" to anything, so rewrite it to the file name.
    if (path === "/") return serveAsset(env, req, "/app.html");

    // Any other path: a static asset (/app.js, /app.html, ...) or a 404.
    return env.ASSETS.fetch(req);
  },
};
