/* The sampling station: a table's scanning page that keeps working with no network.

   Every scan becomes an event with an id made here (crypto.randomUUID) and is written to
   IndexedDB before the sampler is told it is taken; a sender posts the pending events in order,
   in batches, to the table's sync endpoint and marks each one stored or refused from the answer.
   When the server does not answer it retries with a growing delay (at most 15 s), so scans made
   offline arrive once the server is back; a resend never duplicates a record (the server knows
   the ids). The page itself, its script and style and the table's roster are kept by a service
   worker (station-sw.js), so a reload with no network still opens the page.

   What the page shows is derived from the events on this device (the physical truth: what was
   scanned into which tube); what the server refused is listed under 需处理.
   Plain script, no framework, no inline code (CSP): settings and sentences come from the JSON
   element #station-config. */
(function () {
  "use strict";

  var configNode = document.getElementById("station-config");
  var root = document.getElementById("station");
  if (!configNode || !root) { return; }
  var C = JSON.parse(configNode.textContent);
  var S = C.strings;
  var TABLE = C.table;
  var DB_NAME = "tongxin-station";
  var KEEP_DONE_MS = 2 * 24 * 3600 * 1000;   // stored events are kept two days, without numbers
  var CLOSE_CODES = ["CLOSE", "封管", "#CLOSE#"];
  var MAX_CODE = 40;
  var MAX_BACKOFF = 15000;

  function $(id) { return document.getElementById(id); }
  function fmt(text, params) {
    return String(text).replace(/%\((\w+)\)s/g, function (_m, key) {
      return params && params[key] !== undefined && params[key] !== null ? String(params[key]) : "";
    });
  }
  function uuid4() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function hhmmss(date) {
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return two(date.getHours()) + ":" + two(date.getMinutes()) + ":" + two(date.getSeconds());
  }

  /* ---------------------------------------------------------------- IndexedDB */

  var db = null;
  function openDb() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        var d = request.result;
        var events = d.createObjectStore("events", { keyPath: "seq", autoIncrement: true });
        events.createIndex("id", "id", { unique: true });
        events.createIndex("table", "table");
        d.createObjectStore("meta", { keyPath: "key" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }
  function tx(stores, mode, work) {
    return new Promise(function (resolve, reject) {
      var t = db.transaction(stores, mode, mode === "readwrite" ? { durability: "strict" } : undefined);
      var out = work(t);
      t.oncomplete = function () { resolve(out); };
      t.onerror = function () { reject(t.error); };
      t.onabort = function () { reject(t.error); };
    });
  }
  function loadEvents() {
    return new Promise(function (resolve, reject) {
      var found = [];
      var request = db.transaction("events").objectStore("events").index("table").openCursor(IDBKeyRange.only(TABLE));
      request.onsuccess = function () {
        var cursor = request.result;
        if (cursor) { found.push(cursor.value); cursor.continue(); } else {
          found.sort(function (a, b) { return a.seq - b.seq; });
          resolve(found);
        }
      };
      request.onerror = function () { reject(request.error); };
    });
  }
  function saveEvents(list) {
    return tx(["events"], "readwrite", function (t) {
      var store = t.objectStore("events");
      list.forEach(function (e) { store.put(e); });
    });
  }
  function addEvent(event) {
    return tx(["events"], "readwrite", function (t) {
      var request = t.objectStore("events").add(event);
      request.onsuccess = function () { event.seq = request.result; };
    });
  }
  function getMeta(key) {
    return new Promise(function (resolve) {
      var request = db.transaction("meta").objectStore("meta").get(key);
      request.onsuccess = function () { resolve(request.result ? request.result.value : null); };
      request.onerror = function () { resolve(null); };
    });
  }
  function setMeta(key, value) {
    return tx(["meta"], "readwrite", function (t) { t.objectStore("meta").put({ key: key, value: value }); });
  }
  function forgetOld(list) {
    var cutoff = Date.now() - KEEP_DONE_MS;
    var old = list.filter(function (e) { return (e.state === "stored" || e.state === "dismissed") && e.made < cutoff; });
    if (!old.length) { return Promise.resolve(list); }
    var gone = {};
    old.forEach(function (e) { gone[e.seq] = true; });
    return tx(["events"], "readwrite", function (t) {
      var store = t.objectStore("events");
      old.forEach(function (e) { store.delete(e.seq); });
    }).then(function () { return list.filter(function (e) { return !gone[e.seq]; }); });
  }

  /* ---------------------------------------------------------------- roster */

  var roster = { people: [], byId: {}, units: {}, loaded: false };
  function useRoster(data) {
    var col = {};
    data.columns.forEach(function (name, i) { col[name] = i; });
    roster.units = data.units || {};
    roster.people = data.people.map(function (row) {
      var unit = roster.units[String(row[col.unit])] || ["", "", ""];
      var room = String(row[col.room]);
      return {
        id: row[col.id], name: row[col.name], room: room, place: unit[0] + room,
        short: unit[1] + "-" + unit[2] + "-" + room, age: row[col.age_band], sampledAt: row[col.sampled_at] || ""
      };
    });
    roster.byId = {};
    roster.people.forEach(function (p) { roster.byId[p.id] = p; });
    roster.loaded = true;
  }
  function loadRoster() {
    var refused = false;
    return fetch(C.roster_url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } }).then(function (response) {
      if (response.status >= 400 && response.status < 500) {
        // Logged out, or no longer this table's: the compound's name list does not stay here.
        refused = true;
        if (window.caches) { caches.open(C.cache).then(function (cache) { return cache.delete(C.roster_url); }).catch(function () { return null; }); }
        throw new Error("HTTP " + response.status);
      }
      if (!response.ok || response.redirected) { throw new Error("HTTP " + response.status); }
      if (window.caches) {
        var copy = response.clone();
        caches.open(C.cache).then(function (cache) { return cache.put(C.roster_url, copy); }).catch(function () { return null; });
      }
      return response.json().then(useRoster);
    }).catch(function () {
      if (!window.caches || refused) { return; }
      return caches.open(C.cache).then(function (cache) {
        return cache.match(C.roster_url, { ignoreVary: true });
      }).then(function (response) {
        return response ? response.json().then(useRoster) : null;
      }).catch(function () { return null; });
    }).then(render);
  }
  function search(query) {
    var q = query.trim();
    if (!q || !roster.loaded) { return []; }
    var room = /^[\d-]+$/.test(q);   // "101" or "3-2-301"
    return roster.people.filter(function (p) {
      if (room) { return p.room === q || p.short === q || (q.indexOf("-") > 0 && p.short.indexOf(q + "-") === 0); }
      return p.name.indexOf(q) >= 0;
    }).slice(0, 30);
  }
  function ageText(age) {
    if (age === null || age === undefined) { return ""; }
    return age === 0 ? S.age_child : fmt(S.age_band, { n: age });
  }

  /* ---------------------------------------------------------------- local state */

  var events = [];
  var state = null;
  var mode = "tube";           // tube | person | bag
  var bagDeclined = false;
  var armedClose = 0;
  var clockOffset = 0;

  function personKey(event) {
    var p = event.person || {};
    if (event.resident) { return "r:" + event.resident; }
    if (p.resident) { return "r:" + p.resident; }
    if (p.document) { return "d:" + p.document; }
    if (p.code) { return "c:" + p.code; }
    return "";
  }
  function derive() {
    var tubes = {}, order = [], keys = {}, bags = {}, current = null;
    var pending = 0, refused = [];
    events.forEach(function (e) {
      if (e.state === "pending") { pending += 1; }
      if (e.state === "refused") { refused.push(e); }
      if (e.type === "tube_open") {
        if (!tubes[e.tube]) { order.push(e.tube); }
        tubes[e.tube] = tubes[e.tube] || { code: e.tube, size: e.pool_size, people: [], closed: null, bag: null };
        current = e.tube;
      } else if (e.type === "sample") {
        if (tubes[e.tube]) { tubes[e.tube].people.push(e); }
        // A sample the server refused for its tube (closed, unknown...) may be taken again in
        // another tube; one refused as a duplicate may not.
        var retry = e.refusal && e.refusal.code !== "duplicate";
        var key = personKey(e);
        if (key && !retry) { keys[key] = e; }
      } else if (e.type === "tube_close") {
        if (tubes[e.tube]) { tubes[e.tube].closed = e; }
        if (current === e.tube) { current = null; }
      } else if (e.type === "bag_seal") {
        bags[e.bag] = e;
        (e.tubes || []).forEach(function (code) { if (tubes[code]) { tubes[code].bag = e.bag; } });
      }
    });
    var unbagged = order.filter(function (code) {
      var t = tubes[code];
      return t.closed && !t.bag && t.people.length;
    });
    var people = 0;
    order.forEach(function (code) { people += tubes[code].people.length; });
    state = {
      tubes: tubes, order: order, keys: keys, bags: bags, current: current ? tubes[current] : null,
      unbagged: unbagged, pending: pending, refused: refused, people: people
    };
    if (state.current) {
      mode = "person";
    } else if (unbagged.length >= C.bag_size || (mode === "bag" && unbagged.length && !bagDeclined)) {
      mode = "bag";          // a full bag must be sealed before the next tube
    } else {
      mode = "tube";
    }
    return state;
  }
  function poolSizeOf(code) {
    var parts = String(C.pool_prefixes || "").split(",");
    for (var i = 0; i < parts.length; i += 1) {
      var pair = parts[i].trim().split(":");
      if (pair.length === 2 && pair[0] && /^\d+$/.test(pair[1]) && code.toUpperCase().indexOf(pair[0].trim().toUpperCase()) === 0) {
        return parseInt(pair[1], 10);
      }
    }
    return C.pool_size;
  }
  function describe(event) {
    var p = event.person || {};
    var id = event.resident || p.resident;
    var person = id ? roster.byId[id] : null;
    if (person) { return { name: person.name, place: person.place }; }
    if (event.label) { return { name: event.label, place: "" }; }
    if (p.document) { return { name: fmt(S.document, { tail: p.document.slice(-4) }), place: "" }; }
    return { name: S.pass_code, place: "" };
  }

  /* ---------------------------------------------------------------- scanning */

  function nowIso() { return new Date(Date.now() + clockOffset).toISOString(); }
  var work = Promise.resolve();
  function later(fn) { work = work.then(fn).catch(function (error) { flash(String(error), "error"); }); return work; }

  function record(fields) {
    var event = { id: uuid4(), table: TABLE, at: nowIso(), made: Date.now(), state: "pending" };
    Object.keys(fields).forEach(function (k) { event[k] = fields[k]; });
    return addEvent(event).then(function () {
      events.push(event);
      derive();
      render();
      announce();
      kick();
      return event;
    });
  }

  function flash(text, kind) {
    var node = $("message");
    node.textContent = text;
    node.dataset.kind = kind || "info";
    if (kind === "error" && navigator.vibrate) { navigator.vibrate([80, 60, 80]); }
  }

  function openTube(raw) {
    var code = raw.toUpperCase();
    if (/^\d{17}[\dX]$/.test(code) || /^\d{15}$/.test(code)) { return flash(S.not_a_tube, "error"); }
    if (code.length > MAX_CODE) { return flash(fmt(S.code_too_long, { n: MAX_CODE }), "error"); }
    if (state.tubes[code] || state.bags[code]) { return flash(fmt(S.tube_used, { code: code }), "error"); }
    var size = poolSizeOf(code);
    return record({ type: "tube_open", tube: code, pool_size: size }).then(function () {
      flash(fmt(S.tube_opened, { code: code, size: size }), "ok");
    });
  }

  function refuseDuplicate(person, key) {
    var tube = state.current;
    var earlier = state.keys[key] || (person ? state.keys["r:" + person.id] : null);
    var name = person ? person.name : describe({ person: keyPerson(key) }).name;
    if (earlier) {
      var earlierTube = state.tubes[earlier.tube];
      // A single tube may be a retest of someone pooled earlier: the server decides.
      if (!(tube.size === 1 && earlierTube && earlierTube.size > 1)) {
        flash(fmt(S.already_here, { name: name }), "error");
        return true;
      }
    }
    if (person && person.sampledAt && tube.size > 1) {
      flash(person.sampledAt === C.label ? fmt(S.already_here, { name: name }) : fmt(S.already_elsewhere, { name: name, table: person.sampledAt }), "error");
      return true;
    }
    return false;
  }
  function keyPerson(key) {
    var kind = key.slice(0, 2), value = key.slice(2);
    if (kind === "d:") { return { document: value }; }
    if (kind === "c:") { return { code: value }; }
    return { resident: parseInt(value, 10) };
  }

  function samplePerson(personField, person) {
    var tube = state.current;
    if (tube.people.length >= tube.size) { return flash(S.tube_full_close, "error"); }
    var key = personKey({ person: personField });
    if (refuseDuplicate(person, key)) { return; }
    var fields = { type: "sample", tube: tube.code, person: personField };
    return record(fields).then(function (event) {
      var shown = describe(event);
      var full = state.current && state.current.people.length >= state.current.size;
      flash(fmt(S.sampled, { name: shown.name, room: shown.place }) + (full ? " · " + S.tube_full_close : ""), full ? "full" : "ok");
      clearMatches();
    });
  }

  function requestClose(source) {
    var tube = state.current;
    if (!tube) { return; }
    var n = tube.people.length;
    var full = n >= tube.size;
    var armed = armedClose && Date.now() - armedClose < 5000;
    if (!full && !armed && (n === 0 || source === "enter")) {
      armedClose = Date.now();
      return flash(n === 0 ? S.tube_empty : fmt(S.confirm_close, { n: n, size: tube.size }), "warn");
    }
    armedClose = 0;
    return record({ type: "tube_close", tube: tube.code }).then(function () {
      flash(fmt(S.tube_closed, { code: tube.code, n: n }), "ok");
      bagDeclined = false;
      derive();
      render();
    });
  }

  function sealBag(raw) {
    var code = raw.toUpperCase();
    if (!code) { return; }
    if (code.length > MAX_CODE) { return flash(fmt(S.code_too_long, { n: MAX_CODE }), "error"); }
    if (/^\d{17}[\dX]$/.test(code)) { return flash(S.not_a_tube, "error"); }
    if (state.tubes[code] || state.bags[code]) { return flash(fmt(S.bag_code_used, { code: code }), "error"); }
    var tubes = state.unbagged.slice(0, C.bag_size);
    if (!tubes.length) { return flash(S.bag_none, "error"); }
    return record({ type: "bag_seal", bag: code, tubes: tubes }).then(function () {
      bagDeclined = false;
      mode = "tube";
      flash(fmt(S.bag_sealed, { code: code, n: tubes.length }), "ok");
      derive();
      render();
    });
  }

  function looksLikeTube(value) {
    return /^[A-Za-z]{1,3}\d{5,}$/.test(value) || /^\d{6,14}$/.test(value) && value.length !== 15;
  }

  function handle(raw) {
    var value = String(raw || "").trim();
    if (mode === "bag") { return sealBag(value); }
    if (!state.current) {
      if (!value) { return; }
      return openTube(value);
    }
    if (!value || CLOSE_CODES.indexOf(value.toUpperCase()) >= 0) {
      return requestClose(value ? "code" : "enter");
    }
    armedClose = 0;
    var tube = state.current;
    if (tube.people.length >= tube.size) { return flash(S.tube_full_close, "error"); }
    var upper = value.toUpperCase();
    if (/^\d{17}[\dX]$/.test(upper) || /^\d{15}$/.test(upper)) {
      return samplePerson({ document: upper }, null);
    }
    var found = search(value);
    if (found.length === 1) { return samplePerson({ resident: found[0].id }, found[0]); }
    if (found.length > 1) { showMatches(found); return flash(fmt(S.many_matches, { n: found.length }), "info"); }
    if (looksLikeTube(value)) { return flash(S.tube_not_closed, "error"); }
    if (value.length >= 12 || /[:/=.{}#?&]/.test(value)) { return samplePerson({ code: value }, null); }
    if (!roster.loaded) { return flash(S.roster_missing, "error"); }
    return flash(fmt(S.no_match, { q: value }), "error");
  }

  function clearMatches() { $("matches").replaceChildren(); }
  function showMatches(found) {
    var list = $("matches");
    list.replaceChildren();
    found.forEach(function (person) {
      var item = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      var here = state.keys["r:" + person.id];
      var sampledAt = here ? C.label : person.sampledAt;
      button.className = "match" + (sampledAt ? " sampled" : "");
      button.dataset.resident = String(person.id);
      var name = document.createElement("strong");
      name.textContent = person.name;
      var place = document.createElement("span");
      place.textContent = [person.place, ageText(person.age)].filter(Boolean).join(" · ");
      button.append(name, place);
      if (sampledAt) {
        var tag = document.createElement("span");
        tag.className = "tag";
        tag.textContent = fmt(S.sampled_at, { table: sampledAt });
        button.append(tag);
      }
      item.append(button);
      list.append(item);
    });
  }

  /* ---------------------------------------------------------------- sending */

  var sending = false, failures = 0, nextTry = 0, serverUp = null, authProblem = "", serverTrouble = false;
  var lastSync = null, batchSize = C.batch;

  function csrfToken() {
    var name = C.csrf_cookie + "=";
    var parts = document.cookie ? document.cookie.split(";") : [];
    for (var i = 0; i < parts.length; i += 1) {
      var part = parts[i].trim();
      if (part.indexOf(name) === 0) { return decodeURIComponent(part.slice(name.length)); }
    }
    return C.csrf_token;
  }
  function fetchJson(url, options) {
    options = options || {};
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller ? setTimeout(function () { controller.abort(); }, options.timeout || 20000) : null;
    var init = {
      method: options.method || "GET", credentials: "same-origin", cache: "no-store",
      headers: { Accept: "application/json" }, signal: controller ? controller.signal : undefined
    };
    if (options.body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.headers["X-CSRFToken"] = csrfToken();
      init.body = JSON.stringify(options.body);
    }
    return fetch(url, init).then(function (response) {
      if (timer) { clearTimeout(timer); }
      if (!response.ok) {
        return response.text().then(function (text) {
          var error = new Error("HTTP " + response.status);
          error.status = response.status;
          try { error.detail = JSON.parse(text).detail; } catch (_e) { error.detail = ""; }
          throw error;
        });
      }
      return response.json();
    }, function (error) {
      if (timer) { clearTimeout(timer); }
      throw error;
    });
  }
  function wire(e) {
    var out = { id: e.id, type: e.type, at: e.at };
    if (e.tube) { out.tube = e.tube; }
    if (e.type === "tube_open") { out.pool_size = e.pool_size; }
    if (e.type === "sample") { out.person = e.person; }
    if (e.type === "bag_seal") { out.bag = e.bag; out.tubes = e.tubes; }
    return out;
  }
  function scrub(e) {
    // Once the server holds a scan, the device keeps no ID number or pass payload.
    if (e.type === "sample" && e.person && (e.person.document || e.person.code)) {
      var shown = describe(e);
      e.label = shown.name;
      e.person = { scrubbed: true };
    }
  }

  function kick() {
    if (serverUp === false && Date.now() < nextTry) { return; }
    send();
  }
  function send() {
    if (sending || !db) { return Promise.resolve(); }
    var batch = events.filter(function (e) { return e.state === "pending"; }).slice(0, batchSize);
    if (!batch.length) { return Promise.resolve(); }
    sending = true;
    render();
    var started = Date.now();
    return fetchJson(C.sync_url, { method: "POST", body: { events: batch.map(wire) }, timeout: 30000 })
      .then(function (answer) {
        var received = Date.now();
        var offset = new Date(answer.server_time).getTime() - (started + received) / 2;
        var corrected = Math.abs(offset) > 60000 ? offset : 0;   // a device clock more than a minute off
        if (corrected !== clockOffset) { clockOffset = corrected; setMeta("clock_offset", corrected); }
        var stored = {}, refused = {};
        answer.stored.forEach(function (id) { stored[id] = true; });
        answer.refused.forEach(function (r) { refused[r.id] = r; });
        var changed = [];
        batch.forEach(function (e) {
          if (stored[e.id]) { e.state = "stored"; scrubLater(e); changed.push(e); } else if (refused[e.id]) {
            e.state = "refused";
            e.refusal = { code: refused[e.id].code, message: refused[e.id].message };
            changed.push(e);
          }
        });
        failures = 0; serverUp = true; authProblem = ""; serverTrouble = false; lastSync = new Date();
        batchSize = C.batch;
        return saveEvents(changed).then(function () {
          setMeta("last_sync_" + TABLE, lastSync.toISOString());
          broadcast();
          return changed.length;
        });
      })
      .then(function (progress) {
        sending = false;
        derive();
        render();
        resolveNames();
        if (progress && events.some(function (e) { return e.state === "pending"; })) { return send(); }
      }, function (error) {
        sending = false;
        return failed(error, batch);
      });
  }
  function failed(error, batch) {
    var status = error && error.status;
    if (status === 400 || status === 413 || status === 422) {
      // The server cannot read this batch: halve it until the one event it cannot read is found,
      // which is then listed as refused instead of blocking the queue.
      if (batch.length > 1) { batchSize = Math.max(1, Math.floor(batch.length / 2)); return send(); }
      batch[0].state = "refused";
      batch[0].refusal = { code: "bad_event", message: S.upload_refused + (error.detail ? "：" + (typeof error.detail === "string" ? error.detail : JSON.stringify(error.detail)) : "") };
      batchSize = C.batch;
      return saveEvents(batch).then(function () { derive(); render(); return send(); });
    }
    serverTrouble = false;
    if (status === 401 || status === 403 || status === 404) {
      // Logged out, or the CSRF cookie changed: nothing is lost, the queue waits for a login.
      authProblem = status === 404 || (status === 403 && error.detail && String(error.detail).indexOf("CSRF") < 0)
        ? String(error.detail || S.login_needed) : S.login_needed;
      serverUp = true;
      failures = Math.max(failures, 4);
    } else if (status >= 500) {
      serverUp = true;
      serverTrouble = true;
    } else {
      serverUp = false;
    }
    failures += 1;
    var delay = Math.min(MAX_BACKOFF, 1000 * Math.pow(2, failures - 1));
    nextTry = Date.now() + delay * (0.8 + Math.random() * 0.4);
    render();
  }
  var scrubQueue = [];
  function scrubLater(e) { if (e.type === "sample" && e.person && !e.person.resident) { scrubQueue.push(e); } else { scrub(e); } }
  function resolveNames() {
    // The names behind the ID cards and passes just stored, from the table's own samples.
    var waiting = scrubQueue.splice(0);
    if (!waiting.length) { return; }
    var since = waiting.reduce(function (min, e) { return e.at < min ? e.at : min; }, waiting[0].at);
    var url = C.samples_url + "?since=" + encodeURIComponent(new Date(new Date(since).getTime() - 1000).toISOString());
    fetchJson(url, { timeout: 20000 }).then(function (answer) {
      var byScan = {};
      answer.samples.forEach(function (row) { byScan[row[0]] = row[1]; });
      waiting.forEach(function (e) { if (byScan[e.id]) { e.resident = byScan[e.id]; } scrub(e); });
    }, function () {
      waiting.forEach(scrub);
    }).then(function () { return saveEvents(waiting); }).then(function () { derive(); render(); });
  }

  function ping() {
    return fetch(C.health_url, { cache: "no-store", credentials: "same-origin" }).then(function (r) {
      serverUp = r.ok;
    }, function () { serverUp = false; }).then(render);
  }
  var lastPing = 0;
  function tick() {
    var pending = state && state.pending;
    if (pending && !sending && Date.now() >= nextTry) { send(); } else if (!pending && Date.now() - lastPing > 15000) {
      lastPing = Date.now();
      ping();
    }
  }

  /* ---------------------------------------------------------------- other tabs */

  var channel = window.BroadcastChannel ? new BroadcastChannel("tongxin-station-" + TABLE) : null;
  function broadcast() { if (channel) { channel.postMessage("changed"); } }
  if (channel) {
    channel.onmessage = function () {
      loadEvents().then(function (list) { events = list; derive(); render(); });
    };
  }
  function announce() { broadcast(); }

  /* ---------------------------------------------------------------- rendering */

  function render() {
    if (!state) { return; }
    root.dataset.mode = mode;
    var online = serverUp !== false && navigator.onLine !== false;
    var net = $("net");
    net.dataset.online = sending ? "sending" : online ? "yes" : "no";
    net.textContent = authProblem || (sending ? S.sending : online ? (serverTrouble ? S.server_error : S.online) : S.offline);
    net.classList.toggle("trouble", Boolean(authProblem || serverTrouble));
    var pending = $("pending");
    pending.dataset.count = String(state.pending);
    pending.textContent = fmt(S.pending, { n: state.pending });
    $("last-sync").textContent = lastSync ? fmt(S.last_sync, { time: hhmmss(lastSync) }) : S.never_synced;
    var handleCount = $("handle-count");
    handleCount.dataset.count = String(state.refused.length);
    handleCount.textContent = fmt(S.to_handle, { n: state.refused.length });
    handleCount.hidden = state.refused.length === 0;
    $("send-now").hidden = state.pending === 0;

    var tube = state.current;
    var card = $("tube");
    card.dataset.code = tube ? tube.code : "";
    card.dataset.count = String(tube ? tube.people.length : 0);
    card.dataset.size = String(tube ? tube.size : 0);
    card.dataset.full = tube && tube.people.length >= tube.size ? "1" : "0";
    $("tube-code").textContent = tube ? tube.code : "—";
    $("tube-count").textContent = tube ? tube.people.length + "/" + tube.size : "0/" + C.pool_size;
    $("prompt").textContent = mode === "bag"
      ? (state.unbagged.length >= C.bag_size ? fmt(S.bag_full, { n: C.bag_size }) : fmt(S.scan_bag, { n: state.unbagged.length }))
      : tube ? (card.dataset.full === "1" ? S.tube_full_close : S.scan_person) : S.scan_tube;
    $("close-tube").disabled = !tube;
    $("seal-bag").disabled = !state.unbagged.length || Boolean(tube) || mode === "bag";
    $("unbagged-count").textContent = "(" + state.unbagged.length + ")";
    $("cancel-bag").hidden = !(mode === "bag" && state.unbagged.length < C.bag_size);

    var people = $("tube-people");
    people.replaceChildren();
    if (tube) {
      tube.people.slice().reverse().forEach(function (e) { people.append(personItem(e)); });
    }
    var refusedList = $("refused");
    refusedList.replaceChildren();
    state.refused.slice().reverse().forEach(function (e) { refusedList.append(refusedItem(e)); });
    $("refused-empty").hidden = state.refused.length > 0;
    var unbagged = $("unbagged");
    unbagged.replaceChildren();
    state.unbagged.forEach(function (code) {
      var li = document.createElement("li");
      li.className = "mono";
      li.textContent = code + " · " + state.tubes[code].people.length + "/" + state.tubes[code].size;
      unbagged.append(li);
    });
    $("total-tubes").textContent = String(state.order.length);
    $("total-people").textContent = String(state.people);
    $("total-bags").textContent = String(Object.keys(state.bags).length);
    $("roster-state").textContent = roster.loaded ? fmt(S.roster_loaded, { n: roster.people.length }) : S.roster_missing;
  }
  function personItem(e) {
    var li = document.createElement("li");
    li.className = "person-row state-" + e.state;
    li.dataset.id = e.id;
    li.dataset.state = e.state;
    var shown = describe(e);
    var name = document.createElement("strong");
    name.textContent = shown.name;
    var place = document.createElement("span");
    place.textContent = shown.place;
    var badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = S["state_" + e.state] || "";
    li.append(name, place, badge);
    return li;
  }
  function refusedItem(e) {
    var li = document.createElement("li");
    li.className = "refused-row";
    li.dataset.id = e.id;
    li.dataset.code = e.refusal ? e.refusal.code : "";
    var what = document.createElement("div");
    var when = new Date(e.at);
    var shown = e.type === "sample" ? describe(e) : { name: e.type === "bag_seal" ? e.bag : e.tube, place: "" };
    what.className = "what";
    what.textContent = hhmmss(when) + " · " + [shown.name, shown.place, e.type === "sample" ? e.tube : ""].filter(Boolean).join(" · ");
    var why = document.createElement("div");
    why.className = "why";
    why.textContent = e.refusal ? e.refusal.message : "";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "dismiss";
    button.dataset.id = e.id;
    button.textContent = S.dismiss;
    li.append(what, why, button);
    return li;
  }

  /* ---------------------------------------------------------------- offline page */

  function remember(url) {
    // Keep this page's own copy for the service worker (it may not control the page yet).
    if (!window.caches) { return Promise.resolve(); }
    return fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
      if (!response.ok || response.redirected) { return; }
      return caches.open(C.cache).then(function (cache) { return cache.put(url, response); });
    }).catch(function () { return null; });
  }
  function keepOffline() {
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register(C.sw_url, { scope: C.sw_scope }).catch(function () { return null; });
    }
    if (!window.caches || navigator.onLine === false) { return; }
    if (navigator.serviceWorker && navigator.serviceWorker.controller) { return; }  // the worker keeps what it serves
    var assets = [location.pathname];
    document.querySelectorAll("link[rel=stylesheet], script[src], link[rel=icon]").forEach(function (node) {
      var url = new URL(node.href || node.src, location.href);
      if (url.origin === location.origin) { assets.push(url.pathname); }
    });
    assets.forEach(remember);
  }

  /* ---------------------------------------------------------------- wiring */

  function bind() {
    var input = $("scan");
    $("scan-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var value = input.value;
      input.value = "";
      later(function () { return handle(value); });
      input.focus();
    });
    var searchTimer = null;
    input.addEventListener("input", function () {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(function () {
        var value = input.value.trim();
        if (mode !== "person" || !value || /^\d{15,}/.test(value) || value.length >= 12) { clearMatches(); return; }
        var found = search(value);
        if (found.length) { showMatches(found); } else { clearMatches(); }
      }, 150);
    });
    $("matches").addEventListener("click", function (event) {
      var button = event.target.closest("button[data-resident]");
      if (!button || !state.current) { return; }
      var person = roster.byId[button.dataset.resident];
      input.value = "";
      later(function () { return samplePerson({ resident: person.id }, person); });
      input.focus();
    });
    $("close-tube").addEventListener("click", function () {
      later(function () { return requestClose("button"); });
      input.focus();
    });
    $("seal-bag").addEventListener("click", function () {
      bagDeclined = false;
      mode = "bag";
      render();
      input.focus();
    });
    $("cancel-bag").addEventListener("click", function () {
      bagDeclined = true;
      derive();
      render();
      input.focus();
    });
    $("send-now").addEventListener("click", function () { failures = 0; nextTry = 0; send(); });
    $("refused").addEventListener("click", function (event) {
      var button = event.target.closest("button.dismiss");
      if (!button) { return; }
      var target = events.filter(function (e) { return e.id === button.dataset.id; })[0];
      if (!target) { return; }
      target.state = "dismissed";
      scrub(target);
      later(function () { return saveEvents([target]).then(function () { broadcast(); derive(); render(); }); });
      input.focus();
    });
    window.addEventListener("online", function () { failures = 0; nextTry = 0; send(); render(); });
    window.addEventListener("offline", function () { serverUp = false; render(); });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") { nextTry = 0; tick(); }
    });
    setInterval(tick, 1000);
  }

  openDb().then(function (opened) {
    db = opened;
    return Promise.all([loadEvents().then(forgetOld), getMeta("clock_offset"), getMeta("last_sync_" + TABLE)]);
  }).then(function (loaded) {
    events = loaded[0];
    clockOffset = loaded[1] || 0;
    lastSync = loaded[2] ? new Date(loaded[2]) : null;
    derive();
    bind();
    render();
    root.dataset.ready = "1";
    $("scan").focus();
    keepOffline();
    loadRoster();
    setInterval(function () { if (serverUp !== false) { loadRoster(); } }, 10 * 60 * 1000);
    if (state.pending) { send(); } else { lastPing = Date.now(); ping(); }
  }).catch(function (error) {
    flash(String(error), "error");
  });
})();
