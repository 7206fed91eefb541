// Drives AXIOM's browser UI in real headless Chromium (Debian's chromium, through
// playwright-core from deps/) and prints one JSON object describing what happened.
// tests/test_web_e2e.c runs it against a real `axiom serve` and asserts on the JSON.
//
// The microphone is Chromium's fake capture device fed from a WAV file, so the page
// runs its real capture path: getUserMedia with echo cancellation, the AudioWorklet,
// 16 kHz frames over /ws. Answers are decoded and played by the page's own player.
//
//   node tests/e2e/browser.mjs --url http://127.0.0.1:PORT/ --out DIR
//        [--wav FILE [--listen-ms N]] [--question TEXT]... [--stop-question TEXT]
//        [--narrow] [--shot NAME] [--size WxH] [--query ?k=v] [--timeout-ms N]
//
// Steps: load the page, wait for the session; with --wav press the microphone
// button and wait for a spoken turn to be answered and played (with --listen-ms,
// just keep the microphone on that long and report); with --question type
// it and wait for its answer; with --stop-question type it, and once its audio plays
// press Esc (stop the answer) and wait for the server's barge_in; with --narrow reload at 360 px and check nothing
// overflows sideways. Screenshots go to DIR. Exit status 0 when the JSON was
// printed (the test judges it), 3 when the browser could not start.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf('--' + name);
  return i >= 0 ? args[i + 1] : dflt;
};
const flag = (name) => args.includes('--' + name);

const url = opt('url') && opt('url') + opt('query', ''); // --query '?capture=native'
const out = resolve(opt('out', join(root, 'test-artifacts')));
const wav = opt('wav');
const questions = args.flatMap((a, i) => (a === '--question' ? [args[i + 1]] : []));
const stopQuestion = opt('stop-question');
const shotName = opt('shot', 'page');
const timeoutMs = Number(opt('timeout-ms', '40000'));
const listenMs = Number(opt('listen-ms', '0'));
const exe = opt('chromium', '/usr/lib/chromium/chromium');
const result = { ok: false, screenshots: [], steps: [] };

function done(code) {
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(code);
}

if (!url) {
  result.error = 'usage: browser.mjs --url URL --out DIR [--wav FILE] [--question TEXT] [--narrow]';
  done(2);
}
mkdirSync(out, { recursive: true });

let chromium;
try {
  ({ chromium } = await import(join(root, 'deps', 'playwright-core', 'index.mjs')));
} catch (e) {
  result.browser_unavailable = `playwright-core is not in deps/ (run scripts/install-deps.sh): ${e.message}`;
  done(3);
}
if (!existsSync(exe)) {
  result.browser_unavailable = `no Chromium at ${exe} (apt-get install chromium)`;
  done(3);
}

// No autoplay override: the page must unlock audio from the user's click or key press,
// as it has to in a real browser.
const flags = ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'];
if (wav) flags.push(`--use-file-for-fake-audio-capture=${resolve(wav)}%noloop`);

let browser;
try {
  browser = await chromium.launch({ executablePath: exe, args: flags, timeout: 30000 });
} catch (e) {
  result.browser_unavailable = `Chromium could not start: ${e.message.split('\n')[0]}`;
  done(3);
}

const consoleErrors = [];
const trace = (page) => page.evaluate(() => JSON.parse(JSON.stringify(window.axiomTrace)));

async function shot(page, name) {
  const file = join(out, `${shotName}-${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  result.screenshots.push(file);
}

// Waits until the page has seen `count` ready_to_listen events (the end of a turn)
// and its player has nothing left to play.
async function turnDone(page, count) {
  await page.waitForFunction(
    (n) => {
      const t = window.axiomTrace;
      const ready = t.events.filter((e) => e === 'ready_to_listen').length;
      return ready >= n && t.audio.received === t.audio.played + t.audio.failed + t.audio.stopped;
    },
    count,
    { timeout: timeoutMs, polling: 100 },
  );
}

try {
  const [vw, vh] = opt('size', '1100x760').split('x').map(Number);
  const ctx = await browser.newContext({ viewport: { width: vw, height: vh } });
  const page = await ctx.newPage();
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => window.axiomTrace && window.axiomTrace.connected && window.axiomTrace.hello,
    null, { timeout: 15000 });
  result.steps.push('connected');
  // The status panel has read /api/status at least once.
  await page.waitForFunction(() => document.getElementById('st-components').children.length > 0,
    null, { timeout: 10000 });
  result.status_panel = await page.evaluate(() => ({
    mode: document.getElementById('st-mode').textContent,
    level: document.getElementById('st-level').textContent,
    components: [...document.querySelectorAll('#st-components li')].map((li) => li.textContent),
    chart_legend: document.getElementById('memlegend').textContent,
  }));
  let turns = 0;

  if (wav) {
    result.steps.push('voice');
    await page.click('#mic');
    const t0 = Date.now();
    if (listenMs > 0) {
      await page.waitForTimeout(listenMs);
    } else {
      try {
        await turnDone(page, ++turns);
        result.voice_ms = Date.now() - t0;
      } catch (e) {
        result.voice_error = `no answered spoken turn within ${timeoutMs} ms`;
      }
    }
    result.voice = await trace(page);
    await shot(page, 'voice');
    await page.click('#mic'); // microphone off again: the typed turn stands alone
  }

  if (questions.length) {
    result.steps.push('typed');
    const before = (await trace(page)).events.length;
    for (const question of questions) {
      // Keyboard only: focus the box, type, press Enter.
      await page.focus('#question');
      await page.keyboard.type(question);
      await page.keyboard.press('Enter');
      try {
        await turnDone(page, ++turns);
      } catch (e) {
        result.typed_error = `no answered typed turn within ${timeoutMs} ms`;
        break;
      }
    }
    const t = await trace(page);
    result.typed = { ...t, events: t.events.slice(before) };
    await shot(page, 'typed');
  }

  if (stopQuestion) {
    result.steps.push('stop');
    const t0 = await trace(page);
    await page.focus('#question');
    await page.keyboard.type(stopQuestion);
    await page.keyboard.press('Enter');
    try {
      // Playing: a sentence decoded and scheduled, not yet finished.
      // (or the turn ended without audio: nothing to stop, reported as an error).
      const n0 = t0.events.length;
      const playing = await page.waitForFunction(([d, n]) => {
        const t = window.axiomTrace;
        if (t.audio.decoded > d) return 'playing';
        return t.events.slice(n).includes('ready_to_listen') ? 'ended' : false;
      }, [t0.audio.decoded, n0], { timeout: timeoutMs, polling: 50 });
      if ((await playing.jsonValue()) !== 'playing') throw new Error('no audio');
      await page.keyboard.press('Escape');
      await page.waitForFunction((b) => window.axiomTrace.bargeIns > b, t0.bargeIns,
        { timeout: 10000, polling: 50 });
      await page.waitForTimeout(500); // anything still arriving would show now
    } catch (e) {
      result.stop_error = 'no barge_in after pressing Esc during the answer';
    }
    const t = await trace(page);
    result.stop = { ...t, events: t.events.slice(t0.events.length),
      stopped_sources: t.audio.stopped - t0.audio.stopped,
      played_after: t.audio.played - t0.audio.played };
  }

  if (flag('narrow')) {
    result.steps.push('narrow');
    await page.setViewportSize({ width: 360, height: 740 });
    await page.waitForTimeout(300);
    result.narrow = await page.evaluate(() => ({
      scroll_width: document.documentElement.scrollWidth,
      client_width: document.documentElement.clientWidth,
    }));
    await shot(page, 'narrow');
  }
  result.final = await trace(page);
  result.ok = true;
} catch (e) {
  result.error = e.message.split('\n')[0];
}
result.console_errors = consoleErrors;
await browser.close();
done(0);
