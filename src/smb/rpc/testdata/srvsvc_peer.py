#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
#
# An independent DCE/RPC + NDR peer for smb_rpc_test, built on python3-impacket's public API
# (used as a peer from the test only; nothing of it is part of DittoFS). Its command line is
# rpc_peer.py's.

from impacket.dcerpc.v5 import rpcrt, srvs
from impacket.uuid import uuidtup_to_bin

from rpc_peer import NDR, NDR64, answer_stub, describe_bind_ack, main, pdu, request

# MS-RPCE 3.3.1.5.3: bind time feature negotiation, offering both features (bitmask 0x03).
FEATURES = ('6CB71C2C-9812-4540-0300-000000000000', '1.0')
SRVSVC = srvs.MSRPC_UUID_SRVS
OTHER = uuidtup_to_bin(('12345778-1234-ABCD-EF00-0123456789AC', '1.0'))  # samr, not served


def bind(call_id):
    b = rpcrt.MSRPCBind()
    b['max_tfrag'] = 4280
    b['max_rfrag'] = 4280
    for ctx_id, (abstract, transfer) in enumerate(
            [(SRVSVC, NDR), (SRVSVC, NDR64), (SRVSVC, FEATURES), (OTHER, NDR)]):
        item = rpcrt.CtxItem()
        item['ContextID'] = ctx_id
        item['TransItems'] = 1
        item['AbstractSyntax'] = abstract
        item['TransferSyntax'] = uuidtup_to_bin(transfer)
        b.addCtxItem(item)
    return pdu(rpcrt.MSRPC_BIND, b.getData(), call_id)


def share_enum(level):
    call = srvs.NetrShareEnum()
    call['ServerName'] = '\\\\DITTOFS\x00'
    call['InfoStruct']['Level'] = level
    call['InfoStruct']['ShareInfo']['tag'] = level
    container = {0: 'Level0', 1: 'Level1', 2: 'Level2', 501: 'Level501', 502: 'Level502'}[level]
    call['InfoStruct']['ShareInfo'][container]['Buffer'] = srvs.NULL
    call['PreferedMaximumLength'] = 0xFFFFFFFF
    call['ResumeHandle'] = 0
    return call


def share_get_info(name, level):
    call = srvs.NetrShareGetInfo()
    call['ServerName'] = '\\\\DITTOFS\x00'
    call['NetName'] = name + '\x00'
    call['Level'] = level
    return call


def server_get_info(level):
    call = srvs.NetrServerGetInfo()
    call['ServerName'] = '\\\\DITTOFS\x00'
    call['Level'] = level
    return call


REQUESTS = [
    ('bind', lambda: bind(1)),
    ('enum0', lambda: request(share_enum(0), 2)),
    ('enum1', lambda: request(share_enum(1), 3)),
    ('enum2', lambda: request(share_enum(2), 4)),
    ('enum501', lambda: request(share_enum(501), 5)),
    ('enum502', lambda: request(share_enum(502), 6)),
    ('getinfo1', lambda: request(share_get_info('Export', 1), 7)),
    ('getinfo2', lambda: request(share_get_info('export', 2), 8)),
    ('getinfo502', lambda: request(share_get_info('IPC$', 502), 9)),
    ('getinfo1005', lambda: request(share_get_info('export', 1005), 10)),
    ('getinfo_missing', lambda: request(share_get_info('nope', 1), 11)),
    ('server101', lambda: request(server_get_info(101), 12)),
    ('server102', lambda: request(server_get_info(102), 13)),
]


def decode(name, data):
    if name == 'bind':
        return describe_bind_ack(data)
    stub = answer_stub(data)
    if name.startswith('enum'):
        r = srvs.NetrShareEnumResponse(stub)
        level = r['InfoStruct']['Level']
        container = r['InfoStruct']['ShareInfo']['Level%d' % level]
        out = ['total=%d' % r['TotalEntries'], 'err=%d' % r['ErrorCode']]
        for e in container['Buffer']:
            fields = [e['shi%d_netname' % level][:-1]]
            if level != 0:
                fields += [str(e['shi%d_type' % level]), e['shi%d_remark' % level][:-1]]
            if level in (2, 502):
                fields += [e['shi%d_path' % level][:-1], str(e['shi%d_max_uses' % level])]
            out.append('|'.join(fields))
        return ' '.join(out)
    if name.startswith('getinfo'):
        r = srvs.NetrShareGetInfoResponse(stub)
        if r['ErrorCode'] != 0:
            return 'err=%d' % r['ErrorCode']
        level = r['InfoStruct']['tag']
        info = r['InfoStruct']['ShareInfo%d' % level]
        if level == 1005:
            return 'err=0 flags=%d' % info['shi1005_flags']
        fields = [info['shi%d_netname' % level][:-1], str(info['shi%d_type' % level]),
                  info['shi%d_remark' % level][:-1]]
        if level in (2, 502):
            fields += [info['shi%d_path' % level][:-1], str(info['shi%d_max_uses' % level])]
        return 'err=0 ' + '|'.join(fields)
    if name.startswith('server'):
        r = srvs.NetrServerGetInfoResponse(stub)
        level = r['InfoStruct']['tag']
        info = r['InfoStruct']['ServerInfo%d' % level]
        return 'err=%d platform=%d name=%s version=%d.%d type=0x%x' % (
            r['ErrorCode'], info['sv%d_platform_id' % level], info['sv%d_name' % level][:-1],
            info['sv%d_version_major' % level], info['sv%d_version_minor' % level],
            info['sv%d_type' % level])
    raise ValueError(name)


if __name__ == '__main__':
    main(REQUESTS, decode)
