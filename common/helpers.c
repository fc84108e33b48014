// SPDX-License-Identifier: GPL-2.0
/* See helpers.h. */
#include "helpers.h"

struct cdev *ldd3_inode_cdev(const struct inode *inode)
{
	return inode->i_cdev;
}

void *ldd3_pde_data(const struct inode *inode)
{
	return pde_data(inode);
}

struct vm_area_struct *ldd3_vmf_vma(const struct vm_fault *vmf)
{
	return vmf->vma;
}

unsigned long ldd3_vmf_pgoff(const struct vm_fault *vmf)
{
	return vmf->pgoff;
}

unsigned long ldd3_vmf_address(const struct vm_fault *vmf)
{
	return vmf->address;
}

/*
 * copy_to_user() with its out-of-line _copy_to_user() inlined (the body lib/usercopy.c
 * gives it): one call less on every read.
 */
static __always_inline unsigned long ldd3_inline_copy_to_user(void __user *to, const void *from,
								unsigned long n)
{
	if (!check_copy_size(from, n, true))
		return n;
	return _inline_copy_to_user(to, from, n);
}

unsigned long ldd3_copy_to_user(void __user *to, const void *from, unsigned long n)
{
	return ldd3_inline_copy_to_user(to, from, n);
}

unsigned long ldd3_copy_from_user_keep(void *to, const void __user *from, unsigned long n)
{
	unsigned long res;

	/* copy_from_user() and _inline_copy_from_user(), less the memset of what is left. */
	if (!check_copy_size(to, n, false))
		return n;
	might_fault();
	if (should_fail_usercopy())
		return n;
	if (can_do_masked_user_access()) {
		from = mask_user_address(from);
	} else {
		if (!access_ok(from, n))
			return n;
		barrier_nospec();
	}
	instrument_copy_from_user_before(to, from, n);
	res = raw_copy_from_user(to, from, n);
	instrument_copy_from_user_after(to, from, n, res);
	return res;
}

/*
 * ldd3_copy_from_user_keep() with page faults disabled: it copies what is present and stops,
 * without sleeping, at the first page that would need a fault (as the page cache's
 * copy_folio_from_iter_atomic() under a folio lock), so it may run with a mutex held.
 */
unsigned long ldd3_copy_from_user_nofault(void *to, const void __user *from, unsigned long n)
{
	unsigned long res;

	pagefault_disable();
	res = ldd3_copy_from_user_keep(to, from, n);
	pagefault_enable();
	return res;
}

/* copy_to_user() with page faults disabled, for the same use. */
unsigned long ldd3_copy_to_user_nofault(void __user *to, const void *from, unsigned long n)
{
	unsigned long res;

	pagefault_disable();
	res = ldd3_inline_copy_to_user(to, from, n);
	pagefault_enable();
	return res;
}

unsigned long ldd3_clear_user(void __user *to, unsigned long n)
{
	return clear_user(to, n);
}
