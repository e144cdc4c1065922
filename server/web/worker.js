// CommunityCube service worker. It keeps the app shell (page, scripts, wasm,
// styles, icons) in a cache named after the build, so the app starts without
// the node, and says so. API calls are never cached: they carry user data.
const cacheName = "cube-{{.Version}}";
const shell = {{.ResourcesToCache}};
// A page load waits this long for the node before falling back to the cache,
// so a phone on a bad connection still opens the app.
const navigationTimeoutMs = 4000;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    // API requests go straight to the network, past this worker (static
    // routing). Not only faster: Chromium hands a service worker each
    // request body as a Blob that stays in memory until this worker's
    // garbage collector runs, and an upload of 2 GiB filled the tab's Blob
    // memory so that every later request of the tab failed. (The fetch
    // handler below ignores /api/ too, for browsers without routing.)
    if (event.addRoutes && typeof URLPattern === "function") {
      try {
        await event.addRoutes([{ condition: { urlPattern: new URLPattern({ pathname: "/api/*" }) }, source: "network" }]);
      } catch (err) {
        // Routing refused: requests take the fetch handler's way.
      }
    }
    const cache = await caches.open(cacheName);
    await cache.addAll(shell);
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key !== cacheName) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin === self.location.origin && url.pathname.startsWith("/stream/")) {
    event.respondWith(stream(req, url));
    return;
  }
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  if (req.mode === "navigate") {
    event.respondWith(page(req));
    return;
  }
  event.respondWith(asset(req));
});

// Pages come from the node when it answers (fresh prerendered HTML), else
// from the cached shell: every page is the same app, which routes by URL.
async function page(req) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), navigationTimeoutMs);
  try {
    return await fetch(req, { signal: ctrl.signal });
  } catch (err) {
    const cache = await caches.open(cacheName);
    return (await cache.match(req, { ignoreSearch: true })) || (await cache.match("/")) || Response.error();
  } finally {
    clearTimeout(timer);
  }
}

// Shell files are immutable within a build: cache first. A cache holds one
// build only, so /web/ files may match without their ?v= version (go-app's
// client-side resolver leaves it off).
async function asset(req) {
  const cache = await caches.open(cacheName);
  const url = new URL(req.url);
  const hit = await cache.match(req, { ignoreSearch: url.pathname.startsWith("/web/") });
  return hit || fetch(req);
}

// ---- Streams (wasm/swstream) ----------------------------------------------
// The page registers a stream (a decrypted file, a zip being built) with a
// MessagePort; GET /stream/{id} is answered from it, chunk by chunk as the
// reader pulls, never cached and never sent to the node. Range requests get
// 206 partial responses (video seeking, and a download manager resuming).
// If the page goes away or a read fails (a tampered file), the body errors:
// the browser marks the download failed rather than saving it as complete.
const streams = new Map();
const streamWaiters = new Map();
// One segment's worth (the page answers at most 1 MiB, wasm/swstream): each
// chunk is a round trip to the page, so smaller chunks cost more messages
// and copies per byte.
const streamChunk = 1024 * 1024;

self.addEventListener("message", (event) => {
  const m = event.data;
  if (!m || typeof m !== "object") return;
  if (m.cube === "stream" && typeof m.id === "string" && m.port) {
    const s = { id: m.id, name: String(m.name || "download"), type: String(m.type || ""), size: Number(m.size), download: !!m.download, port: m.port, seq: 0, pending: new Map() };
    if (m.direct) s.direct = directPlan(m.direct);
    s.port.onmessage = (e) => {
      const r = e.data || {};
      const p = s.pending.get(r.seq);
      if (!p) return;
      s.pending.delete(r.seq);
      if (typeof r.error === "string") p.reject(new Error(r.error));
      else p.resolve(new Uint8Array(r.data || new ArrayBuffer(0)));
    };
    streams.set(s.id, s);
    const w = streamWaiters.get(s.id);
    if (w) { streamWaiters.delete(s.id); w.forEach((f) => f(s)); }
  } else if (m.cube === "close" && typeof m.id === "string") {
    const s = streams.get(m.id);
    if (s) {
      streams.delete(m.id);
      for (const p of s.pending.values()) p.reject(new Error("the stream was closed"));
      s.pending.clear();
    }
  }
  // m.cube === "ping" only keeps this worker alive during long downloads.
});

// waitStream gives the page's registration a moment: its message and the
// request that follows it may arrive in either order.
function waitStream(id) {
  const s = streams.get(id);
  if (s) return Promise.resolve(s);
  return new Promise((resolve) => {
    const list = streamWaiters.get(id) || [];
    list.push(resolve);
    streamWaiters.set(id, list);
    setTimeout(() => {
      const l = streamWaiters.get(id);
      if (l && l.includes(resolve)) {
        l.splice(l.indexOf(resolve), 1);
        if (!l.length) streamWaiters.delete(id);
        resolve(null);
      }
    }, 3000);
  });
}

function pull(s, off, n) {
  return new Promise((resolve, reject) => {
    if (!streams.has(s.id)) { reject(new Error("the stream was closed")); return; }
    const seq = ++s.seq;
    s.pending.set(seq, { resolve, reject });
    s.port.postMessage({ seq, off, n });
  });
}

// Only media types that cannot run script are served inline (no HTML, no
// SVG: a stream is same-origin); anything else is bytes.
function safeType(t) {
  return /^(video|audio)\/[\w.+-]+$/.test(t) || /^image\/(jpeg|png|gif|webp|avif|bmp)$/.test(t) || t === "application/pdf" ? t : "application/octet-stream";
}

function contentDisposition(name) {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  return 'attachment; filename="' + ascii + '"; filename*=UTF-8\'\'' + encodeURIComponent(name);
}

async function stream(req, url) {
  const id = url.pathname.slice("/stream/".length);
  const s = await waitStream(id);
  const text = { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" };
  if (!s) return new Response("This file is no longer open here: open it again from the app.", { status: 404, headers: text });
  const download = s.download || url.searchParams.has("download");
  const headers = new Headers({
    "Content-Type": download ? "application/octet-stream" : safeType(s.type),
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
  });
  if (download) headers.set("Content-Disposition", contentDisposition(s.name));
  const sized = s.size >= 0;
  let start = 0, end = sized ? s.size - 1 : Infinity, status = 200;
  if (sized) {
    headers.set("Accept-Ranges", "bytes");
    const range = req.headers.get("Range");
    if (range) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      let a = NaN, b = s.size - 1;
      if (m && m[1] !== "") { a = Number(m[1]); if (m[2] !== "") b = Math.min(Number(m[2]), s.size - 1); }
      else if (m && m[2] !== "") { a = Math.max(0, s.size - Number(m[2])); }
      if (!(a <= b) || a >= s.size) {
        headers.set("Content-Range", "bytes */" + s.size);
        return new Response(null, { status: 416, headers });
      }
      start = a; end = b; status = 206;
      headers.set("Content-Range", "bytes " + a + "-" + b + "/" + s.size);
    }
    headers.set("Content-Length", String(end - start + 1));
  }
  if (s.direct) return new Response(req.method === "HEAD" ? null : directBody(s, start, end), { status, headers });
  let pos = start;
  const body = new ReadableStream({
    async pull(ctrl) {
      if (pos > end) { ctrl.close(); return; }
      const n = sized ? Math.min(streamChunk, end + 1 - pos) : streamChunk;
      let chunk;
      try {
        chunk = await pull(s, pos, n);
      } catch (err) {
        ctrl.error(err);
        return;
      }
      if (chunk.length === 0) {
        if (sized) ctrl.error(new Error("the file ended early"));
        else ctrl.close();
        return;
      }
      pos += chunk.length;
      ctrl.enqueue(chunk);
      if (pos > end) ctrl.close();
    },
  }, { highWaterMark: 0 });
  return new Response(req.method === "HEAD" ? null : body, { status, headers });
}

// ---- Direct streams ---------------------------------------------------------
// For a file the page has opened and checked against its cap, the page hands
// over a plan (download.Direct in shared/transfer/download, docs/files.md
// "Downloads") and this worker fetches, checks and decrypts the segments
// itself: the bytes go from the network through WebCrypto to the response
// without crossing the page, whose single thread was the bottleneck.
// Nothing is enqueued before its segment matched the hash the page checked
// against the cap; a mismatch errors the body and tells the page.

// Segments checked and decrypted ahead of the one being delivered: the
// reading of the response waits (and the connection with it) beyond that.
const directAhead = 4;
// Attempts without progress for network failures, 5xx answers and short
// bodies, with doubling waits from half a second up to five.
const directAttempts = 10;

function directPlan(p) {
  const key = crypto.subtle.importKey("raw", p.key, "AES-CTR", false, ["decrypt"]);
  key.catch(() => {});
  return {
    url: String(p.url), headers: Object.assign({}, p.headers || {}),
    size: Number(p.size), segSize: Number(p.segSize),
    prefix: new Uint8Array(p.prefix), hashes: new Uint8Array(p.hashes), key,
  };
}

class DirectError extends Error {
  constructor(message, tampered) { super(message); this.tampered = !!tampered; }
}

function directReport(s, event, extra) {
  try { s.port.postMessage(Object.assign({ event }, extra || {})); } catch (err) { /* the page is gone */ }
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

// directOpen asks the node for ciphertext bytes [off, end) and returns the
// response, or throws a DirectError (no retry) or a string (retry).
async function directOpen(d, off, end, signal) {
  let resp;
  try {
    const headers = Object.assign({}, d.headers, { Range: "bytes=" + off + "-" + (end - 1) });
    resp = await fetch(d.url, { headers, credentials: "same-origin", cache: "no-store", signal });
  } catch (err) {
    if (signal.aborted) throw err;
    throw "the node cannot be reached (" + err.message + ")";
  }
  if (resp.status === 206 || (resp.status === 200 && off === 0 && end === d.size)) return resp;
  if (resp.status >= 500 || resp.status === 429) throw "the node answered with HTTP status " + resp.status;
  let message = "the node answered with HTTP status " + resp.status;
  try { const e = await resp.json(); if (e && e.error && e.error.message) message = e.error.message; } catch (err) { /* not JSON */ }
  throw new DirectError(message, false);
}

// directCheck checks segment i, held in buf after the hash prefix, and
// returns its plaintext.
async function directCheck(d, i, buf) {
  const off = i * d.segSize;
  const inner = await crypto.subtle.digest("SHA-256", buf);
  const outer = new Uint8Array(await crypto.subtle.digest("SHA-256", inner));
  const want = d.hashes.subarray(32 * i, 32 * i + 32);
  for (let j = 0; j < 32; j++) {
    if (outer[j] !== want[j]) throw new DirectError("segment " + i + " does not match its hash", true);
  }
  // The counter block of byte off is off/16; a segment that starts inside a
  // block is decrypted from that block's start, which the prefix bytes
  // before the ciphertext stand in for (their output is dropped), so no
  // copy is needed.
  const skip = off % 16;
  const block = Math.floor(off / 16);
  const counter = new Uint8Array(16);
  const view = new DataView(counter.buffer);
  view.setUint32(8, Math.floor(block / 2 ** 32));
  view.setUint32(12, block >>> 0);
  const pt = await crypto.subtle.decrypt({ name: "AES-CTR", counter, length: 128 }, await d.key, buf.subarray(d.prefix.length - skip));
  return new Uint8Array(pt, skip);
}

// directBody streams plaintext bytes [start, end] of s. The segments come
// from one request for the whole span (a request per segment cost the
// node and the browser more than the bytes did); after a failure the
// next request starts at the first segment not yet complete.
function directBody(s, start, end) {
  const d = s.direct;
  const first = Math.floor(start / d.segSize);
  const last = Math.floor(end / d.segSize);
  const abort = new AbortController();
  const ready = []; // promises of checked plaintext, in segment order
  let failed = null;
  let wakeReader = null, wakeProducer = null;
  const wake = (f) => { if (f) f(); };
  const segLen = (i) => Math.min(d.segSize, d.size - i * d.segSize);

  const produce = async () => {
    let i = first, attempts = 0, wait = 500;
    while (i <= last) {
      let retry;
      try {
        const resp = await directOpen(d, i * d.segSize, Math.min((last + 1) * d.segSize, d.size), abort.signal);
        const reader = resp.body.getReader();
        let n = segLen(i), fill = 0, buf = new Uint8Array(d.prefix.length + n);
        buf.set(d.prefix);
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          let v = value;
          while (v.length) {
            if (i > last) throw new DirectError("the node sent more of the file than asked for", true);
            const k = Math.min(v.length, n - fill);
            buf.set(v.subarray(0, k), d.prefix.length + fill);
            fill += k;
            v = v.subarray(k);
            if (fill < n) continue;
            const p = directCheck(d, i, buf);
            p.catch(() => {}); // awaited in order by the reader
            ready.push(p);
            wake(wakeReader);
            i++;
            attempts = 0;
            wait = 500;
            if (i <= last) {
              n = segLen(i);
              fill = 0;
              buf = new Uint8Array(d.prefix.length + n);
              buf.set(d.prefix);
            }
            while (ready.length >= directAhead && !abort.signal.aborted) await new Promise((r) => { wakeProducer = r; });
            if (abort.signal.aborted) { reader.cancel().catch(() => {}); return; }
          }
        }
        if (i > last) return;
        retry = "the node sent less of the file than asked for";
      } catch (err) {
        if (err instanceof DirectError || abort.signal.aborted) throw err;
        retry = typeof err === "string" ? err : "the node cannot be reached (" + err.message + ")";
      }
      if (++attempts >= directAttempts) throw new DirectError(retry, false);
      await sleep(wait);
      wait = Math.min(wait * 2, 5000);
    }
  };

  let seg = first;
  return new ReadableStream({
    start() {
      produce().catch((err) => { failed = err; wake(wakeReader); });
    },
    async pull(ctrl) {
      while (!ready.length && !failed) await new Promise((r) => { wakeReader = r; });
      const i = seg++;
      let pt;
      try {
        if (!ready.length) throw failed;
        pt = await ready.shift();
      } catch (err) {
        abort.abort();
        wake(wakeProducer);
        directReport(s, "error", { message: err.message, tampered: !!err.tampered });
        ctrl.error(err);
        return;
      }
      wake(wakeProducer);
      const segOff = i * d.segSize;
      const a = Math.max(0, start - segOff);
      const b = Math.min(pt.length, end + 1 - segOff);
      ctrl.enqueue(a === 0 && b === pt.length ? pt : pt.subarray(a, b));
      directReport(s, "progress", { pos: segOff + b });
      if (i === last) {
        ctrl.close();
        if (end === d.size - 1) directReport(s, "end");
      }
    },
    cancel() { abort.abort(); wake(wakeProducer); },
  }, { highWaterMark: 0 });
}
