// SPDX-License-Identifier: GPL-2.0

//! The user-space interface of the drivers: the ioctl commands of `include/uapi/ldd3/scull.h`
//! and `scullp.h` (`SCULL_IOCRESET`, `SCULLP_IOCSORDER`, ...), generated from those headers by
//! bindgen at build time (see the top-level `Kbuild`). User programs include the same headers,
//! so the numbers are written down in one place only.

#![allow(missing_docs, dead_code, unreachable_pub, clippy::all)]

include!(env!("LDD3_UAPI_BINDINGS"));
