#!/usr/bin/env python3
"""Checks the arrows between layers, as declared in CMake (cmake/dittofs.cmake records every
target's folder, kind, direct dependencies and sources in layering.txt).

1. Every #include "x/y.h" in src/ names a header of the including file's own folder or of a
   *direct* dependency of the target the file belongs to: a library (its sources and every
   header of its folder), or a test target (its sources). Transitive includes are not allowed:
   a file that uses a library names it in its target's DEPS.
2. Whatever the DEPS say, some arrows never exist in production code (tests are exempt):
   the runtime (core) sees no protocol, transport or control plane; a transport (net) sees no
   protocol above it; a protocol adapter sees no other protocol's adapter and no store (it
   reaches files through core only)."""
import os
import re
import sys

layering_file, src_root = sys.argv[1], sys.argv[2]

targets = {}  # name -> dict(folder, kind, deps, sources)
for line in open(layering_file):
    parts = line.split()
    if len(parts) != 5:
        continue
    name, folder, kind, deps, sources = parts
    targets[name] = {
        "folder": folder,
        "kind": kind,
        "deps": [] if deps == "-" else [d for d in deps.split(",") if d],
        "sources": [] if sources == "-" else [s for s in sources.split(",") if s],
    }

# Which target each file of src/ belongs to: listed sources first, then a folder's headers
# (and unlisted files) to the folder's library.
file_target = {}
folder_lib = {}
for name, t in targets.items():
    if t["folder"].startswith(".."):
        continue
    for s in t["sources"]:
        file_target.setdefault(os.path.normpath(os.path.join(t["folder"], s)), name)
    if t["kind"] == "lib":
        folder_lib[t["folder"]] = name
    elif t["kind"] == "bin":
        folder_lib.setdefault(t["folder"], name)

# Production arrows that must not exist, whatever the DEPS: (from folder prefix, to folder
# prefix, why).
ADAPTERS = ["nfs", "smb"]
FORBIDDEN = [("core", p, "the runtime knows no protocol, transport or control plane")
             for p in ["rpc", "net", "nfs", "smb", "controlplane", "server", "config"]]
# Transports (net/stream, net/datagram, net/http) carry bytes for the protocols above them
# and know none of them: a protocol plugs in through the transport's own interfaces.
FORBIDDEN += [("net", p, "transports know no protocol above them")
              for p in ["xdr", "rpc", "nfs", "smb", "core", "stores", "controlplane", "server",
                        "config"]]
for a in ADAPTERS:
    for b in ADAPTERS:
        if a != b:
            FORBIDDEN.append((a, b, "protocol adapters do not use each other"))
    FORBIDDEN.append((a, "stores", "protocol adapters reach files through core, never a store"))


def under(folder, prefix):
    return folder == prefix or folder.startswith(prefix + "/")


include_re = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
errors = []
unowned = []
for dirpath, _, files in os.walk(src_root):
    rel = os.path.relpath(dirpath, src_root)
    for f in sorted(files):
        if not f.endswith((".h", ".cc")):
            continue
        path = os.path.normpath(os.path.join(rel, f))
        owner = file_target.get(path) or folder_lib.get(rel)
        if owner is None:
            unowned.append(f"src/{path}: belongs to no target in CMake")
            continue
        t = targets[owner]
        is_test = t["kind"] == "test"
        allowed = {t["folder"]} | {targets[d]["folder"] for d in t["deps"] if d in targets}
        for n, line in enumerate(open(os.path.join(dirpath, f)), 1):
            m = include_re.match(line)
            if not m:
                continue
            target_folder = os.path.dirname(m.group(1))
            if target_folder not in allowed:
                errors.append(f"src/{path}:{n}: includes {m.group(1)}, but {owner} does not "
                              f"depend directly on the library of src/{target_folder}")
            if is_test:
                continue
            for src, dst, why in FORBIDDEN:
                if under(rel, src) and under(target_folder, dst):
                    errors.append(f"src/{path}:{n}: includes {m.group(1)}: {why}")
for e in errors + unowned:
    print(e)
print(f"layering: {len(errors)} violations, {len(unowned)} files outside every target")
sys.exit(1 if errors or unowned else 0)
