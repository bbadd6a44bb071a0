#!/usr/bin/env python3
"""An RPC-with-TLS (RFC 9289) client for nfs_tls_test.cc, written from the RFC with Python's
ssl module: it sends the AUTH_TLS probe itself, expects "STARTTLS", then runs the TLS 1.3
handshake with ALPN "sunrpc" on the same connection and speaks NFSv3, MOUNT and NFSv4 inside it.

  nfs_tls_client.py HOST PORT probe
  nfs_tls_client.py HOST PORT session [--tls --ca CA [--cert CERT --key KEY]] [--share S]...

Prints key=value lines for the test to check; exits 0 unless the client itself broke."""
import argparse
import os
import socket
import ssl
import struct
import sys

NFS, MOUNT = 100003, 100005
AUTH_NONE, AUTH_SYS, AUTH_TLS = 0, 1, 7


def opaque(b):
    return struct.pack(">I", len(b)) + b + b"\0" * ((4 - len(b) % 4) % 4)


def auth_sys():
    return struct.pack(">I", AUTH_SYS) + opaque(
        struct.pack(">I", 0) + opaque(b"tlstest") + struct.pack(">III", 0, 0, 0))


class Rpc:
    def __init__(self, sock):
        self.sock = sock
        self.xid = 0x7100

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

    def recv(self):
        record = b""
        while True:
            (mark,) = struct.unpack(">I", self.recv_exact(4))
            record += self.recv_exact(mark & 0x7FFFFFFF)
            if mark & 0x80000000:
                return record

    def call(self, prog, vers, proc, args=b"", cred=None):
        """Returns ("ok", results), ("denied", auth_stat) or ("accept", accept_stat)."""
        self.xid += 1
        cred = cred if cred is not None else auth_sys()
        self.send(struct.pack(">IIIIII", self.xid, 0, 2, prog, vers, proc) + cred +
                  struct.pack(">II", AUTH_NONE, 0) + args)
        reply = self.recv()
        xid, mtype, stat = struct.unpack(">III", reply[:12])
        assert xid == self.xid and mtype == 1, (xid, mtype)
        if stat == 1:  # MSG_DENIED
            reject, value = struct.unpack(">II", reply[12:20])
            return ("denied", value) if reject == 1 else ("mismatch", value)
        flavor, length = struct.unpack(">II", reply[12:20])
        at = 20 + length + (4 - length % 4) % 4
        self.last_verifier = (flavor, reply[20:20 + length])
        (accept,) = struct.unpack(">I", reply[at:at + 4])
        if accept != 0:
            return ("accept", accept)
        return ("ok", reply[at + 4:])


def probe(rpc):
    """RFC 9289 §4.1: NULL with AUTH_TLS (empty body), AUTH_NONE verifier."""
    kind, value = rpc.call(NFS, 3, 0, cred=struct.pack(">II", AUTH_TLS, 0))
    if kind == "ok" and rpc.last_verifier == (AUTH_NONE, b"STARTTLS"):
        return "starttls"
    return "%s:%s" % (kind, value)


def start_tls(sock, args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(args.ca)
    if args.cert:
        ctx.load_cert_chain(args.cert, args.key)
    if args.alpn != "none":
        ctx.set_alpn_protocols([args.alpn])
    tls = ctx.wrap_socket(sock, server_hostname="localhost")
    if args.alpn != "none" and tls.selected_alpn_protocol() != "sunrpc":
        raise ssl.SSLError("the server chose ALPN %r" % tls.selected_alpn_protocol())
    peer = dict(x[0] for x in tls.getpeercert()["subject"])
    return tls, peer.get("commonName", "")


def status_of(result):
    kind, value = result
    if kind == "ok":
        return struct.unpack(">I", value[:4])[0], value[4:]
    return "%s:%s" % (kind, value), b""


def mount(rpc, share):
    status, rest = status_of(rpc.call(MOUNT, 3, 1, opaque(share.encode())))
    fh = b""
    if status == 0:
        (n,) = struct.unpack(">I", rest[:4])
        fh = rest[4:4 + n]
    return status, fh


def compound(rpc, minor, ops):
    args = opaque(b"") + struct.pack(">II", minor, len(ops)) + b"".join(ops)
    status, _ = status_of(rpc.call(NFS, 4, 1, args))
    return status


def exchange_id():
    owner = os.urandom(8) + opaque(b"nfs-tls-test-%d" % os.getpid())
    # client_owner4, flags, state_protect4_a (SP4_NONE), client_impl_id<1> (none)
    return struct.pack(">I", 42) + owner + struct.pack(">III", 0, 0, 0)


def session(host, port, args):
    sock = socket.create_connection((host, port), timeout=10)
    rpc = Rpc(sock)
    if args.tls:
        print("probe=" + probe(rpc))
        try:
            rpc.sock, cn = start_tls(sock, args)
        except (ssl.SSLError, OSError, EOFError) as e:
            print("tls=refused (%s)" % e)
            return
        print("tls=ok")
        print("server_cn=" + cn)
    try:
        print("null=" + rpc.call(NFS, 3, 0)[0])  # NULL has no results: "ok" or the refusal
        for share in args.share:
            status, fh = mount(rpc, share)
            print("mnt %s=%s" % (share, status))
            if fh:
                print("getattr %s=%s" % (share, status_of(rpc.call(NFS, 3, 1, opaque(fh)))[0]))
                if args.plain_too:
                    plain = Rpc(socket.create_connection((host, port), timeout=10))
                    print("plain_getattr %s=%s" %
                          (share, status_of(plain.call(NFS, 3, 1, opaque(fh)))[0]))
                    plain.sock.close()
            name = share.strip("/").encode()
            print("v4lookup %s=%s" % (share, compound(rpc, 0, [
                struct.pack(">I", 24), struct.pack(">I", 15) + opaque(name)])))
        print("exchange_id=%s" % compound(rpc, 1, [exchange_id()]))
    except (EOFError, ConnectionError, ssl.SSLError, socket.timeout) as e:
        print("closed=%s" % e)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("what", choices=["probe", "session"])
    p.add_argument("--tls", action="store_true")
    p.add_argument("--ca")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--alpn", default="sunrpc")  # "none": offer no ALPN
    p.add_argument("--share", action="append", default=[])
    p.add_argument("--plain-too", action="store_true")
    args = p.parse_args()
    if args.what == "probe":
        rpc = Rpc(socket.create_connection((args.host, args.port), timeout=10))
        print("probe=" + probe(rpc))
        print("null_after=" + rpc.call(NFS, 3, 0)[0])
    else:
        session(args.host, args.port, args)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
