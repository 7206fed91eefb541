"""Admission: opens --hold connections (each answered a ping, so each is being served),
then one more, which must be refused with an error event (code "busy") and closed;
then closes the held ones and checks a new connection is served again."""

import argparse
import asyncio

from wyoming.event import async_read_event
from wyoming.ping import Ping

from wy_common import client, emit, read_until


async def ping(c):
    await c.write_event(Ping(text="x").event())
    evs, closed = await read_until(c, ("pong",), timeout=20)
    return [{"type": e.type, "data": e.data} for e in evs], closed


async def main(a):
    held = []
    for _ in range(a.hold):
        c = client(a.port)
        await c.connect()
        held.append(c)
        await ping(c)
    extra = client(a.port)
    await extra.connect()
    try:
        refused, closed = await ping(extra)
    except (ConnectionError, OSError) as e:
        refused, closed = [{"type": "exception", "data": {"text": type(e).__name__}}], True
    await extra.disconnect()
    for c in held:
        await c.disconnect()
    await asyncio.sleep(0.3)
    again = client(a.port)
    await again.connect()
    after, _ = await ping(again)
    await again.disconnect()
    emit({"refused": refused, "refused_closed": closed, "after": after})


ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("--hold", type=int, default=0)
asyncio.run(main(ap.parse_args()))
