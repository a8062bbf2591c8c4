"""
exec -it echo latency through a real pseudo-terminal (the bench's stand-in for a user's
terminal): runs ARGV (no shell) on a new pty of 80x24, types one byte at a time and times
each from its write to seeing it echoed back. ARGV must run `cat` on a terminal in the
container: the container's tty echoes the byte (canonical mode), and the client put this
terminal in raw mode (no local echo here). Prints one JSON line: {"samplesMs": [...]}.
Usage: pty-echo.py ROUNDS TIMEOUT_S ARGV...
"""
import fcntl, json, os, pty, select, struct, sys, termios, time

rounds, timeout_s, argv = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
deadline = time.monotonic() + timeout_s
out = bytearray()

def read_for(seconds):
    end = min(time.monotonic() + seconds, deadline)
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return
            if not chunk:
                return
            out.extend(chunk)
            return

def fail(why):
    sys.stderr.write("%s; output so far: %r\n" % (why, bytes(out[-400:])))
    os.kill(pid, 9)
    sys.exit(1)

# Ready once a probe byte comes back (the session is up and the remote cat's tty echoes).
while b"r" not in out:
    if time.monotonic() > deadline:
        fail("no echo of the probe")
    os.write(fd, b"r")
    read_for(0.2)
read_for(0.2)
samples = []
for i in range(rounds):
    del out[:]
    t0 = time.perf_counter_ns()
    os.write(fd, b"x")
    while b"x" not in out:
        if time.monotonic() > deadline:
            fail("no echo in round %d" % i)
        read_for(1.0)
    samples.append((time.perf_counter_ns() - t0) / 1e6)
    time.sleep(0.02)
os.write(fd, b"\r\x04")
end = time.monotonic() + 10
status = None
while time.monotonic() < end:
    read_for(0.1)
    p, st = os.waitpid(pid, os.WNOHANG)
    if p:
        status = st
        break
if status is None:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
print(json.dumps({"samplesMs": samples, "exited": status is not None}))
