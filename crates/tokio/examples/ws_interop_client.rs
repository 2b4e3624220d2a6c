//! Our client against a real peer's server (npm `ws`, Python `websockets`), for
//! `conformance/ws-interop.sh`.
//!
//! `cargo run -p sockeye-tokio --example ws_interop_client -- URL [--ca CERT.pem]
//! [--close-reason TEXT] [--deflate SET...]`
//!
//! `URL` is the server's root (`ws://127.0.0.1:PORT` or `wss://…`); `--ca` trusts that
//! certificate (and nothing else) for `wss://`; `--close-reason` is the reason the server
//! gives when it closes on `close-me`. The server is expected to behave like the scripts in
//! `conformance/ws-interop/` (and like the `ws_interop_server` example): echo, choose
//! `sockeye.test` when offered, refuse `/forbidden` with 403, and answer `close-me`,
//! `fragments-please`, `ping-me` and `last-close`.
//!
//! Prints one `PASS name` or `FAIL name: why` line per scenario and exits non-zero if any
//! failed. Each scenario runs on its own connection, bounded by a timeout.
//!
//! With `--deflate`, the remaining arguments are permessage-deflate parameter sets written
//! as in the extension header (`server_no_context_takeover; client_max_window_bits=9`, or
//! an empty string for none), and only those scenarios run, over `ws://`. For each set the
//! client connects to `/deflate?server_no_context_takeover&client_max_window_bits=9`
//! (the set as a query; the peer configures its permessage-deflate with it) offering the
//! same set, with every message compressed (threshold 0). It checks that both ends agreed
//! on exactly those parameters (ours from the connection, the peer's from its answer to
//! `deflate-params`), round-trips 48 messages (16 B to 64 KiB, JSON-like text and binary,
//! four rounds on one connection so context takeover matters), and counts RSV1 on every
//! data message in both directions from the frame headers on the wire (a tap on the
//! transport, `support/frame_tap.rs`).

use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "support/frame_tap.rs"]
mod frame_tap;

use frame_tap::{FrameCounts, FrameTap};
use futures_util::StreamExt;
use http::StatusCode;
use sockeye_tokio::Error;
use sockeye_tokio::sockeye_ws::deflate::{DeflateConfig, DeflateParams};
use sockeye_tokio::sockeye_ws::handshake::{
    ClientHandshake, ClientRequest, Progress, ResponseError,
};
use sockeye_tokio::sockeye_ws::{
    CloseCode, Config, Connection, DataKind, Event, Message, Transmit,
};
use sockeye_tokio::ws::{self, ClientOptions, MaybeTlsStream, WebSocketStream};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls::crypto::ring::default_provider;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

const SUBPROTOCOL: &str = "sockeye.test";
const TEXT: &str = "héllo wörld — ✓ 🦀 日本語";
const MIB: usize = 1 << 20;
const FRAGMENT_LEN: usize = 64 << 10;
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(15);

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Outcome = Result<(), String>;

#[derive(Debug)]
struct Peer {
    url: String,
    options: ClientOptions,
    close_reason: String,
    /// With `--deflate`: the parameter sets to run, and nothing else.
    deflate_sets: Option<Vec<ParamSet>>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let peer = match parse_args() {
        Ok(peer) => peer,
        Err(e) => {
            eprintln!("{e}");
            eprintln!(
                "usage: ws_interop_client URL [--ca CERT.pem] [--close-reason TEXT] \
                 [--deflate SET...]"
            );
            return std::process::ExitCode::from(2);
        }
    };
    let mut failed = 0;
    if let Some(sets) = &peer.deflate_sets {
        for set in sets {
            let name = format!("permessage-deflate: {set}");
            let outcome =
                match tokio::time::timeout(SCENARIO_TIMEOUT, deflate_set(&peer, set)).await {
                    Ok(outcome) => outcome,
                    Err(_) => Err(format!("timed out after {SCENARIO_TIMEOUT:?}")),
                };
            match outcome {
                Ok(detail) => println!("PASS {name} ({detail})"),
                Err(why) => {
                    failed += 1;
                    println!("FAIL {name}: {why}");
                }
            }
        }
        return if failed == 0 {
            std::process::ExitCode::SUCCESS
        } else {
            std::process::ExitCode::FAILURE
        };
    }
    macro_rules! scenario {
        ($name:literal, $run:expr) => {
            let outcome = match tokio::time::timeout(SCENARIO_TIMEOUT, $run).await {
                Ok(outcome) => outcome,
                Err(_) => Err(format!("timed out after {SCENARIO_TIMEOUT:?}")),
            };
            match outcome {
                Ok(()) => println!("PASS {}", $name),
                Err(why) => {
                    failed += 1;
                    println!("FAIL {}: {why}", $name);
                }
            }
        };
    }
    scenario!("subprotocol negotiated", subprotocol(&peer));
    scenario!("text round trip (non-ASCII)", text(&peer));
    scenario!("binary round trip", binary(&peer));
    scenario!(
        "fragmented 1 MiB text sent",
        fragmented_send(&peer, DataKind::Text)
    );
    scenario!(
        "fragmented 1 MiB binary sent",
        fragmented_send(&peer, DataKind::Binary)
    );
    scenario!(
        "fragmented 1 MiB binary received",
        fragmented_receive(&peer)
    );
    scenario!("our ping answered with the same payload", our_ping(&peer));
    scenario!("peer's ping answered", peer_ping(&peer));
    scenario!("close from client: code and reason", client_close(&peer));
    scenario!("close from server: code and reason", server_close(&peer));
    scenario!("rejected handshake: 403", rejected(&peer));
    if failed == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

fn parse_args() -> Result<Peer, String> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or("missing URL")?;
    let mut options = ClientOptions {
        handshake_timeout: Some(Duration::from_secs(5)),
        ..ClientOptions::default()
    };
    let mut close_reason = "bye".to_owned();
    let mut deflate_sets = None;
    while let Some(flag) = args.next() {
        if flag == "--deflate" {
            let sets = args.by_ref().map(|s| ParamSet::parse(&s));
            deflate_sets = Some(sets.collect::<Result<Vec<_>, _>>()?);
            break;
        }
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--ca" => options.tls = Some(trusting(&value)?),
            "--close-reason" => close_reason = value,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(Peer {
        url: url.trim_end_matches('/').to_owned(),
        options,
        close_reason,
        deflate_sets,
    })
}

/// A TLS configuration that trusts only the certificates in `path`.
fn trusting(path: &str) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| format!("{path}: {e}"))? {
        let cert = cert.map_err(|e| format!("{path}: {e}"))?;
        roots.add(cert).map_err(|e| format!("{path}: {e}"))?;
    }
    let config = ClientConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

impl Peer {
    fn request(&self, path: &str) -> Result<ClientRequest, String> {
        ClientRequest::new(&format!("{}{path}", self.url)).map_err(|e| e.to_string())
    }

    async fn open(&self) -> Result<Client, String> {
        let (client, _) = ws::connect_with(self.request("/")?, &self.options)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        Ok(client)
    }
}

async fn subprotocol(peer: &Peer) -> Outcome {
    let request = peer
        .request("/")?
        .with_protocol("chat.v9")
        .and_then(|r| r.with_protocol(SUBPROTOCOL))
        .map_err(|e| e.to_string())?;
    let (mut offered, accepted) = ws::connect_with(request, &peer.options)
        .await
        .map_err(|e| format!("connect offering chat.v9, {SUBPROTOCOL}: {e}"))?;
    expect_eq("protocol chosen", accepted.protocol(), Some(SUBPROTOCOL))?;
    close_normally(&mut offered).await?;
    let (mut plain, accepted) = ws::connect_with(peer.request("/")?, &peer.options)
        .await
        .map_err(|e| format!("connect offering nothing: {e}"))?;
    expect_eq("protocol without an offer", accepted.protocol(), None)?;
    close_normally(&mut plain).await
}

async fn text(peer: &Peer) -> Outcome {
    let mut client = peer.open().await?;
    send(&mut client, Message::from(TEXT)).await?;
    let echo = receive(&mut client).await?;
    expect_eq("echo", &echo, &Message::from(TEXT))?;
    close_normally(&mut client).await
}

async fn binary(peer: &Peer) -> Outcome {
    let data: Vec<u8> = (0..=255).collect();
    let mut client = peer.open().await?;
    send(&mut client, Message::from(data.clone())).await?;
    let echo = receive(&mut client).await?;
    expect_eq("echo", echo.as_bytes(), &data[..])?;
    expect_eq("echo kind", echo.kind(), DataKind::Binary)?;
    close_normally(&mut client).await
}

/// Sends a 1 MiB message in 64 KiB fragments with a ping between two of them; text is
/// three-byte characters, so fragments split characters.
async fn fragmented_send(peer: &Peer, kind: DataKind) -> Outcome {
    let data = match kind {
        DataKind::Text => "€".repeat(MIB / 3).into_bytes(),
        DataKind::Binary => (0..MIB).map(|i| (i % 253) as u8).collect(),
    };
    let mut client = peer.open().await?;
    let mut chunks = data.chunks(FRAGMENT_LEN).enumerate().peekable();
    while let Some((i, chunk)) = chunks.next() {
        let fin = chunks.peek().is_none();
        client
            .send_fragment(kind, chunk, fin)
            .await
            .map_err(|e| format!("fragment {i}: {e}"))?;
        if i == 0 {
            client
                .ping(b"between fragments")
                .await
                .map_err(|e| format!("ping: {e}"))?;
        }
    }
    let echo = receive(&mut client).await?;
    expect_eq("echo kind", echo.kind(), kind)?;
    expect_eq("echo length", echo.len(), data.len())?;
    if echo.as_bytes() != &data[..] {
        return Err("echo differs from what was sent".to_owned());
    }
    close_normally(&mut client).await
}

async fn fragmented_receive(peer: &Peer) -> Outcome {
    let mut client = peer.open().await?;
    send(&mut client, Message::from("fragments-please")).await?;
    let message = receive(&mut client).await?;
    let expected: Vec<u8> = (0..MIB).map(|i| (i % 251) as u8).collect();
    expect_eq("kind", message.kind(), DataKind::Binary)?;
    expect_eq("length", message.len(), expected.len())?;
    if message.as_bytes() != &expected[..] {
        return Err("content differs from the pattern".to_owned());
    }
    close_normally(&mut client).await
}

/// `WebSocketStream` swallows pongs, so this drives a Sans-IO `Connection` by hand to see
/// the pong's payload.
async fn our_ping(peer: &Peer) -> Outcome {
    let request = peer.request("/")?;
    let tcp = TcpStream::connect((request.host(), request.port()))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    if !request.is_secure() {
        return ping_raw(tcp, request).await;
    }
    let config = peer.options.tls.clone().ok_or("wss:// needs --ca")?;
    let name = ServerName::try_from(request.host().to_owned()).map_err(|e| e.to_string())?;
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| format!("tls: {e}"))?;
    ping_raw(tls, request).await
}

async fn ping_raw<S>(mut io: S, request: ClientRequest) -> Outcome
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let payload = "ping ✓ 125".as_bytes();
    let mut key = [0u8; 16];
    getrandom::fill(&mut key).map_err(|e| e.to_string())?;
    let mut handshake = ClientHandshake::new(request, key);
    io.write_all(&handshake.request_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 64 << 10];
    let leftover = loop {
        let n = io.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("eof during the handshake".to_owned());
        }
        match handshake
            .handle_data(&buf[..n])
            .map_err(|e| e.to_string())?
        {
            Progress::Partial => {}
            Progress::Complete { consumed, .. } => break buf[consumed..n].to_vec(),
        }
    };
    let masks = || {
        let mut mask = [0u8; 4];
        // Invariant: the OS RNG is available (the handshake key came from it).
        getrandom::fill(&mut mask).expect("os rng");
        mask
    };
    let mut conn = Connection::client(Config::default(), masks, Instant::now());
    conn.handle_data(Instant::now(), &leftover);
    conn.ping(payload).map_err(|e| e.to_string())?;
    let mut pong = None;
    let mut out = Vec::new();
    loop {
        while let Some(transmit) = conn.poll_transmit(&mut out) {
            match transmit {
                Transmit::Data { .. } => {
                    io.write_all(&out).await.map_err(|e| e.to_string())?;
                    out.clear();
                }
                Transmit::Shutdown => {
                    let _ = io.shutdown().await;
                }
            }
        }
        // Events may queue output (the Close below), so transmit again before reading.
        if let Some(event) = conn.poll_event() {
            match event {
                Event::Pong(data) if pong.is_none() => {
                    pong = Some(data);
                    conn.close(Instant::now(), CloseCode::NORMAL, "")
                        .map_err(|e| e.to_string())?;
                }
                Event::Closed { .. } => {
                    let pong = pong.ok_or("closed before a pong arrived")?;
                    return expect_eq("pong payload", &pong[..], payload);
                }
                _ => {}
            }
            continue;
        }
        let n = io.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            conn.handle_eof(Instant::now());
        } else {
            conn.handle_data(Instant::now(), &buf[..n]);
        }
    }
}

/// The peer pings us on `ping-me` and answers `pong ok` once our automatic pong arrived.
async fn peer_ping(peer: &Peer) -> Outcome {
    let mut client = peer.open().await?;
    send(&mut client, Message::from("ping-me")).await?;
    let answer = receive(&mut client).await?;
    expect_eq("answer", &answer, &Message::from("pong ok"))?;
    close_normally(&mut client).await
}

async fn client_close(peer: &Peer) -> Outcome {
    let reason = "bye from sockeye client ✓";
    let mut client = peer.open().await?;
    client
        .close(CloseCode(4002), reason)
        .await
        .map_err(|e| format!("close: {e}"))?;
    drain(&mut client).await?;
    let echoed = client.close_frame().ok_or("no Close frame came back")?;
    expect_eq("echoed code", echoed.code, CloseCode(4002))?;
    // The peer records the Close it saw once its side is over, which may trail ours.
    let expected = format!("4002 {reason}");
    let mut seen = String::new();
    for _ in 0..20 {
        let mut query = peer.open().await?;
        send(&mut query, Message::from("last-close")).await?;
        seen = match receive(&mut query).await? {
            Message::Text(t) => t.as_str().to_owned(),
            Message::Binary(_) => return Err("last-close answered in binary".to_owned()),
        };
        close_normally(&mut query).await?;
        if seen == expected {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("peer saw {seen:?}, expected {expected:?}"))
}

async fn server_close(peer: &Peer) -> Outcome {
    let mut client = peer.open().await?;
    send(&mut client, Message::from("close-me")).await?;
    drain(&mut client).await?;
    let frame = client.close_frame().ok_or("no Close frame arrived")?;
    expect_eq("code", frame.code, CloseCode(4001))?;
    expect_eq("reason", frame.reason.as_str(), peer.close_reason.as_str())
}

async fn rejected(peer: &Peer) -> Outcome {
    match ws::connect_with(peer.request("/forbidden")?, &peer.options).await {
        Err(Error::Response(ResponseError::UnexpectedStatus { status, .. })) => {
            expect_eq("status", status, StatusCode::FORBIDDEN)
        }
        Err(other) => Err(format!("expected UnexpectedStatus, got {other:?}")),
        Ok(_) => Err("the handshake succeeded".to_owned()),
    }
}

async fn send(client: &mut Client, message: Message) -> Outcome {
    client.send(message).await.map_err(|e| format!("send: {e}"))
}

async fn receive(client: &mut Client) -> Result<Message, String> {
    match client.next().await {
        Some(Ok(message)) => Ok(message),
        Some(Err(e)) => Err(format!("receive: {e}")),
        None => Err(format!(
            "the connection ended (close frame {:?})",
            client.close_frame()
        )),
    }
}

/// Reads until the stream ends; any message or error on the way is a failure.
async fn drain<S: AsyncRead + AsyncWrite + Unpin>(client: &mut WebSocketStream<S>) -> Outcome {
    match client.next().await {
        None => Ok(()),
        Some(Ok(m)) => Err(format!("unexpected message of {} bytes", m.len())),
        Some(Err(e)) => Err(format!("while closing: {e}")),
    }
}

async fn close_normally<S: AsyncRead + AsyncWrite + Unpin>(
    client: &mut WebSocketStream<S>,
) -> Outcome {
    client
        .close(CloseCode::NORMAL, "")
        .await
        .map_err(|e| format!("close: {e}"))?;
    drain(client).await?;
    let echoed = client.close_frame().ok_or("no Close frame came back")?;
    expect_eq("echoed close code", echoed.code, CloseCode::NORMAL)
}

/// A permessage-deflate parameter set: what the client offers and the peer's server is
/// configured with; a window left out is 15 bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct ParamSet {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    client_max_window_bits: Option<u8>,
}

impl ParamSet {
    /// Parses `name; name=value; …` (the extension header's parameter syntax).
    fn parse(text: &str) -> Result<Self, String> {
        let mut set = Self::default();
        for param in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = match param.split_once('=') {
                Some((name, value)) => (name.trim(), Some(value.trim())),
                None => (param, None),
            };
            let bits = || -> Result<u8, String> {
                value
                    .and_then(|v| v.parse().ok())
                    .filter(|b| (8..=15).contains(b))
                    .ok_or(format!("{param}: a window of 8 to 15 bits is needed"))
            };
            match name {
                "server_no_context_takeover" if value.is_none() => {
                    set.server_no_context_takeover = true;
                }
                "client_no_context_takeover" if value.is_none() => {
                    set.client_no_context_takeover = true;
                }
                "server_max_window_bits" => set.server_max_window_bits = Some(bits()?),
                "client_max_window_bits" => set.client_max_window_bits = Some(bits()?),
                _ => return Err(format!("unknown parameter set element {param:?}")),
            }
        }
        Ok(set)
    }

    /// The parameters, `name` or `name=value`, in header order.
    fn params(&self) -> Vec<String> {
        let mut params = Vec::new();
        if self.server_no_context_takeover {
            params.push("server_no_context_takeover".to_owned());
        }
        if self.client_no_context_takeover {
            params.push("client_no_context_takeover".to_owned());
        }
        if let Some(bits) = self.server_max_window_bits {
            params.push(format!("server_max_window_bits={bits}"));
        }
        if let Some(bits) = self.client_max_window_bits {
            params.push(format!("client_max_window_bits={bits}"));
        }
        params
    }

    /// The peer's resource for this set: `/deflate?name&name=value`.
    fn path(&self) -> String {
        match self.params() {
            p if p.is_empty() => "/deflate".to_owned(),
            p => format!("/deflate?{}", p.join("&")),
        }
    }

    /// Our client's configuration: it offers exactly this set and compresses everything.
    fn client_config(&self) -> Result<DeflateConfig, String> {
        DeflateConfig::builder()
            .server_no_context_takeover(self.server_no_context_takeover)
            .client_no_context_takeover(self.client_no_context_takeover)
            .server_max_window_bits(self.server_max_window_bits.unwrap_or(15))
            .client_max_window_bits(self.client_max_window_bits.unwrap_or(15))
            .threshold(0)
            .build()
            .map_err(|e| e.to_string())
    }

    /// The parameters both ends must agree on.
    fn expected(&self) -> DeflateParams {
        DeflateParams {
            server_no_context_takeover: self.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover,
            server_max_window_bits: self.server_max_window_bits.unwrap_or(15),
            client_max_window_bits: self.client_max_window_bits.unwrap_or(15),
        }
    }
}

impl std::fmt::Display for ParamSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.params() {
            p if p.is_empty() => f.write_str("no parameters"),
            p => f.write_str(&p.join("; ")),
        }
    }
}

/// Sizes of the messages of one round, each sent as text and as binary.
const DEFLATE_SIZES: [usize; 6] = [16, 64, 256, 1024, 16 << 10, 64 << 10];
/// Rounds of messages on one connection: later rounds compress against earlier ones when
/// context takeover is on, and must not when it is off.
const DEFLATE_ROUNDS: usize = 4;

/// One parameter set against a peer's server configured with it: negotiation, round trips
/// and RSV1 on the wire. On success, says how well each direction compressed.
async fn deflate_set(peer: &Peer, set: &ParamSet) -> Result<String, String> {
    let request = peer.request(&set.path())?;
    if request.is_secure() {
        return Err("--deflate runs over ws:// only".to_owned());
    }
    let options = ClientOptions {
        deflate: Some(set.client_config()?),
        ..peer.options.clone()
    };
    let tcp = TcpStream::connect((request.host(), request.port()))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let (mut client, _) = ws::client_handshake(FrameTap::new(tcp), request, &options)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let expected = set.expected();
    expect_eq(
        "parameters we agreed",
        client.connection().deflate_params(),
        Some(expected),
    )?;

    let corpus = deflate_corpus();
    let mut plain = 0;
    for (i, message) in corpus.iter().enumerate() {
        client
            .send(message.clone())
            .await
            .map_err(|e| format!("send {i}: {e}"))?;
        let echo = match client.next().await {
            Some(Ok(echo)) => echo,
            Some(Err(e)) => return Err(format!("message {i} ({} bytes): {e}", message.len())),
            None => return Err(format!("the connection ended before echo {i}")),
        };
        if &echo != message {
            return Err(format!(
                "echo {i} differs: {:?} of {} bytes, sent {:?} of {}",
                echo.kind(),
                echo.len(),
                message.kind(),
                message.len()
            ));
        }
        plain += message.len() as u64;
    }

    client
        .send(Message::from("deflate-params"))
        .await
        .map_err(|e| format!("send deflate-params: {e}"))?;
    let answer = match client.next().await {
        Some(Ok(Message::Text(t))) => t.as_str().to_owned(),
        other => return Err(format!("deflate-params answered with {other:?}")),
    };
    expect_eq(
        "parameters the peer agreed",
        answer.as_str(),
        params_json(&expected).as_str(),
    )?;

    // Every data message, the deflate-params exchange included, went in one frame with
    // RSV1 set.
    let messages = corpus.len() as u64 + 1;
    let (sent, received) = (client.get_ref().sent(), client.get_ref().received());
    for (direction, counts) in [("sent", sent), ("received", received)] {
        expect_eq(
            &format!("data messages {direction}, with RSV1, in frames"),
            (counts.messages, counts.compressed, counts.frames),
            (messages, messages, messages),
        )?;
    }
    close_normally(&mut client).await?;
    Ok(format!(
        "{} messages each way; on the wire: sent {}, received {}",
        corpus.len(),
        ratio(plain, sent),
        ratio(plain, received),
    ))
}

/// The messages of a parameter-set run: [`DEFLATE_ROUNDS`] rounds of every size in
/// [`DEFLATE_SIZES`], as JSON-like text and as binary.
fn deflate_corpus() -> Vec<Message> {
    let mut corpus = Vec::new();
    for _ in 0..DEFLATE_ROUNDS {
        for size in DEFLATE_SIZES {
            let seq = corpus.len() as u32;
            corpus.push(Message::from(json_text(seq, size)));
            corpus.push(Message::from(binary_records(seq + 1, size)));
        }
    }
    corpus
}

/// Chat-like JSON records, non-ASCII words included, cut to `size` bytes on a character
/// boundary and padded with spaces.
fn json_text(seq: u32, size: usize) -> String {
    const WORDS: [&str; 16] = [
        "hello",
        "héllo",
        "wörld",
        "✓",
        "deflate",
        "window",
        "context",
        "takeover",
        "frame",
        "日本語",
        "server",
        "client",
        "lobby",
        "typing",
        "sockeye",
        "upstream",
    ];
    let mut rng = XorShift(seq.wrapping_mul(2_654_435_761) | 1);
    let mut text = String::from("[");
    let mut id = 0;
    while text.len() < size {
        let words: Vec<&str> = (0..6).map(|_| WORDS[rng.below(16)]).collect();
        text.push_str(&format!(
            r#"{{"seq":{seq},"id":{id},"user":"user-{}","room":"room-{}","text":"{}"}},"#,
            rng.below(8),
            rng.below(3),
            words.join(" ")
        ));
        id += 1;
    }
    while text.len() > size {
        text.pop();
    }
    while text.len() < size {
        text.push(' ');
    }
    text
}

/// Telemetry-like records: a little-endian counter and four small readings with the high
/// bit set (so never UTF-8), in 8-byte records.
fn binary_records(seq: u32, size: usize) -> Vec<u8> {
    let mut rng = XorShift(seq.wrapping_mul(2_246_822_519) | 1);
    (0..size)
        .map(|j| match j % 8 {
            k @ 0..4 => ((j / 8) as u32 + seq).to_le_bytes()[k],
            _ => 0x80 | rng.below(16) as u8,
        })
        .collect()
}

/// xorshift32: deterministic content, no dependency.
struct XorShift(u32);

impl XorShift {
    fn below(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x as usize % n
    }
}

/// The JSON the peers answer `deflate-params` with.
fn params_json(p: &DeflateParams) -> String {
    format!(
        r#"{{"server_no_context_takeover":{},"client_no_context_takeover":{},"server_max_window_bits":{},"client_max_window_bits":{}}}"#,
        p.server_no_context_takeover,
        p.client_no_context_takeover,
        p.server_max_window_bits,
        p.client_max_window_bits,
    )
}

/// `payload bytes in compressed bytes (percent)`, for the corpus part of `counts`.
fn ratio(plain: u64, counts: FrameCounts) -> String {
    // The deflate-params exchange adds a few bytes; they are left in.
    let wire = counts.payload_bytes;
    format!(
        "{} KiB in {} KiB ({:.0} %)",
        plain / 1024,
        wire / 1024,
        wire as f64 * 100.0 / plain as f64
    )
}

fn expect_eq<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Outcome {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, expected {want:?}"))
    }
}
