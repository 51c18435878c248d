// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity ^0.8.20;

/// @title console: forge prints what is sent to the console address.
/// @notice The two shapes quorate's tests print; forge decodes the calldata by
/// the function signature, as it does for forge-std's console.
library console {
    address private constant CONSOLE_ADDRESS = 0x000000000000000000636F6e736F6c652e6c6f67;

    function _send(bytes memory payload) private view {
        // A staticcall so that view and pure test helpers can print too; the
        // console address has no code and never answers.
        (bool ok,) = CONSOLE_ADDRESS.staticcall(payload);
        ok;
    }

    function log(string memory message) internal view {
        _send(abi.encodeWithSignature("log(string)", message));
    }

    function log(string memory message, uint256 value) internal view {
        _send(abi.encodeWithSignature("log(string,uint256)", message, value));
    }
}
