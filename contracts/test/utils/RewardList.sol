// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity ^0.8.20;

/// @title RewardList: the reward entries the tests and the chain smoke test use.
/// @notice Entry i of list `seed`: an account with the top address bit set (never
/// a precompile or a deployed contract) and an amount in [1, maxAmount].
library RewardList {
    function entry(uint256 seed, uint256 i, uint256 maxAmount)
        internal
        pure
        returns (address account, uint256 amount)
    {
        uint256 h = uint256(keccak256(abi.encode("reward", seed, i)));
        account = address(uint160(h | (1 << 159)));
        amount = 1 + ((h >> 160) % maxAmount);
    }
}
