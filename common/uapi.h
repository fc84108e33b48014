/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The drivers' user-space interface, for common/uapi.rs: bindgen turns the ioctl numbers these
 * headers define with the _IO* macros into Rust constants (clang evaluates the macros), so the
 * drivers and user programs share one definition.
 */
#include "../include/uapi/ldd3/scull.h"
#include "../include/uapi/ldd3/scullp.h"
