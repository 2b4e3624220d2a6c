#![doc = include_str!("../README.md")]

#[cfg(feature = "socketio")]
pub mod engineio;
mod error;
#[cfg(feature = "socketio")]
mod polling;
#[cfg(feature = "socketio")]
mod sio_client;
#[cfg(feature = "socketio")]
pub mod socketio;
pub mod ws;

pub use error::Error;
pub use sockeye_ws;
