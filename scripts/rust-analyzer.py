#!/usr/bin/env python3
"""Completes the rust-project.json that the kernel's `make M=... rust-analyzer` wrote for this
project (usage: scripts/rust-analyzer.py ROOT/rust-project.json).

The kernel's generator finds the crate roots (scull/main.rs, snull/main.rs, ...) and links them
to `core`, `kernel` and `pin_init`, but knows nothing of what ./Kbuild adds for this project:
the environment variables naming the generated bindings that common/ `include!`s, and the
`--cfg ldd3_net` of the modules that compile common/net. Without them rust-analyzer would see
no bindings and no common::net.
"""

import json
import os
import re
import sys
from pathlib import Path


def main():
    path = Path(sys.argv[1]).resolve()
    root = path.parent
    project = json.loads(path.read_text())
    env = {
        "LDD3_COMMON_BINDINGS": str(root / "common/bindings_generated.rs"),
        "LDD3_NET_BINDINGS": str(root / "common/net_bindings_generated.rs"),
        "LDD3_UAPI_BINDINGS": str(root / "common/uapi_generated.rs"),
    }
    def in_project(crate):
        # The generator names the kernel's crates by absolute path and this project's relative
        # to the file (as rust-analyzer reads them).
        return root in (root / crate["root_module"]).resolve().parents

    ours = 0
    for crate in project["crates"]:
        if not in_project(crate):
            continue
        module = (root / crate["root_module"]).resolve()
        ours += 1
        crate["is_workspace_member"] = True
        crate.setdefault("env", {}).update(env)
        # `rustflags-y += --cfg ldd3_net` gives it to every crate of the directory,
        # `RUSTFLAGS_<name>.o += --cfg ldd3_net` to that one.
        kbuild = module.parent / "Kbuild"
        text = kbuild.read_text() if kbuild.exists() else ""
        scope = rf"(rustflags-y|RUSTFLAGS_{re.escape(module.stem)}\.o)"
        if re.search(rf"^\s*{scope}\s*[+:]?=.*--cfg\s+ldd3_net", text, re.M):
            crate["cfg"] = sorted(set(crate.get("cfg", [])) | {"ldd3_net"})
    if ours == 0:
        sys.exit(f"{path}: no crate of {root} found; was it generated with M={root}?")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(project, indent=4, sort_keys=True) + "\n")
    os.replace(tmp, path)
    names = sorted(c["display_name"] for c in project["crates"] if in_project(c))
    print(f"rust-project.json: {len(names)} crates of this project ({', '.join(names)}) "
          f"against {len(project['crates']) - len(names)} of the kernel")


if __name__ == "__main__":
    main()
