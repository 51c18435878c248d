#!/usr/bin/env node
// testsuite/unit/eth_reference.js - an independent reference for the C
// Keccak-256, leaf encodings and Merkle trees (common/keccak.c, abi.c,
// merkle.c), written from contracts/FORMATS.md alone and hashed with js-sha3
// (a dependency of the solc npm package).  Writes eth_reference.json in the
// layout of contracts/test/vectors.json plus a "keccak" section; the unit
// test test_eth_merkle reads it.  Regenerate (deterministic) with:
//   node testsuite/unit/eth_reference.js > testsuite/unit/eth_reference.json
'use strict';
const path = require('path');
const { keccak256 } = require(path.join(__dirname, '../../contracts/node_modules/js-sha3'));

const hex = (bytes) => '0x' + Buffer.from(bytes).toString('hex');
const kec = (bytes) => Buffer.from(keccak256.arrayBuffer(bytes));

// A fixed pseudo-random sequence (xorshift32), so the output never changes.
let state = 0x9e3779b9;
function rand32() {
	state ^= state << 13; state >>>= 0;
	state ^= state >>> 17;
	state ^= state << 5; state >>>= 0;
	return state;
}
function randBig(bits) {
	let v = 0n;
	for (let i = 0; i < bits; i += 32) v = (v << 32n) | BigInt(rand32());
	return v & ((1n << BigInt(bits)) - 1n);
}
function randBytes(n) {
	const b = Buffer.alloc(n);
	for (let i = 0; i < n; i++) b[i] = rand32() & 0xff;
	return b;
}

// abi.encode of static words: each value left-padded to 32 bytes.
function word(v) {
	const b = Buffer.alloc(32);
	let x = BigInt(v);
	for (let i = 31; i >= 0; i--) { b[i] = Number(x & 0xffn); x >>= 8n; }
	if (x !== 0n) throw new Error('value wider than 256 bits');
	return b;
}
const wordAddress = (a) => Buffer.concat([Buffer.alloc(12), Buffer.from(a.slice(2), 'hex')]);
const wordBytes32 = (h) => Buffer.from(h.slice(2), 'hex');
const leafOf = (words) => kec(kec(Buffer.concat(words)));

// OpenZeppelin's commutative hash and the tree of FORMATS.md.
function hashPair(a, b) {
	return Buffer.compare(a, b) < 0 ? kec(Buffer.concat([a, b])) : kec(Buffer.concat([b, a]));
}
function levels(leaves) {
	const out = [leaves];
	while (out[out.length - 1].length > 1) {
		const below = out[out.length - 1], up = [];
		for (let i = 0; i < below.length; i += 2)
			up.push(i + 1 < below.length ? hashPair(below[i], below[i + 1]) : below[i]);
		out.push(up);
	}
	return out;
}
function tree(leaves) {
	if (leaves.length === 0) return { root: Buffer.alloc(32), proofs: [] };
	const lv = levels(leaves);
	const proofs = leaves.map((_, index) => {
		const proof = [];
		let i = index;
		for (let l = 0; l + 1 < lv.length; l++, i = Math.floor(i / 2)) {
			const sib = i ^ 1;
			if (sib < lv[l].length) proof.push(lv[l][sib]);
		}
		return proof;
	});
	const root = lv[lv.length - 1][0];
	// Check each proof the way MerkleProof.verify folds it.
	leaves.forEach((leaf, i) => {
		const got = proofs[i].reduce((h, p) => hashPair(h, p), leaf);
		if (!got.equals(root)) throw new Error('proof does not verify');
	});
	return { root, proofs };
}

function address() { return hex(randBytes(20)); }

function contributionTree(n, epoch) {
	const sites = ['site_a', 'site_b', 'site_c'];
	const records = [];
	for (let i = 0; i < n; i++) {
		const site = sites[rand32() % sites.length];
		const siteId = hex(kec(Buffer.from(site, 'utf8')));
		// Edge values now and then: zero and the uint128 maximum.
		const cpu = i === 1 ? (1n << 128n) - 1n : randBig(i % 2 ? 40 : 100);
		const gpu = i === 2 ? 0n : randBig(36);
		const score = randBig(40);
		const payee = address();
		const leaf = leafOf([word(epoch), word(i), wordBytes32(siteId), wordAddress(payee),
			word(cpu), word(gpu), word(score)]);
		records.push({ epoch: String(epoch), index: i, site, siteId, payee,
			cpuSeconds: cpu.toString(), gpuSeconds: gpu.toString(),
			score: score.toString(), leaf: hex(leaf) });
	}
	const t = tree(records.map((r) => Buffer.from(r.leaf.slice(2), 'hex')));
	records.forEach((r, i) => { r.proof = t.proofs[i].map(hex); });
	return { records, root: hex(t.root) };
}

function rewardTree(n, epoch) {
	const entries = [];
	for (let i = 0; i < n; i++) {
		const account = address();
		const amount = i === 0 ? (1n << 256n) - 1n : randBig(70);
		const leaf = leafOf([word(epoch), word(i), wordAddress(account), word(amount)]);
		entries.push({ epoch: String(epoch), index: String(i), account,
			amount: amount.toString(), leaf: hex(leaf) });
	}
	const t = tree(entries.map((e) => Buffer.from(e.leaf.slice(2), 'hex')));
	entries.forEach((e, i) => { e.proof = t.proofs[i].map(hex); });
	return { entries, root: hex(t.root) };
}

// Keccak-256 around the 136-byte rate: one block, padding that fits, that
// does not, several blocks.
const keccakCases = [0, 1, 31, 32, 55, 56, 64, 134, 135, 136, 137, 200, 271, 272, 273, 408, 1000]
	.map((n) => { const b = randBytes(n); return { input: hex(b), hash: hex(kec(b)) }; });
const million = Buffer.alloc(1000000, 'a');

const out = {
	source: 'testsuite/unit/eth_reference.js (js-sha3 ' +
		require(path.join(__dirname, '../../contracts/node_modules/js-sha3/package.json')).version +
		'), from contracts/FORMATS.md',
	keccak: keccakCases,
	keccakMillionA: hex(kec(million)),
	contribution: [0, 1, 2, 3, 4, 5, 7, 8, 13].map((n) => contributionTree(n, 7 + n)),
	reward: [0, 1, 2, 3, 5, 8, 9].map((n) => rewardTree(n, 7 + n)),
};
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
