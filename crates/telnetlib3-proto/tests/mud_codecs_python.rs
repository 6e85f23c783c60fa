//! Our MSDP and MSSP codecs against the reference's (`telnetlib3.mud` of Python
//! telnetlib3 5.0.1), value by value: Python decodes what ours encode, ours decode what
//! Python encodes. Where the two disagree, the test says which follows the
//! specifications (<https://tintin.mudhalla.net/protocols/msdp/>,
//! <https://tintin.mudhalla.net/protocols/mssp/>).
//!
//! One Python process answers every case: `python/mud_codecs.py` reads the payloads and
//! values as JSON on its standard input and prints what its codecs make of them.

#[path = "support/python.rs"]
#[allow(dead_code)] // No server here: only `python()` and `script()`.
mod python;

use std::io::Write;
use std::process::{Command, Stdio};

use python::{python, script};
use serde_json::{json, Value};
use telnetlib3_proto::options::msdp::{self, MsdpValue};
use telnetlib3_proto::options::mssp;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap())
        .collect()
}

/// Ask the reference: `request` as `mud_codecs.py` reads it, its answer as JSON.
fn reference(request: &str) -> Value {
    let mut child = Command::new(python())
        .arg(script("mud_codecs.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(request.as_bytes()).unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "mud_codecs.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// An MSDP value as `mud_codecs.py` writes one (order kept).
fn msdp_json(value: &MsdpValue) -> Value {
    match value {
        MsdpValue::Text(text) => json!(text),
        MsdpValue::Array(items) => {
            json!({"array": items.iter().map(msdp_json).collect::<Vec<_>>()})
        }
        MsdpValue::Table(entries) => json!({"table": entries
            .iter()
            .map(|(name, value)| json!([name, msdp_json(value)]))
            .collect::<Vec<_>>()}),
    }
}

fn msdp_variables_json(variables: &[(String, MsdpValue)]) -> Value {
    json!(variables
        .iter()
        .map(|(name, value)| json!([name, msdp_json(value)]))
        .collect::<Vec<_>>())
}

/// MSSP variables as telnetlib3's `mssp_decode` gives them: one value as a string,
/// several as a list.
fn mssp_variables_json(variables: &[(String, Vec<String>)]) -> Value {
    json!(variables
        .iter()
        .map(|(name, values)| match values.as_slice() {
            [one] => json!([name, one]),
            _ => json!([name, values]),
        })
        .collect::<Vec<_>>())
}

fn text(value: &str) -> MsdpValue {
    MsdpValue::from(value)
}

fn table(entries: &[(&str, MsdpValue)]) -> MsdpValue {
    MsdpValue::Table(
        entries
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect(),
    )
}

fn owned(variables: &[(&str, MsdpValue)]) -> Vec<(String, MsdpValue)> {
    variables
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.clone()))
        .collect()
}

fn mssp_owned(variables: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    variables
        .iter()
        .map(|(name, values)| {
            let values = values.iter().map(|v| (*v).to_owned()).collect();
            ((*name).to_owned(), values)
        })
        .collect()
}

#[test]
fn msdp_and_mssp_codecs_agree_with_telnetlib3_both_ways() {
    // What ours encode, for Python to decode: nested tables, arrays of arrays, empty
    // ones, UTF-8 text.
    let msdp_ours = [
        owned(&[
            ("HEALTH", text("100")),
            (
                "ROOM",
                table(&[
                    ("VNUM", text("6008")),
                    ("NAME", text("The forest clearing — café")),
                    ("EXITS", table(&[("n", text("6011")), ("e", text("6007"))])),
                    ("EMPTY", table(&[])),
                ]),
            ),
        ]),
        owned(&[
            (
                "REPORTABLE_VARIABLES",
                MsdpValue::Array(vec![text("HINT"), text("AFFECTS")]),
            ),
            (
                "GRID",
                MsdpValue::Array(vec![
                    MsdpValue::Array(vec![text("a"), text("b")]),
                    MsdpValue::Array(vec![]),
                    table(&[("k", MsdpValue::Array(vec![text("v")]))]),
                ]),
            ),
        ]),
    ];
    let mssp_ours = [mssp_owned(&[
        ("NAME", &["Lola"]),
        ("PLAYERS", &["52"]),
        ("PORT", &["4000", "4001"]),
        ("CODEBASE", &["Merc", "ROM", "Smaug"]),
    ])];
    let encoded_msdp: Vec<String> = msdp_ours
        .iter()
        .map(|variables| {
            let mut out = Vec::new();
            msdp::encode(variables, &mut out);
            hex(&out)
        })
        .collect();
    let encoded_mssp: Vec<String> = mssp_ours
        .iter()
        .map(|variables| {
            let mut out = Vec::new();
            mssp::encode(variables, &mut out);
            hex(&out)
        })
        .collect();

    // Payloads where the two decoders part ways.
    // MSDP lists several values of one variable as repeated MSDP_VALs (the page's
    // `REPORT` example: `MSDP_VAR "REPORT" MSDP_VAL "HEALTH" MSDP_VAL "MANA"`).
    let repeated_vals = b"\x01REPORT\x02HEALTH\x02MANA\x01SEND\x02ROOM".to_vec();
    // The specification puts MSDP_VAL before every array item; telnetlib3 takes an item
    // without it too.
    let bare_array_item = b"\x01A\x02\x05x\x06".to_vec();
    // An MSSP variable without a value (each MSSP_VAR has at least one MSSP_VAL in the
    // specification).
    let mssp_no_value = b"\x01A\x01B\x02b".to_vec();

    let msdp_decode = json!([
        encoded_msdp[0],
        encoded_msdp[1],
        hex(&repeated_vals),
        hex(&bare_array_item)
    ]);
    let mssp_decode = json!([encoded_mssp[0], hex(&mssp_no_value)]);
    // What Python encodes, for ours to decode: written as JSON text, whose order
    // Python keeps (serde_json's maps would sort the names).
    let msdp_encode = r#"[{"HEALTH": "100", "HP": 90, "ROOM": {"VNUM": "6008",
        "EXITS": {"n": "6011"}, "ITEMS": ["sword", ["nested"], {}], "NONE": []}}]"#;
    let mssp_encode =
        r#"[{"NAME": "Lola", "PORT": ["4000", "4001"], "CODEBASE": ["Merc", "ROM"]}]"#;
    let request = format!(
        r#"{{"msdp_decode": {msdp_decode}, "mssp_decode": {mssp_decode},
            "msdp_encode": {msdp_encode}, "mssp_encode": {mssp_encode}}}"#
    );
    let answer = reference(&request);

    // Python decodes ours exactly, value by value and in order.
    for (at, variables) in msdp_ours.iter().enumerate() {
        assert_eq!(
            answer["msdp_decode"][at],
            msdp_variables_json(variables),
            "MSDP case {at}"
        );
    }
    assert_eq!(answer["mssp_decode"][0], mssp_variables_json(&mssp_ours[0]));

    // Repeated values: ours keep them all as a list, as the specification means them;
    // telnetlib3 keeps the first and skips the rest.
    assert_eq!(
        msdp::decode(&repeated_vals).unwrap(),
        owned(&[
            (
                "REPORT",
                MsdpValue::Array(vec![text("HEALTH"), text("MANA")])
            ),
            ("SEND", text("ROOM")),
        ])
    );
    assert_eq!(
        answer["msdp_decode"][2],
        json!([["REPORT", "HEALTH"], ["SEND", "ROOM"]])
    );
    // An array item without its MSDP_VAL: telnetlib3 takes it, ours skips its bytes, as
    // the specification has no such item (every item follows an MSDP_VAL).
    assert_eq!(answer["msdp_decode"][3], json!([["A", {"array": ["x"]}]]));
    assert_eq!(
        msdp::decode(&bare_array_item).unwrap(),
        owned(&[("A", MsdpValue::Array(vec![]))])
    );
    // An MSSP variable without a value: ours keeps the name with no values, telnetlib3
    // drops it; the specification has no such variable, so neither is wrong.
    assert_eq!(answer["mssp_decode"][1], json!([["B", "b"]]));
    assert_eq!(
        mssp::decode(&mssp_no_value),
        mssp_owned(&[("A", &[]), ("B", &["b"])])
    );

    // Ours decode Python's, value by value and in order (Python's number is text on
    // the wire, as every MSDP value is).
    let python_msdp = unhex(answer["msdp_encode"][0].as_str().unwrap());
    assert_eq!(
        msdp::decode(&python_msdp).unwrap(),
        owned(&[
            ("HEALTH", text("100")),
            ("HP", text("90")),
            (
                "ROOM",
                table(&[
                    ("VNUM", text("6008")),
                    ("EXITS", table(&[("n", text("6011"))])),
                    (
                        "ITEMS",
                        MsdpValue::Array(vec![
                            text("sword"),
                            MsdpValue::Array(vec![text("nested")]),
                            table(&[]),
                        ]),
                    ),
                    ("NONE", MsdpValue::Array(vec![])),
                ]),
            ),
        ])
    );
    // Both encoders write the same bytes for the same variables.
    let mut ours = Vec::new();
    msdp::encode(&msdp::decode(&python_msdp).unwrap(), &mut ours);
    assert_eq!(ours, python_msdp);
    let python_mssp = unhex(answer["mssp_encode"][0].as_str().unwrap());
    let variables = mssp_owned(&[
        ("NAME", &["Lola"]),
        ("PORT", &["4000", "4001"]),
        ("CODEBASE", &["Merc", "ROM"]),
    ]);
    assert_eq!(mssp::decode(&python_mssp), variables);
    let mut ours = Vec::new();
    mssp::encode(&variables, &mut ours);
    assert_eq!(ours, python_mssp);
}
