"""transcribe + audio-start/-chunk/-stop -> transcript-start, transcript-chunk...,
transcript, transcript-stop. The audio (a .raw 16 kHz s16le file or a .wav) is
converted to the format asked for with the reference's AudioChunkConverter and sent in
chunks, at real-time pace with --realtime (as a microphone would) while a second task
reads what comes back, so the script can tell which chunks came before audio-stop."""

import argparse
import asyncio
import wave

from wyoming.asr import Transcribe, Transcript, TranscriptChunk
from wyoming.audio import AudioChunk, AudioChunkConverter, AudioStart, AudioStop

from wy_common import client, emit, now, summary


def load(path, raw_rate):
    if path.endswith(".wav"):
        with wave.open(path, "rb") as w:
            return w.readframes(w.getnframes()), w.getframerate(), w.getsampwidth(), w.getnchannels()
    with open(path, "rb") as f:
        return f.read(), raw_rate, 2, 1


async def main(a):
    audio, rate, width, channels = load(a.audio, a.raw_rate)
    conv = AudioChunkConverter(rate=a.rate, width=a.width, channels=a.channels)
    src_frame = width * channels
    step = a.samples_per_chunk * src_frame
    chunks = []
    for i in range(0, len(audio), step):
        chunks.append(conv.convert(AudioChunk(rate=rate, width=width, channels=channels, audio=audio[i : i + step])))
    fmt = chunks[0]
    seen = []  # (event, time)
    stop_at = [None]

    async with client(a.port) as c:

        async def reader():
            while True:
                ev = await asyncio.wait_for(c.read_event(), 120)
                if ev is None:
                    return
                seen.append((ev, now()))
                if ev.type in ("transcript-stop", "error"):
                    return

        task = asyncio.create_task(reader())
        if not a.no_transcribe:
            await c.write_event(Transcribe(language="en").event())
        await c.write_event(AudioStart(rate=fmt.rate, width=fmt.width, channels=fmt.channels).event())
        for ch in chunks:
            await c.write_event(ch.event())
            if a.realtime:
                await asyncio.sleep(len(ch.audio) / (fmt.rate * fmt.width * fmt.channels))
        stop_at[0] = now()
        await c.write_event(AudioStop().event())
        await task

    events = [e for e, _ in seen]
    text = None
    stop_ms = None
    for ev, t in seen:
        if Transcript.is_type(ev.type):
            text = Transcript.from_event(ev).text
            stop_ms = (t - stop_at[0]) * 1000
    emit(
        {
            "sent_format": [fmt.rate, fmt.width, fmt.channels],
            "events": [e["type"] for e in summary(events)],
            "errors": [e.data for e in events if e.type == "error"],
            "transcript": text,
            "chunks": [TranscriptChunk.from_event(e).text for e in events if TranscriptChunk.is_type(e.type)],
            "chunks_before_stop": sum(1 for e, t in seen if TranscriptChunk.is_type(e.type) and t < stop_at[0]),
            "stop_to_transcript_ms": stop_ms,
        }
    )


ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("--audio", required=True)
ap.add_argument("--raw-rate", type=int, default=16000)
ap.add_argument("--rate", type=int, default=16000)
ap.add_argument("--width", type=int, default=2)
ap.add_argument("--channels", type=int, default=1)
ap.add_argument("--samples-per-chunk", type=int, default=1024)
ap.add_argument("--realtime", action="store_true")
ap.add_argument("--no-transcribe", action="store_true")
asyncio.run(main(ap.parse_args()))
