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
  nfs_krb5_client.py backchannel DIR PORT API_PORT ADMIN_PASSWORD
                                     alice makes NFSv4.1 sessions whose backchannel uses her
                                     RPCSEC_GSS context; another client's OPEN makes dfs recall
                                     her delegation over it; prints key=value lines
  nfs_krb5_client.py tickets DIR PORT API_PORT ADMIN_PASSWORD SKEW
                                     a replayed AP-REQ, one held longer than the server's clock
                                     skew (SKEW seconds), and one of an expired ticket, each
                                     sent in an RPCSEC_GSS INIT; prints key=value lines
  nfs_krb5_client.py run DIR PORT API_PORT ADMIN_PASSWORD
                                     makes the control-plane user alice (uid 4242), then the
                                     checks; prints key=value lines for the test

Exits 0 unless the client itself broke."""
import os
import socket
import struct
import subprocess
import sys
import time

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


# NFSv4.1 over RPCSEC_GSS, for the backchannel (RFC 8881 §2.10.8.3): just the operations
# the check needs, encoded from RFC 8881's XDR.
OP_PUTROOTFH, OP_LOOKUP, OP_OPEN, OP_EXCHANGE_ID, OP_CREATE_SESSION, OP_SEQUENCE = (
    24, 15, 18, 42, 43, 53)
OP_RECLAIM_COMPLETE = 58
OP_CB_RECALL, OP_CB_SEQUENCE = 4, 11
CB_PROGRAM = 0x40000000
NFS4ERR_NOENT, NFS4ERR_DELAY = 2, 10008
SEQ4_STATUS_CB_PATH_DOWN, SEQ4_STATUS_CB_PATH_DOWN_SESSION = 0x1, 0x200


class V41:
    """One NFSv4.1 client over its own RPCSEC_GSS context and connection."""

    def __init__(self, port, d, owner, service):
        self.rpc = Rpc(port)
        self.gss = GssClient(self.rpc, d, "alice.cc")
        init = self.gss.init()
        assert init == "ok", init
        self.owner = owner
        self.service = service
        self.clientid = 0
        self.session = b""
        self.slot_seq = 0

    def compound(self, ops):
        """(status, [(op, status, result bytes from there on)...]) of the COMPOUND of `ops`."""
        args = opaque(b"") + struct.pack(">II", 1, len(ops)) + b"".join(ops)
        p = self.gss.call(NFS, 4, 1, args, self.service)
        assert p[0] == "ok", p
        return parse_compound(p[1])

    def exchange_id(self):
        status, res = self.compound([struct.pack(">I", OP_EXCHANGE_ID) + b"\0" * 8 +
                                     opaque(self.owner) + struct.pack(">III", 0, 0, 0)])
        assert status == 0, status
        self.clientid, seq = struct.unpack_from(">QI", res[0][2])
        return seq

    def create_session(self, seq, sec_parms, back=True):
        chan = struct.pack(">7I", 0, 1 << 20, 1 << 20, 8192, 16, 4, 0)
        back_chan = struct.pack(">7I", 0, 4096, 4096, 0, 4, 1, 0)
        status, res = self.compound([
            struct.pack(">IQII", OP_CREATE_SESSION, self.clientid, seq, 2 if back else 0) +
            chan + back_chan + struct.pack(">II", CB_PROGRAM, len(sec_parms)) +
            b"".join(sec_parms)])
        if status == 0:
            self.session = res[0][2][:16]
            # RFC 8881 §18.51.3: before its first non-reclaim OPEN, even with nothing to reclaim.
            st, _ = self.compound([self.sequence(), struct.pack(">II", OP_RECLAIM_COMPLETE, 0)])
            assert st == 0, st
        return status

    def sequence(self):
        self.slot_seq += 1
        return (struct.pack(">I", OP_SEQUENCE) + self.session +
                struct.pack(">IIII", self.slot_seq, 0, 0, 0))

    def status_flags(self):
        status, res = self.compound([self.sequence()])
        assert status == 0, status
        return struct.unpack_from(">I", res[0][2], 16 + 16)[0]

    def open(self, name, create, access):
        """The OPEN's status, and the delegation type it gave."""
        how = struct.pack(">III", 1, 0, 0) + opaque(b"") if create else struct.pack(">I", 0)
        op = (struct.pack(">IIII", OP_OPEN, 0, access, 0) +
              struct.pack(">Q", self.clientid) + opaque(self.owner) + how +
              struct.pack(">I", 0) + opaque(name))
        return self.compound([self.sequence(), struct.pack(">I", OP_PUTROOTFH),
                              struct.pack(">I", OP_LOOKUP) + opaque(b"open"), op])


def parse_compound(res):
    (status,) = struct.unpack_from(">I", res, 0)
    _, off = take_opaque(res, 4)
    (n,) = struct.unpack_from(">I", res, off)
    off += 4
    results = []
    for _ in range(n):
        op, st = struct.unpack_from(">II", res, off)
        results.append((op, st, res[off + 8:]))
        if op == OP_SEQUENCE and st == 0:
            off += 8 + 16 + 20
        elif op == OP_PUTROOTFH or st != 0:
            off += 8
        elif op == OP_LOOKUP:
            off += 8
        else:
            break  # nothing after it is needed
    return status, results


def open_delegation(results):
    """The delegation type of an OPEN's result (RFC 8881 §18.16.2), or -1 when it failed."""
    op, st, r = results[-1]
    if op != OP_OPEN or st != 0:
        return -1
    off = 16 + 20 + 4  # stateid, change_info4, rflags
    (words,) = struct.unpack_from(">I", r, off)
    off += 4 + 4 * words
    return struct.unpack_from(">I", r, off)[0]


def gss_sec_parms(service, server_handle, client_handle):
    return struct.pack(">II", RPCSEC_GSS, service) + opaque(server_handle) + opaque(client_handle)


def answer_callback(a, client_handle, service, forge_verifier=False):
    """Reads the callback A's backchannel carries, checks its RPCSEC_GSS protection, answers it.
    Returns what was seen, as a string."""
    r = a.rpc.recv(timeout=20)
    xid, mtype, _, prog, vers, proc = struct.unpack_from(">6I", r, 0)
    if mtype != 0:
        return "not a call"
    (flavor,) = struct.unpack_from(">I", r, 24)
    if flavor != RPCSEC_GSS:
        return f"flavor {flavor}"
    body, off = take_opaque(r, 28)
    version, gss_proc, seq, svc = struct.unpack_from(">4I", body, 0)
    handle, _ = take_opaque(body, 16)
    if (version, gss_proc, svc, handle) != (1, DATA, service, client_handle):
        return f"credential {version},{gss_proc},{svc},{handle!r}"
    (vflavor,) = struct.unpack_from(">I", r, off)
    verf, args_off = take_opaque(r, off + 4)
    a.gss.ctx.verify_signature(r[:off], verf)  # raises when the header's checksum is wrong
    # The arguments as the service protected them (§5.3.2), with the call's sequence number.
    raw = r[args_off:]
    if service == INTEG:
        databody, o = take_opaque(raw, 0)
        mic, _ = take_opaque(raw, o)
        a.gss.ctx.verify_signature(databody, mic)
        inner, args = struct.unpack_from(">I", databody)[0], databody[4:]
    elif service == PRIV:
        wrapped, _ = take_opaque(raw, 0)
        databody = a.gss.ctx.unwrap(wrapped).message
        inner, args = struct.unpack_from(">I", databody)[0], databody[4:]
    else:
        inner, args = seq, raw
    if inner != seq:
        return "inner sequence number"
    _, o = take_opaque(args, 0)  # tag
    minor, _ident, n = struct.unpack_from(">III", args, o)
    first = struct.unpack_from(">I", args, o + 12)[0]
    second = struct.unpack_from(">I", args, o + 16 + 36)[0]
    seen = f"prog {prog:#x} vers {vers} proc {proc} ops {n} {first},{second}"
    cb_seq = args[o + 16:o + 16 + 20]  # sessionid, sequenceid
    results = (struct.pack(">I", 0) + opaque(b"") + struct.pack(">I", 2) +
               struct.pack(">II", OP_CB_SEQUENCE, 0) + cb_seq + struct.pack(">III", 0, 0, 0) +
               struct.pack(">II", OP_CB_RECALL, 0))
    body = struct.pack(">I", seq) + results
    if service == INTEG:
        results = opaque(body) + opaque(a.gss.ctx.get_signature(body))
    elif service == PRIV:
        results = opaque(a.gss.ctx.wrap(body, True).message)
    reply_verf = a.gss.ctx.get_signature(struct.pack(">I", seq + (1 if forge_verifier else 0)))
    a.rpc.send(struct.pack(">III", xid, 1, 0) + struct.pack(">I", RPCSEC_GSS) +
               opaque(reply_verf) + struct.pack(">I", 0) + results)
    return seen


def run_backchannel(d, port):
    out = {}
    names = {NONE: "krb5", INTEG: "krb5i", PRIV: "krb5p"}
    # A handle this server never gave names no context: NFS4ERR_NOENT.
    c = V41(port, d, b"cb-noent", INTEG)
    out["unknown handle"] = c.create_session(
        c.exchange_id(), [gss_sec_parms(INTEG, b"\x01" * 16, b"cb")])
    for service, forge in [(NONE, False), (INTEG, False), (PRIV, False), (INTEG, True)]:
        name = names[service] + (" forged reply" if forge else "")
        a = V41(port, d, f"cb-a-{name}".encode(), service)
        client_handle = f"back-{name}".encode()
        out[f"{name} session"] = a.create_session(
            a.exchange_id(), [struct.pack(">I", AUTH_NONE),
                              gss_sec_parms(service, a.gss.handle, client_handle)])
        fname = f"deleg-{name}".encode()
        status, res = a.open(fname, True, 3)
        out[f"{name} delegation"] = open_delegation(res) if status == 0 else f"status {status}"
        # Another client's OPEN conflicts: the server recalls A's delegation over A's
        # backchannel, under A's context.
        b = V41(port, d, f"cb-b-{name}".encode(), service)
        b.create_session(b.exchange_id(), [struct.pack(">I", AUTH_NONE)], back=False)
        b.rpc.xid += 1000
        rec, _ = b.gss.record(NFS, 4, 1, opaque(b"") + struct.pack(">II", 1, 4) + b"".join([
            b.sequence(), struct.pack(">I", OP_PUTROOTFH),
            struct.pack(">I", OP_LOOKUP) + opaque(b"open"),
            struct.pack(">IIII", OP_OPEN, 0, 1, 0) + struct.pack(">Q", b.clientid) +
            opaque(b.owner) + struct.pack(">I", 0) + struct.pack(">I", 0) + opaque(fname)]),
            service)
        b.rpc.send(rec)
        try:
            out[f"{name} callback"] = answer_callback(a, client_handle, service, forge)
        except Exception as e:  # noqa: BLE001
            out[f"{name} callback"] = "error: " + repr(e)
        # The server took A's reply (or refused the forged one: the path is down).
        time.sleep(0.3)
        flags = a.status_flags()
        out[f"{name} path down"] = int(bool(flags & (SEQ4_STATUS_CB_PATH_DOWN |
                                                     SEQ4_STATUS_CB_PATH_DOWN_SESSION)))
    for k, v in out.items():
        print(f"{k}={v}")


# MIT krb5's error codes (krb5_err.et) in gss_minor, as a name.
KRB5_MINOR = {
    0x96C73A20 - (1 << 32): "ticket expired",  # KRB5KRB_AP_ERR_TKT_EXPIRED
    0x96C73A25 - (1 << 32): "clock skew",      # KRB5KRB_AP_ERR_SKEW
    0x96C73A22 - (1 << 32): "replay",          # KRB5KRB_AP_ERR_REPEAT
}


def send_init(port, token):
    """An RPCSEC_GSS INIT carrying `token` on a new connection: "complete", or the refusal."""
    rpc = Rpc(port)
    rpc.xid += 1
    rpc.send(struct.pack(">IIIIII", rpc.xid, 0, 2, NFS, 3, 0) +
             struct.pack(">I", RPCSEC_GSS) + opaque(struct.pack(">IIII", 1, INIT, 0, NONE) +
                                                    opaque(b"")) +
             struct.pack(">II", AUTH_NONE, 0) + opaque(token))
    p = rpc.parse(rpc.recv())
    if p[0] != "ok":
        return show(p)
    handle, off = take_opaque(p[3], 0)
    major, minor = struct.unpack_from(">Ii", p[3], off)
    if major == 0:
        return "complete"
    return f"gss major {major:#x}: {KRB5_MINOR.get(minor, minor)}"


def first_token(d, ccache):
    import gssapi
    os.environ["KRB5CCNAME"] = "FILE:" + os.path.join(d, ccache)
    ctx = gssapi.SecurityContext(name=gssapi.Name("nfs@localhost",
                                                  gssapi.NameType.hostbased_service),
                                 usage="initiate",
                                 flags=gssapi.RequirementFlag.mutual_authentication)
    return ctx.step()


def run_tickets(d, port, skew):
    """A replayed AP-REQ, one held past the server's clock skew, and one whose ticket expired."""
    out = {}
    token = first_token(d, "alice.cc")
    out["first"] = send_init(port, token)
    out["replayed"] = send_init(port, token)
    token = first_token(d, "alice.cc")
    time.sleep(skew + 2)
    out["late"] = send_init(port, token)
    subprocess.run(["kinit", "-l", "2s", "alice"], env=env_for(d, "short.cc"), check=True,
                   input=b"alicepw\n", capture_output=True)
    token = first_token(d, "short.cc")
    time.sleep(skew + 3)
    out["expired"] = send_init(port, token)
    out["fresh"] = send_init(port, first_token(d, "alice.cc"))
    for k, v in out.items():
        print(f"{k}={v}")


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
    elif sys.argv[1] == "tickets":
        make_alice(int(sys.argv[4]), sys.argv[5])
        run_tickets(sys.argv[2], int(sys.argv[3]), int(sys.argv[6]))
    elif sys.argv[1] == "backchannel":
        make_alice(int(sys.argv[4]), sys.argv[5])
        run_backchannel(sys.argv[2], int(sys.argv[3]))
    else:
        make_alice(int(sys.argv[4]), sys.argv[5])
        run(sys.argv[2], int(sys.argv[3]))
