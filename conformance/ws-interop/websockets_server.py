"""A Python `websockets` server for our client (the ws_interop_client example) to test.

Usage: python websockets_server.py [CERT.pem KEY.pem]
Binds 127.0.0.1 on a free port and prints "listening PORT"; with a certificate and key it
serves wss://. Behaves like the ws_interop_server example: echoes; chooses sockeye.test
when offered; refuses /forbidden with 403; on "close-me" closes with 4001 "bye from
websockets"; on "fragments-please" sends 1 MiB of binary (byte i is i % 251) in 64 KiB
fragments; on "ping-me" pings and answers "pong ok" once the pong with the same payload
arrived; on "last-close" answers "CODE REASON" of the last closing handshake a client
started with a code other than 1000.

permessage-deflate: websockets' default (both windows 12 bits) except on /deflate, where
the query is a parameter set (`/deflate?server_no_context_takeover&client_max_window_bits=9`)
that configures a ServerPerMessageDeflateFactory with exactly those parameters. There,
"deflate-params" is answered with the parameters the connection's PerMessageDeflate
extension uses, as JSON ("null" if none was agreed).
"""

import asyncio
import json
import ssl
import sys
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosedError
from websockets.extensions.permessage_deflate import (
    PerMessageDeflate,
    ServerPerMessageDeflateFactory,
)

MIB = 1 << 20
FRAGMENT = 64 << 10

last_close = "none"


def process_request(connection, request):
    if request.path == "/forbidden":
        return connection.respond(HTTPStatus.FORBIDDEN, "forbidden by websockets\n")
    url = urlsplit(request.path)
    if url.path == "/deflate":
        query = parse_qs(url.query, keep_blank_values=True)
        bits = query.get
        factory = ServerPerMessageDeflateFactory(
            server_no_context_takeover="server_no_context_takeover" in query,
            client_no_context_takeover="client_no_context_takeover" in query,
            server_max_window_bits=int(bits("server_max_window_bits", [0])[0]) or None,
            client_max_window_bits=int(bits("client_max_window_bits", [0])[0]) or None,
        )
        # The extensions the handshake negotiates are the protocol's, read after this hook.
        connection.protocol.available_extensions = [factory]
    return None


def agreed_params(ws):
    """The parameters of the connection's permessage-deflate, from the server's side."""
    for ext in ws.protocol.extensions:
        if isinstance(ext, PerMessageDeflate):
            return {
                "server_no_context_takeover": ext.local_no_context_takeover,
                "client_no_context_takeover": ext.remote_no_context_takeover,
                "server_max_window_bits": ext.local_max_window_bits,
                "client_max_window_bits": ext.remote_max_window_bits,
            }
    return None


def select_subprotocol(connection, offered):
    # websockets' default refuses clients that offer none of `subprotocols`; ours, and ws,
    # then go on without one.
    return "sockeye.test" if "sockeye.test" in offered else None


async def handler(ws):
    global last_close
    try:
        async for message in ws:
            if message == "deflate-params":
                await ws.send(json.dumps(agreed_params(ws), separators=(",", ":")))
            elif message == "close-me":
                await ws.close(4001, "bye from websockets")
            elif message == "fragments-please":
                payload = bytes(i % 251 for i in range(MIB))
                await ws.send(payload[i : i + FRAGMENT] for i in range(0, MIB, FRAGMENT))
            elif message == "ping-me":
                # The waiter resolves only for a pong carrying this very payload.
                waiter = await ws.ping("websockets server ping ✓".encode())
                await asyncio.wait_for(waiter, 5)
                await ws.send("pong ok")
            elif message == "last-close":
                await ws.send(last_close)
            else:
                await ws.send(message)
    except ConnectionClosedError:
        # Iterating ends quietly only on 1000 and 1001; other codes (a clean 4002 too)
        # raise.
        pass
    protocol = ws.protocol
    rcvd = protocol.close_rcvd
    if rcvd is not None and protocol.close_rcvd_then_sent and rcvd.code != 1000:
        last_close = f"{rcvd.code} {rcvd.reason}"


async def main():
    context = None
    if len(sys.argv) > 2:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[1], sys.argv[2])
    async with serve(
        handler,
        "127.0.0.1",
        0,
        ssl=context,
        select_subprotocol=select_subprotocol,
        process_request=process_request,
        max_size=16 * MIB,
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"listening {port}", flush=True)
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    asyncio.run(main())
