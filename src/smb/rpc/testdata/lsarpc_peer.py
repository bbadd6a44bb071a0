#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
#
# An independent LSA (MS-LSAD/MS-LSAT) client for smb_rpc_impacket_test, built on
# python3-impacket's public API (used as a peer from the test only; nothing of it is part of
# DittoFS). impacket's hLsar* helpers build each request: they are handed a recorder in place
# of a transport. Its command line is rpc_peer.py's; the policy handle in the requests is the
# placeholder ab * 20, which the test replaces with the one LsarOpenPolicy2 answered.
from impacket.dcerpc.v5 import lsad, lsat, rpcrt
from impacket.dcerpc.v5.dtypes import NULL
from impacket.uuid import uuidtup_to_bin

import rpc_peer
from rpc_peer import NDR, NDR64, answer_stub, describe_bind_ack, main, pdu

LSA = lsat.MSRPC_UUID_LSAT

SIDS = ['S-1-5-21-1-2-3-3000', 'S-1-5-21-1-2-3-1101', 'S-1-1-0', 'S-1-3-0', 'S-1-5-11',
        'S-1-5-18', 'S-1-5-32-544', 'S-1-22-1-1000', 'S-1-22-2-50', 'S-1-5-21-1-2-3',
        'S-1-5-21-9-9-9-1000']
NAMES = ['alice', 'DITTOFS\\staff', 'everyone', 'NT AUTHORITY\\SYSTEM', 'builtin\\Administrators',
         'Unix User\\alice', 'nobody']


class Recorder:
    """Stands in for a DCERPC transport: keeps the request a helper builds."""

    def request(self, call):
        self.call = call


def build(helper, *args, **kwargs):
    recorder = Recorder()
    helper(recorder, *args, **kwargs)
    return recorder.call


def handle(byte):
    h = lsad.LSAPR_HANDLE()
    h['Data'] = bytes([byte]) * 20
    return h


POLICY = handle(0xAB)
STALE = handle(0xCD)


def bind(call_id):
    b = rpcrt.MSRPCBind()
    b['max_tfrag'] = 4280
    b['max_rfrag'] = 4280
    for ctx_id, transfer in enumerate([NDR64, NDR]):
        item = rpcrt.CtxItem()
        item['ContextID'] = ctx_id
        item['TransItems'] = 1
        item['AbstractSyntax'] = LSA
        item['TransferSyntax'] = uuidtup_to_bin(transfer)
        b.addCtxItem(item)
    return pdu(rpcrt.MSRPC_BIND, b.getData(), call_id)


def request(call, call_id):
    return rpc_peer.request(call, call_id, ctx_id=1)  # context 0 asked for NDR64


def lookup_sids3(sids):
    call = lsat.LsarLookupSids3()
    call['SidEnumBuffer']['Entries'] = len(sids)
    for sid in sids:
        item = lsat.LSAPR_SID_INFORMATION()
        item['Sid'].fromCanonical(sid)
        call['SidEnumBuffer']['SidInfo'].append(item)
    call['TranslatedNames']['Names'] = NULL
    call['LookupLevel'] = lsat.LSAP_LOOKUP_LEVEL.LsapLookupWksta
    call['LookupOptions'] = 0
    call['ClientRevision'] = 2
    return call


INFO = lsad.POLICY_INFORMATION_CLASS
REQUESTS = [
    ('bind', lambda: bind(1)),
    ('open2', lambda: request(build(lsad.hLsarOpenPolicy2), 2)),
    ('open', lambda: request(build(lsad.hLsarOpenPolicy), 3)),
    ('query2_account', lambda: request(
        build(lsad.hLsarQueryInformationPolicy2, POLICY, INFO.PolicyAccountDomainInformation), 4)),
    ('query_primary', lambda: request(
        build(lsad.hLsarQueryInformationPolicy, POLICY, INFO.PolicyPrimaryDomainInformation), 5)),
    ('query2_dns', lambda: request(
        build(lsad.hLsarQueryInformationPolicy2, POLICY, INFO.PolicyDnsDomainInformation), 6)),
    ('sids', lambda: request(build(lsat.hLsarLookupSids, POLICY, SIDS), 7)),
    ('sids2', lambda: request(build(lsat.hLsarLookupSids2, POLICY, SIDS), 8)),
    ('sids3', lambda: request(lookup_sids3(SIDS), 9)),
    ('names', lambda: request(build(lsat.hLsarLookupNames, POLICY, NAMES), 10)),
    ('names2', lambda: request(build(lsat.hLsarLookupNames2, POLICY, NAMES), 11)),
    ('names3', lambda: request(build(lsat.hLsarLookupNames3, POLICY, NAMES), 12)),
    ('names4', lambda: request(build(lsat.hLsarLookupNames4, NAMES), 13)),
    ('none_mapped', lambda: request(build(lsat.hLsarLookupNames3, POLICY, ['x', 'y']), 14)),
    ('username', lambda: request(build(lsat.hLsarGetUserName), 15)),
    ('stale', lambda: request(build(lsat.hLsarLookupSids, STALE, SIDS[:1]), 16)),
    ('close', lambda: request(build(lsad.hLsarClose, POLICY), 17)),
    ('closed', lambda: request(build(lsad.hLsarClose, POLICY), 18)),
]


def domains(r):
    out = []
    for d in r['ReferencedDomains']['Domains']:
        out.append('%s=%s' % (d['Name'], d['Sid'].formatCanonical()))
    return '[' + ' '.join(out) + ']'


def handle_bytes(h):
    """A decoded context handle's 20 bytes (impacket gives bytes or an LSAPR_HANDLE)."""
    return h if isinstance(h, bytes) else h.getData()


def decode(name, data):
    if name == 'bind':
        return describe_bind_ack(data)
    stub = answer_stub(data)
    if name.startswith('open'):
        r = lsad.LsarOpenPolicy2Response(stub)
        return 'status=0x%x handle_nonzero=%d' % (r['ErrorCode'],
                                                   handle_bytes(r['PolicyHandle']) != b'\0' * 20)
    if name.startswith('query'):
        r = lsad.LsarQueryInformationPolicy2Response(stub)
        info = r['PolicyInformation']
        tag = info['tag']
        if tag == INFO.PolicyAccountDomainInformation:
            d = info['PolicyAccountDomainInfo']
            return 'status=0x%x name=%s sid=%s' % (r['ErrorCode'], d['DomainName'],
                                                   d['DomainSid'].formatCanonical())
        if tag == INFO.PolicyPrimaryDomainInformation:
            d = info['PolicyPrimaryDomainInfo']
            return 'status=0x%x name=%s sid_null=%d' % (r['ErrorCode'], d['Name'],
                                                        d['Sid'] == NULL or len(d['Sid']) == 0)
        d = info['PolicyDnsDomainInfo']
        return 'status=0x%x name=%s dns=%s forest=%s' % (r['ErrorCode'], d['Name'],
                                                         d['DnsDomainName'], d['DnsForestName'])
    if name.startswith('sids') or name == 'stale':
        response = {'sids': lsat.LsarLookupSidsResponse, 'sids2': lsat.LsarLookupSids2Response,
                    'sids3': lsat.LsarLookupSids3Response, 'stale': lsat.LsarLookupSidsResponse}
        r = response[name](stub)
        if r['ErrorCode'] == 0xC0000008:
            return 'status=0x%x' % r['ErrorCode']
        names = ['%s/%d/%d' % (n['Name'], n['Use'], n['DomainIndex'])
                 for n in r['TranslatedNames']['Names']]
        return 'status=0x%x mapped=%d %s %s' % (r['ErrorCode'], r['MappedCount'], domains(r),
                                               ' '.join(names))
    if name.startswith('names') or name == 'none_mapped':
        response = {'names': lsat.LsarLookupNamesResponse,
                    'names2': lsat.LsarLookupNames2Response,
                    'names3': lsat.LsarLookupNames3Response,
                    'names4': lsat.LsarLookupNames4Response,
                    'none_mapped': lsat.LsarLookupNames3Response}
        r = response[name](stub)
        out = []
        for s in r['TranslatedSids']['Sids']:
            if name in ('names', 'names2'):
                what = str(s['RelativeId'])
            else:
                what = s['Sid'].formatCanonical() if s['Sid'] != NULL and len(s['Sid']) else '-'
            out.append('%s/%d/%d' % (what, s['Use'], s['DomainIndex']))
        return 'status=0x%x mapped=%d %s %s' % (r['ErrorCode'], r['MappedCount'], domains(r),
                                               ' '.join(out))
    if name == 'username':
        r = lsat.LsarGetUserNameResponse(stub)
        return 'status=0x%x user=%s' % (r['ErrorCode'], r['UserName'])
    if name.startswith('close'):
        r = lsad.LsarCloseResponse(stub)
        return 'status=0x%x zeroed=%d' % (r['ErrorCode'], handle_bytes(r['ObjectHandle']) == b'\0' * 20)
    raise ValueError(name)


if __name__ == '__main__':
    main(REQUESTS, decode)
