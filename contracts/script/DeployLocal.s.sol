// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity 0.8.30;

import {Cheats} from "../test/lib/Cheats.sol";
import {console} from "../test/lib/console.sol";
import {ContributionLedger} from "../src/ContributionLedger.sol";
import {RewardVault} from "../src/RewardVault.sol";
import {TestToken} from "../src/TestToken.sol";

/// @title DeployLocal: the contracts of a local test chain (script/deploy-local).
/// @notice The key in QUORATE_DEPLOYER_KEY becomes admin, poster and funder
/// and holds the whole test-token supply.  Prints one `deployed: KEY=ADDRESS`
/// line per contract for deploy-local to read.
contract DeployLocal is Cheats {
    /// Claims stay open at least an hour on the local chain (tests move
    /// anvil's clock forward to reach a deadline).
    uint64 internal constant MIN_CLAIM_PERIOD = 1 hours;
    uint256 internal constant TOKEN_SUPPLY = 1e9 ether;

    function run() external {
        uint256 key = vm.envUint("QUORATE_DEPLOYER_KEY");
        address admin = vm.addr(key);
        vm.startBroadcast(key);
        ContributionLedger ledger = new ContributionLedger(admin, admin);
        TestToken token = new TestToken(admin, TOKEN_SUPPLY);
        RewardVault vault = new RewardVault(admin, ledger, token, MIN_CLAIM_PERIOD);
        vm.stopBroadcast();
        console.log(string.concat("deployed: LEDGER_ADDRESS=", vm.toString(address(ledger))));
        console.log(string.concat("deployed: VAULT_ADDRESS=", vm.toString(address(vault))));
        console.log(string.concat("deployed: TOKEN_ADDRESS=", vm.toString(address(token))));
        console.log(string.concat("deployed: ADMIN_ADDRESS=", vm.toString(admin)));
    }
}
