'use strict';

/**
 * The operator page: GET /v1/operator/overview every two seconds with the key the operator entered, drawn with the
 * DOM's own methods (data only ever reaches the page as text); a presence button sends PATCH /v1/agents/{id}.
 */
(() => {
  const KEY_STORAGE = 'vip-router.apiKey';
  const REFRESH_MS = 2000;
  const SVG = 'http://www.w3.org/2000/svg';
  const KNOWN_TIER_COLORS = { vip: '#7b3fe4', regular: '#2f7fd3' };
  const PALETTE = ['#e08a00', '#17a08a', '#d14b8f', '#5b6b7b', '#9b7a2f', '#3aa0d8'];

  const $ = (selector) => document.querySelector(selector);
  let timer;

  // ------------------------------------------------------------------------------------------ the key

  const storedKey = () => sessionStorage.getItem(KEY_STORAGE);

  /** `/ui#key=vr_…` opens the page with that key; it leaves the address bar (and history) at once. */
  function takeKeyFromFragment() {
    const match = /(?:^#|&)key=([^&]+)/.exec(location.hash);
    if (!match) return;
    sessionStorage.setItem(KEY_STORAGE, decodeURIComponent(match[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }

  function askForKey(message) {
    clearTimeout(timer);
    sessionStorage.removeItem(KEY_STORAGE);
    $('#board').hidden = true;
    $('#forget-key').hidden = true;
    $('#key-form').hidden = false;
    $('#status').textContent = 'no API key yet';
    showError(message);
    $('#key-input').focus();
  }

  function start() {
    $('#key-form').hidden = true;
    $('#forget-key').hidden = false;
    $('#board').hidden = false;
    showError();
    refresh();
  }

  // ------------------------------------------------------------------------------------------ the API

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(method, path, body) {
    const headers = { authorization: `Bearer ${storedKey()}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(path, { method, headers, cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body) });
    const answer = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, answer?.error?.message ?? `${response.status} ${response.statusText}`);
    return answer;
  }

  async function refresh() {
    clearTimeout(timer);
    if (!storedKey() || document.hidden) return;
    try {
      render(await api('GET', '/v1/operator/overview'));
      $('#status').textContent = `updated ${clock(new Date())}`;
      if ($('#error').dataset.source === 'refresh') showError();
    } catch (error) {
      if (error.status === 401 || error.status === 403) return askForKey(`This key cannot open the page: ${error.message}`);
      $('#status').textContent = `update failed at ${clock(new Date())}; trying again`;
      showError(`Could not refresh: ${error.message}`, 'refresh');
    }
    timer = setTimeout(refresh, REFRESH_MS);
  }

  async function setPresence(agent, button) {
    button.disabled = true;
    try {
      await api('PATCH', `/v1/agents/${encodeURIComponent(agent.id)}`, { online: !agent.online });
      showError();
      await refresh();
    } catch (error) {
      showError(`Could not set ${agent.name} ${agent.online ? 'offline' : 'online'}: ${error.message}`);
      button.disabled = false;
    }
  }

  function showError(message, source = 'action') {
    const banner = $('#error');
    banner.hidden = !message;
    banner.textContent = message ?? '';
    banner.dataset.source = message ? source : '';
  }

  // ------------------------------------------------------------------------------------------ drawing

  /** An element with text and attributes; children appended as given. */
  function el(tag, { text, className, attrs } = {}, ...children) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = String(text);
    if (className) node.className = className;
    for (const [name, value] of Object.entries(attrs ?? {})) node.setAttribute(name, value);
    node.append(...children);
    return node;
  }

  function fillTable(section, rows, columns, emptyText) {
    const body = $(`#${section} tbody`);
    $(`#${section} .count`).textContent = `(${rows.length})`;
    if (rows.length === 0) {
      body.replaceChildren(el('tr', {}, el('td', { text: emptyText, className: 'empty', attrs: { colspan: String(columns) } })));
    } else {
      body.replaceChildren(...rows);
    }
  }

  function render(overview) {
    renderAgents(overview.agents);
    renderQueue(overview.queue);
    renderConversations(overview.recent, overview.recentError);
    renderChart(overview.timeToAssignment, new Date(overview.generatedAt));
    renderFirstResponse(overview.firstResponse?.tiers ?? []);
    renderGivenUp(overview.givenUp ?? []);
  }

  function renderGivenUp(givenUp) {
    const rows = givenUp.map((effect) =>
      el(
        'tr',
        { attrs: { 'data-contact-id': effect.contactId } },
        el('td', { text: effect.contactId }),
        el('td', { text: effect.effect }),
        el('td', { text: effect.reason }),
        el('td', { text: new Date(effect.givenUpAt).toLocaleString() }),
      ),
    );
    fillTable('given-up', rows, 4, 'Nothing given up: every effect reached respond.io or was refused by it.');
  }

  function renderAgents(agents) {
    const rows = agents.map((agent) => {
      const toggle = el('button', { text: agent.online ? 'Set offline' : 'Set online', attrs: { type: 'button' } });
      toggle.addEventListener('click', () => setPresence(agent, toggle));
      const bar = el('span');
      bar.style.width = `${Math.min(100, agent.capacity > 0 ? (100 * agent.load) / agent.capacity : 100)}%`;
      return el(
        'tr',
        { attrs: { 'data-agent-id': agent.id } },
        el('td', {}, el('div', { text: agent.name }), el('div', { text: agent.id, className: 'sub' })),
        el('td', {}, el('div', { text: agent.team }), el('div', { text: agent.role, className: 'sub' })),
        el(
          'td',
          {},
          el('div', { className: 'load' }, el('span', { text: `${agent.load} / ${agent.capacity}`, className: 'load-text' }), el('div', { className: agent.load >= agent.capacity ? 'bar full' : 'bar' }, bar)),
        ),
        el('td', {}, el('span', { text: agent.online ? 'online' : 'offline', className: `badge presence ${agent.online ? 'online' : 'offline'}` }), ' ', toggle),
      );
    });
    fillTable('agents', rows, 4, 'No agents yet: PUT /v1/agents/{agentId} adds one.');
  }

  function renderQueue(queue) {
    const rows = queue.map((entry) =>
      el(
        'tr',
        { attrs: { 'data-contact-id': entry.contactId } },
        el('td', { text: entry.position }),
        el('td', { text: entry.contactId }),
        el('td', {}, tierLabel(entry.tier)),
        // Risen with the wait (queue aging): the tier's priority → what the queue is served by now.
        el('td', { text: entry.effectivePriority === entry.priority ? entry.priority : `${entry.priority} → ${entry.effectivePriority}` }),
        el('td', { text: duration(entry.waitingMs / 1000) }),
      ),
    );
    fillTable('queue', rows, 5, 'Nobody is waiting.');
  }

  function renderConversations(recent, problem) {
    const rows = recent.map((conversation) => {
      const path = conversation.path.map((step) => `${step.agentId} (${step.via.replace(/_/g, ' ')})`).join(' → ');
      const history = /^https?:\/\//.test(conversation.historyUrl ?? '')
        ? el('a', { text: 'Temporal UI ↗', attrs: { href: conversation.historyUrl, target: '_blank', rel: 'noopener noreferrer' } })
        : el('span', { text: conversation.workflowId, className: 'sub' });
      return el(
        'tr',
        { attrs: { 'data-contact-id': conversation.contactId } },
        el('td', { text: conversation.contactId }),
        el('td', {}, el('span', { text: conversation.state.replace(/_/g, ' '), className: `badge state ${conversation.state}` })),
        el('td', {}, conversation.tier ? tierLabel(conversation.tier) : el('span', { text: '—', className: 'sub' })),
        el('td', { text: path || '—', className: 'path' }),
        el('td', { text: clock(new Date(conversation.startedAt)), attrs: { title: conversation.startedAt } }),
        el('td', {}, history),
      );
    });
    fillTable('conversations', rows, 6, problem ?? 'No conversation yet.');
  }

  function tierColor(tier) {
    if (KNOWN_TIER_COLORS[tier]) return KNOWN_TIER_COLORS[tier];
    let hash = 0;
    for (const char of tier) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
    return PALETTE[hash % PALETTE.length];
  }

  function tierLabel(tier) {
    const label = el('span', { text: tier, className: 'tier' });
    label.style.color = tierColor(tier);
    return label;
  }

  // ------------------------------------------------------------------------------------------ the chart

  const CHART = { width: 640, height: 240, left: 48, right: 14, top: 12, bottom: 26 };

  function svg(tag, attrs = {}, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** One line per tier: the average time to first assignment of each minute's conversations, over the last hour. */
  function renderChart({ minutes, points }, now) {
    const { width, height, left, right, top, bottom } = CHART;
    const from = now.getTime() - minutes * 60_000;
    const { max: yMax, divisions } = axisFor(Math.max(...points.map((p) => p.averageSeconds), 0));
    const x = (time) => left + ((time - from) / (minutes * 60_000)) * (width - left - right);
    const y = (seconds) => height - bottom - (seconds / yMax) * (height - top - bottom);
    const nodes = [];

    for (let i = 0; i <= divisions; i++) {
      const seconds = (yMax * i) / divisions;
      nodes.push(svg('line', { x1: left, x2: width - right, y1: y(seconds), y2: y(seconds), class: 'axis' }));
      nodes.push(svg('text', { x: left - 6, y: y(seconds) + 4, 'text-anchor': 'end' }, duration(seconds)));
    }
    for (let ago = minutes; ago >= 0; ago -= 15) {
      const time = now.getTime() - ago * 60_000;
      nodes.push(svg('text', { x: x(time), y: height - 8, 'text-anchor': 'middle' }, ago === 0 ? 'now' : clock(new Date(time)).slice(0, 5)));
    }

    const byTier = new Map();
    for (const point of points) byTier.set(point.tier, [...(byTier.get(point.tier) ?? []), point]);
    for (const [tier, series] of byTier) {
      const color = tierColor(tier);
      const group = svg('g', { 'data-tier': tier, class: 'series' });
      const coordinates = series.map((p) => [x(new Date(p.minute).getTime() + 30_000), y(p.averageSeconds)]);
      if (coordinates.length > 1) {
        group.append(svg('polyline', { points: coordinates.map((c) => c.join(',')).join(' '), fill: 'none', stroke: color, 'stroke-width': 2 }));
      }
      series.forEach((p, i) => {
        const dot = svg('circle', { cx: coordinates[i][0], cy: coordinates[i][1], r: 3.5, fill: color, class: 'point' });
        dot.append(svg('title', {}, `${tier} · ${clock(new Date(p.minute)).slice(0, 5)} · ${p.conversations} assigned · average ${duration(p.averageSeconds)}, longest ${duration(p.maxSeconds)}`));
        group.append(dot);
      });
      nodes.push(group);
    }
    if (byTier.size === 0) {
      nodes.push(svg('text', { x: (left + width - right) / 2, y: (top + height - bottom) / 2, 'text-anchor': 'middle' }, 'Nothing assigned in the last hour'));
    }
    $('#chart svg').replaceChildren(...nodes);

    const legend = [...byTier].map(([tier, series]) => {
      const assigned = series.reduce((n, p) => n + p.conversations, 0);
      const average = series.reduce((sum, p) => sum + p.averageSeconds * p.conversations, 0) / assigned;
      const item = el('li', { attrs: { 'data-tier': tier } }, el('span', { text: `${tier}: ${assigned} assigned, average ${duration(average)}` }));
      item.style.color = tierColor(tier);
      return item;
    });
    $('#chart .legend').replaceChildren(...legend);
  }

  /** Beside time to assignment: per tier, how fast assignees first wrote to the contact, and how many let the time pass. */
  function renderFirstResponse(tiers) {
    const items = tiers.map((t) => {
      const answered = t.answered > 0 ? `${t.answered} answered, average ${duration(t.averageSeconds)}, longest ${duration(t.maxSeconds)}` : 'none answered';
      const item = el('li', { attrs: { 'data-tier': t.tier } }, el('span', { text: `${t.tier}: ${answered}; ${t.missed} missed` }));
      item.style.color = tierColor(t.tier);
      return item;
    });
    if (items.length === 0) items.push(el('li', { text: 'No first response timed in the last hour', className: 'empty' }));
    $('#chart .first-response').replaceChildren(...items);
  }

  /** The smallest axis that holds `seconds`, divided so each line falls on a round duration. */
  const AXES = [[1, 4], [2, 4], [5, 5], [10, 5], [20, 4], [30, 3], [60, 4], [120, 4], [300, 5], [600, 5], [1200, 4], [1800, 3], [3600, 4]];
  function axisFor(seconds) {
    const [max, divisions] = AXES.find(([max]) => max >= seconds) ?? [Math.ceil(seconds / 3600) * 3600, 4];
    return { max, divisions };
  }

  // ------------------------------------------------------------------------------------------ text

  function clock(date) {
    return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  }

  function duration(seconds) {
    seconds = Math.max(0, seconds);
    if (seconds < 1) return `${Number(seconds.toFixed(2))} s`;
    if (seconds < 10) return `${Number(seconds.toFixed(1))} s`;
    if (seconds < 60) return `${Math.round(seconds)} s`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${String(Math.floor(seconds % 60)).padStart(2, '0')}s`;
    return `${Math.floor(seconds / 3600)}h ${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
  }

  // ------------------------------------------------------------------------------------------ start

  $('#key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const key = $('#key-input').value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY_STORAGE, key);
    $('#key-input').value = '';
    start();
  });
  $('#forget-key').addEventListener('click', () => askForKey());
  // A hidden tab asks nothing; it catches up when shown again.
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && storedKey()) refresh();
  });

  takeKeyFromFragment();
  if (storedKey()) start();
  else askForKey();
})();
