//! The WebSocket connection state machine (RFC 6455 §5–§7), after the opening handshake.

mod framer;
mod timer;

use std::collections::VecDeque;
use std::fmt;
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};

use crate::Role;
use crate::close::{CloseCode, CloseFrame, MAX_CLOSE_REASON, truncate_reason};
use crate::config::Config;
#[cfg(feature = "deflate")]
use crate::deflate::codec::{Deflater, InflateError, Inflater};
#[cfg(feature = "deflate")]
use crate::deflate::{DeflateConfig, DeflateParams};
use crate::error::{ProtocolError, SendError};
use crate::frame::{FrameHeader, MAX_CONTROL_PAYLOAD, OpCode, RSV1};
use crate::mask::apply_mask;
use crate::message::{DataKind, Message, TextRef, Utf8Bytes};
use crate::unmask_copy::{
    Checked, extend_unmasked, extend_unmasked_text, unmask_in_place, unmask_text_in_place,
};
use crate::utf8::Utf8Validator;
use framer::{Framer, Segment};
use timer::{Timer, TimerTable};

/// Where a client's masking keys come from (RFC 6455 §5.3: a fresh, unpredictable key per
/// frame, "derived from a strong source of entropy").
///
/// The connection has no randomness of its own: the adapter implements this over the
/// operating system's RNG; tests pass a fixed or counting source so output is byte-exact.
/// Any `FnMut() -> [u8; 4] + Send` closure is a `MaskSource`.
pub trait MaskSource: Send {
    /// The key for the next frame.
    fn next_mask(&mut self) -> [u8; 4];
}

impl<F: FnMut() -> [u8; 4] + Send> MaskSource for F {
    fn next_mask(&mut self) -> [u8; 4] {
        self()
    }
}

/// Something the connection reports to the application, from [`Connection::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A complete message.
    Message(Message),
    /// A ping arrived. With `auto_pong` on (the default) its pong is already queued.
    Ping(Bytes),
    /// A pong arrived.
    Pong(Bytes),
    /// The peer's Close frame arrived. If we had not sent a Close, the echo of the peer's
    /// code is queued (RFC 6455 §5.5.1). No messages follow.
    Close(CloseFrame),
    /// The peer broke the protocol. A Close frame with
    /// [`ProtocolError::close_code`] is queued and no further input is processed.
    Failed(ProtocolError),
    /// The connection is over: drain [`Connection::poll_transmit`] (which ends with
    /// [`Transmit::Shutdown`]) and drop the transport. `clean` is true when both Close
    /// frames were exchanged (RFC 6455 §7.1.4); otherwise the close code is 1006.
    Closed {
        /// Whether the closing handshake completed.
        clean: bool,
    },
}

/// An event from [`Connection::poll_event_ref`]: a data message's payload is lent out of
/// the connection's buffers until the next call that takes input or an event.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventRef<'a> {
    /// A complete text message.
    Text(TextRef<'a>),
    /// A complete binary message.
    Binary(&'a [u8]),
    /// Any other event, as [`Connection::poll_event`] gives it (never
    /// [`Event::Message`]).
    Other(Event),
}

/// What [`Connection::poll_transmit`] asks the driver to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transmit {
    /// `len` bytes were appended to the buffer: write them to the transport.
    Data {
        /// Bytes appended.
        len: usize,
    },
    /// Everything has been handed out: shut down the transport's write side (send FIN).
    /// The server closes the TCP connection first (RFC 6455 §7.1.1); a client does so only
    /// after the server has, or after the close timeout.
    Shutdown,
}

/// Where the connection is in its life (RFC 6455 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// We sent a Close frame and wait for the peer's.
    CloseSent,
    /// The peer's Close arrived and ours went out; a client now waits for the server to
    /// close the transport.
    CloseReceived,
    /// Finished.
    Closed,
}

/// A WebSocket connection after the opening handshake: a Sans-IO state machine.
///
/// It performs no I/O, reads no clock and uses no randomness of its own. Methods fall in
/// four groups:
///
/// - **Inputs** from the transport and the clock: [`handle_data`](Self::handle_data) (or
///   [`read_buf`](Self::read_buf) + [`handle_read`](Self::handle_read) to read straight into
///   the connection's buffer), [`handle_eof`](Self::handle_eof),
///   [`handle_timeout`](Self::handle_timeout).
/// - **Commands** from the application: [`send_text`](Self::send_text),
///   [`send_binary`](Self::send_binary), [`send_fragment`](Self::send_fragment),
///   [`ping`](Self::ping), [`pong`](Self::pong), [`close`](Self::close).
/// - **Outputs**, drained after every input or command: [`poll_transmit`](Self::poll_transmit)
///   until `None`, then one [`poll_event`](Self::poll_event), and again until both are
///   `None` (handling an event may queue output, and decoding the next frame may queue an
///   automatic pong or a Close); then [`poll_timeout`](Self::poll_timeout) for the next
///   deadline.
/// - **Getters**: [`state`](Self::state), [`role`](Self::role), [`config`](Self::config),
///   [`buffered_amount`](Self::buffered_amount), [`is_writable`](Self::is_writable).
///
/// Input is decoded lazily, one event at a time, by [`poll_event`](Self::poll_event): a
/// message followed by a Close in the same read is handed out while the connection is still
/// open, so the application can still answer it, and the receive buffer, not an event queue,
/// holds what has not been handled yet.
///
/// Peer faults never surface as `Err`: the connection queues the right Close frame and
/// reports [`Event::Failed`]. `Err` from a command means local misuse.
pub struct Connection {
    role: Role,
    config: Config,
    masks: Option<Box<dyn MaskSource>>,
    state: State,

    // Receiving.
    /// Input not decoded yet; payloads already unmasked, except past `scanned`.
    rbuf: BytesMut,
    /// How much of `rbuf` the framer has seen (bytes appended through `read_buf` are
    /// framed on the next call).
    scanned: usize,
    /// The first `rpos` bytes of `rbuf` are decoded frames whose payloads `poll_event_ref`
    /// lent: dropped in one go (`compact_rbuf`) before anything but the small-frame fast
    /// path reads `rbuf`, instead of one `advance` per message.
    rpos: usize,
    framer: Framer,
    /// The payloads of a fragmented, uncompressed message, unmasked and joined as they
    /// arrive; the first `message_len` bytes belong to frames already decoded.
    message_buf: BytesMut,
    message_len: usize,
    /// Stream offset of the frame being decoded (header and payload lengths so far).
    frame_pos: u64,
    recv: Recv,
    message: Option<Incoming>,
    /// Validates inflated text; uncompressed text is validated by the framer.
    recv_utf8: Utf8Validator,
    /// The payload `poll_event_ref` lent last.
    lent: Lent,
    /// The largest payload the small-frame fast path takes: 125, or less if the frame or
    /// message limit is lower.
    small_limit: usize,
    /// No more input is processed: the peer's Close arrived, or the connection failed.
    input_done: bool,
    /// The transport ended; takes effect once the buffered input is decoded.
    eof: bool,
    /// The time of the latest input, for deadlines set while decoding.
    now: Instant,

    // Sending.
    out: Vec<u8>,
    pongs: VecDeque<Bytes>,
    sending: Option<DataKind>,
    /// The fragmented message being sent is compressed.
    sending_compressed: bool,
    send_utf8: Utf8Validator,
    close_sent: bool,
    shutdown: Shutdown,

    events: VecDeque<Event>,
    timers: TimerTable,
    keepalive_seq: u32,
    awaiting_pong: Option<[u8; 4]>,

    /// permessage-deflate, when negotiated (boxed: most connections do without it).
    #[cfg(feature = "deflate")]
    deflate: Option<Box<Compression>>,
}

/// permessage-deflate state: the agreed parameters and the lazily created codecs.
#[cfg(feature = "deflate")]
#[derive(Debug)]
struct Compression {
    params: DeflateParams,
    level: u32,
    mem_level: u8,
    threshold: usize,
    /// Created on the first compressed message sent; dropped after each message when this
    /// end does not keep its context, so an idle connection holds no compressor.
    deflater: Option<Deflater>,
    /// Created on the first compressed message received; dropped likewise.
    inflater: Option<Inflater>,
    scratch: Vec<u8>,
}

#[cfg(feature = "deflate")]
impl Compression {
    /// (window bits, no context takeover) of what `role` sends.
    fn sending(&self, role: Role) -> (u8, bool) {
        match role {
            Role::Server => (
                self.params.server_max_window_bits,
                self.params.server_no_context_takeover,
            ),
            Role::Client => (
                self.params.client_max_window_bits,
                self.params.client_no_context_takeover,
            ),
        }
    }

    fn receiving(&self, role: Role) -> (u8, bool) {
        match role {
            Role::Server => self.sending(Role::Client),
            Role::Client => self.sending(Role::Server),
        }
    }
}

/// A data message [`Connection::decode`] found, still in its buffer.
#[derive(Debug, Clone, Copy)]
enum Decoded {
    /// An unfragmented message: the frame at the front of `rbuf`, header and payload.
    Frame { hlen: usize, len: usize, text: bool },
    /// A fragmented message: the first `message_len` bytes of `message_buf`.
    Joined { text: bool },
}

/// What [`Connection::poll_event_ref`] lent last, released by the next call.
#[derive(Debug, Default)]
enum Lent {
    #[default]
    Nothing,
    /// A whole frame of `n` bytes at `rpos` in `rbuf`.
    Read(usize),
    /// The first `message_len` bytes of `message_buf`.
    Joined,
    /// A message that was queued as an event (a compressed one).
    Owned(Bytes),
}

/// Receive-side decoder state.
#[derive(Debug, Clone, Copy)]
enum Recv {
    /// Waiting for a frame header.
    Header,
    /// Inside a payload of `len` bytes; for a compressed frame, the first `done` (already in
    /// `rbuf`) are inflated.
    Payload {
        header: FrameHeader,
        /// Header bytes still at the front of `rbuf`: the frame leaves the buffer whole,
        /// with one `split_to`, when its payload is complete.
        hlen: usize,
        len: usize,
        done: usize,
        text: bool,
        /// A frame of a compressed message: its payload is inflated as it arrives.
        compressed: bool,
        /// A frame of a fragmented, uncompressed message: its payload is in `message_buf`.
        in_message: bool,
    },
}

/// A fragmented message being reassembled.
#[derive(Debug)]
struct Incoming {
    kind: DataKind,
    /// The inflated message so far, for a compressed one (an uncompressed one is in
    /// `Connection::message_buf`).
    data: Vec<u8>,
    fragments: usize,
    compressed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shutdown {
    NotYet,
    Pending,
    Done,
}

/// Read buffers larger than this are released when they empty, so an idle connection stays
/// small after a burst of large messages.
const RETAINED_READ_CAPACITY: usize = 64 * 1024;

/// Masked payloads at least this long are copied and unmasked in one pass; shorter ones are
/// appended with their header and unmasked in place (one copy for both is cheaper there).
const FUSED_UNMASK_MIN: usize = 64;

impl Connection {
    /// A server-side connection, after a successful opening handshake.
    ///
    /// `now` starts the keepalive timer when keepalive is configured.
    pub fn server(config: Config, now: Instant) -> Self {
        Self::new(Role::Server, config, None, now)
    }

    /// A client-side connection, after a successful opening handshake. Every frame it sends
    /// is masked with a key from `masks`.
    ///
    /// `now` starts the keepalive timer when keepalive is configured.
    pub fn client(config: Config, masks: impl MaskSource + 'static, now: Instant) -> Self {
        Self::new(Role::Client, config, Some(Box::new(masks)), now)
    }

    fn new(role: Role, config: Config, masks: Option<Box<dyn MaskSource>>, now: Instant) -> Self {
        let small_limit = 125
            .min(config.max_frame_size())
            .min(config.max_message_size());
        let mut timers = TimerTable::default();
        if let Some(k) = config.keepalive() {
            timers.set(Timer::Keepalive, now + k.interval);
        }
        Self {
            role,
            config,
            masks,
            state: State::Open,
            rbuf: BytesMut::new(),
            scanned: 0,
            rpos: 0,
            framer: Framer::default(),
            message_buf: BytesMut::new(),
            message_len: 0,
            frame_pos: 0,
            recv: Recv::Header,
            message: None,
            recv_utf8: Utf8Validator::default(),
            lent: Lent::Nothing,
            small_limit,
            input_done: false,
            eof: false,
            now,
            out: Vec::new(),
            pongs: VecDeque::new(),
            sending: None,
            sending_compressed: false,
            send_utf8: Utf8Validator::default(),
            close_sent: false,
            shutdown: Shutdown::NotYet,
            events: VecDeque::new(),
            timers,
            keepalive_seq: 0,
            awaiting_pong: None,
            #[cfg(feature = "deflate")]
            deflate: None,
        }
    }

    /// Turns on permessage-deflate (RFC 7692) with the parameters the opening handshake
    /// agreed on (see [`deflate::negotiate`](crate::deflate::negotiate)) and the local
    /// choices of `config`: messages of at least its `threshold` are sent compressed at its
    /// `level` and `mem_level`; fragmented messages are always compressed. Call before any
    /// data flows.
    #[cfg(feature = "deflate")]
    pub fn enable_deflate(&mut self, params: DeflateParams, config: &DeflateConfig) {
        self.deflate = Some(Box::new(Compression {
            params,
            level: config.level(),
            mem_level: config.mem_level(),
            threshold: config.threshold(),
            deflater: None,
            inflater: None,
            scratch: Vec::new(),
        }));
    }

    /// Whether permessage-deflate is on.
    pub fn is_deflate_enabled(&self) -> bool {
        #[cfg(feature = "deflate")]
        return self.deflate.is_some();
        #[cfg(not(feature = "deflate"))]
        false
    }

    /// The permessage-deflate parameters given to
    /// [`enable_deflate`](Self::enable_deflate), as the opening handshake agreed them
    /// (RFC 7692 §7.1); `None` while permessage-deflate is off. They do not change for the
    /// life of the connection.
    #[cfg(feature = "deflate")]
    pub fn deflate_params(&self) -> Option<DeflateParams> {
        self.deflate.as_ref().map(|c| c.params)
    }

    // ----- getters -----

    /// Which end this is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the connection is in its life.
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether messages can still be sent (no Close frame sent yet).
    pub fn is_open(&self) -> bool {
        self.state == State::Open
    }

    /// Whether the connection is over.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Bytes queued for the transport and not yet handed out by
    /// [`poll_transmit`](Self::poll_transmit).
    pub fn buffered_amount(&self) -> usize {
        self.out.len() + self.pongs.iter().map(|p| p.len() + 6).sum::<usize>()
    }

    /// Whether [`buffered_amount`](Self::buffered_amount) is below the configured high-water
    /// mark. Adapters stop accepting messages from the application while it is false.
    pub fn is_writable(&self) -> bool {
        self.buffered_amount() < self.config.high_water_mark()
    }

    // ----- inputs -----

    /// Feeds bytes received from the transport, in any split.
    ///
    /// The bytes are buffered; [`poll_event`](Self::poll_event) decodes them. After a Close
    /// frame or a failure, input is ignored.
    pub fn handle_data(&mut self, now: Instant, data: &[u8]) {
        self.now = now;
        self.release_lent();
        self.compact_rbuf();
        if self.input_done || self.eof {
            return;
        }
        self.scan_in_place();
        self.rbuf.reserve(data.len());
        // `data[copied..i]`: framed bytes to append unchanged.
        let mut copied = 0;
        let mut i = 0;
        while i < data.len() {
            if self.framer.at_message_boundary() && Framer::starts_small(&data[i..]) {
                // Small frames: the rest of the input goes in with one copy and is framed in
                // place, as `read_buf` input is (walking the frames first to copy only the
                // small ones costs more than it saves). Payloads large enough for the fused
                // copy to pay off take it when they start an input.
                self.scanned = self.rbuf.len() + (i - copied);
                self.rbuf.extend_from_slice(&data[copied..]);
                self.scan_in_place();
                return;
            }
            let (len, mask, offset, to_message) = match self.framer.next(&data[i..]) {
                Segment::Raw(n) => {
                    i += n;
                    continue;
                }
                Segment::Payload {
                    len,
                    mask,
                    offset,
                    to_message,
                } => (len, mask, offset, to_message),
            };
            let payload = &data[i..i + len];
            i += len;
            if to_message {
                self.rbuf.extend_from_slice(&data[copied..i - len]);
                copied = i;
                if self.message_buf.capacity() - self.message_buf.len() < len {
                    // The rest of this input, not just this frame: the next fragments are
                    // probably in it too, and the buffer then grows once.
                    self.message_buf.reserve(data.len() - (i - len));
                }
                copy_payload(
                    &mut self.framer,
                    &mut self.message_buf,
                    payload,
                    mask,
                    offset,
                );
            } else if mask.is_some() && len >= FUSED_UNMASK_MIN {
                self.rbuf.extend_from_slice(&data[copied..i - len]);
                copied = i;
                copy_payload(&mut self.framer, &mut self.rbuf, payload, mask, offset);
            } else {
                // A short payload goes in with its header, and is unmasked there.
                self.rbuf.extend_from_slice(&data[copied..i]);
                copied = i;
                let start = self.rbuf.len() - len;
                unmask_payload(&mut self.framer, &mut self.rbuf[start..], mask, offset);
            }
        }
        self.rbuf.extend_from_slice(&data[copied..]);
        self.scanned = self.rbuf.len();
    }

    /// Frames bytes appended to `rbuf` through [`read_buf`](Self::read_buf), unmasking them
    /// where they are; payloads of a fragmented message move to `message_buf`.
    fn scan_in_place(&mut self) {
        let end = self.rbuf.len();
        let (mut r, mut w) = (self.scanned, self.scanned);
        while r < end {
            if w == r && self.framer.at_message_boundary() {
                let n = self.framer.skim(&mut self.rbuf[r..end]);
                if n > 0 {
                    r += n;
                    w += n;
                    continue;
                }
            }
            match self.framer.next(&self.rbuf[r..end]) {
                Segment::Raw(n) => {
                    if w != r {
                        self.rbuf.copy_within(r..r + n, w);
                    }
                    r += n;
                    w += n;
                }
                Segment::Payload {
                    len,
                    mask,
                    offset,
                    to_message: true,
                } => {
                    let payload = &self.rbuf[r..r + len];
                    copy_payload(
                        &mut self.framer,
                        &mut self.message_buf,
                        payload,
                        mask,
                        offset,
                    );
                    r += len;
                }
                Segment::Payload {
                    len, mask, offset, ..
                } => {
                    unmask_payload(&mut self.framer, &mut self.rbuf[r..r + len], mask, offset);
                    if w != r {
                        self.rbuf.copy_within(r..r + len, w);
                    }
                    r += len;
                    w += len;
                }
            }
        }
        self.rbuf.truncate(w);
        self.scanned = w;
    }

    /// The connection's receive buffer, for reading from the transport without a copy.
    ///
    /// Append to it only (for example with `tokio::io::AsyncReadExt::read_buf`), then call
    /// [`handle_read`](Self::handle_read).
    pub fn read_buf(&mut self) -> &mut BytesMut {
        self.release_lent();
        self.compact_rbuf();
        &mut self.rbuf
    }

    /// Takes note of bytes appended to [`read_buf`](Self::read_buf), as
    /// [`handle_data`](Self::handle_data) does.
    pub fn handle_read(&mut self, now: Instant) {
        self.now = now;
        self.release_lent();
        self.compact_rbuf();
        if self.input_done || self.eof {
            self.rbuf.clear();
            self.scanned = 0;
        } else {
            self.scan_in_place();
        }
    }

    /// The transport reached end of input.
    ///
    /// Takes effect once the input already buffered has been decoded: before the closing
    /// handshake this is an abnormal closure (1006); a client waiting for the server to
    /// close the transport after the handshake is now cleanly closed.
    pub fn handle_eof(&mut self, now: Instant) {
        self.now = now;
        self.eof = true;
    }

    /// Runs the timers due at `now`; spurious calls are no-ops.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        while let Some(timer) = self.timers.pop_expired(now) {
            match timer {
                Timer::Close => {
                    // The peer did not finish the closing handshake (or, for a client, the
                    // server did not close the transport) in time.
                    let clean = self.state == State::CloseReceived;
                    self.finish(clean);
                }
                Timer::Keepalive => self.keepalive_ping(now),
                Timer::Pong => {
                    if self.awaiting_pong.is_some() && self.state == State::Open {
                        self.fail(ProtocolError::KeepaliveTimeout);
                    }
                }
            }
        }
    }

    // ----- commands -----

    /// Sends a text message in one frame.
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`] after a Close frame was sent; [`SendError::FragmentInProgress`]
    /// while a fragmented message is unfinished.
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.check_data_send()?;
        self.write_data(OpCode::Text, true, text.as_bytes(), None);
        Ok(())
    }

    /// Sends a binary message in one frame.
    ///
    /// # Errors
    ///
    /// As [`send_text`](Self::send_text).
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.check_data_send()?;
        self.write_data(OpCode::Binary, true, data, None);
        Ok(())
    }

    /// Sends one fragment of a message (RFC 6455 §5.4): the first call starts a message of
    /// `kind`, later calls continue it, and the call with `fin` ends it. Control frames may be
    /// sent between fragments; other messages may not.
    ///
    /// Text may be split anywhere, even inside a character; the fragments together must be
    /// valid UTF-8, which is checked as they go.
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`] after a Close frame was sent; [`SendError::FragmentKindMismatch`]
    /// when `kind` differs from the message in progress; [`SendError::InvalidUtf8`] when the
    /// text so far cannot be valid UTF-8 (nothing is sent).
    pub fn send_fragment(
        &mut self,
        kind: DataKind,
        data: &[u8],
        fin: bool,
    ) -> Result<(), SendError> {
        if self.close_sent || self.state == State::Closed {
            return Err(SendError::Closed);
        }
        let opcode = match self.sending {
            Some(k) if k != kind => return Err(SendError::FragmentKindMismatch),
            Some(_) => OpCode::Continuation,
            None => match kind {
                DataKind::Text => OpCode::Text,
                DataKind::Binary => OpCode::Binary,
            },
        };
        if kind == DataKind::Text {
            let mut check = self.send_utf8.clone();
            let ok = check.feed(data).is_ok() && (!fin || check.finish().is_ok());
            if !ok {
                return Err(SendError::InvalidUtf8);
            }
            self.send_utf8 = check;
        }
        if self.sending.is_none() {
            self.sending_compressed = self.is_deflate_enabled();
        }
        self.sending = if fin { None } else { Some(kind) };
        self.write_data(opcode, fin, data, Some(self.sending_compressed));
        Ok(())
    }

    /// Sends a ping with up to 125 bytes of payload.
    ///
    /// # Errors
    ///
    /// [`SendError::ControlTooLong`] for a longer payload; [`SendError::Closed`] after a
    /// Close frame was sent.
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.check_control_send(payload.len())?;
        self.write_frame(OpCode::Ping, true, payload);
        Ok(())
    }

    /// Sends an unsolicited pong (a heartbeat that expects no answer, RFC 6455 §5.5.3), or a
    /// manual answer when `auto_pong` is off.
    ///
    /// # Errors
    ///
    /// As [`ping`](Self::ping).
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.check_control_send(payload.len())?;
        self.flush_pongs();
        self.write_frame(OpCode::Pong, true, payload);
        Ok(())
    }

    /// Starts the closing handshake (RFC 6455 §7.1.2) with `code` and a `reason` of at most
    /// 123 bytes. Incoming messages are still delivered until the peer's Close arrives; the
    /// close timeout starts at `now`.
    ///
    /// # Errors
    ///
    /// [`SendError::InvalidCloseCode`] for a code that may not be sent (1005, 1006, 1015,
    /// and others; see [`CloseCode::is_valid_on_wire`]); [`SendError::ControlTooLong`] for a
    /// longer reason; [`SendError::Closed`] if a Close frame was already sent.
    pub fn close(&mut self, now: Instant, code: CloseCode, reason: &str) -> Result<(), SendError> {
        self.now = now;
        if self.close_sent || self.state == State::Closed {
            return Err(SendError::Closed);
        }
        if !code.is_valid_on_wire() {
            return Err(SendError::InvalidCloseCode { code: code.0 });
        }
        if reason.len() > MAX_CLOSE_REASON {
            return Err(SendError::ControlTooLong {
                len: reason.len() + 2,
            });
        }
        self.write_close(Some(code), reason);
        self.state = State::CloseSent;
        self.stop_keepalive();
        self.timers
            .set(Timer::Close, now + self.config.close_timeout());
        Ok(())
    }

    // ----- outputs -----

    /// Hands out bytes to write, or asks for the transport to be shut down.
    ///
    /// Appends everything queued to `buf` (when `buf` is empty the buffers are swapped, so
    /// no byte is copied) and returns [`Transmit::Data`]; once nothing is queued and the
    /// connection is over, returns [`Transmit::Shutdown`] once; otherwise `None`.
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> Option<Transmit> {
        self.flush_pongs();
        if !self.out.is_empty() {
            let len = self.out.len();
            if buf.is_empty() {
                std::mem::swap(buf, &mut self.out);
            } else {
                buf.extend_from_slice(&self.out);
                self.out.clear();
            }
            return Some(Transmit::Data { len });
        }
        if self.shutdown == Shutdown::Pending {
            self.shutdown = Shutdown::Done;
            return Some(Transmit::Shutdown);
        }
        None
    }

    /// The next event, decoding buffered input as far as needed to find it.
    ///
    /// Decoding may queue output (an automatic pong, a Close echo, a Close for a peer
    /// fault): drain [`poll_transmit`](Self::poll_transmit) after each event. Text is
    /// validated as it is decoded, so invalid UTF-8 fails the connection on the first bad
    /// byte, even inside a frame still arriving.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.release_lent();
        if let Some(decoded) = self.small_frame().or_else(|| self.poll_decoded()) {
            let (text, data) = self.take_decoded(decoded);
            return Some(Event::Message(if text {
                Message::Text(Utf8Bytes::from_validated(data))
            } else {
                Message::Binary(data)
            }));
        }
        self.events.pop_front()
    }

    /// The next event, as [`poll_event`](Self::poll_event) gives it, with a data message's
    /// payload lent out of the connection's buffers instead of handed over as [`Bytes`].
    ///
    /// The payload stays in the receive buffer (or, for a fragmented message, in the buffer
    /// its fragments were joined in) until the next call that takes input or an event
    /// (`poll_event`, `poll_event_ref`, `handle_data`, `read_buf`, `handle_read`), which
    /// releases it. Nothing is allocated or reference-counted per message: this is the
    /// fastest way to read small messages, when the application parses them in place (for
    /// example with `serde_json::from_slice`). Both poll methods can be mixed freely.
    ///
    /// ```
    /// use std::time::Instant;
    /// use sockeye_ws::{Config, Connection, EventRef};
    ///
    /// let mut conn = Connection::server(Config::default(), Instant::now());
    /// // A masked text frame "Hello" (RFC 6455 §5.7).
    /// conn.handle_data(Instant::now(), &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    /// match conn.poll_event_ref() {
    ///     Some(EventRef::Text(text)) => assert_eq!(text.as_str(), "Hello"),
    ///     other => panic!("unexpected {other:?}"),
    /// }
    /// assert!(conn.poll_event_ref().is_none());
    /// ```
    pub fn poll_event_ref(&mut self) -> Option<EventRef<'_>> {
        self.release_lent();
        if let Some(decoded) = self.small_frame().or_else(|| self.poll_decoded()) {
            return Some(self.lend(decoded));
        }
        match self.events.pop_front()? {
            Event::Message(message) => {
                let text = message.kind() == DataKind::Text;
                let data = match message {
                    Message::Text(t) => t.into_bytes(),
                    Message::Binary(b) => b,
                };
                self.lent = Lent::Owned(data);
                let Lent::Owned(data) = &self.lent else {
                    unreachable!("set just above");
                };
                Some(if text {
                    EventRef::Text(TextRef(data))
                } else {
                    EventRef::Binary(data)
                })
            }
            event => Some(EventRef::Other(event)),
        }
    }

    /// The common case, decoded without the general machinery: with nothing queued and no
    /// fragmented message in progress, a whole, small, unfragmented data frame at `rpos`,
    /// already framed. Anything else (including a frame the framer found invalid UTF-8) is
    /// left to [`decode`](Self::decode).
    #[inline]
    fn small_frame(&mut self) -> Option<Decoded> {
        if !self.events.is_empty()
            || self.input_done
            || self.scanned != self.rbuf.len()
            || !matches!(self.recv, Recv::Header)
            || self.message.is_some()
        {
            return None;
        }
        let [b0, b1, ..] = self.rbuf[self.rpos..] else {
            return None;
        };
        let masked = b1 & 0x80 != 0;
        if b0 & 0xf0 != 0x80
            || !matches!(b0 & 0x0f, 0x1 | 0x2)
            || b1 & 0x7f > 125
            || masked != (self.role == Role::Server)
        {
            return None;
        }
        let hlen = if masked { 6 } else { 2 };
        let len = usize::from(b1 & 0x7f);
        let text = b0 & 0x0f == 0x1;
        if self.rbuf.len() - self.rpos < hlen + len
            || len > self.small_limit
            || (text && self.framer.invalid_utf8() == Some(self.frame_pos))
        {
            return None;
        }
        self.frame_pos += (hlen + len) as u64;
        Some(Decoded::Frame { hlen, len, text })
    }

    /// Drops the frames `poll_event_ref` lent from the front of `rbuf`.
    #[inline]
    fn compact_rbuf(&mut self) {
        if self.rpos > 0 {
            let n = std::mem::take(&mut self.rpos);
            if n == self.rbuf.len() {
                self.rbuf.clear();
            } else {
                self.rbuf.advance(n);
            }
            self.after_rbuf_consumed(n);
        }
    }

    /// Decodes a data message while no event is queued (it then skips the queue); at the end
    /// of input, finishes the connection.
    fn poll_decoded(&mut self) -> Option<Decoded> {
        if self.events.is_empty() {
            if !self.input_done
                && let Some(decoded) = self.process()
            {
                return Some(decoded);
            }
            // End of input counts once everything before it has been decoded.
            if self.events.is_empty() && self.eof && self.state != State::Closed {
                let clean = self.state == State::CloseReceived;
                self.finish(clean);
            }
        }
        None
    }

    /// Takes a decoded message's payload out of its buffer.
    fn take_decoded(&mut self, decoded: Decoded) -> (bool, Bytes) {
        match decoded {
            Decoded::Frame { hlen, len, text } => {
                self.compact_rbuf();
                let mut data = self.rbuf.split_to(hlen + len).freeze();
                data.advance(hlen);
                self.after_rbuf_consumed(hlen + len);
                (text, data)
            }
            Decoded::Joined { text } => (text, self.take_message()),
        }
    }

    /// Lends a decoded message's payload until [`release_lent`](Self::release_lent).
    fn lend(&mut self, decoded: Decoded) -> EventRef<'_> {
        let (text, data) = match decoded {
            Decoded::Frame { hlen, len, text } => {
                let start = self.rpos + hlen;
                self.lent = Lent::Read(hlen + len);
                (text, &self.rbuf[start..start + len])
            }
            Decoded::Joined { text } => {
                self.lent = Lent::Joined;
                (text, &self.message_buf[..self.message_len])
            }
        };
        if text {
            EventRef::Text(TextRef(data))
        } else {
            EventRef::Binary(data)
        }
    }

    /// Drops the payload [`poll_event_ref`](Self::poll_event_ref) lent last, if any.
    #[inline]
    fn release_lent(&mut self) {
        match self.lent {
            Lent::Nothing => {}
            Lent::Read(n) => {
                self.rpos += n;
                self.lent = Lent::Nothing;
            }
            _ => self.release_lent_slow(),
        }
    }

    #[cold]
    #[inline(never)]
    fn release_lent_slow(&mut self) {
        match std::mem::replace(&mut self.lent, Lent::Nothing) {
            Lent::Nothing => {}
            Lent::Read(n) => self.rpos += n,
            Lent::Joined => {
                self.message_buf.advance(self.message_len);
                self.message_len = 0;
                self.shrink_message_buf();
            }
            Lent::Owned(_) => {}
        }
    }

    /// `n` decoded bytes left the front of `rbuf`.
    #[inline]
    fn after_rbuf_consumed(&mut self, n: usize) {
        self.scanned -= n;
        if self.rbuf.is_empty() && self.rbuf.capacity() > RETAINED_READ_CAPACITY {
            self.rbuf = BytesMut::new();
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    // ----- receiving -----

    /// Decodes buffered input until an event is queued or more input is needed.
    fn process(&mut self) -> Option<Decoded> {
        self.compact_rbuf();
        if self.scanned < self.rbuf.len() {
            self.scan_in_place();
        }
        let decoded = self.decode();
        // `decode` only takes whole frames off the front of what the framer has seen (a
        // decoded message's frame is still there, and counted).
        self.scanned = self.rbuf.len();
        if self.rbuf.is_empty() && self.rbuf.capacity() > RETAINED_READ_CAPACITY {
            self.rbuf = BytesMut::new();
        }
        decoded
    }

    /// Decodes until an event is queued, and returns a data message decoded while the queue
    /// was empty instead of queueing it (its frame, or the joined message, is left in its
    /// buffer for the caller to take or lend).
    fn decode(&mut self) -> Option<Decoded> {
        while self.events.is_empty() {
            match self.recv {
                Recv::Header => {
                    let (header, consumed) = match FrameHeader::decode(&self.rbuf) {
                        Ok(Some(decoded)) => decoded,
                        Ok(None) => break,
                        Err(e) => {
                            self.fail(e);
                            return None;
                        }
                    };
                    let len = match self.check_header(&header) {
                        Ok(len) => len,
                        Err(e) => {
                            self.fail(e);
                            return None;
                        }
                    };
                    if header.opcode == OpCode::Text {
                        self.recv_utf8.reset();
                    }
                    let compressed = match header.opcode {
                        OpCode::Text | OpCode::Binary if header.rsv & RSV1 != 0 => {
                            // RFC 7692 §6.1: RSV1 on the first frame marks a compressed
                            // message; it is inflated into its own buffer as it arrives.
                            self.start_compressed(header.opcode);
                            true
                        }
                        OpCode::Continuation => self.message.as_ref().is_some_and(|m| m.compressed),
                        _ => false,
                    };
                    let text = match header.opcode {
                        OpCode::Text => true,
                        OpCode::Continuation => self
                            .message
                            .as_ref()
                            .is_some_and(|m| m.kind == DataKind::Text),
                        _ => false,
                    };
                    // Where the framer put the payload (framer.rs agrees, frame by frame).
                    let in_message = !compressed
                        && match header.opcode {
                            OpCode::Text | OpCode::Binary => !header.fin,
                            OpCode::Continuation => true,
                            _ => false,
                        };
                    self.recv = Recv::Payload {
                        header,
                        hlen: consumed,
                        len,
                        done: 0,
                        text,
                        compressed,
                        in_message,
                    };
                }
                Recv::Payload {
                    header,
                    hlen,
                    len,
                    done,
                    text,
                    compressed,
                    in_message,
                } => {
                    if text && !compressed && self.framer.invalid_utf8() == Some(self.frame_pos) {
                        // RFC 6455 §8.1: fail as soon as the text cannot be UTF-8 (the framer
                        // validated it as it arrived).
                        self.fail(ProtocolError::InvalidUtf8);
                        return None;
                    }
                    if in_message {
                        if self.message_buf.len() - self.message_len < len {
                            break;
                        }
                        self.recv = Recv::Header;
                        self.frame_pos += (hlen + len) as u64;
                        self.rbuf.advance(hlen);
                        self.message_len += len;
                        if let Some(joined) = self.on_fragment(header, text) {
                            return Some(joined);
                        }
                    } else {
                        let avail = (self.rbuf.len() - hlen).min(len);
                        if compressed && avail > done {
                            if let Err(e) = self.inflate(Some((hlen + done, hlen + avail))) {
                                self.fail(e);
                                return None;
                            }
                            self.recv = Recv::Payload {
                                header,
                                hlen,
                                len,
                                done: avail,
                                text,
                                compressed,
                                in_message,
                            };
                        }
                        if avail < len {
                            break;
                        }
                        self.recv = Recv::Header;
                        self.frame_pos += (hlen + len) as u64;
                        if compressed {
                            // Inflated already; the compressed bytes are no longer needed.
                            self.rbuf.advance(hlen + len);
                            self.on_compressed_frame(header.fin);
                        } else if header.opcode.is_control() {
                            let mut payload = self.rbuf.split_to(hlen + len).freeze();
                            payload.advance(hlen);
                            self.on_control(header.opcode, payload);
                        } else {
                            // An unfragmented data frame (check_header refused others).
                            return Some(Decoded::Frame { hlen, len, text });
                        }
                    }
                    if self.input_done {
                        return None;
                    }
                }
            }
        }
        None
    }

    #[cold]
    #[inline(never)]
    fn start_compressed(&mut self, opcode: OpCode) {
        self.message = Some(Incoming {
            kind: if opcode == OpCode::Text {
                DataKind::Text
            } else {
                DataKind::Binary
            },
            data: Vec::new(),
            fragments: 0,
            compressed: true,
        });
    }

    /// Checks a header against the connection state and limits; returns the payload length.
    fn check_header(&self, h: &FrameHeader) -> Result<usize, ProtocolError> {
        // RFC 6455 §5.2: RSV bits MUST be 0 unless an extension defines them. RFC 7692 §6:
        // permessage-deflate defines RSV1, on the first frame of a data message only.
        let allowed = match h.opcode {
            OpCode::Text | OpCode::Binary if self.is_deflate_enabled() => RSV1,
            _ => 0,
        };
        if h.rsv & !allowed != 0 {
            return Err(ProtocolError::ReservedBits);
        }
        // RFC 6455 §5.1: a server MUST close on an unmasked frame; a client on a masked one.
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => return Err(ProtocolError::UnmaskedFrame),
            (Role::Client, true) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        let limit = self.config.max_frame_size();
        let len = match usize::try_from(h.payload_len) {
            Ok(len) if len <= limit => len,
            _ => {
                return Err(ProtocolError::FrameTooLarge {
                    len: h.payload_len,
                    limit,
                });
            }
        };
        // RFC 6455 §5.4: fragments of one message arrive in order, uninterleaved with other
        // data frames.
        let so_far = match (h.opcode, &self.message) {
            (OpCode::Continuation, None) => return Err(ProtocolError::UnexpectedContinuation),
            (OpCode::Continuation, Some(m)) => {
                if m.fragments >= self.config.max_fragments() {
                    return Err(ProtocolError::TooManyFragments {
                        limit: self.config.max_fragments(),
                    });
                }
                if m.compressed {
                    // The limit applies to the inflated size, checked while inflating.
                    return Ok(len);
                }
                self.message_len
            }
            (OpCode::Text | OpCode::Binary, Some(_)) => {
                return Err(ProtocolError::ExpectedContinuation);
            }
            (OpCode::Text | OpCode::Binary, None) if h.rsv & RSV1 != 0 => return Ok(len),
            (OpCode::Text | OpCode::Binary, None) => 0,
            _ => return Ok(len),
        };
        let limit = self.config.max_message_size();
        let total = so_far.saturating_add(len);
        if total > limit {
            return Err(ProtocolError::MessageTooLarge {
                len: total as u64,
                limit,
            });
        }
        Ok(len)
    }

    /// Handles a complete frame of a fragmented, uncompressed message (its payload already
    /// joined in `message_buf`); returns the message when this frame ends it.
    fn on_fragment(&mut self, header: FrameHeader, text: bool) -> Option<Decoded> {
        if header.opcode == OpCode::Continuation {
            // Invariant: check_header refused a continuation with no message.
            let m = self.message.as_mut()?;
            m.fragments += 1;
            if !header.fin {
                return None;
            }
            self.message = None;
            // Text was validated by the framer, up to a character cut off by the end of the
            // message, and checked by `decode`.
            return Some(Decoded::Joined { text });
        }
        self.message = Some(Incoming {
            kind: if text {
                DataKind::Text
            } else {
                DataKind::Binary
            },
            data: Vec::new(),
            fragments: 1,
            compressed: false,
        });
        None
    }

    /// Handles a complete control frame: its event is queued.
    fn on_control(&mut self, opcode: OpCode, payload: Bytes) {
        match opcode {
            OpCode::Ping => {
                if self.config.auto_pong() && !self.close_sent {
                    if self.pongs.len() >= self.config.max_queued_control_frames() {
                        // Answer the newest ping only (RFC 6455 §5.5.3 allows it).
                        self.pongs.pop_back();
                    }
                    self.pongs.push_back(payload.clone());
                }
                self.events.push_back(Event::Ping(payload));
            }
            OpCode::Pong => {
                if self
                    .awaiting_pong
                    .is_some_and(|p| payload.as_ref() == p.as_slice())
                {
                    self.awaiting_pong = None;
                    self.timers.stop(Timer::Pong);
                }
                self.events.push_back(Event::Pong(payload));
            }
            OpCode::Close => self.on_close(payload),
            // Invariant: only control opcodes come here.
            OpCode::Text | OpCode::Binary | OpCode::Continuation => {}
        }
    }

    /// The fragmented message just completed, out of `message_buf`.
    fn take_message(&mut self) -> Bytes {
        let data = self.message_buf.split_to(self.message_len).freeze();
        self.message_len = 0;
        self.shrink_message_buf();
        data
    }

    fn shrink_message_buf(&mut self) {
        if self.message_buf.is_empty() && self.message_buf.capacity() > RETAINED_READ_CAPACITY {
            self.message_buf = BytesMut::new();
        }
    }

    fn on_close(&mut self, payload: Bytes) {
        let frame = match payload.len() {
            0 => CloseFrame {
                code: CloseCode::NO_STATUS_RECEIVED,
                reason: Utf8Bytes::new(),
            },
            // RFC 6455 §5.5.1: a body, if present, starts with a 2-byte code.
            1 => return self.fail(ProtocolError::InvalidClosePayload),
            _ => {
                let code = CloseCode(u16::from_be_bytes([payload[0], payload[1]]));
                // RFC 6455 §7.4: only defined and registered codes may be sent.
                if !code.is_valid_on_wire() {
                    return self.fail(ProtocolError::InvalidCloseCode { code: code.0 });
                }
                match Utf8Bytes::try_from_bytes(payload.slice(2..)) {
                    Ok(reason) => CloseFrame { code, reason },
                    Err(_) => return self.fail(ProtocolError::InvalidUtf8),
                }
            }
        };
        self.stop_input();
        let echo = (frame.code != CloseCode::NO_STATUS_RECEIVED).then_some(frame.code);
        self.events.push_back(Event::Close(frame));
        if !self.close_sent {
            // RFC 6455 §5.5.1: reply with a Close, typically echoing the code received.
            self.write_close(echo, "");
        }
        self.stop_keepalive();
        match self.role {
            // RFC 6455 §7.1.1: the server closes the TCP connection first.
            Role::Server => self.finish(true),
            Role::Client => {
                self.state = State::CloseReceived;
                self.timers
                    .set(Timer::Close, self.now + self.config.close_timeout());
            }
        }
    }

    /// Inflates a piece of a compressed message into the message buffer — `rbuf[from..to]`
    /// (unmasked payload), or with `None` the trailer the sender removed, at the end of the
    /// message (RFC 7692 §7.2.2) — checking the message budget and, for text, UTF-8 as
    /// output appears.
    #[cfg(feature = "deflate")]
    fn inflate(&mut self, piece: Option<(usize, usize)>) -> Result<(), ProtocolError> {
        let role = self.role;
        let limit = self.config.max_message_size();
        let (Some(c), Some(m)) = (self.deflate.as_mut(), self.message.as_mut()) else {
            // Invariant: a compressed frame is only decoded with deflate on and its message
            // started (check_header and the header step).
            return Ok(());
        };
        let (bits, no_takeover) = c.receiving(role);
        let inflater = c
            .inflater
            .get_or_insert_with(|| Inflater::new(bits, no_takeover));
        let before = m.data.len();
        match piece {
            Some((from, to)) => inflater.inflate(&self.rbuf[from..to], &mut m.data, limit),
            None => inflater.finish(&mut m.data, limit),
        }
        .map_err(|e| inflate_error(e, m.data.len(), limit))?;
        if piece.is_none() && no_takeover {
            // The peer starts afresh with its next message: free the decompressor.
            c.inflater = None;
        }
        if m.kind == DataKind::Text && self.recv_utf8.feed(&m.data[before..]).is_err() {
            return Err(ProtocolError::InvalidUtf8);
        }
        Ok(())
    }

    #[cfg(not(feature = "deflate"))]
    fn inflate(&mut self, _piece: Option<(usize, usize)>) -> Result<(), ProtocolError> {
        // Unreachable: without the feature no frame is ever marked compressed.
        Err(ProtocolError::ReservedBits)
    }

    /// A frame of a compressed message is complete; at the end of the message, inflate the
    /// removed trailer (RFC 7692 §7.2.2) and hand the message out.
    fn on_compressed_frame(&mut self, fin: bool) {
        let Some(m) = self.message.as_mut() else {
            return;
        };
        m.fragments += 1;
        if !fin {
            return;
        }
        if let Err(e) = self.inflate(None) {
            return self.fail(e);
        }
        let Some(m) = self.message.take() else {
            return;
        };
        if m.kind == DataKind::Text && self.recv_utf8.finish().is_err() {
            return self.fail(ProtocolError::InvalidUtf8);
        }
        let data = Bytes::from(m.data);
        let message = match m.kind {
            DataKind::Text => Message::Text(Utf8Bytes::from_validated(data)),
            DataKind::Binary => Message::Binary(data),
        };
        self.events.push_back(Event::Message(message));
    }

    /// _Fail the WebSocket Connection_ (RFC 6455 §7.1.7): send a Close with the fault's code
    /// unless one was sent, and process no more input.
    fn fail(&mut self, error: ProtocolError) {
        self.stop_input();
        if !self.close_sent {
            self.write_close(Some(error.close_code()), &error.close_reason());
        }
        self.events.push_back(Event::Failed(error));
        self.stop_keepalive();
        match self.role {
            Role::Server => self.finish(false),
            Role::Client => {
                // Wait (bounded) for the server to close the transport.
                self.state = State::CloseSent;
                self.timers
                    .set(Timer::Close, self.now + self.config.close_timeout());
            }
        }
    }

    fn stop_input(&mut self) {
        self.input_done = true;
        self.lent = Lent::Nothing;
        self.rbuf = BytesMut::new();
        self.scanned = 0;
        self.rpos = 0;
        self.framer = Framer::default();
        self.message_buf = BytesMut::new();
        self.message_len = 0;
        self.recv = Recv::Header;
        self.message = None;
    }

    /// The connection is over: report it and ask for the transport to be shut down.
    fn finish(&mut self, clean: bool) {
        self.stop_input();
        self.pongs.clear();
        self.timers.stop_all();
        self.state = State::Closed;
        self.events.push_back(Event::Closed { clean });
        if self.shutdown == Shutdown::NotYet {
            self.shutdown = Shutdown::Pending;
        }
    }

    // ----- sending -----

    fn check_data_send(&self) -> Result<(), SendError> {
        if self.close_sent || self.state == State::Closed {
            return Err(SendError::Closed);
        }
        if self.sending.is_some() {
            return Err(SendError::FragmentInProgress);
        }
        Ok(())
    }

    fn check_control_send(&self, len: usize) -> Result<(), SendError> {
        if len > MAX_CONTROL_PAYLOAD {
            return Err(SendError::ControlTooLong { len });
        }
        if self.close_sent || self.state == State::Closed {
            return Err(SendError::Closed);
        }
        Ok(())
    }

    fn write_close(&mut self, code: Option<CloseCode>, reason: &str) {
        // Pongs owed go out before the Close, which is the last frame we send.
        self.flush_pongs();
        let mut body = [0u8; MAX_CONTROL_PAYLOAD];
        let len = match code {
            Some(code) => {
                let reason = truncate_reason(reason);
                body[..2].copy_from_slice(&code.0.to_be_bytes());
                body[2..2 + reason.len()].copy_from_slice(reason.as_bytes());
                2 + reason.len()
            }
            None => 0,
        };
        self.write_frame(OpCode::Close, true, &body[..len]);
        self.close_sent = true;
        if self.state == State::Open {
            self.state = State::CloseSent;
        }
    }

    fn flush_pongs(&mut self) {
        while let Some(p) = self.pongs.pop_front() {
            self.write_frame(OpCode::Pong, true, &p);
        }
    }

    /// Writes a data frame, compressing it when permessage-deflate is on and `compress`
    /// says so (`None`: decide by the threshold, for a whole message).
    #[inline]
    fn write_data(&mut self, opcode: OpCode, fin: bool, payload: &[u8], compress: Option<bool>) {
        #[cfg(feature = "deflate")]
        if self
            .deflate
            .as_ref()
            .is_some_and(|c| compress.unwrap_or(payload.len() >= c.threshold))
        {
            return self.write_compressed(opcode, fin, payload);
        }
        let _ = compress;
        self.write_frame(opcode, fin, payload);
    }

    /// The compressed send path, out of line so that connections without deflate (or
    /// messages under the threshold) pay one check.
    #[cfg(feature = "deflate")]
    #[cold]
    #[inline(never)]
    fn write_compressed(&mut self, opcode: OpCode, fin: bool, payload: &[u8]) {
        let Some(mut c) = self.deflate.take() else {
            return self.write_frame(opcode, fin, payload);
        };
        let (bits, no_takeover) = c.sending(self.role);
        let (level, mem_level) = (c.level, c.mem_level);
        let deflater = c
            .deflater
            .get_or_insert_with(|| Deflater::new(bits, level, mem_level, no_takeover));
        let mut scratch = std::mem::take(&mut c.scratch);
        scratch.clear();
        deflater.compress(payload, fin, &mut scratch);
        if fin && no_takeover {
            // The next message starts afresh anyway: free the compressor.
            c.deflater = None;
        }
        // RFC 7692 §6.1: RSV1 on the first frame of a compressed message only.
        let rsv = if opcode == OpCode::Continuation {
            0
        } else {
            RSV1
        };
        self.write_frame_rsv(opcode, fin, rsv, &scratch);
        if scratch.capacity() <= RETAINED_READ_CAPACITY {
            c.scratch = scratch;
        }
        self.deflate = Some(c);
    }

    #[inline]
    fn write_frame(&mut self, opcode: OpCode, fin: bool, payload: &[u8]) {
        self.write_frame_rsv(opcode, fin, 0, payload);
    }

    /// Appends one frame to `out`: one reservation for header and payload, then the header
    /// as one fixed-size copy for its length form (2, 4 or 10 bytes) and the payload.
    // Always inlined: on the send path of small messages the call and its register saves
    // cost as much as the frame (ws bench, encode 16 B).
    #[inline(always)]
    fn write_frame_rsv(&mut self, opcode: OpCode, fin: bool, rsv: u8, payload: &[u8]) {
        let mask = self.masks.as_mut().map(|m| m.next_mask());
        let len = payload.len();
        let out = &mut self.out;
        out.reserve(crate::frame::MAX_HEADER_LEN + len);
        let b0 = (u8::from(fin) << 7) | ((rsv & 0b111) << 4) | opcode.as_u8();
        let mask_bit = if mask.is_some() { 0x80 } else { 0 };
        // RFC 6455 §5.2: the minimal length form.
        if len <= 125 {
            out.extend_from_slice(&[b0, mask_bit | len as u8]);
        } else if len <= 0xffff {
            let [hi, lo] = (len as u16).to_be_bytes();
            out.extend_from_slice(&[b0, mask_bit | 126, hi, lo]);
        } else {
            let mut header = [b0, mask_bit | 127, 0, 0, 0, 0, 0, 0, 0, 0];
            header[2..].copy_from_slice(&(len as u64).to_be_bytes());
            out.extend_from_slice(&header);
        }
        match mask {
            None => out.extend_from_slice(payload),
            Some(mask) => {
                out.extend_from_slice(&mask);
                let start = out.len();
                out.extend_from_slice(payload);
                apply_mask(&mut out[start..], mask, 0);
            }
        }
    }

    fn keepalive_ping(&mut self, now: Instant) {
        let Some(k) = self.config.keepalive() else {
            return;
        };
        if self.state != State::Open {
            return;
        }
        self.keepalive_seq = self.keepalive_seq.wrapping_add(1);
        let payload = self.keepalive_seq.to_be_bytes();
        self.write_frame(OpCode::Ping, true, &payload);
        self.awaiting_pong = Some(payload);
        if !self.timers.is_set(Timer::Pong) {
            self.timers.set(Timer::Pong, now + k.timeout);
        }
        self.timers.set(Timer::Keepalive, now + k.interval);
    }

    fn stop_keepalive(&mut self) {
        self.timers.stop(Timer::Keepalive);
        self.timers.stop(Timer::Pong);
        self.awaiting_pong = None;
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("buffered_in", &(self.rbuf.len() - self.rpos))
            .field("buffered_out", &self.buffered_amount())
            .field("pending_events", &self.events.len())
            .finish_non_exhaustive()
    }
}

/// Unmasks a payload piece the framer classified where it is, and tells the framer what it
/// wrote: text is validated in the same pass where the CPU allows it.
fn unmask_payload(framer: &mut Framer, fresh: &mut [u8], mask: Option<[u8; 4]>, offset: usize) {
    let checked = match framer.text_skip() {
        Some(skip) => unmask_text_in_place(fresh, mask, offset, skip),
        None => {
            if let Some(mask) = mask {
                unmask_in_place(fresh, mask, offset);
            }
            Checked::Nothing
        }
    };
    framer.written(fresh, checked);
}

/// Appends a payload piece the framer classified to `dst`, unmasked, and tells the framer
/// what it wrote: text is validated in the same pass where the CPU allows it.
fn copy_payload(
    framer: &mut Framer,
    dst: &mut BytesMut,
    payload: &[u8],
    mask: Option<[u8; 4]>,
    offset: usize,
) {
    let checked = match framer.text_skip() {
        Some(skip) => extend_unmasked_text(dst, payload, mask, offset, skip),
        None if extend_unmasked(dst, payload, mask, offset) < 0x80 => Checked::Ascii,
        None => Checked::Nothing,
    };
    framer.written(&dst[dst.len() - payload.len()..], checked);
}

#[cfg(feature = "deflate")]
fn inflate_error(e: InflateError, len: usize, limit: usize) -> ProtocolError {
    match e {
        InflateError::TooBig => ProtocolError::MessageTooLarge {
            len: len as u64,
            limit,
        },
        InflateError::Corrupt => ProtocolError::InvalidCompressedData,
    }
}
