// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {MerkleLeaves} from "./MerkleLeaves.sol";

/// @title ContributionLedger: one Merkle root of contribution records per epoch.
/// @notice quorated (the poster) commits each closed epoch once; anyone can
/// then prove a record against it with {verify}.  The gas of a commit does not
/// depend on the number of records: only the root and the epoch's totals are
/// stored (three storage slots).
contract ContributionLedger is AccessControl, Pausable {
    /// May call {commitEpoch}.
    bytes32 public constant POSTER_ROLE = keccak256("POSTER_ROLE");

    /// What is kept of an epoch: three slots.  The totals are stored in 80
    /// bits (1.2e24 seconds, far beyond any real total); {commitEpoch} refuses
    /// larger ones rather than truncate them.
    struct Epoch {
        bytes32 root;
        bytes32 dataHash;
        uint80 cpuSeconds;
        uint80 gpuSeconds;
        uint32 records;
        uint64 committedAt; // block number; 0 = not committed
    }

    // These share the slot of Pausable's flag, so a commit rewrites the slot
    // that whenNotPaused has just read.  _deployed keeps that slot non-zero
    // from the start: the first commit then costs what every later one does.
    bool private _deployed = true;
    bool private _anyCommitted;
    uint64 private _lastEpoch;

    mapping(uint64 epoch => Epoch) private _epochs;

    /// An epoch's root and totals were committed.
    event EpochCommitted(
        uint64 indexed epoch, bytes32 root, uint128 cpuSeconds, uint128 gpuSeconds, uint32 records, bytes32 dataHash
    );

    error ZeroAddress();
    /// The epoch was committed before; commits are never overwritten.
    error EpochAlreadyCommitted(uint64 epoch);
    /// Epochs are committed in strictly increasing order.
    error EpochNotAfterLast(uint64 epoch, uint64 lastEpoch);
    /// The root is bytes32(0) exactly when the epoch has no records.
    error RootDoesNotMatchRecords(bytes32 root, uint32 records);
    /// A total does not fit the 80 bits it is stored in.
    error TotalTooLarge(uint128 value);

    constructor(address admin, address poster) {
        if (admin == address(0) || poster == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(POSTER_ROLE, poster);
    }

    /// Commit epoch `epoch`: the root of its contribution tree, its totals
    /// and the SHA-256 of quorated's canonical CSV export of its records.
    function commitEpoch(
        uint64 epoch,
        bytes32 root,
        uint128 cpuSeconds,
        uint128 gpuSeconds,
        uint32 records,
        bytes32 dataHash
    ) external onlyRole(POSTER_ROLE) whenNotPaused {
        if (_anyCommitted && epoch <= _lastEpoch) {
            if (_epochs[epoch].committedAt != 0) revert EpochAlreadyCommitted(epoch);
            revert EpochNotAfterLast(epoch, _lastEpoch);
        }
        if ((root == bytes32(0)) != (records == 0)) revert RootDoesNotMatchRecords(root, records);
        if (cpuSeconds > type(uint80).max) revert TotalTooLarge(cpuSeconds);
        if (gpuSeconds > type(uint80).max) revert TotalTooLarge(gpuSeconds);

        _anyCommitted = true;
        _lastEpoch = epoch;
        _epochs[epoch] = Epoch({
            root: root,
            dataHash: dataHash,
            cpuSeconds: uint80(cpuSeconds),
            gpuSeconds: uint80(gpuSeconds),
            records: records,
            committedAt: uint64(block.number)
        });
        emit EpochCommitted(epoch, root, cpuSeconds, gpuSeconds, records, dataHash);
    }

    /// What was committed for `epoch`; all zero when it was not committed.
    function epochs(uint64 epoch)
        external
        view
        returns (
            bytes32 root,
            uint128 cpuSeconds,
            uint128 gpuSeconds,
            uint32 records,
            bytes32 dataHash,
            uint64 committedAt
        )
    {
        Epoch storage e = _epochs[epoch];
        return (e.root, e.cpuSeconds, e.gpuSeconds, e.records, e.dataHash, e.committedAt);
    }

    /// The last committed epoch; `any` is false before the first commit.
    function lastEpoch() external view returns (bool any, uint64 epoch) {
        return (_anyCommitted, _lastEpoch);
    }

    /// True when `leaf` (see {contributionLeaf}) is in the tree committed for
    /// `epoch`.  An epoch that was not committed, or had no records, proves nothing.
    function verify(uint64 epoch, bytes32 leaf, bytes32[] calldata proof) external view returns (bool) {
        bytes32 root = _epochs[epoch].root;
        return root != bytes32(0) && MerkleProof.verifyCalldata(proof, root, leaf);
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
