/* Loaded by the login page: whoever sees it is logged out, so a sampling station forgets what it
   kept of the compound's people (static/testing/station.js). The table's roster (names, rooms, ages)
   and the station page, kept in the Cache Storage by the page and its service worker, are
   deleted; the scans the server already holds (stored, or refused and dismissed) keep only what
   the page needs to rebuild its tubes, bags and totals and to refuse a second sample of the same
   person: no label (the person's name once the roster named them), no ID number or pass payload
   not yet scrubbed, no refusal sentence (which names the person). Scans not yet sent, or refused
   and waiting for the sampler, stay as they are: they are the only record of those samples.
   Without this a device logged out and put away kept the names in its stored scans until they
   were two days old, and the roster until someone opened the station page again. */
(function () {
  "use strict";

  var KEPT = ["seq", "id", "table", "type", "at", "made", "state", "tube", "pool_size", "bag", "tubes", "resident"];

  function bare(e) {
    var out = {};
    KEPT.forEach(function (key) { if (key in e) { out[key] = e[key]; } });
    if (e.type === "sample") {
      var p = e.person || {};
      out.person = p.resident ? { resident: p.resident } : { scrubbed: true };
      // Without a person's id the label is the short one the page made ("身份证 尾号1234", "出入证"),
      // never a name: the page cannot name such a scan otherwise.
      if (p.scrubbed && !e.resident && typeof e.label === "string") { out.label = e.label; }
    }
    if (e.refusal) { out.refusal = { code: e.refusal.code }; }   // a dismissed sample may be taken again unless a duplicate
    return out;
  }

  function forgetScans() {
    if (!window.indexedDB) { return; }
    var request;
    try { request = indexedDB.open("tongxin-station"); } catch (_e) { return; }
    request.onupgradeneeded = function () { request.transaction.abort(); };   // no station page ran here
    request.onerror = function (event) { if (event && event.preventDefault) { event.preventDefault(); } };
    request.onsuccess = function () {
      var db = request.result;
      if (!db.objectStoreNames.contains("events")) { db.close(); return; }
      var t = db.transaction("events", "readwrite");
      t.oncomplete = t.onerror = t.onabort = function () { db.close(); };
      t.objectStore("events").openCursor().onsuccess = function (event) {
        var cursor = event.target.result;
        if (!cursor) { return; }
        var e = cursor.value;
        if (e.state === "stored" || e.state === "dismissed") { cursor.update(bare(e)); }
        cursor.continue();
      };
    };
  }

  function forgetPages() {
    if (!window.caches) { return; }
    var page = /\/testing\/tables\/\d+\/station\/$/;
    var roster = /\/api\/v1\/testing\/tables\/\d+\/roster$/;
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) { return name.indexOf("tongxin-station-") === 0; }).map(function (name) {
        return caches.open(name).then(function (cache) {
          return cache.keys().then(function (requests) {
            return Promise.all(requests.filter(function (r) {
              var path = new URL(r.url).pathname;
              return page.test(path) || roster.test(path);
            }).map(function (r) { return cache.delete(r); }));
          });
        });
      }));
    }).catch(function () { return null; });
  }

  forgetScans();
  forgetPages();
})();
