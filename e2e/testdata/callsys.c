/* callsys NR [ARG...]: makes syscall NR with up to six arguments (decimal
 * or 0x hex) and exits 0 when it returned without an error, or with the
 * errno it failed with. A test program for policies: under a filter that
 * kills the call, it dies by SIGSYS instead. Built static, so that the
 * only syscalls it makes are glibc's start-up, the call and exit_group. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	long a[6] = {0};
	if (argc < 2 || argc > 8)
		return 255;
	for (int i = 2; i < argc; i++)
		a[i - 2] = (long)strtoull(argv[i], NULL, 0);
	long r = syscall(strtol(argv[1], NULL, 0), a[0], a[1], a[2], a[3], a[4], a[5]);
	return r < 0 ? (errno & 0xff) : 0;
}
