"""Connections do not affect each other: while one peer stays silent (and one sends
half a header and stalls) until the server closes them on wyoming.idle_timeout_s,
another connection keeps being answered: pings, a recognize and a synthesize, each
timed. Prints when the stalled peers were closed and the other connection's slowest
reply."""

import argparse
import asyncio

from wyoming.event import async_read_event
from wyoming.intent import Recognize
from wyoming.ping import Ping
from wyoming.tts import Synthesize

from wy_common import HOST, client, emit, now, read_until


async def stalled(port, first_bytes):
    r, w = await asyncio.open_connection(HOST, port)
    t0 = now()
    if first_bytes:
        w.write(first_bytes)
        await w.drain()
    events = []
    while True:
        ev = await asyncio.wait_for(async_read_event(r), 60)
        if ev is None:
            break
        events.append({"type": ev.type, "data": ev.data})
    w.close()
    return {"closed_after_ms": (now() - t0) * 1000, "events": events}


async def busy(port, until):
    replies, slowest = 0, 0.0
    async with client(port) as c:
        i = 0
        while not until.done():
            t = now()
            if i % 5 == 3:
                await c.write_event(Recognize(text="what is the unitree go2").event())
                evs, _ = await read_until(c, ("intent", "not-recognized"), timeout=30)
            elif i % 5 == 4:
                await c.write_event(Synthesize(text="Still here.").event())
                evs, _ = await read_until(c, ("audio-stop",), timeout=30)
            else:
                await c.write_event(Ping(text=str(i)).event())
                evs, _ = await read_until(c, ("pong",), timeout=30)
            ok = evs and evs[-1].type in ("pong", "intent", "not-recognized", "audio-stop")
            if ok:
                replies += 1
            slowest = max(slowest, (now() - t) * 1000)
            i += 1
            await asyncio.sleep(0.1)
    return {"replies": replies, "requests": i, "slowest_ms": slowest}


async def main(a):
    silent = asyncio.ensure_future(stalled(a.port, b""))
    half = asyncio.ensure_future(stalled(a.port, b'{"type": "desc'))
    both = asyncio.gather(silent, half)
    other = await busy(a.port, both)
    s, h = await both
    emit({"silent": s, "half_header": h, "other": other})


ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
asyncio.run(main(ap.parse_args()))
