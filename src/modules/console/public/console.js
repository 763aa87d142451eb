/* The operator console: plain browser JavaScript, no build step. Data comes from the
 * token-protected /api/v1/console routes; the token (when the engine has one) is kept in
 * sessionStorage and only ever sent as an Authorization header — never in a URL, which is why
 * the stream is read with fetch() and not EventSource. Everything shown is set as text, never as
 * HTML. */
(function () {
  'use strict';

  var TOKEN_KEY = 'openkore-console-token';
  var TIERS = ['reflex', 'rule', 'ml', 'llm'];
  var TIER_COLORS = { reflex: '#d9534f', rule: '#2b7bb9', ml: '#5cb85c', llm: '#a36ac7' };
  var RETRY_MIN_MS = 1000;
  var RETRY_MAX_MS = 10000;

  var $ = function (id) { return document.getElementById(id); };
  var state = {
    token: sessionStorage.getItem(TOKEN_KEY),
    summary: null,
    history: [],
    offsetMs: 0,
    intervalMs: 2000,
    sort: { key: 'character', type: 'text', dir: 1 },
    controller: null,
    retryMs: RETRY_MIN_MS,
    retryTimer: null,
    pollTimer: null,
    watchdog: null,
    lastEventAt: 0,
    charts: null,
    mode: 'connecting',
  };
  // For tests and curious operators: read-only view of what the page holds.
  window.consoleState = state;

  // ------------------------------------------------------------------ helpers

  function el(tag, props) {
    var node = document.createElement(tag);
    if (props) {
      for (var k in props) {
        if (!Object.prototype.hasOwnProperty.call(props, k) || props[k] === undefined || props[k] === null) continue;
        if (k === 'text') node.textContent = String(props[k]);
        else if (k === 'className') node.className = props[k];
        else if (k === 'title') node.title = String(props[k]);
        else node.setAttribute(k, String(props[k]));
      }
    }
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined) continue;
      node.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  function td(text, className) {
    return el('td', { text: text === null || text === undefined ? '—' : text, className: className });
  }

  function replaceRows(tbody, rows) {
    var frag = document.createDocumentFragment();
    rows.forEach(function (r) { frag.appendChild(r); });
    tbody.replaceChildren(frag);
  }

  function fmt(n, digits) {
    if (n === null || n === undefined || Number.isNaN(n)) return '—';
    return Number(n).toLocaleString(undefined, { maximumFractionDigits: digits === undefined ? 2 : digits });
  }

  function pct(ratio) {
    return ratio === null || ratio === undefined ? '—' : fmt(ratio * 100, 1) + ' %';
  }

  function age(ms) {
    if (ms === null || ms === undefined) return '—';
    if (ms < 0) ms = 0;
    if (ms < 1000) return Math.round(ms) + ' ms';
    if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
    if (ms < 3600000) return Math.floor(ms / 60000) + ' min ' + Math.floor((ms % 60000) / 1000) + ' s';
    return Math.floor(ms / 3600000) + ' h ' + Math.floor((ms % 3600000) / 60000) + ' min';
  }

  function serverNow() {
    return Date.now() + state.offsetMs;
  }

  function when(iso) {
    if (!iso) return '—';
    var d = new Date(iso);
    return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString();
  }

  function headers() {
    var h = { accept: 'application/json' };
    if (state.token) h.authorization = 'Bearer ' + state.token;
    return h;
  }

  function setConn(mode, text) {
    state.mode = mode;
    var c = $('conn');
    c.dataset.state = mode;
    c.textContent = text;
  }

  function banner(text) {
    var b = $('banner');
    b.hidden = !text;
    b.textContent = text || '';
  }

  /** An error envelope's code and message, or the status line. */
  function describe(res, body) {
    if (body && body.error && body.error.code) return res.status + ' ' + body.error.code + ': ' + body.error.message;
    return 'HTTP ' + res.status;
  }

  async function readJson(res) {
    try { return await res.json(); } catch { return null; }
  }

  // ------------------------------------------------------------------ token

  function showLogin(message) {
    $('main').hidden = true;
    $('login').hidden = false;
    $('forget-token').hidden = true;
    var err = $('login-error');
    err.hidden = !message;
    err.textContent = message || '';
    setConn('locked', message ? 'token refused' : 'token required');
    $('token-input').focus();
  }

  /** A 401: ask for the token — saying the one given was refused, when there was one. */
  function tokenRefused(body) {
    var code = body && body.error && body.error.code ? body.error.code : 'INVALID_TOKEN';
    var hadToken = !!state.token;
    state.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    stopAll();
    showLogin(hadToken ? 'The engine refused this token (401 ' + code + '). Check OPENKORE_AI_TOKEN and enter it again.' : null);
  }

  $('login-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var value = $('token-input').value.trim();
    if (!value) return;
    state.token = value;
    sessionStorage.setItem(TOKEN_KEY, value);
    $('token-input').value = '';
    $('login-error').hidden = true;
    setConn('connecting', 'connecting…');
    start();
  });

  $('forget-token').addEventListener('click', function () {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    stopAll();
    showLogin(null);
  });

  // ------------------------------------------------------------------ connection

  function stopAll() {
    if (state.controller) state.controller.abort();
    state.controller = null;
    clearTimeout(state.retryTimer);
    clearTimeout(state.pollTimer);
    clearInterval(state.watchdog);
    state.retryTimer = state.pollTimer = state.watchdog = null;
  }

  function disconnected(reason) {
    stopAll();
    setConn('disconnected', 'disconnected — retrying in ' + Math.round(state.retryMs / 1000) + ' s');
    banner(reason ? 'Connection to the engine lost: ' + reason : 'Connection to the engine lost.');
    state.retryTimer = setTimeout(start, state.retryMs);
    state.retryMs = Math.min(RETRY_MAX_MS, state.retryMs * 2);
  }

  /** First a summary (it also tells whether a token is needed), then the stream. */
  async function start() {
    stopAll();
    var res, body;
    try {
      res = await fetch('/api/v1/console/summary', { headers: headers(), cache: 'no-store' });
      body = await readJson(res);
    } catch {
      disconnected('engine unreachable');
      return;
    }
    if (res.status === 401) { tokenRefused(body); return; }
    if (!res.ok || !body || !body.data) { disconnected(describe(res, body)); return; }
    $('login').hidden = true;
    $('main').hidden = false;
    $('forget-token').hidden = !state.token;
    banner(null);
    state.history = body.data.history || [];
    onSummary(body.data.summary, Date.now());
    renderCharts();
    openStream();
  }

  async function openStream() {
    var controller = new AbortController();
    state.controller = controller;
    var res;
    try {
      res = await fetch('/api/v1/console/stream', { headers: Object.assign(headers(), { accept: 'text/event-stream' }), cache: 'no-store', signal: controller.signal });
    } catch {
      if (!controller.signal.aborted) disconnected('engine unreachable');
      return;
    }
    if (res.status === 401) { tokenRefused(await readJson(res)); return; }
    if (res.status === 409) {
      var body = await readJson(res);
      if (body && body.error && body.error.details && body.error.details.reason === 'console_streams_full') {
        poll();
        return;
      }
      disconnected(describe(res, body));
      return;
    }
    if (!res.ok || !res.body) { disconnected('HTTP ' + res.status); return; }
    state.retryMs = RETRY_MIN_MS;
    setConn('live', 'live');
    banner(null);
    state.lastEventAt = Date.now();
    // No event for three intervals: the engine is stuck or the network dropped silently.
    state.watchdog = setInterval(function () {
      if (Date.now() - state.lastEventAt > 3 * state.intervalMs + 2000) {
        controller.abort();
        disconnected('no update from the engine');
      }
    }, 1000);
    try {
      await readEvents(res.body, controller.signal);
      if (!controller.signal.aborted) disconnected('the engine closed the stream');
    } catch {
      if (!controller.signal.aborted) disconnected('stream interrupted');
    }
  }

  /** Reads a text/event-stream body: blocks separated by a blank line, `event:` and `data:` lines. */
  async function readEvents(stream, signal) {
    var reader = stream.getReader();
    var decoder = new TextDecoder();
    var buffer = '';
    signal.addEventListener('abort', function () { reader.cancel().catch(function () {}); });
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) return;
      buffer += decoder.decode(chunk.value, { stream: true });
      var cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        var block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        var event = 'message';
        var data = '';
        block.split('\n').forEach(function (line) {
          if (line.indexOf('event:') === 0) event = line.slice(6).trim();
          else if (line.indexOf('data:') === 0) data += line.slice(5).replace(/^ /, '');
        });
        if (data) handleEvent(event, JSON.parse(data));
      }
    }
  }

  function handleEvent(event, payload) {
    state.lastEventAt = Date.now();
    if (event === 'hello') {
      state.history = payload.history || [];
      onSummary(payload.summary, Date.now());
      renderCharts();
    } else if (event === 'summary') {
      if (payload.sample) pushSample(payload.sample);
      onSummary(payload.summary, Date.now());
    }
  }

  /** Every stream is taken: the same data by polling the summary each interval. */
  async function poll() {
    setConn('polling', 'live (polling: every console stream is taken)');
    var since = state.history.length ? state.history[state.history.length - 1].t : 0;
    var res, body;
    try {
      res = await fetch('/api/v1/console/summary?since=' + since, { headers: headers(), cache: 'no-store' });
      body = await readJson(res);
    } catch {
      disconnected('engine unreachable');
      return;
    }
    if (res.status === 401) { tokenRefused(body); return; }
    if (!res.ok || !body || !body.data) { disconnected(describe(res, body)); return; }
    state.retryMs = RETRY_MIN_MS;
    (body.data.history || []).forEach(pushSample);
    onSummary(body.data.summary, Date.now());
    state.pollTimer = setTimeout(poll, state.intervalMs);
  }

  // ------------------------------------------------------------------ rendering

  function onSummary(summary, receivedAt) {
    if (!summary) return;
    state.summary = summary;
    state.offsetMs = summary.server.time - receivedAt;
    state.intervalMs = summary.server.interval_ms || state.intervalMs;
    $('version').textContent = summary.server.version;
    $('uptime').textContent = 'up ' + age(summary.server.uptime_seconds * 1000);
    renderBots();
    renderDecisions(summary.decisions);
    renderLocks(summary.locks);
    renderPdca(summary.pdca);
    renderModels(summary.models);
    renderMacros(summary.macros);
  }

  function sortValue(row, key, type) {
    var v = row[key];
    if (type === 'age') return v === null || v === undefined ? -Infinity : -v;
    if (type === 'number') return v === null || v === undefined ? -Infinity : v;
    return v === null || v === undefined ? '' : String(v).toLowerCase();
  }

  function renderBots() {
    var bots = state.summary.bots;
    var rows = bots.rows.slice();
    var s = state.sort;
    rows.sort(function (a, b) {
      var x = sortValue(a, s.key, s.type);
      var y = sortValue(b, s.key, s.type);
      return (x < y ? -1 : x > y ? 1 : 0) * s.dir || String(a.session_id).localeCompare(String(b.session_id));
    });
    var now = serverNow();
    replaceRows(document.querySelector('#bots-table tbody'), rows.map(function (b) {
      var hpClass = b.hp_pct === null ? '' : b.hp_pct < 15 ? 'bad' : b.hp_pct < 30 ? 'warn' : '';
      return el('tr', { 'data-session': b.session_id, title: b.session_id + ' (' + b.client + ')' },
        td(b.character),
        td(b.map),
        td(b.hp_pct === null ? null : fmt(b.hp_pct, 1), hpClass),
        el('td', { className: 'age', 'data-at': b.last_tick_at, text: age(now - b.last_tick_at) }),
        el('td', { className: b.tier ? 'tier tier-' + b.tier : '', text: b.tier || '—' }),
        el('td', { text: b.action || '—', title: b.reason || '' }),
        td(String(b.queue_depth), 'num'),
        td(String(b.requests_waiting), 'num'));
    }));
    $('bots-count').textContent = bots.total + (bots.truncated ? ' (first ' + bots.rows.length + ' shown)' : '');
    $('bots-empty').hidden = bots.total > 0;
    document.querySelectorAll('#bots-table th').forEach(function (th) {
      th.dataset.sorted = th.dataset.key === s.key ? (s.dir > 0 ? 'asc' : 'desc') : '';
    });
  }

  document.querySelectorAll('#bots-table th').forEach(function (th) {
    th.addEventListener('click', function () {
      var s = state.sort;
      if (s.key === th.dataset.key) s.dir = -s.dir;
      else state.sort = { key: th.dataset.key, type: th.dataset.type, dir: 1 };
      if (state.summary) renderBots();
    });
  });

  // Ages move between updates.
  setInterval(function () {
    var now = serverNow();
    document.querySelectorAll('#bots-table td.age').forEach(function (cell) {
      cell.textContent = age(now - Number(cell.dataset.at));
    });
  }, 1000);

  function renderDecisions(d) {
    var dl = $('decision-totals');
    var items = [['total', d.totals.total]].concat(TIERS.map(function (t) { return [t, d.totals[t]]; }));
    items.push(['pending plans', d.pending_plans]);
    items.push(['p50', d.latency.p50 === null ? '—' : fmt(d.latency.p50, 3) + ' ms']);
    items.push(['p99', d.latency.p99 === null ? '—' : fmt(d.latency.p99, 3) + ' ms']);
    dl.replaceChildren.apply(dl, items.reduce(function (acc, it) {
      acc.push(el('dt', { text: it[0] }), el('dd', { text: typeof it[1] === 'number' ? fmt(it[1], 0) : it[1] }));
      return acc;
    }, []));
  }

  function renderLocks(l) {
    $('locks-mode').textContent = 'order violations: ' + l.order_violations + ' (mode ' + l.order_mode + ')';
    replaceRows(document.querySelector('#locks-table tbody'), l.contention.map(function (r) {
      return el('tr', { 'data-lock': r.lock, className: r.in_use ? (r.waiting > 0 ? 'hot' : '') : 'unused' },
        td(String(r.order), 'num'), td(r.lock), td(r.kind),
        td(fmt(r.acquisitions, 0), 'num'), td(fmt(r.contentions, 0), 'num'), td(pct(r.contentionRate), 'num'),
        td(fmt(r.wait_p99_ms, 3), 'num'), td(fmt(r.hold_p99_ms, 3), 'num'),
        td(fmt(r.timeouts, 0), 'num'), td(fmt(r.deadlocks, 0), 'num'), td(String(r.held), 'num'), td(String(r.waiting), 'num'));
    }));
    $('held-count').textContent = String(l.held_total);
    $('waiting-count').textContent = String(l.waiting_total);
    replaceRows(document.querySelector('#held-table tbody'), l.held.map(function (h) {
      return el('tr', null, td(h.lock), td(h.mode), td(h.task), td(fmt(h.held_ms, 1), 'num'));
    }));
    replaceRows(document.querySelector('#waiting-table tbody'), l.waiting.map(function (w) {
      return el('tr', null, td(w.lock), td(w.mode), td(w.task), td(fmt(w.waiting_ms, 1), 'num'), td(String(w.position), 'num'));
    }));
    replaceRows($('deadlocks'), l.deadlocks.length ? l.deadlocks.map(function (d) {
      return el('li', { text: when(d.at) + ' — ' + d.message + ' (failed: ' + d.failedTask + ' on ' + d.failedLock + ')' });
    }) : [el('li', { className: 'muted', text: 'none' })]);
    replaceRows($('long-holds'), l.long_holds.length ? l.long_holds.map(function (h) {
      return el('li', { text: when(h.at) + ' — ' + h.lock + ' (' + h.mode + ') held ' + fmt(h.heldMs, 0) + ' ms by ' + h.task, title: h.stack || '' });
    }) : [el('li', { className: 'muted', text: 'none' })]);
    var q = l.session_queues;
    $('session-queues').textContent = 'Session turns: ' + q.in_flight + ' running of ' + q.max_in_flight + ', ' + q.waiting_for_slot +
      ' waiting for a slot, ' + q.queued + ' queued behind their session, ' + q.rejected_queue_full + ' refused (queue full).';
  }

  function sectionError(container, section) {
    if (section && section.error) {
      replaceRows(container, [el('p', { className: 'error', text: 'Unavailable: ' + section.error })]);
      return true;
    }
    return false;
  }

  function renderPdca(p) {
    if (p.error) { $('pdca-phase').textContent = 'unavailable'; $('pdca-current').textContent = p.error; return; }
    $('pdca-phase').textContent = p.current_phase;
    $('pdca-running').textContent = p.cycle_running ? '(cycle running)' : '(idle; ' + p.cycle_count + ' cycles finished' +
      (p.next_run_at ? ', next scheduled ' + when(p.next_run_at) : '') + ')';
    var c = p.current_cycle;
    $('pdca-current').textContent = c ? 'Cycle #' + c.cycle_id + ' (' + c.trigger.type + ': ' + c.trigger.reason + ')' +
      (c.strategy ? ' — strategy ' + c.strategy.plan_type + ': ' + c.strategy.goal : '') : 'Planner: ' + p.planner;
    $('pdca-trigger').disabled = p.cycle_running;
    $('pdca-stop').disabled = !p.cycle_running;
    replaceRows(document.querySelector('#pdca-history tbody'), p.history.map(function (h) {
      var outcome = h.outcome ? h.outcome.verdict + (h.outcome.success_rate === null ? '' : ' (' + pct(h.outcome.success_rate) + ', ' + h.outcome.samples + ' samples)') : (h.error || '—');
      return el('tr', { className: 'status-' + h.status },
        td('#' + h.cycle_id), td(h.status), td(h.trigger.type),
        td(h.phases.map(function (x) { return x.phase; }).join(' → ')),
        td(outcome), td(h.decision), td(when(h.started_at)));
    }));
  }

  function renderModels(m) {
    var dl = $('models-list');
    if (sectionError(dl, m)) return;
    var items = [
      ['status', m.status + (m.detail ? ' — ' + m.detail : '')],
      ['active version', m.active ? 'v' + m.active.version + ' (' + m.active.origin + ', promoted ' + when(m.active.promoted_at) + ')' : 'none'],
      ['accuracy', m.active ? pct(m.active.accuracy) : '—'],
      ['inferences', m.active ? fmt(m.active.inference_count, 0) + ' (' + fmt(m.active.failed_inferences, 0) + ' failed, ' + m.active.active_inferences + ' running)' : '—'],
      ['all inferences', fmt(m.total_inferences, 0)],
      ['staged', m.staging ? '#' + m.staging.staging_id + ' ' + m.staging.file + ' (' + m.staging.origin + ', accuracy ' + pct(m.staging.accuracy) + ')' : 'none'],
      ['promotions', fmt(m.promotions, 0) + (m.promotion_in_progress ? ' (one in progress)' : '')],
      ['training', m.training_in_progress ? 'in progress' : 'idle'],
    ];
    dl.replaceChildren.apply(dl, items.reduce(function (acc, it) {
      acc.push(el('dt', { text: it[0] }), el('dd', { text: it[1] }));
      return acc;
    }, []));
  }

  function renderMacros(m) {
    var tbody = document.querySelector('#macros-table tbody');
    if (m.error) { replaceRows(tbody, [el('tr', null, el('td', { colspan: 7, className: 'error', text: 'Unavailable: ' + m.error }))]); return; }
    $('macros-count').textContent = m.macros.length + (m.truncated ? '+' : '') + (m.available ? '' : ' (macro folder absent)') +
      (m.files_rejected ? ', ' + m.files_rejected + ' file(s) refused' : '');
    replaceRows(tbody, m.macros.map(function (x) {
      return el('tr', { 'data-macro': x.name, className: x.errors ? 'hot' : '' },
        td(x.name), td(x.kind), td('v' + x.version, 'num'), td(x.file + ':' + x.line), td(when(x.last_reload)), td(x.status), td(String(x.active_executions), 'num'));
    }));
    var f = m.last_failed_reload;
    $('macro-failure').hidden = !f;
    if (f) {
      $('macro-failure-head').textContent = f.file + ' at ' + when(f.at) + ' — ' + f.code + ': ' + f.message;
      replaceRows($('macro-failure-errors'), f.errors.map(function (e) {
        return el('li', { text: (e.file ? e.file + ' ' : '') + 'line ' + e.line + ': ' + e.message + (e.block ? ' (in ' + e.block + ')' : '') });
      }));
    }
  }

  // ------------------------------------------------------------------ charts

  function pushSample(sample) {
    var last = state.history[state.history.length - 1];
    if (last && sample.t <= last.t) return;
    state.history.push(sample);
    var keep = Math.ceil(600000 / state.intervalMs);
    if (state.history.length > keep) state.history.splice(0, state.history.length - keep);
    renderCharts();
  }

  function chartData() {
    var h = state.history;
    var xs = h.map(function (p) { return p.t / 1000; });
    return {
      rate: [xs].concat(TIERS.map(function (t) { return h.map(function (p) { return p.rates[t]; }); })),
      latency: [xs, h.map(function (p) { return p.p50; }), h.map(function (p) { return p.p99; })],
    };
  }

  function makeCharts() {
    if (typeof window.uPlot !== 'function') return null;
    var width = function (id) { return Math.max(280, $(id).clientWidth || 480); };
    var axes = [{}, { size: 60 }];
    var rate = new window.uPlot({
      width: width('chart-rate'), height: 220, axes: axes,
      scales: { y: { range: function (u, min, max) { return [0, Math.max(1, max)]; } } },
      series: [{}].concat(TIERS.map(function (t) { return { label: t, stroke: TIER_COLORS[t], width: 2, value: function (u, v) { return v === null ? '—' : v + '/s'; } }; })),
    }, [[], [], [], [], []], $('chart-rate'));
    var latency = new window.uPlot({
      width: width('chart-latency'), height: 220, axes: axes,
      scales: { y: { range: function (u, min, max) { return [0, Math.max(0.1, max)]; } } },
      series: [{}, { label: 'p50', stroke: '#2b7bb9', width: 2 }, { label: 'p99', stroke: '#d9534f', width: 2 }],
    }, [[], [], []], $('chart-latency'));
    window.addEventListener('resize', function () {
      rate.setSize({ width: width('chart-rate'), height: 220 });
      latency.setSize({ width: width('chart-latency'), height: 220 });
    });
    return { rate: rate, latency: latency };
  }

  function renderCharts() {
    if (!state.charts) state.charts = makeCharts();
    var data = chartData();
    var n = state.history.length;
    var maxRate = 0;
    state.history.forEach(function (p) {
      var total = TIERS.reduce(function (s, t) { return s + p.rates[t]; }, 0);
      if (total > maxRate) maxRate = total;
    });
    $('chart-rate').dataset.points = String(n);
    $('chart-rate').dataset.maxRate = String(maxRate);
    $('chart-latency').dataset.points = String(state.history.filter(function (p) { return p.p50 !== null; }).length);
    if (!state.charts) return;
    state.charts.rate.setData(data.rate);
    state.charts.latency.setData(data.latency);
  }

  // ------------------------------------------------------------------ PDCA actions

  function confirmDialog(text) {
    return new Promise(function (resolve) {
      var dialog = $('confirm');
      $('confirm-text').textContent = text;
      dialog.returnValue = '';
      dialog.addEventListener('close', function onClose() {
        dialog.removeEventListener('close', onClose);
        resolve(dialog.returnValue === 'ok');
      });
      dialog.showModal();
    });
  }

  async function pdcaAction(path, question, done) {
    if (!(await confirmDialog(question))) return;
    var out = $('pdca-result');
    out.textContent = '…';
    try {
      var res = await fetch('/api/v1/pdca/' + path, { method: 'POST', headers: Object.assign(headers(), { 'content-type': 'application/json' }), body: JSON.stringify({ reason: 'operator console' }) });
      var body = await readJson(res);
      if (res.status === 401) { tokenRefused(body); return; }
      out.textContent = res.ok ? done(body.data) : describe(res, body);
      out.className = res.ok ? 'ok' : 'error';
    } catch {
      out.textContent = 'The engine could not be reached.';
      out.className = 'error';
    }
  }

  $('pdca-trigger').addEventListener('click', function () {
    pdcaAction('trigger', 'Start a PDCA cycle now? It plans, deploys a strategy and measures it.', function (d) {
      return 'Cycle #' + d.cycle_id + ' started (strategy ' + d.strategy_id + ').';
    });
  });
  $('pdca-stop').addEventListener('click', function () {
    pdcaAction('stop', 'Stop the running PDCA cycle at its next step?', function (d) {
      return d.cycle_id === null ? 'No cycle was running.' : 'Cycle #' + d.cycle_id + ': ' + d.status + '.';
    });
  });

  start();
})();
