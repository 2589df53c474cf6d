// The Socket.IO 4 baseline of gifbench (bench/gifbench): the stack gifchat replaces, with the bench's room
// semantics. A client joins a room with the `join` event (acknowledged); `POST /send {room, text}` numbers
// the message per room and emits `message` to the room; `POST /rooms {title}` emits `roomCreated` to the
// room `lobby`. Bad input gets a 400 with a JSON error and changes nothing.
//
// Usage: node server.js <port>   (listens on 127.0.0.1 only)

'use strict';

const http = require('node:http');
const { Server } = require('socket.io');

const MAX_TEXT = 1000;
const MAX_BODY = 64 * 1024;

const port = Number(process.argv[2] || process.env.PORT);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node server.js <port>');
  process.exit(2);
}

/** Next sequence number per room. */
const seqs = new Map();
let nextRoom = 0;

function textOk(v) {
  return typeof v === 'string' && v.length > 0 && Buffer.byteLength(v) <= MAX_TEXT;
}

function reply(res, status, body) {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

/** Reads a JSON body of at most MAX_BODY bytes; calls back with the value or null. */
function readJson(req, done) {
  const chunks = [];
  let size = 0;
  let over = false;
  req.on('data', (c) => {
    size += c.length;
    if (size > MAX_BODY) over = true;
    else chunks.push(c);
  });
  req.on('end', () => {
    if (over) return done(null);
    try {
      done(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    } catch {
      done(null);
    }
  });
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') return reply(res, 200, { ok: true });
  if (req.method === 'POST' && req.url === '/send') {
    return readJson(req, (body) => {
      if (!body || !textOk(body.room) || !textOk(body.text)) {
        return reply(res, 400, { error: 'body must be JSON {room, text} of 1..=1000 bytes each' });
      }
      const seq = (seqs.get(body.room) || 0) + 1;
      seqs.set(body.room, seq);
      io.to(body.room).emit('message', { room: body.room, seq, text: body.text });
      reply(res, 200, { seq });
    });
  }
  if (req.method === 'POST' && req.url === '/rooms') {
    return readJson(req, (body) => {
      if (!body || !textOk(body.title)) return reply(res, 400, { error: 'body must be JSON {title} of 1..=1000 bytes' });
      nextRoom += 1;
      const id = `r${nextRoom}`;
      io.to('lobby').emit('roomCreated', { room: { id, title: body.title, memberCount: 0 } });
      reply(res, 200, { id });
    });
  }
  // socket.io answers its own path; everything else is unknown.
  if (!req.url.startsWith('/socket.io/')) reply(res, 404, { error: 'not found' });
});
server.keepAliveTimeout = 60000;

const io = new Server(server, { serveClient: false, maxHttpBufferSize: MAX_BODY });
io.on('connection', (socket) => {
  socket.on('join', (room, ack) => {
    if (typeof ack !== 'function') return;
    if (!textOk(room)) return ack({ error: 'room must be 1..=1000 bytes' });
    socket.join(room);
    ack({ ok: true });
  });
});

server.listen(port, '127.0.0.1', () => console.log(`socket.io baseline on 127.0.0.1:${port}`));
