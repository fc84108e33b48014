/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The user-space interface of scull (LDD3 chapters 3 and 6): the ioctl commands of
 * /dev/scull0-3, /dev/scullpipe0-3 and the access-controlled devices.
 *
 * From C:    #include <ldd3/scull.h>   (cc -I include/uapi ...)
 * From Rust: tests/prog reads this file at build time (tests/prog/build.rs); the driver uses
 *            the same numbers through kernel::ioctl.
 *
 * Conventions (the book's): S = Set through a pointer, T = Tell directly by value,
 * G = Get: reply by setting through a pointer, Q = Query: the response is the return value,
 * X = eXchange: G and S atomically, H = sHift: T and Q atomically.
 * S, T, X and H need CAP_SYS_ADMIN (EPERM); bad values are EINVAL; bad pointers EFAULT; a
 * foreign magic or a number above SCULL_IOC_MAXNR is ENOTTY. They change module-wide settings,
 * which a device takes at its next truncation (an O_WRONLY open).
 */
#ifndef _UAPI_LDD3_SCULL_H
#define _UAPI_LDD3_SCULL_H

#include <linux/ioctl.h>

#define SCULL_IOC_MAGIC 'k'

#define SCULL_IOCRESET    _IO(SCULL_IOC_MAGIC, 0)
#define SCULL_IOCSQUANTUM _IOW(SCULL_IOC_MAGIC, 1, int)
#define SCULL_IOCSQSET    _IOW(SCULL_IOC_MAGIC, 2, int)
#define SCULL_IOCTQUANTUM _IO(SCULL_IOC_MAGIC, 3)
#define SCULL_IOCTQSET    _IO(SCULL_IOC_MAGIC, 4)
#define SCULL_IOCGQUANTUM _IOR(SCULL_IOC_MAGIC, 5, int)
#define SCULL_IOCGQSET    _IOR(SCULL_IOC_MAGIC, 6, int)
#define SCULL_IOCQQUANTUM _IO(SCULL_IOC_MAGIC, 7)
#define SCULL_IOCQQSET    _IO(SCULL_IOC_MAGIC, 8)
#define SCULL_IOCXQUANTUM _IOWR(SCULL_IOC_MAGIC, 9, int)
#define SCULL_IOCXQSET    _IOWR(SCULL_IOC_MAGIC, 10, int)
#define SCULL_IOCHQUANTUM _IO(SCULL_IOC_MAGIC, 11)
#define SCULL_IOCHQSET    _IO(SCULL_IOC_MAGIC, 12)

/* The buffer size of a scullpipe opened empty from now on (T and Q only). */
#define SCULL_P_IOCTSIZE  _IO(SCULL_IOC_MAGIC, 13)
#define SCULL_P_IOCQSIZE  _IO(SCULL_IOC_MAGIC, 14)

#define SCULL_IOC_MAXNR 14

#endif /* _UAPI_LDD3_SCULL_H */
