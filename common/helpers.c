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

int ldd3_mutex_lock_interruptible(struct mutex *lock)
{
	return mutex_lock_interruptible(lock);
}

int ldd3_mutex_lock_killable(struct mutex *lock)
{
	return mutex_lock_killable(lock);
}
