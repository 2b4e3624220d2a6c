//! Scenario tests for the connection state machine, grouped by RFC 6455 section. Client and
//! server run back to back in memory (test-support's `Pair`) with simulated time.

use std::time::Duration;

use bytes::Bytes;
use sockeye_test_support::ws::{
    Pair, assert_sent_close, client_frame, drain, frames, raw_frame, start_time,
};
use sockeye_ws::frame::OpCode;
use sockeye_ws::{
    CloseCode, CloseFrame, Config, Connection, DataKind, Event, Message, ProtocolError, SendError,
    State, Transmit, Utf8Bytes,
};

fn text(s: &str) -> Event {
    Event::Message(Message::Text(Utf8Bytes::from(s)))
}

fn binary(b: &[u8]) -> Event {
    Event::Message(Message::Binary(Bytes::copy_from_slice(b)))
}

/// A server fed `input`, with every transmit and event drained.
struct Server {
    conn: Connection,
    sent: Vec<u8>,
    events: Vec<Event>,
    shut_down: bool,
}

impl Server {
    fn new(config: Config) -> Self {
        Self {
            conn: Connection::server(config, start_time()),
            sent: Vec::new(),
            events: Vec::new(),
            shut_down: false,
        }
    }

    fn feed(&mut self, input: &[u8]) -> &mut Self {
        let now = start_time();
        self.conn.handle_data(now, input);
        self.drain();
        self
    }

    fn drain(&mut self) {
        let (events, sent, shut_down) = drain(&mut self.conn);
        self.events.extend(events);
        self.sent.extend(sent);
        self.shut_down |= shut_down;
    }
}

fn server_fed(input: &[u8]) -> Server {
    let mut s = Server::new(Config::default());
    s.feed(input);
    s
}

#[track_caller]
fn assert_fails(input: &[u8], error: ProtocolError) {
    let s = server_fed(input);
    assert!(
        s.events.contains(&Event::Failed(error.clone())),
        "expected {error:?}, got {:?}",
        s.events
    );
    assert_sent_close(&s.sent, error.close_code());
    assert_eq!(s.events.last(), Some(&Event::Closed { clean: false }));
    assert!(s.shut_down, "server closes the transport after failing");
    assert_eq!(s.conn.state(), State::Closed);
}

mod rfc6455_5_1_masking {
    use super::*;

    #[test]
    fn server_refuses_unmasked_frames_with_1002() {
        assert_fails(&raw_frame(0x81, None, b"hi"), ProtocolError::UnmaskedFrame);
    }

    #[test]
    fn client_refuses_masked_frames_with_1002() {
        let mut p = Pair::default_config();
        p.client
            .conn
            .handle_data(p.now, &client_frame(0x81, b"masked"));
        p.run();
        assert!(
            p.client
                .events
                .contains(&Event::Failed(ProtocolError::MaskedFrame))
        );
        assert_sent_close(&p.client.sent, CloseCode::PROTOCOL_ERROR);
    }

    #[test]
    fn client_frames_are_masked_and_server_frames_are_not() {
        let mut p = Pair::default_config();
        p.client.conn.send_text("from client").unwrap();
        p.server.conn.send_text("from server").unwrap();
        p.run();
        assert!(frames(&p.client.sent).iter().all(|(h, _)| h.mask.is_some()));
        assert!(frames(&p.server.sent).iter().all(|(h, _)| h.mask.is_none()));
        assert_eq!(p.server.take_events(), vec![text("from client")]);
        assert_eq!(p.client.take_events(), vec![text("from server")]);
    }
}

mod rfc6455_5_2_framing {
    use super::*;

    #[test]
    fn reserved_opcodes_fail_with_1002() {
        for op in [3u8, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf] {
            assert_fails(
                &client_frame(0x80 | op, b""),
                ProtocolError::ReservedOpcode { opcode: op },
            );
        }
    }

    #[test]
    fn rsv_bits_without_extension_fail_with_1002() {
        for rsv in [0x40u8, 0x20, 0x10, 0x70] {
            assert_fails(&client_frame(0x81 | rsv, b"x"), ProtocolError::ReservedBits);
        }
    }

    #[test]
    fn length_with_top_bit_fails_with_1002() {
        let mut f = vec![0x82, 0xff];
        f.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 0, 1]);
        f.extend_from_slice(&[1, 2, 3, 4]);
        assert_fails(&f, ProtocolError::InvalidLength);
    }

    #[test]
    fn every_length_form_round_trips() {
        for len in [0usize, 1, 125, 126, 127, 65535, 65536, 200_000] {
            let mut p = Pair::default_config();
            let payload = vec![0xa5u8; len];
            p.client.conn.send_binary(&payload).unwrap();
            p.run();
            assert_eq!(p.server.take_events(), vec![binary(&payload)], "{len}");
        }
    }

    #[test]
    fn rfc6455_5_7_examples_decode() {
        // "A single-frame masked text message" and the unmasked one, read by each role.
        let masked = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        assert_eq!(server_fed(&masked).events, vec![text("Hello")]);
        let unmasked = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        let mut p = Pair::default_config();
        p.client.conn.handle_data(p.now, &unmasked);
        p.client.drain();
        assert_eq!(p.client.take_events(), vec![text("Hello")]);
        // "A fragmented unmasked text message".
        let mut p = Pair::default_config();
        p.client.conn.handle_data(
            p.now,
            &[0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f],
        );
        p.client.drain();
        assert_eq!(p.client.take_events(), vec![text("Hello")]);
    }
}

mod rfc6455_5_4_fragmentation {
    use super::*;

    #[test]
    fn fragments_reassemble_with_control_frames_interleaved() {
        let mut input = client_frame(0x01, b"Hel");
        input.extend(client_frame(0x89, b"ping!"));
        input.extend(client_frame(0x00, b"l"));
        input.extend(client_frame(0x8a, b"unsolicited"));
        input.extend(client_frame(0x80, b"o"));
        let s = server_fed(&input);
        assert_eq!(
            s.events,
            vec![
                Event::Ping(Bytes::from_static(b"ping!")),
                Event::Pong(Bytes::from_static(b"unsolicited")),
                text("Hello"),
            ]
        );
        let sent = frames(&s.sent);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].0.opcode, OpCode::Pong);
        assert_eq!(sent[0].1, b"ping!");
    }

    #[test]
    fn continuation_without_a_message_fails_with_1002() {
        assert_fails(
            &client_frame(0x80, b"x"),
            ProtocolError::UnexpectedContinuation,
        );
    }

    #[test]
    fn new_message_during_fragments_fails_with_1002() {
        let mut input = client_frame(0x01, b"a");
        input.extend(client_frame(0x82, b"b"));
        assert_fails(&input, ProtocolError::ExpectedContinuation);
    }

    #[test]
    fn sent_fragments_arrive_as_one_message() {
        let mut p = Pair::default_config();
        let euro = "€".as_bytes();
        p.client
            .conn
            .send_fragment(DataKind::Text, &euro[..1], false)
            .unwrap();
        p.client.conn.ping(b"between").unwrap();
        p.client
            .conn
            .send_fragment(DataKind::Text, &euro[1..], true)
            .unwrap();
        p.run();
        assert_eq!(
            p.server.take_events(),
            vec![Event::Ping(Bytes::from_static(b"between")), text("€")]
        );
        assert_eq!(
            p.client.take_events(),
            vec![Event::Pong(Bytes::from_static(b"between"))]
        );
    }

    #[test]
    fn fragment_misuse_is_refused_locally() {
        let mut p = Pair::default_config();
        let c = &mut p.client.conn;
        c.send_fragment(DataKind::Binary, b"a", false).unwrap();
        assert_eq!(c.send_text("x"), Err(SendError::FragmentInProgress));
        assert_eq!(
            c.send_fragment(DataKind::Text, b"x", true),
            Err(SendError::FragmentKindMismatch)
        );
        c.send_fragment(DataKind::Binary, b"b", true).unwrap();
        assert_eq!(
            c.send_fragment(DataKind::Text, b"\xff", true),
            Err(SendError::InvalidUtf8)
        );
        assert_eq!(
            c.send_fragment(DataKind::Text, b"\xe2\x82", true),
            Err(SendError::InvalidUtf8),
            "a cut character at the end of the message"
        );
        p.run();
        assert_eq!(p.server.take_events(), vec![binary(b"ab")]);
    }

    #[test]
    fn too_many_fragments_fail_with_1008() {
        let config = Config::builder().max_fragments(3).build().unwrap();
        let mut input = client_frame(0x01, b"");
        for _ in 0..2 {
            input.extend(client_frame(0x00, b""));
        }
        let mut s = Server::new(config.clone());
        s.feed(&input);
        assert!(s.events.is_empty(), "three fragments are within the limit");
        s.feed(&client_frame(0x00, b""));
        assert_eq!(
            s.events[0],
            Event::Failed(ProtocolError::TooManyFragments { limit: 3 })
        );
        assert_sent_close(&s.sent, CloseCode::POLICY_VIOLATION);
        // Exactly at the limit, the message completes.
        let mut input = client_frame(0x01, b"a");
        input.extend(client_frame(0x00, b"b"));
        input.extend(client_frame(0x80, b"c"));
        let mut s = Server::new(config);
        s.feed(&input);
        assert_eq!(s.events, vec![text("abc")]);
    }
}

mod rfc6455_5_5_control_frames {
    use super::*;

    #[test]
    fn control_frames_over_125_bytes_fail_with_1002() {
        assert_fails(
            &client_frame(0x89, &[0u8; 126]),
            ProtocolError::ControlFrameTooLong { len: 126 },
        );
    }

    #[test]
    fn fragmented_control_frames_fail_with_1002() {
        assert_fails(
            &client_frame(0x09, b"x"),
            ProtocolError::FragmentedControlFrame,
        );
    }

    #[test]
    fn ping_of_125_bytes_is_answered_with_the_same_payload() {
        let s = server_fed(&client_frame(0x89, &[7u8; 125]));
        let sent = frames(&s.sent);
        assert_eq!(sent[0].0.opcode, OpCode::Pong);
        assert_eq!(sent[0].1, vec![7u8; 125]);
    }

    #[test]
    fn every_ping_is_answered_up_to_the_queue_limit_then_the_newest() {
        // Autobahn 2.10: ten pings in a row, ten pongs expected.
        let mut input = Vec::new();
        for i in 0..10 {
            input.extend(client_frame(0x89, format!("payload-{i}").as_bytes()));
        }
        let s = server_fed(&input);
        let pongs: Vec<Vec<u8>> = frames(&s.sent).into_iter().map(|(_, p)| p).collect();
        let want: Vec<Vec<u8>> = (0..10)
            .map(|i| format!("payload-{i}").into_bytes())
            .collect();
        assert_eq!(pongs, want);

        // A flood beyond the limit costs bounded memory: the newest replaces the last.
        let config = Config::builder()
            .max_queued_control_frames(2)
            .build()
            .unwrap();
        let mut s = Server::new(config);
        let mut input = Vec::new();
        for i in 0..5u8 {
            input.extend(client_frame(0x89, &[i]));
        }
        s.conn.handle_data(start_time(), &input);
        // A driver that handles events without writing (say, a peer that does not read).
        while s.conn.poll_event().is_some() {}
        assert!(s.conn.buffered_amount() <= 2 * (6 + 1));
        s.drain();
        let pongs: Vec<Vec<u8>> = frames(&s.sent).into_iter().map(|(_, p)| p).collect();
        assert_eq!(pongs, vec![vec![0], vec![4]]);
    }

    #[test]
    fn auto_pong_can_be_turned_off() {
        let config = Config::builder().auto_pong(false).build().unwrap();
        let mut s = Server::new(config);
        s.feed(&client_frame(0x89, b"p"));
        assert!(s.sent.is_empty());
        assert_eq!(s.events, vec![Event::Ping(Bytes::from_static(b"p"))]);
        s.conn.pong(b"p").unwrap();
        s.drain();
        assert_eq!(frames(&s.sent)[0].0.opcode, OpCode::Pong);
    }

    #[test]
    fn control_payload_limits_are_local_errors() {
        let mut p = Pair::default_config();
        assert_eq!(
            p.client.conn.ping(&[0; 126]),
            Err(SendError::ControlTooLong { len: 126 })
        );
        assert_eq!(
            p.client
                .conn
                .close(p.now, CloseCode::NORMAL, &"x".repeat(124)),
            Err(SendError::ControlTooLong { len: 126 })
        );
        assert_eq!(
            p.client.conn.close(p.now, CloseCode::ABNORMAL, ""),
            Err(SendError::InvalidCloseCode { code: 1006 })
        );
        assert!(p.client.conn.is_open(), "refused commands change nothing");
    }
}

mod rfc6455_7_closing {
    use super::*;

    #[test]
    fn client_initiated_close_echoes_code_and_server_closes_tcp_first() {
        let mut p = Pair::default_config();
        p.client
            .conn
            .close(p.now, CloseCode::GOING_AWAY, "bye")
            .unwrap();
        assert_eq!(p.client.conn.state(), State::CloseSent);
        p.run();
        assert_eq!(
            p.server.take_events(),
            vec![
                Event::Close(CloseFrame {
                    code: CloseCode::GOING_AWAY,
                    reason: Utf8Bytes::from("bye")
                }),
                Event::Closed { clean: true },
            ]
        );
        assert_sent_close(&p.server.sent, CloseCode::GOING_AWAY);
        assert!(p.server.shut_down);
        assert_eq!(
            p.client.take_events(),
            vec![
                Event::Close(CloseFrame {
                    code: CloseCode::GOING_AWAY,
                    reason: Utf8Bytes::new()
                }),
                Event::Closed { clean: true },
            ]
        );
        assert!(
            p.client.shut_down,
            "client shuts down after the server's EOF"
        );
        assert!(p.client.conn.is_closed() && p.server.conn.is_closed());
        assert_eq!(p.client.conn.poll_timeout(), None);
    }

    #[test]
    fn server_initiated_close_waits_for_the_client() {
        let mut p = Pair::default_config();
        p.server.conn.close(p.now, CloseCode::NORMAL, "").unwrap();
        p.server.drain();
        assert!(!p.server.shut_down, "server waits for the client's Close");
        p.run();
        assert_eq!(
            p.server.take_events(),
            vec![
                Event::Close(CloseFrame {
                    code: CloseCode::NORMAL,
                    reason: Utf8Bytes::new()
                }),
                Event::Closed { clean: true },
            ]
        );
        assert!(p.client.conn.is_closed());
        assert_eq!(p.client.events.last(), Some(&Event::Closed { clean: true }));
    }

    #[test]
    fn messages_after_our_close_are_still_delivered() {
        let mut p = Pair::default_config();
        p.server.conn.close(p.now, CloseCode::NORMAL, "").unwrap();
        p.client.conn.send_text("late").unwrap();
        p.run();
        assert_eq!(p.server.events[0], text("late"));
        assert_eq!(p.server.conn.send_text("x"), Err(SendError::Closed));
    }

    #[test]
    fn empty_close_is_echoed_empty() {
        let s = server_fed(&client_frame(0x88, b""));
        assert_eq!(
            s.events[0],
            Event::Close(CloseFrame {
                code: CloseCode::NO_STATUS_RECEIVED,
                reason: Utf8Bytes::new()
            })
        );
        let sent = frames(&s.sent);
        assert_eq!(sent[0].0.opcode, OpCode::Close);
        assert!(sent[0].1.is_empty());
    }

    #[test]
    fn close_timeout_ends_an_unanswered_close() {
        let mut p = Pair::default_config();
        p.server.conn.close(p.now, CloseCode::NORMAL, "").unwrap();
        p.server.drain(); // the client never sees it
        let deadline = p.server.conn.poll_timeout().unwrap();
        assert_eq!(deadline - p.now, Duration::from_secs(10));
        p.server
            .conn
            .handle_timeout(deadline - Duration::from_millis(1));
        assert_eq!(p.server.conn.state(), State::CloseSent, "spurious timeout");
        p.server.conn.handle_timeout(deadline);
        p.server.drain();
        assert_eq!(p.server.events, vec![Event::Closed { clean: false }]);
        assert!(p.server.shut_down);
    }

    #[test]
    fn client_stops_waiting_for_tcp_close_after_timeout() {
        let mut p = Pair::default_config();
        // The server's Close arrives but the server never closes the transport.
        p.client
            .conn
            .handle_data(p.now, &raw_frame(0x88, None, &1000u16.to_be_bytes()));
        p.client.drain();
        assert_eq!(p.client.conn.state(), State::CloseReceived);
        assert!(!p.client.shut_down);
        p.now += Duration::from_secs(10);
        p.client.conn.handle_timeout(p.now);
        p.client.drain();
        assert_eq!(p.client.events.last(), Some(&Event::Closed { clean: true }));
        assert!(p.client.shut_down);
    }

    #[test]
    fn a_message_read_together_with_a_close_can_still_be_answered() {
        let mut input = client_frame(0x81, b"question");
        input.extend(client_frame(0x88, &1000u16.to_be_bytes()));
        let mut s = Server::new(Config::default());
        s.conn.handle_data(start_time(), &input);
        assert_eq!(s.conn.poll_event(), Some(text("question")));
        s.conn.send_text("answer").unwrap();
        s.drain();
        let ops: Vec<(OpCode, Vec<u8>)> = frames(&s.sent)
            .into_iter()
            .map(|(h, p)| (h.opcode, p))
            .collect();
        assert_eq!(
            ops,
            vec![
                (OpCode::Text, b"answer".to_vec()),
                (OpCode::Close, 1000u16.to_be_bytes().to_vec())
            ]
        );
    }

    #[test]
    fn eof_takes_effect_after_the_buffered_input() {
        let mut s = Server::new(Config::default());
        s.conn
            .handle_data(start_time(), &client_frame(0x81, b"last words"));
        s.conn.handle_eof(start_time());
        s.conn
            .handle_data(start_time(), &client_frame(0x81, b"after eof"));
        s.drain();
        assert_eq!(
            s.events,
            vec![text("last words"), Event::Closed { clean: false }]
        );
    }

    #[test]
    fn eof_without_close_is_abnormal() {
        let mut s = server_fed(&client_frame(0x81, b"hi"));
        s.conn.handle_eof(start_time());
        s.drain();
        assert_eq!(s.events, vec![text("hi"), Event::Closed { clean: false }]);
        assert!(s.shut_down);
    }

    #[test]
    fn invalid_close_codes_fail_with_1002() {
        for code in [
            0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000,
        ] {
            assert_fails(
                &client_frame(0x88, &code.to_be_bytes()),
                ProtocolError::InvalidCloseCode { code },
            );
        }
    }

    #[test]
    fn valid_close_codes_are_echoed() {
        for code in [
            1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
        ] {
            let s = server_fed(&client_frame(0x88, &code.to_be_bytes()));
            assert_sent_close(&s.sent, CloseCode(code));
        }
    }

    #[test]
    fn one_byte_close_payload_fails_with_1002() {
        assert_fails(
            &client_frame(0x88, &[0x03]),
            ProtocolError::InvalidClosePayload,
        );
    }

    #[test]
    fn close_reason_must_be_utf8() {
        let mut body = 1000u16.to_be_bytes().to_vec();
        body.extend_from_slice(b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80");
        assert_fails(&client_frame(0x88, &body), ProtocolError::InvalidUtf8);
    }

    #[test]
    fn input_after_close_is_ignored() {
        let mut input = client_frame(0x88, &1000u16.to_be_bytes());
        input.extend(client_frame(0x81, b"ignored"));
        input.extend(client_frame(0xff, b"garbage"));
        let s = server_fed(&input);
        assert_eq!(s.events.len(), 2);
        assert_eq!(s.events[1], Event::Closed { clean: true });
    }

    #[test]
    fn pings_before_a_close_are_answered_before_the_echo() {
        let mut input = client_frame(0x89, b"p");
        input.extend(client_frame(0x88, &1000u16.to_be_bytes()));
        let s = server_fed(&input);
        let ops: Vec<OpCode> = frames(&s.sent).iter().map(|(h, _)| h.opcode).collect();
        assert_eq!(ops, vec![OpCode::Pong, OpCode::Close]);
    }

    #[test]
    fn close_in_the_middle_of_a_fragmented_message_is_a_normal_close() {
        // Autobahn 7.1.5.
        let mut input = client_frame(0x01, b"frag");
        input.extend(client_frame(0x88, &1000u16.to_be_bytes()));
        let s = server_fed(&input);
        assert_sent_close(&s.sent, CloseCode::NORMAL);
    }
}

mod rfc6455_8_1_utf8 {
    use super::*;

    #[test]
    fn invalid_text_fails_with_1007() {
        assert_fails(
            &client_frame(0x81, b"\xce\xba\xff"),
            ProtocolError::InvalidUtf8,
        );
    }

    #[test]
    fn fails_inside_a_frame_that_is_still_arriving() {
        // Autobahn 6.4.3: the frame's first part is valid, the second chop is not; the
        // connection must fail before the rest of the frame arrives.
        let payload = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80edited";
        let frame = client_frame(0x81, payload);
        let mut s = Server::new(Config::default());
        s.feed(&frame[..6 + 11]);
        assert!(s.events.is_empty());
        s.feed(&frame[6 + 11..6 + 13]);
        assert_eq!(s.events[0], Event::Failed(ProtocolError::InvalidUtf8));
        assert_sent_close(&s.sent, CloseCode::INVALID_PAYLOAD);
    }

    #[test]
    fn fails_across_fragments_before_the_message_ends() {
        // Autobahn 6.4.1: the invalid fragment fails the connection before the last one.
        let mut s = Server::new(Config::default());
        s.feed(&client_frame(
            0x01,
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5",
        ));
        s.feed(&client_frame(0x00, b"\xf4\x90\x80\x80"));
        assert_eq!(
            s.events,
            vec![
                Event::Failed(ProtocolError::InvalidUtf8),
                Event::Closed { clean: false }
            ]
        );
    }

    #[test]
    fn character_cut_by_the_end_of_the_message_fails() {
        assert_fails(
            &client_frame(0x81, b"ok\xe2\x82"),
            ProtocolError::InvalidUtf8,
        );
    }

    #[test]
    fn characters_split_across_fragments_are_fine() {
        let mut input = client_frame(0x01, b"\xe2");
        input.extend(client_frame(0x00, b"\x82"));
        input.extend(client_frame(0x80, b"\xac"));
        assert_eq!(server_fed(&input).events, vec![text("€")]);
    }

    #[test]
    fn binary_is_not_validated() {
        assert_eq!(
            server_fed(&client_frame(0x82, b"\xff\xfe")).events,
            vec![binary(b"\xff\xfe")]
        );
    }
}

mod limits {
    use super::*;

    fn small() -> Config {
        Config::builder()
            .max_frame_size(100)
            .max_message_size(250)
            .build()
            .unwrap()
    }

    #[test]
    fn frame_at_the_limit_passes_and_one_more_byte_fails_with_1009() {
        let mut s = Server::new(small());
        s.feed(&client_frame(0x82, &[1; 100]));
        assert_eq!(s.events, vec![binary(&[1; 100])]);
        let mut s = Server::new(small());
        // Fails on the header alone: nothing of the payload needs to arrive.
        s.feed(&client_frame(0x82, &[1; 101])[..6]);
        assert_eq!(
            s.events[0],
            Event::Failed(ProtocolError::FrameTooLarge {
                len: 101,
                limit: 100
            })
        );
        assert_sent_close(&s.sent, CloseCode::MESSAGE_TOO_BIG);
    }

    #[test]
    fn message_over_the_limit_fails_with_1009_at_the_offending_header() {
        let mut s = Server::new(small());
        s.feed(&client_frame(0x02, &[1; 100]));
        s.feed(&client_frame(0x00, &[1; 100]));
        s.feed(&client_frame(0x00, &[1; 50]));
        assert!(s.events.is_empty(), "250 bytes is within the limit");
        s.feed(&client_frame(0x80, &[1; 1])[..6]);
        assert_eq!(
            s.events[0],
            Event::Failed(ProtocolError::MessageTooLarge {
                len: 251,
                limit: 250
            })
        );
    }

    #[test]
    fn a_declared_length_allocates_nothing() {
        // A header declaring a 16 MiB frame; only received bytes are buffered.
        let mut s = Server::new(Config::default());
        let mut header = vec![0x82, 0xff];
        header.extend_from_slice(&(16u64 << 20).to_be_bytes());
        header.extend_from_slice(&[1, 2, 3, 4]);
        s.feed(&header);
        assert!(s.events.is_empty());
        assert!(s.conn.read_buf().capacity() < 1024);
    }

    #[test]
    fn high_water_mark_reports_backpressure() {
        let config = Config::builder().high_water_mark(1000).build().unwrap();
        let mut p = Pair::new(Config::default(), config);
        assert!(p.server.conn.is_writable());
        p.server.conn.send_binary(&[0; 998]).unwrap();
        assert_eq!(p.server.conn.buffered_amount(), 1002);
        assert!(!p.server.conn.is_writable());
        p.server.drain();
        assert!(p.server.conn.is_writable());
    }

    #[test]
    fn idle_connection_is_small() {
        let mut p = Pair::default_config();
        p.client.conn.send_text("warm up").unwrap();
        p.run();
        let conn = &mut p.server.conn;
        let heap = conn.read_buf().capacity();
        let total = std::mem::size_of::<Connection>() + heap;
        assert!(total <= 1024, "idle connection holds {total} bytes");
    }
}

mod keepalive {
    use super::*;

    fn keepalive() -> Config {
        Config::builder()
            .keepalive(Duration::from_secs(20), Duration::from_secs(5))
            .build()
            .unwrap()
    }

    #[test]
    fn pings_every_interval_and_a_pong_keeps_the_connection() {
        let mut p = Pair::new(Config::default(), keepalive());
        assert_eq!(
            p.server.conn.poll_timeout(),
            Some(p.now + Duration::from_secs(20))
        );
        for _ in 0..3 {
            p.advance(Duration::from_secs(20));
            assert!(p.server.conn.is_open());
        }
        let pings = frames(&p.server.sent)
            .iter()
            .filter(|(h, _)| h.opcode == OpCode::Ping)
            .count();
        assert_eq!(pings, 3);
        assert_eq!(
            p.server
                .events
                .iter()
                .filter(|e| matches!(e, Event::Pong(_)))
                .count(),
            3
        );
    }

    #[test]
    fn missing_pong_fails_with_1011_and_a_generic_reason() {
        let config = Config::builder()
            .keepalive(Duration::from_secs(20), Duration::from_secs(5))
            .auto_pong(false)
            .build()
            .unwrap();
        let mut p = Pair::new(config, keepalive());
        p.advance(Duration::from_secs(20));
        assert!(p.server.conn.is_open());
        p.advance(Duration::from_secs(5));
        assert!(
            p.server
                .events
                .contains(&Event::Failed(ProtocolError::KeepaliveTimeout))
        );
        let (_, body) = frames(&p.server.sent).pop().unwrap();
        assert_eq!(&body[..2], &1011u16.to_be_bytes());
        assert_eq!(&body[2..], b"internal error");
    }
}

mod events_and_transmits {
    use super::*;

    #[test]
    fn poll_transmit_swaps_into_an_empty_buffer_and_appends_otherwise() {
        let mut p = Pair::default_config();
        p.server.conn.send_text("a").unwrap();
        let mut buf = Vec::new();
        assert_eq!(
            p.server.conn.poll_transmit(&mut buf),
            Some(Transmit::Data { len: 3 })
        );
        p.server.conn.send_text("b").unwrap();
        assert_eq!(
            p.server.conn.poll_transmit(&mut buf),
            Some(Transmit::Data { len: 3 })
        );
        assert_eq!(buf, b"\x81\x01a\x81\x01b");
        assert_eq!(p.server.conn.poll_transmit(&mut buf), None);
    }

    #[test]
    fn messages_are_zero_copy_slices_of_the_receive_buffer() {
        let mut s = Server::new(Config::default());
        let mut input = client_frame(0x82, &[9; 1000]);
        input.extend(client_frame(0x82, &[8; 1000]));
        s.conn.read_buf().extend_from_slice(&input);
        s.conn.handle_read(start_time());
        s.drain();
        let [
            Event::Message(Message::Binary(a)),
            Event::Message(Message::Binary(b)),
        ] = &s.events[..]
        else {
            panic!("{:?}", s.events)
        };
        // Both payloads live in one allocation: the receive buffer.
        let gap = b.as_ptr() as usize - a.as_ptr() as usize;
        assert_eq!(gap, 1000 + 8);
    }
}
