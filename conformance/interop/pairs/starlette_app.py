"""An sse-starlette server: the first connection gets two events with ids
and a `retry: 200`, then the stream ends; a reconnect gets one event whose
data is the Last-Event-ID header it sent."""
import sys

import uvicorn
from sse_starlette.sse import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.routing import Route


async def events(request):
    last = request.headers.get("last-event-id")

    async def gen():
        if last is None:
            yield ServerSentEvent(data="one", id="1", retry=200)
            yield ServerSentEvent(data="two\nlines", id="2", event="update")
        else:
            yield ServerSentEvent(data=f"resumed-from-{last}", id="3")

    return EventSourceResponse(gen(), ping=60)


app = Starlette(routes=[Route("/events", events)])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
