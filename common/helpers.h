/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C forwards for what Rust cannot reach by name: `static inline` functions, macros that differ
 * with the configuration, and fields inside anonymous unions (which bindgen names
 * `__bindgen_anon_N`, a number that changes whenever the C struct gains a union). The
 * definitions are in common/helpers.c, linked into every module that compiles common/.
 */
#include <linux/cdev.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/proc_fs.h>
#include <linux/uaccess.h>

/* inode->i_cdev, the cdev of a char-device inode (a union member). */
struct cdev *ldd3_inode_cdev(const struct inode *inode);
/* pde_data(inode): the data given to proc_create_data() for this /proc inode. */
void *ldd3_pde_data(const struct inode *inode);
/* vmf->vma, vmf->pgoff and vmf->address (members of a const anonymous struct). */
struct vm_area_struct *ldd3_vmf_vma(const struct vm_fault *vmf);
unsigned long ldd3_vmf_pgoff(const struct vm_fault *vmf);
unsigned long ldd3_vmf_address(const struct vm_fault *vmf);
/*
 * User copies of raw memory (static inlines in linux/uaccess.h), each returning the bytes NOT
 * copied (0: all of them). The copy from user space stops at the first fault and, unlike
 * copy_from_user(), leaves the rest of the destination as it was: no zeroing.
 */
unsigned long ldd3_copy_to_user(void __user *to, const void *from, unsigned long n);
unsigned long ldd3_copy_from_user_keep(void *to, const void __user *from, unsigned long n);
unsigned long ldd3_copy_from_user_nofault(void *to, const void __user *from, unsigned long n);
unsigned long ldd3_copy_to_user_nofault(void __user *to, const void *from, unsigned long n);
unsigned long ldd3_clear_user(void __user *to, unsigned long n);
