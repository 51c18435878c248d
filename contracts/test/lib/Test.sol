// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity ^0.8.20;

import {Cheats} from "./Cheats.sol";

/// @title Test: the small base every quorate forge test derives from.
/// @notice Assertions are forge's assert cheatcodes (a failure reverts with both
/// values); `bound` maps fuzz inputs into a range; the target lists are what
/// forge's invariant runner asks a test contract for.
abstract contract Test is Cheats {
    /// forge's FuzzSelector: which functions of a contract the invariant runner calls.
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetedContracts;
    FuzzSelector[] private _targetedSelectors;
    address[] private _targetedSenders;

    /// Map `x` onto [min, max] (inclusive) without discarding fuzz runs.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: min > max");
        if (x >= min && x <= max) return x;
        uint256 size = max - min;
        if (size == type(uint256).max) return x;
        return min + (x % (size + 1));
    }

    function targetContract(address target) internal {
        _targetedContracts.push(target);
    }

    function targetSelector(FuzzSelector memory selector) internal {
        _targetedSelectors.push(selector);
    }

    function targetSender(address sender) internal {
        _targetedSenders.push(sender);
    }

    function targetContracts() public view returns (address[] memory) {
        return _targetedContracts;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetedSelectors;
    }

    function targetSenders() public view returns (address[] memory) {
        return _targetedSenders;
    }
}
