//! Test support shared by the sockeye crates: test-vector loading, and (with the WebSocket
//! work) the deterministic `Pair` harness that wires two state machines back to back.
//!
//! Not published; only `dev-dependencies` use it.

pub mod engineio;
pub mod socketio;
pub mod strategies;
pub mod vectors;
pub mod ws;
