"""telnetlib3's BBS codecs as a filter: each line of standard input is
`<codec> decode <hex bytes>`, `<codec> decode-split <hex bytes> <cut>` (incrementally, in two
pieces) or `<codec> encode <hex of UTF-8 text>`; each line of standard output is the hex of
the UTF-8 decoded text, or of the encoded bytes (errors="replace"); `-` is empty input."""

import codecs
import sys

import telnetlib3.encodings  # noqa: F401  registers the codecs

for line in sys.stdin:
    fields = line.split()
    name, operation, data = fields[0], fields[1], bytes.fromhex(fields[2].strip("-"))
    if operation == "decode":
        out = data.decode(name, errors="replace").encode("utf-8")
    elif operation == "decode-split":
        cut = int(fields[3])
        decoder = codecs.getincrementaldecoder(name)(errors="replace")
        text = decoder.decode(data[:cut]) + decoder.decode(data[cut:], final=True)
        out = text.encode("utf-8")
    else:
        encoder = codecs.getincrementalencoder(name)(errors="replace")
        out = encoder.encode(data.decode("utf-8"), final=True)
    sys.stdout.write(out.hex() + "\n")
sys.stdout.flush()
