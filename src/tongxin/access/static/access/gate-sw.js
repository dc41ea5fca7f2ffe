/* The gate page's service worker, served from /access/gate-sw.js (scope /access/) by
   tongxin.access.views.gate, which fills in the cache name and the static URL.

   - The gate page (/access/gates/<id>/): the network first, the kept copy when the server does
     not answer within a few seconds, so a reload with no network still opens the page.
   - Static files (the page's script and style, the vendored Ed25519 fallback): the kept copy at
     once, refreshed in the background.
   - When the server answers the page with a redirect (to the login page) or a refusal, the kept
     pages and the gate snapshots in IndexedDB (the compound's names and rooms) are deleted: a
     logged-out device keeps no name list. The events waiting to be sent stay.
   - Everything else, and every POST (check, sync), goes to the network untouched: the events
     wait in the page's IndexedDB queue, never in this worker. */
"use strict";

var CACHE = "__CACHE__";
var STATIC = "__STATIC__";
var PAGE = /\/access\/gates\/\d+\/$/;
var NETWORK_WAIT = 5000;

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("tongxin-gate-") === 0 && name !== CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function kept(key) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(key, { ignoreVary: true, ignoreSearch: true });
  });
}

function forgetSnapshots() {
  return new Promise(function (resolve) {
    var request = indexedDB.open("tongxin-gate");
    request.onupgradeneeded = function () { request.transaction.abort(); };   // never made here
    request.onerror = function () { resolve(); };
    request.onsuccess = function () {
      var db = request.result;
      if (!db.objectStoreNames.contains("snapshots")) { db.close(); resolve(); return; }
      var t = db.transaction("snapshots", "readwrite");
      t.objectStore("snapshots").clear();
      t.oncomplete = t.onerror = t.onabort = function () { db.close(); resolve(); };
    };
  });
}

function forget() {
  var pages = caches.open(CACHE).then(function (cache) {
    return cache.keys().then(function (requests) {
      return Promise.all(requests.filter(function (request) {
        return PAGE.test(new URL(request.url).pathname);
      }).map(function (request) { return cache.delete(request); }));
    });
  }).catch(function () { return null; });
  return Promise.all([pages, forgetSnapshots()]);
}

function keep(event, key, response) {
  // The copy is taken now, before the page reads the body.
  if (!response || !response.ok || response.redirected || response.type !== "basic") { return response; }
  var copy = response.clone();
  var saved = caches.open(CACHE).then(function (cache) { return cache.put(key, copy); }).catch(function () { return null; });
  try { event.waitUntil(saved); } catch (_late) { /* the worker is kept alive by the fetch itself */ }
  return response;
}

function networkFirst(event, key) {
  var network = fetch(event.request).then(function (response) { return keep(event, key, response); });
  event.waitUntil(network.catch(function () { return null; }));
  var waited = new Promise(function (_resolve, reject) {
    setTimeout(function () { reject(new Error("timeout")); }, NETWORK_WAIT);
  });
  return Promise.race([network, waited]).then(function (response) {
    if (response.status < 500) {
      // The server answered: a redirect to the login page or a refusal is the answer. The user
      // is logged out (or lost the gate), so the kept pages and name lists go.
      if (response.type === "opaqueredirect" || response.redirected || response.status >= 400) {
        var forgotten = forget();
        try { event.waitUntil(forgotten); } catch (_late) { /* still runs */ }
      }
      return response;
    }
    return kept(key).then(function (copy) { return copy || response; });
  }, function () {
    return kept(key).then(function (copy) { return copy || network; });
  });
}

function keptFirst(event, key) {
  var network = fetch(event.request).then(function (response) { return keep(event, key, response); });
  return kept(key).then(function (copy) {
    if (copy) {
      event.waitUntil(network.catch(function () { return null; }));
      return copy;
    }
    return network;
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (PAGE.test(url.pathname)) {
    event.respondWith(networkFirst(event, url.pathname));
  } else if (url.pathname.indexOf(STATIC) === 0) {
    event.respondWith(keptFirst(event, url.pathname));
  }
});
