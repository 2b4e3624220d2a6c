#![no_main]
//! One Socket.IO `Decoder` fed an arbitrary sequence of text and binary messages under small
//! attachment limits, checked step by step against a model of the reassembly:
//! - a text message while attachments are pending is `UnexpectedText`, a binary one while
//!   none are is `UnexpectedBinary`; otherwise a text message decodes exactly as it does on
//!   a fresh decoder, and a binary packet that waits announced 1..=`max_attachments`;
//! - attachments complete the packet exactly at the announced count, with exactly the bytes
//!   fed, in order; going over `max_attachment_bytes` in total is `AttachmentsTooLarge`
//!   naming the limit, so a completed packet never holds more;
//! - `is_reconstructing` agrees with the model after every step;
//! - an error resets the decoder: it is not reconstructing, and a well-formed text packet
//!   decodes next;
//! - every completed packet passes the shared packet oracle (sio_check.rs).
//!
//! Input: one configuration byte (bits 0-1: `max_attachments`, bits 2-3:
//! `max_attachment_bytes`), then messages, each a tag byte (low 2 bits: a text packet from a
//! dictionary picked by the next byte, arbitrary text, arbitrary binary, or that many zero
//! bytes) and its arguments.
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sockeye_engineio::Str;
use sockeye_socketio::{DecodeError, Decoder, DecoderConfig, EventName, Packet};

#[path = "sio_check.rs"]
mod sio_check;

const MAX_ATTACHMENTS: [usize; 4] = [10, 0, 1, 3];
const MAX_BYTES: [usize; 4] = [1_000_000, 0, 4, 16];

/// Well-formed and classic malformed packets, so that short inputs reach reassembly.
const TEXTS: [&str; 20] = [
    "0",
    "0/admin,{\"token\":\"1\"}",
    "2[\"hello\",1]",
    "2/admin,456[\"project:delete\",123]",
    "51-[\"baz\",{\"_placeholder\":true,\"num\":0}]",
    "61-15[\"bar\",{\"_placeholder\":true,\"num\":0}]",
    "52-[\"two\",{\"_placeholder\":true,\"num\":1},{\"_placeholder\":true,\"num\":0}]",
    "53-/admin,7[\"three\",{\"_placeholder\":true,\"num\":0},{\"a\":[{\"_placeholder\":true,\"num\":2}]},{\"_placeholder\":true,\"num\":1}]",
    "50-[\"zero\"]",
    "511-[\"eleven\"]",
    "51-[\"hello\",{\"_placeholder\":true,\"num\":\"splice\"}]",
    "51-[\"hello\",{\"_placeholder\":true,\"num\":1}]",
    "51-[\"hello\",{\"_placeholder\":true,\"num\":-1}]",
    "51-",
    "61-[{\"_placeholder\":true,\"num\":0}]",
    "51-[\"no placeholder\"]",
    "1/admin,",
    "4{\"message\":\"x\"}",
    "5-[\"x\"]",
    "3/admin,1[]",
];

const PROBE: &str = "2[\"probe\"]";

struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    /// A length byte, then up to that many bytes.
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::from(self.byte()?).min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
}

/// A binary packet waiting for attachments, as the model sees it.
struct Pending {
    announced: usize,
    fed: Vec<Bytes>,
    bytes: usize,
}

struct Driver {
    config: DecoderConfig,
    decoder: Decoder,
    pending: Option<Pending>,
}

impl Driver {
    fn text(&mut self, text: Str) {
        let result = self.decoder.decode_text(text.clone());
        if self.pending.take().is_some() {
            assert_eq!(
                result,
                Err(DecodeError::UnexpectedText),
                "text while pending"
            );
        } else {
            let fresh = Decoder::new(self.config).decode_text(text.clone());
            assert_eq!(
                result, fresh,
                "{text:?} decodes differently on a fresh decoder"
            );
            match &result {
                Ok(Some(p)) => {
                    assert!(p.attachments.is_empty());
                    sio_check::check_packet(p, self.config);
                }
                Ok(None) => {
                    let announced = sio_check::announced(text.as_bytes())
                        .unwrap_or_else(|| panic!("{text:?} waits without announcing"));
                    assert!(
                        (1..=self.config.max_attachments).contains(&announced),
                        "{text:?} waits for {announced}, limit {}",
                        self.config.max_attachments
                    );
                    self.pending = Some(Pending {
                        announced,
                        fed: Vec::new(),
                        bytes: 0,
                    });
                }
                Err(DecodeError::TooManyAttachments { limit }) => {
                    assert_eq!(*limit, self.config.max_attachments);
                }
                Err(DecodeError::UnexpectedText | DecodeError::UnexpectedBinary) => {
                    panic!("{result:?} for a text message with nothing pending")
                }
                Err(_) => {}
            }
        }
        self.after(result.is_err());
    }

    fn binary(&mut self, bytes: Bytes) {
        let result = self.decoder.decode_binary(bytes.clone());
        match self.pending.take() {
            None => assert_eq!(result, Err(DecodeError::UnexpectedBinary)),
            Some(mut pending) => {
                pending.bytes += bytes.len();
                pending.fed.push(bytes);
                if pending.bytes > self.config.max_attachment_bytes {
                    assert_eq!(
                        result,
                        Err(DecodeError::AttachmentsTooLarge {
                            limit: self.config.max_attachment_bytes
                        }),
                        "{} bytes of attachments",
                        pending.bytes
                    );
                } else if pending.fed.len() < pending.announced {
                    assert_eq!(result, Ok(None), "completed too early");
                    self.pending = Some(pending);
                } else {
                    let packet = match &result {
                        Ok(Some(p)) => p,
                        other => panic!(
                            "{} of {} attachments gave {other:?}",
                            pending.fed.len(),
                            pending.announced
                        ),
                    };
                    assert_eq!(packet.attachments.len(), pending.announced);
                    assert_eq!(packet.attachments, pending.fed, "attachments not as fed");
                    let total: usize = packet.attachments.iter().map(Bytes::len).sum();
                    assert!(total <= self.config.max_attachment_bytes);
                    assert!(packet.kind.is_binary());
                    sio_check::check_packet(packet, self.config);
                }
            }
        }
        self.after(result.is_err());
    }

    fn after(&mut self, failed: bool) {
        assert_eq!(
            self.decoder.is_reconstructing(),
            self.pending.is_some(),
            "is_reconstructing disagrees with the model"
        );
        if failed {
            // The decoder is back to its initial state: the next packet decodes.
            let probe = self.decoder.decode_text(Str::from_static(PROBE));
            match probe {
                Ok(Some(Packet {
                    event: Some(EventName::Text(name)),
                    ..
                })) if name == "probe" => {}
                other => panic!("after an error, {PROBE} gave {other:?}"),
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, ops)) = data.split_first() else {
        return;
    };
    let config = DecoderConfig {
        max_attachments: MAX_ATTACHMENTS[usize::from(control & 3)],
        max_attachment_bytes: MAX_BYTES[usize::from((control >> 2) & 3)],
    };
    let mut driver = Driver {
        config,
        decoder: Decoder::new(config),
        pending: None,
    };
    let mut input = Input(ops);
    let mut steps = 0;
    while steps < 256 {
        let Some(tag) = input.byte() else { break };
        match tag & 3 {
            0 => {
                let Some(pick) = input.byte() else { break };
                driver.text(Str::from_static(TEXTS[usize::from(pick) % TEXTS.len()]));
            }
            1 => {
                let Some(bytes) = input.bytes() else { break };
                driver.text(Str::from(String::from_utf8_lossy(bytes).into_owned()));
            }
            2 => {
                let Some(bytes) = input.bytes() else { break };
                driver.binary(Bytes::copy_from_slice(bytes));
            }
            _ => {
                let Some(n) = input.byte() else { break };
                driver.binary(Bytes::from(vec![0; usize::from(n)]));
            }
        }
        steps += 1;
    }
});
