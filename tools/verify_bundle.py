#!/usr/bin/env python3
"""Independent verifier for Civitas proof bundles (format v4), written from docs/PROOFS.md.

It shares no code with the Rust implementation: only the Python standard library. CI runs it
against bundles produced by a live network to show that the specification is sufficient.

Usage: verify_bundle.py BUNDLE --genesis genesis.json
Exit 0 and prints VALID when the bundle proves its claim; exit 2 with the reason otherwise.
"""
import hashlib
import json
import sys


class Invalid(Exception):
    pass


# --- primitives -------------------------------------------------------------------------------

def sha256(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


def tagged(tag, *parts):
    return sha256(bytes([len(tag)]), tag, *parts)


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value == 0:
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise Invalid("truncated")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self):
        return self.take(1)[0]

    def key(self):
        """An Ed25519 public key: 32 bytes that must decode to a curve point."""
        key = self.take(32)
        if _decompress(key) is None:
            raise Invalid("a public key is not a curve point")
        return key

    def be(self, n):
        return int.from_bytes(self.take(n), "big")

    def varint(self, bits=64):
        """A canonical unsigned LEB128 value below 2**bits (PROOFS.md section 0)."""
        value, shift = 0, 0
        for i in range((bits + 6) // 7):
            byte = self.u8()
            if i > 0 and byte == 0:
                raise Invalid("non-canonical varint")
            value |= (byte & 0x7F) << shift
            if byte & 0x80 == 0:
                if value >= 1 << bits:
                    raise Invalid("varint wider than its type")
                return value
            shift += 7
        raise Invalid("varint too long")

    def length(self, bound):
        n = self.varint(32)
        if n > bound:
            raise Invalid("length over bound")
        return n

    def bytes_(self, bound):
        return self.take(self.length(bound))

    def string(self, bound):
        try:
            return self.bytes_(bound).decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid("string is not UTF-8")

    def option(self, read):
        tag = self.u8()
        if tag == 0:
            return None
        if tag == 1:
            return read()
        raise Invalid("bad option tag")

    def done(self):
        if self.pos != len(self.data):
            raise Invalid("trailing bytes")


# --- Ed25519 verification (RFC 8032, section 5.1.7) ---------------------------------------------

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    A = (y1 - x1) * (y2 - x2) % P
    B = (y1 + x1) * (y2 + x2) % P
    C = 2 * t1 * t2 * D % P
    Dd = 2 * z1 * z2 % P
    E, F, G, H = B - A, Dd - C, Dd + C, B + A
    return (E * F % P, G * H % P, F * G % P, E * H % P)


def _mul(s, point):
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = _add(q, point)
        point = _add(point, point)
        s >>= 1
    return q


def _equal(a, b):
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def _recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


def _decompress(s):
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % P)


G_Y = 4 * pow(5, P - 2, P) % P
G = (_recover_x(G_Y, 0), G_Y, 1, _recover_x(G_Y, 0) * G_Y % P)


def ed25519_verify(public, message, signature):
    if len(public) != 32 or len(signature) != 64:
        return False
    a = _decompress(public)
    r = _decompress(signature[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= L:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % L
    return _equal(_mul(8 * s, G), _add(_mul(8, r), _mul(8 * h, a)))


# --- genesis ------------------------------------------------------------------------------------

def unique_fields(pairs):
    """A JSON object of genesis.json, refused if it names a field twice (as the ledger does)."""
    names = [name for name, _ in pairs]
    if len(names) != len(set(names)):
        raise Invalid("genesis.json names a field twice")
    return dict(pairs)


def check_genesis(genesis):
    """Refuses a genesis the ledger refuses (PROOFS.md section 1)."""
    version, protocol = genesis.get("version"), genesis.get("protocol", 1)
    if type(version) is not int or version not in (3, 4):
        raise Invalid("genesis version must be 3 or 4")
    if type(protocol) is not int:
        raise Invalid("a genesis's protocol is an integer")
    if version == 3 and protocol != 1:
        raise Invalid("a genesis of version 3 starts at protocol 1")
    if version == 4 and not 2 <= protocol <= 0xFFFF:
        raise Invalid("a genesis of version 4 starts at protocol 2 to 65535")
    agencies = genesis.get("agencies") or []
    if not 1 <= len(agencies) <= 128:
        raise Invalid("a genesis lists 1 to 128 agencies")
    ids, keys = set(), set()
    for agency in agencies:
        if not 1 <= len(agency.get("admin_keys") or []) <= 8:
            raise Invalid("an agency lists 1 to 8 admin keys")
        key = agency["validator_key"].lower()
        if agency["id"] in ids or key in keys:
            raise Invalid("two agencies share an id or a validator key")
        ids.add(agency["id"])
        keys.add(key)
    if genesis.get("epoch_length", 0) < 10:
        raise Invalid("epoch_length must be at least 10")
    if not 1 <= genesis.get("governance_threshold", 0) <= len(agencies):
        raise Invalid("governance_threshold must be between 1 and the number of agencies")


def genesis_encoding(genesis):
    out = bytearray()
    out += genesis["version"].to_bytes(2, "big")
    chain = genesis["chain_id"].encode()
    out += varint(len(chain)) + chain
    out += genesis["genesis_time"].to_bytes(8, "big")
    out += varint(len(genesis["agencies"]))
    for agency in genesis["agencies"]:
        for field in ("id", "name"):
            text = agency[field].encode()
            out += varint(len(text)) + text
        out += bytes.fromhex(agency["validator_key"])
        out += varint(len(agency["admin_keys"]))
        for key in agency["admin_keys"]:
            out += bytes.fromhex(key)
        address = agency["p2p_address"].encode()
        out += varint(len(address)) + address
    out += genesis["epoch_length"].to_bytes(8, "big")
    out += genesis["governance_threshold"].to_bytes(4, "big")
    for field in ("schema", "policies"):
        text = genesis["authorization"][field].encode()
        out += varint(len(text)) + text
    if genesis["version"] == 4:
        out += genesis["protocol"].to_bytes(2, "big")
    return bytes(out)


# --- bundle -------------------------------------------------------------------------------------

def read_header(r):
    start = r.pos
    h = {}
    h["version"] = r.be(2)
    if h["version"] == 4:
        h["protocol"] = r.be(2)
        if h["protocol"] < 2:
            raise Invalid("a format-4 header carries protocol version 2 or later")
    elif h["version"] == 3:
        h["protocol"] = 1
    else:
        raise Invalid("unknown header version")
    h["chain"] = r.take(32)
    h["height"] = r.be(8)
    h["parent"] = r.take(32)
    h["epoch"] = r.be(8)
    h["view"] = r.be(8)
    h["parent_view"] = r.be(8)
    h["proposer"] = r.take(32)
    h["timestamp"] = r.be(8)
    h["tx_count"] = r.be(4)
    h["tx_root"] = r.take(32)
    h["receipts_root"] = r.take(32)
    h["state_root"] = r.take(32)
    h["state_ops_root"] = r.take(32)
    h["state_ops_start"] = r.be(8)
    h["state_ops_end"] = r.be(8)
    h["history_root"] = r.take(32)
    h["validator_set"] = r.take(32)
    h["bytes"] = r.data[start:r.pos]
    return h


def read_transaction_claim(r):
    """A transaction claim: the body and receipt length-prefixed, so neither is parsed."""
    body = r.bytes_(16384)
    count_at = r.pos
    signatures = [(r.key(), r.take(64)) for _ in range(r.length(8))]
    signature_bytes = r.data[count_at:r.pos]
    if not signatures:
        raise Invalid("attached transaction is unsigned")
    namespace = b"civitas/tx/v1"
    message = varint(len(namespace)) + namespace + body
    keys = [key for key, _ in signatures]
    if len(set(keys)) != len(keys):
        raise Invalid("attached transaction has a duplicate signer")
    for key, signature in signatures:
        if not ed25519_verify(key, message, signature):
            raise Invalid("attached transaction signature does not verify")
    receipt = r.bytes_(65536)
    tx_path = [r.take(32) for _ in range(r.length(32))]
    receipt_path = [r.take(32) for _ in range(r.length(32))]
    return {"kind": "transaction", "tx_body": body, "signed": body + signature_bytes,
            "receipt": receipt, "tx_path": tx_path, "receipt_path": receipt_path}


def read_finalization(r):
    f = {"epoch": r.be(8), "view": r.be(8), "parent_view": r.be(8), "block": r.take(32)}
    f["signatures"] = [(r.be(4), r.take(64)) for _ in range(r.length(64))]
    return f


def read_bundle(data):
    if len(data) > 1024 * 1024:
        raise Invalid("bundle over 1 MiB")
    if len(data) < 38:
        raise Invalid("not a proof bundle")
    data, checksum = data[:-32], data[-32:]
    if tagged(b"civitas/bundle", data) != checksum:
        raise Invalid("checksum mismatch: the file was altered or damaged")
    r = Reader(data)
    if r.take(4) != b"CVPB":
        raise Invalid("not a proof bundle")
    if r.be(2) != 4:
        raise Invalid("unsupported bundle version")
    b = {"genesis": r.take(32)}
    b["handovers"] = []
    for _ in range(r.length(4096)):
        handover = {"header": read_header(r), "finalization": read_finalization(r)}
        start = r.pos
        count = r.be(4)
        if count < 1 or count > 64:
            raise Invalid("a validator set holds 1 to 64 validators")
        keys = []
        for _ in range(count):
            keys.append(r.key())
            r.string(32)
            r.string(256)
        if any(a >= b_ for a, b_ in zip(keys, keys[1:])):
            raise Invalid("validator keys must be distinct and ascending")
        handover["next"] = keys
        handover["next_bytes"] = r.data[start:r.pos]
        handover["proof"] = r.bytes_(65536)
        b["handovers"].append(handover)
    b["validators"] = [r.key() for _ in range(r.length(64))]
    b["header"] = read_header(r)
    b["finalization"] = read_finalization(r)
    kind = r.u8()
    if kind == 0:
        space = r.string(64)
        key_id = r.bytes_(256)
        value = r.option(lambda: r.bytes_(65536))
        proof = r.bytes_(65536)
        b["claim"] = {"kind": "state", "space": space, "id": key_id, "value": value, "proof": proof}
    elif kind == 1:
        b["claim"] = read_transaction_claim(r)
    elif kind == 2:
        earlier = read_header(r)
        path = [r.take(32) for _ in range(r.length(64))]
        peaks = [r.take(32) for _ in range(r.length(64))]
        b["claim"] = read_transaction_claim(r)
        b["claim"].update({"earlier": earlier, "history_path": path, "history_peaks": peaks})
    else:
        raise Invalid("unknown claim kind")
    r.done()
    return b


# --- a block's transaction and receipt trees ----------------------------------------------------

def merkle_verify(root, leaf_hash, index, count, path):
    """Leaf `index` of `count` (RFC 6962 shape, split at the largest power of two below n)."""
    if index >= count:
        return False
    directions = []
    start, length = 0, count
    while length > 1:
        k = 1
        while k * 2 < length:
            k *= 2
        if index - start < k:
            directions.append(True)
            length = k
        else:
            directions.append(False)
            start += k
            length -= k
    if len(directions) != len(path):
        return False
    acc = tagged(b"civitas/tx-leaf", leaf_hash)
    for sibling, is_left in zip(path, reversed(directions)):
        acc = tagged(b"civitas/tx-node", acc + sibling) if is_left \
            else tagged(b"civitas/tx-node", sibling + acc)
    return acc == root


def verify_transaction(header, claim):
    """The transaction and its receipt sit at the receipt's position in the header's block."""
    tx_hash = tagged(b"civitas/tx", claim["tx_body"])
    receipt = claim["receipt"]
    if len(receipt) < 93:
        raise Invalid("the receipt is too short")
    if receipt[:32] != tx_hash:
        raise Invalid("the receipt is for another transaction")
    if int.from_bytes(receipt[32:40], "big") != header["height"]:
        raise Invalid("the receipt names another block")
    index = int.from_bytes(receipt[40:44], "big")
    signed_hash = tagged(b"civitas/signed-tx", claim["signed"])
    if not merkle_verify(header["tx_root"], signed_hash, index, header["tx_count"],
                         claim["tx_path"]):
        raise Invalid("the transaction with these signatures is not at the receipt's position")
    receipt_hash = tagged(b"civitas/receipt", receipt)
    if not merkle_verify(header["receipts_root"], receipt_hash, index, header["tx_count"],
                         claim["receipt_path"]):
        raise Invalid("the receipt is not the block's receipt for that position")


# --- the history Merkle Mountain Range ----------------------------------------------------------

def history_verify(root, digest, index, leaf_count, path, peaks):
    """`digest` is leaf `index` of the history MMR of `leaf_count` leaves whose root is `root`."""
    if index >= leaf_count:
        return False
    heights = [h for h in range(63, -1, -1) if leaf_count & (1 << h)]
    if len(peaks) != len(heights):
        return False
    start = 0
    for slot, height in enumerate(heights):
        size = 1 << height
        if index < start + size:
            if len(path) != height:
                return False
            acc = tagged(b"civitas/mmr-leaf", index.to_bytes(8, "big"), digest)
            offset = index - start
            for sibling in path:
                acc = tagged(b"civitas/mmr-node", acc + sibling) if offset % 2 == 0 \
                    else tagged(b"civitas/mmr-node", sibling + acc)
                offset //= 2
            if acc != peaks[slot]:
                return False
            break
        start += size
    return tagged(b"civitas/mmr-root", leaf_count.to_bytes(8, "big"), *peaks) == root


def verify_earlier(genesis, genesis_hash, certified, claim):
    """The claim's block is in the history of the certified block, then the transaction claim."""
    earlier = claim["earlier"]
    if earlier["chain"] != genesis_hash:
        raise Invalid("the earlier header is from a different chain")
    if earlier["height"] >= certified["height"]:
        raise Invalid("the earlier block is not below the certified block")
    if earlier["epoch"] != earlier["height"] // genesis["epoch_length"]:
        raise Invalid("the earlier block's epoch does not follow from its height")
    digest = tagged(b"civitas/header", earlier["bytes"])
    if not history_verify(certified["history_root"], digest, earlier["height"],
                          certified["height"], claim["history_path"], claim["history_peaks"]):
        raise Invalid("the earlier block is not in the certified block's history")
    verify_transaction(earlier, claim)


# --- the state proof (QMDB current, MMR family, 32-byte chunks) ---------------------------------

GRAFTING_HEIGHT = 8          # 32-byte chunks: 256 operations each
CHUNK_BITS = 256


def mmr_peaks(leaves):
    """(position, height, first leaf) of each peak, left to right."""
    peaks, offset, leaf = [], 0, 0
    for height in range(63, -1, -1):
        if leaves & (1 << height):
            size = (1 << (height + 1)) - 1
            peaks.append((offset + size - 1, height, leaf))
            offset += size
            leaf += 1 << height
    return peaks


def node_hash(pos, left, right, height, leaf_start, chunks, start_chunk, graftable):
    digest = sha256(pos.to_bytes(8, "big"), left, right)
    if height != GRAFTING_HEIGHT:
        return digest
    chunk_index = leaf_start >> GRAFTING_HEIGHT
    local = chunk_index - start_chunk
    if chunk_index >= graftable or local < 0 or local >= len(chunks):
        return digest
    chunk = chunks[local]
    if chunk == bytes(len(chunk)):
        return digest
    return sha256(chunk, digest)


def reconstruct(pos, height, leaf_start, loc, element, siblings, cursor, ctx):
    """Rebuilds a subtree digest that contains leaf `loc`, consuming siblings in DFS order."""
    leaf_end = leaf_start + (1 << height)
    if leaf_end <= loc or leaf_start > loc:
        if cursor[0] >= len(siblings):
            raise Invalid("state proof is missing digests")
        digest = siblings[cursor[0]]
        cursor[0] += 1
        return digest
    if height == 0:
        return sha256(pos.to_bytes(8, "big"), element)
    left_pos, right_pos = pos - (1 << height), pos - 1
    mid = leaf_start + (1 << (height - 1))
    left = reconstruct(left_pos, height - 1, leaf_start, loc, element, siblings, cursor, ctx)
    right = reconstruct(right_pos, height - 1, mid, loc, element, siblings, cursor, ctx)
    return node_hash(pos, left, right, height, leaf_start, *ctx)


def fold(acc, peak):
    return sha256(acc, peak)


def bag(leaves, inactive_to_fold, committed_inactive, peaks):
    domain = bytes([0, 1])            # MMR family, backward bagging
    if not peaks:
        return sha256(domain, leaves.to_bytes(8, "big"))
    acc = peaks[0]
    rest = list(peaks[1:])
    for _ in range(max(inactive_to_fold - 1, 0)):
        if not rest:
            raise Invalid("bad inactive peak count")
        acc = fold(acc, rest.pop(0))
    if rest:
        b = rest[-1]
        for peak in reversed(rest[:-1]):
            b = fold(peak, b)
        acc = fold(acc, b)
    parts = [domain, leaves.to_bytes(8, "big")]
    if committed_inactive:
        parts.append(committed_inactive.to_bytes(8, "big"))
    parts.append(acc)
    return sha256(*parts)


def read_operation_proof(r):
    loc = r.varint()
    chunk = r.take(32)
    leaves = r.varint()
    inactive = r.varint()
    if loc > 1 << 62 or leaves > 1 << 62:
        raise Invalid("a location beyond 2^62")
    digests = [r.take(32) for _ in range(r.length(256))]
    # pending chunk: nothing is encoded for the MMR family
    partial = r.option(lambda: r.take(32))
    ops_root = r.take(32)
    return {"loc": loc, "chunk": chunk, "leaves": leaves, "inactive": inactive,
            "digests": digests, "partial": partial, "ops_root": ops_root}


def operation_proof_root(p, element):
    loc, leaves, chunk = p["loc"], p["leaves"], p["chunk"]
    if loc >= leaves:
        raise Invalid("operation outside the log")
    bit = loc % CHUNK_BITS
    if chunk[bit // 8] & (1 << (bit % 8)) == 0:
        raise Invalid("the operation is not current")
    start_chunk = loc // CHUNK_BITS
    complete = leaves // CHUNK_BITS
    next_bit = leaves % CHUNK_BITS
    graftable = complete                     # every complete chunk is graftable in an MMR
    if next_bit:
        if p["partial"] is None:
            raise Invalid("missing partial chunk digest")
        if start_chunk == complete and p["partial"] != sha256(chunk):
            raise Invalid("partial chunk digest mismatch")
    elif p["partial"] is not None:
        raise Invalid("unexpected partial chunk digest")
    ctx = ([chunk], start_chunk, graftable)

    peaks = mmr_peaks(leaves)
    inactive = p["inactive"]
    if inactive > len(peaks):
        raise Invalid("bad inactive peak count")
    before = [pk for pk in peaks if pk[2] + (1 << pk[1]) <= loc]
    overlapping = [pk for pk in peaks if pk[2] <= loc < pk[2] + (1 << pk[1])]
    after = [pk for pk in peaks if pk[2] > loc]
    fold_count = min(inactive, len(before))      # backward bagging
    fold_prefix, prefix_active = before[:fold_count], before[fold_count:]
    first_after = len(before) + len(overlapping)
    individual = min(max(inactive - first_after, 0), len(after))
    after_individual, suffix = after[:individual], after[individual:]

    digests = p["digests"]
    i = 0
    peak_digests = []
    if fold_prefix:
        peak_digests.append(digests[i]); i += 1
    for _ in prefix_active:
        peak_digests.append(digests[i]); i += 1
    after_digests = digests[i:i + len(after_individual)]; i += len(after_individual)
    suffix_digest = None
    if suffix:
        suffix_digest = digests[i]; i += 1
    siblings = digests[i:]
    if len(after_digests) != len(after_individual) or (suffix and suffix_digest is None):
        raise Invalid("state proof is missing digests")
    cursor = [0]
    for (pos, height, leaf_start) in overlapping:
        peak_digests.append(reconstruct(pos, height, leaf_start, loc, element, siblings, cursor, ctx))
    if cursor[0] != len(siblings):
        raise Invalid("state proof has extra digests")
    peak_digests += after_digests
    if suffix_digest is not None:
        peak_digests.append(suffix_digest)
    to_fold = inactive if not fold_prefix else max(inactive - len(fold_prefix), 0) + 1
    grafted_root = bag(leaves, to_fold, inactive, peak_digests)
    if next_bit:
        return sha256(p["ops_root"], grafted_root, next_bit.to_bytes(8, "big"), p["partial"])
    return sha256(p["ops_root"], grafted_root)


def state_value(value):
    return varint(len(value)) + value


def verify_state(root, space, key_id, value, proof):
    stored_key = tagged(b"civitas/state-key", bytes([len(space.encode())]), space.encode(), key_id)
    r = Reader(proof)
    tag = r.u8()
    if tag == 0 and value is not None:
        p = read_operation_proof(r)
        next_key = r.take(32)
        r.done()
        element = b"\xd2" + stored_key + state_value(value) + next_key
        return operation_proof_root(p, element) == root
    if tag == 1 and value is None:
        kind = r.u8()
        p = read_operation_proof(r)
        if kind == 0:
            k1 = r.take(32)
            v = r.bytes_(65536)
            k2 = r.take(32)
            r.done()
            inside = (k1 <= stored_key < k2) if k1 < k2 else (stored_key >= k1 or stored_key < k2)
            if k1 == stored_key or not inside:
                return False
            element = b"\xd2" + k1 + state_value(v) + k2
        elif kind == 1:
            metadata = r.option(lambda: r.bytes_(65536))
            r.done()
            element = b"\xd3" + (b"\x00" if metadata is None else b"\x01" + state_value(metadata)) + varint(p["loc"])
        else:
            raise Invalid("unknown absence proof kind")
        return operation_proof_root(p, element) == root
    return False


# --- the whole check ----------------------------------------------------------------------------

def check_block(genesis, genesis_hash, header, fin, validators):
    """The header is from this chain and its epoch, and fin is a quorum certificate over it."""
    if header["chain"] != genesis_hash:
        raise Invalid("header from a different chain")
    epoch = header["height"] // genesis["epoch_length"]
    if header["epoch"] != epoch or fin["epoch"] != epoch:
        raise Invalid("block %d belongs to epoch %d" % (header["height"], epoch))
    set_digest = tagged(b"civitas/validator-set", len(validators).to_bytes(4, "big"), *validators)
    if header["validator_set"] != set_digest:
        raise Invalid("validator-set digest mismatch")
    block = tagged(b"civitas/header", header["bytes"])
    if fin["block"] != block:
        raise Invalid("certificate is for another block")
    namespace = b"civitas/consensus/" + genesis_hash + b"_FINALIZE"
    message = varint(len(namespace)) + namespace + varint(fin["epoch"]) + varint(fin["view"]) \
        + varint(fin["parent_view"]) + fin["block"]
    last = -1
    for index, signature in fin["signatures"]:
        if index <= last or index >= len(validators):
            raise Invalid("bad signer index")
        last = index
        if not ed25519_verify(validators[index], message, signature):
            raise Invalid("signature of validator #%d does not verify" % index)
    n = len(validators)
    if len(fin["signatures"]) < n - (n - 1) // 3:
        raise Invalid("no quorum")


def verify(bundle_bytes, genesis):
    check_genesis(genesis)
    b = read_bundle(bundle_bytes)
    genesis_hash = tagged(b"civitas/genesis", genesis_encoding(genesis))
    header, fin, claim = b["header"], b["finalization"], b["claim"]
    if b["genesis"] != genesis_hash:
        raise Invalid("anchored to a different genesis")
    # Follow the validator set from genesis through each hand-over.
    validators = sorted(bytes.fromhex(a["validator_key"]) for a in genesis["agencies"])
    epoch = 0
    for i, h in enumerate(b["handovers"]):
        hh = h["header"]
        if hh["epoch"] < epoch:
            raise Invalid("hand-over #%d goes back in time" % i)
        check_block(genesis, genesis_hash, hh, h["finalization"], validators)
        if hh["height"] != (hh["epoch"] + 1) * genesis["epoch_length"] - 1:
            raise Invalid("hand-over #%d is not the last block of its epoch" % i)
        next_epoch = hh["epoch"] + 1
        if not verify_state(hh["state_root"], "consensus/epoch", next_epoch.to_bytes(8, "big"),
                            h["next_bytes"], h["proof"]):
            raise Invalid("hand-over #%d: the incoming set is not proven" % i)
        validators, epoch = h["next"], next_epoch
    if header["epoch"] < epoch:
        raise Invalid("the block is older than the last hand-over")
    if b["validators"] != validators:
        raise Invalid("validator set differs from the hand-over chain")
    check_block(genesis, genesis_hash, header, fin, validators)
    if claim["kind"] == "transaction" and "earlier" in claim:
        verify_earlier(genesis, genesis_hash, header, claim)
    elif claim["kind"] == "transaction":
        verify_transaction(header, claim)
    elif not verify_state(header["state_root"], claim["space"], claim["id"], claim["value"],
                          claim["proof"]):
        raise Invalid("state proof does not match the state root")
    return b


def main(argv):
    if len(argv) != 4 or argv[2] != "--genesis":
        print(__doc__, file=sys.stderr)
        return 64
    with open(argv[1], "rb") as f:
        data = f.read()
    with open(argv[3]) as f:
        text = f.read()
    try:
        genesis = json.loads(text, object_pairs_hook=unique_fields)
        b = verify(data, genesis)
    except Invalid as e:
        print("INVALID: %s" % e, file=sys.stderr)
        return 2
    claim, height = b["claim"], b["header"]["height"]
    if claim["kind"] == "transaction":
        receipt = claim["receipt"]
        outcome = "succeeded" if receipt[92] == 0 else "failed"
        included = int.from_bytes(receipt[32:40], "big")
        through = " (proven through certified block %d)" % height if included != height else ""
        print("VALID: transaction %s is number %d of block %d%s and %s"
              % (receipt[:32].hex(), int.from_bytes(receipt[40:44], "big"), included, through,
                 outcome))
        return 0
    state = "present" if claim["value"] is not None else "absent"
    print("VALID: %s/%s is %s at height %d" % (claim["space"], claim["id"].hex(), state, height))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
