//! Masking keys and handshake nonces from the operating system's RNG.

use sockeye_ws::MaskSource;

/// Keys fetched from the OS in batches, so a small frame does not cost a system call.
#[derive(Debug)]
pub(crate) struct OsMasks {
    buf: [u8; 256],
    pos: usize,
}

impl OsMasks {
    pub(crate) fn new() -> Self {
        Self {
            buf: [0; 256],
            pos: 256,
        }
    }
}

impl MaskSource for OsMasks {
    fn next_mask(&mut self) -> [u8; 4] {
        if self.pos + 4 > self.buf.len() {
            fill(&mut self.buf);
            self.pos = 0;
        }
        let mut key = [0u8; 4];
        key.copy_from_slice(&self.buf[self.pos..self.pos + 4]);
        self.pos += 4;
        key
    }
}

/// A fresh 16-byte `Sec-WebSocket-Key` nonce (RFC 6455 §4.1: randomly selected).
pub(crate) fn nonce() -> [u8; 16] {
    let mut key = [0u8; 16];
    fill(&mut key);
    key
}

fn fill(buf: &mut [u8]) {
    // The OS RNG failing is not something a connection can recover from; it does not
    // happen on supported platforms once the process is running.
    if let Err(e) = getrandom::fill(buf) {
        panic!("the operating system's random number generator failed: {e}");
    }
}
