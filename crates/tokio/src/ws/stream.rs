//! [`WebSocketStream`]: a [`Connection`] driven over an `AsyncRead + AsyncWrite` transport.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use bytes::Bytes;
use futures_core::Stream;
use futures_sink::Sink;
use futures_util::StreamExt;
use futures_util::stream::{SplitSink, SplitStream};
use sockeye_ws::{
    CloseCode, CloseFrame, Connection, DataKind, Event, Message, ProtocolError, Transmit,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Sleep;

use crate::error::Error;

/// The longest the stream drains input after shutting down its write side.
const LINGER: std::time::Duration = std::time::Duration::from_secs(2);

/// How much the receive buffer grows by before each read.
const READ_CHUNK: usize = 16 * 1024;

/// A WebSocket connection over a transport `S`: a [`Stream`] of received [`Message`]s and a
/// [`Sink`] of messages to send.
///
/// All protocol decisions are made by the Sans-IO [`Connection`] inside; this type only
/// moves bytes, reads the clock and runs the connection's timer. Consequences:
///
/// - **Cancel safety.** Reading keeps no state of its own: partial frames live in the
///   connection's buffer, so dropping a `next()` future (a losing `select!` branch) loses
///   nothing.
/// - **Automatic replies.** Polling the stream answers pings and echoes the peer's Close;
///   keep polling it (or the reader from [`split`](Self::split)) for the
///   connection to make progress. Keepalive pings and the close timeout (set in
///   [`Config`](sockeye_ws::Config)) run while the stream is polled.
/// - **Backpressure.** [`Sink::poll_ready`] waits while the bytes queued for the transport
///   exceed the connection's high-water mark; nothing queues without bound.
/// - **Ending.** The stream ends (`None`) when the closing handshake is over; a normal close
///   is not an error, and the peer's Close frame is kept in [`close_frame`]. A protocol
///   fault of the peer is reported once as [`Error::Protocol`] (the connection has sent the
///   Close with its code), then the stream ends.
/// - **Closing.** [`close`](Self::close) (or [`Sink::poll_close`], which uses 1000) sends a
///   Close frame and flushes; go on reading until the stream ends to receive what the peer
///   still sends and its Close. Dropping an open stream queues a Close 1001 (going away)
///   and makes one non-blocking attempt to write it before the transport is dropped.
///
/// To read and write from different tasks, [`split`](Self::split) it.
///
/// [`close_frame`]: Self::close_frame
pub struct WebSocketStream<S: AsyncRead + AsyncWrite + Unpin> {
    io: S,
    conn: Connection,
    /// Bytes handed out by the connection and not yet written.
    wbuf: Vec<u8>,
    wpos: usize,
    shutdown_wanted: bool,
    shutdown_done: bool,
    /// The connection reported `Closed`: the stream ends once output is flushed.
    finished: bool,
    close_frame: Option<CloseFrame>,
    last_pong: Option<Bytes>,
    /// The transport's read side has ended (EOF or error): nothing left to drain.
    read_closed: bool,
    /// How long to keep draining input after shutting down, once started.
    linger_until: Option<tokio::time::Instant>,
    timer: Pin<Box<Sleep>>,
    timer_deadline: Option<Instant>,
}

impl<S> WebSocketStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Wraps a transport on which the opening handshake is complete.
    ///
    /// `leftover` are bytes read after the handshake head: the first frames.
    pub fn from_parts(io: S, mut conn: Connection, leftover: &[u8]) -> Self {
        if !leftover.is_empty() {
            conn.handle_data(now(), leftover);
        }
        Self {
            io,
            conn,
            wbuf: Vec::new(),
            wpos: 0,
            shutdown_wanted: false,
            shutdown_done: false,
            finished: false,
            close_frame: None,
            last_pong: None,
            read_closed: false,
            linger_until: None,
            timer: Box::pin(tokio::time::sleep_until(tokio::time::Instant::now())),
            timer_deadline: None,
        }
    }

    /// The Sans-IO connection, for its getters ([`state`](Connection::state),
    /// [`buffered_amount`](Connection::buffered_amount), …).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The transport.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// The Close frame the peer sent, once it has arrived.
    pub fn close_frame(&self) -> Option<&CloseFrame> {
        self.close_frame.as_ref()
    }

    /// Splits into a writer and a reader that can be used from different tasks. Both halves
    /// share the stream through a lock held only while one of them is polled, so neither
    /// blocks the other; [`reunite`](futures_util::stream::SplitStream::reunite) joins them.
    pub fn split(self) -> (SplitSink<Self, Message>, SplitStream<Self>) {
        StreamExt::split(self)
    }

    /// The payload of the latest pong received (an answer to [`ping`](Self::ping), or a
    /// keepalive answer), for liveness checks and round-trip timing. Pings from the peer are
    /// answered automatically and not reported.
    pub fn last_pong(&self) -> Option<&Bytes> {
        self.last_pong.as_ref()
    }

    /// Sends a message and flushes it.
    ///
    /// # Errors
    ///
    /// [`Error::Send`] when the connection is closing; [`Error::Io`] when writing fails.
    pub async fn send(&mut self, message: Message) -> Result<(), Error> {
        poll_fn(|cx| self.poll_ready_inner(cx)).await?;
        self.start_send_inner(message)?;
        poll_fn(|cx| self.poll_flush_inner(cx)).await
    }

    /// Sends one fragment of a message and flushes it (see
    /// [`Connection::send_fragment`]): the first call starts a message of `kind`, the call
    /// with `fin` ends it; pings and pongs may go between fragments, other messages may not.
    ///
    /// # Errors
    ///
    /// [`Error::Send`] for a fragment of another kind than the message in progress, text
    /// that cannot be valid UTF-8, or a closing connection; [`Error::Io`].
    pub async fn send_fragment(
        &mut self,
        kind: DataKind,
        data: &[u8],
        fin: bool,
    ) -> Result<(), Error> {
        poll_fn(|cx| self.poll_ready_inner(cx)).await?;
        self.conn.send_fragment(kind, data, fin)?;
        poll_fn(|cx| self.poll_flush_inner(cx)).await
    }

    /// Sends a ping and flushes it.
    ///
    /// # Errors
    ///
    /// [`Error::Send`] for a payload over 125 bytes or a closing connection; [`Error::Io`].
    pub async fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.conn.ping(payload)?;
        poll_fn(|cx| self.poll_flush_inner(cx)).await
    }

    /// Starts the closing handshake with `code` and `reason` and flushes the Close frame.
    /// Keep reading the stream until it ends to complete the handshake.
    ///
    /// # Errors
    ///
    /// [`Error::Send`] for a code that may not be sent, a reason over 123 bytes, or a Close
    /// already sent; [`Error::Io`].
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.conn.close(now(), code, reason)?;
        poll_fn(|cx| self.poll_flush_inner(cx)).await
    }

    /// Writes everything the connection has queued, then flushes the transport, then shuts
    /// its write side down if the connection asked for it.
    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            while self.wpos < self.wbuf.len() {
                let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.wbuf[self.wpos..]))?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                self.wpos += n;
            }
            self.wbuf.clear();
            self.wpos = 0;
            match self.conn.poll_transmit(&mut self.wbuf) {
                Some(Transmit::Data { .. }) => {}
                Some(Transmit::Shutdown) => self.shutdown_wanted = true,
                None => break,
            }
        }
        ready!(Pin::new(&mut self.io).poll_flush(cx))?;
        if self.shutdown_wanted && !self.shutdown_done {
            // A peer that already went away makes shutdown fail; the connection is over
            // either way.
            let _ = ready!(Pin::new(&mut self.io).poll_shutdown(cx));
            self.shutdown_done = true;
        }
        Poll::Ready(Ok(()))
    }

    /// Fires the connection's timer if it is due; registers for wake-up otherwise.
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(deadline) = self.conn.poll_timeout() else {
            self.timer_deadline = None;
            return false;
        };
        if self.timer_deadline != Some(deadline) {
            self.timer_deadline = Some(deadline);
            self.timer
                .as_mut()
                .reset(tokio::time::Instant::from_std(deadline));
        }
        if self.timer.as_mut().poll(cx).is_ready() {
            self.timer_deadline = None;
            self.conn.handle_timeout(now());
            return true;
        }
        false
    }

    fn poll_next_inner(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        loop {
            // Replies (pongs, Close echoes) go out as we read; a full transport does not
            // stop reading, since the connection bounds what it queues meanwhile.
            let flushed = match self.poll_write_out(cx) {
                Poll::Ready(Ok(())) => true,
                Poll::Ready(Err(e)) => {
                    if self.finished {
                        return Poll::Ready(None);
                    }
                    self.abandon();
                    return Poll::Ready(Some(Err(Error::Io(e))));
                }
                Poll::Pending => false,
            };
            match self.conn.poll_event() {
                Some(Event::Message(m)) => return Poll::Ready(Some(Ok(m))),
                Some(Event::Close(frame)) => self.close_frame = Some(frame),
                Some(Event::Failed(e)) => return Poll::Ready(Some(Err(Error::Protocol(e)))),
                Some(Event::Closed { .. }) => self.finished = true,
                Some(Event::Pong(payload)) => self.last_pong = Some(payload),
                Some(_) => {}
                None if self.finished => {
                    if !flushed {
                        return Poll::Pending;
                    }
                    return self.poll_linger(cx).map(|()| None);
                }
                None => {
                    if self.poll_timer(cx) {
                        continue;
                    }
                    let buf = self.conn.read_buf();
                    buf.reserve(READ_CHUNK);
                    match ready!(tokio_util::io::poll_read_buf(
                        Pin::new(&mut self.io),
                        cx,
                        buf
                    )) {
                        Ok(0) => {
                            self.read_closed = true;
                            self.conn.handle_eof(now());
                        }
                        Ok(_) => self.conn.handle_read(now()),
                        Err(e) => {
                            self.abandon();
                            return Poll::Ready(Some(Err(Error::Io(e))));
                        }
                    }
                }
            }
        }
    }

    /// After our write side is shut down, reads and discards what the peer still sends until
    /// it closes too, for at most [`LINGER`]. Closing a socket with unread input makes the
    /// kernel send a reset, and a reset can destroy the Close frame we just sent before the
    /// peer reads it (a peer still sending when we fail the connection would then see 1006
    /// instead of our code).
    fn poll_linger(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.shutdown_done || self.read_closed {
            return Poll::Ready(());
        }
        let deadline = *self
            .linger_until
            .get_or_insert_with(|| tokio::time::Instant::now() + LINGER);
        let mut scratch = [0u8; 4096];
        loop {
            let mut buf = tokio::io::ReadBuf::new(&mut scratch);
            match Pin::new(&mut self.io).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => continue,
                Poll::Ready(_) => {
                    self.read_closed = true;
                    return Poll::Ready(());
                }
                Poll::Pending => {
                    if self.timer_deadline != Some(deadline.into_std()) {
                        self.timer_deadline = Some(deadline.into_std());
                        self.timer.as_mut().reset(deadline);
                    }
                    if self.timer.as_mut().poll(cx).is_ready() {
                        self.read_closed = true;
                        return Poll::Ready(());
                    }
                    return Poll::Pending;
                }
            }
        }
    }

    /// The transport failed: the connection is over without a closing handshake.
    fn abandon(&mut self) {
        self.read_closed = true;
        self.conn.handle_eof(now());
        while self.conn.poll_event().is_some() {}
        self.finished = true;
        self.shutdown_done = true;
        self.wbuf.clear();
        self.wpos = 0;
    }

    fn pending_out(&self) -> usize {
        self.wbuf.len() - self.wpos + self.conn.buffered_amount()
    }

    fn poll_ready_inner(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.pending_out() >= self.conn.config().high_water_mark() {
            ready!(self.poll_write_out(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    fn start_send_inner(&mut self, message: Message) -> Result<(), Error> {
        match &message {
            Message::Text(t) => self.conn.send_text(t)?,
            Message::Binary(b) => self.conn.send_binary(b)?,
        }
        Ok(())
    }

    fn poll_flush_inner(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        ready!(self.poll_write_out(cx))?;
        Poll::Ready(Ok(()))
    }

    fn poll_close_inner(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.conn.is_open() {
            self.conn.close(now(), CloseCode::NORMAL, "")?;
        }
        self.poll_flush_inner(cx)
    }
}

impl<S> Stream for WebSocketStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_next_inner(cx)
    }
}

impl<S> Sink<Message> for WebSocketStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_ready_inner(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        self.get_mut().start_send_inner(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_flush_inner(cx)
    }

    /// Sends a Close 1000 (unless a Close was sent) and flushes. Read the stream to its end
    /// to complete the closing handshake.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_close_inner(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Drop for WebSocketStream<S> {
    fn drop(&mut self) {
        // Best effort: tell the peer we are going away, if the transport takes the bytes
        // right now. Nothing blocks in drop.
        if self.conn.is_open() && self.conn.close(now(), CloseCode::GOING_AWAY, "").is_ok() {
            let mut cx = Context::from_waker(std::task::Waker::noop());
            let _ = self.poll_write_out(&mut cx);
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> std::fmt::Debug for WebSocketStream<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketStream")
            .field("conn", &self.conn)
            .field("unwritten", &(self.wbuf.len() - self.wpos))
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

/// The current time for the connection, from tokio's clock (so paused test time works).
pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Turns a protocol error into the adapter error (used by the handshake code).
impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Error::Protocol(e)
    }
}
