/* Unit tests for common/eip1559.c: keys to addresses (anvil's published
 * development accounts, EIP-155's example key), the signing primitive on
 * EIP-155's published example, EIP-1559 transactions of ethereumjs's test
 * vectors (packages/tx/test/json/eip1559.json) byte for byte, a mainnet
 * EIP-1559 transaction (hash and sender), strict decoding, fee arithmetic. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "eip1559.h"
#include "keccak.h"
#include "rlp.h"
#include "test_eth_util.h"

/* secp256k1's group order halved: EIP-2's bound on s. */
static const char *half_order = "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0";

static void check_key_address(const char *key_hex, const char *want)
{
	uint8_t key[32];
	struct eth_address a;
	char s[ETH_ADDRESS_HEX_LEN + 1];

	unhex(key_hex, key, 32);
	assert_int_equal(eth_key_address(key, &a), 0);
	eth_address_format(&a, s);
	assert_string_equal(s, want);
}

/* anvil's (and hardhat's) first three development accounts, and the key of
 * EIP-155's example transaction. */
static void test_key_address(void **state)
{
	uint8_t key[32];
	struct eth_address a;

	check_key_address("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
			  "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
	check_key_address("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
			  "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
	check_key_address("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
			  "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
	check_key_address("4646464646464646464646464646464646464646464646464646464646464646",
			  "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F");
	/* zero and the group order itself are not keys */
	memset(key, 0, 32);
	assert_int_equal(eth_key_address(key, &a), -1);
	unhex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", key, 32);
	assert_int_equal(eth_key_address(key, &a), -1);
}

/* EIP-155's example: the signing hash daf5a779... signed with 0x4646...
 * gives v = 37 (chain 1, parity 0), r and s as published; RFC 6979 makes
 * the signature deterministic, so it must match exactly. */
static void test_eip155_signature(void **state)
{
	uint8_t key[32], unsigned_tx[64], digest[32];
	size_t n;
	struct eip1559_signature sig;

	memset(key, 0x46, 32);
	n = unhex("ec098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a764000080018080",
		  unsigned_tx, sizeof(unsigned_tx));
	keccak256(unsigned_tx, n, digest);
	assert_string_equal(tohex(digest, 32), "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53");
	assert_int_equal(eth_sign_digest(key, digest, &sig), 0);
	assert_int_equal(sig.y_parity, 0);
	assert_string_equal(tohex(sig.r, 32), "28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276");
	assert_string_equal(tohex(sig.s, 32), "67cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83");
}

/* ethereumjs's EIP-1559 vectors: chain 7822 (0x1e8e), to 0x...aaaa, no
 * data, key 0x8f2a5594...; signedTransactionRLP without its outer RLP
 * string header. */
static const struct {
	uint64_t nonce, value, gas_limit, tip, max_fee;
	const char *raw;
} ejs[] = {
	{ 819, 43203529, 35552, 75853, 121212,
	  "02f870821e8e8203338301284d8301d97c828ae094000000000000000000000000000000000000aaaa8402933bc980c080a0d067f2167008c59219652f91cbf8788dbca5f771f6e91e2b7657e85b78b472e0a01d305af9fe81fdba43f0dfcd400ed24dcace0a7e30d4e85701dcaaf484cd079e" },
	{ 353, 61901619, 32593, 38850, 136295,
	  "02f86f821e8e8201618297c283021467827f5194000000000000000000000000000000000000aaaa8403b08b3380c001a004205678f13fc1d7b10feea6513dfa76e24418b6e08097d95c6f93a3b64e536da01d45ad61bfece43862de2cce7d2575a8c1d08c26c87f3cb5f26d7b0be54a91b2" },
	{ 985, 32531825, 68541, 66377, 136097,
	  "02f871821e8e8203d983010349830213a183010bbd94000000000000000000000000000000000000aaaa8401f0657180c001a0e6d23c5ecc0f388a4d41a9523c3ad171e98083a61288c340b968dfe0903a6741a07319e8d54a4fd8f0c081d3ce093d869f9df598481991c8534bfd8f2c163884b4" },
	{ 623, 21649799, 57725, 74140, 81173,
	  "02f870821e8e82026f8301219c83013d1582e17d94000000000000000000000000000000000000aaaa84014a598780c080a0b107893e4590e177e244493a3f2b59d63619ddd82772105d8c96b7fc85ff683da07dc9b9dc054d2f69f9cc540688f6c0da3b54dd8bd8323f06d0ca26b546a480f1" },
	{ 972, 94563383, 65254, 42798, 103466,
	  "02f86f821e8e8203cc82a72e8301942a82fee694000000000000000000000000000000000000aaaa8405a2ec3780c080a02596bfedd3101f7e3c881eec060f83c60617fb21173ff41a560e02c9c23f02f4a01ef1f7930d31081c06dfd2176046a99442a88678638a33eb80afa8d2d3389ee0" },
	{ 588, 99359647, 37274, 87890, 130273,
	  "02f870821e8e82024c830157528301fce182919a94000000000000000000000000000000000000aaaa8405ec1b9f80c001a0404a06f2a9ba9d444e59f03e1b4ce46c4d7127342aa287a6e9a910b26ff6cc89a04af28549efdfb3e746938d01c92785e9852eb58c48d6f35cc99961e88f56603a" },
	{ 900, 30402257, 76053, 8714, 112705,
	  "02f870821e8e82038482220a8301b8418301291594000000000000000000000000000000000000aaaa8401cfe6d180c080a06e1bc9e4645de8bdad2c60424539c2dd93aacbc06ae94e440629b133a99e9ba7a03d23fdfdd9934c77fe5385a6b4b6c69e84cdec7814a19d81e648b5852ee5f7eb" },
	{ 709, 6478043, 28335, 86252, 94636,
	  "02f86f821e8e8202c5830150ec830171ac826eaf94000000000000000000000000000000000000aaaa8362d8db80c001a09880d133cd636f8c8dce32e2c43494b9f2dc000eee8dc61931e09f866ed04b46a00e44d5c503c7f08b36c8b062c32a963f3dd20a71e95e3d903bfbe7f4da47cd47" },
	{ 939, 2782905, 45047, 45216, 91648,
	  "02f86e821e8e8203ab82b0a08301660082aff794000000000000000000000000000000000000aaaa832a76b980c001a0a0e7d9b07c7ec68f24788a554f993b99d59a3f08439cc6c942f62ea0341f2aeba078122b9957c146f7c87811bd58a7e9916ca8c07dabcf875b97bbdef79cb9c197" },
	{ 119, 65456115, 62341, 24721, 107729,
	  "02f86d821e8e778260918301a4d182f38594000000000000000000000000000000000000aaaa8403e6c7f380c001a0e38e239770801eb995498c821e55ac9c19ae09184bb27b34be105e02fe3b7615a067c64ca6bd6d9107e85fd581ab2e70a14b637eb36505bb40861ef9d6e800cab6" },
};

static void test_ethereumjs_vectors(void **state)
{
	uint8_t key[32], want[256], s_max[32];
	struct eth_address from, signer;

	unhex("8f2a55949038a9610f50fb23b5883af3b4ecb3c3bb792cbcefbd1542c692be63", key, 32);
	unhex(half_order, s_max, 32);
	assert_int_equal(eth_key_address(key, &signer), 0);
	for (size_t i = 0; i < sizeof(ejs) / sizeof(ejs[0]); i++) {
		struct eip1559_tx tx = {
			.chain_id = 7822, .nonce = ejs[i].nonce, .gas_limit = ejs[i].gas_limit,
			.has_to = true,
		};
		struct eip1559_signed out;
		struct eip1559_decoded dec;
		size_t n = unhex(ejs[i].raw, want, sizeof(want));
		uint8_t hash[32];

		unhex("000000000000000000000000000000000000aaaa", tx.to.b, 20);
		u256_from_u64(&tx.value, ejs[i].value);
		u256_from_u64(&tx.max_priority_fee_per_gas, ejs[i].tip);
		u256_from_u64(&tx.max_fee_per_gas, ejs[i].max_fee);
		assert_int_equal(eip1559_sign(&tx, key, &out), 0);
		assert_int_equal(out.raw_len, n);
		assert_string_equal(tohex(out.raw, out.raw_len), ejs[i].raw);
		keccak256(want, n, hash);
		assert_memory_equal(out.hash, hash, 32);
		/* low s (EIP-2), as libsecp256k1 guarantees */
		assert_true(memcmp(out.sig.s, s_max, 32) <= 0);
		/* decoding gives the fields back, recovery the signer */
		assert_int_equal(eip1559_decode(out.raw, out.raw_len, &dec), 0);
		assert_true(dec.tx.chain_id == 7822 && dec.tx.nonce == ejs[i].nonce &&
			    dec.tx.gas_limit == ejs[i].gas_limit && dec.tx.has_to && dec.tx.data_len == 0);
		assert_int_equal(u256_cmp(&dec.tx.value, &tx.value), 0);
		assert_int_equal(u256_cmp(&dec.tx.max_fee_per_gas, &tx.max_fee_per_gas), 0);
		assert_int_equal(u256_cmp(&dec.tx.max_priority_fee_per_gas, &tx.max_priority_fee_per_gas), 0);
		assert_memory_equal(dec.tx.to.b, tx.to.b, 20);
		assert_int_equal(dec.sig.y_parity, out.sig.y_parity);
		assert_int_equal(eip1559_recover_sender(&dec.tx, &dec.sig, &from), 0);
		assert_memory_equal(from.b, signer.b, 20);
		eip1559_signed_free(&out);
	}
}

/* A mainnet EIP-1559 transaction (0x0ec0b6a2..., used as an example by
 * alloy and reth): its fields and signature give its hash, and recovery
 * gives its sender 0xDD6B8b3d.... */
static void test_mainnet_transaction(void **state)
{
	uint8_t data[68];
	struct eip1559_tx tx = {
		.chain_id = 1, .nonce = 0x42, .gas_limit = 44386, .has_to = true,
		.data = data, .data_len = sizeof(data),
	};
	struct eip1559_signature sig = { .y_parity = 0 };
	struct eip1559_signed out;
	struct eth_address from;
	char s[ETH_ADDRESS_HEX_LEN + 1];

	unhex("6069a6c32cf691f5982febae4faf8a6f3ab2f0f6", tx.to.b, 20);
	unhex("a22cb4650000000000000000000000005eee75727d804a2b13038928d36f8b188945a57a"
	      "0000000000000000000000000000000000000000000000000000000000000000", data, sizeof(data));
	u256_from_u64(&tx.max_fee_per_gas, 0x4a817c800);
	u256_from_u64(&tx.max_priority_fee_per_gas, 0x3b9aca00);
	unhex("840cfc572845f5786e702984c2a582528cad4b49b2a10b9db1be7fca90058565", sig.r, 32);
	unhex("25e7109ceb98168d95b09b18bbf6b685130e0562f233877d492b94eee0c5b6d1", sig.s, 32);
	assert_int_equal(eip1559_encode_signed(&tx, &sig, &out), 0);
	assert_string_equal(tohex(out.hash, 32), "0ec0b6a2df4d87424e5f6ad2a654e27aaeb7dac20ae9e8385cc09087ad532ee0");
	assert_int_equal(eip1559_recover_sender(&tx, &sig, &from), 0);
	eth_address_format(&from, s);
	assert_string_equal(s, "0xDD6B8b3dC6B7AD97db52F08a275FF4483e024CEa");
	eip1559_signed_free(&out);
}

/* Large values, calldata and contract creation survive the round trip. */
static void test_round_trip(void **state)
{
	uint8_t key[32], data[300];
	struct eip1559_tx tx = { .chain_id = 31337, .nonce = UINT64_MAX - 1, .gas_limit = 30000000,
				 .has_to = false, .data = data, .data_len = sizeof(data) };
	struct eip1559_signed out;
	struct eip1559_decoded dec;
	struct eth_address from, want;

	memset(key, 0x11, 32);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	assert_int_equal(u256_from_dec(&tx.value, "115792089237316195423570985008687907853269984665640564039457584007913129639935"), 0);
	assert_int_equal(u256_from_dec(&tx.max_fee_per_gas, "1000000000000000000000"), 0);
	u256_from_u64(&tx.max_priority_fee_per_gas, 0);
	assert_int_equal(eip1559_sign(&tx, key, &out), 0);
	assert_int_equal(eip1559_decode(out.raw, out.raw_len, &dec), 0);
	assert_false(dec.tx.has_to);
	assert_true(dec.tx.nonce == UINT64_MAX - 1);
	assert_int_equal(dec.tx.data_len, sizeof(data));
	assert_memory_equal(dec.tx.data, data, sizeof(data));
	assert_int_equal(u256_cmp(&dec.tx.value, &tx.value), 0);
	assert_true(u256_is_zero(&dec.tx.max_priority_fee_per_gas));
	assert_int_equal(eip1559_recover_sender(&dec.tx, &dec.sig, &from), 0);
	assert_int_equal(eth_key_address(key, &want), 0);
	assert_memory_equal(from.b, want.b, 20);
	/* the same transaction signed twice is the same bytes (RFC 6979) */
	{
		struct eip1559_signed again;

		assert_int_equal(eip1559_sign(&tx, key, &again), 0);
		assert_int_equal(again.raw_len, out.raw_len);
		assert_memory_equal(again.raw, out.raw, out.raw_len);
		eip1559_signed_free(&again);
	}
	eip1559_signed_free(&out);
	/* a key that is no key */
	memset(key, 0, 32);
	assert_int_equal(eip1559_sign(&tx, key, &out), -1);
	assert_null(out.raw);
}

/* Re-encode a transaction list with one field replaced, for the refusals. */
static void encode_with(struct rlp_buf *b, const uint8_t *raw, size_t len, int field,
			const char *field_hex, bool extra)
{
	struct rlp_item list, f;
	struct rlp_iter it;
	uint8_t repl[64];
	size_t m, rn = field_hex ? unhex(field_hex, repl, sizeof(repl)) : 0;
	uint8_t type = 2;
	int i = 0;

	assert_int_equal(rlp_decode(raw + 1, len - 1, 4, &list), 0);
	rlp_buf_init(b);
	rlp_put_raw(b, &type, 1);
	m = rlp_list_begin(b);
	rlp_iter_init(&it, &list);
	while (rlp_iter_next(&it, &f) == 1) {
		const uint8_t *start = f.payload - (f.size - f.len);

		if (i++ == field)
			rlp_put_raw(b, repl, rn);
		else
			rlp_put_raw(b, start, f.size);
	}
	if (extra)
		rlp_put_uint(b, 1);
	rlp_list_end(b, m);
	assert_false(b->failed);
}

static void test_decode_refusals(void **state)
{
	uint8_t raw[256];
	size_t n = unhex(ejs[0].raw, raw, sizeof(raw));
	struct eip1559_decoded dec;
	struct rlp_buf b;

	assert_int_equal(eip1559_decode(raw, n, &dec), 0);
	/* a legacy or type-1 transaction */
	raw[0] = 1;
	assert_int_equal(eip1559_decode(raw, n, &dec), RLP_ERR_TYPE);
	raw[0] = 2;
	/* trailing bytes, cut short */
	raw[n] = 0;
	assert_int_equal(eip1559_decode(raw, n + 1, &dec), RLP_ERR_TRAILING);
	assert_int_not_equal(eip1559_decode(raw, n - 1, &dec), 0);
	assert_int_not_equal(eip1559_decode(raw, 1, &dec), 0);
	assert_int_not_equal(eip1559_decode(raw, 0, &dec), 0);
	/* a nonce with a leading zero byte */
	encode_with(&b, raw, n, 1, "82000f", false);
	assert_int_equal(eip1559_decode(b.data, b.len, &dec), RLP_ERR_RANGE);
	rlp_buf_free(&b);
	/* a 19-byte destination */
	encode_with(&b, raw, n, 5, "9300000000000000000000000000000000000000", false);
	assert_int_equal(eip1559_decode(b.data, b.len, &dec), RLP_ERR_RANGE);
	rlp_buf_free(&b);
	/* an access list that is a string; one with a short address */
	encode_with(&b, raw, n, 8, "80", false);
	assert_int_equal(eip1559_decode(b.data, b.len, &dec), RLP_ERR_TYPE);
	rlp_buf_free(&b);
	encode_with(&b, raw, n, 8, "c4c382aaaac0", false);
	assert_int_not_equal(eip1559_decode(b.data, b.len, &dec), 0);
	rlp_buf_free(&b);
	/* a well-formed access list is accepted and counted */
	encode_with(&b, raw, n, 8, "f838f7940000000000000000000000000000000000000001e1a0"
		    "0000000000000000000000000000000000000000000000000000000000000002", false);
	assert_int_equal(eip1559_decode(b.data, b.len, &dec), 0);
	assert_int_equal(dec.access_list_len, 1);
	rlp_buf_free(&b);
	/* y parity 2; a zero r; a high s (n - s, the malleated twin) */
	encode_with(&b, raw, n, 9, "02", false);
	assert_int_equal(eip1559_decode(b.data, b.len, &dec), RLP_ERR_RANGE);
	rlp_buf_free(&b);
	encode_with(&b, raw, n, 10, "80", false);
	assert_int_equal(eip1559_decode(b.data, b.len, &dec), RLP_ERR_RANGE);
	rlp_buf_free(&b);
	/* n - s (s = 1d305af9..., n the group order): the malleated twin */
	encode_with(&b, raw, n, 11, "a0e2cfa506017e0245bc0f2032bff12db0efe0d2687e73b7e4bdf5b3984b6939a3", false);
	assert_int_equal(eip1559_decode(b.data, b.len, &dec), RLP_ERR_RANGE);
	rlp_buf_free(&b);
	/* a thirteenth field */
	encode_with(&b, raw, n, -1, NULL, true);
	assert_int_equal(eip1559_decode(b.data, b.len, &dec), RLP_ERR_TRAILING);
	rlp_buf_free(&b);
}

static void test_fees(void **state)
{
	struct u256 base, tip, fee, old, bumped;
	char dec[U256_DEC_LEN + 1];

	u256_from_u64(&base, 10000000000ull);
	u256_from_u64(&tip, 1000000000ull);
	assert_int_equal(eip1559_max_fee(&base, &tip, &fee), 0);
	u256_to_dec(&fee, dec);
	assert_string_equal(dec, "21000000000");
	u256_from_u64(&old, 100);
	assert_int_equal(eip1559_fee_bump(&old, 10, &bumped), 0);
	u256_to_dec(&bumped, dec);
	assert_string_equal(dec, "110");
	u256_from_u64(&old, 105);
	assert_int_equal(eip1559_fee_bump(&old, 12, &bumped), 0);
	u256_to_dec(&bumped, dec);
	assert_string_equal(dec, "118");			/* 105 + ceil(12.6) */
	u256_from_u64(&old, 1);
	assert_int_equal(eip1559_fee_bump(&old, 10, &bumped), 0);
	u256_to_dec(&bumped, dec);
	assert_string_equal(dec, "2");
	u256_from_u64(&old, 0);
	assert_int_equal(eip1559_fee_bump(&old, 10, &bumped), 0);
	u256_to_dec(&bumped, dec);
	assert_string_equal(dec, "1");
	memset(old.be, 0xff, 32);
	assert_int_equal(eip1559_fee_bump(&old, 10, &bumped), -1);
	assert_int_equal(eip1559_max_fee(&old, &tip, &fee), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_address),
		cmocka_unit_test(test_eip155_signature),
		cmocka_unit_test(test_ethereumjs_vectors),
		cmocka_unit_test(test_mainnet_transaction),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_decode_refusals),
		cmocka_unit_test(test_fees),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
