//! Frames that break the rules of fragmentation (RFC 6455 §5.4) are protocol errors: the
//! client sends Close 1002 with a reason that says what was wrong, and delivers nothing of the
//! message they belong to. A continuation frame with no message to continue; a new text or
//! binary frame while a fragmented message is unfinished; a control frame without FIN.

mod support;

use support::*;

#[test]
fn continuation_without_a_start_closes_1002() {
    Violation::new(frame(true, false, OP_CONT, b"orphan")).expect_close(1002, "continu");
}

#[test]
fn text_frame_inside_a_fragmented_message_closes_1002() {
    let mut bytes = frame(false, false, OP_TEXT, b"first half, ");
    bytes.extend(frame(true, false, OP_TEXT, b"a new message"));
    Violation::new(bytes).expect_close(1002, "fragment");
}

#[test]
fn binary_frame_inside_a_fragmented_message_closes_1002() {
    let mut bytes = frame(false, false, OP_BINARY, &[1, 2, 3]);
    bytes.extend(frame(true, false, OP_BINARY, &[4, 5, 6]));
    Violation::new(bytes).expect_close(1002, "fragment");
}

#[test]
fn fragmented_ping_closes_1002() {
    let mut bytes = frame(false, false, OP_PING, b"pi");
    bytes.extend(frame(true, false, OP_CONT, b"ng"));
    Violation::new(bytes).expect_close(1002, "fragment");
}
