#!/usr/bin/env python3
"""Generate schema/ YAML descriptors from CRIU's images/*.proto and magic.h (no protoc involved).
usage: proto2yaml.py SRC -o OUT   (SRC laid out like criu-formats/v4.2: images/*.proto, magic.h)"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from critcore.errors import CritError  # noqa: E402
from critcore.schema.emit import write_schema  # noqa: E402
from critcore.schema.protoparse import parse_magic_h, parse_sources, read_proto_dir  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", help="directory with images/*.proto (or *.proto) and magic.h")
    ap.add_argument("-o", "--out", required=True, help="output directory for the YAML files")
    args = ap.parse_args(argv)
    try:
        docs = parse_sources(read_proto_dir(args.src))
        with open(os.path.join(args.src, "magic.h"), encoding="utf-8") as fh:
            magic = parse_magic_h(fh.read())
        texts = write_schema(docs, magic, args.out)
    except (CritError, OSError) as e:
        print("proto2yaml: %s" % e, file=sys.stderr)
        return 1
    print("wrote %d files to %s" % (len(texts), args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
