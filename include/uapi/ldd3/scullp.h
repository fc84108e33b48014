/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The user-space interface of scullp (LDD3 chapter 15): the ioctl commands of /dev/scullp0-3,
 * for the page order of a block (1-6) and the blocks per list item (7-12), with the same
 * S/T/G/Q/X/H conventions and errors as scull's (see <ldd3/scull.h>).
 *
 * From C:    #include <ldd3/scullp.h>   (cc -I include/uapi ...)
 * From Rust: tests/prog reads this file at build time (tests/prog/build.rs).
 */
#ifndef _UAPI_LDD3_SCULLP_H
#define _UAPI_LDD3_SCULLP_H

#include <linux/ioctl.h>

#define SCULLP_IOC_MAGIC 'K'

#define SCULLP_IOCRESET  _IO(SCULLP_IOC_MAGIC, 0)

#define SCULLP_IOCSORDER _IOW(SCULLP_IOC_MAGIC, 1, int)
#define SCULLP_IOCTORDER _IO(SCULLP_IOC_MAGIC, 2)
#define SCULLP_IOCGORDER _IOR(SCULLP_IOC_MAGIC, 3, int)
#define SCULLP_IOCQORDER _IO(SCULLP_IOC_MAGIC, 4)
#define SCULLP_IOCXORDER _IOWR(SCULLP_IOC_MAGIC, 5, int)
#define SCULLP_IOCHORDER _IO(SCULLP_IOC_MAGIC, 6)

#define SCULLP_IOCSQSET  _IOW(SCULLP_IOC_MAGIC, 7, int)
#define SCULLP_IOCTQSET  _IO(SCULLP_IOC_MAGIC, 8)
#define SCULLP_IOCGQSET  _IOR(SCULLP_IOC_MAGIC, 9, int)
#define SCULLP_IOCQQSET  _IO(SCULLP_IOC_MAGIC, 10)
#define SCULLP_IOCXQSET  _IOWR(SCULLP_IOC_MAGIC, 11, int)
#define SCULLP_IOCHQSET  _IO(SCULLP_IOC_MAGIC, 12)

#define SCULLP_IOC_MAXNR 12

#endif /* _UAPI_LDD3_SCULLP_H */
