"""telnetlib3 5.0.1's MSDP and MSSP codecs (telnetlib3.mud), driven from a test.

Reads one JSON object from standard input:
  {"msdp_decode": [hex payload, ...], "mssp_decode": [hex payload, ...],
   "msdp_encode": [variables, ...], "mssp_encode": [variables, ...]}
and prints one JSON object with the same keys: the decoded variables, or the encoded
payloads in hex. Decoded values keep their order: an MSDP table is {"table": [[name,
value], ...]}, an array {"array": [value, ...]}, a string a string; MSDP and MSSP
variables are lists of [name, value] pairs. MSSP values are as telnetlib3 gives them:
a string for one value, a list for several.
"""
import json
import sys

from telnetlib3.mud import msdp_decode, msdp_encode, mssp_decode, mssp_encode


def ordered(value):
    if isinstance(value, dict):
        return {"table": [[name, ordered(item)] for name, item in value.items()]}
    if isinstance(value, list):
        return {"array": [ordered(item) for item in value]}
    return value


def main() -> None:
    request = json.load(sys.stdin)
    answer = {
        "msdp_decode": [
            [[name, ordered(value)] for name, value in msdp_decode(bytes.fromhex(p)).items()]
            for p in request["msdp_decode"]
        ],
        "mssp_decode": [
            [[name, value] for name, value in mssp_decode(bytes.fromhex(p)).items()]
            for p in request["mssp_decode"]
        ],
        "msdp_encode": [msdp_encode(v).hex() for v in request["msdp_encode"]],
        "mssp_encode": [mssp_encode(v).hex() for v in request["mssp_encode"]],
    }
    json.dump(answer, sys.stdout)


main()
