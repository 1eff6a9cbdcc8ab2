#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A real agent, written the way an operator's Python agent is: standard
library only, its secret from /run/secrets, its scratch data in /workspace,
readiness and heartbeats over $NOTIFY_SOCKET, HTTP(S) through the proxy the
environment names (urllib honours HTTP_PROXY/HTTPS_PROXY/NO_PROXY).

  agent.py [--secret NAME] [--cafile PATH] [--heartbeat SEC] [--direct HOST:PORT] URL...

Every step prints one line "agent: STEP: RESULT" so a test (or an operator
reading journalctl) sees what the cage allowed."""

import argparse
import os
import signal
import socket
import ssl
import sys
import time
import urllib.error
import urllib.request


def say(step, result):
    print(f"agent: {step}: {result}", flush=True)


def notify(message):
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return False
    if path.startswith("@"):
        path = "\0" + path[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
        s.connect(path)
        s.sendall(message.encode())
    return True


def read_secret(name):
    try:
        with open(f"/run/secrets/{name}", "rb") as f:
            data = f.read()
        say("secret", f"{name} read, {len(data)} bytes")
    except OSError as e:
        say("secret", f"{name} unreadable: {e.strerror}")


def use_workspace():
    path = "/workspace/agent-notes.txt"
    text = f"written by pid {os.getpid()} at {time.time():.0f}\n"
    try:
        with open(path, "w") as f:
            f.write(text)
        with open(path) as f:
            same = f.read() == text
        say("workspace", "write and read back ok" if same else "read back differs")
    except OSError as e:
        say("workspace", f"failed: {e.strerror}")


def fetch(url, context):
    try:
        with urllib.request.urlopen(url, timeout=20, context=context) as r:
            body = r.read()
            say("fetch", f"{url} status {r.status} {len(body)} bytes")
    except urllib.error.HTTPError as e:
        reason = e.read(300).decode(errors="replace").strip().replace("\n", " ")
        say("fetch", f"{url} status {e.code} {reason}")
    except (urllib.error.URLError, OSError) as e:
        say("fetch", f"{url} failed: {getattr(e, 'reason', e)}")


def direct(target):
    host, _, port = target.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            say("direct", f"{target} connected")
    except OSError as e:
        say("direct", f"{target} refused: {e.strerror or e}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--secret")
    p.add_argument("--cafile")
    p.add_argument("--heartbeat", type=float, default=0)
    p.add_argument("--direct", action="append", default=[])
    p.add_argument("urls", nargs="*")
    a = p.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    say("start", f"python {sys.version.split()[0]} as uid {os.getuid()}")
    if a.secret:
        read_secret(a.secret)
    use_workspace()
    context = ssl.create_default_context(cafile=a.cafile) if a.cafile else None
    for url in a.urls:
        fetch(url, context)
    for target in a.direct:
        direct(target)
    if notify("READY=1\nSTATUS=serving"):
        say("notify", "ready")
    say("done", "all steps ran")
    while a.heartbeat > 0:
        time.sleep(a.heartbeat)
        notify("WATCHDOG=1")
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
