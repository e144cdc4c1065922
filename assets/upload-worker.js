// upload-worker.js: the browser's upload engine (docs/files.md, "Direct
// uploads"). A dedicated Worker of the page (wasm/upworker) that reads a
// picked file, encrypts it with WebCrypto's AES-CTR, hashes the ciphertext
// and PATCHes it to the node's upload session (the requests made by the
// page's upload-page.js, see "Requests"), so that the bytes never pass
// through Go's wasm on the page's thread, where the UI runs too. The page
// decides everything else: where to start, retries, pauses, and the check
// of the node's answer against the hash this worker returns.
//
// Messages from the page:
//   {type: "send", id, round, file, parts, from, size, key, url, headers,
//    chunk, inFlight, segment, prefix}: send ciphertext bytes [from, size)
//     of upload id; round is echoed in every message about this sending.
//     parts: the plaintext as a list of {off, len} (bytes of file) and
//     {data} (bytes given), in order (a scrubbing plan). key: 16 bytes.
//     headers: added to every request. segment: the file's segment size;
//     prefix: what each segment's hash starts with.
//   {type: "abort", id}: stop sending id (what was hashed is kept).
//   {type: "proxy", port}: the MessagePort over which the page
//     (upload-page.js) makes this worker's requests; sent before any
//     "send". See "Requests".
// Messages to the page:
//   {type: "acked", id, received}: the node holds `received` bytes.
//   {type: "done", id, segments}: all sent; segments = for each segment,
//     SHA-256(prefix ‖ its ciphertext), 32 bytes each, in order. The
//     upload's state is forgotten.
//   {type: "error", id, kind, status, body, message}: the round failed.
//     kind: "offline" (no answer), "http" (status and body of the node's
//     answer), "source" (the file cannot be read), "protocol",
//     "unavailable" (no port from the page: the page sends by itself).
"use strict";

// SegmentHasher hashes ciphertext, given in order, segment by segment: for
// each segment of segSize bytes (the last one shorter) the inner hash of
// its crypttext hash-tree leaf, SHA-256(prefix ‖ segment), by WebCrypto
// (native, and off this thread). WebCrypto has no incremental digest, so
// each segment is gathered behind the prefix in one reused buffer
// (digest() copies its input when called).
class SegmentHasher {
  constructor(prefix, segSize, size) {
    this.segSize = segSize;
    this.size = size;
    this.pre = prefix.length;
    this.buf = new Uint8Array(prefix.length + Math.min(segSize, size));
    this.buf.set(prefix);
    this.fill = 0;      // bytes of the current segment in buf
    this.pos = 0;       // bytes hashed, all segments
    this.digests = [];  // one promise per segment, in order
  }

  update(data) {
    let i = 0;
    while (i < data.length) {
      const segEnd = Math.min((Math.floor(this.pos / this.segSize) + 1) * this.segSize, this.size);
      const n = Math.min(segEnd - this.pos, data.length - i);
      this.buf.set(data.subarray(i, i + n), this.pre + this.fill);
      this.fill += n;
      this.pos += n;
      i += n;
      if (this.pos === segEnd) {
        this.digests.push(crypto.subtle.digest("SHA-256", this.buf.subarray(0, this.pre + this.fill)));
        this.fill = 0;
      }
    }
  }

  // finish returns the segments' hashes, 32 bytes each, once all the
  // bytes were given.
  async finish() {
    const all = await Promise.all(this.digests);
    const out = new Uint8Array(32 * all.length);
    all.forEach((d, i) => out.set(new Uint8Array(d), 32 * i));
    return out;
  }
}

// ---- Sending ----

const uploads = new Map(); // id -> {hasher, hashed, abort, running}

class RoundError extends Error {
  constructor(kind, message, status, body) {
    super(message);
    this.kind = kind;
    this.status = status || 0;
    this.body = body || null;
  }
}

// readPlain returns plaintext bytes [a, b) of job, assembled from its parts.
async function readPlain(job, a, b) {
  const out = new Uint8Array(b - a);
  const reads = [];
  let pos = 0;
  for (const p of job.parts) {
    const plen = p.data ? p.data.length : p.len;
    const s = Math.max(a, pos), e = Math.min(b, pos + plen);
    if (s < e) {
      if (p.data) {
        out.set(p.data.subarray(s - pos, e - pos), s - a);
      } else {
        const at = s - a;
        reads.push(job.file.slice(p.off + s - pos, p.off + e - pos).arrayBuffer().then((buf) => {
          if (buf.byteLength !== e - s) throw new Error("the file is shorter than when it was chosen");
          out.set(new Uint8Array(buf), at);
        }));
      }
    }
    pos += plen;
    if (pos >= b) break;
  }
  try {
    await Promise.all(reads);
  } catch (err) {
    throw new RoundError("source", "the file can no longer be read (was it changed or moved since it was chosen?): " + err.message);
  }
  return out;
}

// encrypt returns the ciphertext of plaintext bytes at offset off: AES-128-
// CTR with a 128-bit big-endian counter that is 0 at byte 0. A start
// inside a block is encrypted from that block's start (the bytes before
// are dropped).
async function encrypt(key, off, plain) {
  const skip = off % 16;
  const block = Math.floor(off / 16);
  const counter = new Uint8Array(16);
  const v = new DataView(counter.buffer);
  v.setUint32(8, Math.floor(block / 2 ** 32));
  v.setUint32(12, block >>> 0);
  let input = plain;
  if (skip) {
    input = new Uint8Array(skip + plain.length);
    input.set(plain, skip);
  }
  const ct = await crypto.subtle.encrypt({ name: "AES-CTR", counter, length: 128 }, key, input);
  return new Uint8Array(ct, skip);
}

// ---- Requests ----
//
// A request this worker makes passes through the page's service worker
// (which controls the worker too), and Chromium hands a service worker
// every request body as a Blob that lives until the service worker's
// garbage collector frees its FetchEvent: a long upload fills Chromium's
// 2 GiB of Blob memory and from then on every request of the tab fails.
// The page's requests can skip the service worker (it declares /api/ as
// network-only, static routing, server/web/worker.js); a dedicated
// worker's cannot (Chromium 156 applies the routes to windows only). So
// the ciphertext moves to the page (transferred, not copied) and the page
// makes the request. (A page without upload-page.js starts no worker.)

let pagePort = null;            // MessagePort to upload-page.js
const pageRequests = new Map(); // request number -> {resolve, reject, signal, onAbort}
let pageRequestSeq = 0;

// patch has the page send data as the body of a PATCH to url and returns
// the answer's status and body. It rejects like fetch: an AbortError when
// signal is aborted, another error when the node cannot be reached. data
// must not be used after the call (its buffer goes to the page).
function patch(url, headers, data, signal) {
  if (signal.aborted) return Promise.reject(new DOMException("aborted", "AbortError"));
  if (!pagePort) return Promise.reject(new RoundError("unavailable", "the page gave no port for requests"));
  return new Promise((resolve, reject) => {
    const req = ++pageRequestSeq;
    const onAbort = () => pagePort.postMessage({ type: "abort", req });
    signal.addEventListener("abort", onAbort, { once: true });
    pageRequests.set(req, { resolve, reject, signal, onAbort });
    pagePort.postMessage({ type: "fetch", req, url, method: "PATCH", headers, body: data.buffer, offset: data.byteOffset, length: data.length }, [data.buffer]);
  });
}

// pageAnswered settles a request made by the page:
// {type: "fetched", req, status, body} or {type: "fetched", req, error,
// aborted}.
function pageAnswered(e) {
  const m = e.data;
  const r = pageRequests.get(m.req);
  if (!r) return;
  pageRequests.delete(m.req);
  r.signal.removeEventListener("abort", r.onAbort);
  if (m.aborted) r.reject(new DOMException("aborted", "AbortError"));
  else if (m.error) r.reject(new TypeError(m.error));
  else r.resolve({ status: m.status, body: new Uint8Array(m.body) });
}

async function sendChunk(job, off, data, signal) {
  const headers = Object.assign({}, job.headers, {
    "Content-Range": "bytes " + off + "-" + (off + data.length - 1) + "/" + job.size,
  });
  const end = off + data.length;
  let resp;
  try {
    resp = await patch(job.url, headers, data, signal);
  } catch (err) {
    if (signal.aborted || err instanceof RoundError) throw err;
    throw new RoundError("offline", "the node cannot be reached (" + err.message + ")");
  }
  if (resp.status < 200 || resp.status > 299) {
    throw new RoundError("http", "the node answered with HTTP status " + resp.status, resp.status, resp.body);
  }
  let st;
  try { st = JSON.parse(new TextDecoder().decode(resp.body)); } catch (err) { throw new RoundError("protocol", "the node's answer is not JSON"); }
  if (!(st.received >= end)) {
    throw new RoundError("protocol", "The node holds " + st.received + " bytes after a chunk ending at " + end + ".");
  }
  return st.received;
}

// round sends bytes [job.from, job.size) of upload u, hashing what it has
// not hashed yet, with up to job.inFlight requests at once.
async function round(id, u, job) {
  const tag = job.round;
  const key = await crypto.subtle.importKey("raw", job.key, "AES-CTR", false, ["encrypt"]);
  const signal = u.abort.signal;
  const pending = new Set();
  let failure = null;
  const fail = (err) => {
    if (!failure) failure = err;
    u.abort.abort();
  };
  // Chunks: job.chunk bytes, cut at job.from (bytes before it are only
  // hashed). The next chunk is read and encrypted while this one is
  // hashed and sent.
  const length = (o) => (o < job.from ? Math.min(job.chunk, job.from - o) : Math.min(job.chunk, job.size - o));
  const prepare = (o) => {
    if (o >= job.size) return null;
    const p = readPlain(job, o, o + length(o)).then((plain) => encrypt(key, o, plain));
    p.catch(() => {}); // awaited below, or dropped when the round stops
    return p;
  };
  let off = Math.min(job.from, u.hashed);
  let next = prepare(off);
  try {
    while (next && !failure && !signal.aborted) {
      const n = length(off);
      const ct = await next;
      next = prepare(off + n);
      if (off + n > u.hashed) {
        u.hasher.update(ct.subarray(u.hashed - off));
        u.hashed = off + n;
      }
      if (off >= job.from) {
        while (pending.size >= job.inFlight && !failure) await Promise.race(pending);
        if (failure || signal.aborted) break;
        const p = sendChunk(job, off, ct, signal).then(
          (received) => { self.postMessage({ type: "acked", id, round: tag, received }); },
          // Once stopped, the other requests' AbortErrors are not the cause.
          (err) => { if (!signal.aborted || err instanceof RoundError) fail(err); },
        ).finally(() => { pending.delete(p); });
        pending.add(p);
      }
      off += n;
    }
  } catch (err) {
    fail(err); // the file cannot be read: stop the requests in flight too
  }
  await Promise.all(pending);
  if (failure) throw failure;
  if (signal.aborted) throw new RoundError("aborted", "stopped");
}

async function start(msg) {
  const id = msg.id;
  let u = uploads.get(id);
  if (u && u.running) {
    u.abort.abort();
    await u.running.catch(() => {});
  }
  if (!u || u.segment !== msg.segment) { // new, or the node's session was begun anew
    u = { hasher: new SegmentHasher(msg.prefix, msg.segment, msg.size), segment: msg.segment, hashed: 0, abort: null, running: null };
    uploads.set(id, u);
  }
  u.abort = new AbortController();
  const run = round(id, u, msg);
  u.running = run;
  try {
    await run;
    const segments = await u.hasher.finish();
    if (u.running !== run) return;
    uploads.delete(id);
    self.postMessage({ type: "done", id, round: msg.round, segments });
  } catch (err) {
    if (u.running !== run || err.kind === "aborted") return;
    const kind = err instanceof RoundError ? err.kind : "source";
    self.postMessage({ type: "error", id, round: msg.round, kind, status: err.status || 0, body: err.body || null, message: err.message || String(err) });
  } finally {
    if (u.running === run) u.running = null;
  }
}

self.onmessage = (e) => {
  const msg = e.data;
  if (msg.type === "send") {
    start(msg);
  } else if (msg.type === "abort") {
    const u = uploads.get(msg.id);
    if (u && u.abort) u.abort.abort();
  } else if (msg.type === "proxy") {
    pagePort = msg.port;
    pagePort.onmessage = pageAnswered;
  }
};
