#!/usr/bin/env python3
"""RPCSEC_GSS (RFC 2203) with Kerberos V5 for krb5_test.cc: a throwaway MIT KDC and a
client written from the RFC over python-gssapi. tests/vm/kernel_krb5_test.sh uses its realm too.

  nfs_krb5_client.py setup DIR [SERVICE...]
                                     realm DFS.TEST with its KDC on a free loopback port (the
                                     port is in DIR/krb5.conf); keytab DIR/nfs.keytab with
                                     nfs/localhost, cifs/files.dfs.test for SMB (Samba's clients
                                     take no Kerberos to "localhost") and each SERVICE (e.g.
                                     nfs/server); the principals alice (password alicepw) and bob
                                     (bobpw), and their ccaches DIR/alice.cc and DIR/bob.cc;
                                     prints the KDC's pid
  nfs_krb5_client.py make-alice API_PORT ADMIN_PASSWORD
                                     changes admin's one-time password and makes the
                                     control-plane user alice (uid 4242)
  nfs_krb5_client.py run DIR PORT API_PORT ADMIN_PASSWORD
                                     makes the control-plane user alice (uid 4242), then the
                                     checks; prints key=value lines for the test

Exits 0 unless the client itself broke."""
import os
import socket
import struct
import subprocess
import sys

REALM = "DFS.TEST"
NFS, MOUNT = 100003, 100005
AUTH_NONE, AUTH_SYS, RPCSEC_GSS = 0, 1, 6
DATA, INIT, CONTINUE_INIT, DESTROY = 0, 1, 2, 3
NONE, INTEG, PRIV = 1, 2, 3


def env_for(d, ccache=None):
    e = dict(os.environ)
    e["KRB5_CONFIG"] = os.path.join(d, "krb5.conf")
    e["KRB5_KDC_PROFILE"] = os.path.join(d, "kdc.conf")
    if ccache:
        e["KRB5CCNAME"] = "FILE:" + os.path.join(d, ccache)
    return e


def setup(d, services=()):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with open(os.path.join(d, "krb5.conf"), "w") as f:
        f.write(f"""[libdefaults]
  default_realm = {REALM}
  dns_lookup_kdc = false
  dns_lookup_realm = false
  rdns = false
  udp_preference_limit = 1
[realms]
  {REALM} = {{
    kdc = 127.0.0.1:{port}
  }}
[domain_realm]
  localhost = {REALM}
  .dfs.test = {REALM}
""")
    with open(os.path.join(d, "kdc.conf"), "w") as f:
        f.write(f"""[kdcdefaults]
  kdc_ports = {port}
  kdc_tcp_ports = {port}
[realms]
  {REALM} = {{
    database_name = {d}/principal
    key_stash_file = {d}/stash
    acl_file = {d}/kadm5.acl
    max_life = 1h
  }}
[logging]
  kdc = FILE:{d}/kdc.log
""")
    open(os.path.join(d, "kadm5.acl"), "w").close()
    e = env_for(d)
    run = lambda *a, **k: subprocess.run(a, env=e, check=True, capture_output=True, **k)
    run("kdb5_util", "create", "-s", "-P", "masterpw", "-r", REALM)
    queries = []
    for service in ["nfs/localhost", "cifs/files.dfs.test", *services]:
        queries += [f"addprinc -randkey {service}", f"ktadd -k {d}/nfs.keytab {service}"]
    for q in queries + ["addprinc -randkey other/localhost", "addprinc -pw alicepw alice",
                        "addprinc -pw bobpw bob"]:
        run("kadmin.local", "-r", REALM, "-q", q)
    run("krb5kdc", "-r", REALM, "-P", f"{d}/kdc.pid")
    for user in ["alice", "bob"]:
        subprocess.run(["kinit", user], env=env_for(d, user + ".cc"), check=True,
                       input=(user + "pw\n").encode(), capture_output=True)
    print(open(f"{d}/kdc.pid").read().strip())


def opaque(b):
    return struct.pack(">I", len(b)) + b + b"\0" * ((4 - len(b) % 4) % 4)


def take_opaque(b, off):
    (n,) = struct.unpack_from(">I", b, off)
    return b[off + 4:off + 4 + n], off + 4 + n + (4 - n % 4) % 4


def auth_sys():
    return struct.pack(">I", AUTH_SYS) + opaque(
        struct.pack(">I", 0) + opaque(b"krbtest") + struct.pack(">III", 0, 0, 0))


class Rpc:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.xid = 0x6600

    def send(self, record):
        self.sock.sendall(struct.pack(">I", 0x80000000 | len(record)) + record)

    def recv_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError("connection closed")
            data += chunk
        return data

    def recv(self, timeout=10):
        self.sock.settimeout(timeout)
        try:
            record = b""
            while True:
                (mark,) = struct.unpack(">I", self.recv_exact(4))
                record += self.recv_exact(mark & 0x7FFFFFFF)
                if mark & 0x80000000:
                    return record
        finally:
            self.sock.settimeout(None)

    def parse(self, r):
        """("ok", verf_flavor, verf, results) / ("denied", auth_stat) / ("accept", stat)."""
        xid, mtype, stat = struct.unpack_from(">III", r, 0)
        if stat == 1:
            rej, what = struct.unpack_from(">II", r, 12)
            return ("denied", what if rej == 1 else -1)
        (vf,) = struct.unpack_from(">I", r, 12)
        verf, off = take_opaque(r, 16)
        (accept,) = struct.unpack_from(">I", r, off)
        if accept != 0:
            return ("accept", accept)
        return ("ok", vf, verf, r[off + 4:])


class GssClient:
    """One RPCSEC_GSS context over one connection."""

    def __init__(self, rpc, ccache_dir, ccache, target="nfs@localhost"):
        import gssapi
        os.environ["KRB5CCNAME"] = "FILE:" + os.path.join(ccache_dir, ccache)
        self.rpc = rpc
        self.ctx = gssapi.SecurityContext(
            name=gssapi.Name(target, gssapi.NameType.hostbased_service), usage="initiate",
            flags=gssapi.RequirementFlag.mutual_authentication)
        self.handle = b""
        self.seq = 0
        self.window = 0

    def cred(self, proc, seq, service, handle):
        body = struct.pack(">IIII", 1, proc, seq, service) + opaque(handle)
        return struct.pack(">I", RPCSEC_GSS) + opaque(body)

    def init(self):
        """Returns "ok", ("denied", stat) or ("gss", major)."""
        token = self.ctx.step()
        proc = INIT
        while True:
            self.rpc.xid += 1
            rec = (struct.pack(">IIIIII", self.rpc.xid, 0, 2, NFS, 3, 0) +
                   self.cred(proc, 0, NONE, self.handle) + struct.pack(">II", AUTH_NONE, 0) +
                   opaque(token))
            self.rpc.send(rec)
            p = self.rpc.parse(self.rpc.recv())
            if p[0] != "ok":
                return p
            res = p[3]
            handle, off = take_opaque(res, 0)
            major, minor, window = struct.unpack_from(">III", res, off)
            out, _ = take_opaque(res, off + 12)
            if major not in (0, 1):
                return ("gss", major)
            self.handle = handle
            if out:
                token = self.ctx.step(out)
            if major == 0:
                # RFC 2203 §5.2.3.1: the verifier is the checksum of the window.
                self.ctx.verify_signature(struct.pack(">I", window), p[2])
                self.window = window
                return "ok"
            proc = CONTINUE_INIT

    def record(self, prog, vers, proc, args, service, seq=None, handle=None, gss_proc=DATA):
        if seq is None:
            self.seq += 1
            seq = self.seq
        self.rpc.xid += 1
        header = (struct.pack(">IIIIII", self.rpc.xid, 0, 2, prog, vers, proc) +
                  self.cred(gss_proc, seq, service,
                            self.handle if handle is None else handle))
        verf = struct.pack(">I", RPCSEC_GSS) + opaque(self.ctx.get_signature(header))
        body = struct.pack(">I", seq) + args
        if service == INTEG:
            args = opaque(body) + opaque(self.ctx.get_signature(body))
        elif service == PRIV:
            args = opaque(self.ctx.wrap(body, True).message)
        return header + verf + args, seq

    def unprotect(self, p, seq, service):
        if p[0] != "ok":
            return p
        self.ctx.verify_signature(struct.pack(">I", seq), p[2])
        res = p[3]
        if service == INTEG:
            body, off = take_opaque(res, 0)
            mic, _ = take_opaque(res, off)
            self.ctx.verify_signature(body, mic)
            assert struct.unpack_from(">I", body)[0] == seq
            res = body[4:]
        elif service == PRIV:
            body, _ = take_opaque(res, 0)
            body = self.ctx.unwrap(body).message
            assert struct.unpack_from(">I", body)[0] == seq
            res = body[4:]
        return ("ok", res)

    def call(self, prog, vers, proc, args, service):
        rec, seq = self.record(prog, vers, proc, args, service)
        self.rpc.send(rec)
        return self.unprotect(self.rpc.parse(self.rpc.recv()), seq, service)


def show(p):
    return "ok" if p == "ok" or p[0] == "ok" else f"{p[0]}:{p[1]}"


def api(port, method, path, body, token=None):
    import json
    import urllib.request
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        text = r.read()
        return json.loads(text) if text else None


def make_alice(api_port, admin_password):
    token = api(api_port, "POST", "/api/v1/auth/login",
                {"username": "admin", "password": admin_password})["access_token"]
    api(api_port, "POST", "/api/v1/auth/password",
        {"current_password": admin_password, "new_password": "a-new-admin-password"}, token)
    token = api(api_port, "POST", "/api/v1/auth/login",
                {"username": "admin", "password": "a-new-admin-password"})["access_token"]
    api(api_port, "POST", "/api/v1/users", {"username": "alice", "password": "alice-password",
                                            "uid": 4242, "gid": 4242, "role": "user"}, token)


def run(d, port):
    out = {}
    names = {NONE: "krb5", INTEG: "krb5i", PRIV: "krb5p"}

    # Mount /secure (krb5p only) with AUTH_SYS: MNT succeeds and lists the flavors.
    rpc = Rpc(port)
    rpc.xid += 1
    rpc.send(struct.pack(">IIIIII", rpc.xid, 0, 2, MOUNT, 3, 1) + auth_sys() +
             struct.pack(">II", 0, 0) + opaque(b"/secure"))
    p = rpc.parse(rpc.recv())
    res = p[3]
    (status,) = struct.unpack_from(">I", res, 0)
    out["mnt /secure"] = status
    fh, off = take_opaque(res, 4)
    (n,) = struct.unpack_from(">I", res, off)
    out["flavors /secure"] = ",".join(str(x) for x in struct.unpack_from(f">{n}I", res, off + 4))
    rpc.xid += 1
    rpc.send(struct.pack(">IIIIII", rpc.xid, 0, 2, NFS, 3, 1) + auth_sys() +
             struct.pack(">II", 0, 0) + opaque(fh))
    out["sys getattr /secure"] = show(rpc.parse(rpc.recv()))

    for service in (NONE, INTEG, PRIV):
        name = names[service]
        rpc = Rpc(port)
        gss = GssClient(rpc, d, "alice.cc")
        out[f"{name} init"] = show(gss.init())
        out[f"{name} window"] = gss.window
        out[f"{name} null"] = show(gss.call(NFS, 3, 0, b"", service))
        # MNT /open over RPCSEC_GSS, then GETATTR, CREATE, WRITE, READ back.
        p = gss.call(MOUNT, 3, 1, opaque(b"/open"), service)
        ofh, _ = take_opaque(p[1], 4)
        out[f"{name} mnt /open"] = struct.unpack_from(">I", p[1])[0]
        p = gss.call(NFS, 3, 1, opaque(ofh), service)
        out[f"{name} getattr /open"] = struct.unpack_from(">I", p[1])[0]
        fname = f"file-{name}".encode()
        p = gss.call(NFS, 3, 8, opaque(ofh) + opaque(fname) + struct.pack(">I", 0) +
                     struct.pack(">6I", 0, 0, 0, 0, 0, 0), service)
        r = p[1]
        out[f"{name} create"] = struct.unpack_from(">I", r)[0]
        ffh, off = take_opaque(r, 8)  # status, post_op_fh3's bool
        # fattr3 after the handle: bool, type, mode, nlink, uid
        (follows, _type, _mode, _nlink, uid) = struct.unpack_from(">5I", r, off)
        out[f"{name} owner"] = uid
        data = (b"kerberos " + name.encode()) * 100
        p = gss.call(NFS, 3, 7, opaque(ffh) + struct.pack(">QII", 0, len(data), 2) + opaque(data),
                     service)
        out[f"{name} write"] = struct.unpack_from(">I", p[1])[0]
        p = gss.call(NFS, 3, 6, opaque(ffh) + struct.pack(">QI", 0, 65536), service)
        r = p[1]
        (st, follows) = struct.unpack_from(">II", r)
        off = 8 + (84 if follows else 0)
        back, _ = take_opaque(r, off + 8)
        out[f"{name} read"] = "same" if st == 0 and back == data else f"{st}:{len(back)}"
        # The krb5p-only share: only privacy gets in.
        out[f"{name} getattr /secure"] = show(gss.call(NFS, 3, 1, opaque(fh), service))
        # A replayed sequence number gets no reply; the connection serves on.
        rec, seq = gss.record(NFS, 3, 0, b"", service)
        rpc.send(rec)
        gss.unprotect(rpc.parse(rpc.recv()), seq, service)
        rpc.send(rec)
        try:
            rpc.recv(timeout=1.5)
            out[f"{name} replay"] = "answered"
        except socket.timeout:
            out[f"{name} replay"] = "dropped"
        out[f"{name} after replay"] = show(gss.call(NFS, 3, 0, b"", service))
        # Another context's handle (a made-up one) is a credential problem.
        rec, _ = gss.record(NFS, 3, 0, b"", service, handle=b"\x01" * 16)
        rpc.send(rec)
        out[f"{name} foreign handle"] = show(rpc.parse(rpc.recv()))
        # A body whose checksum does not match is GARBAGE_ARGS.
        if service == INTEG:
            rec, _ = gss.record(NFS, 3, 0, b"", service)
            rpc.send(rec[:-1] + bytes([rec[-1] ^ 1]))
            out["krb5i tampered"] = show(rpc.parse(rpc.recv()))
        # DESTROY: answered, then the handle is gone.
        rec, seq = gss.record(NFS, 3, 0, b"", service, gss_proc=DESTROY)
        rpc.send(rec)
        out[f"{name} destroy"] = show(gss.unprotect(rpc.parse(rpc.recv()), seq, service))
        out[f"{name} after destroy"] = show(gss.call(NFS, 3, 0, b"", service))

    # bob has a ticket but no dfs user: refused at context creation.
    out["bob init"] = show(GssClient(Rpc(port), d, "bob.cc").init())
    # A ticket for another service is not accepted with dfs's keytab.
    try:
        out["other service init"] = show(
            GssClient(Rpc(port), d, "alice.cc", target="other@localhost").init())
    except Exception as e:  # noqa: BLE001
        out["other service init"] = "client error: " + type(e).__name__
    for k, v in out.items():
        print(f"{k}={v}")


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup(sys.argv[2], sys.argv[3:])
    elif sys.argv[1] == "make-alice":
        make_alice(int(sys.argv[2]), sys.argv[3])
    else:
        make_alice(int(sys.argv[4]), sys.argv[5])
        run(sys.argv[2], int(sys.argv[3]))
