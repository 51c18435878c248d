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
        uint64 indexed epoch, uint128 cpuSeconds, uint128 gpuSeconds, uint32 records, bytes32 dataHash
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

    function test_commitEpoch_storesRootEmitsTotals() public {
        bytes32 root = keccak256("root");
        bytes32 dataHash = sha256("epoch 7 csv");
        (bool any,) = ledger.lastEpoch();
        vm.assertFalse(any, "nothing committed yet");
        vm.expectEmit(address(ledger));
        emit EpochCommitted(7, 3600, 60, 42, dataHash);
        vm.prank(poster);
        ledger.commitEpoch(7, root, 3600, 60, 42, dataHash);

        vm.assertEq(ledger.rootOf(7), root, "root");
        vm.assertTrue(ledger.isCommitted(7), "committed");
        uint64 last;
        (any, last) = ledger.lastEpoch();
        vm.assertTrue(any, "an epoch was committed");
        vm.assertEq(last, 7, "last epoch");

        vm.assertEq(ledger.rootOf(8), bytes32(0), "an uncommitted epoch has no root");
        vm.assertFalse(ledger.isCommitted(8), "and is not committed");
    }

    function test_commitEpoch_duplicateRefused() public {
        _commit(7, keccak256("a"), 3);
        vm.expectRevert(abi.encodeWithSelector(ContributionLedger.EpochAlreadyCommitted.selector, uint64(7)));
        _commit(7, keccak256("b"), 3);
        vm.assertEq(ledger.rootOf(7), keccak256("a"), "the first commit is kept");
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
        vm.expectEmit(address(ledger));
        emit EpochCommitted(3, 100, 10, 0, keccak256(abi.encode("csv", uint64(3))));
        _commit(3, bytes32(0), 0);
        vm.assertEq(ledger.rootOf(3), bytes32(0), "empty root");
        vm.assertTrue(ledger.isCommitted(3), "but committed");
        (, uint64 last) = ledger.lastEpoch();
        vm.assertEq(last, 3, "an empty epoch is the last epoch too");
        bytes32[] memory none = new bytes32[](0);
        vm.assertFalse(ledger.verify(3, bytes32(0), none), "an empty epoch proves nothing");
        // The slot's marker (1) is not a root either.
        vm.assertFalse(ledger.verify(3, bytes32(uint256(1)), none), "the empty-epoch marker proves nothing");

        // A repeat is recognized, right away and after later epochs.
        vm.expectRevert(abi.encodeWithSelector(ContributionLedger.EpochAlreadyCommitted.selector, uint64(3)));
        _commit(3, bytes32(0), 0);
        _commit(5, keccak256("five"), 2);
        vm.expectRevert(abi.encodeWithSelector(ContributionLedger.EpochAlreadyCommitted.selector, uint64(3)));
        _commit(3, bytes32(0), 0);
        vm.expectRevert(abi.encodeWithSelector(ContributionLedger.EpochAlreadyCommitted.selector, uint64(3)));
        _commit(3, keccak256("now with records"), 1);
        // The gap between them was never committed.
        vm.expectRevert(abi.encodeWithSelector(ContributionLedger.EpochNotAfterLast.selector, uint64(4), uint64(5)));
        _commit(4, bytes32(0), 0);
        vm.assertFalse(ledger.isCommitted(4), "the gap stays uncommitted");
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
        // 1 marks an empty epoch's slot: it is not accepted as a root.
        vm.expectRevert(
            abi.encodeWithSelector(ContributionLedger.RootDoesNotMatchRecords.selector, bytes32(uint256(1)), uint32(1))
        );
        _commit(1, bytes32(uint256(1)), 1);
        vm.assertFalse(ledger.isCommitted(1), "nothing committed");
    }

    function test_commitEpoch_totalsInFullInTheEvent() public {
        // The totals are not stored, so nothing bounds them below their types.
        uint128 max = type(uint128).max;
        bytes32 dataHash = bytes32(type(uint256).max);
        vm.expectEmit(address(ledger));
        emit EpochCommitted(1, max, max, type(uint32).max, dataHash);
        vm.prank(poster);
        ledger.commitEpoch(1, keccak256("r"), max, max, type(uint32).max, dataHash);
        vm.assertEq(ledger.rootOf(1), keccak256("r"), "root");
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
            vm.assertEq(ledger.rootOf(first), keccak256("a"), "the first commit is untouched");
        }
    }

    /// Epochs from `steps`, some empty, some skipped: afterwards every
    /// committed epoch repeats as EpochAlreadyCommitted, every skipped one as
    /// EpochNotAfterLast, and rootOf/isCommitted say what was committed.
    function testFuzz_commitEpoch_repeatsRecognized(uint256 steps) public {
        uint64 epoch = uint64(steps % 3);
        uint64[] memory seen = new uint64[](16);
        bool[] memory empty = new bool[](16);
        for (uint256 k = 0; k < 16; k++) {
            uint256 r = uint256(keccak256(abi.encode(steps, k)));
            empty[k] = r % 3 == 0;
            seen[k] = epoch;
            _commit(epoch, empty[k] ? bytes32(0) : keccak256(abi.encode(epoch)), empty[k] ? 0 : 1);
            epoch += uint64(1 + (r >> 8) % 3); // gaps of 0 to 2 epochs
        }
        (, uint64 last) = ledger.lastEpoch();
        vm.assertEq(last, seen[15], "the last commit is the last epoch");
        uint256 k2 = 0;
        for (uint64 e = 0; e <= last; e++) {
            bool committed = k2 < 16 && seen[k2] == e;
            vm.assertEq(ledger.isCommitted(e), committed, "isCommitted");
            if (committed) {
                vm.assertEq(ledger.rootOf(e), empty[k2] ? bytes32(0) : keccak256(abi.encode(e)), "rootOf");
                vm.expectRevert(abi.encodeWithSelector(ContributionLedger.EpochAlreadyCommitted.selector, e));
                k2++;
            } else {
                vm.expectRevert(abi.encodeWithSelector(ContributionLedger.EpochNotAfterLast.selector, e, last));
            }
            _commit(e, keccak256("again"), 1);
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
        vm.assertTrue(ledger.isCommitted(2), "commits resume after unpause");
    }
}
