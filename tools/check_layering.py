#!/usr/bin/env python3
"""Checks that every #include "x/y.h" in src/ names a header of the including folder's own
library or of a library it depends on (transitively), as declared in CMake. This is how the
build states, and enforces, the arrows between layers."""
import os
import re
import sys

layering_file, src_root = sys.argv[1], sys.argv[2]
libs = {}  # name -> (folder, [deps])
for line in open(layering_file):
    parts = line.split()
    if len(parts) < 2:
        continue
    name, folder = parts[0], parts[1]
    deps = parts[2].split(",") if len(parts) > 2 and parts[2] else []
    libs[name] = (folder, [d for d in deps if d])
folder_to_lib = {}
for name, (folder, _) in libs.items():
    folder_to_lib.setdefault(folder, name)


def closure(name, seen=None):
    seen = set() if seen is None else seen
    if name in seen or name not in libs:
        return seen
    seen.add(name)
    for d in libs[name][1]:
        closure(d, seen)
    return seen


include_re = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
errors = []
for dirpath, _, files in os.walk(src_root):
    rel = os.path.relpath(dirpath, src_root)
    lib = folder_to_lib.get(rel)
    if lib is None:
        continue
    allowed = {libs[l][0] for l in closure(lib)}
    for f in files:
        if not f.endswith((".h", ".cc")):
            continue
        is_test = f.endswith("_test.cc") or f == "conformance.cc" or f.endswith("_conformance.cc")
        for n, line in enumerate(open(os.path.join(dirpath, f)), 1):
            m = include_re.match(line)
            if not m:
                continue
            target_folder = os.path.dirname(m.group(1))
            if target_folder in allowed or is_test:
                continue
            errors.append(f"src/{rel}/{f}:{n}: includes {m.group(1)}, but {lib} does not depend on "
                          f"the library of src/{target_folder}")
for e in errors:
    print(e)
print(f"layering: {len(errors)} violations")
sys.exit(1 if errors else 0)
