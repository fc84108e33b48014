// SPDX-License-Identifier: GPL-2.0
/*
 * scull-ioctl: drives the scull ioctls from C, built against <ldd3/scull.h> only (no number is
 * restated here), as a user program of the driver would be. Run as root on a freshly loaded
 * scull (default geometry: quantum 4000, qset 1000); it leaves the settings as it found them.
 *
 * usage: scull-ioctl DEV
 * Prints one line per step, `STEP: ret=R [val=V] [errno=NAME]`; the guest test compares the
 * whole transcript. Exits 0 when every call ran (the transcript says whether it did the right
 * thing), 2 on a bad command line or when DEV cannot be opened.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <ldd3/scull.h>

static int fd;

static const char *errname(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case EFAULT: return "EFAULT";
	case EINVAL: return "EINVAL";
	case ENOTTY: return "ENOTTY";
	default: return strerror(e);
	}
}

/* One ioctl with a plain argument; prints its result. */
static void by_value(const char *step, unsigned int cmd, unsigned long arg)
{
	int ret = ioctl(fd, cmd, arg);

	if (ret < 0)
		printf("%s: ret=-1 errno=%s\n", step, errname(errno));
	else
		printf("%s: ret=%d\n", step, ret);
}

/* One ioctl through a pointer to an int holding `val`; prints the result and the int after. */
static void by_pointer(const char *step, unsigned int cmd, int val)
{
	int ret = ioctl(fd, cmd, &val);

	if (ret < 0)
		printf("%s: ret=-1 val=%d errno=%s\n", step, val, errname(errno));
	else
		printf("%s: ret=%d val=%d\n", step, ret, val);
}

int main(int argc, char **argv)
{
	void *no_access;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DEV\n", argv[0]);
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 2;
	}
	no_access = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	by_value("Q quantum", SCULL_IOCQQUANTUM, 0);
	by_pointer("G qset", SCULL_IOCGQSET, -1);
	by_pointer("S quantum 2000", SCULL_IOCSQUANTUM, 2000);
	by_value("T qset 50", SCULL_IOCTQSET, 50);
	by_pointer("X quantum 3000", SCULL_IOCXQUANTUM, 3000);
	by_value("H qset 60", SCULL_IOCHQSET, 60);
	by_value("Q qset", SCULL_IOCQQSET, 0);
	by_value("T quantum 0", SCULL_IOCTQUANTUM, 0);
	by_pointer("S qset -1", SCULL_IOCSQSET, -1);
	by_value("G quantum, bad pointer", SCULL_IOCGQUANTUM, (unsigned long)no_access);
	by_value("number past MAXNR", _IO(SCULL_IOC_MAGIC, SCULL_IOC_MAXNR + 1), 0);
	by_value("foreign magic", _IO('z', 0), 0);
	by_value("T pipe size 8192", SCULL_P_IOCTSIZE, 8192);
	by_value("Q pipe size", SCULL_P_IOCQSIZE, 0);
	by_value("T pipe size 4000", SCULL_P_IOCTSIZE, 4000);
	by_value("reset", SCULL_IOCRESET, 0);
	by_value("Q quantum after reset", SCULL_IOCQQUANTUM, 0);
	by_value("Q qset after reset", SCULL_IOCQQSET, 0);
	close(fd);
	return 0;
}
