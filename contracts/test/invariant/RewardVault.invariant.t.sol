// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity 0.8.30;

import {VaultFixture} from "../utils/VaultFixture.sol";
import {MerkleTree} from "../utils/MerkleTree.sol";
import {console} from "../lib/console.sol";
import {Vm, VM_ADDRESS} from "../lib/Vm.sol";
import {RewardVault} from "../../src/RewardVault.sol";
import {TestToken} from "../../src/TestToken.sol";
import {MerkleLeaves} from "../../src/MerkleLeaves.sol";

/// What the invariant runner may do to the vault: honest and forged claims,
/// time passing, sweeps and pauses.  It keeps its own books (ghost values)
/// of every payment that succeeded.
contract VaultHandler {
    Vm internal constant vm = Vm(VM_ADDRESS);

    RewardVault internal immutable vault;
    TestToken internal immutable token;
    address internal immutable admin;
    address public constant TREASURY = address(0x7EA5);

    uint64[] public epochList;
    mapping(uint64 epoch => bytes32[]) internal leaves;
    mapping(uint64 epoch => address[]) internal accounts;
    mapping(uint64 epoch => uint256[]) internal amounts;

    mapping(uint64 epoch => uint256) public ghostClaimed;
    mapping(uint64 epoch => uint256) public ghostSwept;
    mapping(uint64 epoch => mapping(uint256 index => uint256)) public ghostPaid;
    uint256 public forgedPaid;
    uint256 public claims;
    uint256 public claimsRefused;
    uint256 public forgedTried;
    uint256 public sweeps;
    uint256 public pauses;

    constructor(RewardVault vault_, TestToken token_, address admin_) {
        vault = vault_;
        token = token_;
        admin = admin_;
    }

    /// Called by the test's setUp for each epoch it funds.
    function addEpoch(uint64 epoch, address[] memory accts, uint256[] memory amts) external {
        epochList.push(epoch);
        for (uint256 i = 0; i < accts.length; i++) {
            accounts[epoch].push(accts[i]);
            amounts[epoch].push(amts[i]);
            leaves[epoch].push(MerkleLeaves.rewardLeaf(epoch, i, accts[i], amts[i]));
        }
    }

    function entries(uint64 epoch) external view returns (uint256) {
        return leaves[epoch].length;
    }

    function _pick(uint256 epochSeed, uint256 indexSeed) internal view returns (uint64 epoch, uint256 index) {
        epoch = epochList[epochSeed % epochList.length];
        index = indexSeed % leaves[epoch].length;
    }

    function claim(uint256 epochSeed, uint256 indexSeed) external {
        (uint64 epoch, uint256 index) = _pick(epochSeed, indexSeed);
        address account = accounts[epoch][index];
        uint256 amount = amounts[epoch][index];
        try vault.claim(epoch, index, account, amount, MerkleTree.proof(leaves[epoch], index)) {
            claims++;
            ghostClaimed[epoch] += amount;
            ghostPaid[epoch][index] += amount;
        } catch {
            claimsRefused++;
        }
    }

    /// A claim with a valid proof for another amount or account: never paid.
    function claimForged(uint256 epochSeed, uint256 indexSeed, uint256 amount, address account) external {
        (uint64 epoch, uint256 index) = _pick(epochSeed, indexSeed);
        if (amount == amounts[epoch][index] && account == accounts[epoch][index]) return;
        forgedTried++;
        try vault.claim(epoch, index, account, amount, MerkleTree.proof(leaves[epoch], index)) {
            forgedPaid++;
        } catch {}
    }

    function passTime(uint256 secondsSeed) external {
        // 6 to 30 hours a step: the 7-day deadlines pass in some runs, not in all.
        vm.warp(block.timestamp + 6 hours + secondsSeed % 1 days);
    }

    function sweep(uint256 epochSeed) external {
        uint64 epoch = epochList[epochSeed % epochList.length];
        (, RewardVault.Asset asset,,,,) = vault.epochs(epoch);
        uint256 before = asset == RewardVault.Asset.Eth ? TREASURY.balance : token.balanceOf(TREASURY);
        vm.prank(admin);
        try vault.sweep(epoch, TREASURY) {
            sweeps++;
            uint256 afterwards = asset == RewardVault.Asset.Eth ? TREASURY.balance : token.balanceOf(TREASURY);
            ghostSwept[epoch] += afterwards - before;
        } catch {}
    }

    /// Pauses or unpauses for odd seeds only, so that most steps run unpaused.
    function togglePause(uint256 seed) external {
        if (seed % 2 != 1) return;
        pauses++;
        bool wasPaused = vault.paused(); // read before the prank: a view call would take it
        vm.prank(admin);
        if (wasPaused) vault.unpause();
        else vault.pause();
    }
}

/// Invariants of the vault under random sequences of the handler's actions
/// (runs and depth: foundry.toml [invariant]).
contract RewardVaultInvariantTest is VaultFixture {
    VaultHandler internal handler;
    uint64 internal constant EPOCHS = 4;

    function setUp() public {
        _deployAll();
        handler = new VaultHandler(vault, token, admin);
        for (uint64 epoch = 1; epoch <= EPOCHS; epoch++) {
            // The last epoch has two entries and is funded for the first
            // only, so that its claims run dry; the others are fully funded.
            Tree memory t = _tree(epoch, epoch == EPOCHS ? 2 : 5 + 3 * epoch, 1000 + epoch, 1e18);
            address[] memory accts = new address[](t.entries.length);
            uint256[] memory amts = new uint256[](t.entries.length);
            for (uint256 i = 0; i < t.entries.length; i++) {
                accts[i] = t.entries[i].account;
                amts[i] = t.entries[i].amount;
            }
            handler.addEpoch(epoch, accts, amts);
            // Odd epochs in ETH, even ones in the token.
            uint256 funding = epoch == EPOCHS ? t.entries[0].amount : t.total;
            if (epoch % 2 == 1) _fundEth(t, funding);
            else _fundToken(t, funding);
        }
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](5);
        selectors[0] = VaultHandler.claim.selector;
        selectors[1] = VaultHandler.claimForged.selector;
        selectors[2] = VaultHandler.passTime.selector;
        selectors[3] = VaultHandler.sweep.selector;
        selectors[4] = VaultHandler.togglePause.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// Total claimed never exceeds what was funded, per epoch and in all;
    /// funded = remaining + claimed + swept, to the wei.
    function invariant_claimedNeverExceedsFunded() public view {
        uint256 totalFunded;
        uint256 totalClaimed;
        for (uint64 epoch = 1; epoch <= EPOCHS; epoch++) {
            (,, uint128 funded, uint128 remaining,,) = vault.epochs(epoch);
            uint256 claimed = handler.ghostClaimed(epoch);
            vm.assertLe(claimed, funded, "an epoch paid out more than it was funded with");
            vm.assertEq(
                uint256(funded), remaining + claimed + handler.ghostSwept(epoch), "funded = remaining + claimed + swept"
            );
            totalFunded += funded;
            totalClaimed += claimed;
        }
        vm.assertLe(totalClaimed, totalFunded, "total claimed <= total funded");
    }

    /// The vault holds exactly what its epochs still owe, in each asset.
    function invariant_vaultHoldsWhatItOwes() public view {
        uint256 owedEth;
        uint256 owedToken;
        for (uint64 epoch = 1; epoch <= EPOCHS; epoch++) {
            (, RewardVault.Asset asset,, uint128 remaining,,) = vault.epochs(epoch);
            if (asset == RewardVault.Asset.Eth) owedEth += remaining;
            else owedToken += remaining;
        }
        vm.assertEq(address(vault).balance, owedEth, "ETH held = ETH owed");
        vm.assertEq(token.balanceOf(address(vault)), owedToken, "tokens held = tokens owed");
    }

    /// Every entry is paid at most once, exactly its amount, to its account,
    /// and the bitmap says so; no forged claim is ever paid.
    function invariant_eachEntryPaidOnceExactly() public view {
        vm.assertEq(handler.forgedPaid(), 0, "a forged claim was paid");
        for (uint64 epoch = 1; epoch <= EPOCHS; epoch++) {
            uint256 n = handler.entries(epoch);
            for (uint256 i = 0; i < n; i++) {
                uint256 paid = handler.ghostPaid(epoch, i);
                bool claimed = vault.isClaimed(epoch, i);
                vm.assertEq(claimed, paid != 0, "the bitmap matches the payments");
            }
        }
    }

    function test_handlerSweepsAfterDeadline() public {
        handler.claim(0, 0);
        for (uint256 i = 0; i < 7; i++) {
            handler.passTime(18 hours - 1); // 24 hours minus a second
        }
        handler.sweep(0);
        vm.assertEq(handler.sweeps(), 0, "no sweep before the deadline");
        handler.passTime(0);
        handler.sweep(0);
        vm.assertEq(handler.sweeps(), 1, "sweep");
    }

    function afterInvariant() public view {
        console.log("handler: claims paid", handler.claims());
        console.log("handler: claims refused (paused, past deadline, paid, run dry)", handler.claimsRefused());
        console.log("handler: forged claims tried (all refused)", handler.forgedTried());
        console.log("handler: sweeps", handler.sweeps());
        console.log("handler: pauses", handler.pauses());
        console.log("seconds passed", block.timestamp - START);
    }
}
