# SPDX-License-Identifier: Apache-2.0
#
# What the DCE/RPC peers of smb_rpc_impacket_test share (srvsvc_peer.py, lsarpc_peer.py):
# PDUs built and read with python3-impacket's public API, and the command line
#
#   <peer> requests         prints "<name> <hex>" for each PDU the test sends
#   <peer> decode <file>    reads lines "<name> <hex of the answer PDUs>" and prints what
#                           impacket decodes from each answer
import sys

from impacket.dcerpc.v5 import rpcrt
from impacket.uuid import uuidtup_to_bin

NDR = ('8a885d04-1ceb-11c9-9fe8-08002b104860', '2.0')
NDR64 = ('71710533-BEBA-4937-8319-B5DBEF9CCC36', '1.0')


def pdu(ptype, body, call_id, extra=None):
    header = rpcrt.MSRPCRequestHeader() if ptype == rpcrt.MSRPC_REQUEST else rpcrt.MSRPCHeader()
    header['type'] = ptype
    header['flags'] = rpcrt.PFC_FIRST_FRAG | rpcrt.PFC_LAST_FRAG
    header['call_id'] = call_id
    for k, v in (extra or {}).items():
        header[k] = v
    header['pduData'] = body
    return header.getData()


def request(call, call_id, ctx_id=0):
    stub = call.getData()
    return pdu(rpcrt.MSRPC_REQUEST, stub, call_id,
               {'op_num': call.opnum, 'ctx_id': ctx_id, 'alloc_hint': len(stub)})


def describe_bind_ack(data):
    """A bind_ack's fields, and each context's result/reason ("/ndr": NDR20 accepted)."""
    ack = rpcrt.MSRPCBindAck(data)
    secaddr = ack['SecondaryAddr']
    if isinstance(secaddr, bytes):
        secaddr = secaddr.decode()
    out = ['type=%d' % ack['type'], 'max_tfrag=%d' % ack['max_tfrag'],
           'max_rfrag=%d' % ack['max_rfrag'], 'assoc_nonzero=%d' % (ack['assoc_group'] != 0),
           'secaddr=%s' % secaddr.rstrip('\x00')]
    items = ack['ctx_items']
    for i in range(ack['ctx_num']):
        r = rpcrt.CtxItemResult(items[i * 24:(i + 1) * 24])
        ndr = r['TransferSyntax'] == uuidtup_to_bin(NDR)
        out.append('ctx%d=%d/%d%s' % (i, r['Result'], r['Reason'], '/ndr' if ndr else ''))
    return ' '.join(out)


def answer_stub(data):
    """Joins the stub data of the response fragments in `data`."""
    stub = b''
    while data:
        header = rpcrt.MSRPCRespHeader(data)
        if header['type'] == rpcrt.MSRPC_FAULT:
            raise ValueError('fault')
        stub += header['pduData']
        data = data[header['frag_len']:]
    return stub


def main(requests, decode):
    """`requests`: (name, function making the PDU); `decode(name, answer bytes)`: a line."""
    if sys.argv[1] == 'requests':
        for name, make in requests:
            print(name, make().hex())
    elif sys.argv[1] == 'decode':
        with open(sys.argv[2]) as f:
            for line in f:
                name, hexdata = line.split()
                try:
                    print(name, decode(name, bytes.fromhex(hexdata)))
                except Exception as e:  # report, so the test shows which answer failed
                    print(name, 'ERROR', type(e).__name__, e)
