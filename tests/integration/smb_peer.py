#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""An SMB client for smb_test.cc, driven line by line on stdin: python3-impacket (Debian) as an
independent SMB2/3 client. Each command prints one line: "ok ..." or "error <NTSTATUS name>".

  open NAME ACCESS SHARE OPLOCK   -> ok <file-id>
  create NAME ACCESS OPTIONS DISPOSITION -> ok <file-id>  (sharing all, no oplock)
  write FID OFFSET HEX            -> ok
  ioctl FID CODE HEXIN MAXOUT     -> ok <hex>  (an FSCTL; HEXIN "-" for no input)
  attrs NAME                      -> ok <FileAttributes hex>  (from a directory listing)
  read FID OFFSET LENGTH          -> ok <hex>
  close FID                       -> ok
  lock FID OFFSET LENGTH x|s      -> ok  (exclusive or shared, failing at once on a conflict)
  unlock FID OFFSET LENGTH        -> ok
  shares                          -> ok name,name,...
  ls PATTERN                      -> ok name,name,...  (a directory listing, "." and ".." left out)
  getsd FID INFO                  -> ok <hex>  (QUERY_INFO SECURITY, SECURITY_INFORMATION INFO)
  setsd FID INFO HEX              -> ok        (SET_INFO SECURITY)
  dopen NAME 1|2|3 [TIMEOUT]      -> ok <file-id> <FileId hex> <CreateGuid hex>  (read and write,
                                     sharing all, open-if, a durable handle v1/v2 with a batch
                                     oplock; 3: a persistent handle (v2, SMB2_DHANDLE_FLAG_PERSISTENT)
                                     without an oplock, TIMEOUT ms (0: the server's default))
  dgranted                        -> ok DH2Q <timeout> <flags> | ok DHnQ | ok none  (what the last
                                     dopen's answer granted: its durable handle context)
  dreconnect NAME FILEID [GUID [p]] -> ok <file-id>  (reconnects a durable handle: DHnC, or DH2C;
                                     p: with SMB2_DHANDLE_FLAG_PERSISTENT)
  notify FID FILTER TREE          -> ok        (sends CHANGE_NOTIFY, TREE 1 for WATCH_TREE)
  notified                        -> ok action:name,...  (the answer to the last notify)
  streams FID                     -> ok name=size,...  (FileStreamInformation)
  seteas FID NAME=HEX,...         -> ok        (SET_INFO FileFullEaInformation; HEX "-": empty)
  geteas FID [FLAGS [NAME,...]]   -> ok NAME=HEX,...  (QUERY_INFO FileFullEaInformation with
                                     those SL_* flags, for those names)
  delete FID                      -> ok        (FileDispositionInformation: delete on close)
  dupextents DST SRC SOFF DOFF N  -> ok        (FSCTL_DUPLICATE_EXTENTS_TO_FILE on DST from SRC)
"""
import datetime
import os
import struct
import sys

from Cryptodome.Cipher import AES
from impacket import smb3, smb3structs as s3
from impacket.smbconnection import SMBConnection, SessionError
from impacket.nt_errors import ERROR_MESSAGES, STATUS_PENDING

# impacket's NEGOTIATE offers SMB2_GLOBAL_CAP_ENCRYPTION alone (smb3.SMB3.negotiateSession reads
# this name): offer persistent handles too, which a server grants only to a client that offered
# them. impacket's other use of the name tests the server's answer for both bits, which a server
# that grants encryption to this offer also sets.
smb3.SMB2_GLOBAL_CAP_ENCRYPTION = s3.SMB2_GLOBAL_CAP_ENCRYPTION | s3.SMB2_GLOBAL_CAP_PERSISTENT_HANDLES


def read_packet(smb):
    """The next message from the server, unsealed as impacket's recvSMB unseals it."""
    data = smb._NetBIOSSession.recv_packet(smb._timeout).get_trailer()
    if data.startswith(b"\xfdSMB"):
        header = s3.SMB2_TRANSFORM_HEADER(data)
        cipher = AES.new(smb._Session["DecryptionKey"], AES.MODE_CCM, header["Nonce"][:11])
        cipher.update(header.getData()[20:])
        data = cipher.decrypt(data[len(s3.SMB2_TRANSFORM_HEADER()):])
    return s3.SMB2Packet(data)


def context(name, data):
    """One SMB2_CREATE_CONTEXT (MS-SMB2 2.2.13.2): the name, padding to 8, the data."""
    ctx = s3.SMB2CreateContext()
    ctx["NameOffset"] = 16
    ctx["NameLength"] = len(name)
    ctx["DataOffset"] = 24
    ctx["DataLength"] = len(data)
    ctx["Buffer"] = name + b"\0" * (8 - len(name)) + data
    return ctx


def create_with_contexts(smb, *args, **kwargs):
    """smb.create(...), and the CREATE response's create contexts as {name: data}."""
    answers = []
    recv = smb.recvSMB

    def keep(packet_id):
        answer = recv(packet_id)
        answers.append(answer)
        return answer

    smb.recvSMB = keep  # impacket's create calls self.recvSMB: this instance attribute
    try:
        fid = smb.create(*args, **kwargs)
    finally:
        del smb.recvSMB
    data = answers[-1]["Data"]
    response = s3.SMB2Create_Response(data)
    contexts = {}
    # MS-SMB2 2.2.14: the offset counts from the SMB2 header (64 bytes before the body).
    at = response["CreateContextsOffset"] - 64
    end = at + response["CreateContextsLength"]
    while at < end:
        nxt, name_off, name_len, _, data_off, data_len = struct.unpack_from("<IHHHHI", data, at)
        name = bytes(data[at + name_off:at + name_off + name_len])
        contexts[name] = bytes(data[at + data_off:at + data_off + data_len])
        if nxt == 0:
            break
        at += nxt
    return fid, contexts


def main():
    host, port, user, password, share = sys.argv[1:6]
    conn = SMBConnection(host, host, sess_port=int(port), preferredDialect=s3.SMB2_DIALECT_30)
    conn.login(user, password)
    tid = conn.connectTree(share)
    smb = conn.getSMBServer()
    files = {}
    granted = {}  # the last dopen's answer's create contexts
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            if words[0] == "open":
                name, access, share_mode, oplock = words[1], int(words[2], 0), int(words[3], 0), int(words[4], 0)
                fid = smb.create(tid, name, access, share_mode, s3.FILE_NON_DIRECTORY_FILE,
                                 s3.FILE_OPEN, 0, oplockLevel=oplock)
                key = str(len(files) + 1)
                files[key] = fid
                print("ok", key, flush=True)
            elif words[0] == "create":
                name, access, options, disposition = (words[1], int(words[2], 0), int(words[3], 0),
                                                      int(words[4], 0))
                fid = smb.create(tid, name, access, 7, options, disposition, 0)
                key = str(len(files) + 1)
                files[key] = fid
                print("ok", key, flush=True)
            elif words[0] == "write":
                data = bytes.fromhex(words[3])
                smb.write(tid, files[words[1]], data, int(words[2]), len(data))
                print("ok", flush=True)
            elif words[0] == "ioctl":
                blob = b"" if words[3] == "-" else bytes.fromhex(words[3])
                out = smb.ioctl(tid, files[words[1]], int(words[2], 0), s3.SMB2_0_IOCTL_IS_FSCTL,
                                blob, maxOutputResponse=int(words[4], 0))
                print("ok", (out or b"").hex(), flush=True)
            elif words[0] == "attrs":
                entries = conn.listPath("export", words[1])
                print("ok", "%x" % entries[0].get_attributes(), flush=True)
            elif words[0] == "read":
                data = smb.read(tid, files[words[1]], int(words[2]), int(words[3]))
                print("ok", data.hex(), flush=True)
            elif words[0] in ("lock", "unlock"):
                element = s3.SMB2_LOCK_ELEMENT()
                element['Offset'] = int(words[2])
                element['Length'] = int(words[3])
                if words[0] == "unlock":
                    element['Flags'] = s3.SMB2_LOCKFLAG_UNLOCK
                else:
                    kind = (s3.SMB2_LOCKFLAG_EXCLUSIVE_LOCK if words[4] == "x"
                            else s3.SMB2_LOCKFLAG_SHARED_LOCK)
                    element['Flags'] = kind | s3.SMB2_LOCKFLAG_FAIL_IMMEDIATELY
                # impacket's own lock() joins str()s of its elements, which Python 3 refuses.
                packet = smb.SMB_PACKET()
                packet['Command'] = s3.SMB2_LOCK
                packet['TreeID'] = tid
                request = s3.SMB2Lock()
                request['FileID'] = files[words[1]]
                request['LockCount'] = 1
                request['LockSequence'] = 0
                request['Locks'] = element.getData()
                packet['Data'] = request
                smb.recvSMB(smb.sendSMB(packet)).isValidAnswer(0)
                print("ok", flush=True)
            elif words[0] == "close":
                smb.close(tid, files.pop(words[1]))
                print("ok", flush=True)
            elif words[0] == "ls":
                entries = conn.listPath("export", words[1])
                names = sorted(e.get_longname() for e in entries
                               if e.get_longname() not in (".", ".."))
                print("ok", ",".join(names), flush=True)
            elif words[0] == "getsd":
                sd = smb.queryInfo(tid, files[words[1]], infoType=s3.SMB2_0_INFO_SECURITY,
                                   fileInfoClass=0, additionalInformation=int(words[2], 0))
                print("ok", sd.hex(), flush=True)
            elif words[0] == "setsd":
                smb.setInfo(tid, files[words[1]], bytes.fromhex(words[3]),
                            infoType=s3.SMB2_0_INFO_SECURITY, fileInfoClass=0,
                            additionalInformation=int(words[2], 0))
                print("ok", flush=True)
            elif words[0] == "dopen":
                guid = os.urandom(16)
                oplock = 9
                if words[2] == "1":
                    durable = context(b"DHnQ", b"\0" * 16)
                elif words[2] == "2":
                    durable = context(b"DH2Q", struct.pack("<IIQ", 0, 0, 0) + guid)
                else:
                    timeout = int(words[3]) if len(words) > 3 else 0
                    durable = context(b"DH2Q", struct.pack("<IIQ", timeout, 2, 0) + guid)
                    oplock = 0
                fid, granted = create_with_contexts(
                    smb, tid, words[1], 0x3, 7, s3.FILE_NON_DIRECTORY_FILE, s3.FILE_OPEN_IF, 0,
                    oplockLevel=oplock, createContexts=[durable])
                key = str(len(files) + 1)
                files[key] = fid
                print("ok", key, fid[:16].hex(), guid.hex(), flush=True)
            elif words[0] == "dgranted":
                if b"DH2Q" in granted:
                    timeout, flags = struct.unpack_from("<II", granted[b"DH2Q"])
                    print("ok DH2Q", timeout, flags, flush=True)
                elif b"DHnQ" in granted:
                    print("ok DHnQ", flush=True)
                else:
                    print("ok none", flush=True)
            elif words[0] == "dupextents":
                blob = files[words[2]][:16] + struct.pack("<QQQ", *(int(w, 0) for w in words[3:6]))
                smb.ioctl(tid, files[words[1]], 0x00098344, s3.SMB2_0_IOCTL_IS_FSCTL, blob,
                          maxOutputResponse=0)
                print("ok", flush=True)
            elif words[0] == "dreconnect":
                file_id = bytes.fromhex(words[2])
                if len(words) > 3:
                    flags = 2 if len(words) > 4 and words[4] == "p" else 0
                    durable = context(b"DH2C", file_id + bytes.fromhex(words[3]) +
                                      struct.pack("<I", flags))
                else:
                    durable = context(b"DHnC", file_id)
                fid = smb.create(tid, words[1], 0x3, 7, s3.FILE_NON_DIRECTORY_FILE, s3.FILE_OPEN_IF,
                                 0, oplockLevel=9, createContexts=[durable])
                key = str(len(files) + 1)
                files[key] = fid
                print("ok", key, flush=True)
            elif words[0] == "notify":
                packet = smb.SMB_PACKET()
                packet["Command"] = s3.SMB2_CHANGE_NOTIFY
                packet["TreeID"] = tid
                request = s3.SMB2ChangeNotify()
                request["Flags"] = int(words[3], 0)
                request["OutputBufferLength"] = 65536
                request["FileID"] = files[words[1]]
                request["CompletionFilter"] = int(words[2], 0)
                packet["Data"] = request
                notify_id = smb.sendSMB(packet)
                # Once the interim STATUS_PENDING is back, the watch exists: what changes after
                # this answer is seen. (A final answer read here waits for "notified".)
                first = read_packet(smb)
                if first["Status"] != STATUS_PENDING:
                    smb._Connection["OutstandingResponses"][first["MessageID"]] = first
                print("ok", flush=True)
            elif words[0] == "notified":
                answer = smb.recvSMB(notify_id)
                if answer["Status"] != 0:
                    raise SessionError(answer["Status"])
                response = s3.SMB2ChangeNotify_Response(answer["Data"])
                buf, at, changes = response["Buffer"], 0, []
                while at + 12 <= len(buf):
                    entry = s3.FILE_NOTIFY_INFORMATION(buf[at:])
                    changes.append("%d:%s" % (entry["Action"],
                                              entry["FileName"].decode("utf-16-le")))
                    if entry["NextEntryOffset"] == 0:
                        break
                    at += entry["NextEntryOffset"]
                print("ok", ",".join(changes), flush=True)
            elif words[0] == "streams":
                # FILE_STREAM_INFORMATION (MS-FSCC 2.4.44), decoded here independently.
                blob = smb.queryInfo(tid, files[words[1]], infoType=s3.SMB2_0_INFO_FILE,
                                     fileInfoClass=22)
                out, at = [], 0
                while True:
                    nxt, length, size = struct.unpack_from("<IIQ", blob, at)
                    name = blob[at + 24:at + 24 + length].decode("utf-16-le")
                    out.append("%s=%d" % (name, size))
                    if nxt == 0:
                        break
                    at += nxt
                print("ok", ",".join(out), flush=True)
            elif words[0] == "seteas":
                # FILE_FULL_EA_INFORMATION (MS-FSCC 2.4.15), entries padded to 4 bytes.
                entries = []
                for item in words[2].split(","):
                    name, value = item.split("=")
                    value = b"" if value == "-" else bytes.fromhex(value)
                    body = struct.pack("<BBH", 0, len(name), len(value)) + name.encode() + b"\0" + value
                    entries.append(body)
                blob = b""
                for i, body in enumerate(entries):
                    last = i == len(entries) - 1
                    size = 4 + len(body)
                    padded = size if last else (size + 3) & ~3
                    blob += struct.pack("<I", 0 if last else padded) + body + b"\0" * (padded - size)
                smb.setInfo(tid, files[words[1]], blob, infoType=s3.SMB2_0_INFO_FILE,
                            fileInfoClass=15)
                print("ok", flush=True)
            elif words[0] == "geteas":
                # FILE_GET_EA_INFORMATION entries (MS-FSCC 2.4.15.1), padded to 4 bytes.
                names = words[3].split(",") if len(words) > 3 else []
                query = b""
                for i, name in enumerate(names):
                    body = struct.pack("<B", len(name)) + name.encode() + b"\0"
                    last = i == len(names) - 1
                    size = 4 + len(body)
                    padded = size if last else (size + 3) & ~3
                    query += struct.pack("<I", 0 if last else padded) + body + b"\0" * (padded - size)
                blob = smb.queryInfo(tid, files[words[1]], inputBlob=query,
                                     infoType=s3.SMB2_0_INFO_FILE, fileInfoClass=15,
                                     flags=int(words[2], 0) if len(words) > 2 else 0)
                out, at = [], 0
                while True:
                    nxt, _, name_len, value_len = struct.unpack_from("<IBBH", blob, at)
                    name = blob[at + 8:at + 8 + name_len].decode()
                    value = blob[at + 9 + name_len:at + 9 + name_len + value_len]
                    out.append("%s=%s" % (name, value.hex()))
                    if nxt == 0:
                        break
                    at += nxt
                print("ok", ",".join(sorted(out)), flush=True)
            elif words[0] == "delete":
                smb.setInfo(tid, files[words[1]], b"\x01", infoType=s3.SMB2_0_INFO_FILE,
                            fileInfoClass=13)
                print("ok", flush=True)
            elif words[0] == "snapshots":
                # FSCTL_SRV_ENUMERATE_SNAPSHOTS on an open of PATH: the @GMT tokens.
                print("ok", ",".join(conn.listSnapshots(tid, words[1])), flush=True)
            elif words[0] == "twrp-get":
                # TOKEN PATH LOCAL: the previous version of PATH named by TOKEN (a TWrp create
                # context, MS-SMB2 2.2.13.2.7), read whole into LOCAL; answers its size.
                when = datetime.datetime.strptime(words[1], "@GMT-%Y.%m.%d-%H.%M.%S")
                ticks = int((when - datetime.datetime(1970, 1, 1)).total_seconds())
                filetime = ticks * 10000000 + 116444736000000000
                fid = smb.create(tid, words[2], s3.FILE_READ_DATA | s3.FILE_READ_ATTRIBUTES, 7,
                                 s3.FILE_NON_DIRECTORY_FILE, s3.FILE_OPEN, 0,
                                 createContexts=[context(b"TWrp", struct.pack("<Q", filetime))])
                data = b""
                while True:
                    try:
                        piece = smb.read(tid, fid, len(data), 65536)
                    except smb3.SessionError as e:
                        if e.get_error_code() != 0xC0000011:  # STATUS_END_OF_FILE
                            raise
                        break
                    if not piece:
                        break
                    data += piece
                smb.close(tid, fid)
                with open(words[3], "wb") as f:
                    f.write(data)
                print("ok", len(data), flush=True)
            elif words[0] == "twrp-write":
                # TOKEN PATH: an open of a previous version for writing (refused).
                when = datetime.datetime.strptime(words[1], "@GMT-%Y.%m.%d-%H.%M.%S")
                ticks = int((when - datetime.datetime(1970, 1, 1)).total_seconds())
                filetime = ticks * 10000000 + 116444736000000000
                fid = smb.create(tid, words[2], s3.FILE_WRITE_DATA, 7, s3.FILE_NON_DIRECTORY_FILE,
                                 s3.FILE_OPEN, 0,
                                 createContexts=[context(b"TWrp", struct.pack("<Q", filetime))])
                smb.close(tid, fid)
                print("ok", flush=True)
            elif words[0] == "shares":
                print("ok", ",".join(s["shi1_netname"][:-1] for s in conn.listShares()), flush=True)
            else:
                print("error unknown-command", flush=True)
        except (SessionError, smb3.SessionError) as e:
            # smb3's SessionError names it get_error_code, smbconnection's getErrorCode.
            code = e.get_error_code() if hasattr(e, "get_error_code") else e.getErrorCode()
            print("error", ERROR_MESSAGES.get(code, ("0x%08x" % code,))[0], flush=True)


if __name__ == "__main__":
    main()
