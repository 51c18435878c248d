// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity 0.8.30;

import {Test} from "../lib/Test.sol";
import {MerkleTree} from "./MerkleTree.sol";
import {ContributionLedger} from "../../src/ContributionLedger.sol";
import {RewardVault} from "../../src/RewardVault.sol";
import {TestToken} from "../../src/TestToken.sol";
import {MerkleLeaves} from "../../src/MerkleLeaves.sol";
import {RewardList} from "./RewardList.sol";

/// @title VaultFixture: a ledger, a token and a vault, and reward trees built in the test.
abstract contract VaultFixture is Test {
    ContributionLedger internal ledger;
    TestToken internal token;
    RewardVault internal vault;
    address internal admin = address(0xA11CE);
    address internal poster = address(0xB0B);
    address internal stranger = address(0xE5E);
    uint64 internal constant MIN_PERIOD = 1 days;
    uint256 internal constant START = 1_700_000_000;

    struct Entry {
        uint256 index;
        address account;
        uint256 amount;
    }

    struct Tree {
        uint64 epoch;
        Entry[] entries;
        bytes32[] leaves;
        bytes32 root;
        uint256 total;
    }

    function _deployAll() internal {
        vm.warp(START);
        ledger = new ContributionLedger(admin, poster);
        token = new TestToken(admin, 1e30);
        vault = new RewardVault(admin, ledger, token, MIN_PERIOD);
    }

    /// Commit `epoch` to the ledger so that the vault may be funded for it.
    function _commitEpoch(uint64 epoch) internal {
        vm.prank(poster);
        ledger.commitEpoch(epoch, keccak256(abi.encode("contributions", epoch)), 1, 1, 1, bytes32(0));
    }

    /// A reward list of n entries (RewardList.entry) and its tree.
    function _tree(uint64 epoch, uint256 n, uint256 seed, uint256 maxAmount) internal pure returns (Tree memory t) {
        t.epoch = epoch;
        t.entries = new Entry[](n);
        t.leaves = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            (address account, uint256 amount) = RewardList.entry(seed, i, maxAmount);
            t.entries[i] = Entry(i, account, amount);
            t.leaves[i] = MerkleLeaves.rewardLeaf(epoch, i, account, amount);
            t.total += amount;
        }
        t.root = MerkleTree.root(t.leaves);
    }

    function _proof(Tree memory t, uint256 i) internal pure returns (bytes32[] memory) {
        return MerkleTree.proof(t.leaves, i);
    }

    function _fundEth(Tree memory t, uint256 amount) internal returns (uint64 deadline) {
        _commitEpoch(t.epoch);
        deadline = uint64(block.timestamp + 7 days);
        vm.deal(admin, admin.balance + amount);
        vm.prank(admin);
        vault.fundEth{value: amount}(t.epoch, t.root, t.leaves.length, deadline);
    }

    function _fundToken(Tree memory t, uint256 amount) internal returns (uint64 deadline) {
        _commitEpoch(t.epoch);
        deadline = uint64(block.timestamp + 7 days);
        vm.startPrank(admin);
        token.approve(address(vault), amount);
        vault.fundToken(t.epoch, t.root, t.leaves.length, amount, deadline);
        vm.stopPrank();
    }

    function _claim(Tree memory t, uint256 i) internal {
        Entry memory e = t.entries[i];
        vault.claim(t.epoch, e.index, e.account, e.amount, _proof(t, i));
    }
}
