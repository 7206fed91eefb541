// The status panel: mode, components and a memory chart, from GET /api/status every
// 2 seconds. The chart is drawn on a canvas by hand (no libraries: the page must work
// offline, served by the binary alone). It shows the last five minutes of the
// process's resident memory and the machine's available memory, with the memory
// governor's budget and its warn and critical levels as horizontal lines, so a
// reader sees at a glance how close AXIOM is to shedding load.

const POLL_MS = 2000;
const KEEP = 150; // samples: 5 minutes at one every 2 s
const MB = 1024 * 1024;

function fmtBytes(b) {
  if (!(b >= 0)) return '?';
  if (b >= 1024 * MB) return (b / (1024 * MB)).toFixed(1) + ' GB';
  return Math.round(b / MB) + ' MB';
}

export class StatusPanel {
  constructor(els, authHeader) {
    this.els = els; // {mode, level, components, sessions, note, canvas, legend}
    this.auth = authHeader;
    this.samples = []; // {t, rss, avail}
    this.last = null;
    this.failures = 0;
    this.polls = 0;
    this.timer = null;
  }

  start() {
    this.poll();
    this.timer = setInterval(() => this.poll(), POLL_MS);
    window.addEventListener('resize', () => this.draw());
  }

  async poll() {
    try {
      const r = await fetch('/api/status', { headers: this.auth, cache: 'no-store' });
      if (!r.ok) throw new Error('HTTP ' + r.status);
      const s = await r.json();
      this.failures = 0;
      this.polls++;
      this.update(s);
    } catch (e) {
      this.failures++;
      this.els.note.textContent = 'Status unavailable: ' + e.message;
    }
  }

  update(s) {
    this.last = s;
    const g = s.governor || {};
    const mode = s.mode || '?';
    const eff = s.effective_mode || g.mode || mode;
    this.els.mode.textContent = eff === mode ? mode : `${eff} (configured: ${mode})`;
    const level = g.level || 'unknown';
    this.els.level.textContent = level;
    this.els.level.dataset.level = level;
    const sess = s.sessions || {};
    this.els.sessions.textContent = `${sess.count ?? '?'} of ${sess.max ?? '?'}`;

    const list = this.els.components;
    list.textContent = '';
    const comps = g.components || [];
    for (const c of comps) {
      const li = document.createElement('li');
      li.dataset.state = c.state;
      const name = document.createElement('span');
      name.className = 'comp-name';
      name.textContent = c.name;
      const st = document.createElement('span');
      st.className = 'comp-state';
      st.textContent = c.state + (c.resident_bytes > 0 ? ' · ' + fmtBytes(c.resident_bytes) : '');
      li.append(name, st);
      if (c.reason) li.title = c.reason;
      list.append(li);
    }
    if (!comps.length) {
      const li = document.createElement('li');
      li.textContent = 'no components registered';
      list.append(li);
    }
    const notes = [];
    for (const d of g.degraded || []) notes.push(`${d.component}: ${d.effect} (${d.reason})`);
    if (s.speech_unavailable) notes.push(s.speech_unavailable);
    if (s.brain_unavailable) notes.push(s.brain_unavailable);
    this.els.note.textContent = notes.join(' · ');

    const rss = g.rss_bytes ?? (s.memory || {}).rss_bytes;
    this.samples.push({ t: Date.now(), rss, avail: g.mem_available_bytes });
    if (this.samples.length > KEEP) this.samples.shift();
    this.draw();
  }

  draw() {
    const cv = this.els.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = cv.clientWidth, h = cv.clientHeight;
    if (!w || !h) return;
    cv.width = Math.round(w * dpr);
    cv.height = Math.round(h * dpr);
    const c = cv.getContext('2d');
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    c.clearRect(0, 0, w, h);
    const css = getComputedStyle(cv);
    const col = (v, d) => css.getPropertyValue(v).trim() || d;
    const g = (this.last && this.last.governor) || {};
    const budget = g.budget_bytes > 0 ? g.budget_bytes : 0;
    const levels = [];
    if (budget) {
      levels.push({ v: budget, label: 'budget ' + fmtBytes(budget), color: col('--fg', '#222') });
      if (g.critical_pct)
        levels.push({ v: (budget * g.critical_pct) / 100, label: `critical ${g.critical_pct}%`,
          color: col('--crit', '#b3261e') });
      if (g.warn_pct)
        levels.push({ v: (budget * g.warn_pct) / 100, label: `warn ${g.warn_pct}%`,
          color: col('--warn', '#9a6700') });
    }
    // A log scale: the process (tens of MB) and the machine (GB) both stay readable.
    let top = budget, bottom = Infinity;
    for (const p of this.samples)
      for (const v of [p.rss, p.avail]) if (v > 0) { top = Math.max(top, v); bottom = Math.min(bottom, v); }
    for (const l of levels) bottom = Math.min(bottom, l.v);
    if (!top) top = 1024 * MB;
    if (!(bottom < Infinity)) bottom = top / 100;
    const GB = 1024 * MB;
    const ticks = [MB, 10 * MB, 100 * MB, GB, 10 * GB, 100 * GB, 1024 * GB];
    let lo = MB;
    for (const t of ticks) if (t <= bottom / 1.2) lo = t;
    const hi = top * 1.25;
    const padL = 44, padR = 4, padT = 6, padB = 16;
    const pw = w - padL - padR, ph = h - padT - padB;
    const lr = Math.log(hi) - Math.log(lo);
    const y = (v) => padT + ph - ((Math.log(Math.max(v, lo)) - Math.log(lo)) / lr) * ph;
    const span = (KEEP - 1) * POLL_MS;
    const now = Date.now();
    const x = (t) => padL + pw - ((now - t) / span) * pw;

    c.font = '11px system-ui, sans-serif';
    c.lineWidth = 1;
    c.strokeStyle = col('--grid', '#ddd');
    c.strokeRect(padL + 0.5, padT + 0.5, pw - 1, ph - 1);
    c.fillStyle = col('--muted', '#666');
    for (const v of ticks) {
      if (v < lo || v > hi) continue;
      const yy = Math.round(y(v)) + 0.5;
      c.beginPath();
      c.moveTo(padL, yy);
      c.lineTo(padL + pw, yy);
      c.stroke();
      c.fillText(v >= GB ? v / GB + ' GB' : v / MB + ' MB', 2, yy + 4);
    }
    // Level lines, their labels at the right end, pushed apart when close.
    let labelY = -Infinity;
    for (const l of [...levels].sort((a, b) => y(a.v) - y(b.v))) {
      const yy = Math.round(y(l.v)) + 0.5;
      c.setLineDash(l.label.startsWith('budget') ? [] : [4, 3]);
      c.strokeStyle = l.color;
      c.beginPath();
      c.moveTo(padL, yy);
      c.lineTo(padL + pw, yy);
      c.stroke();
      c.fillStyle = l.color;
      labelY = Math.max(yy + 11, labelY + 11);
      const tw = c.measureText(l.label).width;
      c.fillText(l.label, padL + pw - tw - 4, labelY);
    }
    c.setLineDash([]);
    const series = [
      { key: 'avail', color: col('--avail', '#2f6fb0') },
      { key: 'rss', color: col('--rss', '#1d7a46') },
    ];
    c.lineWidth = 2;
    for (const s of series) {
      c.strokeStyle = s.color;
      c.beginPath();
      let started = false;
      for (const p of this.samples) {
        const v = p[s.key];
        if (!(v >= 0)) continue;
        if (!started) c.moveTo(x(p.t), y(v));
        else c.lineTo(x(p.t), y(v));
        started = true;
      }
      c.stroke();
      const lastP = this.samples[this.samples.length - 1];
      if (lastP && lastP[s.key] >= 0) {
        c.fillStyle = s.color;
        c.beginPath();
        c.arc(x(lastP.t), y(lastP[s.key]), 3, 0, 2 * Math.PI);
        c.fill();
      }
    }
    c.fillStyle = col('--muted', '#666');
    c.fillText('5 min ago', padL, h - 3);
    const nowLabel = 'now';
    c.fillText(nowLabel, padL + pw - c.measureText(nowLabel).width, h - 3);
    const last = this.samples[this.samples.length - 1];
    if (last) {
      this.els.legend.textContent =
        `process ${fmtBytes(last.rss)} · available ${fmtBytes(last.avail)}` +
        (budget ? ` · budget ${fmtBytes(budget)}, in use ${Math.round(g.use_pct || 0)}%` : '');
      cv.setAttribute('aria-label', 'Memory chart: ' + this.els.legend.textContent);
    }
  }
}
