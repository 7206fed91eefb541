// Gapless playback of the answer audio. The server sends one complete WAV file per
// sentence, in order, while it is still synthesising the next ones. Each file is
// decoded with decodeAudioData (which also resamples to the output device's rate)
// and scheduled to start exactly when the previous one ends, so sentences join
// without clicks or gaps. Decoding is asynchronous and may finish out of order, so
// decodes are chained: sentence n+1 is scheduled only after sentence n.
//
// stop() (barge-in, cancel) silences everything at once and drops decodes still in
// flight: each chunk carries the generation it was queued in, and a stop starts a
// new generation.

export class Player {
  constructor(onIdle) {
    this.ctx = null;
    this.onIdle = onIdle; // called when the last scheduled sentence has finished
    this.generation = 0;
    this.chain = Promise.resolve();
    this.sources = new Set();
    this.nextTime = 0;
    this.pending = 0; // chunks received but not finished (decoding or playing)
    this.stats = { received: 0, decoded: 0, played: 0, stopped: 0, failed: 0, seconds: 0 };
  }

  // Must first run inside a user gesture (click, key press): browsers keep audio
  // contexts created or resumed elsewhere suspended.
  unlock() {
    if (!this.ctx) this.ctx = new AudioContext({ latencyHint: 'interactive' });
    if (this.ctx.state === 'suspended') this.ctx.resume().catch(() => {});
  }

  get busy() {
    return this.pending > 0;
  }

  enqueue(arrayBuffer) {
    this.unlock();
    const gen = this.generation;
    this.stats.received++;
    this.pending++;
    this.chain = this.chain
      .then(() => this.ctx.decodeAudioData(arrayBuffer))
      .then((buf) => {
        if (gen !== this.generation) return; // stopped meanwhile
        this.stats.decoded++;
        this.schedule(buf, gen);
      })
      .catch((err) => {
        if (gen !== this.generation) return;
        this.stats.failed++;
        console.warn('could not decode an answer sentence:', err);
        this.finishOne();
      });
  }

  schedule(buf, gen) {
    const ctx = this.ctx;
    const src = ctx.createBufferSource();
    src.buffer = buf;
    src.connect(ctx.destination);
    // A small lead the first time: scheduling in the past would clip the start.
    const start = Math.max(this.nextTime, ctx.currentTime + 0.05);
    src.start(start);
    this.nextTime = start + buf.duration;
    this.stats.seconds += buf.duration;
    this.sources.add(src);
    src.onended = () => {
      this.sources.delete(src);
      if (gen !== this.generation) return;
      this.stats.played++;
      this.finishOne();
    };
  }

  finishOne() {
    this.pending = Math.max(0, this.pending - 1);
    if (this.pending === 0 && this.onIdle) this.onIdle();
  }

  stop() {
    this.generation++;
    for (const src of this.sources) {
      try {
        src.stop();
        this.stats.stopped++;
      } catch (_) {
        /* not started yet */
      }
    }
    this.sources.clear();
    this.chain = Promise.resolve();
    this.nextTime = 0;
    const was = this.pending;
    this.pending = 0;
    if (was && this.onIdle) this.onIdle();
  }
}
