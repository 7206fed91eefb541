"""Shared by the Wyoming test scripts (tests/test_wyoming.c runs them with Debian's
python3 and PYTHONPATH at ../shared/wyoming-reference, the `wyoming` package Home
Assistant uses). Each script talks to AXIOM through the package's AsyncTcpClient and
event classes and prints one JSON line of what it saw; the C test checks it."""

import asyncio
import json
import sys
import time

from wyoming.client import AsyncTcpClient
from wyoming.error import Error

HOST = "127.0.0.1"


def emit(result):
    print(json.dumps(result))
    sys.stdout.flush()


def client(port):
    return AsyncTcpClient(HOST, port)


async def read_until(c, stop_types, timeout=60.0):
    """Events until one of stop_types (or an error, or the end of the connection)."""
    events = []
    while True:
        ev = await asyncio.wait_for(c.read_event(), timeout)
        if ev is None:
            return events, True
        events.append(ev)
        if ev.type in stop_types or Error.is_type(ev.type):
            return events, False


def summary(events):
    """Events without their payloads, for the JSON line."""
    out = []
    for ev in events:
        item = {"type": ev.type, "data": ev.data}
        if ev.payload:
            item["payload_len"] = len(ev.payload)
        out.append(item)
    return out


def now():
    return time.monotonic()
