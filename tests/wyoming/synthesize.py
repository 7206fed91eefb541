"""synthesize -> audio-start, audio-chunk..., audio-stop; or, with --stream, the
streaming flow Home Assistant uses for an answer being written: synthesize-start, the
text in pieces, the plain synthesize (for older servers; must not be spoken again),
synthesize-stop -> one audio stream per sentence, then synthesize-stopped. The first
piece holds a whole sentence: its audio must come back before the rest is sent."""

import argparse
import asyncio
import math
import struct

from wyoming.audio import AudioChunk, AudioStart
from wyoming.tts import Synthesize, SynthesizeChunk, SynthesizeStart, SynthesizeStop, SynthesizeVoice

from wy_common import client, emit, read_until, summary


def rms(pcm):
    n = len(pcm) // 2
    if n == 0:
        return 0.0
    s = struct.unpack("<%dh" % n, pcm[: n * 2])
    return math.sqrt(sum(x * x for x in s) / n)


def groups(events):
    """Audio streams: [{rate, samples, rms}] per audio-start..audio-stop."""
    out, cur, pcm = [], None, b""
    for ev in events:
        if AudioStart.is_type(ev.type):
            cur = {"rate": ev.data["rate"], "width": ev.data["width"], "channels": ev.data["channels"]}
            pcm = b""
        elif AudioChunk.is_type(ev.type):
            pcm += AudioChunk.from_event(ev).audio
        elif ev.type == "audio-stop" and cur is not None:
            cur["samples"] = len(pcm) // 2
            cur["rms"] = rms(pcm)
            out.append(cur)
            cur = None
    return out


async def plain(a):
    async with client(a.port) as c:
        voice = SynthesizeVoice(name=a.voice) if a.voice else None
        await c.write_event(Synthesize(text=a.text, voice=voice).event())
        events, closed = await read_until(c, ("audio-stop",))
        emit({"groups": groups(events), "events": [e["type"] for e in summary(events)],
              "errors": [e.data for e in events if e.type == "error"], "closed": closed})


async def stream(a):
    pieces = a.text.split("|")
    async with client(a.port) as c:
        await c.write_event(SynthesizeStart().event())
        await c.write_event(SynthesizeChunk(text=pieces[0]).event())
        # The first piece ends a sentence and starts the next: its audio comes now.
        first, _ = await read_until(c, ("audio-stop",), timeout=30)
        for p in pieces[1:]:
            await c.write_event(SynthesizeChunk(text=p).event())
        await c.write_event(Synthesize(text="".join(pieces)).event())
        await c.write_event(SynthesizeStop().event())
        rest, closed = await read_until(c, ("synthesize-stopped",))
        events = first + rest
        emit({"groups": groups(events), "first_groups": len(groups(first)),
              "events": [e["type"] for e in summary(events)],
              "errors": [e.data for e in events if e.type == "error"], "closed": closed})


ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("--text", required=True)
ap.add_argument("--voice")
ap.add_argument("--stream", action="store_true")
args = ap.parse_args()
asyncio.run(stream(args) if args.stream else plain(args))
