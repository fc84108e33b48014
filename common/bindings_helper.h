/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C interfaces common/ uses that the 7.3 `kernel::bindings` lacks. bindgen turns the
 * items allowlisted in common/bindgen_parameters into common/bindings_generated.rs, with the
 * kernel's own C flags, so layouts always match the kernel being built against.
 */
#include <linux/anon_inodes.h>
#include <linux/gfp.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/tty.h>
#include "helpers.h"
