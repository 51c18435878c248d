// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity 0.8.30;

import {VaultFixture} from "./utils/VaultFixture.sol";
import {MerkleTree} from "./utils/MerkleTree.sol";
import {RewardVault} from "../src/RewardVault.sol";
import {ContributionLedger} from "../src/ContributionLedger.sol";
import {TestToken} from "../src/TestToken.sol";
import {MerkleLeaves} from "../src/MerkleLeaves.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// Receives its reward and tries to claim again from inside the payment.
contract ReentrantClaimer {
    RewardVault internal immutable vault;
    uint64 internal epoch;
    uint256 internal index;
    uint256 internal amount;
    bytes32[] internal proof;

    constructor(RewardVault vault_) {
        vault = vault_;
    }

    function arm(uint64 epoch_, uint256 index_, uint256 amount_, bytes32[] memory proof_) external {
        epoch = epoch_;
        index = index_;
        amount = amount_;
        proof = proof_;
    }

    receive() external payable {
        vault.claim(epoch, index, address(this), amount, proof);
    }
}

contract RewardVaultTest is VaultFixture {
    event EpochFunded(
        uint64 indexed epoch, bytes32 root, RewardVault.Asset asset, uint256 amount, uint256 entries, uint64 deadline
    );
    event Claimed(uint64 indexed epoch, uint256 index, address indexed account, uint256 amount);
    event Swept(uint64 indexed epoch, address indexed to, uint256 amount);

    function setUp() public {
        _deployAll();
    }

    // ---------------------------------------------------------- funding --

    function test_constructor() public {
        vm.assertEq(address(vault.ledger()), address(ledger), "ledger");
        vm.assertEq(address(vault.token()), address(token), "token");
        vm.assertEq(vault.minClaimPeriod(), MIN_PERIOD, "minimum claim period");
        vm.assertTrue(vault.hasRole(vault.DEFAULT_ADMIN_ROLE(), admin), "admin");
        vm.assertTrue(vault.hasRole(vault.FUNDER_ROLE(), admin), "admin funds");
        vm.expectRevert(RewardVault.ZeroAddress.selector);
        new RewardVault(address(0), ledger, token, 0);
        vm.expectRevert(RewardVault.ZeroAddress.selector);
        new RewardVault(admin, ContributionLedger(address(0)), token, 0);
        vm.expectRevert(RewardVault.ZeroAddress.selector);
        new RewardVault(admin, ledger, IERC20(address(0)), 0);
    }

    function test_fundEth() public {
        Tree memory t = _tree(4, 5, 1, 1 ether);
        _commitEpoch(4);
        uint64 deadline = uint64(block.timestamp + 2 days);
        vm.deal(admin, t.total);
        vm.expectEmit(address(vault));
        emit EpochFunded(4, t.root, RewardVault.Asset.Eth, t.total, 5, deadline);
        vm.prank(admin);
        vault.fundEth{value: t.total}(4, t.root, 5, deadline);
        (bytes32 root, RewardVault.Asset asset, uint128 funded, uint128 remaining, uint64 dl, bool swept) =
            vault.epochs(4);
        vm.assertEq(root, t.root, "root");
        vm.assertTrue(asset == RewardVault.Asset.Eth, "asset");
        vm.assertEq(funded, t.total, "funded");
        vm.assertEq(remaining, t.total, "remaining");
        vm.assertEq(dl, deadline, "deadline");
        vm.assertFalse(swept, "not swept");
        vm.assertEq(address(vault).balance, t.total, "the vault holds the ETH");
    }

    function test_fundToken() public {
        Tree memory t = _tree(4, 5, 1, 1e18);
        uint256 before = token.balanceOf(admin);
        _fundToken(t, t.total);
        (, RewardVault.Asset asset, uint128 funded,,,) = vault.epochs(4);
        vm.assertTrue(asset == RewardVault.Asset.Token, "asset");
        vm.assertEq(funded, t.total, "funded");
        vm.assertEq(token.balanceOf(address(vault)), t.total, "the vault holds the tokens");
        vm.assertEq(token.balanceOf(admin), before - t.total, "taken from the funder");
    }

    function test_fund_onlyFunder() public {
        _commitEpoch(1);
        bytes32 role = vault.FUNDER_ROLE();
        vm.deal(stranger, 1 ether);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
        vm.prank(stranger);
        vault.fundEth{value: 1 ether}(1, keccak256("r"), 1, uint64(block.timestamp + 2 days));
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
        vm.prank(stranger);
        vault.fundToken(1, keccak256("r"), 1, 1, uint64(block.timestamp + 2 days));

        // A funder that is not admin.
        vm.prank(admin);
        vault.grantRole(role, stranger);
        vm.prank(stranger);
        vault.fundEth{value: 1 ether}(1, keccak256("r"), 1, uint64(block.timestamp + 2 days));
        (,, uint128 funded,,,) = vault.epochs(1);
        vm.assertEq(funded, 1 ether, "a granted funder funds");
    }

    function test_fund_refusals() public {
        uint64 deadline = uint64(block.timestamp + 2 days);
        vm.deal(admin, 10 ether);
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(RewardVault.EpochNotCommitted.selector, uint64(1)));
        vault.fundEth{value: 1 ether}(1, keccak256("r"), 1, deadline);
        vm.stopPrank();

        _commitEpoch(1);
        vm.startPrank(admin);
        vm.expectRevert(RewardVault.NoEntries.selector);
        vault.fundEth{value: 1 ether}(1, keccak256("r"), 0, deadline);
        vm.expectRevert(RewardVault.ZeroRoot.selector);
        vault.fundEth{value: 1 ether}(1, bytes32(0), 1, deadline);
        vm.expectRevert(abi.encodeWithSelector(RewardVault.BadAmount.selector, uint256(0)));
        vault.fundEth{value: 0}(1, keccak256("r"), 1, deadline);
        vm.expectRevert(abi.encodeWithSelector(RewardVault.BadAmount.selector, uint256(type(uint128).max) + 1));
        vault.fundToken(1, keccak256("r"), 1, uint256(type(uint128).max) + 1, deadline);
        uint64 soon = uint64(block.timestamp + MIN_PERIOD - 1);
        vm.expectRevert(
            abi.encodeWithSelector(RewardVault.DeadlineTooSoon.selector, soon, block.timestamp + MIN_PERIOD)
        );
        vault.fundEth{value: 1 ether}(1, keccak256("r"), 1, soon);

        vault.fundEth{value: 1 ether}(1, keccak256("r"), 1, deadline);
        vm.expectRevert(abi.encodeWithSelector(RewardVault.EpochAlreadyFunded.selector, uint64(1)));
        vault.fundEth{value: 1 ether}(1, keccak256("other"), 1, deadline);
        token.approve(address(vault), 1);
        vm.expectRevert(abi.encodeWithSelector(RewardVault.EpochAlreadyFunded.selector, uint64(1)));
        vault.fundToken(1, keccak256("other"), 1, 1, deadline);
        vm.stopPrank();
        vm.assertEq(address(vault).balance, 1 ether, "refused funding left nothing behind");
    }

    function test_fund_emptyCommittedEpoch() public {
        // The ledger's empty epochs are committed (root 0) and may be funded.
        vm.prank(poster);
        ledger.commitEpoch(6, bytes32(0), 0, 0, 0, bytes32(0));
        vm.deal(admin, 1 ether);
        vm.prank(admin);
        vault.fundEth{value: 1 ether}(6, keccak256("r"), 1, uint64(block.timestamp + 2 days));
        (,, uint128 funded,,,) = vault.epochs(6);
        vm.assertEq(funded, 1 ether, "funded");
        // An epoch the ledger skipped may not.
        vm.prank(poster);
        ledger.commitEpoch(8, keccak256("c"), 1, 1, 1, bytes32(0));
        vm.deal(admin, 1 ether);
        vm.expectRevert(abi.encodeWithSelector(RewardVault.EpochNotCommitted.selector, uint64(7)));
        vm.prank(admin);
        vault.fundEth{value: 1 ether}(7, keccak256("r"), 1, uint64(block.timestamp + 2 days));
    }

    function test_plainEthTransferRefused() public {
        vm.deal(stranger, 1 ether);
        vm.prank(stranger);
        (bool ok,) = address(vault).call{value: 1 ether}("");
        vm.assertFalse(ok, "ETH outside fundEth is refused");
    }

    // ----------------------------------------------------------- claims --

    function test_claimEth_paysAccountAndRecords() public {
        Tree memory t = _tree(2, 7, 3, 1 ether);
        _fundEth(t, t.total);
        for (uint256 i = 0; i < t.entries.length; i++) {
            Entry memory e = t.entries[i];
            vm.assertFalse(vault.isClaimed(2, e.index), "not claimed yet");
            vm.expectEmit(address(vault));
            emit Claimed(2, e.index, e.account, e.amount);
            vm.prank(stranger); // anyone may submit; the account is paid
            vault.claim(2, e.index, e.account, e.amount, _proof(t, i));
            vm.assertEq(e.account.balance, e.amount, "the account got its amount");
            vm.assertTrue(vault.isClaimed(2, e.index), "recorded as claimed");
        }
        vm.assertEq(address(vault).balance, 0, "everything paid out");
        vm.assertEq(stranger.balance, 0, "the submitter got nothing");
        (,,, uint128 remaining,,) = vault.epochs(2);
        vm.assertEq(remaining, 0, "nothing remains");
    }

    function test_claimToken() public {
        Tree memory t = _tree(2, 3, 4, 1e18);
        _fundToken(t, t.total);
        for (uint256 i = 0; i < 3; i++) {
            _claim(t, i);
            vm.assertEq(token.balanceOf(t.entries[i].account), t.entries[i].amount, "tokens paid");
        }
        vm.assertEq(token.balanceOf(address(vault)), 0, "vault emptied");
    }

    function test_claim_doubleClaimRefused() public {
        Tree memory t = _tree(2, 4, 5, 1 ether);
        _fundEth(t, t.total);
        _claim(t, 1);
        vm.expectRevert(abi.encodeWithSelector(RewardVault.AlreadyClaimed.selector, uint64(2), uint256(1)));
        _claim(t, 1);
        vm.assertEq(t.entries[1].account.balance, t.entries[1].amount, "paid once");
    }

    function test_claim_wrongProofsRefused() public {
        Tree memory t = _tree(2, 6, 6, 1 ether);
        _fundEth(t, t.total);
        Entry memory e = t.entries[2];
        bytes32[] memory p = _proof(t, 2);

        vm.expectRevert(RewardVault.InvalidProof.selector);
        vault.claim(2, e.index, e.account, e.amount + 1, p); // more than its share
        vm.expectRevert(RewardVault.InvalidProof.selector);
        vault.claim(2, e.index, stranger, e.amount, p); // someone else's share
        vm.expectRevert(RewardVault.InvalidProof.selector);
        vault.claim(2, 3, e.account, e.amount, p); // another index
        vm.expectRevert(RewardVault.InvalidProof.selector);
        vault.claim(2, e.index, e.account, e.amount, _proof(t, 3)); // another entry's proof
        bytes32[] memory bent = _proof(t, 2);
        bent[bent.length - 1] = keccak256("bent");
        vm.expectRevert(RewardVault.InvalidProof.selector);
        vault.claim(2, e.index, e.account, e.amount, bent);
        vm.expectRevert(RewardVault.InvalidProof.selector);
        vault.claim(2, e.index, e.account, e.amount, new bytes32[](0));

        // The same entry in another epoch's tree is another leaf.
        Tree memory other = _tree(3, 6, 6, 1 ether);
        _fundEth(other, other.total);
        vm.expectRevert(RewardVault.InvalidProof.selector);
        vault.claim(3, e.index, e.account, e.amount, p);
        vm.assertEq(e.account.balance, 0, "nothing was paid");
        vm.assertFalse(vault.isClaimed(2, e.index), "nothing was recorded");
    }

    function test_claim_unfundedEpochRefused() public {
        vm.expectRevert(abi.encodeWithSelector(RewardVault.EpochNotFunded.selector, uint64(9)));
        vault.claim(9, 0, stranger, 1, new bytes32[](0));
    }

    function test_claim_deadline() public {
        Tree memory t = _tree(2, 3, 7, 1 ether);
        uint64 deadline = _fundEth(t, t.total);
        vm.warp(deadline);
        _claim(t, 0); // the deadline itself is still in the claim period
        vm.warp(uint256(deadline) + 1);
        vm.expectRevert(abi.encodeWithSelector(RewardVault.ClaimPeriodOver.selector, uint64(2), deadline));
        _claim(t, 1);
    }

    function test_claim_bitmapWordsAreIndependent() public {
        // 600 entries, 255 to a bitmap word: 0, 254 | 255, 509 | 510, 599.
        Tree memory t = _tree(2, 600, 8, 1 gwei);
        _fundEth(t, t.total);
        uint256[6] memory picks = [uint256(0), 254, 255, 509, 510, 599];
        for (uint256 k = 0; k < picks.length; k++) {
            _claim(t, picks[k]);
        }
        for (uint256 i = 0; i < 600; i++) {
            bool picked = i == 0 || i == 254 || i == 255 || i == 509 || i == 510 || i == 599;
            vm.assertEq(vault.isClaimed(2, i), picked, "exactly the claimed bits are set");
        }
        vm.expectRevert(abi.encodeWithSelector(RewardVault.AlreadyClaimed.selector, uint64(2), uint256(255)));
        _claim(t, 255);
    }

    /// Storage slot of bitmap word `word` of `epoch` (`_claimedBits` is slot 3:
    /// AccessControl's roles 0, Pausable's flag 1, `_epochs` 2; see
    /// `forge inspect RewardVault storageLayout`).
    function _bitmapSlot(uint64 epoch, uint256 word) internal pure returns (bytes32) {
        return keccak256(abi.encode(word, keccak256(abi.encode(epoch, uint256(3)))));
    }

    function test_fund_preparesBitmapWords() public {
        uint256 prepared = 1 << 255;
        // 510 entries fill two words exactly; 511 need a third.
        Tree memory t = _tree(2, 510, 8, 1 gwei);
        _fundEth(t, t.total);
        vm.assertEq(uint256(vm.load(address(vault), _bitmapSlot(2, 0))), prepared, "word 0 prepared");
        vm.assertEq(uint256(vm.load(address(vault), _bitmapSlot(2, 1))), prepared, "word 1 prepared");
        vm.assertEq(uint256(vm.load(address(vault), _bitmapSlot(2, 2))), 0, "no word beyond the list");
        Tree memory u = _tree(3, 511, 8, 1 gwei);
        _fundToken(u, u.total);
        vm.assertEq(uint256(vm.load(address(vault), _bitmapSlot(3, 2))), prepared, "a third word for entry 510");
        vm.assertEq(uint256(vm.load(address(vault), _bitmapSlot(3, 3))), 0, "and no fourth");
        vm.assertEq(uint256(vm.load(address(vault), _bitmapSlot(2, 2))), 0, "epochs do not share words");

        // The marker is no claim, and a claim keeps it.
        for (uint256 i = 0; i < 510; i++) {
            vm.assertFalse(vault.isClaimed(2, i), "nothing claimed after funding");
        }
        _claim(t, 254);
        vm.assertEq(
            uint256(vm.load(address(vault), _bitmapSlot(2, 0))), prepared | (1 << 254), "bit 254 of word 0 set"
        );
        _claim(t, 255);
        vm.assertEq(uint256(vm.load(address(vault), _bitmapSlot(2, 1))), prepared | 1, "bit 0 of word 1 set");
    }

    function test_claim_unpreparedWordsStillWork() public {
        // The funder prepares one word of a 600-entry list: the rest still pays, once.
        Tree memory t = _tree(2, 600, 9, 1 gwei);
        _commitEpoch(2);
        vm.deal(admin, t.total);
        vm.prank(admin);
        vault.fundEth{value: t.total}(2, t.root, 1, uint64(block.timestamp + 7 days));
        vm.assertEq(uint256(vm.load(address(vault), _bitmapSlot(2, 1))), 0, "word 1 not prepared");
        _claim(t, 300);
        _claim(t, 599);
        vm.assertEq(t.entries[300].account.balance, t.entries[300].amount, "paid from an unprepared word");
        vm.assertTrue(vault.isClaimed(2, 300), "recorded");
        vm.assertEq(uint256(vm.load(address(vault), _bitmapSlot(2, 1))), 1 << 45, "only the claim's bit");
        vm.expectRevert(abi.encodeWithSelector(RewardVault.AlreadyClaimed.selector, uint64(2), uint256(599)));
        _claim(t, 599);
    }

    function test_claim_cannotExceedFunding() public {
        // A tree that pays out more than was deposited: the last claims fail.
        Tree memory t = _tree(2, 4, 9, 1 ether);
        uint256 short = t.total - t.entries[3].amount / 2;
        _fundEth(t, short);
        _claim(t, 0);
        _claim(t, 1);
        _claim(t, 2);
        uint256 left = short - t.entries[0].amount - t.entries[1].amount - t.entries[2].amount;
        vm.expectRevert(
            abi.encodeWithSelector(RewardVault.EpochExhausted.selector, uint64(2), t.entries[3].amount, left)
        );
        _claim(t, 3);
        vm.assertEq(address(vault).balance, left, "the rest stays in the vault");
    }

    function test_claim_reentrancyRefused() public {
        ReentrantClaimer attacker = new ReentrantClaimer(vault);
        bytes32[] memory leaves = new bytes32[](2);
        leaves[0] = MerkleLeaves.rewardLeaf(2, 0, address(attacker), 1 ether);
        leaves[1] = MerkleLeaves.rewardLeaf(2, 1, address(attacker), 1 ether);
        Tree memory t;
        t.epoch = 2;
        t.leaves = leaves;
        t.root = MerkleTree.root(leaves);
        _fundEth(t, 2 ether);
        attacker.arm(2, 1, 1 ether, MerkleTree.proof(leaves, 1));
        // The second claim, made from inside the first payment, is refused,
        // and with it the first.
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        vault.claim(2, 0, address(attacker), 1 ether, MerkleTree.proof(leaves, 0));
        vm.assertEq(address(attacker).balance, 0, "nothing paid");
        vm.assertFalse(vault.isClaimed(2, 0), "nothing recorded");
    }

    function testFuzz_claimsAgainstBuiltTree(uint256 seed, uint16 n, bool inToken) public {
        n = uint16(bound(n, 1, 64));
        Tree memory t = _tree(11, n, seed, 1e24);
        if (inToken) _fundToken(t, t.total);
        else _fundEth(t, t.total);
        // Claim in an order derived from the seed.
        uint256 start = seed % n;
        for (uint256 k = 0; k < n; k++) {
            uint256 i = (start + k * 7) % n;
            if (vault.isClaimed(11, i)) continue; // 7 and n share a factor
            _claim(t, i);
        }
        for (uint256 i = 0; i < n; i++) {
            if (!vault.isClaimed(11, i)) _claim(t, i);
            Entry memory e = t.entries[i];
            uint256 got = inToken ? token.balanceOf(e.account) : e.account.balance;
            vm.assertEq(got, e.amount, "every account got exactly its amount");
        }
        (,,, uint128 remaining,,) = vault.epochs(11);
        vm.assertEq(remaining, 0, "the epoch is paid out");
        vm.assertEq(inToken ? token.balanceOf(address(vault)) : address(vault).balance, 0, "the vault is empty");
        uint256 again = seed % n;
        vm.expectRevert(abi.encodeWithSelector(RewardVault.AlreadyClaimed.selector, uint64(11), again));
        _claim(t, again);
    }

    function testFuzz_forgedClaimRefused(uint256 seed, uint8 pick, uint256 amount, address account) public {
        Tree memory t = _tree(12, 9, seed, 1e20);
        _fundEth(t, t.total);
        uint256 i = bound(pick, 0, 8);
        Entry memory e = t.entries[i];
        vm.assume(amount != e.amount || account != e.account);
        vm.expectRevert(RewardVault.InvalidProof.selector);
        vault.claim(12, e.index, account, amount, _proof(t, i));
    }

    // ------------------------------------------------------------ pause --

    function test_pause_blocksClaimsAndFunding() public {
        Tree memory t = _tree(2, 3, 10, 1 ether);
        _fundEth(t, t.total);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, vault.DEFAULT_ADMIN_ROLE()
            )
        );
        vm.prank(stranger);
        vault.pause();

        vm.prank(admin);
        vault.pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        _claim(t, 0);
        _commitEpoch(3);
        vm.deal(admin, 1 ether);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(admin);
        vault.fundEth{value: 1 ether}(3, keccak256("r"), 1, uint64(block.timestamp + 2 days));

        vm.prank(admin);
        vault.unpause();
        _claim(t, 0);
        vm.assertEq(t.entries[0].account.balance, t.entries[0].amount, "claims resume after unpause");
    }

    // ------------------------------------------------------------ sweep --

    function test_sweep_onlyAdminAfterDeadline() public {
        Tree memory t = _tree(2, 4, 11, 1 ether);
        uint64 deadline = _fundEth(t, t.total);
        _claim(t, 0);
        address treasury = address(0x7EA5);

        vm.expectRevert(abi.encodeWithSelector(RewardVault.ClaimPeriodNotOver.selector, uint64(2), deadline));
        vm.prank(admin);
        vault.sweep(2, treasury);
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(RewardVault.ClaimPeriodNotOver.selector, uint64(2), deadline));
        vm.prank(admin);
        vault.sweep(2, treasury);

        vm.warp(uint256(deadline) + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, vault.DEFAULT_ADMIN_ROLE()
            )
        );
        vm.prank(stranger);
        vault.sweep(2, stranger);

        uint256 left = t.total - t.entries[0].amount;
        vm.expectEmit(address(vault));
        emit Swept(2, treasury, left);
        vm.prank(admin);
        vault.sweep(2, treasury);
        vm.assertEq(treasury.balance, left, "the unclaimed rest is swept");
        vm.assertEq(address(vault).balance, 0, "vault empty");
        (,,, uint128 remaining,, bool swept) = vault.epochs(2);
        vm.assertEq(remaining, 0, "nothing remains");
        vm.assertTrue(swept, "marked swept");

        vm.expectRevert(abi.encodeWithSelector(RewardVault.AlreadySwept.selector, uint64(2)));
        vm.prank(admin);
        vault.sweep(2, treasury);
        vm.expectRevert(abi.encodeWithSelector(RewardVault.ClaimPeriodOver.selector, uint64(2), deadline));
        _claim(t, 1);
    }

    function test_sweep_tokenAndRefusals() public {
        Tree memory t = _tree(2, 2, 12, 1e18);
        uint64 deadline = _fundToken(t, t.total);
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(RewardVault.EpochNotFunded.selector, uint64(5)));
        vault.sweep(5, admin);
        vm.warp(uint256(deadline) + 1);
        vm.expectRevert(RewardVault.ZeroAddress.selector);
        vault.sweep(2, address(0));
        vault.sweep(2, address(0x7EA5));
        vm.stopPrank();
        vm.assertEq(token.balanceOf(address(0x7EA5)), t.total, "unclaimed tokens swept");
    }
}
