// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestToken: the ERC-20 that local deployments give RewardVault.
/// @notice For the test harness only (script/deploy-local, forge tests): the
/// whole supply goes to the deployer.  Production vaults use a real token.
contract TestToken is ERC20 {
    constructor(address holder, uint256 supply) ERC20("quorate test token", "QTT") {
        _mint(holder, supply);
    }
}
