// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity 0.8.30;

import {Cheats} from "../test/lib/Cheats.sol";
import {console} from "../test/lib/console.sol";
import {MerkleTree} from "../test/utils/MerkleTree.sol";
import {RewardList} from "../test/utils/RewardList.sol";
import {ContributionLedger} from "../src/ContributionLedger.sol";
import {RewardVault} from "../src/RewardVault.sol";
import {MerkleLeaves} from "../src/MerkleLeaves.sol";

/// @title SmokeLocal: real transactions against a fresh local deployment
/// (testsuite/integration/t51-chain.sh).
/// @notice Replays the calls of test/Gas.t.sol with the same arguments, so that
/// the receipts' gasUsed can be compared with snapshots/*.json: commits epochs
/// 1 and 2 (one record each) and 6 (empty), commits epoch 21 and funds it in
/// ETH with the 1,024-entry list of the gas test (all its bitmap words
/// prepared), gives entries 0 and 1 a wei, and claims both.  Needs
/// QUORATE_DEPLOYER_KEY (poster, funder), LEDGER_ADDRESS and VAULT_ADDRESS.
contract SmokeLocal is Cheats {
    uint64 internal constant EMPTY_EPOCH = 6;
    uint64 internal constant REWARD_EPOCH = 21;
    uint256 internal constant ENTRIES = 1024;

    function _commit(ContributionLedger ledger, uint64 epoch) internal {
        bytes32[] memory leaves = new bytes32[](1);
        leaves[0] = MerkleLeaves.contributionLeaf(epoch, 0, keccak256("site_a"), address(0x1000), 3600, 0, 1_000_000);
        ledger.commitEpoch(epoch, MerkleTree.root(leaves), 3600, 1, 1, sha256(abi.encode(epoch)));
    }

    function run() external {
        uint256 key = vm.envUint("QUORATE_DEPLOYER_KEY");
        ContributionLedger ledger = ContributionLedger(vm.envAddress("LEDGER_ADDRESS"));
        RewardVault vault = RewardVault(payable(vm.envAddress("VAULT_ADDRESS")));
        (bool any,) = ledger.lastEpoch();
        require(!any, "SmokeLocal needs a fresh deployment (an epoch is already committed)");

        bytes32[] memory leaves = new bytes32[](ENTRIES);
        address[2] memory accounts;
        uint256[2] memory amounts;
        uint256 total;
        for (uint256 i = 0; i < ENTRIES; i++) {
            (address account, uint256 amount) = RewardList.entry(77, i, 1e18);
            leaves[i] = MerkleLeaves.rewardLeaf(REWARD_EPOCH, i, account, amount);
            total += amount;
            if (i < 2) (accounts[i], amounts[i]) = (account, amount);
        }

        vm.startBroadcast(key);
        _commit(ledger, 1);
        _commit(ledger, 2);
        ledger.commitEpoch(EMPTY_EPOCH, bytes32(0), 0, 0, 0, sha256(abi.encode(EMPTY_EPOCH)));
        _commit(ledger, REWARD_EPOCH);
        payable(accounts[0]).transfer(1);
        payable(accounts[1]).transfer(1);
        vault.fundEth{value: total}(REWARD_EPOCH, MerkleTree.root(leaves), ENTRIES, uint64(block.timestamp + 7 days));
        vault.claim(REWARD_EPOCH, 0, accounts[0], amounts[0], MerkleTree.proof(leaves, 0));
        vault.claim(REWARD_EPOCH, 1, accounts[1], amounts[1], MerkleTree.proof(leaves, 1));
        vm.stopBroadcast();

        for (uint256 i = 0; i < 2; i++) {
            console.log(string.concat("smoke: CLAIM", vm.toString(i), "_ACCOUNT=", vm.toString(accounts[i])));
            console.log(string.concat("smoke: CLAIM", vm.toString(i), "_AMOUNT=", vm.toString(amounts[i])));
        }
    }
}
