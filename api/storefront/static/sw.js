// EcoVarejo storefront service worker. Static files (content-hashed, so kept as they are)
// are precached; catalog pages (home, search, product) are served network-first and the
// last 30 kept for offline browsing. Personal pages (cart, checkout, account, orders) and
// anything not a GET are never cached: they go to the network, or show the offline page.
var STATIC = "ev-static-v1";
var PAGES = "ev-pages-v1";
var PRECACHE = [/*PRECACHE*/];
var CATALOG = /^\/loja(\/?$|\/busca|\/produto\/|\/privacidade|\/trocas-e-devolucoes)/;
var MAX_PAGES = 30;

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(STATIC).then(function (cache) { return cache.addAll(PRECACHE); }));
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== STATIC && n !== PAGES; })
      .map(function (n) { return caches.delete(n); }));
  }));
  self.clients.claim();
});

function trim(cache) {
  return cache.keys().then(function (keys) {
    if (keys.length > MAX_PAGES) { return cache.delete(keys[0]).then(function () { return trim(cache); }); }
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) { return; }
  if (url.pathname.indexOf("/loja/static/") === 0) {
    event.respondWith(caches.match(request).then(function (hit) { return hit || fetch(request); }));
    return;
  }
  if (request.mode !== "navigate") { return; }
  if (CATALOG.test(url.pathname)) {
    event.respondWith(fetch(request).then(function (answer) {
      // Only what the server calls public is kept: a personal page says `private, no-store`
      // even if a path ever matched by mistake. waitUntil keeps the worker alive until the
      // copy is stored (else the browser may stop it first and the page is never kept).
      var cc = answer.headers.get("Cache-Control") || "";
      if (answer.ok && /(^|,)\s*public\b/.test(cc) && cc.indexOf("no-store") === -1) {
        var copy = answer.clone();
        event.waitUntil(caches.open(PAGES).then(function (cache) {
          return cache.put(request, copy).then(function () { return trim(cache); });
        }));
      }
      return answer;
    }).catch(function () {
      return caches.match(request).then(function (hit) { return hit || caches.match("/loja/offline"); });
    }));
    return;
  }
  event.respondWith(fetch(request).catch(function () { return caches.match("/loja/offline"); }));
});
