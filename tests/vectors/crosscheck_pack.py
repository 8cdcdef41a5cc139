#!/usr/bin/env python3
"""crosscheck_pack.py: a second, independent reading of pack_v1.bin, written
from docs/format.md alone (its own sealed-box code, the zstd command, HMAC-
SHA-256 chunk ids): every blob of the golden pack must decode to the
contents pack_v1.txt lists.  Not run by CTest (it needs Python's
`cryptography` package); run it by hand after a format change."""
import hashlib, hmac, struct, subprocess, sys
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.poly1305 import Poly1305
from cryptography.hazmat.primitives import serialization
import os
V=os.path.dirname(os.path.abspath(__file__)) + '/'
M=0xffffffff
def rotl(x,n): return ((x<<n)|(x>>(32-n)))&M
def salsa_rounds(x):
    x=list(x)
    def qr(a,b,c,d):
        x[b]^=rotl((x[a]+x[d])&M,7); x[c]^=rotl((x[b]+x[a])&M,9)
        x[d]^=rotl((x[c]+x[b])&M,13); x[a]^=rotl((x[d]+x[c])&M,18)
    for _ in range(10):
        qr(0,4,8,12);qr(5,9,13,1);qr(10,14,2,6);qr(15,3,7,11)
        qr(0,1,2,3);qr(5,6,7,4);qr(10,11,8,9);qr(15,12,13,14)
    return x
SIG=struct.unpack('<4I',b'expand 32-byte k')
def salsa_init(k,n16):
    kk=struct.unpack('<8I',k); nn=struct.unpack('<4I',n16)
    return [SIG[0],kk[0],kk[1],kk[2],kk[3],SIG[1],nn[0],nn[1],nn[2],nn[3],SIG[2],kk[4],kk[5],kk[6],kk[7],SIG[3]]
def hsalsa(k,n16):
    x=salsa_rounds(salsa_init(k,n16))
    return struct.pack('<8I',*[x[i] for i in (0,5,10,15,6,7,8,9)])
def salsa_stream(k,n8,length):
    out=b''; ctr=0
    while len(out)<length:
        st=salsa_init(k,n8+struct.pack('<Q',ctr)); x=salsa_rounds(st)
        out+=struct.pack('<16I',*[(x[i]+st[i])&M for i in range(16)]); ctr+=1
    return out[:length]
def xsalsa_poly_open(k,n24,c):
    sub=hsalsa(k,n24[:16]); ks=salsa_stream(sub,n24[16:],32+len(c)-16)
    mac,ct=c[:16],c[16:]
    p=Poly1305(ks[:32]); p.update(ct); p.verify(mac)
    return bytes(a^b for a,b in zip(ct,ks[32:]))
def seal_open(c,pk,sk):
    epk=c[:32]
    nonce=hashlib.blake2b(epk+pk,digest_size=24).digest()
    shared=X25519PrivateKey.from_private_bytes(sk).exchange(X25519PublicKey.from_public_bytes(epk))
    k=hsalsa(shared,bytes(16))
    return xsalsa_poly_open(k,nonce,c[32:])
def chacha_rounds(x):
    x=list(x)
    def qr(a,b,c,d):
        x[a]=(x[a]+x[b])&M;x[d]=rotl(x[d]^x[a],16);x[c]=(x[c]+x[d])&M;x[b]=rotl(x[b]^x[c],12)
        x[a]=(x[a]+x[b])&M;x[d]=rotl(x[d]^x[a],8);x[c]=(x[c]+x[d])&M;x[b]=rotl(x[b]^x[c],7)
    for _ in range(10):
        qr(0,4,8,12);qr(1,5,9,13);qr(2,6,10,14);qr(3,7,11,15)
        qr(0,5,10,15);qr(1,6,11,12);qr(2,7,8,13);qr(3,4,9,14)
    return x
def hchacha(k,n16):
    x=chacha_rounds(list(SIG)+list(struct.unpack('<8I',k))+list(struct.unpack('<4I',n16)))
    return struct.pack('<8I',*(x[0:4]+x[12:16]))
def xaead_open(k,n24,c,ad):
    return ChaCha20Poly1305(hchacha(k,n24[:16])).decrypt(b'\0'*4+n24[16:],c,ad)
def varint(b,i):
    v=0;s=0
    while True:
        c=b[i];i+=1;v|=(c&0x7f)<<s;s+=7
        if not c&0x80: return v,i
kv={}; blobs=[]
for line in open(V+'pack_v1.txt'):
    if line.startswith('#') or not line.strip(): continue
    t=line.split()
    if t[0]=='blob': blobs.append((bytes.fromhex(t[1]),int(t[2]),b'' if t[3]=='-' else bytes.fromhex(t[3])))
    else: kv[t[0]]=t[1]
f=open(V+'pack_v1.bin','rb').read()
pk=bytes.fromhex(kv['data_pk']); sk=bytes.fromhex(kv['data_sk']); ck=bytes.fromhex(kv['chunk_id_key'])
assert hashlib.sha256(f).hexdigest()==kv['pack_id'], 'name'
tr=f[-16:]; hl,ver,typ,res=struct.unpack('<IBBH',tr[:8]); assert tr[8:]==b'CAIRNPK1' and ver==1 and typ==0 and res==0
sealed=f[-96:-16]; key=seal_open(sealed,pk,sk); assert len(key)==32
hoff=len(f)-96-hl; hct=f[hoff:hoff+hl]
hdr=xaead_open(key,hct[:24],hct[24:],b'CAIRNPK1')
assert hdr[0]==1; n,i=varint(hdr,1); assert n==len(blobs)
off=0
for j in range(n):
    t=hdr[i]; bid=hdr[i+1:i+33]; i+=33; ln,i=varint(hdr,i); raw,i=varint(hdr,i)
    assert t==0 and bid==blobs[j][0] and raw==blobs[j][1]
    rec=f[off:off+ln]; off+=ln
    pl=xaead_open(key,rec[:24],rec[24:],bytes([0])+bid)
    if pl[0]==0: data=pl[1:]
    else:
        assert pl[0]==1
        data=subprocess.run(['zstd','-dc'],input=pl[1:],capture_output=True,check=True).stdout
    assert data==blobs[j][2] and len(data)==raw
    assert hmac.new(ck,data,hashlib.sha256).digest()==bid
    print('blob',j,'encoding',pl[0],'len',ln,'raw',raw,'ok')
assert i==len(hdr) and off==hoff
print('pack_v1 cross-check OK')
