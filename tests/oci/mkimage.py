#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes an OCI image layout with python's tarfile (an unpacker-independent
tar writer), so that the tests can craft layers no well-behaved build tool
would make.

    mkimage.py LAYOUT_DIR TAG SPEC.json

SPEC is a list of layers, each a list of entries:
    {"path": "usr/bin/x", "type": "file", "data": "text", "mode": 0o755}
    {"path": "usr", "type": "dir"}
    {"path": "l", "type": "symlink", "target": "/etc"}
    {"path": "h", "type": "hardlink", "target": "/etc/passwd"}
    {"path": "d", "type": "chardev", "major": 1, "minor": 3}
    {"path": "f", "type": "fifo"}
optional keys: "mode", "uid", "gid", "xattrs" {"security.capability": "hex"}.
Prints the manifest digest."""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

TYPES = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
         "hardlink": tarfile.LNKTYPE, "chardev": tarfile.CHRTYPE, "blockdev": tarfile.BLKTYPE,
         "fifo": tarfile.FIFOTYPE}


def blob(layout, data):
    d = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(layout, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)


def layer(entries):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            ti = tarfile.TarInfo(e["path"])
            ti.type = TYPES[e.get("type", "file")]
            ti.mode = e.get("mode", 0o755 if ti.type == tarfile.DIRTYPE else 0o644)
            ti.uid = e.get("uid", 0)
            ti.gid = e.get("gid", 0)
            ti.mtime = 1700000000
            if "target" in e:
                ti.linkname = e["target"]
            ti.devmajor = e.get("major", 0)
            ti.devminor = e.get("minor", 0)
            if "xattrs" in e:
                ti.pax_headers = {"SCHILY.xattr." + k: bytes.fromhex(v).decode("latin-1")
                                  for k, v in e["xattrs"].items()}
            data = e.get("data", "").encode() if ti.type == tarfile.REGTYPE else b""
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data) if data else None)
    diff = "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()
    return gzip.compress(raw.getvalue(), mtime=0), diff


def main():
    layout, tag, spec = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
    os.makedirs(layout, exist_ok=True)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    layers, diffs = [], []
    for entries in spec:
        gz, diff = layer(entries)
        d, n = blob(layout, gz)
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": n})
        diffs.append(diff)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": diffs}}).encode()
    cd, cn = blob(layout, config)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": cd, "size": cn},
                           "layers": layers}).encode()
    md, mn = blob(layout, manifest)
    index_path = os.path.join(layout, "index.json")
    index = json.load(open(index_path)) if os.path.exists(index_path) else {"schemaVersion": 2, "manifests": []}
    index["manifests"] = [m for m in index["manifests"]
                          if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag]
    index["manifests"].append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": mn,
                               "annotations": {"org.opencontainers.image.ref.name": tag}})
    with open(index_path, "w") as f:
        json.dump(index, f)
    print(md)


main()
