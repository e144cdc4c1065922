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
