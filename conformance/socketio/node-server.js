// The official Node Socket.IO server our Rust client is tested against: socket.io 4.x
// (protocol v5, with connection state recovery) or 2.x (protocol v4).
//
// Usage: node node-server.js PORT v4|v2
const [port, version] = process.argv.slice(2);
const v2 = version === "v2";
const http = require("http");
const server = http.createServer();

function handlers(io, nsp) {
  nsp.on("connection", (socket) => {
    socket.emit("welcome", { sid: socket.id, nsp: nsp.name, recovered: !!socket.recovered });
    socket.on("echo", (...args) => {
      const cb = args.pop();
      cb(...args);
    });
    socket.on("request-ack", (payload, cb) => {
      if (v2) {
        socket.emit("ask", payload, (answer) => cb(answer));
      } else {
        socket.timeout(5000).emit("ask", payload, (err, answer) => cb(err ? { error: "timeout" } : answer));
      }
    });
    socket.on("join", (room, cb) => {
      socket.join(room);
      cb(room);
    });
    socket.on("to-room", (room, payload) => nsp.to(room).emit("room-message", room, payload));
    socket.on("close-transport", () => {
      socket.conn.close();
      // Sent while the client is away: a recovered session gets it on reconnection.
      setTimeout(() => nsp.to("news").emit("headline", "while you were away"), 50);
    });
  });
}

let io;
if (v2) {
  io = require("socket.io-v2")(server, { pingInterval: 5000, pingTimeout: 5000 });
  io.of("/chat").use((socket, next) => {
    if (socket.handshake.query.token === "secret") next();
    else next(new Error("unauthorized"));
  });
} else {
  const { Server } = require("socket.io");
  io = new Server(server, {
    pingInterval: 5000,
    pingTimeout: 5000,
    connectionStateRecovery: { maxDisconnectionDuration: 60000, skipMiddlewares: true },
  });
  io.of("/chat").use((socket, next) => {
    if (socket.handshake.auth.token === "secret") next();
    else next(new Error("unauthorized"));
  });
}
handlers(io, io.of("/"));
handlers(io, io.of("/chat"));
server.listen(Number(port), "127.0.0.1", () => console.log(`node socket.io ${version} on ${port}`));
