// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity 0.8.30;

/// @title The leaf encodings of quorate's two Merkle trees (contracts/FORMATS.md).
/// @notice quorated builds the same leaves in C (common/); test/vectors.json pins
/// both sides to these bytes.  Leaves are hashed twice, as OpenZeppelin advises,
/// so that no leaf can be taken for the 64-byte preimage of an inner node.
library MerkleLeaves {
    /// One contribution record of a site in an epoch (the contribution tree).
    function contributionLeaf(
        uint64 epoch,
        uint32 index,
        bytes32 siteId,
        address payee,
        uint128 cpuSeconds,
        uint128 gpuSeconds,
        uint64 score
    ) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(epoch, index, siteId, payee, cpuSeconds, gpuSeconds, score))));
    }

    /// One payment of an epoch's reward list (the reward tree, RewardVault).
    function rewardLeaf(uint64 epoch, uint256 index, address account, uint256 amount) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(epoch, index, account, amount))));
    }
}
