#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The SMB side of kernel_nlm_test.sh, on the host (python3-impacket): meets the guest's NFS
locks on cross.bin through marker files in the shared folder DIR.

  1. once the guest holds bytes 0-9 by NFS (DIR/guest-holds), tries an exclusive SMB lock on
     bytes 5-6 and writes "refused" or "granted" to DIR/smb-result-1;
  2. takes bytes 100-109 exclusively (DIR/smb-holds), keeps them until DIR/guest-done, then
     unlocks them (DIR/smb-released).

usage: smb_side.py HOST PORT USER PASSWORD SHARE DIR
"""
import os
import sys
import time

from impacket import smb3, smb3structs as s3
from impacket.smbconnection import SMBConnection, SessionError


def wait_for(path, seconds):
    deadline = time.time() + seconds
    while not os.path.exists(path):
        if time.time() > deadline:
            sys.exit("smb_side: timed out waiting for " + path)
        time.sleep(0.2)


def lock(smb, tid, fid, offset, length, flags):
    element = s3.SMB2_LOCK_ELEMENT()
    element['Offset'] = offset
    element['Length'] = length
    element['Flags'] = flags
    packet = smb.SMB_PACKET()
    packet['Command'] = s3.SMB2_LOCK
    packet['TreeID'] = tid
    request = s3.SMB2Lock()
    request['FileID'] = fid
    request['LockCount'] = 1
    request['LockSequence'] = 0
    request['Locks'] = element.getData()
    packet['Data'] = request
    smb.recvSMB(smb.sendSMB(packet)).isValidAnswer(0)


def main():
    host, port, user, password, share, folder = sys.argv[1:7]
    wait_for(os.path.join(folder, "file-ready"), 600)
    conn = SMBConnection(host, host, sess_port=int(port), preferredDialect=s3.SMB2_DIALECT_30)
    conn.login(user, password)
    tid = conn.connectTree(share)
    smb = conn.getSMBServer()
    fid = smb.create(tid, "cross.bin", 0xC0000000, 7, s3.FILE_NON_DIRECTORY_FILE, s3.FILE_OPEN, 0)
    wait_for(os.path.join(folder, "guest-holds"), 120)
    try:
        lock(smb, tid, fid, 5, 2, s3.SMB2_LOCKFLAG_EXCLUSIVE_LOCK | s3.SMB2_LOCKFLAG_FAIL_IMMEDIATELY)
        result = "granted"
    except (SessionError, smb3.SessionError):
        result = "refused"
    with open(os.path.join(folder, "smb-result-1"), "w") as f:
        f.write(result + "\n")
    print("smb_side: an SMB lock on NFS-locked bytes was", result, flush=True)
    wait_for(os.path.join(folder, "guest-holds.done"), 120)
    # The guest's lock may take a moment to go after it said so; retry briefly.
    for _ in range(50):
        try:
            lock(smb, tid, fid, 100, 10,
                 s3.SMB2_LOCKFLAG_EXCLUSIVE_LOCK | s3.SMB2_LOCKFLAG_FAIL_IMMEDIATELY)
            break
        except (SessionError, smb3.SessionError):
            time.sleep(0.2)
    open(os.path.join(folder, "smb-holds"), "w").close()
    wait_for(os.path.join(folder, "guest-done"), 120)
    lock(smb, tid, fid, 100, 10, s3.SMB2_LOCKFLAG_UNLOCK)
    open(os.path.join(folder, "smb-released"), "w").close()
    smb.close(tid, fid)
    print("smb_side: done", flush=True)


if __name__ == "__main__":
    main()
