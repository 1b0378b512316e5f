"""An sse-starlette server for `sse listen` (see run.py, pair `starlette`).

/events without Last-Event-ID: two events with ids (the second named and
two lines long) and `retry: 200`, then the stream ends. With Last-Event-ID
X: one event, id 3, data `resumed-from X GAP` (GAP: ms since the last first
stream ended, -1 if none), then the end. With Last-Event-ID 3: 204, which
ends the client for good. /broken answers 500, /html a page: both must
fail the client for good. POST /chat (an LLM-style one-shot stream): echoes
the Authorization header and the body as two events, then ends; /chats
counts the POSTs.
"""
import sys
import time

import uvicorn
from sse_starlette.sse import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

ended = None  # when the last first stream ended (time.monotonic())
chats = 0


async def events(request):
    arrived = time.monotonic()
    last = request.headers.get("last-event-id")
    if last == "3":
        return Response(status_code=204)

    async def first():
        global ended
        yield ServerSentEvent(data="one", id="1", retry=200)
        yield ServerSentEvent(data="two\nlines", id="2", event="update")
        ended = time.monotonic()

    async def resumed():
        gap = -1 if ended is None else round((arrived - ended) * 1000)
        yield ServerSentEvent(data=f"resumed-from {last} {gap}", id="3")

    return EventSourceResponse(first() if last is None else resumed(), ping=60)


async def chat(request):
    global chats
    chats += 1
    body = (await request.body()).decode()
    auth = request.headers.get("authorization", "")

    async def answer():
        yield ServerSentEvent(data=auth)
        yield ServerSentEvent(data=body, event="done")

    return EventSourceResponse(answer(), ping=60)


async def chat_count(request):
    return JSONResponse({"chats": chats})


async def broken(request):
    return PlainTextResponse("no stream here", status_code=500)


async def html(request):
    return HTMLResponse("<p>not a stream</p>")


app = Starlette(routes=[
    Route("/events", events),
    Route("/chat", chat, methods=["POST"]),
    Route("/chats", chat_count),
    Route("/broken", broken),
    Route("/html", html),
])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
