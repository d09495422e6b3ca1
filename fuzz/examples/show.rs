//! Prints what the message layer makes of `message_layer` inputs (for triage and for
//! checking seeds): `cargo run --manifest-path fuzz/Cargo.toml --example show -- FILE...`
//! (no instrumentation, no libFuzzer).

fn main() {
    for path in std::env::args().skip(1) {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let input = wsthread_fuzz::layer_input(&data);
        let outcome = wsthread::fuzz::message_layer(
            input.bytes,
            &input.cuts,
            input.max_message,
            input.max_frame,
        );
        println!(
            "{path}: {} bytes, cuts {:?}, limits {:?}/{:?}",
            input.bytes.len(),
            input.cuts,
            input.max_message,
            input.max_frame
        );
        for event in &outcome.events {
            println!("  {event}");
        }
        if let Some((code, why)) = &outcome.violation {
            println!("  violation {code}: {why}");
        }
    }
}
