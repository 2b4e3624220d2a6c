"""The official Python client (python-socketio's sync Client, over python-engineio with
requests and websocket-client) against the sio_interop example, in one transport mode.
Prints "python/MODE: N passed, M failed"; exits 1 on any failure.

Usage: python python_client.py URL MODE
  MODE: websocket (transports=['websocket']) | polling (transports=['polling'])
        | upgrade (the default: polling, upgraded to websocket during connect())

The cases follow conformance/socketio/interop.js (the official JS clients) where
python-socketio allows; where the Python client behaves differently by design, the check
expects what it does against the reference server (see the notes at each case).
SIO_PYTHON_DEBUG=1 turns on python-socketio's and python-engineio's logging.
"""

import os
import queue
import sys
import threading
import time

import socketio

URL, MODE = sys.argv[1], sys.argv[2]
TRANSPORTS = {"websocket": ["websocket"], "polling": ["polling"], "upgrade": None}[MODE]
LABEL = f"python/{MODE}"
DEBUG = os.environ.get("SIO_PYTHON_DEBUG") == "1"
TIMEOUT = 5

passed = 0
failed = 0
clients = []


def check(name, ok, detail=None):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {LABEL} {name}" + ("" if detail is None else f": {detail!r}"), flush=True)


def finish(code=None):
    print(f"{LABEL}: {passed} passed, {failed} failed", flush=True)
    # The client's threads are daemons, but a stuck request must not hold the exit.
    os._exit(code if code is not None else (1 if failed else 0))


def watchdog():
    global failed
    failed += 1
    print(f"FAIL {LABEL}: timed out", flush=True)
    finish(1)


class Peer:
    """A python-socketio Client that records every event per namespace."""

    def __init__(self, namespaces=("/",), auth=None, reconnection=False, flush_on_disconnect=False):
        self.sio = socketio.Client(
            reconnection=reconnection,
            reconnection_delay=0.1,
            reconnection_delay_max=0.2,
            randomization_factor=0,
            logger=DEBUG,
            engineio_logger=DEBUG,
            handle_sigint=False,
        )
        self.namespaces = list(namespaces)
        self.auth = auth
        self.events = {}  # (namespace, event) -> Queue of argument lists
        self.lock = threading.Lock()
        self.connects = queue.Queue()
        self.disconnects = queue.Queue()
        self.errors = queue.Queue()
        for nsp in self.namespaces:
            self.sio.on("*", self._catch_all(nsp), namespace=nsp)
            self.sio.on("connect", self._put(self.connects, nsp), namespace=nsp)
            self.sio.on("disconnect", self._on_disconnect(nsp, flush_on_disconnect), namespace=nsp)
            self.sio.on("connect_error", self._put(self.errors, nsp), namespace=nsp)
        clients.append(self)

    def _queue(self, nsp, event):
        with self.lock:
            return self.events.setdefault((nsp, event), queue.Queue())

    def _catch_all(self, nsp):
        def handler(event, *args):
            self._queue(nsp, event).put(list(args))

        return handler

    def _on_disconnect(self, nsp, flush):
        def handler(reason):
            if flush and reason == self.sio.reason.CLIENT_DISCONNECT:
                # python-engineio's Client.disconnect() queues the DISCONNECT and CLOSE
                # packets, stops its write loop and closes the WebSocket at once, so whether
                # they reach the server is a race between two threads (the server then sees
                # the transport close, the Node reference as well). The client calls this
                # handler before it closes the WebSocket: wait here for the write loop to
                # send what is queued (it marks each packet done once sent, and clears
                # write_loop_task when it ends).
                eio = self.sio.eio
                deadline = time.monotonic() + TIMEOUT
                while eio.write_loop_task and eio.queue.unfinished_tasks and time.monotonic() < deadline:
                    time.sleep(0.005)
            self.disconnects.put((nsp, [reason]))

        return handler

    @staticmethod
    def _put(q, nsp):
        def handler(*args):
            q.put((nsp, list(args)))

        return handler

    def connect(self):
        self.sio.connect(
            URL,
            auth=self.auth,
            transports=TRANSPORTS,
            namespaces=self.namespaces,
            wait_timeout=TIMEOUT,
        )
        return self

    def next(self, event, nsp="/", timeout=TIMEOUT):
        try:
            return self._queue(nsp, event).get(timeout=timeout)
        except queue.Empty:
            return "event timeout"

    def pending(self, event, nsp="/"):
        return self._queue(nsp, event).qsize()

    def call(self, event, *args, nsp="/"):
        """Emits with an ack; returns the ack's arguments as a list."""
        done = threading.Event()
        reply = []

        def ack(*a):
            reply.extend(a)
            done.set()

        self.sio.emit(event, tuple(args), namespace=nsp, callback=ack)
        return reply if done.wait(TIMEOUT) else "ack timeout"

    def sid(self, nsp="/"):
        return self.sio.get_sid(nsp)

    def close(self):
        try:
            self.sio.shutdown()
        except Exception:
            pass


def get(q, timeout=TIMEOUT):
    try:
        return q.get(timeout=timeout)
    except queue.Empty:
        return "timeout"


def refusal(namespaces, auth=None):
    """Connects and expects a refusal: (connect_error data per namespace, exception text)."""
    peer = Peer(namespaces, auth)
    try:
        peer.connect()
    except socketio.exceptions.ConnectionError as e:
        errors = {}
        while not peer.errors.empty():
            nsp, args = peer.errors.get()
            errors[nsp] = args
        return errors, str(e)
    finally:
        peer.close()
    return {}, "connected"


def main():
    eio = 4
    ws_transport = "polling" if MODE == "polling" else "websocket"

    # Namespaces and auth.
    a = Peer().connect()
    w = a.next("welcome")
    w = w[0] if isinstance(w, list) and w else w
    check("welcome on /", isinstance(w, dict) and w.get("nsp") == "/" and w.get("eio") == eio, w)
    check("socket id matches", isinstance(w, dict) and w.get("sid") == a.sid(), [w, a.sid()])
    # The Python client finishes its upgrade inside connect(), before the CONNECT packet goes.
    check("welcome transport", isinstance(w, dict) and w.get("transport") == ws_transport, w)
    check("client transport", a.sio.transport() == ws_transport, a.sio.transport())
    errors, text = refusal(["/chat"], {"token": "wrong"})
    check("wrong auth refused", errors.get("/chat") == [{"message": "unauthorized"}], [errors, text])
    check("wrong auth raises", "/chat" in text, text)
    chat = Peer(["/chat"], {"token": "secret"}).connect()
    cw = chat.next("welcome", "/chat")
    cw = cw[0] if isinstance(cw, list) and cw else cw
    check(
        "auth reaches the server",
        isinstance(cw, dict) and cw.get("nsp") == "/chat" and cw.get("auth") == {"token": "secret"},
        cw,
    )
    check("socket id matches on /chat", isinstance(cw, dict) and cw.get("sid") == chat.sid("/chat"), cw)
    errors, text = refusal(["/nope"])
    check("unknown namespace refused", errors.get("/nope") == [{"message": "Invalid namespace"}], [errors, text])

    # Several namespaces over one Engine.IO connection (python-socketio's namespaces=[...]).
    multi = Peer(["/", "/chat"], {"token": "secret"}, flush_on_disconnect=True).connect()
    mw = multi.next("welcome", "/")
    mcw = multi.next("welcome", "/chat")
    check(
        "two namespaces on one connection",
        mw != "event timeout"
        and mcw != "event timeout"
        and mw[0]["nsp"] == "/"
        and mcw[0]["nsp"] == "/chat"
        and mw[0]["sid"] == multi.sid("/")
        and mcw[0]["sid"] == multi.sid("/chat")
        and multi.sid("/") != multi.sid("/chat"),
        [mw, mcw, multi.sio.namespaces],
    )
    check("echo on the second namespace", multi.call("echo", "c", nsp="/chat") == ["c"])
    errors, text = refusal(["/", "/chat"], {"token": "wrong"})
    check(
        "one namespace refused, the other not",
        errors.get("/chat") == [{"message": "unauthorized"}] and "/" not in errors and "/chat" in text,
        [errors, text],
    )

    # Acks both ways, emit-back, binary.
    check("echo ack", a.call("echo", 1, "two", {"three": [3]}) == [1, "two", {"three": [3]}])
    check("echo ack without arguments", a.call("echo") == [])
    a.sio.emit("emit-back", ("x", {"y": None}))
    check("emit-back", a.next("emitted-back") == ["x", {"y": None}])
    reply = a.call("binary", b"\x01\x02\x03", {"nested": [b"\x04"], "n": 5}, [b"", bytes(range(256))])
    got = a.next("binary-back")
    want = [b"\x01\x02\x03", {"nested": [b"\x04"], "n": 5}, [b"", bytes(range(256))]]
    check("binary event back", got == want, got)
    check("binary ack", reply == want, reply)
    big = bytes(range(256)) * 400
    check("binary ack 100 KiB", a.call("binary", {"big": big}) == [{"big": big}])

    def ask(payload):
        return {"answer": payload["q"] * 2, "bytes": b"\x09"}

    a.sio.on("ask", ask)
    asked = a.call("request-ack", {"q": 21})
    check("server emit with ack answered", asked == [{"answer": 42, "bytes": b"\x09"}], asked)
    info = a.call("conn-info")
    info = info[0] if isinstance(info, list) and info else {}
    check("conn-info", info.get("eio") == eio and a.sid() in info.get("rooms", []), info)
    check(f"transport {ws_transport}", info.get("transport") == ws_transport, info)
    check("upgraded", info.get("upgraded") == (MODE == "upgrade"), info)

    # Rooms and broadcasts.
    b = Peer().connect()
    c = Peer(flush_on_disconnect=True).connect()
    check("join ack", b.call("join", "r1") == ["r1"])
    check("to-room ack", a.call("to-room", "r1", {"hi": 1}) == [])
    check("room member receives", b.next("room-message") == ["r1", {"hi": 1}])
    time.sleep(0.1)
    check("non-member receives nothing", c.pending("room-message") == 0 and a.pending("room-message") == 0)
    check("leave ack", b.call("leave", "r1") == ["r1"])
    check("to-room after leave", a.call("to-room", "r1", {"hi": 2}) == [])
    time.sleep(0.1)
    check("left member receives nothing", b.pending("room-message") == 0)
    c.call("broadcast", "news")
    got = [p.next("broadcast-message") for p in (a, b, c, multi)]
    check("broadcast reaches the namespace", got == [["news"]] * 4, got)
    time.sleep(0.1)
    check(
        "broadcast stays in its namespace",
        chat.pending("broadcast-message", "/chat") == 0 and multi.pending("broadcast-message", "/chat") == 0,
    )
    multi.call("broadcast", "chat-news", nsp="/chat")
    got = [chat.next("broadcast-message", "/chat"), multi.next("broadcast-message", "/chat")]
    check("broadcast on /chat", got == [["chat-news"]] * 2, got)
    time.sleep(0.1)
    check("broadcast on /chat stays there", a.pending("broadcast-message") == 0)

    # Disconnect reasons on both sides.
    b_id = b.sid()
    b.sio.emit("disconnect-me")
    # python-socketio names the reason "server disconnect" (socket.io-client: "io server disconnect").
    check("server disconnect seen by the client", get(b.disconnects) == ("/", ["server disconnect"]))
    time.sleep(0.1)
    got = a.call("last-disconnect", b_id)
    check("server records server namespace disconnect", got == ["server namespace disconnect"], got)
    c_id = c.sid()
    c.sio.disconnect()
    check("client disconnect seen by the client", get(c.disconnects) == ("/", ["client disconnect"]))
    time.sleep(0.2)
    got = a.call("last-disconnect", c_id)
    check("server records client namespace disconnect", got == ["client namespace disconnect"], got)
    m_ids = [multi.sid("/"), multi.sid("/chat")]
    multi.sio.disconnect()
    time.sleep(0.2)
    got = [a.call("last-disconnect", i) for i in m_ids]
    check("client disconnect of two namespaces", got == [["client namespace disconnect"]] * 2, got)

    # The server closes the transport. Over WebSocket the server just closes the connection
    # (as the reference's socket.conn.close()): the client sees a transport error and
    # reconnects by itself. Over polling the server answers the pending GET with an Engine.IO
    # CLOSE packet (as the reference's polling transport does), which python-engineio takes
    # as a server disconnect: python-socketio does not reconnect then (the same against the
    # Node reference). Connecting that Client again by hand is no test either: the old
    # connection's write loop lives on (python-engineio's disconnect(abort=True) empties the
    # queue it waits on) and takes packets of the new one, until its 30 s timeout.
    r = Peer(reconnection=True).connect()
    r_id = r.sid()
    r.connects.get(timeout=TIMEOUT)  # the first connect
    r.sio.emit("close-transport")
    reason = get(r.disconnects)
    if MODE == "polling":
        check("server close seen by the client", reason == ("/", ["server disconnect"]), reason)
        time.sleep(0.3)
        check("no reconnection after a server disconnect", r.connects.empty() and not r.sio.connected)
    else:
        check("transport close seen by the client", reason == ("/", ["transport error"]), reason)
        check("client reconnects", get(r.connects, 8) == ("/", []))
        check("new socket id", r.sid() not in (None, r_id), [r.sid(), r_id])
        rw = [r.next("welcome"), r.next("welcome")]
        check("welcome again", rw[1] != "event timeout" and rw[1][0]["sid"] == r.sid(), rw)
        check("reconnected socket works", r.call("echo", "again") == ["again"])
    time.sleep(0.1)
    got = a.call("last-disconnect", r_id)
    check("server records forced close", got == ["forced close"], got)


if __name__ == "__main__":
    threading.Timer(60, watchdog).start()
    try:
        main()
    except Exception as e:  # noqa: BLE001 - any error is a failure of the run
        failed += 1
        import traceback

        traceback.print_exc()
        print(f"FAIL {LABEL}: {type(e).__name__}: {e}", flush=True)
    for p in clients:
        p.close()
    finish()
