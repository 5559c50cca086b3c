// The transparency log's proofs, verified in the browser with WebCrypto (no library, no server verdict).
//
// - c2sp.org/signed-note: a note is its text, a blank line and lines "— <name> base64(keyID || sig)";
//   a vkey is "name+hex(keyID)+base64(0x01 || Ed25519 public key)", keyID = SHA-256(name "\n" 0x01 key)[:4].
// - c2sp.org/tlog-cosignature: a witness line's signature is 8-byte big-endian time || Ed25519 over
//   "cosignature/v1\ntime <t>\n" + the checkpoint text, under a type 0x04 key.
// - c2sp.org/tlog-checkpoint: the note text is "origin\nsize\nbase64(root)\n" (then extension lines).
// - RFC 9162 §2.1.1: leaf hash SHA-256(0x00 || data), node hash SHA-256(0x01 || left || right);
//   §2.1.3.2 inclusion proof verification, §2.1.4.2 consistency proof verification.
// - mics-leaf/v1 (mics.ledger.leaf): "mics-leaf/v1\n<event hash>\n<record time>\n<partner>\n".
"use strict";

const encoder = new TextEncoder();

function hexToBytes(hex, what) {
  if (typeof hex !== "string" || !/^([0-9a-fA-F]{2})*$/.test(hex)) {
    throw new Error(`${what} is not hex`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
  return out;
}

const toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

function base64ToBytes(text, what) {
  let binary;
  try {
    binary = atob(text);
  } catch {
    throw new Error(`${what} is not base64`);
  }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
const hashLeaf = (data) => sha256(concat(Uint8Array.of(0), data));
const hashChildren = (left, right) => sha256(concat(Uint8Array.of(1), left, right));

async function parseVkey(vkey, type = 1) {
  const text = vkey.trim();
  const first = text.indexOf("+");
  const second = text.indexOf("+", first + 1);
  if (first < 1 || second < 0) throw new Error("the key is not name+keyid+base64");
  const name = text.slice(0, first);
  const hexId = text.slice(first + 1, second);
  const material = base64ToBytes(text.slice(second + 1), "the key");
  if (material.length !== 33 || material[0] !== type) {
    throw new Error(`the key ${name} is not of type 0x0${type} with a 32-byte Ed25519 key`);
  }
  const publicKey = material.slice(1);
  const keyId = (await sha256(concat(encoder.encode(name + "\n"), Uint8Array.of(type), publicKey))).slice(0, 4);
  if (toHex(keyId) !== hexId) throw new Error(`the key ID is ${toHex(keyId)}, the key says ${hexId}`);
  return { name, keyId, publicKey };
}

function parseNote(note) {
  const split = note.lastIndexOf("\n\n");
  if (split < 0 || !note.endsWith("\n")) throw new Error("the checkpoint is not a signed note");
  const signatures = note
    .slice(split + 2, -1)
    .split("\n")
    .map((line) => {
      const found = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!found) throw new Error(`not a signature line: ${line.slice(0, 40)}`);
      const raw = base64ToBytes(found[2], "a signature");
      return { name: found[1], keyId: raw.slice(0, 4), signature: raw.slice(4) };
    });
  return { text: note.slice(0, split + 1), signatures };
}

// The checkpoint in ``note`` after its signature by ``key`` verified; throws otherwise.
async function openCheckpoint(note, key) {
  const { text, signatures } = parseNote(note);
  const mine = signatures.find((s) => s.name === key.name && same(s.keyId, key.keyId));
  if (!mine) throw new Error(`the checkpoint has no signature by ${key.name}`);
  if (!(await ed25519Verify(key.publicKey, mine.signature, encoder.encode(text)))) {
    throw new Error("the checkpoint's signature does not verify with this key: the note was altered or the key is not the log's");
  }
  const lines = text.split("\n");
  if (lines.length < 4 || !/^(0|[1-9][0-9]*)$/.test(lines[1])) throw new Error("the note is not a checkpoint");
  const root = base64ToBytes(lines[2], "the checkpoint's root");
  if (root.length !== 32) throw new Error("the checkpoint's root is not 32 bytes");
  return { origin: lines[0], size: BigInt(lines[1]), root, text, signatures };
}

const ed25519Verify = async (publicKey, signature, message) => {
  const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
};

// c2sp.org/tlog-cosignature: which listed witnesses cosigned ``checkpoint``; throws on a bad one.
async function checkCosignatures(checkpoint, witnessKeys) {
  const found = [];
  for (const vkey of witnessKeys) {
    const witness = await parseVkey(vkey, 4);
    const line = checkpoint.signatures.find((s) => s.name === witness.name && same(s.keyId, witness.keyId));
    if (!line) continue;
    if (line.signature.length !== 72) throw new Error(`the cosignature of ${witness.name} is not 72 bytes`);
    const time = new DataView(line.signature.buffer, line.signature.byteOffset, 8).getBigUint64(0);
    const message = encoder.encode(`cosignature/v1\ntime ${time}\n${checkpoint.text}`);
    if (!(await ed25519Verify(witness.publicKey, line.signature.slice(8), message))) {
      throw new Error(`the cosignature of ${witness.name} does not verify: the checkpoint or the cosignature was altered`);
    }
    found.push(`${witness.name} at ${new Date(Number(time) * 1000).toISOString()}`);
  }
  if (!witnessKeys.length) return "no witness keys are listed: the log's signature alone";
  return found.length
    ? `cosigned by ${found.length} of ${witnessKeys.length} witnesses: ${found.join(", ")}`
    : `cosigned by none of the ${witnessKeys.length} listed witnesses`;
}

const witnessKeys = () =>
  document.getElementById("witness-keys").value.split("\n").map((k) => k.trim()).filter((k) => k);

// RFC 9162 §2.1.3.2: the root an inclusion proof leads to.
async function rootFromInclusion(leafHash, index, size, proof) {
  if (!(index < size)) throw new Error(`leaf index ${index} is not below the tree size ${size}`);
  let fn = index;
  let sn = size - 1n;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0n) throw new Error("the proof has more hashes than the tree allows");
    if (fn & 1n || fn === sn) {
      r = await hashChildren(p, r);
      while (!(fn & 1n) && fn) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await hashChildren(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new Error("the proof has fewer hashes than the tree needs");
  return r;
}

// RFC 9162 §2.1.4.2: throws unless ``proof`` shows the tree of size2 extends that of size1.
async function checkConsistency(size1, size2, proof, root1, root2) {
  if (!(size1 > 0n && size1 <= size2)) throw new Error(`sizes must be 0 < first <= second, got ${size1} and ${size2}`);
  if (size1 === size2) {
    if (proof.length || !same(root1, root2)) throw new Error("equal sizes need equal roots and an empty proof");
    return;
  }
  if (!proof.length) throw new Error("the consistency proof is empty");
  const path = [...proof];
  if ((size1 & (size1 - 1n)) === 0n) path.unshift(root1);
  let fn = size1 - 1n;
  let sn = size2 - 1n;
  while (fn & 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) throw new Error("the proof has more hashes than the trees allow");
    if (fn & 1n || fn === sn) {
      fr = await hashChildren(c, fr);
      sr = await hashChildren(c, sr);
      while (!(fn & 1n) && fn) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = await hashChildren(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new Error("the proof has fewer hashes than the trees need");
  if (!same(fr, root1)) throw new Error(`the proof leads to first root ${toHex(fr)}, the first checkpoint signs ${toHex(root1)}`);
  if (!same(sr, root2)) throw new Error(`the proof leads to second root ${toHex(sr)}, the second checkpoint signs ${toHex(root2)}`);
}

// Runs ``steps`` (async functions returning a sentence) in order into the list ``out``.
async function report(out, steps) {
  out.replaceChildren();
  out.dataset.verdict = "running";
  const line = (text, kind) => {
    const li = document.createElement("li");
    li.className = kind;
    li.textContent = text;
    out.append(li);
    return li;
  };
  if (!window.crypto || !crypto.subtle) {
    line("This browser offers no WebCrypto here: open the page over HTTPS or on localhost.", "bad");
    out.dataset.verdict = "invalid";
    return;
  }
  for (const step of steps) {
    try {
      line(`✓ ${await step()}`, "ok");
    } catch (error) {
      line(`✗ ${error.message}`, "bad");
      line("Not verified.", "bad verdict");
      out.dataset.verdict = "invalid";
      return;
    }
  }
  out.dataset.verdict = "valid";
}

async function verifyInclusion() {
  const state = {};
  await report(document.getElementById("inclusion-result"), [
    async () => {
      state.key = await parseVkey(document.getElementById("vkey").value);
      return `key ${state.key.name} (ID ${toHex(state.key.keyId)})`;
    },
    async () => {
      try {
        state.proof = JSON.parse(document.getElementById("proof").value);
      } catch {
        throw new Error("the proof is not JSON");
      }
      if (typeof state.proof.checkpoint !== "string") throw new Error("the proof carries no checkpoint note");
      state.checkpoint = await openCheckpoint(state.proof.checkpoint, state.key);
      return `checkpoint of ${state.checkpoint.origin} at tree size ${state.checkpoint.size}: signature valid`;
    },
    () => checkCosignatures(state.checkpoint, witnessKeys()),
    async () => {
      state.leaf = hexToBytes(state.proof.leaf_data, "leaf_data");
      const lines = new TextDecoder("utf-8", { fatal: true }).decode(state.leaf).split("\n");
      if (lines[0] !== "mics-leaf/v1" || lines.length !== 5) throw new Error("leaf_data is not a mics-leaf/v1 leaf");
      const expected = document.getElementById("event-hash").value.trim();
      if (expected && expected !== lines[1]) throw new Error(`the leaf logs event hash ${lines[1]}, you expect ${expected}`);
      return `leaf: event ${lines[1]}, recorded ${lines[2]} for ${lines[3]}`;
    },
    async () => {
      state.leafHash = await hashLeaf(state.leaf);
      if (state.proof.leaf_hash && state.proof.leaf_hash !== toHex(state.leafHash)) {
        throw new Error(`the proof's leaf_hash is not SHA-256(0x00 || leaf_data) = ${toHex(state.leafHash)}`);
      }
      return `leaf hash ${toHex(state.leafHash)}`;
    },
    async () => {
      const size = BigInt(state.proof.tree_size);
      if (size !== state.checkpoint.size) throw new Error(`the proof is for tree size ${size}, the checkpoint signs ${state.checkpoint.size}`);
      const hashes = (state.proof.hashes || []).map((h, i) => hexToBytes(h, `proof hash ${i}`));
      const root = await rootFromInclusion(state.leafHash, BigInt(state.proof.leaf_index), size, hashes);
      if (!same(root, state.checkpoint.root)) throw new Error(`the proof leads to root ${toHex(root)}, the checkpoint signs ${toHex(state.checkpoint.root)}`);
      return `leaf ${state.proof.leaf_index} is in the log: the proof's ${hashes.length} hashes lead to the signed root`;
    },
  ]);
}

async function verifyConsistency() {
  const state = {};
  const first = document.getElementById("first").value;
  const second = document.getElementById("second").value;
  const fetched = async (url) => {
    const answer = await fetch(url, { cache: "no-store" });
    if (!answer.ok) throw new Error(`${url}: ${answer.status} ${(await answer.text()).slice(0, 200)}`);
    return answer;
  };
  await report(document.getElementById("consistency-result"), [
    async () => {
      state.key = await parseVkey(document.getElementById("vkey").value);
      return `key ${state.key.name} (ID ${toHex(state.key.keyId)})`;
    },
    async () => {
      const note = await (await fetched(`/ledger/checkpoints/${encodeURIComponent(first)}`)).text();
      state.old = await openCheckpoint(note, state.key);
      return `checkpoint at size ${state.old.size}: signature valid`;
    },
    async () => {
      const note = await (await fetched(`/ledger/checkpoints/${encodeURIComponent(second)}`)).text();
      state.new = await openCheckpoint(note, state.key);
      if (state.new.origin !== state.old.origin) throw new Error("the two checkpoints are of different logs");
      return `checkpoint at size ${state.new.size}: signature valid`;
    },
    async () => {
      const query = new URLSearchParams({ first, second });
      const proof = await (await fetched(`/ledger/proof/consistency?${query}`)).json();
      const hashes = proof.hashes.map((h, i) => hexToBytes(h, `proof hash ${i}`));
      await checkConsistency(state.old.size, state.new.size, hashes, state.old.root, state.new.root);
      return `the tree of size ${state.new.size} extends the tree of size ${state.old.size} (${hashes.length} proof hashes)`;
    },
  ]);
}

document.getElementById("verify-inclusion").addEventListener("click", verifyInclusion);
document.getElementById("verify-consistency").addEventListener("click", verifyConsistency);
if (document.getElementById("proof").value.trim()) verifyInclusion();
