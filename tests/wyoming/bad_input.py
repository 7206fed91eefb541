"""Bad input, one fresh connection per case: raw bytes the reference client would never
write (an endless header line, announced data or payload far past the bounds that is
never sent, malformed JSON) and well-formed events in the wrong order or unknown.
Replies are read with the reference's own reader (async_read_event). For each case:
what came back, whether the server closed the connection, and how long it took."""

import argparse
import asyncio
import json

from wyoming.asr import Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.ping import Ping
from wyoming.tts import SynthesizeChunk

from wy_common import HOST, emit, now

HUGE = 1 << 30  # announced, never sent


async def raw_line(w, text):
    w.write(text.encode() + b"\n")
    await w.drain()


async def send_long_header(w):
    # 4 MiB of one header line, no newline; the server must stop reading long before.
    piece = b"x" * 65536
    for _ in range(64):
        w.write(piece)
        await w.drain()


CASES = {
    "long_header": send_long_header,
    "huge_data": lambda w: raw_line(w, json.dumps({"type": "transcript", "data_length": HUGE})),
    "huge_payload": lambda w: raw_line(
        w, json.dumps({"type": "audio-chunk", "data": {"rate": 16000, "width": 2, "channels": 1}, "payload_length": HUGE})
    ),
    "bad_json": lambda w: raw_line(w, '{"type": "describe", oops}'),
    "not_object": lambda w: raw_line(w, '["describe"]'),
    "no_type": lambda w: raw_line(w, '{"data": {"text": "hi"}}'),
    "negative_length": lambda w: raw_line(w, '{"type": "audio-chunk", "payload_length": -5}'),
    "data_not_object": lambda w: raw_line(w, '{"type": "transcript", "data_length": 5}\n[1,2]'),
    "slow_header": lambda w: (w.write(b'{"type": "pi'), w.drain())[1],
    "silent": None,
    "chunk_before_start": lambda w: async_write_event(
        AudioChunk(rate=16000, width=2, channels=1, audio=b"\0\0" * 160).event(), w
    ),
    "stop_before_start": lambda w: async_write_event(AudioStop().event(), w),
    "synth_chunk_before_start": lambda w: async_write_event(SynthesizeChunk(text="hello").event(), w),
    "unknown_event": lambda w: async_write_event(Event(type="detect", data={"names": ["ok_nabu"]}), w),
    "no_text": lambda w: async_write_event(Event(type="transcript", data={"language": "en"}), w),
    "bad_width": lambda w: async_write_event(AudioStart(rate=16000, width=5, channels=1).event(), w),
    "long_text": lambda w: async_write_event(Transcript(text="why " * 1000).event(), w),
}


async def run_case(port, name):
    r, w = await asyncio.open_connection(HOST, port)
    t0 = now()
    sent_error = None
    try:
        if CASES[name] is not None:
            await CASES[name](w)
    except (ConnectionError, OSError) as e:  # the server closed while we were still writing
        sent_error = type(e).__name__
    events, closed, after = [], False, None
    while True:
        try:
            ev = await asyncio.wait_for(async_read_event(r), 15)
        except (asyncio.TimeoutError, ConnectionError, OSError):
            break
        if ev is None:
            closed = True
            break
        events.append({"type": ev.type, "data": ev.data})
        if ev.type == "error":
            break
    elapsed_ms = (now() - t0) * 1000
    if events and not closed:
        # Still open? A ping must get its pong (the connection is usable), or EOF.
        try:
            await async_write_event(Ping(text="after").event(), w)
            ev = await asyncio.wait_for(async_read_event(r), 15)
            if ev is None:
                closed = True
            else:
                after = {"type": ev.type, "data": ev.data}
        except (ConnectionError, OSError, asyncio.TimeoutError):
            closed = True
    w.close()
    return {"events": events, "closed": closed, "elapsed_ms": elapsed_ms, "after": after, "send_error": sent_error}


async def main(a):
    out = {}
    for name in a.cases:
        out[name] = await run_case(a.port, name)
    emit(out)


ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("cases", nargs="+", choices=sorted(CASES))
asyncio.run(main(ap.parse_args()))
