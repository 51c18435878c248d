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

    /// Execution gas of the last call: its transaction gas less the 21,000
    /// base cost and the calldata.
    function _execGas(uint256 txGas, bytes memory data) internal pure returns (uint256) {
        return txGas - 21_000 - _calldataGas(data);
    }

    /// Transaction gas and execution gas of one commitEpoch of an epoch with
    /// `n` records (root 0 when n is 0).
    function _commitGas(uint64 epoch, uint256 n) internal returns (uint256 txGas, uint256 execGas) {
        bytes32 root = n == 0 ? bytes32(0) : MerkleTree.root(_leaves(epoch, n));
        bytes32 dataHash = sha256(abi.encode(epoch)); // a precompile call: before the prank
        bytes memory data =
            abi.encodeCall(ledger.commitEpoch, (epoch, root, uint128(3600 * n), uint128(n), uint32(n), dataHash));
        vm.prank(poster);
        ledger.commitEpoch(epoch, root, uint128(3600 * n), uint128(n), uint32(n), dataHash);
        txGas = vm.lastCallGas().gasTotalUsed;
        execGas = _execGas(txGas, data);
    }

    function _logGas(string memory what, uint256 txGas, uint256 execGas) internal view {
        console.log(
            string.concat(what, ": transaction gas ", vm.toString(txGas), ", execution gas ", vm.toString(execGas))
        );
    }

    /// Every commit, the ledger's first and an empty epoch's included, stays
    /// within 60,000 transaction gas, and its execution gas does not depend
    /// on the number of records.
    function test_gas_commitEpoch_constantInRecords() public {
        (uint256 firstTx, uint256 firstExec) = _commitGas(1, 1);
        vm.snapshotGasLastCall("ContributionLedger", "commitEpoch_first");
        vm.snapshotValue("ContributionLedger", "commitEpoch_first_execution", firstExec);
        _logGas("commitEpoch, the ledger's first, 1 record", firstTx, firstExec);
        vm.assertLe(firstTx, 60_000, "the first commitEpoch stays within 60,000 gas");

        uint256[4] memory sizes = [uint256(1), 10, 1000, 10_000];
        uint256 txGas0;
        uint256 execGas0;
        for (uint256 k = 0; k < sizes.length; k++) {
            (uint256 txGas, uint256 execGas) = _commitGas(uint64(2 + k), sizes[k]);
            _logGas(string.concat("commitEpoch, ", vm.toString(sizes[k]), " records"), txGas, execGas);
            if (k == 0) {
                vm.snapshotGasLastCall("ContributionLedger", "commitEpoch");
                vm.snapshotValue("ContributionLedger", "commitEpoch_execution", execGas);
                (txGas0, execGas0) = (txGas, execGas);
            }
            vm.assertEq(execGas, execGas0, "commitEpoch execution gas does not depend on the number of records");
            vm.assertLe(txGas, txGas0 + 100, "only the calldata's few extra digits differ");
            vm.assertLe(txGas, 60_000, "commitEpoch stays within 60,000 gas");
        }
        // The first commit skips the comparison with the last epoch, nothing more.
        vm.assertLe(firstExec, execGas0, "the first commit costs no more than a later one");
        vm.assertGe(firstExec + 200, execGas0, "the first commit writes the same slots as a later one");

        (uint256 emptyTx, uint256 emptyExec) = _commitGas(6, 0);
        vm.snapshotGasLastCall("ContributionLedger", "commitEpoch_empty");
        _logGas("commitEpoch, an empty epoch (root 0)", emptyTx, emptyExec);
        vm.assertLe(emptyTx, 60_000, "an empty epoch's commit stays within 60,000 gas");
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

    /// What funding costs the funder: one fresh bitmap word per 255 entries.
    function test_gas_fundPreparesBitmap() public {
        uint256[5] memory sizes = [uint256(1), 255, 256, 1024, 10_000];
        uint256[5] memory execs;
        uint64 deadline = uint64(block.timestamp + 7 days);
        for (uint256 k = 0; k < sizes.length; k++) {
            uint64 epoch = uint64(31 + k);
            _commitEpoch(epoch);
            bytes32 root = keccak256("reward root");
            bytes memory data = abi.encodeCall(vault.fundEth, (epoch, root, sizes[k], deadline));
            vm.deal(admin, 1 ether);
            vm.prank(admin);
            vault.fundEth{value: 1 ether}(epoch, root, sizes[k], deadline);
            uint256 txGas = vm.lastCallGas().gasTotalUsed;
            execs[k] = _execGas(txGas, data);
            uint256 words = (sizes[k] + 254) / 255;
            _logGas(
                string.concat("fundEth, ", vm.toString(sizes[k]), " entries (", vm.toString(words), " bitmap words)"),
                txGas,
                execs[k]
            );
            if (sizes[k] == 1024) {
                vm.snapshotGasLastCall("RewardVault", "fundEth_1024entries");
            }
        }
        // 1 and 255 entries: one word each; 10,000 entries: 40 words.
        // (255 entries round up through the other branch: a few gas less.)
        vm.assertLe(execs[1], execs[0], "up to 255 entries take one word");
        vm.assertLe(execs[0] - execs[1], 20, "up to 255 entries take one word");
        vm.assertGe(execs[2] - execs[0], 20_000, "the 256th entry takes a second word");
        uint256 perWord = (execs[4] - execs[0]) / 39;
        vm.assertEq(perWord * 39, execs[4] - execs[0], "every further word costs the same");
        vm.snapshotValue("RewardVault", "fundEth_perPreparedWord", perWord);
        console.log("fundEth, each further bitmap word (255 entries): execution gas", perWord);
    }

    /// A 1,024-entry reward list (proofs of 10 siblings), funded with all its
    /// words prepared.  Entries 0..299 already hold ETH, as a claimant paying
    /// for its own claim does, and the token; the others are new to both.
    function _claimTree(bool inToken) internal returns (Tree memory t) {
        t = _tree(21, 1024, 77, 1e18);
        for (uint256 i = 0; i < 300; i++) {
            vm.deal(t.entries[i].account, 1);
        }
        if (inToken) {
            vm.startPrank(admin);
            for (uint256 i = 0; i < 300; i++) {
                token.transfer(t.entries[i].account, 1);
            }
            vm.stopPrank();
            _fundToken(t, t.total);
        } else {
            _fundEth(t, t.total);
        }
    }

    /// Claim entry i; its transaction and execution gas.
    function _claimGas(Tree memory t, uint256 i) internal returns (uint256 txGas, uint256 execGas) {
        Entry memory e = t.entries[i];
        bytes32[] memory p = _proof(t, i);
        bytes memory data = abi.encodeCall(vault.claim, (t.epoch, e.index, e.account, e.amount, p));
        vault.claim(t.epoch, e.index, e.account, e.amount, p);
        txGas = vm.lastCallGas().gasTotalUsed;
        execGas = _execGas(txGas, data);
    }

    /// Claim entry i; log and snapshot its gas; it must stay within 80,000.
    function _claimWithin(Tree memory t, uint256 i, string memory what) internal returns (uint256 txGas) {
        uint256 execGas;
        (txGas, execGas) = _claimGas(t, i);
        vm.snapshotGasLastCall("RewardVault", what);
        _logGas(what, txGas, execGas);
        vm.assertLe(txGas, 80_000, string.concat(what, " stays within 80,000 gas"));
    }

    /// Entry i claimed twice from the same state: once after `makeOld` gave
    /// its account the asset (the vault's own share), once as it is (a fresh
    /// account or balance slot).  The difference is the asset's, and exactly
    /// `inherent`, what the EVM or the token charges for the fresh state.
    function _claimFresh(Tree memory t, uint256 i, bool inToken, string memory what, uint256 inherent) internal {
        address account = t.entries[i].account;
        uint256 state = vm.snapshotState();
        if (inToken) {
            vm.prank(admin);
            token.transfer(account, 1);
        } else {
            vm.deal(account, 1);
        }
        (uint256 oldTx, uint256 oldExec) = _claimGas(t, i);
        vm.revertToState(state);
        (uint256 freshTx, uint256 freshExec) = _claimGas(t, i);
        vm.snapshotGasLastCall("RewardVault", what);
        vm.snapshotValue("RewardVault", string.concat(what, "_vaultShare"), oldTx);
        _logGas(what, freshTx, freshExec);
        _logGas(string.concat(what, ", the vault's share (same claim, account not fresh)"), oldTx, oldExec);
        console.log(string.concat(what, ", the asset's fresh state: ", vm.toString(freshTx - oldTx)));
        vm.assertEq(freshTx - oldTx, inherent, "the difference is the asset's fresh state");
        vm.assertLe(oldTx, 80_000, "the vault's share stays within 80,000 gas");
    }

    function test_gas_claimEth() public {
        Tree memory t = _claimTree(false);
        _claimWithin(t, 0, "claimEth_firstOfBitmapWord");
        _claimWithin(t, 1, "claimEth");
        _claimWithin(t, 255, "claimEth_firstOfSecondWord");
        // EIP-2929/EIP-150: a call with value to an empty account: 25,000.
        _claimFresh(t, 600, false, "claimEth_toEmptyAccount", 25_000);

        // The same list funded with one word prepared: what preparing saves.
        Tree memory u = _tree(22, 1024, 77, 1e18);
        _commitEpoch(22);
        vm.deal(admin, u.total);
        vm.prank(admin);
        vault.fundEth{value: u.total}(22, u.root, 255, uint64(block.timestamp + 7 days));
        vm.deal(u.entries[300].account, 1);
        (uint256 txGas, uint256 execGas) = _claimGas(u, 300);
        vm.snapshotGasLastCall("RewardVault", "claimEth_unpreparedWord");
        _logGas("claimEth_unpreparedWord (funded with fewer entries than the list)", txGas, execGas);
    }

    function test_gas_claimToken() public {
        Tree memory t = _claimTree(true);
        _claimWithin(t, 0, "claimToken_firstOfBitmapWord");
        _claimWithin(t, 1, "claimToken");
        // OpenZeppelin's ERC20: the new holder's balance slot, 0 -> non-zero
        // (22,100) instead of non-zero -> non-zero (5,000): 17,100.
        _claimWithin(t, 255, "claimToken_firstOfSecondWord");
        _claimFresh(t, 600, true, "claimToken_toNewHolder", 17_100);
    }
}
