// AXIOM's browser front end: one WebSocket session per page (/ws), the microphone
// streamed as 16 kHz s16le frames, the answers shown and played, typed questions,
// item cards and the status panel. Everything is served by the axiom binary itself:
// no CDN, no framework, nothing fetched from elsewhere, so it works offline.
//
// Protocol (README, section server): the server drives the turn with
//   speech_start, [partial...], speech_end, thinking, [trigger_card], [load_3d_model],
//   speaking{text} + one WAV per sentence, [timings], ready_to_listen.
// As the reference front end does, the microphone is muted (frames are not sent) on
// thinking, speaking and speech_end, and unmuted on idle and ready_to_listen; here it
// also waits for local playback to finish, so AXIOM never hears itself.
//
// window.axiomTrace records what happened (events in order, audio decoded and played,
// frames sent) for the end-to-end test and for anyone debugging in the console.

import { Player } from './player.js';
import { StatusPanel } from './status.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const token = params.get('token') || '';
const authHeader = token ? { Authorization: 'Bearer ' + token } : {};

// This browser's client id: 128 random bits kept in localStorage and sent in hello, so
// the server keeps one conversation per user across reloads (and, with
// history.persist, across restarts). It names a history, so it is random, never
// derived from anything about the user. Private windows or blocked storage just get
// a new one per page.
function clientId() {
  const key = 'axiom.client_id';
  let id = null;
  try {
    id = localStorage.getItem(key);
  } catch (_) {}
  if (!id || !/^[A-Za-z0-9_-]{8,36}$/.test(id)) {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b); // available on plain http too, unlike randomUUID
    id = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    try {
      localStorage.setItem(key, id);
    } catch (_) {}
  }
  return id;
}

const trace = (window.axiomTrace = {
  connected: false,
  hello: null,
  events: [], // event or state names in arrival order; "audio" for binary
  user: [], // final user lines (spoken or typed)
  partials: 0,
  answers: [], // {text, intent, path}
  errors: [],
  cards: [],
  framesSent: 0,
  bargeIns: 0,
  audioDropped: 0,
  state: 'idle',
  audio: null, // the player's counters
});

const ui = {
  state: $('state'),
  stateText: $('state-text'),
  conn: $('conn'),
  mic: $('mic'),
  stop: $('stop'),
  interrupt: $('interrupt'),
  log: $('transcript'),
  caption: $('caption'),
  form: $('ask'),
  question: $('question'),
  cards: $('cards'),
  cardsEmpty: $('cards-empty'),
  model: $('model'),
};

let ws = null;
let reconnectDelay = 1000;
let micOn = false;
let muted = false;
let unmuteWhenQuiet = false;
let lastAnswerEl = null;
let answerEl = null; // this turn's answer line, once speaking has arrived
let turnOpen = false; // between thinking and ready_to_listen
let dropAudio = false; // the answer was stopped: its late audio is not played

const player = new Player(() => {
  if (unmuteWhenQuiet) setMuted(false);
  if (trace.state === 'speaking' && !turnOpen) setState(micOn ? 'listening' : 'idle');
});
trace.audio = player.stats;

// ---- state, mute --------------------------------------------------------------------

const STATE_TEXT = {
  idle: 'Idle',
  listening: 'Listening',
  hearing: 'Hearing you…',
  thinking: 'Thinking…',
  speaking: 'Speaking',
};

function setState(s) {
  trace.state = s;
  ui.state.dataset.state = s;
  ui.stateText.textContent = STATE_TEXT[s] || s;
  ui.stop.disabled = !(s === 'thinking' || s === 'speaking');
}

function setMuted(m) {
  muted = m;
  unmuteWhenQuiet = false;
  ui.mic.dataset.muted = m ? 'true' : 'false';
}

// Unmute now, or once the answer has finished playing.
function unmuteSoon() {
  if (player.busy) unmuteWhenQuiet = true;
  else setMuted(false);
}

// ---- transcript ----------------------------------------------------------------------

function addLine(kind, text, meta) {
  const li = document.createElement('li');
  li.className = 'msg ' + kind;
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = kind === 'user' ? 'You' : kind === 'error' ? 'Problem' : 'AXIOM';
  const p = document.createElement('p');
  p.textContent = text;
  li.append(who, p);
  if (meta) {
    const m = document.createElement('span');
    m.className = 'meta';
    m.textContent = meta;
    li.append(m);
  }
  ui.log.append(li);
  ui.log.scrollTop = ui.log.scrollHeight;
  return li;
}

function addMeta(li, text) {
  if (!li) return;
  let m = li.querySelector('.meta');
  if (!m) {
    m = document.createElement('span');
    m.className = 'meta';
    li.append(m);
  }
  m.textContent = m.textContent ? m.textContent + ' · ' + text : text;
}

// The server may report one failure twice (an error event and an idle state with
// the same message); show it once per turn.
let lastErrorShown = '';
function showError(text) {
  trace.errors.push(text);
  if (text === lastErrorShown) return;
  lastErrorShown = text;
  addLine('error', text);
}

// A spoken question: partials show in the caption; the last one becomes the user's
// line when the server starts thinking (or the final transcript, when sent).
let partialText = '';
let spokenTurn = false; // speech_start seen, its question not yet shown
function setCaption(text) {
  partialText = text;
  ui.caption.textContent = text;
  ui.caption.hidden = !text;
}

let pendingSpokenLine = null; // "(spoken question)" shown until its transcript comes
function finishSpokenLine(finalText) {
  const text = (finalText || partialText || '').trim();
  setCaption('');
  if (!text) {
    // Recognised after thinking (no decoder was free during speech): the transcript
    // event fills this line in.
    addLine('user', '(spoken question)', 'spoken');
    pendingSpokenLine = ui.log.lastElementChild;
    return;
  }
  pendingSpokenLine = null;
  trace.user.push(text);
  addLine('user', text, 'spoken');
}

// ---- cards -----------------------------------------------------------------------------

function showCard(ev) {
  const idx = Number(ev.card_index);
  trace.cards.push(idx);
  ui.cardsEmpty.hidden = true;
  let card = ui.cards.querySelector(`[data-index="${idx}"]`);
  if (!card) {
    card = document.createElement('li');
    card.className = 'card';
    card.dataset.index = String(idx);
    const h = document.createElement('h3');
    const kw = document.createElement('p');
    h.textContent = ev.product_name || ev.keyword || `Item ${idx}`;
    kw.textContent = ev.keyword ? `you said “${ev.keyword}”` : '';
    const num = document.createElement('span');
    num.className = 'card-num';
    num.textContent = `card ${idx}`;
    card.append(h, kw, num);
  }
  for (const c of ui.cards.children) c.removeAttribute('aria-current');
  card.setAttribute('aria-current', 'true');
  ui.cards.prepend(card);
  while (ui.cards.children.length > 8) ui.cards.lastElementChild.remove();
}

function showModel(ev) {
  ui.model.hidden = false;
  ui.model.textContent = `3D model: ${ev.model_name || ''} (${ev.model_path || ''})`;
}

// ---- messages from the server ------------------------------------------------------------

function onJson(msg) {
  const name = msg.event || msg.state || '?';
  trace.events.push(name);
  switch (msg.event) {
    case 'hello':
      trace.hello = msg;
      ui.interrupt.disabled = !msg.barge_in;
      return;
    case 'speech_start':
      spokenTurn = true;
      setCaption('');
      ui.caption.textContent = '…';
      ui.caption.hidden = false;
      setState('hearing');
      return;
    case 'partial':
      trace.partials++;
      if (msg.text) setCaption(msg.text);
      return;
    case 'transcript':
    case 'final':
      // The final transcript of a spoken question: before thinking when it was heard
      // live, after it when the utterance was recognised whole (its line waits).
      if (pendingSpokenLine && msg.text) {
        pendingSpokenLine.querySelector('p').textContent = msg.text;
        trace.user.push(msg.text);
        pendingSpokenLine = null;
      } else if (spokenTurn) {
        finishSpokenLine(msg.text);
      }
      spokenTurn = false;
      return;
    case 'speech_end':
      setMuted(true);
      return;
    case 'trigger_card':
      showCard(msg);
      return;
    case 'load_3d_model':
      showModel(msg);
      return;
    case 'barge_in':
      // The rest of the answer is dropped (its ready_to_listen too): the turn is over.
      trace.bargeIns++;
      dropAudio = true;
      player.stop();
      addMeta(lastAnswerEl, 'interrupted');
      turnOpen = false;
      setState(micOn ? 'listening' : 'idle');
      setMuted(false);
      return;
    case 'timings': {
      const parts = [];
      // A stage that did not run (no recognition for a typed question) reports 0.
      for (const k of ['stt_ms', 'brain_ms', 'tts_ms', 'first_audio_ms']) {
        const v = msg[k];
        if (typeof v !== 'number' || (v <= 0 && k !== 'brain_ms')) continue;
        parts.push(`${k.replace('_ms', '').replace('_', ' ')} ${v < 1 ? '<1' : Math.round(v)} ms`);
      }
      if (parts.length) addMeta(lastAnswerEl, parts.join(', '));
      return;
    }
    case 'error':
      showError(msg.message || msg.code || 'error');
      return;
    case 'ready_to_listen':
      turnOpen = false;
      answerEl = null;
      if (!player.busy) setState(micOn ? 'listening' : 'idle');
      unmuteSoon();
      return;
    default:
      break;
  }
  switch (msg.state) {
    case 'thinking':
      turnOpen = true;
      answerEl = null;
      dropAudio = false;
      lastErrorShown = '';
      if (spokenTurn) finishSpokenLine(msg.transcript);
      spokenTurn = false;
      setMuted(true);
      setState('thinking');
      return;
    case 'speaking': {
      dropAudio = false;
      if (!ui.interrupt.checked) setMuted(true);
      else unmuteSoon();
      if (msg.transcript && !trace.user.length) finishSpokenLine(msg.transcript);
      const text = msg.text || '';
      const answer = { text, intent: msg.intent || '', path: msg.path || '' };
      const meta = [msg.intent, msg.path].filter(Boolean).join(' · ');
      if (answerEl) {
        // A streamed (LLM) answer repeats speaking with the text so far: one line grows.
        answerEl.querySelector('p').textContent = text;
        trace.answers[trace.answers.length - 1] = answer;
      } else {
        trace.answers.push(answer);
        answerEl = lastAnswerEl = addLine('axiom', text, meta);
      }
      setState('speaking');
      return;
    }
    case 'idle':
      if (msg.error) showError(msg.error);
      setCaption('');
      spokenTurn = false;
      if (!turnOpen || msg.error) {
        if (!player.busy) setState(micOn ? 'listening' : 'idle');
        unmuteSoon();
      }
      return;
    default:
      if (!msg.event) trace.events.pop(); // not a message this page knows
  }
}

function onBinary(buf) {
  trace.events.push('audio');
  if (dropAudio) {
    trace.audioDropped++;
    return;
  }
  if (trace.state !== 'speaking') setState('speaking');
  player.enqueue(buf);
}

// ---- connection ----------------------------------------------------------------------

function setConn(text, ok) {
  ui.conn.textContent = text;
  ui.conn.dataset.ok = ok ? 'true' : 'false';
}

function connect() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const url = `${proto}//${location.host}/ws` + (token ? '?token=' + encodeURIComponent(token) : '');
  setConn('Connecting…', false);
  ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => {
    trace.connected = true;
    reconnectDelay = 1000;
    setConn('Connected', true);
    ws.send(
      JSON.stringify({ event: 'hello', audio_format: 'wav', partials: true, timings: true, client_id: clientId() }),
    );
    ws.send(JSON.stringify({ event: 'client_ready' }));
  };
  ws.onmessage = (e) => {
    if (typeof e.data === 'string') {
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch (_) {
        return;
      }
      onJson(msg);
    } else {
      onBinary(e.data);
    }
  };
  ws.onclose = (e) => {
    trace.connected = false;
    const why = e.reason ? `: ${e.reason}` : '';
    const secs = Math.round(reconnectDelay / 1000);
    setConn(`Disconnected (${e.code}${why}); retrying in ${secs} s`, false);
    if (e.code === 1013 || e.code === 1009) showError(`The server closed the session${why}`);
    player.stop();
    turnOpen = false;
    setState(micOn ? 'listening' : 'idle');
    setTimeout(connect, reconnectDelay);
    reconnectDelay = Math.min(reconnectDelay * 2, 10000);
  };
}

// ---- microphone ------------------------------------------------------------------------

let micCtx = null;
let micStream = null;

async function startMic() {
  player.unlock();
  const constraints = {
    audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
  };
  micStream = await navigator.mediaDevices.getUserMedia(constraints);
  // Chrome resamples to a 16 kHz context itself; where connecting the microphone to
  // such a context fails, run at the device rate and let the worklet resample.
  // ?capture=native forces the second path (the end-to-end test covers both).
  let source;
  try {
    if (params.get('capture') === 'native') throw new Error('device rate asked for');
    micCtx = new AudioContext({ sampleRate: 16000 });
    source = micCtx.createMediaStreamSource(micStream);
  } catch (_) {
    if (micCtx) micCtx.close();
    micCtx = new AudioContext();
    source = micCtx.createMediaStreamSource(micStream);
  }
  await micCtx.audioWorklet.addModule('mic-worklet.js');
  const node = new AudioWorkletNode(micCtx, 'mic-capture', { numberOfInputs: 1, numberOfOutputs: 0 });
  node.port.onmessage = (e) => {
    if (!micOn || muted || !ws || ws.readyState !== WebSocket.OPEN) return;
    ws.send(e.data);
    trace.framesSent++;
  };
  source.connect(node);
  trace.captureRate = micCtx.sampleRate;
  micOn = true;
  ui.mic.setAttribute('aria-pressed', 'true');
  ui.mic.querySelector('.label').textContent = 'Stop microphone';
  if (trace.state === 'idle') setState('listening');
}

function stopMic() {
  micOn = false;
  if (micStream) for (const t of micStream.getTracks()) t.stop();
  if (micCtx) micCtx.close();
  micStream = micCtx = null;
  ui.mic.setAttribute('aria-pressed', 'false');
  ui.mic.querySelector('.label').textContent = 'Start microphone';
  if (trace.state === 'listening' || trace.state === 'hearing') setState('idle');
}

ui.mic.addEventListener('click', async () => {
  if (micOn) return stopMic();
  ui.mic.disabled = true;
  try {
    await startMic();
  } catch (e) {
    showError(`The microphone could not start (${e.name || e.message}). Allow it in the browser, or type your question.`);
    stopMic();
  } finally {
    ui.mic.disabled = false;
  }
});

ui.stop.addEventListener('click', () => {
  dropAudio = true;
  player.stop();
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ event: 'cancel' }));
});

document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && !ui.stop.disabled) ui.stop.click();
});

// ---- typed questions --------------------------------------------------------------------

async function askOverHttp(text) {
  // Without the voice session (server unreachable by WebSocket) the answer still
  // comes as text through /api/ask.
  try {
    const r = await fetch('/api/ask', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...authHeader },
      body: JSON.stringify({ text }),
    });
    const a = await r.json();
    if (!r.ok) throw new Error(a.error || 'HTTP ' + r.status);
    trace.answers.push({ text: a.text || '', intent: a.intent || '', path: a.path || '' });
    lastAnswerEl = addLine('axiom', a.text || '', [a.intent, a.path, 'text only'].filter(Boolean).join(' · '));
  } catch (e) {
    showError('Could not ask: ' + e.message);
  }
}

ui.form.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = ui.question.value.trim();
  if (!text) return;
  player.unlock();
  player.stop();
  trace.user.push(text);
  addLine('user', text, 'typed');
  ui.question.value = '';
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ event: 'text', text }));
  else askOverHttp(text);
});

// ---- start ---------------------------------------------------------------------------------

setState('idle');
if (!window.isSecureContext || !navigator.mediaDevices) {
  ui.mic.disabled = true;
  ui.mic.title = 'Browsers allow the microphone only on https:// or http://localhost pages';
}
connect();
new StatusPanel(
  {
    mode: $('st-mode'),
    level: $('st-level'),
    sessions: $('st-sessions'),
    components: $('st-components'),
    note: $('st-note'),
    canvas: $('memchart'),
    legend: $('memlegend'),
  },
  authHeader,
).start();
