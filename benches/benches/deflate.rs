//! permessage-deflate (RFC 7692) throughput and compression ratio on a JSON-like chat
//! corpus: sockeye-ws (flate2 / zlib-rs) against the npm `ws` package's perMessageDeflate
//! (Node's zlib), in one run, batches interleaved.
//!
//! ```text
//! benches/deflate-vs-ws.sh      # installs ws 8.23.0 under target/bench, runs this bench
//! cargo bench -p sockeye-benches --features deflate --bench deflate   # ws if installed
//! ```
//!
//! The bench needs the package's `deflate` feature (sockeye-ws' permessage-deflate), which
//! is off by default so the `ws` bench measures sockeye-ws without it compiled in.
//!
//! # Corpus
//!
//! 4,000 chat events generated from a fixed seed: messages, edits, typing notices,
//! reactions, presence, read markers and joins across 12 rooms and 48 users, each one line
//! of JSON between 50 and 500 bytes, some text with mentions, links, emoji and other
//! non-ASCII words. It is written to `<dir>/chat-corpus.ndjson` (`<dir>` is
//! `target/bench/deflate`, or `$SOCKEYE_BENCH_DIR`) and read back by the Node side, so both
//! sides compress the same bytes.
//!
//! # What both sides do
//!
//! The same permessage-deflate setup on both sides: context takeover both ways, 15-bit
//! windows (no parameters negotiated, as ws answers a browser's offer), zlib level 6 and
//! memory level 8 (zlib's defaults, which ws uses), threshold 0 so every message is
//! compressed. Each message is its own WebSocket message: one deflate sync flush, the
//! trailer removed, one frame with RSV1.
//!
//! - **compress**: a server sends every corpus message as text to its client, one after
//!   another, on a connection that lives across passes (so the context carries over, as on
//!   a real connection). Ours: `send_text`, then `poll_transmit` into a `Vec` (swapped, no
//!   copy), per message. ws: `Sender.send` with `compress: true`, each message sent when
//!   the previous frame has been written, to an in-memory socket.
//! - **decompress**: a server receives the whole corpus as masked, compressed client
//!   frames in one buffer, through a fresh connection each pass (the stream starts from a
//!   fresh context). It unmasks, inflates each message, checks its UTF-8 and hands it out.
//!   Ours: `handle_data` (which copies the input into the receive buffer) and `poll_event`;
//!   ws: a fresh `Receiver` and `PerMessageDeflate`, fed a fresh copy of the input (it
//!   unmasks in place). Two client streams, both decompressed by both sides: the one ws's
//!   compressor produced (Node's zlib, the same code a browser compresses with) and the one
//!   ours produced.
//! - **ratio**: compressed payload bytes / uncompressed payload bytes over the corpus, from
//!   a fresh context (frame headers excluded; they are the same size on both sides).
//!
//! Both sides compress at level 6, ws's default. zlib-rs maps levels as zlib-ng does, not
//! as zlib: its level 6 is zlib-ng's "medium" strategy and compresses this corpus about 2%
//! worse than zlib's level 6, while its level 7 (zlib's lazy "slow" strategy) matches it.
//! So the table has a second compress row, our lowest level whose ratio is equal or better
//! than ws's at 6 against ws at 6, and ends with a sweep of levels 1–9 on both sides.
//!
//! Before timing, every stream is decoded back to the corpus by both implementations: ours
//! inflates what ws sent and ws inflates what ours sent.
//!
//! `benches/node/ws-deflate.js` explains why it drives ws through its `Sender` and
//! `Receiver` classes (public exports, the code a ws `WebSocket` runs per message, socket
//! replaced by an in-memory sink). Node runs zlib on the libuv threadpool and calls back on
//! the main thread: that hand-off per message is part of what ws costs, and is measured.
//! Its latency dominates ws's figures and depends on the machine's state: on an idle VM,
//! where the other vCPU has to be woken each time, ws measured up to three times slower
//! than under load. Quote the ratios from a run on a busy machine, the conservative ones.
//!
//! # How the table is timed
//!
//! The Node script runs as a child process taking commands on stdin. Each round runs, per
//! case, a batch of ~200 ms of whole passes over the corpus on each side, alternating which
//! side goes first; only one side runs at a time. Throughput is MB/s (10^6 bytes) of
//! uncompressed payload; each cell gives the fastest pass and, in parentheses, the median
//! pass, and the target counts as met only when both ratios reach it. The level sweep runs
//! fewer, shorter rounds (fastest pass only). Criterion measures our side alone beforehand
//! (`--profile-time` works for profiling it, without Node); the tables do not use
//! criterion's figures.

use std::env;
use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput};
use sockeye_ws::deflate::{DeflateConfig, DeflateParams};
use sockeye_ws::frame::{FrameHeader, RSV1};
use sockeye_ws::{Config, Connection, Event, Message, Transmit};

/// Number of chat events in the corpus.
const MESSAGES: usize = 4000;
/// Seed of the corpus generator; change it and the corpus changes.
const SEED: u64 = 7692;
/// Every corpus message is this long or longer, in bytes…
const MIN_LEN: usize = 50;
/// …and this long or shorter.
const MAX_LEN: usize = 500;
/// The npm ws version benches/deflate-vs-ws.sh installs (checked against the child's).
const WS_VERSION: &str = "8.23.0";

/// zlib's default level, ws's default (its `zlibDeflateOptions` are empty by default).
const LEVEL: u32 = 6;
/// zlib's default memory level, ws's default.
const MEM_LEVEL: u8 = 8;

/// Interleaved rounds of the main table; each runs one batch per side per case.
const ROUNDS: usize = 15;
/// Length of one batch: whole passes over the corpus until this much time has passed.
const BATCH: Duration = Duration::from_millis(200);
/// Interleaved rounds of the level sweep, and their batch length.
const SWEEP_ROUNDS: usize = 3;
const SWEEP_BATCH: Duration = Duration::from_millis(100);
/// The issue 5 target: ours at least this many times ws's throughput.
const TARGET: f64 = 2.0;

const CORPUS_FILE: &str = "chat-corpus.ndjson";
const OURS_STREAM_FILE: &str = "sockeye-client-stream.bin";
const WS_STREAM_FILE: &str = "ws-client-stream.bin";

// ----- corpus -----

struct Corpus {
    messages: Vec<String>,
    /// Total uncompressed payload bytes.
    bytes: usize,
}

impl Corpus {
    fn generate() -> Self {
        let mut chat = Chat::new(SEED);
        let messages: Vec<String> = (0..MESSAGES).map(|_| chat.event()).collect();
        let bytes = messages.iter().map(String::len).sum();
        Corpus { messages, bytes }
    }

    /// NDJSON: one message per line, a newline after each.
    fn ndjson(&self) -> String {
        let mut out = String::with_capacity(self.bytes + self.messages.len());
        for m in &self.messages {
            out.push_str(m);
            out.push('\n');
        }
        out
    }

    fn median_len(&self) -> usize {
        let mut lens: Vec<usize> = self.messages.iter().map(String::len).collect();
        lens.sort_unstable();
        lens[lens.len() / 2]
    }
}

/// xorshift64*: deterministic, the same stream on every platform.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True `percent` times in a hundred.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    /// Index in `0..n`, skewed towards 0 like word frequencies: n·u² for a uniform u in
    /// [0, 1), in integers (u has 32 bits).
    fn skewed(&mut self, n: usize) -> usize {
        let u = self.next() >> 32;
        ((u128::from(u * u) * n as u128) >> 64) as usize
    }
}

const USERS: [&str; 48] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yuki", "zoe",
    "mateo", "sofia", "liam", "noah", "emma", "ava", "mia", "lucas", "chen", "priya", "arjun",
    "fatima", "omar", "lena", "jonas", "kenji", "hana", "diego", "camila", "nina", "oskar", "ines",
    "tariq", "amara", "ravi", "elif", "pavel",
];

const ROOMS: [&str; 12] = [
    "lobby",
    "general",
    "random",
    "dev",
    "ops",
    "design",
    "support",
    "release-2026-11",
    "offtopic",
    "music",
    "gaming",
    "help",
];

/// Chat vocabulary, roughly most frequent first ([`Rng::skewed`] favours the front).
const WORDS: &[&str] = &[
    "the", "i", "to", "a", "it", "you", "is", "and", "that", "in", "for", "of", "on", "we", "this",
    "be", "just", "so", "but", "not", "have", "can", "with", "do", "yeah", "ok", "lol", "what",
    "are", "was", "if", "no", "at", "think", "will", "me", "my", "know", "get", "there", "now",
    "like", "one", "up", "about", "all", "out", "need", "still", "go", "time", "thanks", "sure",
    "it's", "i'm", "don't", "should", "did", "see", "back", "yes", "they", "going", "some", "good",
    "from", "then", "looks", "work", "new", "today", "after", "also", "right", "got", "when",
    "how", "really", "make", "would", "here", "maybe", "could", "build", "test", "fix", "deploy",
    "branch", "merge", "PR", "review", "release", "bug", "issue", "meeting", "call", "lunch",
    "tomorrow", "later", "morning", "tonight", "weekend", "coffee", "nice", "great", "cool",
    "awesome", "haha", "pretty", "sounds", "done", "working", "broken", "again", "already",
    "first", "last", "next", "week", "server", "client", "config", "logs", "error", "timeout",
    "cache", "database", "query", "latency", "CPU", "memory", "disk", "staging", "prod",
    "rollback", "ticket", "docs", "api", "endpoint", "token", "login", "page", "button", "design",
    "mockup", "font", "color", "dark", "mode", "mobile", "app", "update", "version", "install",
    "restart", "check", "try", "wait", "soon", "almost", "finally", "weird", "because", "actually",
    "probably", "anyone", "everyone", "someone", "team", "people", "thing", "stuff", "idea",
    "question", "answer", "problem", "plan", "point", "music", "song", "game", "movie", "play",
    "watch", "read", "write", "send", "link", "photo", "picture", "room", "channel", "thread",
    "message", "ping", "help", "please", "sorry", "happy", "friday", "monday", "tired", "hungry",
];

const EMOJI: [&str; 10] = ["😂", "👍", "🎉", "❤️", "🙏", "😅", "🔥", "👀", "🚀", "😭"];
const NON_ASCII: [&str; 10] = [
    "café",
    "naïve",
    "déjà",
    "Zürich",
    "São",
    "señor",
    "日本語",
    "привет",
    "こんにちは",
    "Ωmega",
];
const STATUSES: [&str; 4] = ["online", "away", "busy", "offline"];
const ENDINGS: [&str; 7] = [".", "!", "?", "...", "", "!!", " :)"];
const EXTENSIONS: [&str; 4] = ["png", "jpg", "gif", "webp"];

/// Generates chat events: a clock, message ids, and recent messages to refer to.
struct Chat {
    rng: Rng,
    ts: u64,
    seq: u64,
    recent: Vec<String>,
}

impl Chat {
    fn new(seed: u64) -> Self {
        Chat {
            rng: Rng::new(seed),
            ts: 1_764_000_000_000,
            seq: 0,
            recent: Vec::new(),
        }
    }

    /// One event of `MIN_LEN..=MAX_LEN` bytes (drawn again until it is).
    fn event(&mut self) -> String {
        loop {
            let event = self.draw();
            if (MIN_LEN..=MAX_LEN).contains(&event.len()) {
                assert!(!event.contains('\n'), "one line per message");
                return event;
            }
        }
    }

    fn draw(&mut self) -> String {
        self.ts += self.rng.range(20, 20_000) as u64;
        let kind = self.rng.below(100);
        let room = self.rng.pick(&ROOMS);
        let user = self.rng.below(USERS.len());
        let mut j = Json::new();
        match kind {
            0..62 => {
                // Chosen first, so a message never replies to itself.
                let reply_to = self.recent_id().filter(|_| self.rng.chance(20));
                let id = self.new_id();
                j.str("type", "message").str("id", &id).str("room", room);
                j.user("user", user);
                let text = self.text();
                j.str("text", &text);
                if let Some(to) = reply_to {
                    j.str("reply_to", &to);
                }
                if self.rng.chance(10) {
                    let n = self.rng.range(1, 3);
                    let names: Vec<&str> = (0..n).map(|_| self.rng.pick(&USERS)).collect();
                    j.str_array("mentions", &names);
                }
                if self.rng.chance(5) {
                    let url = format!(
                        "https://cdn.example.com/u/{}/{:08x}.{}",
                        1000 + user,
                        self.rng.next() as u32,
                        self.rng.pick(&EXTENSIONS)
                    );
                    let (w, h) =
                        [(1280, 720), (1920, 1080), (800, 600), (1080, 1350)][self.rng.below(4)];
                    j.raw(
                        "attachments",
                        &format!(
                            "[{{\"kind\":\"image\",\"url\":\"{url}\",\"width\":{w},\"height\":{h}}}]"
                        ),
                    );
                }
                j.num("ts", self.ts);
            }
            62..74 => {
                j.str("type", "typing").str("room", room);
                j.str("user", USERS[user]).num("ts", self.ts);
            }
            74..82 => {
                let id = self.recent_id().unwrap_or_else(|| self.new_id());
                let emoji = self.rng.pick(&EMOJI);
                j.str("type", "reaction")
                    .str("room", room)
                    .str("message_id", &id);
                j.str("user", USERS[user]).str("emoji", emoji);
                j.num("ts", self.ts);
            }
            82..89 => {
                j.str("type", "presence");
                j.user("user", user);
                j.str("status", self.rng.pick(&STATUSES)).num("ts", self.ts);
            }
            89..94 => {
                let id = self.recent_id().unwrap_or_else(|| self.new_id());
                j.str("type", "read")
                    .str("room", room)
                    .str("user", USERS[user]);
                j.str("up_to", &id).num("ts", self.ts);
            }
            94..97 => {
                let id = self.recent_id().unwrap_or_else(|| self.new_id());
                j.str("type", "edit").str("id", &id).str("room", room);
                j.user("user", user);
                let text = self.text();
                j.str("text", &text).num("edited_at", self.ts);
                j.num("ts", self.ts - self.rng.range(1_000, 300_000) as u64);
            }
            _ => {
                j.str("type", "join").str("room", room);
                j.user("user", user);
                j.num("members", self.rng.range(3, 400) as u64);
                j.num("ts", self.ts);
            }
        }
        j.finish()
    }

    /// A new message id (a hex snowflake: time, then a sequence number).
    fn new_id(&mut self) -> String {
        self.seq += 1;
        let id = format!("{:x}{:04x}", self.ts, self.seq & 0xffff);
        self.recent.push(id.clone());
        if self.recent.len() > 64 {
            self.recent.remove(0);
        }
        id
    }

    fn recent_id(&mut self) -> Option<String> {
        if self.recent.is_empty() {
            return None;
        }
        let i = self.recent.len() - 1 - self.rng.skewed(self.recent.len());
        Some(self.recent[i].clone())
    }

    /// Chat text: short most of the time, sometimes a paragraph; sentences of skewed
    /// vocabulary with the odd mention, link, emoji, number, quote or line break.
    fn text(&mut self) -> String {
        let target = match self.rng.below(100) {
            0..45 => self.rng.range(3, 40),
            45..85 => self.rng.range(40, 140),
            _ => self.rng.range(140, 330),
        };
        let mut text = String::new();
        let mut sentence_start = true;
        while text.len() < target {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push(' ');
            }
            // (word, whether it is a plain word, capitalised at the start of a sentence)
            let (word, plain) = match self.rng.below(100) {
                0..4 => (format!("@{}", self.rng.pick(&USERS)), false),
                4..6 => {
                    let path = self.rng.pick(WORDS);
                    let n = self.rng.range(1, 9999);
                    (format!("https://example.com/{path}/{n}"), false)
                }
                6..9 => (self.rng.pick(&EMOJI).to_string(), false),
                9..11 => (self.rng.pick(&NON_ASCII).to_string(), false),
                11..13 => {
                    let (h, m) = (self.rng.range(1, 12), self.rng.below(60));
                    (format!("{h}:{m:02}"), false)
                }
                13..14 => (
                    format!("\"{}\"", WORDS[self.rng.skewed(WORDS.len())]),
                    false,
                ),
                _ => (WORDS[self.rng.skewed(WORDS.len())].to_string(), true),
            };
            if sentence_start && plain {
                let mut chars = word.chars();
                if let Some(first) = chars.next() {
                    text.extend(first.to_uppercase());
                    text.push_str(chars.as_str());
                }
            } else {
                text.push_str(&word);
            }
            sentence_start = false;
            if self.rng.chance(12) {
                text.push_str(self.rng.pick(&ENDINGS));
                sentence_start = true;
                if self.rng.chance(8) {
                    text.push('\n');
                }
            }
        }
        text.trim_end().to_string()
    }
}

/// A JSON object written out field by field (no serde in this bench).
struct Json(String);

impl Json {
    fn new() -> Self {
        Json(String::from("{"))
    }

    fn key(&mut self, key: &str) {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        self.0.push('"');
        self.0.push_str(key);
        self.0.push_str("\":");
    }

    fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        push_json_string(&mut self.0, value);
        self
    }

    fn num(&mut self, key: &str, value: u64) -> &mut Self {
        self.key(key);
        self.0.push_str(&value.to_string());
        self
    }

    fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key);
        self.0.push_str(json);
        self
    }

    fn str_array(&mut self, key: &str, values: &[&str]) -> &mut Self {
        self.key(key);
        self.0.push('[');
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.0.push(',');
            }
            push_json_string(&mut self.0, v);
        }
        self.0.push(']');
        self
    }

    fn user(&mut self, key: &str, user: usize) -> &mut Self {
        let name = USERS[user];
        self.raw(
            key,
            &format!("{{\"id\":{},\"name\":\"{name}\"}}", 1000 + user),
        )
    }

    fn finish(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// FNV-1a, 64 bits: names the corpus in the output, so runs can be matched up.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

// ----- our side -----

fn deflate_config(level: u32) -> DeflateConfig {
    DeflateConfig::builder()
        .level(level)
        .mem_level(MEM_LEVEL)
        .threshold(0)
        .build()
        .expect("levels 1–9, memory level 8 and threshold 0 are valid")
}

/// What ws agrees to when a browser offers `permessage-deflate; client_max_window_bits`:
/// no parameters, so context takeover and 15-bit windows both ways.
fn params() -> DeflateParams {
    DeflateParams::default()
}

/// A server compressing at `level` (decompression does not depend on it).
fn server(level: u32) -> Connection {
    let mut conn = Connection::server(Config::default(), Instant::now());
    conn.enable_deflate(params(), &deflate_config(level));
    conn
}

fn client() -> Connection {
    let mut key = 0u32;
    let masks = move || {
        key = key.wrapping_add(0x9e37_79b9);
        key.to_be_bytes()
    };
    let mut conn = Connection::client(Config::default(), masks, Instant::now());
    conn.enable_deflate(params(), &deflate_config(LEVEL));
    conn
}

/// A connection sending the corpus, message by message; lives across passes.
struct Compressor {
    conn: Connection,
    buf: Vec<u8>,
}

impl Compressor {
    fn new(conn: Connection) -> Self {
        Compressor {
            conn,
            buf: Vec::new(),
        }
    }

    /// Sends every message, taking each one's frame as it is ready and handing it to
    /// `frame`; returns the wire bytes.
    fn pass(&mut self, messages: &[String], mut frame: impl FnMut(&[u8])) -> usize {
        let mut wire = 0;
        for m in messages {
            self.conn.send_text(m).expect("the connection stays open");
            while let Some(transmit) = self.conn.poll_transmit(&mut self.buf) {
                match transmit {
                    Transmit::Data { len } => wire += len,
                    Transmit::Shutdown => panic!("no shutdown while open"),
                }
            }
            frame(&self.buf);
            self.buf.clear();
        }
        wire
    }
}

/// The corpus as one stream of frames from a fresh compressor of `conn`.
fn stream(conn: Connection, corpus: &Corpus) -> Vec<u8> {
    let mut out = Vec::new();
    Compressor::new(conn).pass(&corpus.messages, |f| out.extend_from_slice(f));
    out
}

/// Receives `stream` through a fresh connection of `conn`, handing each message to
/// `message`; returns the number of messages.
fn inflate_pass(mut conn: Connection, stream: &[u8], mut message: impl FnMut(Bytes)) -> usize {
    conn.handle_data(Instant::now(), stream);
    let mut n = 0;
    while let Some(event) = conn.poll_event() {
        match event {
            Event::Message(Message::Text(text)) => message(text.into_bytes()),
            other => panic!("unexpected event {other:?}"),
        }
        n += 1;
    }
    n
}

/// Summed payload length of the frames in `wire`; every frame is a compressed, final text
/// frame.
fn payload_bytes(wire: &[u8]) -> usize {
    let (mut pos, mut payload) = (0, 0);
    while pos < wire.len() {
        let (header, hlen) = FrameHeader::decode(&wire[pos..])
            .expect("valid frame")
            .expect("complete frame");
        assert!(
            header.fin && header.rsv & RSV1 != 0,
            "compressed whole frames"
        );
        let len = usize::try_from(header.payload_len).expect("small frames");
        pos += hlen + len;
        payload += len;
    }
    assert_eq!(pos, wire.len(), "whole frames only");
    payload
}

/// Decodes `stream` with a fresh `conn` and checks it gives back the corpus.
fn check_inflates(conn: Connection, stream: &[u8], corpus: &Corpus, what: &str) {
    let mut got = Vec::new();
    let n = inflate_pass(conn, stream, |m| got.push(m));
    assert_eq!(n, corpus.messages.len(), "{what}: message count");
    for (i, (got, want)) in got.iter().zip(&corpus.messages).enumerate() {
        assert!(got == want.as_bytes(), "{what}: message {i} differs");
    }
}

// ----- the ws side -----

/// The Node child running benches/node/ws-deflate.js.
struct WsPeer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// `key=value` pairs of its `ready` line.
    info: Vec<(String, String)>,
}

impl WsPeer {
    /// Starts the Node side over `dir` (it reads the corpus and our stream there, writes
    /// its own stream, and checks all three); `Err` says why there is no ws column.
    fn spawn(dir: &Path) -> Result<Self, String> {
        let modules = match env::var_os("SOCKEYE_BENCH_WS_NODE_MODULES") {
            Some(path) => PathBuf::from(path),
            None => target_dir().join("bench/ws-node/node_modules"),
        };
        if !modules.join("ws/package.json").is_file() {
            return Err(format!(
                "npm ws not found under {}; benches/deflate-vs-ws.sh installs it",
                modules.display()
            ));
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("node/ws-deflate.js");
        let node = env::var_os("NODE").unwrap_or_else(|| "node".into());
        let mut child = Command::new(node)
            .arg(script)
            .arg(dir)
            .env("NODE_PATH", &modules)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot run node: {e}"))?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut peer = WsPeer {
            child,
            stdin,
            stdout,
            info: Vec::new(),
        };
        let line = peer.read_line()?;
        let Some(rest) = line.strip_prefix("ready ") else {
            return Err(format!("unexpected first line from node: {line:?}"));
        };
        peer.info = rest
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if peer.get("ws") != WS_VERSION {
            eprintln!(
                "warning: npm ws {} installed, this bench documents {WS_VERSION}",
                peer.get("ws")
            );
        }
        Ok(peer)
    }

    fn get(&self, key: &str) -> &str {
        self.info
            .iter()
            .find(|(k, _)| k == key)
            .map_or("?", |(_, v)| v.as_str())
    }

    fn number(&self, key: &str) -> usize {
        self.get(key)
            .parse()
            .unwrap_or_else(|_| panic!("node reported no {key}"))
    }

    fn read_line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => Err("node exited (see its error above)".to_string()),
            Ok(_) => Ok(line.trim_end().to_string()),
            Err(e) => Err(format!("reading from node: {e}")),
        }
    }

    /// Sends one command and returns the answer's words after `expect`.
    fn ask(&mut self, command: &str, expect: &str) -> String {
        writeln!(self.stdin, "{command}").expect("node is running");
        self.stdin.flush().expect("node is running");
        let line = self.read_line().expect("node answers every command");
        match line.strip_prefix(expect) {
            Some(rest) => rest.trim().to_string(),
            None => panic!("unexpected answer from node to {command:?}: {line:?}"),
        }
    }

    /// ws's payload bytes for the corpus compressed at `level` from a fresh context.
    fn payload(&mut self, level: u32) -> usize {
        self.ask(&format!("ratio {level}"), "payload ")
            .parse()
            .expect("a byte count")
    }

    /// Runs one batch of `case` for about `batch`; returns each pass's seconds.
    fn batch(&mut self, case: Case, batch: Duration) -> Vec<f64> {
        let command = match case {
            Case::Compress { ws, .. } => format!("compress {ws}"),
            Case::Decompress(Stream::Ws) => "decompress ws".to_string(),
            Case::Decompress(Stream::Sockeye) => "decompress sockeye".to_string(),
        };
        let passes = self.ask(&format!("{command} {}", batch.as_millis()), "passes ");
        passes
            .split_whitespace()
            .map(|ns| ns.parse::<f64>().expect("nanoseconds") / 1e9)
            .collect()
    }
}

impl Drop for WsPeer {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}

/// `$SOCKEYE_BENCH_DIR`, else `target/bench/deflate` (the target directory found from this
/// binary's path, `target/<profile>/deps/deflate-…`).
fn bench_dir() -> PathBuf {
    match env::var_os("SOCKEYE_BENCH_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => target_dir().join("bench/deflate"),
    }
}

fn target_dir() -> PathBuf {
    let exe = env::current_exe().expect("the bench binary has a path");
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .expect("the bench binary lives in target/<profile>/deps")
}

/// Where measured output goes.
fn sink<T>(output: T) {
    black_box(output);
}

// ----- criterion (ours alone) -----

fn criterion_benches(c: &mut Criterion, corpus: &Corpus, streams: &[(Stream, &[u8])]) {
    let mut group = c.benchmark_group("deflate_chat");
    group.throughput(Throughput::Bytes(corpus.bytes as u64));
    let mut compressor = Compressor::new(server(LEVEL));
    group.bench_function("compress", |b| {
        b.iter(|| compressor.pass(&corpus.messages, |f| sink(f)))
    });
    for &(stream, bytes) in streams {
        group.bench_function(format!("decompress_{}_stream", stream.name()), |b| {
            b.iter(|| inflate_pass(server(LEVEL), bytes, sink))
        });
    }
    group.finish();
}

// ----- the interleaved tables -----

/// Whose client compressed a decompress case's input.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stream {
    Ws,
    Sockeye,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Ws => "ws",
            Stream::Sockeye => "sockeye",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Case {
    /// Server → client, ours at level `ours`, ws at level `ws`.
    Compress { ours: u32, ws: u32 },
    /// A server inflating a client's stream.
    Decompress(Stream),
}

impl Case {
    fn label(self) -> String {
        match self {
            Case::Compress { ours, ws } if ours == ws => format!("compress, level {ours}"),
            Case::Compress { ours, ws } => {
                format!("compress, sockeye level {ours} vs ws level {ws}")
            }
            Case::Decompress(stream) => format!("decompress {}'s client stream", stream.name()),
        }
    }
}

/// Our side of every case: the inputs and one long-lived compressor per level.
struct Ours<'a> {
    corpus: &'a Corpus,
    ws_stream: &'a [u8],
    sockeye_stream: &'a [u8],
    compressors: Vec<Option<Compressor>>,
}

impl Ours<'_> {
    /// Runs whole passes of `case` until `batch` has passed; returns each pass's seconds.
    fn batch(&mut self, case: Case, batch: Duration) -> Vec<f64> {
        let start = Instant::now();
        let mut passes = Vec::new();
        loop {
            let t = Instant::now();
            match case {
                Case::Compress { ours, .. } => {
                    let compressor = self.compressors[ours as usize]
                        .get_or_insert_with(|| Compressor::new(server(ours)));
                    compressor.pass(&self.corpus.messages, |f| sink(f));
                }
                Case::Decompress(stream) => {
                    let input = match stream {
                        Stream::Ws => self.ws_stream,
                        Stream::Sockeye => self.sockeye_stream,
                    };
                    inflate_pass(server(LEVEL), input, sink);
                }
            }
            passes.push(t.elapsed().as_secs_f64());
            if start.elapsed() >= batch {
                return passes;
            }
        }
    }
}

#[derive(Default)]
struct Passes(Vec<f64>);

impl Passes {
    fn best(&self) -> f64 {
        self.0.iter().copied().fold(f64::INFINITY, f64::min)
    }

    fn median(&self) -> f64 {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }
}

struct Row {
    case: Case,
    ours: Passes,
    ws: Passes,
}

/// Runs `rounds` rounds over `cases`, one batch per side per case per round, alternating
/// which side goes first (so drift in load spreads evenly); only one side runs at a time.
fn interleave(
    cases: &[Case],
    rounds: usize,
    batch: Duration,
    ours: &mut Ours<'_>,
    ws: &mut WsPeer,
) -> Vec<Row> {
    let mut rows: Vec<Row> = cases
        .iter()
        .map(|&case| Row {
            case,
            ours: Passes::default(),
            ws: Passes::default(),
        })
        .collect();
    for round in 0..rounds {
        for row in &mut rows {
            if round % 2 == 0 {
                row.ours.0.extend(ours.batch(row.case, batch));
                row.ws.0.extend(ws.batch(row.case, batch));
            } else {
                row.ws.0.extend(ws.batch(row.case, batch));
                row.ours.0.extend(ours.batch(row.case, batch));
            }
        }
    }
    rows
}

/// Payload bytes of the corpus compressed by each side at each level 1–9.
struct Ratios {
    ours: Vec<usize>,
    ws: Vec<usize>,
}

impl Ratios {
    fn measure(corpus: &Corpus, ws: &mut WsPeer) -> Self {
        let levels = 1..=9;
        Ratios {
            ours: levels
                .clone()
                .map(|level| payload_bytes(&stream(server(level), corpus)))
                .collect(),
            ws: levels.map(|level| ws.payload(level)).collect(),
        }
    }

    fn ours(&self, level: u32) -> usize {
        self.ours[level as usize - 1]
    }

    fn ws(&self, level: u32) -> usize {
        self.ws[level as usize - 1]
    }

    /// Our lowest level whose output is no larger than ws's at [`LEVEL`].
    fn matching_level(&self) -> Option<u32> {
        (1..=9).find(|&level| self.ours(level) <= self.ws(LEVEL))
    }
}

fn mbps(corpus: &Corpus, secs: f64) -> f64 {
    corpus.bytes as f64 / 1e6 / secs
}

fn us_per_message(corpus: &Corpus, secs: f64) -> f64 {
    secs / corpus.messages.len() as f64 * 1e6
}

fn ratio(corpus: &Corpus, payload: usize) -> f64 {
    payload as f64 / corpus.bytes as f64
}

fn print_main_table(corpus: &Corpus, rows: &[Row], ratios: &Ratios, ws: &WsPeer) {
    println!();
    println!(
        "permessage-deflate vs npm ws {} (Node {}, zlib {}): memLevel {MEM_LEVEL}, 15-bit \
         windows, context takeover, threshold 0",
        ws.get("ws"),
        ws.get("node"),
        ws.get("zlib")
    );
    println!(
        "MB/s of uncompressed payload: fastest pass (median pass) of {ROUNDS} interleaved \
         rounds of ~{} ms batches per side; ratio: compressed / uncompressed payload",
        BATCH.as_millis()
    );
    println!();
    println!(
        "| case | sockeye MB/s | ws MB/s | sockeye µs/msg | ws µs/msg | sockeye / ws | \
         ≥{TARGET}× | sockeye ratio | ws ratio |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|---:|---:|");
    for row in rows {
        let (ob, om) = (
            mbps(corpus, row.ours.best()),
            mbps(corpus, row.ours.median()),
        );
        let (wb, wm) = (mbps(corpus, row.ws.best()), mbps(corpus, row.ws.median()));
        let (x_best, x_median) = (ob / wb, om / wm);
        let met = x_best >= TARGET && x_median >= TARGET;
        let (our_ratio, ws_ratio) = match row.case {
            Case::Compress { ours, ws } => (
                format!("{:.4}", ratio(corpus, ratios.ours(ours))),
                format!("{:.4}", ratio(corpus, ratios.ws(ws))),
            ),
            Case::Decompress(_) => ("—".to_string(), "—".to_string()),
        };
        println!(
            "| {} | {ob:.1} ({om:.1}) | {wb:.1} ({wm:.1}) | {:.2} | {:.2} | {x_best:.1}× \
             ({x_median:.1}×) | {} | {our_ratio} | {ws_ratio} |",
            row.case.label(),
            us_per_message(corpus, row.ours.best()),
            us_per_message(corpus, row.ws.best()),
            if met { "met" } else { "MISSED" },
        );
    }
    println!();
    let throughput_met = |case: Case| {
        rows.iter().filter(|r| r.case == case).all(|r| {
            let x = |f: fn(&Passes) -> f64| f(&r.ws) / f(&r.ours);
            x(Passes::best) >= TARGET && x(Passes::median) >= TARGET
        })
    };
    let decompress_met = throughput_met(Case::Decompress(Stream::Ws))
        && throughput_met(Case::Decompress(Stream::Sockeye));
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    let default = Case::Compress {
        ours: LEVEL,
        ws: LEVEL,
    };
    let default_ratio = ratios.ours(LEVEL) <= ratios.ws(LEVEL);
    println!(
        "target (issue 5), both at level {LEVEL}: throughput ≥{TARGET}× ws: compress {}, \
         decompress {}; ratio equal or better: {} ({:+.2}% bytes against ws)",
        verdict(throughput_met(default)),
        verdict(decompress_met),
        verdict(default_ratio),
        (ratios.ours(LEVEL) as f64 / ratios.ws(LEVEL) as f64 - 1.0) * 100.0
    );
    match ratios.matching_level() {
        Some(level) if level != LEVEL => {
            let case = Case::Compress {
                ours: level,
                ws: LEVEL,
            };
            println!(
                "at sockeye level {level} (its lowest with a ratio equal or better than ws's \
                 at {LEVEL}: {:+.2}% bytes): compress throughput ≥{TARGET}× ws: {}",
                (ratios.ours(level) as f64 / ratios.ws(LEVEL) as f64 - 1.0) * 100.0,
                verdict(throughput_met(case))
            );
        }
        Some(_) => {}
        None => println!("no sockeye level reaches ws's ratio at level {LEVEL}"),
    }
    println!();
}

fn print_sweep(corpus: &Corpus, rows: &[Row], ratios: &Ratios) {
    println!(
        "compression levels (informational): ratio from a fresh context; MB/s: fastest pass \
         of {SWEEP_ROUNDS} interleaved rounds of ~{} ms batches per side",
        SWEEP_BATCH.as_millis()
    );
    println!();
    println!("| level | sockeye ratio | ws ratio | sockeye MB/s | ws MB/s | sockeye / ws |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let Case::Compress { ours: level, .. } = row.case else {
            continue;
        };
        let (o, w) = (mbps(corpus, row.ours.best()), mbps(corpus, row.ws.best()));
        println!(
            "| {level} | {:.4} | {:.4} | {o:.1} | {w:.1} | {:.1}× |",
            ratio(corpus, ratios.ours(level)),
            ratio(corpus, ratios.ws(level)),
            o / w
        );
    }
    println!();
}

fn main() {
    let args: Vec<String> = env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    let listing = has("--list");
    let profiling = has("--profile-time");
    // Without `--bench` (cargo test --benches) criterion runs each bench once as a test;
    // `--profile-time` is for profilers. No tables then.
    let quick = !has("--bench") || has("--test") || listing || profiling;

    let corpus = Corpus::generate();
    let ndjson = corpus.ndjson();
    let dir = bench_dir();
    std::fs::create_dir_all(&dir).expect("the bench directory can be created");
    std::fs::write(dir.join(CORPUS_FILE), &ndjson).expect("the corpus can be written");

    // Our two streams: server → client (the compress case) and client → server (what the
    // decompress cases inflate); both decoded back to the corpus by our other end.
    let ours_wire = stream(server(LEVEL), &corpus);
    check_inflates(client(), &ours_wire, &corpus, "sockeye → sockeye");
    let ours_stream = stream(client(), &corpus);
    check_inflates(server(LEVEL), &ours_stream, &corpus, "sockeye client");
    std::fs::write(dir.join(OURS_STREAM_FILE), &ours_stream).expect("the stream can be written");

    // The ws side checks that it inflates our stream, writes its own; ours must inflate it.
    let mut ws = None;
    if !listing && !profiling {
        match WsPeer::spawn(&dir) {
            Ok(peer) => ws = Some(peer),
            Err(why) => eprintln!("deflate bench: no ws comparison: {why}"),
        }
    }
    let ws_stream = ws.as_ref().map(|peer| {
        assert_eq!(peer.number("messages"), corpus.messages.len());
        assert_eq!(
            peer.number("bytes"),
            corpus.bytes,
            "node read the same corpus"
        );
        let stream = std::fs::read(dir.join(WS_STREAM_FILE)).expect("node wrote its stream");
        check_inflates(server(LEVEL), &stream, &corpus, "ws client");
        stream
    });

    let mut lens: Vec<usize> = corpus.messages.iter().map(String::len).collect();
    lens.sort_unstable();
    eprintln!(
        "corpus: {} messages, {} bytes ({}–{} B, median {} B), FNV-1a {:016x}, in {}",
        corpus.messages.len(),
        corpus.bytes,
        lens[0],
        lens[lens.len() - 1],
        corpus.median_len(),
        fnv1a(ndjson.as_bytes()),
        dir.display()
    );

    let mut streams = Vec::new();
    if let Some(stream) = &ws_stream {
        streams.push((Stream::Ws, &stream[..]));
    }
    streams.push((Stream::Sockeye, &ours_stream[..]));
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        .configure_from_args();
    criterion_benches(&mut criterion, &corpus, &streams);
    criterion.final_summary();

    if quick {
        return;
    }
    let (Some(peer), Some(ws_stream)) = (&mut ws, &ws_stream) else {
        println!("\n(no ws comparison: run benches/deflate-vs-ws.sh)\n");
        return;
    };
    let ratios = Ratios::measure(&corpus, peer);
    assert_eq!(
        ratios.ws(LEVEL),
        peer.number("payload"),
        "ws is deterministic"
    );
    let mut ours = Ours {
        corpus: &corpus,
        ws_stream,
        sockeye_stream: &ours_stream,
        compressors: (0..=9).map(|_| None).collect(),
    };
    let mut cases = vec![Case::Compress {
        ours: LEVEL,
        ws: LEVEL,
    }];
    if let Some(level) = ratios.matching_level().filter(|&l| l != LEVEL) {
        cases.push(Case::Compress {
            ours: level,
            ws: LEVEL,
        });
    }
    cases.push(Case::Decompress(Stream::Ws));
    cases.push(Case::Decompress(Stream::Sockeye));
    let rows = interleave(&cases, ROUNDS, BATCH, &mut ours, peer);
    print_main_table(&corpus, &rows, &ratios, peer);

    let sweep: Vec<Case> = (1..=9)
        .map(|level| Case::Compress {
            ours: level,
            ws: level,
        })
        .collect();
    let rows = interleave(&sweep, SWEEP_ROUNDS, SWEEP_BATCH, &mut ours, peer);
    print_sweep(&corpus, &rows, &ratios);
}
