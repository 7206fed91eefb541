// Microphone capture on the audio thread: mono, resampled to 16 kHz, cut into
// 512-sample (32 ms) frames of little-endian signed 16-bit PCM, the unit the server's
// voice protocol expects. Each frame is posted to the page as a transferred
// ArrayBuffer; the page decides whether to send it (the microphone is "muted" while
// AXIOM thinks or speaks).
//
// Chrome can run the whole AudioContext at 16 kHz and does the resampling itself;
// other browsers refuse to connect a 48 kHz microphone to a 16 kHz context, so the
// page then opens a context at the device rate and this processor resamples. A short
// windowed-sinc low-pass before linear interpolation keeps speech above 8 kHz from
// folding back into the band the recogniser listens to.

const OUT_RATE = 16000;
const FRAME = 512;

class MicCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.ratio = sampleRate / OUT_RATE; // input samples per output sample
    this.frame = new Int16Array(FRAME);
    this.fill = 0;
    this.pos = 0; // fractional read position into the filtered history
    if (this.ratio !== 1) {
      // 31-tap Hann-windowed sinc, cutoff just below 8 kHz at the input rate.
      const taps = 31, fc = (0.45 * OUT_RATE) / sampleRate;
      this.fir = new Float32Array(taps);
      let sum = 0;
      for (let i = 0; i < taps; i++) {
        const m = i - (taps - 1) / 2;
        const sinc = m === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * m) / (Math.PI * m);
        const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (taps - 1));
        this.fir[i] = sinc * w;
        sum += this.fir[i];
      }
      for (let i = 0; i < taps; i++) this.fir[i] /= sum;
      this.hist = new Float32Array(taps); // last raw inputs, ring buffer
      this.hpos = 0;
      this.prev = 0; // last filtered sample, for interpolation across blocks
    }
  }

  push(v) {
    const s = Math.max(-1, Math.min(1, v));
    this.frame[this.fill++] = s < 0 ? s * 0x8000 : s * 0x7fff;
    if (this.fill === FRAME) {
      const out = this.frame.buffer;
      this.port.postMessage(out, [out]);
      this.frame = new Int16Array(FRAME);
      this.fill = 0;
    }
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0) return true;
    // Mix down to mono.
    const n = input[0].length;
    const mono = new Float32Array(n);
    for (const ch of input) for (let i = 0; i < n; i++) mono[i] += ch[i] / input.length;
    if (this.ratio === 1) {
      for (let i = 0; i < n; i++) this.push(mono[i]);
      return true;
    }
    const taps = this.fir.length;
    for (let i = 0; i < n; i++) {
      this.hist[this.hpos] = mono[i];
      this.hpos = (this.hpos + 1) % taps;
      let y = 0;
      for (let k = 0; k < taps; k++) y += this.fir[k] * this.hist[(this.hpos + k) % taps];
      // Output samples that fall between the previous filtered sample and this one.
      while (this.pos <= 1) {
        this.push(this.prev + (y - this.prev) * this.pos);
        this.pos += this.ratio;
      }
      this.pos -= 1;
      this.prev = y;
    }
    return true;
  }
}

registerProcessor('mic-capture', MicCapture);
