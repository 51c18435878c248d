#!/usr/bin/env node
// testsuite/integration/contrib_verify.js - checks an epoch that
// contrib_tool closed, independently of the C code: written from
// contracts/FORMATS.md and doc/contributions.md, hashed with js-sha3 (a
// dependency of the solc npm package) and node's SHA-256.
//
//   node contrib_verify.js CLOSE.json EPOCH.csv
//
// From the CSV alone it recomputes every leaf, the Merkle root, the totals
// and the data hash, compares them with the JSON, and checks every proof
// of the JSON the way OpenZeppelin's MerkleProof.verify folds it; with a
// "rewards" section, the reward leaves, their root and that the amounts sum
// to the pool.  Prints one line per check; exits 1 on the first mismatch.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { keccak256 } = require(path.join(__dirname, '../../contracts/node_modules/js-sha3'));

const kec = (b) => Buffer.from(keccak256.arrayBuffer(b));
const hex = (b) => '0x' + Buffer.from(b).toString('hex');
function fail(msg) { console.log('mismatch: ' + msg); process.exit(1); }
function check(what, got, want) {
	if (got !== want) fail(`${what}: got ${got}, want ${want}`);
}

function word(v) {
	const b = Buffer.alloc(32);
	let x = BigInt(v);
	for (let i = 31; i >= 0; i--) { b[i] = Number(x & 0xffn); x >>= 8n; }
	if (x !== 0n) fail('value wider than 256 bits: ' + v);
	return b;
}
const wordHex = (h, n) => Buffer.concat([Buffer.alloc(32 - n), Buffer.from(h.slice(2), 'hex')]);
const leafOf = (words) => kec(kec(Buffer.concat(words)));
const hashPair = (a, b) => Buffer.compare(a, b) < 0 ? kec(Buffer.concat([a, b])) : kec(Buffer.concat([b, a]));
function root(leaves) {
	if (!leaves.length) return Buffer.alloc(32);
	let level = leaves;
	while (level.length > 1) {
		const up = [];
		for (let i = 0; i < level.length; i += 2)
			up.push(i + 1 < level.length ? hashPair(level[i], level[i + 1]) : level[i]);
		level = up;
	}
	return level[0];
}
const fold = (leaf, proof) => proof.reduce((h, p) => hashPair(h, Buffer.from(p.slice(2), 'hex')), leaf);

// RFC 4180 as doc/contributions.md fixes it: CRLF after every line.
function parseCsv(text) {
	const rows = [];
	let row = [], field = '', i = 0, quoted = false;
	while (i < text.length) {
		const c = text[i];
		if (quoted) {
			if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
			if (c === '"') { quoted = false; i++; continue; }
			field += c; i++; continue;
		}
		if (c === '"' && field === '') { quoted = true; i++; continue; }
		if (c === ',') { row.push(field); field = ''; i++; continue; }
		if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i += 2; continue; }
		if (c === '\n' || c === '\r') fail('a line does not end in CRLF');
		field += c; i++;
	}
	if (field !== '' || row.length) fail('the last line does not end in CRLF');
	return rows;
}
// "12.000500" -> 12000500n: exactly six decimals.
function micro(s) {
	const m = /^([0-9]+)\.([0-9]{6})$/.exec(s);
	if (!m) fail('not a six-decimal amount: ' + s);
	return BigInt(m[1]) * 1000000n + BigInt(m[2]);
}

const [jsonPath, csvPath] = process.argv.slice(2);
const epoch = JSON.parse(fs.readFileSync(jsonPath, 'utf8'));
const csvBytes = fs.readFileSync(csvPath);

check('data hash = SHA-256 of the CSV', hex(crypto.createHash('sha256').update(csvBytes).digest()), epoch.data_hash);
console.log('data hash ok');

const rows = parseCsv(csvBytes.toString('utf8'));
check('header', rows[0].join(','), 'epoch,index,site,site_id,payee,cluster,node,usage_records,' +
      'cpu_seconds,gpu_seconds,node_seconds,credits,score,leaf');
const recs = rows.slice(1);
check('records', recs.length, epoch.records);
check('records in the JSON', epoch.contribution_records.length, recs.length);
const leaves = [];
let cpu = 0n, gpu = 0n, score = 0n, credits = 0n;
recs.forEach((r, i) => {
	const [ep, index, site, siteId, payee, cluster, node, , cpuS, gpuS, , cred, sc, leafHex] = r;
	check(`row ${i} epoch`, ep, String(epoch.epoch));
	check(`row ${i} index`, index, String(i));
	check(`row ${i} site_id`, siteId, hex(kec(Buffer.from(site, 'utf8'))));
	const leaf = leafOf([word(ep), word(index), wordHex(siteId, 32), wordHex(payee, 20),
			     word(cpuS), word(gpuS), word(micro(sc))]);
	check(`row ${i} leaf`, hex(leaf), leafHex);
	const j = epoch.contribution_records[i];
	check(`row ${i} = JSON record`, [site, cluster, node, cpuS, gpuS, String(micro(sc))].join(' '),
	      [j.site, j.cluster, j.node, j.cpu_seconds, j.gpu_seconds, j.score].join(' '));
	check(`row ${i} leaf = JSON leaf`, leafHex, j.leaf);
	if (i) {
		const p = recs[i - 1];
		const a = [p[2], p[5], p[6]], b = [site, cluster, node];
		// canonical order: site, cluster, node, compared bytewise
		const cmp = Buffer.compare(Buffer.from(a.join('\0')), Buffer.from(b.join('\0')));
		if (cmp >= 0) fail(`rows ${i - 1} and ${i} are not in canonical order`);
	}
	leaves.push(leaf);
	cpu += BigInt(cpuS); gpu += BigInt(gpuS); score += micro(sc); credits += micro(cred);
});
console.log(`leaves ok: ${leaves.length}`);
check('cpu_seconds total', cpu.toString(), String(epoch.cpu_seconds));
check('gpu_seconds total', gpu.toString(), String(epoch.gpu_seconds));
check('score total', score.toString(), String(epoch.score));
check('credits total', credits.toString(), String(epoch.credits));
console.log('totals ok');
const r = root(leaves);
check('root', hex(r), epoch.root);
console.log('root ok: ' + hex(r));
let proofs = 0;
epoch.contribution_records.forEach((j, i) => {
	if (!j.proof) return;
	check(`proof ${i}`, hex(fold(leaves[i], j.proof)), epoch.root);
	proofs++;
});
console.log(`proofs ok: ${proofs}`);

if (epoch.rewards) {
	const w = epoch.rewards;
	let sum = 0n;
	const rl = w.entries.map((e, i) => {
		check(`reward ${i} index`, e.index, i);
		sum += BigInt(e.amount);
		const leaf = leafOf([word(epoch.epoch), word(i), wordHex(e.account.toLowerCase(), 20), word(e.amount)]);
		check(`reward ${i} leaf`, hex(leaf), e.leaf);
		return leaf;
	});
	check('rewards sum to the pool', sum.toString(), w.pool);
	check('reward root', hex(root(rl)), w.root);
	console.log(`rewards ok: ${rl.length} entries, sum = pool = ${w.pool}`);
}
