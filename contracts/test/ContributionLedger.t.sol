// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity 0.8.30;

import {Test} from "./lib/Test.sol";
import {MerkleTree} from "./utils/MerkleTree.sol";
import {ContributionLedger} from "../src/ContributionLedger.sol";
import {MerkleLeaves} from "../src/MerkleLeaves.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

contract ContributionLedgerTest is Test {
    event EpochCommitted(
        uint64 indexed epoch, bytes32 root, uint128 cpuSeconds, uint128 gpuSeconds, uint32 records, bytes32 dataHash
    );

    ContributionLedger internal ledger;
    address internal admin = address(0xA11CE);
    address internal poster = address(0xB0B);
    address internal stranger = address(0xE5E);
    bytes32 internal posterRole;

    struct Record {
        uint64 epoch;
        uint32 index;
        bytes32 siteId;
        address payee;
        uint128 cpuSeconds;
        uint128 gpuSeconds;
        uint64 score;
    }

    function setUp() public {
        ledger = new ContributionLedger(admin, poster);
        posterRole = ledger.POSTER_ROLE();
    }

    function _leaf(Record memory r) internal pure returns (bytes32) {
        return MerkleLeaves.contributionLeaf(r.epoch, r.index, r.siteId, r.payee, r.cpuSeconds, r.gpuSeconds, r.score);
    }

    /// n records of `epoch`, their fields derived from `seed`.
    function _records(uint64 epoch, uint256 n, uint256 seed) internal pure returns (Record[] memory rs) {
        rs = new Record[](n);
        for (uint256 i = 0; i < n; i++) {
            uint256 h = uint256(keccak256(abi.encode(seed, i)));
            rs[i] = Record({
                epoch: epoch,
                index: uint32(i),
                siteId: keccak256(bytes(i % 2 == 0 ? "site_a" : "site_b")),
                payee: address(uint160(h)),
                cpuSeconds: uint128(h >> 160) % 1e12,
                gpuSeconds: uint128(h >> 200) % 1e9,
                score: uint64(h >> 64) % 2e6
            });
        }
    }

    function _leaves(Record[] memory rs) internal pure returns (bytes32[] memory ls) {
        ls = new bytes32[](rs.length);
        for (uint256 i = 0; i < rs.length; i++) {
            ls[i] = _leaf(rs[i]);
        }
    }

    function _commit(uint64 epoch, bytes32 root, uint32 records) internal {
        vm.prank(poster);
        ledger.commitEpoch(epoch, root, 100, 10, records, keccak256(abi.encode("csv", epoch)));
    }

    // ----------------------------------------------------------- roles --

    function test_constructor_grantsRoles() public view {
        vm.assertTrue(ledger.hasRole(ledger.DEFAULT_ADMIN_ROLE(), admin), "admin has the admin role");
        vm.assertTrue(ledger.hasRole(posterRole, poster), "poster has the poster role");
        vm.assertFalse(ledger.hasRole(posterRole, admin), "admin is not a poster");
        vm.assertFalse(ledger.hasRole(ledger.DEFAULT_ADMIN_ROLE(), poster), "poster is not an admin");
    }

    function test_constructor_refusesZeroAddresses() public {
        vm.expectRevert(ContributionLedger.ZeroAddress.selector);
        new ContributionLedger(address(0), poster);
        vm.expectRevert(ContributionLedger.ZeroAddress.selector);
        new ContributionLedger(admin, address(0));
    }

    function test_commitEpoch_onlyPoster() public {
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, posterRole)
        );
        vm.prank(stranger);
        ledger.commitEpoch(1, keccak256("r"), 1, 1, 1, bytes32(0));

        // The admin role does not include posting.
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, admin, posterRole)
        );
        vm.prank(admin);
        ledger.commitEpoch(1, keccak256("r"), 1, 1, 1, bytes32(0));
    }

    function test_roles_adminGrantsAndRevokesPoster() public {
        vm.prank(admin);
        ledger.grantRole(posterRole, stranger);
        vm.prank(stranger);
        ledger.commitEpoch(1, keccak256("r"), 1, 1, 1, bytes32(0));

        vm.prank(admin);
        ledger.revokeRole(posterRole, stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, posterRole)
        );
        vm.prank(stranger);
        ledger.commitEpoch(2, keccak256("r"), 1, 1, 1, bytes32(0));
    }

    function test_roles_posterCannotGrant() public {
        bytes32 adminRole = ledger.DEFAULT_ADMIN_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, poster, adminRole)
        );
        vm.prank(poster);
        ledger.grantRole(posterRole, stranger);
    }

    // ---------------------------------------------------------- commits --

    function test_commitEpoch_storesEverythingAndEmits() public {
        bytes32 root = keccak256("root");
        bytes32 dataHash = sha256("epoch 7 csv");
        vm.roll(1234);
        vm.expectEmit(address(ledger));
        emit EpochCommitted(7, root, 3600, 60, 42, dataHash);
        vm.prank(poster);
        ledger.commitEpoch(7, root, 3600, 60, 42, dataHash);

        (bytes32 r, uint128 cpu, uint128 gpu, uint32 records, bytes32 dh, uint64 at) = ledger.epochs(7);
        vm.assertEq(r, root, "root");
        vm.assertEq(cpu, 3600, "cpuSeconds");
        vm.assertEq(gpu, 60, "gpuSeconds");
        vm.assertEq(records, 42, "records");
        vm.assertEq(dh, dataHash, "dataHash");
        vm.assertEq(at, 1234, "committedAt block");
        (bool any, uint64 last) = ledger.lastEpoch();
        vm.assertTrue(any, "an epoch was committed");
        vm.assertEq(last, 7, "last epoch");

        (,,,,, uint64 never) = ledger.epochs(8);
        vm.assertEq(never, 0, "an uncommitted epoch reads as zero");
    }

    function test_commitEpoch_duplicateRefused() public {
        _commit(7, keccak256("a"), 3);
        vm.expectRevert(abi.encodeWithSelector(ContributionLedger.EpochAlreadyCommitted.selector, uint64(7)));
        _commit(7, keccak256("b"), 3);
        (bytes32 r,,,,,) = ledger.epochs(7);
        vm.assertEq(r, keccak256("a"), "the first commit is kept");
    }

    function test_commitEpoch_strictlyIncreasing() public {
        _commit(7, keccak256("a"), 1);
        _commit(9, keccak256("b"), 1); // gaps are allowed
        vm.expectRevert(abi.encodeWithSelector(ContributionLedger.EpochNotAfterLast.selector, uint64(8), uint64(9)));
        _commit(8, keccak256("c"), 1);
        vm.expectRevert(abi.encodeWithSelector(ContributionLedger.EpochAlreadyCommitted.selector, uint64(7)));
        _commit(7, keccak256("c"), 1);
    }

    function test_commitEpoch_epochZeroAndMax() public {
        _commit(0, keccak256("zero"), 1);
        vm.expectRevert(abi.encodeWithSelector(ContributionLedger.EpochAlreadyCommitted.selector, uint64(0)));
        _commit(0, keccak256("zero"), 1);
        _commit(type(uint64).max, keccak256("max"), 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                ContributionLedger.EpochNotAfterLast.selector, uint64(type(uint64).max - 1), type(uint64).max
            )
        );
        _commit(type(uint64).max - 1, keccak256("late"), 1);
    }

    function test_commitEpoch_emptyEpoch() public {
        _commit(3, bytes32(0), 0);
        (bytes32 r,,, uint32 records,, uint64 at) = ledger.epochs(3);
        vm.assertEq(r, bytes32(0), "empty root");
        vm.assertEq(records, 0, "no records");
        vm.assertGt(at, 0, "but committed");
        bytes32[] memory none = new bytes32[](0);
        vm.assertFalse(ledger.verify(3, bytes32(0), none), "an empty epoch proves nothing");
    }

    function test_commitEpoch_rootMustMatchRecords() public {
        vm.expectRevert(
            abi.encodeWithSelector(ContributionLedger.RootDoesNotMatchRecords.selector, bytes32(0), uint32(5))
        );
        _commit(1, bytes32(0), 5);
        vm.expectRevert(
            abi.encodeWithSelector(ContributionLedger.RootDoesNotMatchRecords.selector, keccak256("r"), uint32(0))
        );
        _commit(1, keccak256("r"), 0);
    }

    function test_commitEpoch_totalsBounds() public {
        uint128 max80 = type(uint80).max;
        vm.prank(poster);
        ledger.commitEpoch(1, keccak256("r"), max80, max80, type(uint32).max, bytes32(0));
        (, uint128 cpu, uint128 gpu, uint32 records,,) = ledger.epochs(1);
        vm.assertEq(cpu, max80, "largest cpu total kept exactly");
        vm.assertEq(gpu, max80, "largest gpu total kept exactly");
        vm.assertEq(records, type(uint32).max, "largest record count");

        vm.expectRevert(abi.encodeWithSelector(ContributionLedger.TotalTooLarge.selector, max80 + 1));
        vm.prank(poster);
        ledger.commitEpoch(2, keccak256("r"), max80 + 1, 0, 1, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(ContributionLedger.TotalTooLarge.selector, type(uint128).max));
        vm.prank(poster);
        ledger.commitEpoch(2, keccak256("r"), 0, type(uint128).max, 1, bytes32(0));
    }

    // ----------------------------------------------------------- proofs --

    function test_verify_everyRecordAndNothingElse() public {
        Record[] memory rs = _records(5, 11, 42);
        bytes32[] memory leaves = _leaves(rs);
        _commit(5, MerkleTree.root(leaves), uint32(rs.length));
        for (uint256 i = 0; i < rs.length; i++) {
            bytes32[] memory p = MerkleTree.proof(leaves, i);
            vm.assertTrue(ledger.verify(5, leaves[i], p), "every record proves");
            vm.assertEq(
                ledger.contributionLeaf(
                    rs[i].epoch, rs[i].index, rs[i].siteId, rs[i].payee, rs[i].cpuSeconds, rs[i].gpuSeconds, rs[i].score
                ),
                leaves[i],
                "the on-chain leaf helper agrees"
            );
        }

        bytes32[] memory proof3 = MerkleTree.proof(leaves, 3);
        // A record with one field changed.
        Record memory forged = rs[3];
        forged.cpuSeconds += 1;
        vm.assertFalse(ledger.verify(5, _leaf(forged), proof3), "changed cpuSeconds fails");
        forged = rs[3];
        forged.payee = stranger;
        vm.assertFalse(ledger.verify(5, _leaf(forged), proof3), "changed payee fails");
        // The right leaf with a wrong proof.
        vm.assertFalse(ledger.verify(5, leaves[3], MerkleTree.proof(leaves, 4)), "another leaf's proof fails");
        bytes32[] memory bent = MerkleTree.proof(leaves, 3);
        bent[0] = bytes32(uint256(bent[0]) ^ 1);
        vm.assertFalse(ledger.verify(5, leaves[3], bent), "a flipped bit in the proof fails");
        bytes32[] memory shortProof = new bytes32[](1);
        shortProof[0] = proof3[0];
        vm.assertFalse(ledger.verify(5, leaves[3], shortProof), "a truncated proof fails");
        // The leaf is hashed twice: the single hash of the same record fails.
        Record memory r3 = rs[3];
        bytes32 single = keccak256(
            abi.encode(r3.epoch, r3.index, r3.siteId, r3.payee, r3.cpuSeconds, r3.gpuSeconds, r3.score)
        );
        vm.assertFalse(ledger.verify(5, single, proof3), "a singly hashed leaf fails");
        // Another epoch, committed or not.
        vm.assertFalse(ledger.verify(6, leaves[3], proof3), "an uncommitted epoch proves nothing");
        _commit(6, keccak256("other root"), 1);
        vm.assertFalse(ledger.verify(6, leaves[3], proof3), "another epoch's root fails");
    }

    function testFuzz_verify(uint256 seed, uint8 n, uint8 pick) public {
        n = uint8(bound(n, 1, 40));
        uint256 index = bound(pick, 0, n - 1);
        Record[] memory rs = _records(9, n, seed);
        bytes32[] memory leaves = _leaves(rs);
        _commit(9, MerkleTree.root(leaves), n);
        bytes32[] memory p = MerkleTree.proof(leaves, index);
        vm.assertTrue(ledger.verify(9, leaves[index], p), "the record proves");
        Record memory forged = rs[index];
        forged.score ^= uint64(1 + (seed % 1000));
        vm.assertFalse(ledger.verify(9, _leaf(forged), p), "a changed score fails");
        forged = rs[index];
        forged.index = uint32(index + n);
        vm.assertFalse(ledger.verify(9, _leaf(forged), p), "a changed index fails");
    }

    function testFuzz_commitEpoch_order(uint64 first, uint64 second) public {
        _commit(first, keccak256("a"), 1);
        if (second > first) {
            _commit(second, keccak256("b"), 1);
            (bool any, uint64 last) = ledger.lastEpoch();
            vm.assertTrue(any, "committed");
            vm.assertEq(last, second, "the later epoch is the last");
        } else {
            vm.expectRevert();
            _commit(second, keccak256("b"), 1);
            (bytes32 r,,,,,) = ledger.epochs(first);
            vm.assertEq(r, keccak256("a"), "the first commit is untouched");
        }
    }

    // ------------------------------------------------------------ pause --

    function test_pause_blocksCommitsNotProofs() public {
        Record[] memory rs = _records(1, 3, 7);
        bytes32[] memory leaves = _leaves(rs);
        _commit(1, MerkleTree.root(leaves), 3);

        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, poster, ledger.DEFAULT_ADMIN_ROLE()
            )
        );
        vm.prank(poster);
        ledger.pause();

        vm.prank(admin);
        ledger.pause();
        vm.assertTrue(ledger.paused(), "paused");
        vm.expectRevert(Pausable.EnforcedPause.selector);
        _commit(2, keccak256("r"), 1);
        vm.assertTrue(ledger.verify(1, leaves[2], MerkleTree.proof(leaves, 2)), "proofs still verify while paused");

        vm.prank(admin);
        ledger.unpause();
        _commit(2, keccak256("r"), 1);
        (,,,,, uint64 at) = ledger.epochs(2);
        vm.assertGt(at, 0, "commits resume after unpause");
    }
}
