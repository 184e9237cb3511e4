#!/usr/bin/env python3
"""Boots the test guest under QEMU (TCG) and serves its requests for monitor actions.

Runs inside the guest's chroot (tests/vm/enter), where QEMU 10 is. The guest's serial
console is a unix socket: every line the guest prints is echoed here (and kept in
/vm/run/console.log); a line "@@host ACTION" makes this driver act through QMP and
answer "@@done ACTION ok" (or "@@done ACTION error TEXT") on the console:
  savevm   savevm, then loadvm of that snapshot (QEMU moves the vmclock page's
           disruption marker on loadvm)
  migrate  migration to a file; this QEMU quits and a new one takes the guest in from
           the file (-incoming): the guest runs on with its daemon, with a new marker
Host and guest synchronise on these lines and on QMP's answers and events only.
Exit 0 when the guest's closing "N passed, N failed" line says 0 failed.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

RUN = "/vm/run"
SYSROOT = "/vm/sysroot"
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$")
STEP = re.compile(r"^(PASS|FAIL) ")
# Terminal control sequences (systemd resets the console it writes to).
ESCAPES = re.compile(r"\x1b\[[0-9;?!]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[()][A-Za-z0-9]|\x1b[=>]")


def log(text):
    print(f"driver: {text}", flush=True)


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        return self.end - time.monotonic()

    def check(self, what):
        if self.left() <= 0:
            raise TimeoutError(what)


def connect_unix(path, deadline, what):
    """Connects to a socket QEMU listens on, as soon as it exists."""
    while True:
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            return s
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
            deadline.check(f"waiting for {what} at {path}")
            time.sleep(0.05)


class Qmp:
    def __init__(self, path, deadline):
        self.sock = connect_unix(path, deadline, "QMP")
        self.file = self.sock.makefile("rwb", buffering=0)
        self.events = []
        self._read(deadline)  # greeting
        self.command("qmp_capabilities", timeout=30)

    def _read(self, deadline):
        self.sock.settimeout(max(deadline.left(), 0.1))
        line = self.file.readline()
        if not line:
            raise ConnectionError("QMP closed")
        return json.loads(line)

    def command(self, name, timeout=60, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.file.write(json.dumps(msg).encode() + b"\n")
        deadline = Deadline(timeout)
        while True:
            reply = self._read(deadline)
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                raise RuntimeError(f"{name}: {reply['error'].get('desc')}")
            return reply.get("return")

    def hmp(self, line, timeout=120):
        out = self.command("human-monitor-command", timeout=timeout, **{"command-line": line})
        if out and out.strip():
            # savevm/loadvm report failures as text, not as QMP errors.
            raise RuntimeError(f"{line}: {out.strip()}")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Guest:
    def __init__(self, args):
        self.args = args
        self.qemu = None
        self.qmp = None
        self.console = None
        self.buffer = b""
        self.console_log = open(f"{RUN}/console.log", "ab")
        self.generation = 0
        self.systemd = False

    def qemu_argv(self, incoming=None):
        append = "console=ttyS0 quiet loglevel=1 panic=-1 rdinit=/init"
        if self.systemd:
            append += " vmtest=systemd systemd.show_status=0 systemd.log_level=warning"
        argv = [
            "qemu-system-x86_64", "-accel", "tcg", "-machine", "q35", "-m", "1024",
            "-smp", "1", "-nodefaults", "-no-user-config", "-display", "none",
            "-no-reboot", "-S",
            "-kernel", "/vm/vmlinuz", "-initrd", "/vm/initramfs.cpio.gz",
            "-append", append,
            # The two devices under test; the NIC has no network behind it.
            "-device", "vmclock", "-device", "igb",
            # savevm needs one drive that takes snapshots; the guest never uses it.
            "-drive", f"file={RUN}/snap.qcow2,if=none,id=snap,format=qcow2",
            "-chardev", f"socket,id=con,path={RUN}/console.sock,server=on,wait=off",
            "-serial", "chardev:con",
            "-qmp", f"unix:{RUN}/qmp.sock,server=on,wait=off",
            "-pidfile", f"{RUN}/qemu.pid",
        ]
        if incoming:
            argv += ["-incoming", incoming]
        if self.systemd:
            # The guest's root for systemd: this Debian tree, read-only (an overlay in
            # the guest takes its writes).
            argv += ["-virtfs", f"local,path={SYSROOT},mount_tag=sysroot,"
                                "security_model=none,readonly=on"]
        return argv

    def start(self, deadline, incoming=None):
        for f in ("console.sock", "qmp.sock"):
            try:
                os.unlink(f"{RUN}/{f}")
            except FileNotFoundError:
                pass
        self.generation += 1
        err = open(f"{RUN}/qemu-{self.generation}.log", "wb")
        self.qemu = subprocess.Popen(self.qemu_argv(incoming), stdin=subprocess.DEVNULL,
                                     stdout=err, stderr=subprocess.STDOUT)
        self.qmp = Qmp(f"{RUN}/qmp.sock", deadline)
        self.console = connect_unix(f"{RUN}/console.sock", deadline, "the serial console")
        if incoming:
            # Paused (-S) until the state is in; then it runs on from where it was.
            self.wait_migration(deadline, "incoming")
        self.qmp.command("cont")

    def wait_migration(self, deadline, side):
        while True:
            info = self.qmp.command("query-migrate")
            status = info.get("status")
            if status == "completed":
                return
            if status in ("failed", "cancelled"):
                raise RuntimeError(f"{side} migration {status}: {info.get('error-desc', '')}")
            deadline.check(f"{side} migration")
            time.sleep(0.1)

    def stop_qemu(self, timeout=20):
        if self.qmp:
            try:
                self.qmp.command("quit", timeout=5)
            except Exception:
                pass
            self.qmp.close()
            self.qmp = None
        if self.console:
            self.console.close()
            self.console = None
        if self.qemu:
            try:
                self.qemu.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.qemu.kill()
                self.qemu.wait()
            self.qemu = None

    def say(self, line):
        self.console.sendall(line.encode() + b"\n")

    def lines(self, deadline):
        """Yields the guest's console lines until QEMU ends or the deadline passes."""
        while True:
            while b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                yield ESCAPES.sub("", line.decode(errors="replace")).rstrip("\r")
            deadline.check("the guest's next line")
            self.console.settimeout(min(max(deadline.left(), 0.1), 5))
            try:
                data = self.console.recv(65536)
            except socket.timeout:
                if self.qemu.poll() is not None:
                    return
                continue
            if not data:
                return
            self.console_log.write(data)
            self.console_log.flush()
            self.buffer += data

    def act(self, action, deadline):
        started = time.monotonic()
        if action == "savevm":
            self.qmp.hmp("savevm vmtest")
            self.qmp.hmp("loadvm vmtest")
            self.qmp.hmp("delvm vmtest")
        elif action == "migrate":
            path = f"{RUN}/migration.bin"
            if os.path.exists(path):
                os.unlink(path)
            self.qmp.command("migrate", uri=f"file:{path}")
            self.wait_migration(deadline, "outgoing")
            size = os.path.getsize(path)
            self.stop_qemu()
            self.start(deadline, incoming=f"file:{path}")
            log(f"migrated through {path} ({size >> 20} MiB), QEMU restarted from it")
        else:
            raise RuntimeError(f"unknown action {action}")
        log(f"{action} done in {time.monotonic() - started:.1f} s")


def run_boot(guest, deadline, title):
    """One boot of the guest, until its "@@guest end" line or QEMU's exit.

    Returns (passed, failed), failed counting a boot that never printed its summary."""
    passed = failed = 0
    summary = None
    boot = time.monotonic()
    try:
        log(f"{title}: {os.path.basename(os.path.realpath('/vm/vmlinuz'))}")
        guest.start(deadline)
        for line in guest.lines(deadline):
            m = SUMMARY.match(line)
            if m:
                summary = (int(m.group(1)), int(m.group(2)))
                continue  # the run's one summary line is printed last, by scripts/test-vm
            print(line, flush=True)
            if line.startswith("@@guest up"):
                log(f"guest userland up in {time.monotonic() - boot:.1f} s")
            if STEP.match(line):
                if line.startswith("PASS"):
                    passed += 1
                else:
                    failed += 1
            m = re.search(r"@@host (\S+)", line)
            if m:
                action = m.group(1)
                try:
                    guest.act(action, deadline)
                    guest.say(f"@@done {action} ok")
                except Exception as e:  # the guest's step fails and says why
                    log(f"{action} failed: {e}")
                    if guest.qemu is None or guest.qemu.poll() is not None:
                        break
                    guest.say(f"@@done {action} error {e}")
            if line.startswith("@@guest end"):
                break
    except (TimeoutError, ConnectionError, OSError, RuntimeError) as e:
        log(f"FAIL {type(e).__name__}: {e}")
    finally:
        if guest.qemu and guest.qemu.poll() is None:
            try:
                guest.qemu.wait(timeout=30)  # the guest powers itself off
            except subprocess.TimeoutExpired:
                pass
        guest.stop_qemu(timeout=10)
    if summary is None:
        print(f"FAIL {title} (the guest ended before its summary)", flush=True)
        summary = (passed, failed + 1)
    log(f"{title}: {summary[0]} steps passed and {summary[1]} failed in "
        f"{time.monotonic() - boot:.0f} s")
    return summary


def interrupted(signum, frame):
    raise SystemExit(f"driver: stopped by signal {signum}")


def main():
    # This runs as PID 1 of its PID namespace, which ignores a signal it has no handler
    # for: scripts/test-vm's TERM (an interrupted run) must end it, QEMU with it.
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=540)
    parser.add_argument("--boots", default="busybox,systemd",
                        help="which boots to run (for working on one of them)")
    args = parser.parse_args()
    boots = args.boots.split(",")
    deadline = Deadline(args.timeout)
    if os.path.ismount(SYSROOT):
        subprocess.run(["umount", SYSROOT], check=False)
    shutil.rmtree(RUN, ignore_errors=True)
    os.makedirs(RUN)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", f"{RUN}/snap.qcow2", "16M"],
                   check=True)
    version = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True,
                             text=True).stdout.splitlines()[0]
    log(version)
    guest = Guest(args)
    total = (0, 0)
    if "busybox" in boots:
        total = run_boot(guest, deadline, "first boot (busybox)")
    # The second boot's root: this tree alone, without the mounts tests/vm/enter added.
    if "systemd" in boots:
        os.makedirs(SYSROOT, exist_ok=True)
        subprocess.run(["mount", "--bind", "/", SYSROOT], check=True)
        guest.systemd = True
        second = run_boot(guest, deadline, "second boot (systemd)")
        subprocess.run(["umount", SYSROOT], check=False)
        total = (total[0] + second[0], total[1] + second[1])
    with open(f"{RUN}/summary", "w") as f:
        f.write(f"{total[0]} passed, {total[1]} failed\n")
    return 0 if total[1] == 0 and total[0] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
