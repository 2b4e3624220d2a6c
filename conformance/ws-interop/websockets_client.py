"""The Python `websockets` client against our server (the ws_interop_server example).

Usage: python websockets_client.py URL [CA.pem]
Prints one "PASS name" or "FAIL name: why" line per scenario; exits 1 if any failed.
"""

import asyncio
import ssl
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

URL = sys.argv[1].rstrip("/")
SSL = ssl.create_default_context(cafile=sys.argv[2]) if len(sys.argv) > 2 else None
TEXT = "héllo wörld — ✓ 🦀 日本語"
MIB = 1 << 20
FRAGMENT = 64 << 10
TIMEOUT = 15


def open_(path="/", **kwargs):
    return connect(URL + path, ssl=SSL, max_size=16 * MIB, open_timeout=5, **kwargs)


def expect_equal(what, got, want):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, expected {want!r}")


async def close_normally(ws):
    await ws.close()
    expect_equal("echoed close code", ws.close_code, 1000)


async def round_trip(message):
    async with open_() as ws:
        await ws.send(message)
        echo = await ws.recv()
        await close_normally(ws)
        return echo


async def subprotocol():
    async with open_(subprotocols=["chat.v9", "sockeye.test"]) as ws:
        expect_equal("protocol", ws.subprotocol, "sockeye.test")
        await close_normally(ws)
    async with open_() as ws:
        expect_equal("protocol without an offer", ws.subprotocol, None)
        await close_normally(ws)


async def text():
    expect_equal("echo", await round_trip(TEXT), TEXT)


async def binary():
    data = bytes(range(256))
    expect_equal("echo", await round_trip(data), data)


async def fragmented(data):
    """Sends `data` as one message in fragments: websockets' send(iterable)."""
    step = FRAGMENT // 3 if isinstance(data, str) else FRAGMENT
    chunks = [data[i : i + step] for i in range(0, len(data), step)]
    async with open_() as ws:
        await ws.send(chunks)
        echo = await ws.recv()
        expect_equal("echo type", type(echo), type(data))
        expect_equal("echo length", len(echo), len(data))
        if echo != data:
            raise AssertionError("echo differs from what was sent")
        await close_normally(ws)


async def fragmented_received():
    expected = bytes(i % 251 for i in range(MIB))
    async with open_() as ws:
        await ws.send("fragments-please")
        message = await ws.recv()
        expect_equal("type", type(message), bytes)
        if message != expected:
            raise AssertionError("content differs from the pattern")
        await close_normally(ws)


async def ping():
    async with open_() as ws:
        # websockets resolves the waiter only for a pong carrying this very payload.
        waiter = await ws.ping("websockets ping ✓".encode())
        await waiter
        await close_normally(ws)


async def client_close():
    reason = "bye from websockets ✓"
    async with open_() as ws:
        await ws.close(4002, reason)
        expect_equal("echoed code", ws.close_code, 4002)
    expected = f"4002 {reason}"
    seen = None
    for _ in range(20):
        async with open_() as query:
            await query.send("last-close")
            seen = await query.recv()
            await close_normally(query)
        if seen == expected:
            return
        await asyncio.sleep(0.05)
    expect_equal("close the server saw", seen, expected)


async def server_close():
    async with open_() as ws:
        await ws.send("close-me")
        try:
            message = await ws.recv()
        except ConnectionClosed as closed:
            # ConnectionClosedOK is only for 1000 and 1001; a clean close with 4001 is a
            # ConnectionClosedError that saw the server's Close, then echoed it.
            expect_equal("server closed first", closed.rcvd_then_sent, True)
            expect_equal("code", closed.rcvd.code, 4001)
            expect_equal("reason", closed.rcvd.reason, "bye from sockeye")
        else:
            raise AssertionError(f"got a message instead of a close: {message!r}")


async def rejected():
    try:
        async with open_("/forbidden"):
            pass
    except InvalidStatus as refused:
        expect_equal("status", refused.response.status_code, 403)
        if b"forbidden" not in (refused.response.body or b""):
            raise AssertionError(f"body {refused.response.body!r}")
    else:
        raise AssertionError("the handshake succeeded")


SCENARIOS = {
    "subprotocol negotiated": subprotocol,
    "text round trip (non-ASCII)": text,
    "binary round trip": binary,
    "fragmented 1 MiB text sent": lambda: fragmented("€" * (MIB // 3)),
    "fragmented 1 MiB binary sent": lambda: fragmented(bytes(i % 253 for i in range(MIB))),
    "fragmented 1 MiB binary received": fragmented_received,
    "ping answered with the same payload": ping,
    "close from client: code and reason": client_close,
    "close from server: code and reason": server_close,
    "rejected handshake: 403": rejected,
}


async def main():
    failed = 0
    for name, run in SCENARIOS.items():
        try:
            await asyncio.wait_for(run(), TIMEOUT)
            print(f"PASS {name}", flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported, then counted
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
