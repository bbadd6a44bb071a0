#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The SMB side of kernel_acl_test.sh, on the host (python3-impacket): meets the guest's NFS
client (acl_guest.sh) through marker files in the shared folder DIR, and prints one "PASS: ..."
or "FAIL: ..." line per check.

  1. DIR/nfs-deny-ready: the guest put a DENY ACE for alice (READ_DATA) on acl/nfs-deny.txt
     with nfs4_setfacl. Over SMB alice's open of it for reading must be refused with
     STATUS_ACCESS_DENIED, while its owner bob reads it, and alice reads acl/open.txt (no ACL);
     its security descriptor must start with that DENY ACE for alice's SID. -> DIR/nfs-deny-checked
  2. DIR/smb-deny-ready: bob, the owner of acl/smb-deny.txt, puts a DENY ACE for alice's SID
     (FILE_READ_DATA) first in its DACL with SET_INFO; alice's open for reading is then refused
     over SMB too. -> DIR/smb-deny-set (the guest checks what NFS makes of it)
  3. DIR/notify-ready: admin watches the directory "notify" with CHANGE_NOTIFY
     (FILE_NOTIFY_CHANGE_FILE_NAME). -> DIR/watching; the guest creates notify/from-nfs3.txt
     over NFSv3, which must come back as FILE_ACTION_ADDED. The watch is set again
     -> DIR/watching-2; the guest removes the file over NFSv4.1: FILE_ACTION_REMOVED.
     -> DIR/notify-done

Waiting stops early when DIR/guest-exited appears (the VM ended). Exit status 0 when every check
passed.

usage: acl_side.py HOST PORT ADMIN_PASSWORD MACHINE_SID DIR
"""
import os
import struct
import sys
import time

from impacket import smb3, smb3structs as s3
from impacket.nt_errors import STATUS_ACCESS_DENIED, STATUS_PENDING
from impacket.smbconnection import SMBConnection, SessionError

# The SMB peer of the integration tests reads (and unseals) a server message the same way.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from smb_peer import read_packet  # noqa: E402

PASSWORDS = {"alice": "Alice-Pw-1", "bob": "Bob-Pw-1"}
ALICE_UID = 2001

FILE_READ_DATA = 0x1
READ_CONTROL = 0x20000
WRITE_DAC = 0x40000
FILE_LIST_DIRECTORY = 0x1
DACL_SECURITY_INFORMATION = 0x4
OWNER_GROUP_DACL = 0x7
ACCESS_ALLOWED_ACE_TYPE = 0
ACCESS_DENIED_ACE_TYPE = 1
FILE_NOTIFY_CHANGE_FILE_NAME = 0x1
FILE_ACTION_ADDED = 1
FILE_ACTION_REMOVED = 2

failures = 0


def check(description, ok, detail=""):
    global failures
    if ok:
        print("PASS: host SMB:", description, flush=True)
    else:
        failures += 1
        print("FAIL: host SMB:", description + (": " + detail if detail else ""), flush=True)


class GuestGone(Exception):
    pass


def wait_for(folder, name, seconds):
    path = os.path.join(folder, name)
    deadline = time.time() + seconds
    while not os.path.exists(path):
        if os.path.exists(os.path.join(folder, "guest-exited")):
            raise GuestGone("the guest ended before it made " + name)
        if time.time() > deadline:
            raise GuestGone("timed out waiting for " + name)
        time.sleep(0.2)


def touch(folder, name):
    open(os.path.join(folder, name), "w").close()


def error_code(e):
    # smb3's SessionError names it get_error_code, smbconnection's getErrorCode.
    return e.get_error_code() if hasattr(e, "get_error_code") else e.getErrorCode()


class Client:
    """One user's SMB 3.0 session with the share's tree connected."""

    def __init__(self, host, port, user, password):
        self.conn = SMBConnection(host, host, sess_port=int(port),
                                  preferredDialect=s3.SMB2_DIALECT_30)
        self.conn.login(user, password)
        self.tid = self.conn.connectTree("export")
        self.smb = self.conn.getSMBServer()

    def open(self, name, access, directory=False):
        options = s3.FILE_DIRECTORY_FILE if directory else s3.FILE_NON_DIRECTORY_FILE
        return self.smb.create(self.tid, name, access, 7, options, s3.FILE_OPEN, 0)

    def read_all(self, name):
        """The file's first 4 KiB, or the NTSTATUS of the refused open."""
        try:
            fid = self.open(name, FILE_READ_DATA)
        except (SessionError, smb3.SessionError) as e:
            return error_code(e)
        try:
            return self.smb.read(self.tid, fid, 0, 4096)
        finally:
            self.smb.close(self.tid, fid)

    def get_sd(self, fid, info):
        return self.smb.queryInfo(self.tid, fid, infoType=s3.SMB2_0_INFO_SECURITY,
                                  fileInfoClass=0, additionalInformation=info)

    def set_sd(self, fid, info, sd):
        self.smb.setInfo(self.tid, fid, sd, infoType=s3.SMB2_0_INFO_SECURITY, fileInfoClass=0,
                         additionalInformation=info)

    def close(self):
        self.conn.close()


# Security descriptors (MS-DTYP 2.4.6, self-relative), decoded and encoded here independently.

def parse_sid(blob, at):
    revision, count = blob[at], blob[at + 1]
    authority = int.from_bytes(blob[at + 2:at + 8], "big")
    subs = struct.unpack_from("<%dI" % count, blob, at + 8)
    return "S-%d-%d" % (revision, authority) + "".join("-%d" % s for s in subs)


def encode_sid(text):
    parts = text.split("-")
    subs = [int(p) for p in parts[3:]]
    return (bytes([int(parts[1]), len(subs)]) + int(parts[2]).to_bytes(6, "big") +
            struct.pack("<%dI" % len(subs), *subs))


def dacl_aces(sd):
    """The DACL's ACEs as (type, flags, mask, sid, raw bytes)."""
    offset_dacl = struct.unpack_from("<I", sd, 16)[0]
    if offset_dacl == 0:
        return []
    _, _, _, count, _ = struct.unpack_from("<BBHHH", sd, offset_dacl)
    at, aces = offset_dacl + 8, []
    for _ in range(count):
        ace_type, flags, size = struct.unpack_from("<BBH", sd, at)
        mask = struct.unpack_from("<I", sd, at + 4)[0]
        sid = parse_sid(sd, at + 8) if ace_type in (ACCESS_ALLOWED_ACE_TYPE,
                                                    ACCESS_DENIED_ACE_TYPE) else ""
        aces.append((ace_type, flags, mask, sid, sd[at:at + size]))
        at += size
    return aces


def dacl_only_sd(raw_aces):
    """A descriptor with only a DACL (SE_DACL_PRESENT | SE_SELF_RELATIVE) of these ACEs."""
    body = b"".join(raw_aces)
    acl = struct.pack("<BBHHH", 2, 0, 8 + len(body), len(raw_aces), 0) + body
    return struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 20) + acl


def ace(ace_type, mask, sid):
    body = struct.pack("<I", mask) + encode_sid(sid)
    return struct.pack("<BBH", ace_type, 0, 4 + len(body)) + body


def describe(aces):
    kinds = {ACCESS_ALLOWED_ACE_TYPE: "ALLOW", ACCESS_DENIED_ACE_TYPE: "DENY"}
    return ", ".join("%s %s 0x%x" % (kinds.get(t, t), sid, mask) for t, _, mask, sid, _ in aces)


def nfs_deny_seen_over_smb(host, port, admin_password, alice_sid):
    alice = Client(host, port, "alice", PASSWORDS["alice"])
    bob = Client(host, port, "bob", PASSWORDS["bob"])
    got = alice.read_all("acl/nfs-deny.txt")
    check("nfs4_setfacl's DENY: alice's SMB open for reading is refused (STATUS_ACCESS_DENIED)",
          got == STATUS_ACCESS_DENIED, "got %r" % (got if isinstance(got, bytes) else hex(got)))
    got = bob.read_all("acl/nfs-deny.txt")
    check("nfs4_setfacl's DENY: the owner bob still reads the file over SMB",
          got == b"secret\n", "got %r" % got)
    got = alice.read_all("acl/open.txt")
    check("alice reads a file without an ACL over SMB", got == b"open\n", "got %r" % got)
    admin = Client(host, port, "admin", admin_password)
    fid = admin.open("acl/nfs-deny.txt", READ_CONTROL)
    aces = dacl_aces(admin.get_sd(fid, OWNER_GROUP_DACL))
    admin.smb.close(admin.tid, fid)
    first = aces[0] if aces else None
    check("the security descriptor starts with a DENY ACE for alice's SID " + alice_sid +
          " with FILE_READ_DATA",
          first is not None and first[0] == ACCESS_DENIED_ACE_TYPE and first[3] == alice_sid and
          first[2] & FILE_READ_DATA, "DACL: " + describe(aces))
    for client in (alice, bob, admin):
        client.close()


def smb_deny(host, port, alice_sid):
    bob = Client(host, port, "bob", PASSWORDS["bob"])
    fid = bob.open("acl/smb-deny.txt", READ_CONTROL | WRITE_DAC)
    aces = dacl_aces(bob.get_sd(fid, OWNER_GROUP_DACL))
    deny = ace(ACCESS_DENIED_ACE_TYPE, FILE_READ_DATA, alice_sid)
    try:
        bob.set_sd(fid, DACL_SECURITY_INFORMATION, dacl_only_sd([deny] + [a[4] for a in aces]))
        check("the owner bob sets a DACL that denies alice FILE_READ_DATA over SMB", True)
    except (SessionError, smb3.SessionError) as e:
        check("the owner bob sets a DACL that denies alice FILE_READ_DATA over SMB", False,
              "NTSTATUS 0x%x" % error_code(e))
    after = dacl_aces(bob.get_sd(fid, OWNER_GROUP_DACL))
    bob.smb.close(bob.tid, fid)
    check("the DACL read back starts with the DENY ACE for alice",
          after and after[0][0] == ACCESS_DENIED_ACE_TYPE and after[0][3] == alice_sid,
          "DACL: " + describe(after))
    alice = Client(host, port, "alice", PASSWORDS["alice"])
    got = alice.read_all("acl/smb-deny.txt")
    check("after the SMB DENY, alice's SMB open for reading is refused",
          got == STATUS_ACCESS_DENIED, "got %r" % (got if isinstance(got, bytes) else hex(got)))
    for client in (alice, bob):
        client.close()


def read_notify(smb, notify_id):
    """The FILE_NOTIFY_INFORMATION entries of a CHANGE_NOTIFY answer as "action:name"."""
    answer = smb.recvSMB(notify_id)
    if answer["Status"] != 0:
        raise smb3.SessionError(answer["Status"])
    response = s3.SMB2ChangeNotify_Response(answer["Data"])
    buf, at, changes = response["Buffer"], 0, []
    while at + 12 <= len(buf):
        entry = s3.FILE_NOTIFY_INFORMATION(buf[at:])
        changes.append("%d:%s" % (entry["Action"], entry["FileName"].decode("utf-16-le")))
        if entry["NextEntryOffset"] == 0:
            break
        at += entry["NextEntryOffset"]
    return changes


def watch(client, fid):
    """Sends CHANGE_NOTIFY on the directory `fid` and returns once the server answered it
    STATUS_PENDING (the watch is in place)."""
    smb = client.smb
    packet = smb.SMB_PACKET()
    packet["Command"] = s3.SMB2_CHANGE_NOTIFY
    packet["TreeID"] = client.tid
    request = s3.SMB2ChangeNotify()
    request["Flags"] = 0
    request["OutputBufferLength"] = 65536
    request["FileID"] = fid
    request["CompletionFilter"] = FILE_NOTIFY_CHANGE_FILE_NAME
    packet["Data"] = request
    notify_id = smb.sendSMB(packet)
    # impacket's recvSMB would wait past the interim STATUS_PENDING answer for the final one:
    # read the next message here. Anything but STATUS_PENDING is the final answer already,
    # kept where recvSMB finds it.
    first = read_packet(smb)
    if first["Status"] != STATUS_PENDING:
        smb._Connection["OutstandingResponses"][first["MessageID"]] = first
    return notify_id


def expect_change(client, notify_id, change, description):
    try:
        changes = read_notify(client.smb, notify_id)
    except (SessionError, smb3.SessionError) as e:
        check(description, False, "NTSTATUS 0x%x" % error_code(e))
        return
    except Exception as e:  # noqa: BLE001 (impacket's timeouts have several types)
        check(description, False, "no answer: %s" % e)
        return
    check(description, change in changes, "got %s" % changes)


def notify_from_nfs(host, port, admin_password, folder):
    admin = Client(host, port, "admin", admin_password)
    fid = admin.open("notify", FILE_LIST_DIRECTORY, directory=True)
    notify_id = watch(admin, fid)
    touch(folder, "watching")
    expect_change(admin, notify_id, "%d:from-nfs3.txt" % FILE_ACTION_ADDED,
                  "CHANGE_NOTIFY reports FILE_ACTION_ADDED for a file the guest created over NFSv3")
    notify_id = watch(admin, fid)
    touch(folder, "watching-2")
    expect_change(admin, notify_id, "%d:from-nfs3.txt" % FILE_ACTION_REMOVED,
                  "CHANGE_NOTIFY reports FILE_ACTION_REMOVED for the file removed over NFSv4.1")
    admin.smb.close(admin.tid, fid)
    admin.close()


def main():
    host, port, admin_password, machine_sid, folder = sys.argv[1:6]
    alice_sid = "%s-%d" % (machine_sid, 1000 + 2 * ALICE_UID)
    try:
        wait_for(folder, "nfs-deny-ready", 600)
        nfs_deny_seen_over_smb(host, port, admin_password, alice_sid)
        touch(folder, "nfs-deny-checked")
        wait_for(folder, "smb-deny-ready", 120)
        smb_deny(host, port, alice_sid)
        touch(folder, "smb-deny-set")
        wait_for(folder, "notify-ready", 120)
        notify_from_nfs(host, port, admin_password, folder)
        touch(folder, "notify-done")
    except GuestGone as e:
        check("the guest reached every step", False, str(e))
    except (SessionError, smb3.SessionError) as e:
        check("SMB requests succeed", False, "NTSTATUS 0x%x" % error_code(e))
    except Exception as e:  # noqa: BLE001 (any other failure is one of the checks' too)
        check("the SMB side runs to its end", False, "%s: %s" % (type(e).__name__, e))
    print("host SMB: %d failures" % failures, flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
