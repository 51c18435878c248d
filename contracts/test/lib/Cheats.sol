// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity ^0.8.20;

import {Vm, VM_ADDRESS} from "./Vm.sol";

/// @title Cheats: `vm`, for tests and scripts alike (declared once, so that a
/// contract may be both).
abstract contract Cheats {
    Vm internal constant vm = Vm(VM_ADDRESS);
}
