#!/usr/bin/python3
"""What NFS security costs, by hand: one dfs (memory stores) serves /export to the same
user-space NFSv3 client five ways, one after the other, each on its own connection:
  sys      AUTH_SYS
  krb5     RPCSEC_GSS, Kerberos V5 authentication (a checksum of each call's header)
  krb5i    ... and a checksum over every argument and result (integrity)
  krb5p    ... and every argument and result encrypted (privacy)
  tls      AUTH_SYS over TLS 1.3 (RFC 9289)
For each: sequential WRITE (FILE_SYNC) and READ of SIZE_MIB MiB in 64 KiB calls (MB/s), and
GETATTR latency (p50/p99 of COUNT calls), one call outstanding at a time. The realm is a
throwaway MIT KDC on loopback (tests/integration/nfs_krb5_client.py's); the client is the RPC
code of the integration tests (python, with python-gssapi and ssl doing the cryptography in C),
the same in every mode, so the ratios to `sys` are what each protection adds, on both ends.

usage: bench/security_bench.py (with /usr/bin/python3: python3-gssapi) [DFS_BIN] [SIZE_MIB] [COUNT]
       (defaults build/release/bin/dfs, 64, 2000)"""
import os
import re
import shutil
import signal
import socket
import ssl
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import nfs_krb5_client as k  # noqa: E402

CHUNK = 65536


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_dfs(binary, d, realm):
    """dfs with Kerberos and TLS offered; returns (process, nfs port, api port, admin pw)."""
    nfs, api = free_port(), free_port()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{d}/tls.key", "-out",
                    f"{d}/tls.pem", "-days", "2", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost"], check=True, capture_output=True)
    with open(f"{d}/config.yaml", "w") as f:
        f.write(f"""server:
  state_dir: {d}/state
logging:
  level: warn
api:
  port: {api}
smb:
  enabled: false
nfs:
  port: {nfs}
  portmap: false
  nlm: false
  tls:
    cert_file: {d}/tls.pem
    key_file: {d}/tls.key
kerberos:
  keytab: {realm}/nfs.keytab
shares:
  - name: /export
    metadata: memory
    block: memory
    root_mode: "1777"
    tls: opportunistic
    security: [sys, krb5]
""")
    env = dict(os.environ, KRB5_CONFIG=f"{realm}/krb5.conf")
    log = open(f"{d}/dfs.log", "w")
    p = subprocess.Popen([binary, "start", "--foreground", "--config", f"{d}/config.yaml"],
                         stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        text = open(f"{d}/dfs.log").read()
        m = re.search(r"initial password: (\S+)", text)
        if m and "REST API on port" in text:
            return p, nfs, api, m.group(1)
        if p.poll() is not None:
            break
        time.sleep(0.2)
    sys.exit("dfs did not start:\n" + open(f"{d}/dfs.log").read())


class Mode:
    """One connection calling NFSv3 under one protection."""

    def __init__(self, name, port, realm, ca):
        self.name = name
        self.rpc = k.Rpc(port)
        # As kernel RPC clients do: without it, Nagle holds the tail of each call that TLS
        # writes in several records until the server's delayed ACK (about 40 ms a call).
        self.rpc.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.gss = None
        self.service = {"krb5": k.NONE, "krb5i": k.INTEG, "krb5p": k.PRIV}.get(name)
        if name == "tls":
            # RFC 9289 §4.1: NULL with AUTH_TLS, then the handshake on the same connection.
            self.rpc.xid += 1
            self.rpc.send(struct.pack(">IIIIII", self.rpc.xid, 0, 2, k.NFS, 3, 0) +
                          struct.pack(">IIII", 7, 0, 0, 0))
            verf = self.rpc.parse(self.rpc.recv())[2]
            assert verf == b"STARTTLS", verf
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_3
            ctx.load_verify_locations(ca)
            ctx.set_alpn_protocols(["sunrpc"])
            self.rpc.sock = ctx.wrap_socket(self.rpc.sock, server_hostname="localhost")
        if self.service is not None:
            self.gss = k.GssClient(self.rpc, realm, "alice.cc")
            assert self.gss.init() == "ok"

    def call(self, prog, proc, args):
        if self.gss:
            p = self.gss.call(prog, 3, proc, args, self.service)
            assert p[0] == "ok", p
            return p[1]
        self.rpc.xid += 1
        self.rpc.send(struct.pack(">IIIIII", self.rpc.xid, 0, 2, prog, 3, proc) + k.auth_sys() +
                      struct.pack(">II", 0, 0) + args)
        p = self.rpc.parse(self.rpc.recv())
        assert p[0] == "ok", p
        return p[3]


def run(mode, size_mib, count):
    root, _ = k.take_opaque(mode.call(k.MOUNT, 1, k.opaque(b"/export")), 4)
    r = mode.call(k.NFS, 8, k.opaque(root) + k.opaque(f"bench-{mode.name}-{size_mib}".encode()) +
                  struct.pack(">I", 0) + struct.pack(">6I", 0, 0, 0, 0, 0, 0))
    assert struct.unpack_from(">I", r)[0] == 0, "CREATE failed"
    fh, _ = k.take_opaque(r, 8)
    data = os.urandom(CHUNK)
    total = size_mib * 1048576
    start = time.perf_counter()
    for off in range(0, total, CHUNK):
        r = mode.call(k.NFS, 7, k.opaque(fh) + struct.pack(">QII", off, CHUNK, 2) + k.opaque(data))
        assert struct.unpack_from(">I", r)[0] == 0, "WRITE failed"
    write_s = time.perf_counter() - start
    start = time.perf_counter()
    for off in range(0, total, CHUNK):
        r = mode.call(k.NFS, 6, k.opaque(fh) + struct.pack(">QI", off, CHUNK))
        assert struct.unpack_from(">I", r)[0] == 0, "READ failed"
    read_s = time.perf_counter() - start
    lat = []
    for _ in range(count):
        t = time.perf_counter()
        mode.call(k.NFS, 1, k.opaque(fh))
        lat.append((time.perf_counter() - t) * 1e6)
    lat.sort()
    return {"write": total / write_s / 1e6, "read": total / read_s / 1e6,
            "p50": statistics.median(lat), "p99": lat[int(len(lat) * 0.99) - 1]}


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "build/release/bin/dfs")
    size_mib = int(sys.argv[2]) if len(sys.argv) > 2 else 64
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    d = tempfile.mkdtemp(prefix="security_bench.")
    realm = os.path.join(d, "realm")
    os.mkdir(realm)
    kdc = proc = None
    try:
        kdc = int(subprocess.run([sys.executable, k.__file__, "setup", realm], check=True,
                                 capture_output=True, text=True).stdout.strip())
        os.environ["KRB5_CONFIG"] = f"{realm}/krb5.conf"
        proc, nfs, api, password = start_dfs(binary, d, realm)
        k.make_alice(api, password)
        run(Mode("sys", nfs, realm, f"{d}/tls.pem"), 4, 100)  # warm-up, not counted
        rows = []
        for name in ("sys", "krb5", "krb5i", "krb5p", "tls"):
            rows.append((name, run(Mode(name, nfs, realm, f"{d}/tls.pem"), size_mib, count)))
        base = rows[0][1]
        print(f"NFSv3, {size_mib} MiB in {CHUNK // 1024} KiB calls, {count} GETATTRs, "
              "one call outstanding")
        print(f"{'mode':6} {'write MB/s':>11} {'read MB/s':>10} {'getattr p50 us':>15} "
              f"{'p99 us':>8}   ratio to sys (write, read, p50)")
        for name, r in rows:
            print(f"{name:6} {r['write']:11.1f} {r['read']:10.1f} {r['p50']:15.0f} "
                  f"{r['p99']:8.0f}   {r['write'] / base['write']:.2f} "
                  f"{r['read'] / base['read']:.2f} {r['p50'] / base['p50']:.2f}")
    finally:
        if proc:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
        if kdc:
            os.kill(kdc, signal.SIGTERM)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
