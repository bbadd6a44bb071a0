#!/usr/bin/env python3
"""Tests tools/check_layering.py on small made-up trees: what it must refuse and accept."""
import os
import subprocess
import sys
import tempfile

CHECKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_layering.py")
LAYERING = """base base lib - bytes.cc
xdr xdr lib base xdr.cc
rpc rpc lib xdr rpc.cc
core core lib base,nfs_v3 vfs.cc
nfs_v3 nfs/v3 lib rpc,stores_metadata_memory service.cc
nfs_v3_test nfs/v3 test nfs_v3 service_test.cc
stores_metadata_memory stores/metadata/memory lib base memory.cc
net_stream net/stream lib base,rpc stream.cc
"""


def check(files):
    """Runs the checker on a tree holding `files` ({path: text}); returns (exit code, output)."""
    with tempfile.TemporaryDirectory() as root:
        src = os.path.join(root, "src")
        for path, text in files.items():
            os.makedirs(os.path.join(src, os.path.dirname(path)), exist_ok=True)
            with open(os.path.join(src, path), "w") as f:
                f.write(text)
        layering = os.path.join(root, "layering.txt")
        with open(layering, "w") as f:
            f.write(LAYERING)
        p = subprocess.run([sys.executable, CHECKER, layering, src], capture_output=True, text=True)
        return p.returncode, p.stdout


failures = []


def expect(name, files, ok, needle=""):
    code, out = check(files)
    if (code == 0) != ok or needle not in out:
        failures.append(f"{name}: exit {code}, expected {'0' if ok else 'non-zero'} "
                        f"and {needle!r} in:\n{out}")


clean = {"base/bytes.cc": "", "xdr/xdr.cc": '#include "base/bytes.h"\n', "rpc/rpc.cc": ""}
expect("direct dependency", clean, True)
expect("transitive include", {**clean, "rpc/rpc.cc": '#include "base/bytes.h"\n'}, False,
       "rpc/rpc.cc:1: includes base/bytes.h")
expect("test without the dependency",
       {**clean, "nfs/v3/service_test.cc": '#include "xdr/xdr.h"\n'}, False,
       "nfs_v3_test does not depend directly")
expect("core including a protocol, even when declared",
       {**clean, "core/vfs.cc": '#include "nfs/v3/service.h"\n'}, False,
       "the runtime knows no protocol")
expect("adapter including a concrete store, even when declared",
       {**clean, "nfs/v3/service.cc": '#include "stores/metadata/memory/memory.h"\n'}, False,
       "never a store")
expect("transport including a protocol, even when declared",
       {**clean, "net/stream/stream.cc": '#include "rpc/rpc.h"\n'}, False,
       "transports know no protocol")
expect("file outside every target", {**clean, "stray/stray.cc": ""}, False, "belongs to no target")

for f in failures:
    print(f)
print(f"check_layering_test: {len(failures)} failures")
sys.exit(1 if failures else 0)
