"""Seeds fuzz/corpus/<target>/ from the conformance fixtures.

parse: each parse fixture body, prefixed with a chunk-size byte.
http1_response: each fixture body wrapped in a chunked and a plain response.
Run from the repository root: python3 fuzz/seed_corpus.py
"""
import glob
import json
import os

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
bodies = []
for path in sorted(glob.glob(os.path.join(root, "conformance/fixtures/parse/*.json"))):
    with open(path, encoding="utf-8") as f:
        case = json.load(f)
    body = case["input"].encode() if "input" in case else bytes.fromhex(case["input_hex"])
    bodies.append((os.path.basename(path)[:-5], body))

def write(target, name, data):
    d = os.path.join(root, "fuzz/corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

for i, (name, body) in enumerate(bodies):
    write("parse", name, bytes([i % 17]) + body)
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
    chunked = head + b"Transfer-Encoding: chunked\r\n\r\n" + (b"%x\r\n" % len(body) + body + b"\r\n" if body else b"") + b"0\r\n\r\n"
    plain = head + b"Content-Length: %d\r\n\r\n" % len(body) + body
    write("http1_response", name + "-chunked", bytes([0, 3, 9, 27, 81]) + chunked)
    write("http1_response", name + "-length", bytes([0, 5, 10, 20, 40]) + plain)
print(f"seeded {len(bodies)} parse and {2 * len(bodies)} http1_response inputs")
