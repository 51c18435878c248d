// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity ^0.8.20;

/// @title MerkleTree: builds quorate's trees in the tests, as quorated does in C.
/// @notice Shape (contracts/FORMATS.md): leaves in index order; level by level,
/// nodes 2i and 2i+1 are joined by the sorted-pair keccak256 that
/// OpenZeppelin's MerkleProof checks; an unpaired last node moves up unchanged;
/// no leaves gives bytes32(0).  A proof lists the siblings from the leaf up,
/// leaving out the levels where the node had none.
library MerkleTree {
    function hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encodePacked(a, b)) : keccak256(abi.encodePacked(b, a));
    }

    /// Replace level[0..n) by the next level up; returns its length.
    function _up(bytes32[] memory level, uint256 n) private pure returns (uint256 m) {
        for (uint256 i = 0; i < n; i += 2) {
            level[m++] = i + 1 < n ? hashPair(level[i], level[i + 1]) : level[i];
        }
    }

    function _copy(bytes32[] memory leaves) private pure returns (bytes32[] memory level) {
        level = new bytes32[](leaves.length);
        for (uint256 i = 0; i < leaves.length; i++) {
            level[i] = leaves[i];
        }
    }

    function root(bytes32[] memory leaves) internal pure returns (bytes32) {
        if (leaves.length == 0) return bytes32(0);
        bytes32[] memory level = _copy(leaves);
        uint256 n = level.length;
        while (n > 1) {
            n = _up(level, n);
        }
        return level[0];
    }

    function proof(bytes32[] memory leaves, uint256 index) internal pure returns (bytes32[] memory siblings) {
        require(index < leaves.length, "MerkleTree: index out of range");
        bytes32[] memory level = _copy(leaves);
        siblings = new bytes32[](256);
        uint256 count = 0;
        uint256 n = level.length;
        while (n > 1) {
            uint256 sibling = index ^ 1;
            if (sibling < n) siblings[count++] = level[sibling];
            n = _up(level, n);
            index >>= 1;
        }
        assembly ("memory-safe") {
            mstore(siblings, count)
        }
    }
}
