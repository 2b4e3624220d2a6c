#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod args;
mod binary;
pub mod client;
mod json;
pub mod packet;
pub mod server;

pub use json::RESERVED_EVENTS;
pub use packet::{DecodeError, Decoder, DecoderConfig, EventName, Packet, PacketType};
pub use sockeye_engineio::{Data, Str};
