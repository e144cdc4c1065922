// upload-worker.js: the browser's upload engine (docs/files.md, "Direct
// uploads"). A dedicated Worker of the page (wasm/upworker) that reads a
// picked file, encrypts it with WebCrypto's AES-CTR, hashes the ciphertext
// and PATCHes it to the node's upload session, so that the bytes never
// cross the page's thread, where Go's wasm (and the UI) run. The page
// decides everything else: where to start, retries, pauses, and the check
// of the node's answer against the hash this worker returns.
//
// Messages from the page:
//   {type: "send", id, round, file, parts, from, size, key, url, headers,
//    chunk, inFlight, prefix}: send ciphertext bytes [from, size) of
//     upload id; round is echoed in every message about this sending.
//     parts: the plaintext as a list of {off, len} (bytes of file) and
//     {data} (bytes given), in order (a scrubbing plan). key: 16 bytes.
//     headers: added to every request. prefix: what the hash starts with.
//   {type: "abort", id}: stop sending id (what was hashed is kept).
// Messages to the page:
//   {type: "acked", id, received}: the node holds `received` bytes.
//   {type: "done", id, inner}: all sent; inner = SHA-256(prefix ‖
//     the whole ciphertext), 32 bytes. The upload's state is forgotten.
//   {type: "error", id, kind, status, body, message}: the round failed.
//     kind: "offline" (no answer), "http" (status and body of the node's
//     answer), "source" (the file cannot be read), "protocol".
"use strict";

// SHA-256 (FIPS 180-4), incremental: the crypttext hash covers the whole
// file in order, and WebCrypto has no incremental digest.
const SHA256_K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

class SHA256 {
  constructor() {
    this.h = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
    this.w = new Int32Array(64);
    this.buf = new Uint8Array(64);
    this.bufLen = 0;
    this.len = 0; // bytes written (exact up to 2^53)
  }

  update(data) {
    const n = data.length;
    let i = 0;
    this.len += n;
    if (this.bufLen > 0) {
      const k = Math.min(64 - this.bufLen, n);
      this.buf.set(data.subarray(0, k), this.bufLen);
      this.bufLen += k;
      i = k;
      if (this.bufLen < 64) return;
      this.blocks(this.buf, 0, 64);
      this.bufLen = 0;
    }
    const whole = i + ((n - i) & ~63);
    if (whole > i) this.blocks(data, i, whole);
    if (whole < n) {
      this.buf.set(data.subarray(whole), 0);
      this.bufLen = n - whole;
    }
  }

  // blocks hashes d[p:end), a whole number of 64-byte blocks.
  blocks(d, p, end) {
    const w = this.w, h = this.h, K = SHA256_K;
    let h0 = h[0], h1 = h[1], h2 = h[2], h3 = h[3], h4 = h[4], h5 = h[5], h6 = h[6], h7 = h[7];
    for (; p < end; p += 64) {
      for (let t = 0, q = p; t < 16; t++, q += 4) {
        w[t] = (d[q] << 24) | (d[q + 1] << 16) | (d[q + 2] << 8) | d[q + 3];
      }
      for (let t = 16; t < 64; t++) {
        const x = w[t - 15], y = w[t - 2];
        const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
        const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
        w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
      }
      let a = h0, b = h1, c = h2, dd = h3, e = h4, f = h5, g = h6, hh = h7;
      for (let t = 0; t < 64; t++) {
        const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + K[t] + w[t]) | 0;
        const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        hh = g; g = f; f = e; e = (dd + t1) | 0;
        dd = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      h0 = (h0 + a) | 0; h1 = (h1 + b) | 0; h2 = (h2 + c) | 0; h3 = (h3 + dd) | 0;
      h4 = (h4 + e) | 0; h5 = (h5 + f) | 0; h6 = (h6 + g) | 0; h7 = (h7 + hh) | 0;
    }
    h[0] = h0; h[1] = h1; h[2] = h2; h[3] = h3; h[4] = h4; h[5] = h5; h[6] = h6; h[7] = h7;
  }

  // digest ends the hash (the object must not be used after).
  digest() {
    const len = this.len;
    const pad = new Uint8Array(((this.bufLen + 8) >> 6) * 64 + 64 - this.bufLen);
    pad[0] = 0x80;
    const v = new DataView(pad.buffer);
    v.setUint32(pad.length - 8, Math.floor(len / 0x20000000)); // bits, high word
    v.setUint32(pad.length - 4, (len % 0x20000000) * 8);      // bits, low word
    this.len = 0;
    this.update(pad);
    const out = new Uint8Array(32);
    const ov = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) ov.setInt32(4 * i, this.h[i]);
    return out;
  }
}

// ---- Sending ----

const uploads = new Map(); // id -> {sha, hashed, abort, running}

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

async function sendChunk(job, off, data, signal) {
  const headers = Object.assign({}, job.headers, {
    "Content-Range": "bytes " + off + "-" + (off + data.length - 1) + "/" + job.size,
  });
  let resp;
  try {
    // A Blob body: Chromium uploads one several times faster than the
    // same bytes as an ArrayBuffer (docs/BENCHMARKS.md).
    resp = await fetch(job.url, { method: "PATCH", headers, body: new Blob([data]), signal, credentials: "same-origin", cache: "no-store" });
  } catch (err) {
    if (signal.aborted) throw err;
    throw new RoundError("offline", "the node cannot be reached (" + err.message + ")");
  }
  if (!resp.ok) {
    let body = null;
    try { body = new Uint8Array(await resp.arrayBuffer()); } catch (err) { /* no body */ }
    throw new RoundError("http", "the node answered with HTTP status " + resp.status, resp.status, body);
  }
  let st;
  try { st = await resp.json(); } catch (err) { throw new RoundError("protocol", "the node's answer is not JSON"); }
  const end = off + data.length;
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
  // hashed). The next chunk is read and encrypted (off this thread) while
  // this one is hashed (on it) and sent.
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
        u.sha.update(ct.subarray(u.hashed - off));
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
  if (!u) {
    u = { sha: new SHA256(), hashed: 0, abort: null, running: null };
    u.sha.update(msg.prefix);
    uploads.set(id, u);
  }
  u.abort = new AbortController();
  const run = round(id, u, msg);
  u.running = run;
  try {
    await run;
    if (u.running !== run) return;
    uploads.delete(id);
    self.postMessage({ type: "done", id, round: msg.round, inner: u.sha.digest() });
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
  }
};
