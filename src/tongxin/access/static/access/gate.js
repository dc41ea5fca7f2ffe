/* The gate page: a volunteer's phone at a compound's gate, which keeps deciding with no network.

   The page keeps the gate's snapshot (GET .../snapshot: the public key, the revoked passes, the
   live passes, the residents' statuses, the households' exits and open outings) in IndexedDB with
   the time it was made, and refreshes it every few minutes while the server answers. Pass codes
   are verified here with the public key: WebCrypto's Ed25519 where the browser has it, else the
   vendored noble-ed25519 (gate-ed25519.js, loaded only then).

   While the server answers, a check goes to POST .../check (it sees every gate of the compound
   and every change since the snapshot); when it does not answer within C.check_ms, or is down,
   the page decides itself with `decide` below (the steps of access/verdict.py, in the same
   order; a browser test runs both on the same cases) and queues the event. Every event has an id
   made here and is written to IndexedDB before the volunteer sees the answer; the queue goes in
   batches to POST .../sync, and a resend never stores one twice (the server knows the ids).
   Events the server has not yet seen are applied to the snapshot's household exits and open
   outings, so the quota and the over-time rule keep working offline.

   Plain script, no framework, no inline code (CSP): settings and sentences come from the JSON
   element #gate-config. `window.TongxinGate` holds the pure parts for the tests. */
(function () {
  "use strict";

  /* ---------------------------------------------------------------- the decision (pure) */

  function statusReason(color) {
    if (color === "red") { return "isolation"; }
    if (color === "yellow") { return "yellow"; }
    return "";
  }
  function verdictOf(allowed, reason, dueAt, lateMinutes) {
    return { allowed: allowed, reason: reason, due_at: dueAt === undefined ? null : dueAt, late_minutes: lateMinutes || 0 };
  }
  function given(value) { return value !== null && value !== undefined; }

  /* access.verdict.decide, step by step. Times are Unix seconds. `person`: {color,
     status_reason, overdue, sealed, household_out_over_time, household_exits, out_due_at}. */
  function decide(a) {
    if (a.emergency) { return verdictOf(true, "emergency"); }
    if (a.pass_state !== "ok" && a.pass_state !== "none") { return verdictOf(false, a.pass_state); }
    var person = a.person;
    if (!person) { return verdictOf(false, "unknown"); }
    if (a.direction === "in") {
      if (given(person.out_due_at) && a.now > person.out_due_at) {
        return verdictOf(true, "over_time", null, Math.floor((a.now - person.out_due_at) / 60));
      }
      return verdictOf(true, "ok");
    }
    var policy = a.policy;
    var reason = person.status_reason || statusReason(person.color);
    if (reason) { return verdictOf(false, reason); }
    if (policy.sealed_no_exit && person.sealed) { return verdictOf(false, "sealed"); }
    if (policy.exit_needs_test && person.overdue) { return verdictOf(false, "no_test"); }
    if (person.household_out_over_time) { return verdictOf(false, "over_time"); }
    if (given(policy.exits_per_household) && person.household_exits >= policy.exits_per_household) {
      return verdictOf(false, "quota");
    }
    return verdictOf(true, "ok", policy.exit_max_minutes ? a.now + policy.exit_max_minutes * 60 : null);
  }

  /* access.verdict.household_person: a household pass stands for the worst of the members
     living there (colour, then reason), overdue or sealed when any is. */
  var COLOR_RANK = { green: 0, yellow: 1, red: 2 };
  var STATUS_REASON_RANK = { "": 0, yellow: 1, isolation: 2, "case": 3 };
  function householdPerson(members, outDueAt) {
    if (!members.length) { return null; }
    function rank(p) { return [COLOR_RANK[p.color] || 0, STATUS_REASON_RANK[p.status_reason || statusReason(p.color)] || 0]; }
    var worst = members[0];
    members.forEach(function (p) {
      var a = rank(p), b = rank(worst);
      if (a[0] > b[0] || (a[0] === b[0] && a[1] > b[1])) { worst = p; }
    });
    return {
      color: worst.color,
      status_reason: worst.status_reason || statusReason(worst.color),
      overdue: members.some(function (p) { return p.overdue; }),
      sealed: members.some(function (p) { return p.sealed; }),
      household_out_over_time: members.some(function (p) { return p.household_out_over_time; }),
      household_exits: Math.max.apply(null, members.map(function (p) { return p.household_exits; })),
      out_due_at: given(outDueAt) ? outDueAt : null
    };
  }

  /* access.verdict.decide_visitor: in on a green health code only. */
  function decideVisitor(codeColor) {
    if (codeColor === "green") { return verdictOf(true, "ok"); }
    return verdictOf(false, codeColor === "red" ? "code_red" : "code_yellow");
  }

  /* A household's outings at `now` as the server reads them (actions.gates.household_outings)
     from the snapshot's {exits: [out...], out: [[resident|null, out, due|null]...]}: exits within
     the policy's period, whether someone is out past their time, the open outings. */
  function outingsAt(home, policy, now) {
    var since = now - policy.exit_period_days * 86400;
    var open = (home && home.out || []).filter(function (o) { return o[1] <= now; });
    return {
      exits: (home && home.exits || []).filter(function (at) { return at >= since && at <= now; }).length,
      over_time: open.some(function (o) { return given(o[2]) && o[2] < now; }),
      open: open
    };
  }
  /* When the person's latest open outing was due back (`resident` null: a household pass's). */
  function dueOf(outings, resident) {
    var latest = null;
    outings.open.forEach(function (o) {
      if (o[0] === resident && (!latest || o[1] > latest[1])) { latest = o; }
    });
    return latest ? latest[2] : null;
  }
  /* What the gate knows of a resident from the snapshot row [id, household, name, room, color,
     status_reason, color_until, last_sampled, sealed] and their household's outings. */
  function personFrom(row, outings, outDueAt, policy, now) {
    var current = !given(row[6]) || now < row[6];
    var last = row[7];
    return {
      color: current ? row[4] : "green",
      status_reason: current ? row[5] || "" : "",
      overdue: !given(last) || (last <= now && now - last > policy.test_validity_hours * 3600),
      sealed: Boolean(row[8]),
      household_out_over_time: outings.over_time,
      household_exits: outings.exits,
      out_due_at: given(outDueAt) ? outDueAt : null
    };
  }

  /* ---------------------------------------------------------------- pass codes (pure) */

  var PREFIX = "TX1";
  var MAX_CODE_LENGTH = 400;

  /* base64url as the server reads it (signing._unb64: urlsafe_b64decode after padding to a
     multiple of four, i.e. CPython's lenient a2b_base64): characters outside the alphabet are
     skipped, a complete pad ends the data, a last group of one character is an error, a short
     one without its pad too. Both alphabets are read. Throws on what the server refuses. */
  var B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  function unb64(text) {
    if (/[^\x00-\x7f]/.test(text)) { throw new Error("malformed"); }
    var s = text + "===".slice(0, (4 - text.length % 4) % 4);
    var out = [], quad = 0, pads = 0, left = 0, done = false;
    for (var i = 0; i < s.length && !done; i += 1) {
      var c = s.charAt(i);
      if (c === "=") {
        if (quad >= 2 && quad + (pads += 1) >= 4) { done = true; }
        continue;
      }
      var v = c === "-" ? 62 : c === "_" ? 63 : B64.indexOf(c);
      if (v < 0) { continue; }
      pads = 0;
      if (quad === 0) { left = v; quad = 1; } else if (quad === 1) {
        out.push((left << 2) | (v >> 4)); left = v & 0x0f; quad = 2;
      } else if (quad === 2) {
        out.push(((left << 4) | (v >> 2)) & 0xff); left = v & 0x03; quad = 3;
      } else { out.push(((left << 6) | v) & 0xff); quad = 0; }
    }
    if (!done && quad !== 0) { throw new Error("malformed"); }
    return Uint8Array.from(out);
  }
  function looksLikePass(code) { return typeof code === "string" && code.indexOf(PREFIX + ".") === 0; }

  /* access.signing.read_pass, then the gate's own checks: {state, claims}. `ctx`: {verify(sig,
     msg) -> Promise<bool>, compound, now, revoked: {number: true}}. */
  function readPass(code, ctx) {
    var malformed = { state: "malformed", claims: null };
    if (!looksLikePass(code) || code.length > MAX_CODE_LENGTH || code.split(".").length !== 3) {
      return Promise.resolve(malformed);
    }
    var parts = code.split(".");
    var payload, signature;
    try { payload = unb64(parts[1]); signature = unb64(parts[2]); } catch (_e) { return Promise.resolve(malformed); }
    return Promise.resolve().then(function () { return ctx.verify(signature, payload); }).then(function (genuine) {
      if (!genuine) { return { state: "forged", claims: null }; }
      var claims;
      try {
        var data = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
        claims = { number: String(data.n), compound: parseInt(data.c, 10), room: String(data.r), expires: parseInt(data.e, 10), key: String(data.k) };
        if (!given(data.n) || isNaN(claims.compound) || !given(data.r) || isNaN(claims.expires) || !given(data.k)) { return malformed; }
      } catch (_e) { return malformed; }
      if (claims.compound !== ctx.compound) { return { state: "other_compound", claims: claims }; }
      if (claims.expires <= ctx.now) { return { state: "expired", claims: claims }; }
      if (ctx.revoked[claims.number]) { return { state: "revoked", claims: claims }; }
      return { state: "ok", claims: claims };
    }, function () { return { state: "forged", claims: null }; });
  }

  /* A verifier for the raw 32-byte public key: WebCrypto's Ed25519 when the browser has it, else
     the vendored noble-ed25519 (imported from `fallbackUrl`). Resolves {verify, kind}. */
  function webcryptoVerifier(keyBytes) {
    if (!window.crypto || !crypto.subtle) { return Promise.reject(new Error("no WebCrypto")); }
    return crypto.subtle.importKey("raw", keyBytes, { name: "Ed25519" }, false, ["verify"]).then(function (key) {
      return {
        kind: "webcrypto",
        verify: function (signature, message) {
          return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message).catch(function () { return false; });
        }
      };
    });
  }
  function fallbackVerifier(keyBytes, fallbackUrl) {
    return import(fallbackUrl).then(function (module) {
      return { kind: "fallback", verify: function (signature, message) { return module.verify(signature, message, keyBytes); } };
    });
  }
  function makeVerifier(keyBytes, fallbackUrl) {
    return webcryptoVerifier(keyBytes).catch(function () { return fallbackVerifier(keyBytes, fallbackUrl); });
  }

  window.TongxinGate = {
    decide: decide, decideVisitor: decideVisitor, householdPerson: householdPerson, personFrom: personFrom, outingsAt: outingsAt, dueOf: dueOf, readPass: readPass, unb64: unb64,
    webcryptoVerifier: webcryptoVerifier, fallbackVerifier: fallbackVerifier
  };

  /* ---------------------------------------------------------------- the page */

  var configNode = document.getElementById("gate-config");
  var root = document.getElementById("gate");
  if (!configNode || !root) { return; }
  var C = JSON.parse(configNode.textContent);
  var S = C.strings;
  var R = C.reasons;
  var GATE = C.gate;
  var DB_NAME = "tongxin-gate";
  var KEEP_DONE_MS = 2 * 24 * 3600 * 1000;   // stored events are kept two days, then forgotten
  var MAX_BACKOFF = 15000;
  var SNAPSHOT_MS = Math.max(1, C.snapshot_minutes) * 60 * 1000;

  function $(id) { return document.getElementById(id); }
  function fmt(text, params) {
    return String(text).replace(/%\((\w+)\)[sd]/g, function (_m, key) {
      return params && given(params[key]) ? String(params[key]) : "";
    });
  }
  function uuid4() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function hhmm(date) { return two(date.getHours()) + ":" + two(date.getMinutes()); }
  function hhmmss(date) { return hhmm(date) + ":" + two(date.getSeconds()); }
  function nowMs() { return Date.now() + clockOffset; }
  function nowEpoch() { return nowMs() / 1000; }
  function nowIso() { return new Date(nowMs()).toISOString(); }
  function epochOf(iso) { return iso ? new Date(iso).getTime() / 1000 : null; }
  function maskPhone(phone) { return phone.length >= 7 ? phone.slice(0, 3) + "****" + phone.slice(-4) : "****"; }
  function reasonText(code) {
    var text = R[code] || code;
    return fmt(text, { hours: snapshot ? snapshot.policy.test_validity_hours : 48 });
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
        events.createIndex("gate", "gate");
        d.createObjectStore("snapshots", { keyPath: "gate" });
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
  function read(store, key) {
    return new Promise(function (resolve) {
      var request = db.transaction(store).objectStore(store).get(key);
      request.onsuccess = function () { resolve(request.result || null); };
      request.onerror = function () { resolve(null); };
    });
  }
  function loadEvents() {
    return new Promise(function (resolve, reject) {
      var found = [];
      var request = db.transaction("events").objectStore("events").index("gate").openCursor(IDBKeyRange.only(GATE));
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
  function getMeta(key) { return read("meta", key).then(function (row) { return row ? row.value : null; }); }
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

  /* ---------------------------------------------------------------- snapshot */

  var snapshot = null;          // the server's JSON
  var kept = null;              // {gate, data, requested_at, received_at} as stored
  var index = null;             // lookups built from the snapshot
  var verifier = null;
  var snapshotBusy = false;
  var snapshotTried = 0;
  var snapshotWanted = false;

  function useSnapshot(row) {
    kept = row;
    snapshot = row ? row.data : null;
    index = null;
    verifier = null;
    if (!snapshot) { return Promise.resolve(); }
    var byId = {}, members = {}, rooms = {}, passes = {}, revoked = {};
    snapshot.residents.forEach(function (r) {
      byId[r[0]] = r;
      (members[r[1]] = members[r[1]] || []).push(r);
      rooms[r[3]] = r[1];
    });
    Object.keys(snapshot.households || {}).forEach(function (id) { rooms[snapshot.households[id].room] = parseInt(id, 10); });
    snapshot.passes.forEach(function (p) { passes[p[0]] = p; });
    snapshot.revoked.forEach(function (number) { revoked[number] = true; });
    index = { byId: byId, members: members, rooms: rooms, passes: passes, revoked: revoked };
    var keyBytes;
    try { keyBytes = unb64(snapshot.key.public_key); } catch (_e) { return Promise.resolve(); }
    return makeVerifier(keyBytes, C.fallback_url).then(function (made) {
      verifier = made;
      root.dataset.verifier = made.kind;   // "webcrypto" or "fallback"
    }, function () { verifier = null; });
  }
  function loadSnapshot(force) {
    if (snapshotBusy || sending || inflight > 0) {
      if (force) { snapshotWanted = true; }   // asked for: taken as soon as nothing is in flight
      return Promise.resolve();
    }
    snapshotWanted = false;
    if (!force && kept && Date.now() - kept.received_at < SNAPSHOT_MS) { return Promise.resolve(); }
    if (!force && Date.now() - snapshotTried < 15000) { return Promise.resolve(); }
    // Nothing of ours is in flight while the snapshot is made: every event acknowledged before
    // this request is in it, every one acknowledged after it is not (see householdsNow).
    snapshotBusy = true;
    snapshotTried = Date.now();
    var requested = Date.now();
    render();
    return fetchJson(C.snapshot_url, { timeout: 30000 }).then(function (data) {
      var received = Date.now();
      setClock(data.server_time, requested, received);
      var row = { gate: GATE, data: data, requested_at: requested, received_at: received };
      return tx(["snapshots"], "readwrite", function (t) { t.objectStore("snapshots").put(row); })
        .then(function () { return useSnapshot(row); })
        .then(function () { serverUp = true; authProblem = ""; });
    }, function (error) {
      var status = error && error.status;
      if (status === 401 || status === 403 || status === 404) {
        // Logged out, or no longer this gate's: the compound's name list does not stay here.
        authProblem = status === 404 ? String(error.detail || S.login_needed) : S.login_needed;
        return tx(["snapshots"], "readwrite", function (t) { t.objectStore("snapshots").delete(GATE); })
          .then(function () { return useSnapshot(null); });
      }
      if (!status) { serverUp = false; }
    }).then(function () {
      snapshotBusy = false;
      derive();
      render();
    });
  }

  /* The households as they are now: the snapshot's, plus every check it does not hold yet
     (pending, or acknowledged after the snapshot was asked for). */
  function householdsNow() {
    var homes = {};
    if (!snapshot) { return homes; }
    Object.keys(snapshot.households || {}).forEach(function (id) {
      var h = snapshot.households[id];
      homes[id] = { room: h.room, exits: h.exits.slice(), out: h.out.map(function (o) { return o.slice(); }) };
    });
    events.forEach(function (e) {
      if (e.type !== "check" || !e.allowed || !e.household || e.state === "refused" || e.state === "dismissed") { return; }
      if (e.state !== "pending" && !(e.acked_at && e.acked_at > kept.requested_at)) { return; }
      var home = homes[e.household] = homes[e.household] || { room: "", exits: [], out: [] };
      var at = epochOf(e.at);
      if (e.direction === "out") {
        if (!e.emergency) { home.exits.push(at); }
        home.out.push([e.resident || null, at, given(e.due_at) ? e.due_at : null]);
      } else {
        // Coming in closes the person's open outings (a household pass's: those naming no one).
        home.out = home.out.filter(function (o) { return o[0] !== (e.resident || null) || o[1] > at; });
      }
    });
    return homes;
  }
  /* The person a check is about, as the server reads them (actions.gates.gate_check): a resident,
     or a household pass standing for its members (the worst of them; nobody named). */
  function personOf(residentId) {
    var row = index && index.byId[residentId];
    if (!row) { return null; }
    var now = nowEpoch();
    var outings = outingsAt(homesNow[row[1]], snapshot.policy, now);
    return {
      household: row[1], name: row[2], room: row[3],
      person: personFrom(row, outings, dueOf(outings, row[0]), snapshot.policy, now)
    };
  }
  function householdOf(householdId) {
    var rows = index && index.members[householdId] || [];
    if (!rows.length) { return null; }
    var now = nowEpoch();
    var outings = outingsAt(homesNow[householdId], snapshot.policy, now);
    var due = dueOf(outings, null);
    return {
      household: householdId, name: rows.map(function (r) { return r[2]; }).join("、"), room: rows[0][3],
      person: householdPerson(rows.map(function (r) { return personFrom(r, outings, due, snapshot.policy, now); }), due)
    };
  }
  function search(query) {
    var q = query.trim();
    if (!q || !index) { return []; }
    var room = /^[\d-]+$/.test(q);   // "301" or "3-2-301"
    return snapshot.residents.filter(function (r) {
      if (room) { return r[3] === q || r[3].indexOf(q + "-") === 0 || (q.indexOf("-") < 0 && r[3].split("-").pop() === q); }
      return r[2].indexOf(q) >= 0;
    }).slice(0, 30);
  }

  /* ---------------------------------------------------------------- local state */

  var events = [];
  var homesNow = {};
  var state = { pending: 0, refused: [], totals: { in: 0, out: 0, stopped: 0 } };
  var direction = "in";
  var emergency = false;
  var clockOffset = 0;

  function derive() {
    var pending = 0, refused = [], totals = { in: 0, out: 0, stopped: 0 };
    var today = new Date(nowMs()).toDateString();
    events.forEach(function (e) {
      if (e.state === "pending") { pending += 1; }
      if (e.state === "refused") { refused.push(e); }
      if (new Date(e.at).toDateString() !== today) { return; }
      if (!e.allowed) { totals.stopped += 1; } else if (e.type === "visitor" || e.direction === "in") { totals.in += 1; } else { totals.out += 1; }
    });
    state = { pending: pending, refused: refused, totals: totals };
    homesNow = householdsNow();
  }
  function setClock(serverTime, started, received) {
    if (!serverTime) { return; }
    var offset = new Date(serverTime).getTime() - (started + received) / 2;
    var corrected = Math.abs(offset) > 60000 ? offset : 0;   // a device clock more than a minute off
    if (corrected !== clockOffset) { clockOffset = corrected; setMeta("clock_offset", corrected); }
  }

  function buzz(pattern) {
    // A phone buzzes on a refusal; browsers allow it only after the user has touched the page.
    var active = navigator.userActivation ? navigator.userActivation.hasBeenActive : true;
    if (navigator.vibrate && active) { navigator.vibrate(pattern); }
  }

  var work = Promise.resolve();
  function later(fn) { work = work.then(fn).catch(function (error) { flash(String(error), "error"); }); return work; }

  function flash(text, kind) {
    var node = $("message");
    node.textContent = text;
    node.dataset.kind = kind || "info";
    if (kind === "error") { buzz([80, 60, 80]); }
  }

  /* ---------------------------------------------------------------- checks */

  /* One check: `what` = {method, code?, resident?, document?, pass_state, claims?}. The server
     decides while it answers in time; otherwise this device does, from its snapshot. */
  function check(what) {
    var local = null;
    var found = what.resident ? personOf(what.resident) : what.household ? householdOf(what.household) : null;
    var event = {
      id: uuid4(), gate: GATE, type: "check", at: nowIso(), made: Date.now(), direction: direction,
      method: what.method, emergency: emergency, resident: found && what.resident || null,
      household: found ? found.household : null, name: found ? found.name : "",
      room: found ? found.room : what.claims ? what.claims.room : "",
      number: what.claims ? what.claims.number : ""
    };
    if (what.code) { event.code = what.code; }
    emergency = false;
    clearMatches();
    var canDecide = snapshot && (what.method !== "document");
    if (canDecide || event.emergency) {
      local = decide({
        direction: event.direction, emergency: event.emergency, pass_state: what.pass_state,
        person: found ? found.person : null, policy: snapshot ? snapshot.policy : {}, now: nowEpoch()
      });
    }
    var online = serverUp !== false && navigator.onLine !== false && !snapshotBusy && Date.now() >= slowUntil;
    if (what.method === "document" && !online) {
      emergency = event.emergency;   // nothing recorded: the emergency still waits for its person
      render();
      return flash(S.document_offline, "error");
    }
    if (!online) {
      if (!local) { render(); return flash(S.no_snapshot, "error"); }
      return keep(event, local, "device");
    }
    var body = { id: event.id, at: event.at, direction: event.direction, emergency: event.emergency };
    if (what.code) { body.code = what.code; }
    if (what.resident) { body.resident = what.resident; }
    if (what.document) { body.document = what.document; }
    inflight += 1;
    var started = Date.now();
    return fetchJson(C.check_url, { method: "POST", body: body, timeout: C.check_ms }).then(function (answer) {
      inflight -= 1;
      serverUp = true; authProblem = ""; serverTrouble = false;
      event.state = "stored";
      event.acked_at = Date.now();
      if (answer.name) { event.name = answer.name; }
      if (answer.room) { event.room = answer.room; }
      delete event.code;   // the server holds it; the device keeps the pass number only
      return keep(event, {
        allowed: answer.allowed, reason: answer.reason, text: answer.text,
        due_at: epochOf(answer.due_at), late_minutes: answer.late_minutes || 0
      }, "server");
    }, function (error) {
      inflight -= 1;
      var status = error && error.status;
      if (status === 401 || status === 403) { authProblem = S.login_needed; serverUp = true; } else if (status >= 500) {
        serverTrouble = true; serverUp = true;
      } else if (!status) { serverUp = false; }
      // Too slow: this device decides for a minute, so the volunteer waits once, not at every check.
      if (Date.now() - started >= C.check_ms - 50) { slowUntil = Date.now() + 60000; }
      if (what.method === "document") { render(); return flash(status ? S.document_failed : S.document_offline, "error"); }
      if (!local) { render(); return flash(S.no_snapshot, "error"); }
      return keep(event, local, "device");
    });
  }
  function keep(event, verdict, source) {
    event.allowed = verdict.allowed;
    event.reason = verdict.reason;
    event.text = verdict.text || reasonText(verdict.reason);
    event.due_at = verdict.due_at;
    event.late_minutes = verdict.late_minutes;
    event.decided = source;
    if (!event.state) { event.state = "pending"; }
    return addEvent(event).then(function () {
      events.push(event);
      derive();
      flash("", "");
      showVerdict(event);
      render();
      broadcast();
      if (event.state === "pending") { kick(); }
      return event;
    });
  }

  function checkPass(code) {
    if (!snapshot || !verifier) {
      // No key on this device yet: only the server can read the code.
      return check({ method: "pass", code: code, pass_state: "ok" });
    }
    return readPass(code, { verify: verifier.verify, compound: snapshot.gate.compound, now: nowEpoch(), revoked: index.revoked }).then(function (read) {
      if (read.state !== "ok") { return check({ method: "pass", code: code, pass_state: read.state, claims: read.claims }); }
      var entry = index.passes[read.claims.number];
      // A household pass names no one: it stands for the household (nobody picked, as the server).
      return check({
        method: "pass", code: code, pass_state: "ok", claims: read.claims,
        resident: entry && given(entry[1]) ? entry[1] : null, household: entry && !given(entry[1]) ? entry[2] : null
      });
    });
  }

  function handle(raw) {
    var value = String(raw || "").trim();
    if (!value) { return; }
    hideVerdict();
    if (looksLikePass(value)) { return checkPass(value); }
    var upper = value.toUpperCase();
    if (/^\d{17}[\dX]$/.test(upper) || /^\d{15}$/.test(upper)) {
      return check({ method: "document", document: upper, pass_state: "none" });
    }
    var found = search(value);
    if (found.length === 1) { return check({ method: "room", resident: found[0][0], pass_state: "none" }); }
    if (found.length > 1) { showMatches(found); return flash(fmt(S.pick_person, { n: found.length }), "info"); }
    if (value.length >= 12 || /[:/=.{}#?&]/.test(value)) { return checkPass(value); }   // some other code: not a pass
    if (!snapshot) { return flash(S.snapshot_missing, "error"); }
    return flash(fmt(S.no_match, { q: value }), "error");
  }

  function clearMatches() { $("matches").replaceChildren(); }
  function showMatches(rows) {
    var list = $("matches");
    list.replaceChildren();
    rows.forEach(function (r) {
      var item = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "match";
      button.dataset.resident = String(r[0]);
      var name = document.createElement("strong");
      name.textContent = r[2];
      var room = document.createElement("span");
      room.className = "mono";
      room.textContent = r[3];
      button.append(name, room);
      item.append(button);
      list.append(item);
    });
  }

  /* ---------------------------------------------------------------- the answer */

  var verdictTimer = null;
  function showVerdict(e) {
    var panel = $("verdict");
    panel.hidden = false;
    panel.dataset.allowed = e.allowed ? "1" : "0";
    panel.dataset.reason = e.reason;
    panel.dataset.id = e.id;
    $("verdict-word").textContent = e.allowed ? S.allowed : S.stopped;
    $("verdict-reason").textContent = e.reason === "ok" ? "" : e.text;
    $("verdict-name").textContent = e.name || (e.type === "check" && e.emergency ? S.emergency_anonymous : S.nobody);
    $("verdict-room").textContent = e.room || "";
    var extra = "";
    if (e.allowed && given(e.due_at) && e.direction === "out") { extra = fmt(S.back_by, { time: hhmm(new Date(e.due_at * 1000)) }); }
    if (e.late_minutes) { extra = fmt(S.late, { n: e.late_minutes }); }
    $("verdict-extra").textContent = extra;
    $("verdict-direction").textContent = e.type === "visitor" ? S[e.kind] : e.direction === "in" ? S.going_in : S.going_out;
    $("verdict-time").textContent = hhmmss(new Date(e.at));
    $("verdict-source").textContent = e.type === "check" && e.decided === "device" ? S.decided_here : "";
    clearTimeout(verdictTimer);
    verdictTimer = setTimeout(hideVerdict, 60000);
    if (!e.allowed) { buzz([120, 80, 120]); }
  }
  function hideVerdict() {
    clearTimeout(verdictTimer);
    $("verdict").hidden = true;
  }

  /* ---------------------------------------------------------------- visitors */

  /* A mainland mobile as the server reads it (core.documents.parse_mobile): spaces and dashes
     out, +86 / 0086 dropped; "" when empty, null when it is not one. */
  function mobile(raw) {
    var phone = String(raw || "").replace(/[\s\u3000-]/g, "").replace(/[\uff10-\uff19]/g, function (d) {
      return String.fromCharCode(d.charCodeAt(0) - 0xfee0);
    });
    if (!phone) { return ""; }
    if (phone.indexOf("+86") === 0) { phone = phone.slice(3); } else if (phone.indexOf("0086") === 0) { phone = phone.slice(4); } else if (phone.indexOf("86") === 0 && phone.length === 13) { phone = phone.slice(2); }
    return /^1[3-9]\d{9}$/.test(phone) ? phone : null;
  }
  function visitorForm() {
    var form = $("visitor-form");
    var data = new FormData(form);
    var fields = {};
    ["kind", "name", "phone", "code_color", "room", "reason", "came_from"].forEach(function (k) { fields[k] = String(data.get(k) || "").trim(); });
    var chosen = form.querySelector("input[name=resident]:checked");
    fields.resident = chosen ? parseInt(chosen.value, 10) : null;
    return fields;
  }
  function showMembers() {
    var f = visitorForm();
    var returning = f.kind === "returning";
    document.querySelectorAll("#visitor-form .for-visitor").forEach(function (n) { n.hidden = returning; });
    document.querySelectorAll("#visitor-form .for-returning").forEach(function (n) { n.hidden = !returning; });
    var box = $("visitor-members");
    var list = $("visitor-member-list");
    var household = index && index.rooms[f.room];
    var members = returning && household ? index.members[household] || [] : [];
    var before = f.resident;
    list.replaceChildren();
    members.forEach(function (r) {
      var label = document.createElement("label");
      label.className = "choice";
      var input = document.createElement("input");
      input.type = "radio";
      input.name = "resident";
      input.value = String(r[0]);
      input.checked = r[0] === before || (!before && f.name && r[2] === f.name);
      label.append(input, document.createTextNode(" " + r[2]));
      list.append(label);
    });
    box.hidden = members.length === 0;
  }
  function registerVisitor() {
    var f = visitorForm();
    if (!f.name) { return flash(S.need_name, "error"); }
    var phone = mobile(f.phone);
    if (phone === null || (f.kind === "visitor" && !phone)) { return flash(S.need_phone, "error"); }
    if (["green", "yellow", "red"].indexOf(f.code_color) < 0) { return flash(S.need_color, "error"); }
    if (!f.room) { return flash(S.need_room, "error"); }
    if (!index) { return flash(S.no_snapshot, "error"); }
    var household = index.rooms[f.room];
    if (!household) { return flash(fmt(S.unknown_room, { room: f.room }), "error"); }
    if (f.kind === "returning" && !f.resident) { return flash(S.need_resident, "error"); }
    var verdict = decideVisitor(f.code_color);
    var member = f.resident ? index.byId[f.resident] : null;
    var event = {
      id: uuid4(), gate: GATE, type: "visitor", at: nowIso(), made: Date.now(), kind: f.kind,
      name: f.name, phone: phone, phone_shown: phone ? maskPhone(phone) : "", why: f.reason, visiting: household,
      resident: f.kind === "returning" ? f.resident : null, code_color: f.code_color, came_from: f.came_from,
      room: member ? member[3] : f.room, direction: "in", emergency: false
    };
    return keep(event, verdict, "device").then(function () {
      $("visitor-form").reset();
      showMembers();
      flash(fmt(S.visitor_saved, { name: event.name }), event.allowed ? "ok" : "error");
    });
  }

  /* ---------------------------------------------------------------- sending */

  var sending = false, inflight = 0, failures = 0, nextTry = 0, serverUp = null, authProblem = "", serverTrouble = false;
  var lastSync = null, batchSize = C.batch, slowUntil = 0;

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
      if (!response.ok || response.redirected) {
        return response.text().then(function (text) {
          var error = new Error("HTTP " + response.status);
          error.status = response.redirected ? 401 : response.status;
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
    if (e.type === "visitor") {
      var visitor = {
        id: e.id, type: "visitor", at: e.at, kind: e.kind, name: e.name, phone: e.phone, reason: e.why,
        visiting: e.visiting, code_color: e.code_color, came_from: e.came_from
      };
      if (e.resident) { visitor.resident = e.resident; }
      return visitor;
    }
    var out = {
      id: e.id, type: "check", at: e.at, direction: e.direction, method: e.method,
      allowed: e.allowed, reason: e.reason, emergency: e.emergency
    };
    if (e.code) { out.code = e.code; }
    if (e.resident) { out.resident = e.resident; }
    if (given(e.due_at)) { out.due_at = new Date(e.due_at * 1000).toISOString(); }
    return out;
  }
  function scrub(e) {
    // Once the server holds an event, the device keeps no visitor's phone and no pass code.
    if (e.type === "visitor") { e.phone = ""; }
    delete e.code;
  }

  function kick() {
    if (serverUp === false && Date.now() < nextTry) { return; }
    send();
  }
  function send() {
    if (sending || snapshotBusy || !db) { return Promise.resolve(); }
    var batch = events.filter(function (e) { return e.state === "pending"; }).slice(0, batchSize);
    if (!batch.length) { return Promise.resolve(); }
    sending = true;
    render();
    var started = Date.now();
    return fetchJson(C.sync_url, { method: "POST", body: { events: batch.map(wire) }, timeout: 30000 })
      .then(function (answer) {
        setClock(answer.server_time, started, Date.now());
        var stored = {}, refused = {};
        answer.stored.forEach(function (id) { stored[id] = true; });
        answer.refused.forEach(function (r) { refused[r.id] = r; });
        var changed = [];
        var acked = Date.now();
        batch.forEach(function (e) {
          if (stored[e.id]) {
            e.state = "stored";
            e.acked_at = acked;
            scrub(e);
            changed.push(e);
          } else if (refused[e.id]) {
            e.state = "refused";
            e.refusal = { code: refused[e.id].code, message: refused[e.id].message };
            changed.push(e);
          }
        });
        failures = 0; serverUp = true; authProblem = ""; serverTrouble = false; lastSync = new Date();
        batchSize = C.batch;
        return saveEvents(changed).then(function () {
          setMeta("last_sync_" + GATE, lastSync.toISOString());
          broadcast();
          return changed.length;
        });
      })
      .then(function (progress) {
        sending = false;
        derive();
        render();
        if (progress && events.some(function (e) { return e.state === "pending"; })) { return send(); }
        loadSnapshot(false);
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

  function ping() {
    return fetch(C.health_url, { cache: "no-store", credentials: "same-origin" }).then(function (r) {
      var was = serverUp;
      serverUp = r.ok;
      if (r.ok && was === false) { failures = 0; nextTry = 0; loadSnapshot(false); }
    }, function () { serverUp = false; }).then(render);
  }
  var lastPing = 0;
  function tick() {
    if (state.pending && !sending && Date.now() >= nextTry) { send(); } else if (Date.now() - lastPing > (serverUp === false ? 5000 : 15000)) {
      lastPing = Date.now();
      ping();
    }
    if (serverUp !== false) { loadSnapshot(snapshotWanted); }
    renderAge();
  }

  /* ---------------------------------------------------------------- other tabs */

  var channel = window.BroadcastChannel ? new BroadcastChannel("tongxin-gate-" + GATE) : null;
  function broadcast() { if (channel) { channel.postMessage("changed"); } }
  if (channel) {
    channel.onmessage = function () {
      loadEvents().then(function (list) { events = list; derive(); render(); });
    };
  }

  /* ---------------------------------------------------------------- rendering */

  function ago(minutes) {
    if (minutes < 1) { return S.just_now; }
    if (minutes < 60) { return fmt(S.minutes_ago, { n: minutes }); }
    if (minutes < 48 * 60) { return fmt(S.hours_ago, { n: Math.floor(minutes / 60) }); }
    return fmt(S.days_ago, { n: Math.floor(minutes / 1440) });
  }
  function renderAge() {
    var node = $("snapshot-age");
    if (!snapshot) {
      node.textContent = snapshotBusy ? S.snapshot_loading : S.snapshot_missing;
      node.dataset.minutes = "";
      node.dataset.stale = "1";
      return;
    }
    var made = new Date(snapshot.generated_at);
    var minutes = Math.max(0, Math.floor((nowMs() - made.getTime()) / 60000));
    var today = new Date(nowMs()).toDateString() === made.toDateString();
    var time = today ? hhmm(made) : fmt(S.date_time, { month: made.getMonth() + 1, day: made.getDate(), time: hhmm(made) });
    node.textContent = fmt(S.snapshot_age, { time: time, ago: ago(minutes) });
    node.dataset.minutes = String(minutes);
    node.dataset.stale = minutes > 2 * C.snapshot_minutes ? "1" : "0";
  }
  function render() {
    var online = serverUp !== false && navigator.onLine !== false;
    var net = $("net");
    net.dataset.online = sending ? "sending" : online ? "yes" : "no";
    net.textContent = authProblem || (sending ? S.sending : online ? (serverTrouble ? S.server_error : S.online) : S.offline);
    net.classList.toggle("trouble", Boolean(authProblem || serverTrouble));
    var pending = $("pending");
    pending.dataset.count = String(state.pending);
    pending.textContent = fmt(S.pending, { n: state.pending });
    var handleCount = $("handle-count");
    handleCount.dataset.count = String(state.refused.length);
    handleCount.textContent = fmt(S.to_handle, { n: state.refused.length });
    handleCount.hidden = state.refused.length === 0;
    $("send-now").hidden = state.pending === 0;
    renderAge();
    root.dataset.direction = direction;
    root.dataset.emergency = emergency ? "1" : "0";
    $("dir-in").setAttribute("aria-pressed", direction === "in" ? "true" : "false");
    $("dir-out").setAttribute("aria-pressed", direction === "out" ? "true" : "false");
    $("next-in").setAttribute("aria-pressed", direction === "in" ? "true" : "false");
    $("next-out").setAttribute("aria-pressed", direction === "out" ? "true" : "false");
    $("emergency").setAttribute("aria-pressed", emergency ? "true" : "false");
    $("emergency-bar").hidden = !emergency;
    $("total-in").textContent = String(state.totals.in);
    $("total-out").textContent = String(state.totals.out);
    $("total-stopped").textContent = String(state.totals.stopped);
    $("snapshot-state").textContent = snapshot ? fmt(S.snapshot_people, { n: snapshot.residents.length }) + (lastSync ? " · " + fmt(S.last_sync, { time: hhmmss(lastSync) }) : "") : "";
    var recent = $("recent");
    recent.replaceChildren();
    events.slice(-30).reverse().forEach(function (e) { recent.append(eventItem(e)); });
    var refusedList = $("refused");
    refusedList.replaceChildren();
    state.refused.slice().reverse().forEach(function (e) { refusedList.append(refusedItem(e)); });
    $("refused-empty").hidden = state.refused.length > 0;
  }
  function eventItem(e) {
    var li = document.createElement("li");
    li.className = "event-row " + (e.allowed ? "allowed" : "stopped");
    li.dataset.id = e.id;
    li.dataset.state = e.state;
    li.dataset.reason = e.reason;
    var when = document.createElement("span");
    when.className = "mono";
    when.textContent = hhmm(new Date(e.at));
    var which = document.createElement("span");
    which.className = "dir-tag";
    which.textContent = e.type === "visitor" ? S[e.kind] : e.direction === "in" ? S.dir_in : S.dir_out;
    var who = document.createElement("strong");
    who.textContent = [e.name || (e.emergency ? S.emergency_anonymous : S.nobody), e.room].filter(Boolean).join(" ");
    var what = document.createElement("span");
    what.className = "what";
    what.textContent = e.allowed ? (e.reason === "ok" ? S.allowed : e.text) : e.text;
    var badge = document.createElement("span");
    badge.className = "badge state-" + e.state;
    badge.textContent = S["state_" + e.state] || "";
    li.append(when, which, who, what, badge);
    return li;
  }
  function refusedItem(e) {
    var li = document.createElement("li");
    li.className = "refused-row";
    li.dataset.id = e.id;
    li.dataset.code = e.refusal ? e.refusal.code : "";
    var what = document.createElement("div");
    what.className = "what";
    what.textContent = hhmmss(new Date(e.at)) + " · " + [e.name, e.room, e.text].filter(Boolean).join(" · ");
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

  /* ---------------------------------------------------------------- camera */

  var camera = { stream: null, detector: null, timer: null };
  function cameraReady() {
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { return Promise.resolve(false); }
    var formats = window.BarcodeDetector.getSupportedFormats ? window.BarcodeDetector.getSupportedFormats() : Promise.resolve(["qr_code"]);
    return formats.then(function (list) { return list.indexOf("qr_code") >= 0; }, function () { return false; });
  }
  function startCamera() {
    var video = $("camera-video");
    navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: "environment" } }, audio: false }).then(function (stream) {
      camera.stream = stream;
      camera.detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      video.srcObject = stream;
      $("camera-sheet").hidden = false;
      return video.play();
    }).then(function () {
      var look = function () {
        if (!camera.stream) { return; }
        camera.detector.detect(video).then(function (codes) {
          if (codes.length && camera.stream) {
            stopCamera();
            later(function () { return handle(codes[0].rawValue); });
          } else { camera.timer = setTimeout(look, 150); }
        }, function () { camera.timer = setTimeout(look, 300); });
      };
      look();
    }).catch(function (error) {
      stopCamera();
      flash(fmt(S.camera_failed, { error: error && error.name || String(error) }), "error");
    });
  }
  function stopCamera() {
    clearTimeout(camera.timer);
    if (camera.stream) { camera.stream.getTracks().forEach(function (t) { t.stop(); }); }
    camera.stream = null;
    $("camera-video").srcObject = null;
    $("camera-sheet").hidden = true;
    $("scan").focus();
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
    var assets = [location.pathname].concat(C.offline_assets);
    document.querySelectorAll("link[rel=stylesheet], script[src], link[rel=icon]").forEach(function (node) {
      var url = new URL(node.href || node.src, location.href);
      if (url.origin === location.origin && assets.indexOf(url.pathname) < 0) { assets.push(url.pathname); }
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
    $("matches").addEventListener("click", function (event) {
      var button = event.target.closest("button[data-resident]");
      if (!button) { return; }
      var id = parseInt(button.dataset.resident, 10);
      input.value = "";
      later(function () { return check({ method: "room", resident: id, pass_state: "none" }); });
      input.focus();
    });
    document.querySelectorAll("button.dir, button.next").forEach(function (button) {
      button.addEventListener("click", function (event) {
        event.stopPropagation();
        direction = button.dataset.direction;
        setMeta("direction_" + GATE, direction);
        hideVerdict();
        render();
        input.focus();
      });
    });
    $("emergency").addEventListener("click", function () {
      emergency = !emergency;
      hideVerdict();
      if (emergency) { flash(S.emergency_on, "warn"); }
      render();
      input.focus();
    });
    $("emergency-cancel").addEventListener("click", function () { emergency = false; render(); input.focus(); });
    $("emergency-anonymous").addEventListener("click", function () {
      later(function () { return check({ method: "room", pass_state: "none" }); });
      input.focus();
    });
    $("verdict").addEventListener("click", function () { hideVerdict(); input.focus(); });
    $("refresh").addEventListener("click", function () { later(function () { return loadSnapshot(true); }); });
    $("camera").addEventListener("click", startCamera);
    $("camera-stop").addEventListener("click", stopCamera);
    $("visitor-form").addEventListener("submit", function (event) {
      event.preventDefault();
      later(registerVisitor);
    });
    $("visitor-form").addEventListener("input", showMembers);
    $("visitor-form").addEventListener("change", showMembers);
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
    document.addEventListener("keydown", function (event) {
      // A keyboard-wedge scanner types wherever the focus is: anywhere but a form field, the
      // scan box takes it (after a tap on the answer or a button, say).
      var at = document.activeElement;
      var field = at && (at.tagName === "INPUT" || at.tagName === "TEXTAREA" || at.tagName === "SELECT");
      if (!field && !event.ctrlKey && !event.metaKey && !event.altKey && event.key.length === 1) {
        input.focus();
      }
    }, true);
    window.addEventListener("online", function () { failures = 0; nextTry = 0; ping(); send(); render(); });
    window.addEventListener("offline", function () { serverUp = false; render(); });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") { nextTry = 0; tick(); }
    });
    setInterval(tick, 1000);
  }

  openDb().then(function (opened) {
    db = opened;
    return Promise.all([
      loadEvents().then(forgetOld), getMeta("clock_offset"), getMeta("last_sync_" + GATE),
      getMeta("direction_" + GATE), read("snapshots", GATE)
    ]);
  }).then(function (loaded) {
    events = loaded[0];
    clockOffset = loaded[1] || 0;
    lastSync = loaded[2] ? new Date(loaded[2]) : null;
    direction = loaded[3] === "out" ? "out" : "in";
    return useSnapshot(loaded[4]);
  }).then(function () {
    derive();
    bind();
    render();
    root.dataset.ready = "1";
    $("scan").focus();
    keepOffline();
    cameraReady().then(function (ready) { $("camera").hidden = !ready; });
    if (state.pending) { send(); } else { lastPing = Date.now(); ping(); }
    loadSnapshot(!kept);
  }).catch(function (error) {
    flash(String(error), "error");
  });
})();
