/* Loaded by the login page: whoever sees it is logged out, so a gate device forgets what it kept of
   the compound's people (static/access/gate.js): the snapshot (every resident's name, room and
   health status) is deleted, and the events the server already holds keep only what the day's
   totals count (no name, room, pass or visitor's details). Events not yet sent, or refused and
   waiting for a volunteer, stay as they are: they are the only record of those checks. The gate
   pages the service worker kept are dropped too. Without this a device logged out and put away
   kept the name list until someone opened the gate page again (and forever over plain HTTP,
   where no service worker runs). */
(function () {
  "use strict";

  var KEPT = ["seq", "id", "gate", "type", "at", "made", "state", "direction", "kind", "allowed", "reason", "text",
    "emergency", "decided", "acked_at", "late_minutes"];

  function forgetDevice() {
    if (!window.indexedDB) { return; }
    var request;
    try { request = indexedDB.open("tongxin-gate"); } catch (_e) { return; }
    request.onupgradeneeded = function () { request.transaction.abort(); };   // no gate page ran here
    request.onerror = function (event) { if (event && event.preventDefault) { event.preventDefault(); } };
    request.onsuccess = function () {
      var db = request.result;
      var stores = ["snapshots", "events"].filter(function (name) { return db.objectStoreNames.contains(name); });
      if (!stores.length) { db.close(); return; }
      var t = db.transaction(stores, "readwrite");
      t.oncomplete = t.onerror = t.onabort = function () { db.close(); };
      if (stores.indexOf("snapshots") >= 0) { t.objectStore("snapshots").clear(); }
      if (stores.indexOf("events") < 0) { return; }
      t.objectStore("events").openCursor().onsuccess = function (event) {
        var cursor = event.target.result;
        if (!cursor) { return; }
        var e = cursor.value;
        if (e.state === "stored" || e.state === "dismissed") {
          var bare = {};
          KEPT.forEach(function (key) { if (key in e) { bare[key] = e[key]; } });
          cursor.update(bare);
        }
        cursor.continue();
      };
    };
  }

  function forgetPages() {
    if (!window.caches) { return; }
    var page = /\/access\/gates\/\d+\/$/;
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) { return name.indexOf("tongxin-gate-") === 0; }).map(function (name) {
        return caches.open(name).then(function (cache) {
          return cache.keys().then(function (requests) {
            return Promise.all(requests.filter(function (r) { return page.test(new URL(r.url).pathname); })
              .map(function (r) { return cache.delete(r); }));
          });
        });
      }));
    }).catch(function () { return null; });
  }

  forgetDevice();
  forgetPages();
})();
