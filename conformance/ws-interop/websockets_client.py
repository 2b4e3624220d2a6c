"""The Python `websockets` client against our server (the ws_interop_server example).

Usage: python websockets_client.py URL [CA.pem] [--deflate SET...]
Prints one "PASS name" or "FAIL name: why" line per scenario; exits 1 if any failed.

With --deflate, the remaining arguments are permessage-deflate parameter sets written as in
the extension header ("server_no_context_takeover; client_max_window_bits=9", or "" for
none), and only those scenarios run. For each set, websockets offers it (a
ClientPerMessageDeflateFactory with those parameters), checks what its PerMessageDeflate
extension agreed, sends 48 messages (16 B to 64 KiB, JSON-like text and binary, four
rounds), each checked against its echo, then asks the server for "deflate-stats": the
parameters it agreed and the data messages its transport saw, each of which must have had
RSV1 (compressed) on the wire.
"""

import asyncio
import json
import ssl
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
)

ARGS = sys.argv[1:]
DEFLATE_SETS = ARGS[ARGS.index("--deflate") + 1 :] if "--deflate" in ARGS else None
ARGS = ARGS[: ARGS.index("--deflate")] if "--deflate" in ARGS else ARGS
URL = ARGS[0].rstrip("/")
SSL = ssl.create_default_context(cafile=ARGS[1]) if len(ARGS) > 1 else None
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


def parse_set(text):
    """A parameter set: the client's extension factory and the parameters to agree on."""
    expected = {
        "server_no_context_takeover": False,
        "client_no_context_takeover": False,
        "server_max_window_bits": 15,
        "client_max_window_bits": 15,
    }
    for param in filter(None, (p.strip() for p in text.split(";"))):
        name, _, value = param.partition("=")
        if name not in expected:
            raise ValueError(f"unknown parameter {param}")
        expected[name] = int(value) if value else True
    factory = ClientPerMessageDeflateFactory(
        server_no_context_takeover=expected["server_no_context_takeover"],
        client_no_context_takeover=expected["client_no_context_takeover"],
        server_max_window_bits=(
            expected["server_max_window_bits"] if "server_max_window_bits" in text else None
        ),
        client_max_window_bits=(
            expected["client_max_window_bits"] if "client_max_window_bits" in text else True
        ),
    )
    return factory, expected


def agreed_params(ws):
    """The parameters of the connection's permessage-deflate, from the client's side."""
    for ext in ws.protocol.extensions:
        if isinstance(ext, PerMessageDeflate):
            return {
                "server_no_context_takeover": ext.remote_no_context_takeover,
                "client_no_context_takeover": ext.local_no_context_takeover,
                "server_max_window_bits": ext.remote_max_window_bits,
                "client_max_window_bits": ext.local_max_window_bits,
            }
    return None


def xorshift(seed):
    """xorshift32: deterministic content."""
    x = seed & 0xFFFFFFFF or 1

    def below(n):
        nonlocal x
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        return x % n

    return below


WORDS = ["hello", "héllo", "wörld", "✓", "deflate", "window", "context", "takeover",
         "frame", "日本語", "server", "client", "lobby", "typing", "sockeye", "upstream"]


def json_text(seq, size):
    """Chat-like JSON records, cut to `size` bytes on a character boundary, padded."""
    below = xorshift(seq * 2654435761 | 1)
    parts, length, record = ["["], 1, 0
    while length < size:
        words = " ".join(WORDS[below(16)] for _ in range(6))
        part = (
            f'{{"seq":{seq},"id":{record},"user":"user-{below(8)}",'
            f'"room":"room-{below(3)}","text":"{words}"}},'
        )
        parts.append(part)
        length += len(part.encode())
        record += 1
    data = "".join(parts).encode()
    cut = size
    while cut > 0 and cut < len(data) and data[cut] & 0xC0 == 0x80:
        cut -= 1
    return (data[:cut] + b" " * (size - cut)).decode()


def binary_records(seq, size):
    """Telemetry-like 8-byte records: a counter and four readings with the high bit set."""
    below = xorshift(seq * 2246822519 | 1)
    return bytes(
        ((j // 8 + seq) >> (8 * (j % 8))) & 0xFF if j % 8 < 4 else 0x80 | below(16)
        for j in range(size)
    )


DEFLATE_SIZES = [16, 64, 256, 1024, 16 << 10, 64 << 10]
DEFLATE_ROUNDS = 4


def deflate_corpus():
    corpus = []
    for _ in range(DEFLATE_ROUNDS):
        for size in DEFLATE_SIZES:
            seq = len(corpus)
            corpus.append(json_text(seq, size))
            corpus.append(binary_records(seq + 1, size))
    return corpus


async def deflate_set(text):
    factory, expected = parse_set(text)
    async with open_(extensions=[factory], compression=None) as ws:
        expect_equal("parameters websockets agreed", agreed_params(ws), expected)
        corpus = deflate_corpus()
        plain = 0
        # One at a time: websockets stops reading when its queue of received messages is
        # full, so pipelining could stall both ends on full TCP buffers.
        for i, message in enumerate(corpus):
            await ws.send(message)
            echo = await ws.recv()
            if echo != message:
                raise AssertionError(f"echo {i} differs ({len(echo)} of {len(message)})")
            plain += len(message.encode() if isinstance(message, str) else message)
        await ws.send("deflate-stats")
        stats = json.loads(await ws.recv())
        expect_equal("parameters sockeye agreed", stats["params"], expected)
        # The server's tap saw the corpus and the deflate-stats request come in, the
        # echoes go out, each a single frame with RSV1 set.
        n = len(corpus)
        counts = lambda c: (c["messages"], c["compressed"], c["frames"])  # noqa: E731
        expect_equal("data messages sockeye received", counts(stats["received"]), (n + 1,) * 3)
        expect_equal("data messages sockeye sent", counts(stats["sent"]), (n,) * 3)
        await close_normally(ws)

    def ratio(wire):
        return f"{plain // 1024} KiB in {wire // 1024} KiB ({round(wire * 100 / plain)} %)"

    return (
        f"{n} messages each way; on the wire: websockets sent "
        f"{ratio(stats['received']['payload_bytes'])}, sockeye sent "
        f"{ratio(stats['sent']['payload_bytes'])}"
    )


async def main():
    failed = 0
    scenarios = SCENARIOS
    if DEFLATE_SETS is not None:
        scenarios = {
            f"permessage-deflate: {text or 'no parameters'}": (lambda t=text: deflate_set(t))
            for text in DEFLATE_SETS
        }
    for name, run in scenarios.items():
        try:
            detail = await asyncio.wait_for(run(), TIMEOUT)
            print(f"PASS {name} ({detail})" if detail else f"PASS {name}", flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported, then counted
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
