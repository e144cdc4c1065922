// upload-page.js: the page's half of the upload worker (upload-worker.js,
// docs/files.md "Direct uploads"). The worker reads, encrypts and hashes;
// the page makes its requests, because only the page's requests can skip
// the service worker (see "Requests" in upload-worker.js: a service worker
// that sees an upload's request bodies keeps them in memory, and at 2 GiB
// every request of the tab fails).
//
// cubeUploadProxy(worker) gives the worker a MessagePort over which it
// asks for requests:
//   {type: "fetch", req, url, method, headers, body, offset, length}: make
//     the request; the body is bytes [offset, offset+length) of the
//     ArrayBuffer body (transferred).
//   {type: "abort", req}: abort request req.
// and the page answers each once:
//   {type: "fetched", req, status, body}: the node's answer (body: an
//     ArrayBuffer), whatever its status;
//   {type: "fetched", req, aborted: true} or {type: "fetched", req, error}:
//     no answer.
// Nothing here touches Go: the page's thread spends on a request only the
// call to fetch, the wasm is not woken.
"use strict";

self.cubeUploadProxy = function (worker) {
  const ch = new MessageChannel();
  const port = ch.port1;
  const running = new Map(); // req -> AbortController
  port.onmessage = async (e) => {
    const m = e.data;
    if (m.type === "abort") {
      const ctrl = running.get(m.req);
      if (ctrl) ctrl.abort();
      return;
    }
    if (m.type !== "fetch") return;
    const ctrl = new AbortController();
    running.set(m.req, ctrl);
    try {
      // A Blob body: Chromium sends one several times faster than the
      // same bytes as an ArrayBuffer (docs/BENCHMARKS.md).
      const body = new Blob([new Uint8Array(m.body, m.offset, m.length)]);
      const resp = await fetch(m.url, { method: m.method, headers: m.headers, body, signal: ctrl.signal, credentials: "same-origin", cache: "no-store" });
      const answer = await resp.arrayBuffer();
      port.postMessage({ type: "fetched", req: m.req, status: resp.status, body: answer }, [answer]);
    } catch (err) {
      if (ctrl.signal.aborted) port.postMessage({ type: "fetched", req: m.req, aborted: true });
      else port.postMessage({ type: "fetched", req: m.req, error: String((err && err.message) || err) });
    } finally {
      running.delete(m.req);
    }
  };
  worker.postMessage({ type: "proxy", port: ch.port2 }, [ch.port2]);
};
