//! The MUD protocols' decoders never panic on any payload, stay within their nesting
//! bounds, and what they decode encodes back to the same thing (decode, encode, decode
//! gives the first decoding again).
#![no_main]

use libfuzzer_sys::fuzz_target;
use telnetlib3_proto::options::aardwolf::AardwolfMessage;
use telnetlib3_proto::options::gmcp::{GmcpData, GmcpMessage};
use telnetlib3_proto::options::mtts::Mtts;
use telnetlib3_proto::options::{atcp, msdp, mssp, zmp};

fuzz_target!(|payload: &[u8]| {
    if let Ok(message) = GmcpMessage::decode(payload) {
        let mut out = Vec::new();
        message.encode(&mut out);
        assert_eq!(GmcpMessage::decode(&out).unwrap(), message);
        let mut data = GmcpData::default();
        data.merge_within(&message, 1024);
        data.merge_within(&message, 1024);
    }
    if let Ok(variables) = msdp::decode(payload) {
        let mut out = Vec::new();
        msdp::encode(&variables, &mut out);
        assert_eq!(msdp::decode(&out).unwrap(), variables);
    }
    let variables = mssp::decode(payload);
    let mut out = Vec::new();
    mssp::encode(&variables, &mut out);
    assert_eq!(mssp::decode(&out), variables);
    let fields = zmp::decode(payload);
    if let Some((command, args)) = fields.split_first() {
        let mut out = Vec::new();
        zmp::encode(command, args, &mut out);
        assert_eq!(zmp::decode(&out), fields);
    }
    let (package, value) = atcp::decode(payload);
    let mut out = Vec::new();
    atcp::encode(&package, &value, &mut out);
    assert_eq!(atcp::decode(&out), (package, value));
    if let Some(message) = AardwolfMessage::decode(payload) {
        let mut out = Vec::new();
        message.encode(&mut out);
        assert_eq!(out, payload);
    }
    let _ = Mtts::from_terminal_type(&String::from_utf8_lossy(payload));
});
