// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {MerkleLeaves} from "./MerkleLeaves.sol";

/// @title ContributionLedger: one Merkle root of contribution records per epoch.
/// @notice quorated (the poster) commits each closed epoch once; anyone can
/// then prove a record against it with {verify}.  Only the root is stored, one
/// fresh slot per epoch; the epoch's totals and data hash travel in the
/// {EpochCommitted} event.  The gas of a commit does not depend on the number
/// of records.
contract ContributionLedger is AccessControl, Pausable {
    /// May call {commitEpoch}.
    bytes32 public constant POSTER_ROLE = keccak256("POSTER_ROLE");

    /// What the root slot of a committed epoch without records holds: not
    /// zero, so that a repeated commit of it is recognized, and never a Merkle
    /// root (that would take a Keccak-256 preimage of 1).
    bytes32 private constant EMPTY_EPOCH = bytes32(uint256(1));

    // These share the slot of Pausable's flag (slot 1; AccessControl's role
    // mapping is slot 0), so that the commit rewrites the slot whenNotPaused
    // has just read.  _deployed keeps that slot non-zero from the start: the
    // first commit then costs what every later one does.
    bool private _deployed = true;
    bool private _anyCommitted;
    uint64 private _lastEpoch;

    /// The root of each committed epoch; EMPTY_EPOCH for one without records;
    /// zero for an epoch never committed.
    mapping(uint64 epoch => bytes32 root) private _roots;

    /// Epoch `epoch` was committed; its root is {rootOf}(epoch), the block is
    /// the log's.  quorated reads the totals back from these logs.
    event EpochCommitted(
        uint64 indexed epoch, uint128 cpuSeconds, uint128 gpuSeconds, uint32 records, bytes32 dataHash
    );

    error ZeroAddress();
    /// The epoch was committed before; commits are never overwritten.
    error EpochAlreadyCommitted(uint64 epoch);
    /// Epochs are committed in strictly increasing order.
    error EpochNotAfterLast(uint64 epoch, uint64 lastEpoch);
    /// The root is bytes32(0) exactly when the epoch has no records (and is
    /// never EMPTY_EPOCH).
    error RootDoesNotMatchRecords(bytes32 root, uint32 records);

    constructor(address admin, address poster) {
        if (admin == address(0) || poster == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(POSTER_ROLE, poster);
    }

    /// Commit epoch `epoch`: the root of its contribution tree (stored), its
    /// totals and the SHA-256 of quorated's canonical CSV export of its records
    /// (in the event only).  An epoch without records commits root 0.
    function commitEpoch(
        uint64 epoch,
        bytes32 root,
        uint128 cpuSeconds,
        uint128 gpuSeconds,
        uint32 records,
        bytes32 dataHash
    ) external onlyRole(POSTER_ROLE) whenNotPaused {
        if (_anyCommitted && epoch <= _lastEpoch) {
            // Every committed epoch has a non-zero slot, empty ones included.
            if (_roots[epoch] != bytes32(0)) revert EpochAlreadyCommitted(epoch);
            revert EpochNotAfterLast(epoch, _lastEpoch);
        }
        if ((root == bytes32(0)) != (records == 0) || root == EMPTY_EPOCH) {
            revert RootDoesNotMatchRecords(root, records);
        }

        _anyCommitted = true;
        _lastEpoch = epoch;
        _roots[epoch] = records == 0 ? EMPTY_EPOCH : root;
        emit EpochCommitted(epoch, cpuSeconds, gpuSeconds, records, dataHash);
    }

    /// The contribution root committed for `epoch`; bytes32(0) when the epoch
    /// was not committed or had no records ({isCommitted} tells them apart).
    function rootOf(uint64 epoch) external view returns (bytes32) {
        bytes32 root = _roots[epoch];
        return root == EMPTY_EPOCH ? bytes32(0) : root;
    }

    /// True once `epoch` was committed, with or without records.
    function isCommitted(uint64 epoch) external view returns (bool) {
        return _roots[epoch] != bytes32(0);
    }

    /// The last committed epoch; `any` is false before the first commit.
    function lastEpoch() external view returns (bool any, uint64 epoch) {
        return (_anyCommitted, _lastEpoch);
    }

    /// True when `leaf` (see {contributionLeaf}) is in the tree committed for
    /// `epoch`.  An epoch that was not committed, or had no records, proves nothing.
    function verify(uint64 epoch, bytes32 leaf, bytes32[] calldata proof) external view returns (bool) {
        bytes32 root = _roots[epoch];
        return root != bytes32(0) && root != EMPTY_EPOCH && MerkleProof.verifyCalldata(proof, root, leaf);
    }

    /// The leaf of one contribution record, as quorated computes it.
    function contributionLeaf(
        uint64 epoch,
        uint32 index,
        bytes32 siteId,
        address payee,
        uint128 cpuSeconds,
        uint128 gpuSeconds,
        uint64 score
    ) external pure returns (bytes32) {
        return MerkleLeaves.contributionLeaf(epoch, index, siteId, payee, cpuSeconds, gpuSeconds, score);
    }

    function pause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _pause();
    }

    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }
}
