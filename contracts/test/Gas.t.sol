// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity 0.8.30;

import {VaultFixture} from "./utils/VaultFixture.sol";
import {MerkleTree} from "./utils/MerkleTree.sol";
import {console} from "./lib/console.sol";
import {MerkleLeaves} from "../src/MerkleLeaves.sol";

/// The naive alternative to a Merkle root: every record in a storage slot of
/// its own (its leaf hash), so that each can be looked up on chain.
contract NaiveContributionStore {
    mapping(uint64 epoch => mapping(uint256 index => bytes32 leaf)) public records;

    function commitRecords(uint64 epoch, bytes32[] calldata leaves) external {
        for (uint256 i = 0; i < leaves.length; i++) {
            records[epoch][i] = leaves[i];
        }
    }
}

/// Gas of the calls quorate makes, each run as its own transaction (isolation
/// mode): the numbers include the 21,000 base cost and the calldata, as a
/// transaction receipt's gasUsed does.  They are kept in snapshots/ and
/// checked with FORGE_SNAPSHOT_CHECK=true (Makefile.forge).
/// forge-config: default.isolate = true
contract GasTest is VaultFixture {
    NaiveContributionStore internal naive;

    function setUp() public {
        _deployAll();
        naive = new NaiveContributionStore();
    }

    function _leaves(uint64 epoch, uint256 n) internal pure returns (bytes32[] memory leaves) {
        leaves = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            leaves[i] = MerkleLeaves.contributionLeaf(
                epoch, uint32(i), keccak256("site_a"), address(uint160(0x1000 + i)), uint128(3600 * (i + 1)), uint128(i), 1_000_000
            );
        }
    }

    /// What a transaction pays for its calldata (EIP-2028 / EIP-7623 tokens:
    /// 4 gas a token, a zero byte 1 token, any other byte 4).
    function _calldataGas(bytes memory data) internal pure returns (uint256 g) {
        for (uint256 i = 0; i < data.length; i++) {
            g += data[i] == 0 ? 4 : 16;
        }
    }

    /// `x` / `y` with two decimals, for the log.
    function _ratio(uint256 x, uint256 y) internal pure returns (string memory) {
        uint256 r = (x * 100 + y / 2) / y;
        string memory cents = vm.toString(r % 100);
        return string.concat(vm.toString(r / 100), ".", r % 100 < 10 ? string.concat("0", cents) : cents);
    }

    /// Transaction gas and execution gas (without the base cost and the
    /// calldata) of one commitEpoch of an epoch with `n` records.
    function _commitGas(uint64 epoch, uint256 n) internal returns (uint256 txGas, uint256 execGas) {
        bytes32 root = MerkleTree.root(_leaves(epoch, n));
        bytes32 dataHash = sha256(abi.encode(epoch)); // a precompile call: before the prank
        bytes memory data =
            abi.encodeCall(ledger.commitEpoch, (epoch, root, uint128(3600 * n), uint128(n), uint32(n), dataHash));
        vm.prank(poster);
        ledger.commitEpoch(epoch, root, uint128(3600 * n), uint128(n), uint32(n), dataHash);
        txGas = vm.lastCallGas().gasTotalUsed;
        execGas = txGas - 21_000 - _calldataGas(data);
    }

    function test_gas_commitEpoch_constantInRecords() public {
        // The ledger's very first commit takes a slightly shorter path (no
        // earlier epoch to compare with); every later one is the same.
        (uint256 firstTx, uint256 firstExec) = _commitGas(1, 1);
        console.log("commitEpoch, the ledger's first: transaction gas", firstTx);
        console.log("commitEpoch, the ledger's first: execution gas", firstExec);
        uint256[4] memory sizes = [uint256(1), 10, 1000, 10_000];
        uint256 txGas0;
        uint256 execGas0;
        for (uint256 k = 0; k < sizes.length; k++) {
            (uint256 txGas, uint256 execGas) = _commitGas(uint64(2 + k), sizes[k]);
            console.log(
                string.concat(
                    "commitEpoch, records: ",
                    vm.toString(sizes[k]),
                    "  transaction gas: ",
                    vm.toString(txGas),
                    "  execution gas: ",
                    vm.toString(execGas)
                )
            );
            if (k == 0) {
                vm.snapshotGasLastCall("ContributionLedger", "commitEpoch");
                vm.snapshotValue("ContributionLedger", "commitEpoch_execution", execGas);
                (txGas0, execGas0) = (txGas, execGas);
            }
            vm.assertEq(execGas, execGas0, "commitEpoch execution gas does not depend on the number of records");
            vm.assertLe(txGas, txGas0 + 100, "only the calldata's few extra digits differ");
        }
    }

    function test_gas_naiveStorageRatio() public {
        uint256[3] memory sizes = [uint256(10), 100, 1000];
        for (uint256 k = 0; k < sizes.length; k++) {
            uint256 n = sizes[k];
            bytes32[] memory leaves = _leaves(uint64(1 + k), n);
            naive.commitRecords(uint64(1 + k), leaves);
            uint256 naiveGas = vm.lastCallGas().gasTotalUsed;
            (uint256 merkleGas,) = _commitGas(uint64(1 + k), n);
            console.log(
                string.concat(
                    "records: ",
                    vm.toString(n),
                    "  naive (a slot per record): ",
                    vm.toString(naiveGas),
                    " gas  commitEpoch: ",
                    vm.toString(merkleGas),
                    " gas  ratio: ",
                    _ratio(naiveGas, merkleGas)
                )
            );
            vm.snapshotValue("NaiveStorage", string.concat("naive_", vm.toString(n), "_records"), naiveGas);
            vm.snapshotValue(
                "NaiveStorage", string.concat("ratioX100_", vm.toString(n), "_records"), naiveGas * 100 / merkleGas
            );
            vm.assertGt(naiveGas, merkleGas, "a slot per record costs more than a root");
        }
    }

    /// A 1,024-entry reward list (proofs of 10 siblings).  Entries 0..149
    /// already hold ETH, as a claimant paying for its own claim does, and the
    /// token; the others are new to both.
    function _claimTree(bool inToken) internal returns (Tree memory t) {
        t = _tree(21, 1024, 77, 1e18);
        for (uint256 i = 0; i < 150; i++) {
            vm.deal(t.entries[i].account, 1);
        }
        if (inToken) {
            vm.startPrank(admin);
            for (uint256 i = 0; i < 150; i++) {
                token.transfer(t.entries[i].account, 1);
            }
            vm.stopPrank();
            _fundToken(t, t.total);
        } else {
            _fundEth(t, t.total);
        }
    }

    /// Claim entry i; log and snapshot its transaction and execution gas.
    function _claimGas(Tree memory t, uint256 i, string memory what) internal returns (uint256 txGas) {
        Entry memory e = t.entries[i];
        bytes32[] memory p = _proof(t, i);
        bytes memory data = abi.encodeCall(vault.claim, (t.epoch, e.index, e.account, e.amount, p));
        vault.claim(t.epoch, e.index, e.account, e.amount, p);
        txGas = vm.snapshotGasLastCall("RewardVault", what);
        uint256 execGas = txGas - 21_000 - _calldataGas(data);
        console.log(
            string.concat(what, ": transaction gas ", vm.toString(txGas), ", execution gas ", vm.toString(execGas))
        );
    }

    function test_gas_claimEth() public {
        Tree memory t = _claimTree(false);
        _claimGas(t, 0, "claimEth_firstOfBitmapWord");
        uint256 typical = _claimGas(t, 1, "claimEth");
        vm.assertLe(typical, 80_000, "an ETH claim stays within 80,000 gas");
        _claimGas(t, 200, "claimEth_toEmptyAccount"); // 25,000 more for creating the account
    }

    function test_gas_claimToken() public {
        Tree memory t = _claimTree(true);
        _claimGas(t, 0, "claimToken_firstOfBitmapWord");
        uint256 typical = _claimGas(t, 1, "claimToken");
        vm.assertLe(typical, 80_000, "a token claim by a holder stays within 80,000 gas");
        _claimGas(t, 200, "claimToken_toNewHolder"); // the token's new balance slot: 22,100 more
    }
}
