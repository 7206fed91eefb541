"""describe -> info, parsed by the reference's Info dataclasses; then ping -> pong."""

import argparse
import asyncio

from wyoming.info import Describe, Info
from wyoming.ping import Ping, Pong

from wy_common import client, emit


async def main(port):
    async with client(port) as c:
        await c.write_event(Describe().event())
        ev = await asyncio.wait_for(c.read_event(), 30)
        info = Info.from_event(ev)  # the reference's own parsing must accept it
        await c.write_event(Ping(text="are you there").event())
        pong = await asyncio.wait_for(c.read_event(), 30)
        emit(
            {
                "type": ev.type,
                "asr": [
                    {
                        "name": p.name,
                        "installed": p.installed,
                        "streaming": p.supports_transcript_streaming,
                        "models": [{"name": m.name, "languages": m.languages} for m in p.models],
                    }
                    for p in info.asr
                ],
                "tts": [
                    {
                        "name": p.name,
                        "streaming": p.supports_synthesize_streaming,
                        "voices": [{"name": v.name, "languages": v.languages} for v in p.voices],
                    }
                    for p in info.tts
                ],
                "handle": [
                    {"name": p.name, "streaming": p.supports_handled_streaming, "models": [m.name for m in p.models]}
                    for p in info.handle
                ],
                "intent": [
                    {"name": p.name, "models": [{"name": m.name, "description": m.description} for m in p.models]}
                    for p in info.intent
                ],
                "pong": Pong.from_event(pong).text if Pong.is_type(pong.type) else None,
            }
        )


ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
asyncio.run(main(ap.parse_args().port))
