//! The MUD protocols' codecs on arbitrary input: decoding never panics, and encoding
//! what was decoded (or built) decodes to the same thing.

use proptest::prelude::*;
use telnetlib3_proto::options::gmcp::GmcpMessage;
use telnetlib3_proto::options::msdp::{self, MsdpValue};
use telnetlib3_proto::options::{atcp, mssp, zmp};

/// Text that the MSDP and MSSP markers (bytes 1 to 6) cannot cut.
fn text() -> impl Strategy<Value = String> {
    "[^\u{1}-\u{6}]{0,12}"
}

fn msdp_value() -> impl Strategy<Value = MsdpValue> {
    let leaf = text().prop_map(MsdpValue::Text);
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(MsdpValue::Array),
            prop::collection::vec((text(), inner), 0..4).prop_map(MsdpValue::Table),
        ]
    })
}

proptest! {
    #[test]
    fn decoders_never_panic(payload in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = GmcpMessage::decode(&payload);
        let _ = msdp::decode(&payload);
        let _ = mssp::decode(&payload);
        let _ = zmp::decode(&payload);
        let _ = atcp::decode(&payload);
    }

    /// Decoding what was decoded and encoded again gives the first decoding: nothing the
    /// decoders accept is lost or changed by our encoders.
    #[test]
    fn decode_encode_decode_is_stable(payload in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(message) = GmcpMessage::decode(&payload) {
            let mut out = Vec::new();
            message.encode(&mut out);
            prop_assert_eq!(GmcpMessage::decode(&out).unwrap(), message);
        }
        if let Ok(variables) = msdp::decode(&payload) {
            let mut out = Vec::new();
            msdp::encode(&variables, &mut out);
            prop_assert_eq!(msdp::decode(&out).unwrap(), variables);
        }
        let variables = mssp::decode(&payload);
        let mut out = Vec::new();
        mssp::encode(&variables, &mut out);
        prop_assert_eq!(mssp::decode(&out), variables);
    }

    #[test]
    fn msdp_round_trips(variables in prop::collection::vec(("[A-Z_]{1,8}", msdp_value()), 1..4)) {
        let mut out = Vec::new();
        msdp::encode(&variables, &mut out);
        // Each variable's one value comes back as it went (an array of values is how
        // several VALs decode, and how an array encodes).
        prop_assert_eq!(msdp::decode(&out).unwrap(), variables);
    }

    #[test]
    fn gmcp_round_trips(package in "[A-Za-z][A-Za-z.]{0,15}", n in any::<i64>(), s in ".{0,16}") {
        let message = GmcpMessage::new(package, Some(serde_json::json!({"n": n, "s": s})));
        let mut out = Vec::new();
        message.encode(&mut out);
        prop_assert_eq!(GmcpMessage::decode(&out).unwrap(), message);
    }

    #[test]
    fn zmp_and_atcp_round_trip(
        command in "[a-z.]{1,12}",
        args in prop::collection::vec("[^\u{0}]{0,8}", 0..4),
        package in "[A-Za-z.]{1,12}",
        value in ".{0,16}",
    ) {
        let mut out = Vec::new();
        zmp::encode(&command, &args, &mut out);
        let mut fields = vec![command];
        fields.extend(args);
        prop_assert_eq!(zmp::decode(&out), fields);
        let mut out = Vec::new();
        atcp::encode(&package, &value, &mut out);
        prop_assert_eq!(atcp::decode(&out), (package, value));
    }
}
