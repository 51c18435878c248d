// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity 0.8.30;

import {Test} from "./lib/Test.sol";
import {MerkleTree} from "./utils/MerkleTree.sol";
import {VectorsJson} from "../script/GenerateVectors.s.sol";
import {ContributionLedger} from "../src/ContributionLedger.sol";
import {RewardVault} from "../src/RewardVault.sol";
import {TestToken} from "../src/TestToken.sol";
import {MerkleLeaves} from "../src/MerkleLeaves.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// test/vectors.json is shared with the C unit tests (common/): every leaf,
/// root and proof in it is derived again here from the record fields, checked
/// against OpenZeppelin's MerkleProof and the deployed contracts, and the
/// whole text must equal what script/GenerateVectors.s.sol produces.
contract VectorsTest is Test, VectorsJson {
    string internal file;

    function setUp() public {
        file = vm.readFile(string.concat(vm.projectRoot(), "/test/vectors.json"));
    }

    function _key(string memory a, uint256 i, string memory b) internal pure returns (string memory) {
        return string.concat(a, "[", vm.toString(i), "]", b);
    }

    function _count(string memory array) internal view returns (uint256 n) {
        while (vm.keyExistsJson(file, _key(array, n, ""))) n++;
    }

    function test_vectors_fileIsWhatTheGeneratorWrites() public view {
        vm.assertEq(
            keccak256(bytes(file)),
            keccak256(bytes(json())),
            "test/vectors.json differs from the generator's output: run `make -f Makefile.forge vectors` and review"
        );
    }

    function test_vectors_contributionTrees() public {
        uint256 trees = _count(".contribution");
        bool[14] memory seen;
        for (uint256 t = 0; t < trees; t++) {
            string memory tree = _key(".contribution", t, "");
            string memory records = string.concat(tree, ".records");
            uint256 n = _count(records);
            if (n < seen.length) seen[n] = true;
            uint64 epoch = uint64(vm.parseJsonUint(file, string.concat(tree, ".epoch")));
            bytes32[] memory leaves = new bytes32[](n);
            for (uint256 i = 0; i < n; i++) {
                string memory r = _key(records, i, "");
                string memory site = vm.parseJsonString(file, string.concat(r, ".site"));
                bytes32 siteId = vm.parseJsonBytes32(file, string.concat(r, ".siteId"));
                vm.assertEq(siteId, keccak256(bytes(site)), "siteId = keccak256(site name)");
                vm.assertEq(vm.parseJsonUint(file, string.concat(r, ".epoch")), epoch, "record epoch = tree epoch");
                vm.assertEq(vm.parseJsonUint(file, string.concat(r, ".index")), i, "records are in index order");
                leaves[i] = MerkleLeaves.contributionLeaf(
                    epoch,
                    uint32(i),
                    siteId,
                    vm.parseJsonAddress(file, string.concat(r, ".payee")),
                    uint128(vm.parseJsonUint(file, string.concat(r, ".cpuSeconds"))),
                    uint128(vm.parseJsonUint(file, string.concat(r, ".gpuSeconds"))),
                    uint64(vm.parseJsonUint(file, string.concat(r, ".score")))
                );
                vm.assertEq(leaves[i], vm.parseJsonBytes32(file, string.concat(r, ".leaf")), "leaf");
            }
            bytes32 root = MerkleTree.root(leaves);
            vm.assertEq(root, vm.parseJsonBytes32(file, string.concat(tree, ".root")), "root");
            // A ledger per tree: the file's epochs need not be in commit order.
            ContributionLedger ledger = new ContributionLedger(address(this), address(this));
            ledger.commitEpoch(epoch, root, 0, 0, uint32(n), bytes32(0));
            for (uint256 i = 0; i < n; i++) {
                bytes32[] memory p = vm.parseJsonBytes32Array(file, _key(records, i, ".proof"));
                vm.assertEq(p, MerkleTree.proof(leaves, i), "proof");
                vm.assertTrue(MerkleProof.verify(p, root, leaves[i]), "OpenZeppelin's MerkleProof accepts it");
                vm.assertTrue(ledger.verify(epoch, leaves[i], p), "ContributionLedger.verify accepts it");
            }
        }
        vm.assertTrue(seen[0] && seen[1] && seen[2] && seen[3] && seen[5] && seen[8], "sizes 0, 1, 2, 3, 5, 8 present");
    }

    function test_vectors_rewardTrees() public {
        TestToken token = new TestToken(address(this), 1);
        RewardVault vault = new RewardVault(address(this), new ContributionLedger(address(this), address(this)), token, 0);
        uint256 trees = _count(".reward");
        bool[14] memory seen;
        for (uint256 t = 0; t < trees; t++) {
            string memory tree = _key(".reward", t, "");
            string memory entries = string.concat(tree, ".entries");
            uint256 n = _count(entries);
            if (n < seen.length) seen[n] = true;
            uint64 epoch = uint64(vm.parseJsonUint(file, string.concat(tree, ".epoch")));
            bytes32[] memory leaves = new bytes32[](n);
            for (uint256 i = 0; i < n; i++) {
                string memory e = _key(entries, i, "");
                vm.assertEq(vm.parseJsonUint(file, string.concat(e, ".epoch")), epoch, "entry epoch = tree epoch");
                vm.assertEq(vm.parseJsonUint(file, string.concat(e, ".index")), i, "entries are in index order");
                address account = vm.parseJsonAddress(file, string.concat(e, ".account"));
                uint256 amount = vm.parseJsonUint(file, string.concat(e, ".amount"));
                leaves[i] = MerkleLeaves.rewardLeaf(epoch, i, account, amount);
                vm.assertEq(leaves[i], vm.parseJsonBytes32(file, string.concat(e, ".leaf")), "leaf");
                vm.assertEq(vault.rewardLeaf(epoch, i, account, amount), leaves[i], "RewardVault.rewardLeaf agrees");
            }
            bytes32 root = MerkleTree.root(leaves);
            vm.assertEq(root, vm.parseJsonBytes32(file, string.concat(tree, ".root")), "root");
            for (uint256 i = 0; i < n; i++) {
                bytes32[] memory p = vm.parseJsonBytes32Array(file, _key(entries, i, ".proof"));
                vm.assertEq(p, MerkleTree.proof(leaves, i), "proof");
                vm.assertTrue(MerkleProof.verify(p, root, leaves[i]), "OpenZeppelin's MerkleProof accepts it");
            }
        }
        vm.assertTrue(seen[1] && seen[2] && seen[3] && seen[5] && seen[8], "sizes 1, 2, 3, 5, 8 present");
    }

    /// The tree shape on a case small enough to write out by hand.
    function test_vectors_shapeOfThreeLeaves() public pure {
        bytes32[] memory l = new bytes32[](3);
        l[0] = keccak256("a");
        l[1] = keccak256("b");
        l[2] = keccak256("c");
        bytes32 ab = MerkleTree.hashPair(l[0], l[1]);
        vm.assertEq(MerkleTree.root(l), MerkleTree.hashPair(ab, l[2]), "c is carried up unpaired");
        bytes32[] memory p2 = MerkleTree.proof(l, 2);
        vm.assertEq(p2.length, 1, "c's proof skips the level where it had no sibling");
        vm.assertEq(p2[0], ab, "c's one sibling is hash(a, b)");
        vm.assertEq(MerkleTree.hashPair(l[1], l[0]), ab, "pairs are sorted before hashing");
    }
}
