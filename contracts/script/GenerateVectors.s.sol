// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity 0.8.30;

import {Cheats} from "../test/lib/Cheats.sol";
import {MerkleTree} from "../test/utils/MerkleTree.sol";
import {MerkleLeaves} from "../src/MerkleLeaves.sol";

/// @title VectorsJson: the text of contracts/test/vectors.json.
/// @notice Inputs are derived from fixed seeds (with edge values: maximal
/// uint64/uint128/uint256, zero amounts, an empty epoch); leaves, roots and
/// proofs are computed with src/MerkleLeaves.sol and test/utils/MerkleTree.sol.
/// test/Vectors.t.sol re-derives every leaf, root and proof from the file and
/// compares the whole text with {json}, so the committed file cannot rot.
contract VectorsJson is Cheats {
    /// Tree sizes: odd ones exercise the carried-up node.
    function _sizes() internal pure returns (uint256[8] memory) {
        return [uint256(1), 2, 3, 4, 5, 7, 8, 13];
    }

    function _hex(address a) internal pure returns (string memory) {
        return vm.toString(abi.encodePacked(a)); // lower-case, 40 digits
    }

    function _q(string memory s) internal pure returns (string memory) {
        return string.concat("\"", s, "\"");
    }

    function _num(uint256 v) internal pure returns (string memory) {
        return _q(vm.toString(v));
    }

    function _proofJson(bytes32[] memory p) internal pure returns (string memory out) {
        out = "[";
        for (uint256 i = 0; i < p.length; i++) {
            out = string.concat(out, i == 0 ? "" : ", ", _q(vm.toString(p[i])));
        }
        out = string.concat(out, "]");
    }

    struct Contribution {
        uint64 epoch;
        string site;
        address payee;
        uint128 cpuSeconds;
        uint128 gpuSeconds;
        uint64 score;
    }

    function _contribution(uint256 t, uint256 i) internal pure returns (Contribution memory c) {
        uint256 h = uint256(keccak256(abi.encode("quorate contribution vector", t, i)));
        string[3] memory sites = ["site_a", "site_b", "site_c"];
        c.epoch = t == 7 ? type(uint64).max : uint64(7 + t);
        c.site = sites[(t + i) % 3];
        c.payee = address(uint160(h));
        c.cpuSeconds = uint128((h >> 160) % 1e9);
        c.gpuSeconds = i % 3 == 2 ? 0 : uint128((h >> 192) % 1e7);
        c.score = uint64((h >> 224) % 2_000_000);
        if (t == 4 && i == 0) c.cpuSeconds = type(uint128).max;
        if (t == 4 && i == 1) c.gpuSeconds = type(uint128).max;
        if (t == 4 && i == 2) c.score = type(uint64).max;
        if (t == 4 && i == 3) c.payee = address(1);
    }

    function _contributionTree(uint256 t, uint256 n, uint64 emptyEpoch) internal pure returns (string memory out) {
        bytes32[] memory leaves = new bytes32[](n);
        Contribution[] memory cs = new Contribution[](n);
        for (uint256 i = 0; i < n; i++) {
            cs[i] = _contribution(t, i);
            leaves[i] = MerkleLeaves.contributionLeaf(
                cs[i].epoch,
                uint32(i),
                keccak256(bytes(cs[i].site)),
                cs[i].payee,
                cs[i].cpuSeconds,
                cs[i].gpuSeconds,
                cs[i].score
            );
        }
        out = "    {\n      \"records\": [";
        for (uint256 i = 0; i < n; i++) {
            Contribution memory c = cs[i];
            out = string.concat(
                out,
                i == 0 ? "\n" : ",\n",
                "        {\"epoch\": ",
                _num(c.epoch),
                ", \"index\": ",
                vm.toString(i),
                ", \"site\": ",
                _q(c.site),
                ", \"siteId\": ",
                _q(vm.toString(keccak256(bytes(c.site)))),
                ", \"payee\": ",
                _q(_hex(c.payee))
            );
            out = string.concat(
                out,
                ", \"cpuSeconds\": ",
                _num(c.cpuSeconds),
                ", \"gpuSeconds\": ",
                _num(c.gpuSeconds),
                ", \"score\": ",
                _num(c.score),
                ",\n         \"leaf\": ",
                _q(vm.toString(leaves[i])),
                ", \"proof\": ",
                _proofJson(MerkleTree.proof(leaves, i)),
                "}"
            );
        }
        out = string.concat(
            out,
            n == 0 ? "],\n" : "\n      ],\n",
            "      \"epoch\": ",
            _num(n == 0 ? emptyEpoch : cs[0].epoch),
            ",\n      \"root\": ",
            _q(vm.toString(MerkleTree.root(leaves))),
            "\n    }"
        );
    }

    struct Reward {
        uint64 epoch;
        address account;
        uint256 amount;
    }

    function _reward(uint256 t, uint256 i) internal pure returns (Reward memory r) {
        uint256 h = uint256(keccak256(abi.encode("quorate reward vector", t, i)));
        r.epoch = t == 7 ? type(uint64).max : uint64(7 + t);
        r.account = address(uint160(h));
        r.amount = (h >> 160) % 1e21;
        if (t == 3 && i == 0) r.amount = type(uint256).max;
        if (t == 3 && i == 1) r.amount = 0;
        if (t == 3 && i == 2) r.account = address(1);
    }

    function _rewardTree(uint256 t, uint256 n) internal pure returns (string memory out) {
        bytes32[] memory leaves = new bytes32[](n);
        Reward[] memory rs = new Reward[](n);
        for (uint256 i = 0; i < n; i++) {
            rs[i] = _reward(t, i);
            leaves[i] = MerkleLeaves.rewardLeaf(rs[i].epoch, i, rs[i].account, rs[i].amount);
        }
        out = "    {\n      \"entries\": [";
        for (uint256 i = 0; i < n; i++) {
            Reward memory r = rs[i];
            out = string.concat(
                out,
                i == 0 ? "\n" : ",\n",
                "        {\"epoch\": ",
                _num(r.epoch),
                ", \"index\": ",
                _num(i),
                ", \"account\": ",
                _q(_hex(r.account)),
                ", \"amount\": ",
                _num(r.amount),
                ",\n         \"leaf\": ",
                _q(vm.toString(leaves[i])),
                ", \"proof\": ",
                _proofJson(MerkleTree.proof(leaves, i)),
                "}"
            );
        }
        out = string.concat(
            out,
            "\n      ],\n      \"epoch\": ",
            _num(rs[0].epoch),
            ",\n      \"root\": ",
            _q(vm.toString(MerkleTree.root(leaves))),
            "\n    }"
        );
    }

    /// The whole file.
    function json() public pure returns (string memory out) {
        uint256[8] memory sizes = _sizes();
        out = string.concat(
            "{\n",
            "  \"about\": \"quorate Merkle test vectors (contracts/FORMATS.md); generated by ",
            "contracts/script/GenerateVectors.s.sol, checked by contracts/test/Vectors.t.sol\",\n",
            "  \"contribution\": [\n"
        );
        for (uint256 t = 0; t < sizes.length; t++) {
            out = string.concat(out, _contributionTree(t, sizes[t], 0), ",\n");
        }
        // An epoch without records: root bytes32(0).
        out = string.concat(out, _contributionTree(sizes.length, 0, 99), "\n  ],\n  \"reward\": [\n");
        for (uint256 t = 0; t < sizes.length; t++) {
            out = string.concat(out, _rewardTree(t, sizes[t]), t + 1 < sizes.length ? ",\n" : "\n");
        }
        out = string.concat(out, "  ]\n}\n");
    }
}

/// FOUNDRY_PROFILE=vectors forge script script/GenerateVectors.s.sol
/// (the vectors profile may write test/vectors.json; the default one may not).
contract GenerateVectors is VectorsJson {
    function run() external {
        vm.writeFile(string.concat(vm.projectRoot(), "/test/vectors.json"), json());
    }
}
