"""transcript -> handled-start, handled-chunk..., handled, handled-stop (or not-handled),
as Home Assistant's Wyoming conversation agent sends it (with context.conversation_id);
recognize -> intent or not-recognized. Several texts go over one connection, in order."""

import argparse
import asyncio

from wyoming.asr import Transcript
from wyoming.handle import Handled, HandledChunk, NotHandled
from wyoming.intent import Intent, NotRecognized, Recognize

from wy_common import client, emit, read_until, summary


async def main(a):
    results = []
    async with client(a.port) as c:
        for text in a.texts:
            if a.recognize:
                await c.write_event(Recognize(text=text).event())
                events, closed = await read_until(c, ("intent", "not-recognized"))
                r = {"events": [e["type"] for e in summary(events)], "closed": closed}
                last = events[-1] if events else None
                if last is not None and Intent.is_type(last.type):
                    it = Intent.from_event(last)
                    r.update(name=it.name, entities={e.name: e.value for e in it.entities}, text=it.text)
                elif last is not None and NotRecognized.is_type(last.type):
                    r.update(not_recognized=NotRecognized.from_event(last).text)
                else:
                    r.update(other=summary(events))
                results.append(r)
                continue
            ctx = {"conversation_id": a.conversation} if a.conversation else None
            await c.write_event(Transcript(text=text, context=ctx, language="en").event())
            events, closed = await read_until(c, ("handled-stop", "not-handled"))
            r = {"events": [e["type"] for e in summary(events)], "closed": closed,
                 "chunks": [HandledChunk.from_event(e).text for e in events if HandledChunk.is_type(e.type)]}
            for e in events:
                if Handled.is_type(e.type):
                    h = Handled.from_event(e)
                    r.update(handled=h.text, context=h.context)
                elif NotHandled.is_type(e.type):
                    r.update(not_handled=NotHandled.from_event(e).text)
                elif e.type == "error":
                    r.update(error=e.data)
            results.append(r)
    emit(results)


ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("texts", nargs="+")
ap.add_argument("--conversation")
ap.add_argument("--recognize", action="store_true")
asyncio.run(main(ap.parse_args()))
