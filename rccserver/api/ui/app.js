// Operator page: reads the API with the token kept in sessionStorage and
// follows GET /v1/events. The stream is read with fetch, not EventSource,
// because EventSource cannot send an Authorization header and a token in
// the URL would end up in logs.
'use strict';
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem('rccToken') || '';
let lastID = '';
let abort = null;
const calls = new Map(); // station + ' ' + call_id -> call

function api(path, opts = {}) {
  opts.headers = Object.assign({ Authorization: 'Bearer ' + token }, opts.headers || {});
  return fetch(path, opts).then((r) => {
    if (!r.ok) return r.json().then((e) => { throw new Error(e.code + ': ' + e.error); });
    return r.status === 204 ? null : r.json();
  });
}

function cell(tr, text, cls) {
  const td = document.createElement('td');
  td.textContent = text == null ? '' : String(text);
  if (cls) td.className = cls;
  tr.appendChild(td);
}

function fill(id, rows, build) {
  const tb = $(id).tBodies[0];
  tb.replaceChildren(...rows.map((r) => { const tr = document.createElement('tr'); build(tr, r); return tr; }));
}

function renderCalls() {
  fill('calls', [...calls.values()], (tr, c) => {
    tr.className = c.state; tr.dataset.callId = c.call_id; tr.dataset.station = c.station;
    cell(tr, c.station); cell(tr, c.call_id); cell(tr, c.state); cell(tr, c.calling); cell(tr, c.called);
    cell(tr, c.since ? new Date(c.since).toLocaleTimeString() : '');
  });
}

function refresh() {
  api('/v1/stations').then((sts) => fill('stations', sts, (tr, s) => {
    tr.dataset.ext = s.extension;
    cell(tr, s.extension); cell(tr, s.name);
    cell(tr, s.registered ? 'registered' : 'not registered', s.registered ? 'yes' : 'no');
    cell(tr, s.user || '—'); cell(tr, s.dnd ? 'on' : 'off');
    cell(tr, s.forwarding.filter((f) => f.on).map((f) => f.type + '→' + f.destination).join(', ') || 'off');
  })).catch(down);
  api('/v1/sessions').then((ss) => fill('sessions', ss, (tr, s) => {
    cell(tr, s.user); cell(tr, s.line); cell(tr, s.station); cell(tr, s.status); cell(tr, s.peer);
  })).catch(down);
  api('/v1/calls').then((cs) => {
    calls.clear();
    for (const c of cs) calls.set(c.station + ' ' + c.call_id, c);
    renderCalls();
  }).catch(down);
}

function logEvent(name, e) {
  const li = document.createElement('li');
  li.textContent = (e.time ? new Date(e.time).toLocaleTimeString() : '') + ' ' + name + ' ' +
    [e.type, e.station, e.call_id, e.state, e.cause].filter(Boolean).join(' ');
  const ol = $('events');
  ol.prepend(li);
  while (ol.children.length > 200) ol.lastChild.remove();
}

function onEvent(name, data) {
  const e = JSON.parse(data);
  logEvent(name, e);
  if (name === 'reset' || name === 'overflow') { refresh(); return; }
  if (name === 'station') { refresh(); return; }
  const key = e.station + ' ' + e.call_id;
  if (e.state === 'null') {
    calls.delete(key);
  } else {
    const c = calls.get(key) || { station: e.station, call_id: e.call_id, since: e.time };
    Object.assign(c, { state: e.state, calling: e.calling, called: e.called });
    calls.set(key, c);
  }
  renderCalls();
}

function status(text, cls) { const s = $('status'); s.textContent = text; s.className = 'status ' + cls; }
function down(err) { status(String(err.message || err), 'down'); }

// follow reads the stream and dispatches its events (HTML Living
// Standard, "Server-sent events", parsing rules reduced to what the
// server sends), then reconnects with Last-Event-ID.
async function follow() {
  if (abort) abort.abort();
  abort = new AbortController();
  const headers = { Authorization: 'Bearer ' + token };
  if (lastID) headers['Last-Event-ID'] = lastID;
  try {
    const r = await fetch('/v1/events', { headers, signal: abort.signal });
    if (!r.ok) { const e = await r.json(); down(new Error(e.code)); return; }
    status('live', 'live');
    refresh();
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i); buf = buf.slice(i + 2);
        let name = 'message', data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('id:')) lastID = line.slice(3).trim();
          else if (line.startsWith('event:')) name = line.slice(6).trim();
          else if (line.startsWith('data:')) data += line.slice(5).trim();
        }
        if (data) onEvent(name, data);
      }
    }
  } catch (err) {
    if (err.name === 'AbortError') return;
    down(err);
  }
  status('reconnecting', 'down');
  setTimeout(follow, 2000);
}

$('login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  token = $('token').value;
  sessionStorage.setItem('rccToken', token);
  $('token').value = '';
  follow();
});
setInterval(() => { if (token) refresh(); }, 5000); // registrations and sessions are not events
if (token) follow();
