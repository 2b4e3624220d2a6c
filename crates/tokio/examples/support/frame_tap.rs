//! A transport wrapper for the interop examples that reads the WebSocket frame headers
//! crossing it, both ways, independently of the connection that produces and consumes
//! them: how many data messages went each way and how many of them had RSV1 set (the
//! permessage-deflate "compressed" bit, RFC 7692 §6). What it reports is what was on the
//! wire, not what the codec believes it did.
//!
//! Each direction starts with the HTTP head of the opening handshake (request or
//! response), which is skipped up to its blank line; frames follow.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What crossed the wire in one direction, counted from the frame headers.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameCounts {
    /// Data messages: Text and Binary frames (a message's first frame).
    pub(crate) messages: u64,
    /// Data messages whose first frame had RSV1 set: compressed.
    pub(crate) compressed: u64,
    /// Data frames, continuations included.
    pub(crate) frames: u64,
    /// Payload bytes of data frames as sent: compressed sizes for compressed messages.
    pub(crate) payload_bytes: u64,
}

/// A transport that counts the frames read from and written to it.
#[derive(Debug)]
pub(crate) struct FrameTap<S> {
    inner: S,
    received: Sniffer,
    sent: Sniffer,
}

impl<S> FrameTap<S> {
    /// Wraps a transport on which nothing has been sent or received yet.
    pub(crate) fn new(inner: S) -> Self {
        Self {
            inner,
            received: Sniffer::default(),
            sent: Sniffer::default(),
        }
    }

    /// What was read from the transport so far.
    pub(crate) fn received(&self) -> FrameCounts {
        self.received.counts
    }

    /// What was written to the transport so far.
    pub(crate) fn sent(&self) -> FrameCounts {
        self.sent.counts
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for FrameTap<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = poll {
            this.received.feed(&buf.filled()[before..]);
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FrameTap<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = poll {
            // Only what the transport took went out.
            this.sent.feed(&data[..n]);
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Follows one direction of a connection: the HTTP head, then frame headers, skipping
/// payloads.
#[derive(Debug, Default)]
struct Sniffer {
    /// How much of the head's closing `\r\n\r\n` has been seen; 4 once the head is over.
    head_end: usize,
    /// The frame header read so far.
    header: Vec<u8>,
    /// Payload bytes of the current frame still to skip.
    skip: u64,
    counts: FrameCounts,
}

impl Sniffer {
    fn feed(&mut self, mut data: &[u8]) {
        while let Some((&byte, rest)) = data.split_first() {
            if self.head_end < 4 {
                self.head_end = match (self.head_end, byte) {
                    (0 | 2, b'\r') => self.head_end + 1,
                    (1 | 3, b'\n') => self.head_end + 1,
                    (_, b'\r') => 1,
                    _ => 0,
                };
                data = rest;
            } else if self.skip > 0 {
                let n = self.skip.min(data.len() as u64);
                self.skip -= n;
                // n is at most data.len().
                data = &data[n as usize..];
            } else {
                self.header.push(byte);
                data = rest;
                if let Some(payload_len) = self.header_complete() {
                    self.skip = payload_len;
                    self.header.clear();
                }
            }
        }
    }

    /// Once the header is whole, counts the frame and gives its payload length (RFC 6455
    /// §5.2).
    fn header_complete(&mut self) -> Option<u64> {
        let h = &self.header;
        let (&b0, &b1) = (h.first()?, h.get(1)?);
        let (ext, len7) = match b1 & 0x7f {
            126 => (2, None),
            127 => (8, None),
            n => (0, Some(u64::from(n))),
        };
        let masked = b1 & 0x80 != 0;
        let total = 2 + ext + if masked { 4 } else { 0 };
        if h.len() < total {
            return None;
        }
        let len = len7.unwrap_or_else(|| {
            h[2..2 + ext]
                .iter()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
        });
        let opcode = b0 & 0x0f;
        let rsv1 = b0 & 0x40 != 0;
        if matches!(opcode, 0x0..=0x2) {
            self.counts.frames += 1;
            self.counts.payload_bytes += len;
        }
        if matches!(opcode, 0x1 | 0x2) {
            self.counts.messages += 1;
            if rsv1 {
                self.counts.compressed += 1;
            }
        }
        Some(len)
    }
}
