// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ContributionLedger} from "./ContributionLedger.sol";
import {MerkleLeaves} from "./MerkleLeaves.sol";

/// @title RewardVault: per-epoch rewards, claimed with Merkle proofs.
/// @notice A funder deposits an epoch's rewards, in ETH or in the vault's one
/// ERC-20 token, together with the root of the epoch's reward tree and a claim
/// deadline.  Each payee pulls its payment with {claim}; a bitmap records what
/// was paid.  After the deadline the admin may sweep what is left.
/// Funding also prepares the claim bitmap (one storage write per 255 entries),
/// so that no claim has to turn a zero slot into a non-zero one.
contract RewardVault is AccessControl, Pausable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// May fund epochs.
    bytes32 public constant FUNDER_ROLE = keccak256("FUNDER_ROLE");

    enum Asset {
        None, // not funded
        Eth,
        Token
    }

    /// One funded epoch.  A claim touches the first two slots only.
    struct Epoch {
        bytes32 root;
        uint128 remaining; // what is still claimable
        uint64 deadline; // claims until this time (inclusive), sweep after it
        Asset asset;
        bool swept;
        uint128 funded;
    }

    /// The vault's ERC-20 token.
    IERC20 public immutable token;
    /// Epochs are funded only once the ledger holds their contributions.
    ContributionLedger public immutable ledger;
    /// The shortest claim period a funder may set, in seconds.
    uint64 public immutable minClaimPeriod;

    /// A bitmap word holds the claim bits of 255 entries: entry i is bit
    /// i % 255 of word i / 255.  Its top bit, PREPARED, is set when the epoch
    /// is funded, so that a claim's write changes a non-zero word (2,900 gas
    /// warm) instead of filling a zero one (20,000).
    uint256 private constant ENTRIES_PER_WORD = 255;
    uint256 private constant PREPARED = 1 << 255;

    mapping(uint64 epoch => Epoch) private _epochs;
    /// Bit i % 255 of word i / 255 is set once entry i of the epoch was paid.
    mapping(uint64 epoch => mapping(uint256 word => uint256 bits)) private _claimedBits;

    event EpochFunded(
        uint64 indexed epoch, bytes32 root, Asset asset, uint256 amount, uint256 entries, uint64 deadline
    );
    event Claimed(uint64 indexed epoch, uint256 index, address indexed account, uint256 amount);
    event Swept(uint64 indexed epoch, address indexed to, uint256 amount);

    error ZeroAddress();
    error EpochNotCommitted(uint64 epoch);
    error EpochAlreadyFunded(uint64 epoch);
    error EpochNotFunded(uint64 epoch);
    error ZeroRoot();
    /// A reward list has at least one entry.
    error NoEntries();
    error BadAmount(uint256 amount);
    error DeadlineTooSoon(uint64 deadline, uint256 earliest);
    /// The token moved another amount than asked (fee-on-transfer tokens are not supported).
    error TokenAmountMismatch(uint256 expected, uint256 received);
    error AlreadyClaimed(uint64 epoch, uint256 index);
    error InvalidProof();
    error ClaimPeriodOver(uint64 epoch, uint64 deadline);
    error ClaimPeriodNotOver(uint64 epoch, uint64 deadline);
    error AlreadySwept(uint64 epoch);
    /// A claim exceeded what the epoch still holds: its tree pays out more than was funded.
    error EpochExhausted(uint64 epoch, uint256 amount, uint256 remaining);

    constructor(address admin, ContributionLedger ledger_, IERC20 token_, uint64 minClaimPeriod_) {
        if (admin == address(0) || address(ledger_) == address(0) || address(token_) == address(0)) {
            revert ZeroAddress();
        }
        ledger = ledger_;
        token = token_;
        minClaimPeriod = minClaimPeriod_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(FUNDER_ROLE, admin);
    }

    /// Fund `epoch` with the ETH sent, payable to the reward tree `root` of a
    /// list of `entries` entries until `deadline`.
    function fundEth(uint64 epoch, bytes32 root, uint256 entries, uint64 deadline)
        external
        payable
        onlyRole(FUNDER_ROLE)
        whenNotPaused
    {
        _fund(epoch, root, entries, Asset.Eth, msg.value, deadline);
    }

    /// Fund `epoch` with `amount` of the token, taken from the caller (who approved it).
    function fundToken(uint64 epoch, bytes32 root, uint256 entries, uint256 amount, uint64 deadline)
        external
        onlyRole(FUNDER_ROLE)
        whenNotPaused
        nonReentrant
    {
        _fund(epoch, root, entries, Asset.Token, amount, deadline);
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert TokenAmountMismatch(amount, received);
    }

    /// `entries` sets how many bitmap words are prepared: ceil(entries / 255),
    /// 22,100 gas each.  A number below the list's length is not an error: the
    /// claims of the words left unprepared pay the 17,100 gas difference.
    function _fund(uint64 epoch, bytes32 root, uint256 entries, Asset asset, uint256 amount, uint64 deadline)
        private
    {
        if (!ledger.isCommitted(epoch)) revert EpochNotCommitted(epoch);
        Epoch storage e = _epochs[epoch];
        if (e.asset != Asset.None) revert EpochAlreadyFunded(epoch);
        if (root == bytes32(0)) revert ZeroRoot();
        if (entries == 0) revert NoEntries();
        if (amount == 0 || amount > type(uint128).max) revert BadAmount(amount);
        if (deadline < block.timestamp + minClaimPeriod) {
            revert DeadlineTooSoon(deadline, block.timestamp + minClaimPeriod);
        }
        e.root = root;
        e.remaining = uint128(amount);
        e.deadline = deadline;
        e.asset = asset;
        e.funded = uint128(amount);
        mapping(uint256 word => uint256 bits) storage claimed = _claimedBits[epoch];
        uint256 words = entries / ENTRIES_PER_WORD + (entries % ENTRIES_PER_WORD == 0 ? 0 : 1);
        for (uint256 w = 0; w < words; ++w) {
            claimed[w] = PREPARED;
        }
        emit EpochFunded(epoch, root, asset, amount, entries, deadline);
    }

    /// Pay `amount` to `account`, entry `index` of `epoch`'s reward tree.
    /// Anyone may submit the claim; the payment always goes to `account`.
    function claim(uint64 epoch, uint256 index, address account, uint256 amount, bytes32[] calldata proof)
        external
        nonReentrant
        whenNotPaused
    {
        Epoch storage e = _epochs[epoch];
        Asset asset = e.asset;
        if (asset == Asset.None) revert EpochNotFunded(epoch);
        if (block.timestamp > e.deadline) revert ClaimPeriodOver(epoch, e.deadline);

        uint256 word = index / ENTRIES_PER_WORD;
        uint256 bit = 1 << (index % ENTRIES_PER_WORD);
        uint256 bits = _claimedBits[epoch][word];
        if (bits & bit != 0) revert AlreadyClaimed(epoch, index);
        bytes32 leaf = MerkleLeaves.rewardLeaf(epoch, index, account, amount);
        if (!MerkleProof.verifyCalldata(proof, e.root, leaf)) revert InvalidProof();

        uint128 remaining = e.remaining;
        if (amount > remaining) revert EpochExhausted(epoch, amount, remaining);
        _claimedBits[epoch][word] = bits | bit;
        e.remaining = remaining - uint128(amount);
        emit Claimed(epoch, index, account, amount);
        _pay(asset, account, amount);
    }

    /// After `epoch`'s deadline, send what was not claimed to `to`.
    function sweep(uint64 epoch, address to) external onlyRole(DEFAULT_ADMIN_ROLE) whenNotPaused nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        Epoch storage e = _epochs[epoch];
        if (e.asset == Asset.None) revert EpochNotFunded(epoch);
        if (block.timestamp <= e.deadline) revert ClaimPeriodNotOver(epoch, e.deadline);
        if (e.swept) revert AlreadySwept(epoch);
        uint256 amount = e.remaining;
        e.remaining = 0;
        e.swept = true;
        emit Swept(epoch, to, amount);
        _pay(e.asset, to, amount);
    }

    function _pay(Asset asset, address to, uint256 amount) private {
        if (asset == Asset.Eth) {
            Address.sendValue(payable(to), amount);
        } else {
            token.safeTransfer(to, amount);
        }
    }

    /// An epoch's funding: all zero when it was not funded.
    function epochs(uint64 epoch)
        external
        view
        returns (bytes32 root, Asset asset, uint128 funded, uint128 remaining, uint64 deadline, bool swept)
    {
        Epoch storage e = _epochs[epoch];
        return (e.root, e.asset, e.funded, e.remaining, e.deadline, e.swept);
    }

    /// True once entry `index` of `epoch` was paid.
    function isClaimed(uint64 epoch, uint256 index) external view returns (bool) {
        return _claimedBits[epoch][index / ENTRIES_PER_WORD] & (1 << (index % ENTRIES_PER_WORD)) != 0;
    }

    /// The leaf of one reward entry, as quorated computes it.
    function rewardLeaf(uint64 epoch, uint256 index, address account, uint256 amount)
        external
        pure
        returns (bytes32)
    {
        return MerkleLeaves.rewardLeaf(epoch, index, account, amount);
    }

    function pause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _pause();
    }

    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }
}
