//! permessage-deflate negotiation (RFC 7692 §5, §7.1), both roles, as pure functions over
//! the `Sec-WebSocket-Extensions` elements the [handshake](crate::handshake) module parses.
//!
//! A server gives the client's offers to [`negotiate_server`], which walks them in the
//! client's order of preference and answers the first it can accept with an [`Agreement`]:
//! the [`DeflateParams`] both ends will use and the element to send back. A client sends
//! [`client_offers`] and gives the server's answer to [`negotiate_client`], which checks it
//! and gives the same [`DeflateParams`], or a [`NegotiationError`] that fails the
//! connection. What each end is willing to use is a [`DeflateConfig`], validated once.
//!
//! ```
//! use sockeye_ws::deflate::negotiate::{
//!     DeflateConfig, client_offers, negotiate_client, negotiate_server,
//! };
//! use sockeye_ws::handshake::{Accept, ExtensionOffer};
//!
//! // The client offers; the value goes in its Sec-WebSocket-Extensions header.
//! let client = DeflateConfig::builder().client_max_window_bits(12).build()?;
//! let offers = client_offers(&client);
//! let header = ExtensionOffer::format_list(&offers);
//! assert_eq!(header, "permessage-deflate; client_max_window_bits=12");
//!
//! // The server reads the offers (`Request::extensions()`) and answers.
//! let server = DeflateConfig::builder().server_max_window_bits(11).build()?;
//! let received = ExtensionOffer::parse_list(&header)?;
//! let agreement = negotiate_server(&received, &server).expect("a valid offer is accepted");
//! let accept = Accept::new().with_extensions(agreement.response.to_string());
//! assert_eq!(
//!     accept.extensions(),
//!     Some("permessage-deflate; server_max_window_bits=11; client_max_window_bits=12")
//! );
//!
//! // The client checks the answer (`Accepted::extensions()`); both ends agree.
//! let answer = ExtensionOffer::parse_list(accept.extensions().unwrap())?;
//! let params = negotiate_client(&answer, &client)?.expect("the server agreed");
//! assert_eq!(params, agreement.params);
//! assert_eq!((params.server_max_window_bits, params.client_max_window_bits), (11, 12));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Decisions
//!
//! - **Strict values.** A window size is a decimal integer from 8 to 15 "without leading
//!   zeroes" (RFC 7692 §7.1.2.1, §7.1.2.2): `08`, `015`, `+9`, `7` and `16` are invalid. A
//!   server declines an offer with an invalid, unknown or repeated parameter, or a value
//!   where none is allowed (§7); a client fails the connection on such an answer (§7).
//!   Extension and parameter names match exactly, as RFC 6455 §9.1 tokens.
//! - **Quoted values are accepted.** RFC 6455 §9.1 lets a parameter value be a token or a
//!   quoted-string whose unescaped content is a token, and RFC 7692's `1*DIGIT` rules apply
//!   to that value. [`ExtensionOffer::parse_list`] stores values unescaped, so
//!   `server_max_window_bits="10"` means 10 (python-websockets and ws read it the same way).
//! - **A window of 8 bits is agreed to.** zlib, and zlib-rs with it, cannot build a raw
//!   deflate compressor with an 8-bit window (since zlib 1.2.9 `deflateInit2` refuses it;
//!   flate2 panics below 9) and compresses with 9 bits when asked for 8 in a zlib stream
//!   (madler/zlib#171). A sender must not use a larger window than agreed, but what the
//!   receiver's window bounds is the match *distance*, and zlib's compressor never emits a
//!   distance beyond `window − MIN_LOOKAHEAD` (262), 250 for a 9-bit window, which an 8-bit
//!   window (256 bytes) decodes (the note in madler/zlib#291; zlib-rs 0.6 keeps that bound
//!   in every match finder: `max_dist() = w_size − MIN_LOOKAHEAD`). So a server asked for
//!   `server_max_window_bits=8` agrees to 8 and its codec compresses with 9, as ws does
//!   through Node's zlib, which turns 8 into 9 for raw deflate (nodejs/node#16511). This
//!   keeps Autobahn's 13.x cases that ask for 8 compressed; python-websockets instead
//!   proposes declining such offers (python-websockets/websockets#1757). The crate's test
//!   `rfc7692_7_1_2_eight_bit_agreement_holds_with_a_nine_bit_compressor` decodes what
//!   flate2 + zlib-rs emit at every level and checks that no distance exceeds 256.
//!   Inflating with a window of 8 needs nothing special: a larger inflate window always
//!   works, so the decompressor may use 9 (flate2's minimum).
//! - **Answers are explicit.** The server echoes the client's `client_no_context_takeover`
//!   hint (§7.1.1.2 allows it) and answers an offered `client_max_window_bits=N` with a
//!   value, so both ends compute identical [`DeflateParams`] without relying on hints.
//! - **A client holds the server to its requests.** A server accepts a requested
//!   `server_no_context_takeover` or `server_max_window_bits` by including it
//!   (§7.1.1.1, §7.1.2.1); an answer that leaves a request out, or answers a larger window
//!   than asked, fails (as python-websockets does). When no offer matches, the error reported is
//!   the one against the first offer.
//! - **Fallback offers** follow the RFC 7692 §7.1.3 example: the main offer, then the same
//!   without the requests a server may decline (`server_no_context_takeover`,
//!   `server_max_window_bits`).

use std::fmt;

use super::DeflateParams;
use crate::handshake::ExtensionOffer;

/// The extension token, `permessage-deflate` (RFC 7692 §7).
pub const EXTENSION_NAME: &str = "permessage-deflate";

/// The smallest LZ77 window RFC 7692 allows, as a base-2 logarithm (§7.1.2).
pub const MIN_WINDOW_BITS: u8 = 8;

/// The largest LZ77 window, and the size used when none is negotiated (§7.1.2).
pub const MAX_WINDOW_BITS: u8 = 15;

/// What an endpoint is willing to use for permessage-deflate, in either role, and how it
/// compresses.
///
/// Built with [`DeflateConfig::builder`], which checks the values once;
/// `DeflateConfig::default()` gives the defaults below. The negotiation options mean, by
/// role:
///
/// | option | default | as a server | as a client |
/// |---|---|---|---|
/// | [`server_no_context_takeover`][snct] | off | reset after each message, unasked | ask for it |
/// | [`client_no_context_takeover`][cnct] | off | make the client reset | reset, say so |
/// | [`server_max_window_bits`][smwb] | 15 | largest window we use | ask for at most |
/// | [`client_max_window_bits`][cmwb] | 15 | impose when offered | largest we use |
/// | [`require_client_max_window_bits`][req] | off | decline offers without it | — |
/// | [`fallback_offer`][fb] | off | — | add a fallback offer |
/// | [`level`][level] | 7 | compression level, 0–9 | same |
/// | [`mem_level`][mem] | 8 | compressor memory, 1–9 | same |
/// | [`threshold`][thr] | 1024 | shorter messages go uncompressed | same |
///
/// [snct]: DeflateConfigBuilder::server_no_context_takeover
/// [cnct]: DeflateConfigBuilder::client_no_context_takeover
/// [smwb]: DeflateConfigBuilder::server_max_window_bits
/// [cmwb]: DeflateConfigBuilder::client_max_window_bits
/// [req]: DeflateConfigBuilder::require_client_max_window_bits
/// [fb]: DeflateConfigBuilder::fallback_offer
/// [level]: DeflateConfigBuilder::level
/// [mem]: DeflateConfigBuilder::mem_level
/// [thr]: DeflateConfigBuilder::threshold
///
/// Windows run from 8 to 15 bits (RFC 7692 §7.1.2). A window of 8 is agreed to and
/// compressed with zlib's 9-bit window, whose matches never reach past 250 bytes (see the
/// [module documentation](self)). The threshold default is that of ws (`threshold`,
/// 1024 bytes); the memory level default is zlib's.
///
/// # Levels
///
/// zlib-rs numbers its levels as zlib-ng does, not as zlib: its level 6 runs the faster
/// "medium" strategy, while zlib's level 6 (the default of Node's zlib, so of ws, and of
/// Python's) is the lazy strategy, which zlib-rs runs from level 7. On a chat-message corpus
/// (docs/benchmarks.md) zlib-rs' level 6 output is 2.2% larger than zlib's level 6 and its
/// level 7 output the same size as zlib's 6 and 7. The default is therefore 7: the ratio of
/// the zlib peers' default; level 6 is about 25% faster for that 2.2%.
///
/// # Memory presets
///
/// [`memory_preset`](DeflateConfigBuilder::memory_preset) sets both windows and the memory
/// level together, in the pairs python-websockets documents (window bits *w*, memory level
/// *w* − 7). The negotiated window may be smaller than the configured one. Per connection,
/// with the zlib-rs backend (measured with zlib-rs 0.6.8 on a
/// 64-bit target), one compressor takes 4 × 2^*w* bytes for its window and hash chains,
/// a fixed 128 KiB hash table, and 7 × 2^(*m* + 6) bytes of buffers for memory level *m*.
/// zlib-rs inflates with a 32 KiB window whatever it is told, so one decompressor takes
/// about 46 KiB while a message inflates; between messages, a decompressor for a window under
/// 15 bits is dropped and only the window's last 2^*w* bytes are kept (with context
/// takeover; nothing at all without it):
///
/// | preset | window bits | memory level | compressor | decompressor, idle | decompressor, inflating |
/// |---|---|---|---|---|---|
/// | `memory_preset(15)` (the default) | 15 | 8 | 371 KiB | 46 KiB | 46 KiB |
/// | `memory_preset(14)` | 14 | 7 | 251 KiB | 16 KiB | 46 KiB |
/// | `memory_preset(13)` | 13 | 6 | 191 KiB | 8 KiB | 46 KiB |
/// | `memory_preset(12)` (python-websockets' default) | 12 | 5 | 161 KiB | 4 KiB | 46 KiB |
/// | `memory_preset(11)` | 11 | 4 | 146 KiB | 2 KiB | 46 KiB |
/// | `memory_preset(10)` | 10 | 3 | 139 KiB | 1 KiB | 46 KiB |
/// | `memory_preset(9)` | 9 | 2 | 135 KiB | 512 B | 46 KiB |
/// | `memory_preset(8)` | 8, compressed with 9 | 1 | 134 KiB | 512 B | 46 KiB |
///
/// Keeping the window as bytes also makes a peer that reaches back further than the agreed
/// window across messages fail with 1007, as zlib's own inflate with that window does; the
/// price is a decompressor set up (and given the kept window as its dictionary) per message.
///
/// python-websockets measured on small JSON messages that compressed size grows by 3.7 %
/// at 11/4 and by 90 % at 10/3 against 12/5: below 11 bits the ratio drops quickly.
///
/// ```
/// use sockeye_ws::deflate::negotiate::DeflateConfig;
///
/// let config = DeflateConfig::builder()
///     .memory_preset(12)
///     .threshold(256)
///     .build()?;
/// assert_eq!(config.server_max_window_bits(), 12);
/// assert_eq!(config.client_max_window_bits(), 12);
/// assert_eq!(config.mem_level(), 5);
/// # Ok::<(), sockeye_ws::deflate::negotiate::DeflateConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeflateConfig {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: u8,
    client_max_window_bits: u8,
    require_client_max_window_bits: bool,
    fallback_offer: bool,
    level: u32,
    mem_level: u8,
    threshold: usize,
}

/// Builds a [`DeflateConfig`]; see there for the options and their defaults.
#[derive(Debug, Clone)]
pub struct DeflateConfigBuilder {
    config: DeflateConfig,
}

/// Why a [`DeflateConfigBuilder`] refused its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeflateConfigError {
    /// A window size outside 8–15 bits (RFC 7692 §7.1.2).
    #[error("{parameter} must be 8 to 15, not {value}")]
    WindowBits {
        /// Which window.
        parameter: Parameter,
        /// The value given.
        value: u8,
    },
    /// A compression level above 9.
    #[error("compression level must be 0 to 9, not {value}")]
    Level {
        /// The value given.
        value: u32,
    },
    /// A memory level outside 1–9.
    #[error("memory level must be 1 to 9, not {value}")]
    MemLevel {
        /// The value given.
        value: u8,
    },
}

/// One of the four permessage-deflate parameters (RFC 7692 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Parameter {
    /// `server_no_context_takeover` (§7.1.1.1).
    ServerNoContextTakeover,
    /// `client_no_context_takeover` (§7.1.1.2).
    ClientNoContextTakeover,
    /// `server_max_window_bits` (§7.1.2.1).
    ServerMaxWindowBits,
    /// `client_max_window_bits` (§7.1.2.2).
    ClientMaxWindowBits,
}

/// Why an offer was declined (by a server) or an answer refused (by a client).
///
/// A server never returns these to its caller through [`negotiate_server`], which declines
/// the offer and tries the next; [`answer_offer`] gives the reason for one offer. For a
/// client, any of them fails the WebSocket connection (RFC 7692 §7).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NegotiationError {
    /// The element is another extension.
    #[error("not a permessage-deflate element")]
    NotPermessageDeflate,
    /// A parameter RFC 7692 does not define (§7).
    #[error("unknown permessage-deflate parameter")]
    UnknownParameter {
        /// Its name, as received.
        name: String,
    },
    /// A parameter given twice (§7).
    #[error("{parameter} given twice")]
    DuplicateParameter {
        /// The parameter.
        parameter: Parameter,
    },
    /// A value on a parameter that takes none (§7.1.1).
    #[error("{parameter} takes no value")]
    UnexpectedValue {
        /// The parameter.
        parameter: Parameter,
    },
    /// A window parameter without the value it needs here (§7.1.2).
    #[error("{parameter} needs a value")]
    MissingValue {
        /// The parameter.
        parameter: Parameter,
    },
    /// A window size that is not a decimal 8–15 without leading zeroes (§7.1.2).
    #[error("invalid {parameter} value")]
    InvalidValue {
        /// The parameter.
        parameter: Parameter,
        /// The value, as received (unescaped when it was quoted).
        value: String,
    },
    /// The server did not answer a parameter the client requested (§7.1.1.1, §7.1.2.1).
    #[error("{parameter} was requested but not granted")]
    NotGranted {
        /// The parameter.
        parameter: Parameter,
    },
    /// The server answered `client_max_window_bits` to an offer without it (§7.1.2.2).
    #[error("{parameter} answered but not offered")]
    NotOffered {
        /// The parameter.
        parameter: Parameter,
    },
    /// The server answered a larger window than the client offered (§7.1.2.1, §7.1.2.2).
    #[error("{parameter} of {answered} exceeds the {offered} offered")]
    WindowTooLarge {
        /// The parameter.
        parameter: Parameter,
        /// What the client offered.
        offered: u8,
        /// What the server answered.
        answered: u8,
    },
    /// The offer lacks `client_max_window_bits`, which this server requires
    /// ([`DeflateConfigBuilder::require_client_max_window_bits`]).
    #[error("{parameter} is required")]
    Required {
        /// The parameter.
        parameter: Parameter,
    },
    /// The server answered permessage-deflate more than once (RFC 6455 §9.1: it selects
    /// one offer per extension).
    #[error("permessage-deflate answered {count} times")]
    DuplicateExtension {
        /// How many permessage-deflate elements the answer has.
        count: usize,
    },
    /// The offer given to [`check_response`] is itself invalid, so no answer can match it.
    #[error("the offer is not a valid permessage-deflate offer")]
    InvalidOffer,
}

/// What a server agreed to: the parameters both ends use, and the element to answer with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Agreement {
    /// The negotiated parameters; the client computes the same from [`response`](Self::response).
    pub params: DeflateParams,
    /// The `permessage-deflate` element for the response's `Sec-WebSocket-Extensions`,
    /// e.g. `Accept::with_extensions(agreement.response.to_string())`.
    pub response: ExtensionOffer,
}

/// The server side: answers the first of `offers`, in the client's order of preference,
/// that `config` can accept; `None` when no `permessage-deflate` offer is acceptable, and
/// the connection goes on without compression.
///
/// Elements of other extensions are skipped. An offer is declined, and the next one tried,
/// when [`answer_offer`] refuses it: RFC 7692 §7 says a server MUST decline an offer with
/// an unknown parameter, an invalid value, a repeated parameter, or a configuration it does
/// not support.
///
/// ```
/// use sockeye_ws::deflate::negotiate::{DeflateConfig, negotiate_server};
/// use sockeye_ws::handshake::ExtensionOffer;
///
/// // The RFC 7692 §7.1.3 offer with a fallback; this server compresses with 10 bits at most.
/// let offers = ExtensionOffer::parse_list(
///     "permessage-deflate; client_max_window_bits; server_max_window_bits=10, \
///      permessage-deflate; client_max_window_bits",
/// )?;
/// let config = DeflateConfig::builder().server_max_window_bits(10).build()?;
/// let agreement = negotiate_server(&offers, &config).unwrap();
/// assert_eq!(agreement.response.to_string(), "permessage-deflate; server_max_window_bits=10");
///
/// // A repeated parameter declines the first offer; the plain one is taken.
/// let offers = ExtensionOffer::parse_list(
///     "permessage-deflate; server_no_context_takeover; server_no_context_takeover, \
///      permessage-deflate",
/// )?;
/// let agreement = negotiate_server(&offers, &DeflateConfig::default()).unwrap();
/// assert_eq!(agreement.response.to_string(), "permessage-deflate");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn negotiate_server(offers: &[ExtensionOffer], config: &DeflateConfig) -> Option<Agreement> {
    offers
        .iter()
        .filter(|offer| offer.name == EXTENSION_NAME)
        .find_map(|offer| answer_offer(offer, config).ok())
}

/// The server side for one offer: the agreement, or why the offer is declined.
///
/// The answer grants what the client requested and adds what `config` asks of its own
/// accord:
///
/// - `server_no_context_takeover` when requested (RFC 7692 §7.1.1.1: a server accepts the
///   request by including it) or configured (allowed even if not requested);
/// - `client_no_context_takeover` when configured, or echoed when the client offered it
///   as a hint (§7.1.1.2 allows either);
/// - `server_max_window_bits` as the smaller of the client's request and the configured
///   window; included whenever requested (§7.1.2.1: the same or a smaller value), and when
///   not requested if the configured window is below 15;
/// - `client_max_window_bits` only if the client offered it (§7.1.2.2: the server MUST NOT
///   include it otherwise), as the smaller of the client's value and the configured one;
///   left out when the client offered it bare and the configured window is 15.
///
/// # Errors
///
/// [`NegotiationError::NotPermessageDeflate`] for another extension; an unknown,
/// repeated or misvalued parameter (RFC 7692 §7: MUST decline);
/// [`NegotiationError::Required`] when `client_max_window_bits` is required and absent.
pub fn answer_offer(
    offer: &ExtensionOffer,
    config: &DeflateConfig,
) -> Result<Agreement, NegotiationError> {
    if offer.name != EXTENSION_NAME {
        return Err(NegotiationError::NotPermessageDeflate);
    }
    let offered = Params::parse(&offer.params, Side::Offer)?;

    let server_no_context_takeover =
        offered.server_no_context_takeover || config.server_no_context_takeover;
    let client_no_context_takeover =
        offered.client_no_context_takeover || config.client_no_context_takeover;
    let server_max_window_bits = offered
        .server_max_window_bits
        .unwrap_or(MAX_WINDOW_BITS)
        .min(config.server_max_window_bits);
    let client_max_window_bits = match offered.client_max_window_bits {
        None if config.require_client_max_window_bits => {
            return Err(NegotiationError::Required {
                parameter: Parameter::ClientMaxWindowBits,
            });
        }
        None => None,
        Some(value) => Some(
            value
                .unwrap_or(MAX_WINDOW_BITS)
                .min(config.client_max_window_bits),
        ),
    };

    let answer = Params {
        server_no_context_takeover,
        client_no_context_takeover,
        server_max_window_bits: (offered.server_max_window_bits.is_some()
            || server_max_window_bits < MAX_WINDOW_BITS)
            .then_some(server_max_window_bits),
        // RFC 7692 §7.1.2.2: MUST NOT answer client_max_window_bits unless offered.
        client_max_window_bits: client_max_window_bits
            .filter(|&bits| {
                bits < MAX_WINDOW_BITS || matches!(offered.client_max_window_bits, Some(Some(_)))
            })
            .map(Some),
    };
    Ok(Agreement {
        params: DeflateParams {
            server_no_context_takeover,
            client_no_context_takeover,
            server_max_window_bits,
            client_max_window_bits: client_max_window_bits.unwrap_or(MAX_WINDOW_BITS),
        },
        response: answer.to_element(),
    })
}

/// The client side: the `permessage-deflate` offers to send, in order of preference; pass
/// each to [`ClientRequest::with_extension`](crate::handshake::ClientRequest::with_extension).
///
/// The main offer carries `server_no_context_takeover` and `server_max_window_bits` when
/// configured, `client_no_context_takeover` when configured, and always
/// `client_max_window_bits`, bare when the client window is 15 (RFC 7692 §7.1.2.2: it tells
/// the server the client supports the parameter) or with the configured value. With
/// [`fallback_offer`](DeflateConfigBuilder::fallback_offer), and if the main offer requests
/// something of the server, the same offer without those requests follows (the RFC 7692
/// §7.1.3 example).
///
/// ```
/// use sockeye_ws::deflate::negotiate::{DeflateConfig, client_offers};
/// use sockeye_ws::handshake::ExtensionOffer;
///
/// let config = DeflateConfig::builder()
///     .server_max_window_bits(10)
///     .fallback_offer(true)
///     .build()?;
/// assert_eq!(
///     ExtensionOffer::format_list(&client_offers(&config)),
///     "permessage-deflate; server_max_window_bits=10; client_max_window_bits, \
///      permessage-deflate; client_max_window_bits"
/// );
/// # Ok::<(), sockeye_ws::deflate::negotiate::DeflateConfigError>(())
/// ```
pub fn client_offers(config: &DeflateConfig) -> Vec<ExtensionOffer> {
    let client_max_window_bits = Some(
        (config.client_max_window_bits < MAX_WINDOW_BITS).then_some(config.client_max_window_bits),
    );
    let main = Params {
        server_no_context_takeover: config.server_no_context_takeover,
        client_no_context_takeover: config.client_no_context_takeover,
        server_max_window_bits: (config.server_max_window_bits < MAX_WINDOW_BITS)
            .then_some(config.server_max_window_bits),
        client_max_window_bits,
    };
    let requests_of_server =
        main.server_no_context_takeover || main.server_max_window_bits.is_some();
    let mut offers = vec![main.to_element()];
    if config.fallback_offer && requests_of_server {
        let fallback = Params {
            server_no_context_takeover: false,
            server_max_window_bits: None,
            ..main
        };
        offers.push(fallback.to_element());
    }
    offers
}

/// The client side: checks the server's answer (`Accepted::extensions()`) against the
/// offers `config` makes ([`client_offers`]) and gives the parameters to use; `Ok(None)`
/// when the server did not agree to permessage-deflate.
///
/// The answer must match one of the offers ([`check_response`]); with several offers the
/// first it matches gives the parameters.
///
/// # Errors
///
/// Any [`NegotiationError`]; RFC 7692 §7 says the client MUST then _Fail the WebSocket
/// Connection_. Among them: [`DuplicateExtension`](NegotiationError::DuplicateExtension)
/// when permessage-deflate is answered twice, and, when the answer matches no offer, the
/// reason it does not match the first.
pub fn negotiate_client(
    response: &[ExtensionOffer],
    config: &DeflateConfig,
) -> Result<Option<DeflateParams>, NegotiationError> {
    let mut answers = response.iter().filter(|e| e.name == EXTENSION_NAME);
    let Some(answer) = answers.next() else {
        return Ok(None);
    };
    let extra = answers.count();
    if extra > 0 {
        return Err(NegotiationError::DuplicateExtension { count: extra + 1 });
    }
    let mut first_error = None;
    for offer in client_offers(config) {
        match check_response(answer, &offer) {
            Ok(params) => return Ok(Some(params)),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    // client_offers always gives at least one offer, so an error was recorded.
    Err(first_error.unwrap_or(NegotiationError::InvalidOffer))
}

/// The client side for one offer: checks that `response`, a `permessage-deflate` element of
/// the server's answer, is a valid answer to `offer`, and gives the parameters both ends
/// use.
///
/// The answer may only carry the four parameters, once each, with valid values (RFC 7692
/// §7); it must grant a requested `server_no_context_takeover` (§7.1.1.1) and a requested
/// `server_max_window_bits`, with the same or a smaller value (§7.1.2.1); it may carry
/// `client_max_window_bits` only if offered (§7.1.2.2), with a value no larger than the
/// one offered. It may add `server_no_context_takeover`, `client_no_context_takeover`
/// (which the client MUST support, §7.1.1.2) and `server_max_window_bits` of its own
/// accord. The client keeps its own hints: a `client_no_context_takeover` or
/// `client_max_window_bits=N` it offered binds it even when the answer omits them.
///
/// # Errors
///
/// The [`NegotiationError`] that makes the answer invalid;
/// [`InvalidOffer`](NegotiationError::InvalidOffer) when `offer` itself is not a valid
/// permessage-deflate offer.
pub fn check_response(
    response: &ExtensionOffer,
    offer: &ExtensionOffer,
) -> Result<DeflateParams, NegotiationError> {
    if response.name != EXTENSION_NAME {
        return Err(NegotiationError::NotPermessageDeflate);
    }
    let offered = match Params::parse(&offer.params, Side::Offer) {
        Ok(p) if offer.name == EXTENSION_NAME => p,
        _ => return Err(NegotiationError::InvalidOffer),
    };
    let answered = Params::parse(&response.params, Side::Response)?;

    // RFC 7692 §7.1.1.1: a server accepts the request by including the parameter.
    if offered.server_no_context_takeover && !answered.server_no_context_takeover {
        return Err(NegotiationError::NotGranted {
            parameter: Parameter::ServerNoContextTakeover,
        });
    }
    // RFC 7692 §7.1.2.1: ... by including it "with the same or smaller value".
    let server_max_window_bits = match (
        offered.server_max_window_bits,
        answered.server_max_window_bits,
    ) {
        (Some(_), None) => {
            return Err(NegotiationError::NotGranted {
                parameter: Parameter::ServerMaxWindowBits,
            });
        }
        (Some(offered), Some(answered)) if answered > offered => {
            return Err(NegotiationError::WindowTooLarge {
                parameter: Parameter::ServerMaxWindowBits,
                offered,
                answered,
            });
        }
        (_, answered) => answered.unwrap_or(MAX_WINDOW_BITS),
    };
    // Responses always carry a value (Side::Response), hence the flattening.
    let client_max_window_bits = match (
        offered.client_max_window_bits,
        answered.client_max_window_bits.flatten(),
    ) {
        // RFC 7692 §7.1.2.2: the server MUST NOT answer it unless offered.
        (None, Some(_)) => {
            return Err(NegotiationError::NotOffered {
                parameter: Parameter::ClientMaxWindowBits,
            });
        }
        (None, None) => MAX_WINDOW_BITS,
        // §7.1.2.2: the server answers "equal to or smaller than the received value".
        (Some(Some(offered)), Some(answered)) if answered > offered => {
            return Err(NegotiationError::WindowTooLarge {
                parameter: Parameter::ClientMaxWindowBits,
                offered,
                answered,
            });
        }
        (Some(_), Some(answered)) => answered,
        // Our own hint binds us; without one, the server can take a 15-bit window.
        (Some(hint), None) => hint.unwrap_or(MAX_WINDOW_BITS),
    };
    Ok(DeflateParams {
        server_no_context_takeover: answered.server_no_context_takeover,
        client_no_context_takeover: answered.client_no_context_takeover
            || offered.client_no_context_takeover,
        server_max_window_bits,
        client_max_window_bits,
    })
}

impl Default for DeflateConfig {
    fn default() -> Self {
        Self {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
            require_client_max_window_bits: false,
            fallback_offer: false,
            level: 7,
            mem_level: 8,
            threshold: 1024,
        }
    }
}

impl DeflateConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> DeflateConfigBuilder {
        DeflateConfigBuilder {
            config: Self::default(),
        }
    }

    /// Whether the server resets its compressor after each message: a server requests it
    /// of its own accord, a client asks the server for it.
    pub fn server_no_context_takeover(&self) -> bool {
        self.server_no_context_takeover
    }

    /// Whether the client resets its compressor after each message: a server imposes it, a
    /// client does it and says so.
    pub fn client_no_context_takeover(&self) -> bool {
        self.client_no_context_takeover
    }

    /// The largest server window, 8–15 bits: what a server compresses with at most, what a
    /// client asks the server for when below 15.
    pub fn server_max_window_bits(&self) -> u8 {
        self.server_max_window_bits
    }

    /// The largest client window, 8–15 bits: what a server imposes on clients that support
    /// the parameter, what a client compresses with at most.
    pub fn client_max_window_bits(&self) -> u8 {
        self.client_max_window_bits
    }

    /// Whether a server declines offers without `client_max_window_bits`.
    pub fn require_client_max_window_bits(&self) -> bool {
        self.require_client_max_window_bits
    }

    /// Whether a client adds a fallback offer without its requests of the server.
    pub fn fallback_offer(&self) -> bool {
        self.fallback_offer
    }

    /// The compression level, 0 (store) to 9 (best).
    pub fn level(&self) -> u32 {
        self.level
    }

    /// The compressor's memory level, 1 (least memory) to 9.
    pub fn mem_level(&self) -> u8 {
        self.mem_level
    }

    /// Messages shorter than this many bytes are sent uncompressed.
    pub fn threshold(&self) -> usize {
        self.threshold
    }
}

impl DeflateConfigBuilder {
    /// As a server, reset the compressor after every message even when the client does not
    /// ask; as a client, ask the server to (RFC 7692 §7.1.1.1).
    pub fn server_no_context_takeover(mut self, on: bool) -> Self {
        self.config.server_no_context_takeover = on;
        self
    }

    /// As a server, make clients reset their compressor after every message; as a client,
    /// reset ours and say so in the offer (RFC 7692 §7.1.1.2).
    pub fn client_no_context_takeover(mut self, on: bool) -> Self {
        self.config.client_no_context_takeover = on;
        self
    }

    /// The largest server window, 8–15 bits (default 15). A server never compresses with a
    /// larger window, and answers the smaller of this and the client's request; a client
    /// below 15 asks for it with `server_max_window_bits` (RFC 7692 §7.1.2.1).
    pub fn server_max_window_bits(mut self, bits: u8) -> Self {
        self.config.server_max_window_bits = bits;
        self
    }

    /// The largest client window, 8–15 bits (default 15). A server imposes it on clients
    /// that offer `client_max_window_bits`; a client compresses with at most this and
    /// offers it as the parameter's value when below 15 (RFC 7692 §7.1.2.2).
    pub fn client_max_window_bits(mut self, bits: u8) -> Self {
        self.config.client_max_window_bits = bits;
        self
    }

    /// As a server, decline offers without `client_max_window_bits`, whose senders may use
    /// a 15-bit window whatever [`client_max_window_bits`](Self::client_max_window_bits)
    /// says (default off: such offers are accepted; ws declines them when a client window
    /// is configured, python-websockets only when asked to).
    pub fn require_client_max_window_bits(mut self, on: bool) -> Self {
        self.config.require_client_max_window_bits = on;
        self
    }

    /// As a client, follow the main offer with one without `server_no_context_takeover`
    /// and `server_max_window_bits`, for servers that decline those requests (default off;
    /// RFC 7692 §7.1.3). The fallback may then give a 15-bit server window.
    pub fn fallback_offer(mut self, on: bool) -> Self {
        self.config.fallback_offer = on;
        self
    }

    /// The compression level, 0–9 (default 7, which compresses as zlib's default 6 does;
    /// see [Levels](DeflateConfig#levels)).
    pub fn level(mut self, level: u32) -> Self {
        self.config.level = level;
        self
    }

    /// The compressor's memory level, 1–9 (default 8, zlib's). See the memory presets on
    /// [`DeflateConfig`].
    pub fn mem_level(mut self, level: u8) -> Self {
        self.config.mem_level = level;
        self
    }

    /// Messages shorter than `bytes` are sent uncompressed (default 1024, like ws); 0
    /// compresses every message.
    pub fn threshold(mut self, bytes: usize) -> Self {
        self.config.threshold = bytes;
        self
    }

    /// Sets both windows to `window_bits` and the memory level to `window_bits` − 7 (at
    /// least 1), a row of the memory preset table on [`DeflateConfig`]. A window outside
    /// 8–15 is refused by [`build`](Self::build).
    pub fn memory_preset(mut self, window_bits: u8) -> Self {
        self.config.server_max_window_bits = window_bits;
        self.config.client_max_window_bits = window_bits;
        self.config.mem_level = window_bits.saturating_sub(7).max(1);
        self
    }

    /// Checks the values and builds the configuration.
    ///
    /// # Errors
    ///
    /// [`DeflateConfigError::WindowBits`] for a window outside 8–15 (RFC 7692 §7.1.2),
    /// [`DeflateConfigError::Level`] above 9, [`DeflateConfigError::MemLevel`] outside 1–9.
    pub fn build(self) -> Result<DeflateConfig, DeflateConfigError> {
        let c = self.config;
        for (parameter, value) in [
            (Parameter::ServerMaxWindowBits, c.server_max_window_bits),
            (Parameter::ClientMaxWindowBits, c.client_max_window_bits),
        ] {
            if !(MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&value) {
                return Err(DeflateConfigError::WindowBits { parameter, value });
            }
        }
        if c.level > 9 {
            return Err(DeflateConfigError::Level { value: c.level });
        }
        if !(1..=9).contains(&c.mem_level) {
            return Err(DeflateConfigError::MemLevel { value: c.mem_level });
        }
        Ok(c)
    }
}

impl Parameter {
    /// The parameter's name on the wire, such as `server_max_window_bits`.
    pub fn name(self) -> &'static str {
        match self {
            Self::ServerNoContextTakeover => "server_no_context_takeover",
            Self::ClientNoContextTakeover => "client_no_context_takeover",
            Self::ServerMaxWindowBits => "server_max_window_bits",
            Self::ClientMaxWindowBits => "client_max_window_bits",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [
            Self::ServerNoContextTakeover,
            Self::ClientNoContextTakeover,
            Self::ServerMaxWindowBits,
            Self::ClientMaxWindowBits,
        ]
        .into_iter()
        .find(|p| p.name() == name)
    }
}

impl fmt::Display for Parameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which element a parameter list belongs to: only an offer may carry a bare
/// `client_max_window_bits` (RFC 7692 §7.1.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Offer,
    Response,
}

/// The parameters of one element, each checked once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: present without a value (offers only).
    client_max_window_bits: Option<Option<u8>>,
}

impl Params {
    /// Parses and checks an element's parameters (RFC 7692 §7: unknown, repeated and
    /// misvalued parameters make the element invalid).
    fn parse(params: &[(String, Option<String>)], side: Side) -> Result<Self, NegotiationError> {
        let mut out = Self::default();
        let mut seen = 0u8;
        for (name, value) in params {
            let Some(parameter) = Parameter::from_name(name) else {
                return Err(NegotiationError::UnknownParameter { name: name.clone() });
            };
            // RFC 7692 §7: "multiple extension parameters with the same name".
            let bit = 1u8 << parameter as u8;
            if seen & bit != 0 {
                return Err(NegotiationError::DuplicateParameter { parameter });
            }
            seen |= bit;
            let value = value.as_deref();
            match parameter {
                // RFC 7692 §7.1.1.1, §7.1.1.2: these parameters have no value.
                Parameter::ServerNoContextTakeover | Parameter::ClientNoContextTakeover => {
                    if value.is_some() {
                        return Err(NegotiationError::UnexpectedValue { parameter });
                    }
                    if parameter == Parameter::ServerNoContextTakeover {
                        out.server_no_context_takeover = true;
                    } else {
                        out.client_no_context_takeover = true;
                    }
                }
                // RFC 7692 §7.1.2.1: always a value.
                Parameter::ServerMaxWindowBits => {
                    let value = value.ok_or(NegotiationError::MissingValue { parameter })?;
                    out.server_max_window_bits = Some(window_bits(parameter, value)?);
                }
                // RFC 7692 §7.1.2.2: bare in an offer; a response has a value.
                Parameter::ClientMaxWindowBits => {
                    out.client_max_window_bits = Some(match value {
                        Some(value) => Some(window_bits(parameter, value)?),
                        None if side == Side::Offer => None,
                        None => return Err(NegotiationError::MissingValue { parameter }),
                    });
                }
            }
        }
        Ok(out)
    }

    /// The `permessage-deflate` element with these parameters, in the RFC's order.
    fn to_element(self) -> ExtensionOffer {
        let mut element = ExtensionOffer::new(EXTENSION_NAME);
        if self.server_no_context_takeover {
            element = element.with_param(Parameter::ServerNoContextTakeover.name());
        }
        if self.client_no_context_takeover {
            element = element.with_param(Parameter::ClientNoContextTakeover.name());
        }
        if let Some(bits) = self.server_max_window_bits {
            element =
                element.with_param_value(Parameter::ServerMaxWindowBits.name(), bits.to_string());
        }
        match self.client_max_window_bits {
            None => {}
            Some(None) => element = element.with_param(Parameter::ClientMaxWindowBits.name()),
            Some(Some(bits)) => {
                element = element
                    .with_param_value(Parameter::ClientMaxWindowBits.name(), bits.to_string());
            }
        }
        element
    }
}

/// A window size value: RFC 7692 §7.1.2.1 and §7.1.2.2 say "a decimal integer value without
/// leading zeroes between 8 to 15, inclusive" (`1*DIGIT`).
fn window_bits(parameter: Parameter, value: &str) -> Result<u8, NegotiationError> {
    let bits = match value {
        "8" => 8,
        "9" => 9,
        "10" => 10,
        "11" => 11,
        "12" => 12,
        "13" => 13,
        "14" => 14,
        "15" => 15,
        _ => {
            return Err(NegotiationError::InvalidValue {
                parameter,
                value: value.to_owned(),
            });
        }
    };
    Ok(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offers(s: &str) -> Vec<ExtensionOffer> {
        ExtensionOffer::parse_list(s).unwrap()
    }

    fn one(s: &str) -> ExtensionOffer {
        let mut v = offers(s);
        assert_eq!(v.len(), 1, "{s}");
        v.remove(0)
    }

    fn server(s: &str, config: &DeflateConfig) -> Option<String> {
        negotiate_server(&offers(s), config).map(|a| a.response.to_string())
    }

    fn params(snct: bool, cnct: bool, s: u8, c: u8) -> DeflateParams {
        DeflateParams {
            server_no_context_takeover: snct,
            client_no_context_takeover: cnct,
            server_max_window_bits: s,
            client_max_window_bits: c,
        }
    }

    // --- §7: what makes an element invalid ------------------------------------------------

    #[test]
    fn rfc7692_7_offer_with_bad_parameters_is_declined() {
        let d = DeflateConfig::default();
        let cases: &[(&str, NegotiationError)] = &[
            (
                "permessage-deflate; foo",
                NegotiationError::UnknownParameter { name: "foo".into() },
            ),
            (
                "permessage-deflate; Server_No_Context_Takeover",
                NegotiationError::UnknownParameter {
                    name: "Server_No_Context_Takeover".into(),
                },
            ),
            (
                "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
                NegotiationError::DuplicateParameter {
                    parameter: Parameter::ClientMaxWindowBits,
                },
            ),
            (
                "permessage-deflate; server_no_context_takeover=1",
                NegotiationError::UnexpectedValue {
                    parameter: Parameter::ServerNoContextTakeover,
                },
            ),
            (
                "permessage-deflate; server_max_window_bits",
                NegotiationError::MissingValue {
                    parameter: Parameter::ServerMaxWindowBits,
                },
            ),
            (
                "permessage-deflate; server_max_window_bits=08",
                NegotiationError::InvalidValue {
                    parameter: Parameter::ServerMaxWindowBits,
                    value: "08".into(),
                },
            ),
            (
                "permessage-deflate; client_max_window_bits=16",
                NegotiationError::InvalidValue {
                    parameter: Parameter::ClientMaxWindowBits,
                    value: "16".into(),
                },
            ),
            (
                "x-webkit-deflate-frame",
                NegotiationError::NotPermessageDeflate,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(answer_offer(&one(input), &d).as_ref(), Err(want), "{input}");
            assert_eq!(server(input, &d), None, "{input}");
        }
    }

    #[test]
    fn window_values_are_strict_decimals() {
        let p = Parameter::ServerMaxWindowBits;
        for v in 8..=15u8 {
            assert_eq!(window_bits(p, &v.to_string()), Ok(v));
        }
        for bad in [
            "",
            "0",
            "7",
            "16",
            "08",
            "015",
            "+9",
            "-9",
            "9.0",
            "0x9",
            "1e1",
            "٩",
            "99999999999999999999",
        ] {
            assert!(window_bits(p, bad).is_err(), "{bad:?}");
        }
    }

    // --- §7.1.1: context takeover ----------------------------------------------------------

    #[test]
    fn rfc7692_7_1_1_1_requested_server_no_context_takeover_is_granted() {
        let a = negotiate_server(
            &offers("permessage-deflate; server_no_context_takeover"),
            &DeflateConfig::default(),
        )
        .unwrap();
        assert_eq!(
            a.response.to_string(),
            "permessage-deflate; server_no_context_takeover"
        );
        assert_eq!(a.params, params(true, false, 15, 15));
    }

    #[test]
    fn rfc7692_7_1_1_server_adds_context_takeover_params_of_its_own_accord() {
        let config = DeflateConfig::builder()
            .server_no_context_takeover(true)
            .client_no_context_takeover(true)
            .build()
            .unwrap();
        let a = negotiate_server(&offers("permessage-deflate"), &config).unwrap();
        assert_eq!(
            a.response.to_string(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        );
        assert_eq!(a.params, params(true, true, 15, 15));
        // And the client accepts both unrequested (§7.1.1.1 MAY, §7.1.1.2 MUST support).
        assert_eq!(
            check_response(&a.response, &one("permessage-deflate")),
            Ok(a.params)
        );
    }

    #[test]
    fn rfc7692_7_1_1_2_client_hint_is_echoed_and_binds_the_client() {
        let a = negotiate_server(
            &offers("permessage-deflate; client_no_context_takeover"),
            &DeflateConfig::default(),
        )
        .unwrap();
        assert_eq!(
            a.response.to_string(),
            "permessage-deflate; client_no_context_takeover"
        );
        assert!(a.params.client_no_context_takeover);
        // A server that ignores the hint: the client keeps it.
        let p = check_response(
            &one("permessage-deflate"),
            &one("permessage-deflate; client_no_context_takeover"),
        )
        .unwrap();
        assert!(p.client_no_context_takeover);
    }

    // --- §7.1.2: window sizes --------------------------------------------------------------

    #[test]
    fn rfc7692_7_1_2_1_server_window_is_the_smaller_of_request_and_config() {
        let config = DeflateConfig::builder()
            .server_max_window_bits(12)
            .build()
            .unwrap();
        let cases = [
            (
                "permessage-deflate",
                "permessage-deflate; server_max_window_bits=12",
                12,
            ),
            (
                "permessage-deflate; server_max_window_bits=10",
                "permessage-deflate; server_max_window_bits=10",
                10,
            ),
            (
                "permessage-deflate; server_max_window_bits=14",
                "permessage-deflate; server_max_window_bits=12",
                12,
            ),
        ];
        for (offer, answer, bits) in cases {
            let a = negotiate_server(&offers(offer), &config).unwrap();
            assert_eq!(a.response.to_string(), answer);
            assert_eq!(a.params.server_max_window_bits, bits);
        }
        // A requested window is answered even when it is 15 (§7.1.2.1: accepting means
        // including the parameter).
        assert_eq!(
            server(
                "permessage-deflate; server_max_window_bits=15",
                &DeflateConfig::default()
            ),
            Some("permessage-deflate; server_max_window_bits=15".into())
        );
    }

    #[test]
    fn rfc7692_7_1_2_1_eight_bits_is_agreed() {
        let a = negotiate_server(
            &offers("permessage-deflate; server_max_window_bits=8"),
            &DeflateConfig::default(),
        )
        .unwrap();
        assert_eq!(
            a.response.to_string(),
            "permessage-deflate; server_max_window_bits=8"
        );
        assert_eq!(a.params.server_max_window_bits, 8);
    }

    #[test]
    fn rfc7692_7_1_2_2_client_window_only_if_offered() {
        let config = DeflateConfig::builder()
            .client_max_window_bits(10)
            .build()
            .unwrap();
        // Not offered: MUST NOT be answered; the client may use 15.
        let a = negotiate_server(&offers("permessage-deflate"), &config).unwrap();
        assert_eq!(a.response.to_string(), "permessage-deflate");
        assert_eq!(a.params.client_max_window_bits, 15);
        // Bare: the server imposes its limit.
        assert_eq!(
            server("permessage-deflate; client_max_window_bits", &config),
            Some("permessage-deflate; client_max_window_bits=10".into())
        );
        // A smaller hint is kept, a larger one lowered.
        assert_eq!(
            server("permessage-deflate; client_max_window_bits=9", &config),
            Some("permessage-deflate; client_max_window_bits=9".into())
        );
        assert_eq!(
            server("permessage-deflate; client_max_window_bits=12", &config),
            Some("permessage-deflate; client_max_window_bits=10".into())
        );
        // Bare with no limit configured: nothing to say.
        assert_eq!(
            server(
                "permessage-deflate; client_max_window_bits",
                &DeflateConfig::default()
            ),
            Some("permessage-deflate".into())
        );
        // A hint is echoed even at 15, so both ends read the same value.
        assert_eq!(
            server(
                "permessage-deflate; client_max_window_bits=15",
                &DeflateConfig::default()
            ),
            Some("permessage-deflate; client_max_window_bits=15".into())
        );
    }

    #[test]
    fn require_client_max_window_bits_declines_offers_without_it() {
        let config = DeflateConfig::builder()
            .client_max_window_bits(11)
            .require_client_max_window_bits(true)
            .build()
            .unwrap();
        assert_eq!(
            answer_offer(&one("permessage-deflate"), &config),
            Err(NegotiationError::Required {
                parameter: Parameter::ClientMaxWindowBits
            })
        );
        assert_eq!(
            server(
                "permessage-deflate, permessage-deflate; client_max_window_bits",
                &config
            ),
            Some("permessage-deflate; client_max_window_bits=11".into())
        );
    }

    // --- §7.1.3: the RFC's examples ----------------------------------------------------------

    #[test]
    fn rfc7692_7_1_3_examples() {
        let d = DeflateConfig::default();
        assert_eq!(
            server("permessage-deflate", &d),
            Some("permessage-deflate".into())
        );
        assert_eq!(
            server("permessage-deflate; client_max_window_bits", &d),
            Some("permessage-deflate".into())
        );
        let fallback = "permessage-deflate; client_max_window_bits; server_max_window_bits=10, \
                        permessage-deflate; client_max_window_bits";
        // This server supports the request: the first option.
        assert_eq!(
            server(fallback, &d),
            Some("permessage-deflate; server_max_window_bits=10".into())
        );
        // The client reads either answer of the example.
        let sent = offers(fallback);
        for (answer, window) in [
            ("permessage-deflate; server_max_window_bits=10", 10),
            ("permessage-deflate", 15),
        ] {
            let matched = sent
                .iter()
                .find_map(|o| check_response(&one(answer), o).ok());
            assert_eq!(matched.unwrap().server_max_window_bits, window, "{answer}");
        }
    }

    // --- client side -------------------------------------------------------------------------

    #[test]
    fn client_offers_follow_the_config() {
        let f = |c: DeflateConfigBuilder| {
            ExtensionOffer::format_list(&client_offers(&c.build().unwrap()))
        };
        assert_eq!(
            f(DeflateConfig::builder()),
            "permessage-deflate; client_max_window_bits"
        );
        assert_eq!(
            f(DeflateConfig::builder().fallback_offer(true)),
            "permessage-deflate; client_max_window_bits"
        );
        assert_eq!(
            f(DeflateConfig::builder()
                .server_no_context_takeover(true)
                .client_no_context_takeover(true)
                .server_max_window_bits(9)
                .client_max_window_bits(8)
                .fallback_offer(true)),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=9; client_max_window_bits=8, \
             permessage-deflate; client_no_context_takeover; client_max_window_bits=8"
        );
    }

    #[test]
    fn client_refuses_invalid_answers() {
        let config = DeflateConfig::builder()
            .server_no_context_takeover(true)
            .server_max_window_bits(10)
            .client_max_window_bits(12)
            .build()
            .unwrap();
        let cases: &[(&str, NegotiationError)] = &[
            (
                "permessage-deflate; server_max_window_bits=10",
                NegotiationError::NotGranted {
                    parameter: Parameter::ServerNoContextTakeover,
                },
            ),
            (
                "permessage-deflate; server_no_context_takeover",
                NegotiationError::NotGranted {
                    parameter: Parameter::ServerMaxWindowBits,
                },
            ),
            (
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=11",
                NegotiationError::WindowTooLarge {
                    parameter: Parameter::ServerMaxWindowBits,
                    offered: 10,
                    answered: 11,
                },
            ),
            (
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; \
                 client_max_window_bits=13",
                NegotiationError::WindowTooLarge {
                    parameter: Parameter::ClientMaxWindowBits,
                    offered: 12,
                    answered: 13,
                },
            ),
            (
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; \
                 client_max_window_bits",
                NegotiationError::MissingValue {
                    parameter: Parameter::ClientMaxWindowBits,
                },
            ),
            (
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; x",
                NegotiationError::UnknownParameter { name: "x".into() },
            ),
            (
                "permessage-deflate; server_no_context_takeover; server_no_context_takeover; \
                 server_max_window_bits=10",
                NegotiationError::DuplicateParameter {
                    parameter: Parameter::ServerNoContextTakeover,
                },
            ),
            (
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=10, \
                 permessage-deflate; server_no_context_takeover; server_max_window_bits=10",
                NegotiationError::DuplicateExtension { count: 2 },
            ),
        ];
        for (answer, want) in cases {
            assert_eq!(
                negotiate_client(&offers(answer), &config).as_ref(),
                Err(want),
                "{answer}"
            );
        }
        // Not offered at all: RFC 7692 §7.1.2.2 MUST NOT.
        assert_eq!(
            check_response(
                &one("permessage-deflate; client_max_window_bits=10"),
                &one("permessage-deflate")
            ),
            Err(NegotiationError::NotOffered {
                parameter: Parameter::ClientMaxWindowBits
            })
        );
        // No permessage-deflate in the answer: no compression, no error.
        assert_eq!(negotiate_client(&offers("other"), &config), Ok(None));
        assert_eq!(negotiate_client(&[], &config), Ok(None));
    }

    #[test]
    fn client_takes_what_the_server_adds() {
        let p = negotiate_client(
            &offers(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=8; client_max_window_bits=8",
            ),
            &DeflateConfig::default(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(p, params(true, true, 8, 8));
    }

    #[test]
    fn check_response_refuses_an_invalid_offer() {
        assert_eq!(
            check_response(&one("permessage-deflate"), &one("permessage-deflate; x")),
            Err(NegotiationError::InvalidOffer)
        );
        assert_eq!(
            check_response(&one("permessage-deflate"), &one("other")),
            Err(NegotiationError::InvalidOffer)
        );
    }

    // --- configuration -------------------------------------------------------------------------

    #[test]
    fn config_is_validated() {
        let b = DeflateConfig::builder;
        assert_eq!(
            b().server_max_window_bits(7).build(),
            Err(DeflateConfigError::WindowBits {
                parameter: Parameter::ServerMaxWindowBits,
                value: 7
            })
        );
        assert_eq!(
            b().client_max_window_bits(16).build(),
            Err(DeflateConfigError::WindowBits {
                parameter: Parameter::ClientMaxWindowBits,
                value: 16
            })
        );
        assert_eq!(
            b().level(10).build(),
            Err(DeflateConfigError::Level { value: 10 })
        );
        assert_eq!(
            b().mem_level(0).build(),
            Err(DeflateConfigError::MemLevel { value: 0 })
        );
        assert_eq!(
            b().mem_level(10).build(),
            Err(DeflateConfigError::MemLevel { value: 10 })
        );
        assert!(b().memory_preset(16).build().is_err());
        let c = b().memory_preset(8).build().unwrap();
        assert_eq!(
            (
                c.server_max_window_bits(),
                c.client_max_window_bits(),
                c.mem_level()
            ),
            (8, 8, 1)
        );
        let d = DeflateConfig::default();
        assert_eq!((d.level(), d.mem_level(), d.threshold()), (7, 8, 1024));
        assert_eq!(b().build(), Ok(d));
    }

    #[test]
    fn errors_read_lowercase() {
        let e = NegotiationError::WindowTooLarge {
            parameter: Parameter::ServerMaxWindowBits,
            offered: 10,
            answered: 12,
        };
        assert_eq!(
            e.to_string(),
            "server_max_window_bits of 12 exceeds the 10 offered"
        );
        let e = DeflateConfigError::WindowBits {
            parameter: Parameter::ClientMaxWindowBits,
            value: 7,
        };
        assert_eq!(
            e.to_string(),
            "client_max_window_bits must be 8 to 15, not 7"
        );
    }
}
